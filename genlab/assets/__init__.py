"""Small checkpoints the project trains itself, shipped in this folder with a manifest (sha256, command, data, metric).

Nothing is downloaded: each file is retrained by the script named in its manifest entry.
"""

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

ASSET_DIR = Path(__file__).resolve().parent
MANIFEST = ASSET_DIR / "manifest.json"


class JudgeClassifier(nn.Module):
    """A small all-convolutional classifier for images in [0, 1], (N, C, H, W): the course's judge of generated digits
    (MNIST, 28x28 grey), clothes (Fashion-MNIST) and CIFAR-10 objects (32x32 colour).

    `features(x)` gives the pooled activations of the last block (4 * width dims) used for a domain-specific Fréchet
    distance ("classifier FID"). `mean` and `std` are the training set's pixel statistics per channel (fixed numbers,
    part of the judge's definition, not trained). `extra_block` adds a second block at the coarsest scale (CIFAR).
    """

    def __init__(self, mean=(0.1307,), std=(0.3081,), channels: int = 1, width: int = 32, extra_block: bool = False):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

        def block(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

        w = width
        self.body = nn.Sequential(
            *block(channels, w), *block(w, w), nn.MaxPool2d(2),     # 28 -> 14 (32 -> 16)
            *block(w, 2 * w), *block(2 * w, 2 * w), nn.MaxPool2d(2),  # 14 -> 7 (16 -> 8)
            *block(2 * w, 4 * w), *(block(4 * w, 4 * w) if extra_block else []),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(4 * w, 10)

    def features(self, x):
        if x.shape[1] != self.mean.shape[1]:
            raise ValueError(f"this judge takes {self.mean.shape[1]}-channel images, got shape {tuple(x.shape)}.")
        return self.body((x - self.mean) / self.std)

    def forward(self, x):
        return self.head(self.features(x))


# name -> JudgeClassifier arguments (pixel statistics of its training set, shape); the weights are
# genlab/assets/<name>.safetensors. CIFAR-10's statistics are those of the JPEG copy it was trained on.
JUDGES = {
    "mnist_classifier": dict(mean=(0.1307,), std=(0.3081,)),
    "fashion_classifier": dict(mean=(0.2860,), std=(0.3530,)),
    "cifar_classifier": dict(mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616), channels=3, extra_block=True),
}


def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest() -> dict:
    return json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}


def asset_path(name: str) -> Path:
    """Path of a shipped checkpoint after checking it against the manifest's sha256."""
    entry = manifest().get(name)
    if entry is None:
        raise FileNotFoundError(f"no asset {name!r} in {MANIFEST}; known: {sorted(manifest())}. "
                                f"Retrain it with the script in scripts/ (see the README).")
    path = ASSET_DIR / entry["file"]
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; retrain it with: {entry['command']}")
    if sha256(path) != entry["sha256"]:
        raise RuntimeError(f"{path} does not match the sha256 in {MANIFEST.name} (modified or corrupt); "
                           f"restore it from git or retrain with: {entry['command']}")
    return path


def load_judge(name: str, device="cpu") -> JudgeClassifier:
    """A shipped judge classifier (see JUDGES), in eval mode, with gradients off."""
    from safetensors.torch import load_file

    if name not in JUDGES:
        raise KeyError(f"no judge {name!r}; judges are {sorted(JUDGES)}.")
    model = JudgeClassifier(**JUDGES[name])
    model.load_state_dict(load_file(str(asset_path(name)), device="cpu"))
    return model.to(device).eval().requires_grad_(False)


def load_mnist_classifier(device="cpu") -> JudgeClassifier:
    """The digit judge: 10 MNIST classes; trained to reject noise, blobs and speckle (see its manifest entry)."""
    return load_judge("mnist_classifier", device)


def load_fashion_classifier(device="cpu") -> JudgeClassifier:
    """The clothing judge: the 10 Fashion-MNIST classes; trained to reject noise, blobs and speckle."""
    return load_judge("fashion_classifier", device)


def load_cifar_classifier(device="cpu") -> JudgeClassifier:
    """The CIFAR-10 judge (32x32 colour), trained on the JPEG copy of CIFAR-10 and to reject noise, blobs and speckle;
    its figures are on the JPEG test set (see its manifest entry), not comparable with published CIFAR-10 numbers."""
    return load_judge("cifar_classifier", device)


