"""Pictures: image grids, loss curves, a live training plot, and widgets for exploring a latent space."""

import math
import time

import matplotlib
import matplotlib.figure
import torch


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


if not _in_notebook():
    matplotlib.use("Agg")  # scripts and tests have no screen
import matplotlib.pyplot as plt  # noqa: E402


def image_grid(images: torch.Tensor, nrow: int = 8, value_range=(0.0, 1.0), pad: int = 1) -> torch.Tensor:
    """Tile (N, C, H, W) images into one (H', W', C) array in [0, 1], nrow images a row, with a white border."""
    if images.dim() != 4:
        raise ValueError(f"image_grid wants (N, C, H, W) images; got shape {tuple(images.shape)}.")
    low, high = value_range
    images = ((images.detach().float().cpu() - low) / (high - low)).clamp(0, 1)
    n, c, h, w = images.shape
    rows = math.ceil(n / nrow)
    grid = torch.ones(c, rows * (h + pad) + pad, nrow * (w + pad) + pad)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, top : top + h, left : left + w] = images[i]
    return grid.permute(1, 2, 0)


def show_images(images, nrow: int = 8, title: str | None = None, value_range=(0.0, 1.0), ax=None, save=None):
    """Show a grid of images; grey-scale when C == 1. Returns the matplotlib figure."""
    grid = image_grid(images, nrow, value_range)
    if ax is None:
        rows = math.ceil(len(images) / nrow)
        fig, ax = plt.subplots(figsize=(min(12, 0.9 * nrow + 1), min(12, 0.9 * rows + 0.6)))
    else:
        fig = ax.figure
    ax.imshow(grid.squeeze(-1) if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    if save:
        fig.savefig(save, bbox_inches="tight", dpi=100)
    return fig


def plot_curves(history, keys=None, ax=None, title: str | None = None, smooth: int = 1):
    """Plot logged metrics against step; `history` is a genlab.train.History. smooth = moving-average window."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    else:
        fig = ax.figure
    for key in keys or history.keys():
        steps, values = history.series(key)
        if smooth > 1 and len(values) >= smooth:
            kernel = torch.ones(smooth) / smooth
            values = torch.conv1d(torch.tensor(values, dtype=torch.float32)[None, None], kernel[None, None])[0, 0].tolist()
            steps = steps[smooth - 1 :]
        ax.plot(steps, values, label=key)
    ax.set_xlabel("step")
    ax.legend()
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return fig


class LivePlot:
    """Loss curves (and optionally a sample grid) redrawn in place during training.

    In Jupyter the figure updates in one output area; elsewhere each update prints one text line instead.
    Redraw at most every `min_seconds` so plotting never dominates training time.
    """

    def __init__(self, keys, title: str = "training", min_seconds: float = 2.0, smooth: int = 1):
        self.keys, self.title, self.min_seconds, self.smooth = list(keys), title, min_seconds, smooth
        self.notebook = _in_notebook()
        self.handle = None
        self.last = 0.0

    def update(self, history, images=None, value_range=(0.0, 1.0), force: bool = False):
        now = time.monotonic()
        if not force and now - self.last < self.min_seconds:
            return
        self.last = now
        if not self.notebook:
            step = history.last_step()
            latest = ", ".join(f"{k}={history.latest(k):.4g}" for k in self.keys if history.has(k))
            print(f"[{self.title}] step {step}: {latest}")
            return
        from IPython.display import display

        panels = 2 if images is not None else 1
        fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.5), squeeze=False)
        plot_curves(history, self.keys, ax=axes[0, 0], title=self.title, smooth=self.smooth)
        if images is not None:
            show_images(images, nrow=int(math.sqrt(len(images))) or 1, ax=axes[0, 1], value_range=value_range,
                        title=f"step {history.last_step()}")
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)

    def close(self, history, images=None, value_range=(0.0, 1.0)):
        """Draw the final state whatever the time since the last update."""
        self.update(history, images, value_range, force=True)


def picture_png(picture, value_range=(0.0, 1.0), nrow: int = 8, width: int = 256) -> bytes:
    """PNG bytes of a picture: (N, C, H, W) images tiled by image_grid and scaled up (nearest) to `width` pixels,
    or a matplotlib figure (which is then closed). Images skip matplotlib: a few milliseconds instead of ~100."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    if isinstance(picture, matplotlib.figure.Figure):
        picture.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
        plt.close(picture)
        return buffer.getvalue()
    if not torch.is_tensor(picture):
        raise TypeError(f"a widget's render function must return images (an (N, C, H, W) tensor) or a matplotlib "
                        f"figure, optionally with a caption: (picture, 'caption'); it returned {type(picture).__name__}.")
    grid = (image_grid(picture, nrow=min(nrow, len(picture)), value_range=value_range) * 255).round().byte().numpy()
    image = Image.fromarray(grid.squeeze(-1) if grid.shape[-1] == 1 else grid)
    scale = max(1, width // image.width)
    image.resize((image.width * scale, image.height * scale), Image.NEAREST).save(buffer, format="png")
    return buffer.getvalue()


def _explorer_class():
    """The Explorer widget class, built on first use so that importing genlab.viz never imports ipywidgets."""
    import asyncio
    import base64
    import html

    import ipywidgets as widgets

    class Explorer(widgets.HBox):
        """Controls on the left, the picture `render(**values)` returns on the right, redrawn when a control moves.

        Moves are debounced: a redraw starts `debounce_s` after the last move, so dragging a slider queues one
        redraw, not one per pixel (without a running event loop, as in plain Python, it redraws at once). Where no
        kernel runs (nbconvert, GitHub, the course site) the cell shows the first picture as a plain PNG instead.
        """

        def __init__(self, render, controls: dict, value_range, nrow, width, debounce_s):
            self.render, self.value_range, self.nrow, self.width = render, value_range, nrow, width
            self.debounce_s, self.renders, self.render_seconds, self._pending = debounce_s, 0, 0.0, None
            self.controls = controls
            # the picture shrinks to what is left beside the controls (a flex item's min-width is its intrinsic width
            # unless set to 0)
            self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", min_width="0",
                                                                            flex="1 1 auto"))
            self.caption = widgets.HTML()
            for control in controls.values():  # a label wider than the default 8em was cut on its left
                if hasattr(control, "style") and hasattr(control.style, "description_width"):
                    control.style.description_width = "initial"
            # the panel keeps its natural width: squeezed, it cut its labels and caption on the left in JupyterLab
            panel = widgets.VBox([*controls.values(), self.caption],
                                 layout=widgets.Layout(min_width="300px", flex="0 0 auto"))
            super().__init__([panel, self.image], layout=widgets.Layout(align_items="center"))
            self.add_class("genlab-explorer")  # what the browser test looks for in every lesson
            for control in controls.values():
                control.observe(self._moved, names="value")
            self.redraw()

        def values(self) -> dict:
            return {name: control.value for name, control in self.controls.items()}

        def _moved(self, _change):
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.redraw()
                return
            if self._pending is not None:
                self._pending.cancel()
            self._pending = loop.call_later(self.debounce_s, self.redraw)

        def redraw(self):
            self._pending = None
            start = time.perf_counter()
            try:
                picture = self.render(**self.values())
                caption = ""
                if isinstance(picture, tuple):
                    picture, caption = picture
                self.image.value = picture_png(picture, self.value_range, self.nrow, self.width)
                self.caption.value = f"<span>{html.escape(str(caption))}</span>"
            except Exception as error:  # shown beside the controls: a callback's traceback would vanish in a log
                self.caption.value = (f"<span style='color:#b00'>drawing failed: {html.escape(type(error).__name__)}: "
                                      f"{html.escape(str(error))}</span>")
            self.renders += 1
            self.render_seconds = time.perf_counter() - start

        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs)
            bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")  # the static viewers' figure
            bundle["text/plain"] = "an interactive explorer: run the notebook to move its controls"
            return bundle

    return Explorer


