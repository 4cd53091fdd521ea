"""Training plumbing: a progress bar, a history of metrics, checkpoints in safetensors."""

import contextlib
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm


class _ImageBar(tqdm):
    """A bar that counts images while the training loop calls update() once a step. (tqdm's own unit_scale would
    scale the text but not the notebook widget, which then stops at 1/batch_size of its length.)"""

    def __init__(self, *args, images_per_step: int, **kwargs):
        self.images_per_step = images_per_step
        super().__init__(*args, **kwargs)

    def update(self, n=1):
        return super().update(n * self.images_per_step)


def progress(total: int, desc: str = "training", batch_size: int | None = None, **kwargs):
    """A tqdm bar over `total` steps: a widget in Jupyter, text lines elsewhere; use bar.update() once a step and
    bar.set_postfix(...). With batch_size it counts images, so its rate reads in images/s (comparable across batch
    sizes and machines); either way it shows the elapsed and remaining time."""
    settings = {"desc": desc, "unit": " step", "dynamic_ncols": True, "mininterval": 1.0, **kwargs}
    if batch_size is None:
        return tqdm(total=total, **settings)
    if batch_size <= 0:
        raise ValueError(f"progress: batch_size must be a positive number of images per step, got {batch_size}.")
    return _ImageBar(total=total * batch_size, images_per_step=batch_size, **{**settings, "unit": " img"})


class History:
    """Metrics logged against the training step: history.log(step, loss_d=..., loss_g=...)."""

    def __init__(self):
        self.data = {}

    def log(self, step: int, **metrics):
        for key, value in metrics.items():
            value = float(value.detach()) if torch.is_tensor(value) else float(value)
            self.data.setdefault(key, ([], []))
            self.data[key][0].append(step)
            self.data[key][1].append(value)

    def keys(self):
        return list(self.data)

    def has(self, key) -> bool:
        return key in self.data

    def series(self, key):
        """(steps, values) for one metric."""
        if key not in self.data:
            raise KeyError(f"no metric {key!r} logged; logged: {self.keys()}")
        return self.data[key]

    def latest(self, key) -> float:
        return self.series(key)[1][-1]

    def last_step(self) -> int:
        return max((steps[-1] for steps, _ in self.data.values() if steps), default=0)

    def mean(self, key, last: int | None = None) -> float:
        values = self.series(key)[1]
        values = values[-last:] if last else values
        return sum(values) / len(values)


def save_checkpoint(path, modules: dict, metadata: dict | None = None):
    """Save several modules' weights in one safetensors file: keys are 'name.param'; metadata is stored as JSON."""
    tensors = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"{name}.{key}"] = value.detach().cpu().contiguous()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"genlab": json.dumps(metadata or {})})


def load_checkpoint(path, modules: dict, device="cpu") -> dict:
    """Load weights saved by save_checkpoint into the given modules (strict); returns the stored metadata."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; train first or check the path.")
    tensors = load_file(str(path), device=str(device))
    for name, module in modules.items():
        prefix = f"{name}."
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        if not state:
            raise KeyError(f"{path} holds no weights for {name!r}; it has {sorted({k.split('.')[0] for k in tensors})}.")
        module.load_state_dict(state, strict=True)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return json.loads((handle.metadata() or {}).get("genlab", "{}"))


def results_table(lesson: str, results: dict):
    """Print a lesson's closing results table; with GENLAB_RESULTS_DIR set, also save it as JSON (read by the demo)."""
    import os

    from genlab import config

    rows = {"profile": config.profile(), **results}
    width = max(len(k) for k in rows)
    print(f"Results of {lesson}\n" + "\n".join(f"  {k:<{width}}  {v:.4g}" if isinstance(v, float) else f"  {k:<{width}}  {v}"
                                               for k, v in rows.items()))
    if os.environ.get("GENLAB_RESULTS_DIR"):
        out = Path(os.environ["GENLAB_RESULTS_DIR"])
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{lesson}.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")


class EMA:
    """An exponential moving average of a model's weights (Polyak averaging), the usual way to get smoother GAN samples.

    The decay is set by a half-life in training images: after `half_life_images` images the weight of the current
    parameters has halved, whatever the batch size (decay per step = 0.5 ** (batch_size / half_life_images)). Buffers
    (BatchNorm statistics) are copied, not averaged. `ema.module` is the averaged copy, in eval mode, without gradients.
    """

    def __init__(self, model: torch.nn.Module, half_life_images: float, batch_size: int):
        import copy

        if half_life_images <= 0 or batch_size <= 0:
            raise ValueError(f"EMA needs a positive half-life and batch size, got {half_life_images} and {batch_size}.")
        self.decay = 0.5 ** (batch_size / half_life_images)
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module):
        for average, current in zip(self.module.parameters(), model.parameters()):
            average.lerp_(current.detach(), 1 - self.decay)  # avg <- decay * avg + (1 - decay) * current
        for average, current in zip(self.module.buffers(), model.buffers()):
            average.copy_(current)


@contextlib.contextmanager
def threads(n: int = 1):
    """Run a block on n CPU threads, then restore the count. Small networks train faster on one thread: keeping two
    threads in step costs more than the little work they share (many times more on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
