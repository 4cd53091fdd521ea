"""Pictures: image grids, loss curves, a live training plot, and widgets for exploring a latent space."""

import math
import time

import matplotlib
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


def latent_slider(decode, latent_dim: int = 2, span: float = 3.0, value_range=(0.0, 1.0), scale: int = 4):
    """ipywidgets sliders, one per latent coordinate, and the image `decode(z)` shows for z of shape (1, latent_dim).

    Returns the widget box (display it as the last expression of a cell).
    """
    import ipywidgets as widgets
    from IPython.display import display

    sliders = [widgets.FloatSlider(value=0.0, min=-span, max=span, step=0.05, description=f"z[{i}]",
                                   continuous_update=True) for i in range(latent_dim)]
    output = widgets.Output()

    def redraw(_change=None):
        z = torch.tensor([[s.value for s in sliders]], dtype=torch.float32)
        with torch.no_grad():
            image = decode(z)
        fig = show_images(image, nrow=1, value_range=value_range)
        fig.set_size_inches(scale, scale)
        with output:
            output.clear_output(wait=True)
            display(fig)
        plt.close(fig)

    for slider in sliders:
        slider.observe(redraw, names="value")
    redraw()
    return widgets.HBox([widgets.VBox(sliders), output])