def explorer(render, controls: dict, value_range=(0.0, 1.0), nrow: int = 8, width: int = 256, debounce_s: float = 0.15):
    """An interactive figure: `controls` maps render's keyword arguments to ipywidgets (sliders, dropdowns, toggle
    buttons); `render(**values)` returns images ((N, C, H, W) in value_range), a matplotlib figure, or either with a
    caption as (picture, "caption"). Keep render well under a second on CPU: precompute what does not depend on the
    controls. Display the result as the last expression of a cell."""
    import ipywidgets as widgets

    if not controls:
        raise ValueError("explorer needs at least one control, e.g. {'t': ipywidgets.FloatSlider(min=-3, max=3)}.")
    for name, control in controls.items():
        if not isinstance(control, widgets.ValueWidget):
            raise TypeError(f"control {name!r} is a {type(control).__name__}; give an ipywidgets control with a value "
                            "(FloatSlider, IntSlider, Dropdown, ToggleButtons).")
    return _explorer_class()(render, controls, value_range, nrow, width, debounce_s)


def latent_slider(decode, latent_dim: int = 2, span: float = 3.0, value_range=(0.0, 1.0), width: int = 168):
    """One slider per latent coordinate and the image `decode(z)` shows for z of shape (1, latent_dim)."""
    import ipywidgets as widgets

    controls = {f"z{i}": widgets.FloatSlider(value=0.0, min=-span, max=span, step=0.05, description=f"z[{i}]")
                for i in range(latent_dim)}

    def render(**values):
        z = torch.tensor([[values[f"z{i}"] for i in range(latent_dim)]], dtype=torch.float32)
        with torch.no_grad():
            image = decode(z)
        return image, "z = (" + ", ".join(f"{v:+.2f}" for v in z[0].tolist()) + ")"

    return explorer(render, controls, value_range=value_range, nrow=1, width=width)