# --------------------------------------------------------------------------- reference statistics for FID
# name -> dataset; the files are genlab/assets/inception_<name>.safetensors, written by scripts/reference_stats.py.
STATISTICS = {"mnist": "MNIST", "fashion": "FashionMNIST", "cifar10": "CIFAR10"}


def statistics_file(name: str) -> str:
    return f"inception_{name}.safetensors"


def pack_statistics(mean: torch.Tensor, cov: torch.Tensor) -> dict:
    """What a statistics asset stores: the mean in float64 and the upper triangle of the covariance in float32.

    The covariance is symmetric, so the triangle holds all of it (half the bytes); float32 keeps 7 digits, which moves
    an FID by about 1e-5 relative (scripts/reference_stats.py measures and records it), and keeps a 2048-d asset at
    8.4 MB instead of 34 MB.
    """
    d = len(mean)
    rows, cols = torch.triu_indices(d, d)
    return {"mean": mean.double().contiguous(), "cov_upper": cov.double()[rows, cols].float().contiguous()}


def unpack_statistics(tensors: dict) -> tuple[torch.Tensor, torch.Tensor]:
    mean = tensors["mean"].double()
    d = len(mean)
    rows, cols = torch.triu_indices(d, d)
    cov = torch.zeros(d, d, dtype=torch.float64)
    cov[rows, cols] = tensors["cov_upper"].double()
    cov[cols, rows] = tensors["cov_upper"].double()
    return mean, cov


def load_statistics(name: str) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Shipped Inception statistics of a training set: (mean (2048,), covariance (2048, 2048), both float64, and the
    manifest entry with dataset, split, n, sha256 of the data files, command and seconds). Checked against the
    manifest's sha256 first."""
    from safetensors.torch import load_file

    if name not in STATISTICS:
        raise KeyError(f"no reference statistics {name!r}; shipped: {sorted(STATISTICS)}.")
    key = f"inception_{name}"
    mean, cov = unpack_statistics(load_file(str(asset_path(key)), device="cpu"))
    return mean, cov, manifest()[key]


# --------------------------------------------------------------------------- lesson 05's toy generators
def load_ring_generators() -> tuple:
    """Lesson 05's toy generators, one per loss, trained on its ring of 8 by scripts/train_ring_generators.py:
    ({loss name: generator z (N, latent_dim) -> points (N, 2), eval mode, gradients off}, the ring they were trained
    on, and the manifest entry with latent_dim and each loss's modes covered and share of samples on a mode)."""
    from safetensors.torch import load_file

    from genlab.toy import GaussianMixture2D, toy_generator

    entry = manifest().get("ring_generators")
    tensors = load_file(str(asset_path("ring_generators")), device="cpu")
    generators = {}
    for name in entry["order"]:  # lesson 05's order (the manifest's keys are sorted)
        generator = toy_generator(entry["generator"]["latent_dim"], entry["generator"]["hidden"])
        prefix = f"{name}/"
        generator.load_state_dict({key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)})
        generators[name] = generator.eval().requires_grad_(False)
    ring = GaussianMixture2D.ring(entry["ring"]["modes"], radius=entry["ring"]["radius"], std=entry["ring"]["std"])
    return generators, ring, entry


def load_dcgan_mnist(device="cpu") -> tuple:
    """Lesson 03's MNIST DCGAN trained for longer than a lesson run (scripts/train_dcgan_mnist.py): (the EMA
    generator, a genlab.models.DCGANGenerator z (N, latent_dim) -> images in [-1, 1], eval mode with its BatchNorm
    statistics recalibrated, gradients off; the manifest entry with its recipe and the learning curve it measured)."""
    from safetensors.torch import load_file

    from genlab.models import DCGANGenerator

    path = asset_path("dcgan_mnist")  # checks the file against the manifest
    entry = manifest()["dcgan_mnist"]
    spec = entry["generator"]
    generator = DCGANGenerator(spec["latent_dim"], spec["channels"], spec["width"], spec["image_size"])
    generator.load_state_dict(load_file(str(path), device="cpu"))
    return generator.to(device).eval().requires_grad_(False), entry
