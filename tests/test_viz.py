"""genlab.viz's widgets and live plot as Python objects (the browser suite, tests/browser/, checks what they show)."""

import asyncio
import base64
import threading

import ipywidgets as widgets
import pytest
import torch

from genlab import train, viz


def _explorer(**kwargs):
    calls = []

    def render(t):
        calls.append(t)
        return torch.full((1, 1, 4, 4), (t + 1) / 2), f"t = {t:+.1f}"

    return viz.explorer(render, {"t": widgets.FloatSlider(value=0.0, min=-1.0, max=1.0, step=0.5)}, **kwargs), calls



def in_a_fresh_thread(test):
    """Run a test in a thread of its own: an event loop left running in this worker's main thread (Playwright's,
    when the browser tests shared the worker) would otherwise catch the explorer's debounce timers."""
    def run():
        errors = []

        def body():
            try:
                test()
            except BaseException as error:  # noqa: BLE001 - re-raised in the test's own thread
                errors.append(error)

        thread = threading.Thread(target=body)
        thread.start()
        thread.join()
        if errors:
            raise errors[0]

    run.__name__, run.__doc__ = test.__name__, test.__doc__
    return run


@in_a_fresh_thread
def test_explorer_puts_the_picture_beside_the_controls_and_redraws_on_a_move():
    box, calls = _explorer()
    panel, image = box.children
    assert isinstance(image, widgets.Image) and box.controls["t"] in panel.children and "genlab-explorer" in box._dom_classes
    first = image.value
    box.controls["t"].value = 1.0  # no event loop runs here: it redraws at once
    assert calls == [0.0, 1.0] and image.value != first and "t = +1.0" in box.caption.value


@in_a_fresh_thread
def test_explorer_debounces_a_drag_into_one_redraw():
    box, calls = _explorer(debounce_s=0.05)

    async def drag():
        for value in (-1.0, -0.5, 0.5, 1.0):  # four moves within the debounce time
            box.controls["t"].value = value
        await asyncio.sleep(0.2)

    asyncio.run(drag())
    assert calls == [0.0, 1.0], f"a drag of 4 moves drew {len(calls) - 1} times; expected once, for the last value"


def test_explorer_offers_a_png_to_viewers_without_a_kernel():
    box, _ = _explorer()
    bundle = box._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG"), "static viewers need the first picture"


@in_a_fresh_thread
def test_explorer_shows_a_failing_render_beside_the_controls():
    def render(t):
        if t > 0:
            raise ValueError("t too large")
        return torch.zeros(1, 1, 4, 4)

    box = viz.explorer(render, {"t": widgets.FloatSlider(value=0.0, min=-1.0, max=1.0)})
    box.controls["t"].value = 1.0
    assert "drawing failed: ValueError: t too large" in box.caption.value


def test_explorer_rejects_bad_controls_and_pictures():
    with pytest.raises(ValueError, match="at least one control"):
        viz.explorer(lambda: None, {})
    with pytest.raises(TypeError, match="ipywidgets control"):
        viz.explorer(lambda t: None, {"t": 0.5})
    box = viz.explorer(lambda t: "an image?", {"t": widgets.FloatSlider()})
    assert "must return images" in box.caption.value


def test_latent_slider_has_one_slider_per_coordinate():
    box = viz.latent_slider(lambda z: torch.sigmoid(z.sum()).expand(1, 1, 2, 2), latent_dim=3)
    assert list(box.controls) == ["z0", "z1", "z2"] and "z = (+0.00, +0.00, +0.00)" in box.caption.value


def test_outside_jupyter_the_live_plot_and_the_bar_are_text_lines(capsys):
    history, live = train.History(), viz.LivePlot(["loss"], title="run", min_seconds=0.0)
    with train.progress(4, desc="run", batch_size=32, mininterval=0) as bar:
        for step in range(1, 5):
            history.log(step, loss=1.0 / step)
            live.update(history)
            bar.update()
    printed = capsys.readouterr()
    assert "[run] step 4: loss=0.25" in printed.out and printed.out.count("\n") == 4
    assert "128/128" in printed.err and "img/s" in printed.err and bar.n == bar.total == 128, printed.err
    with pytest.raises(ValueError, match="batch_size"):
        train.progress(4, batch_size=0)
