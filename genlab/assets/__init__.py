"""Small checkpoints the project trains itself, shipped in this folder with a manifest (sha256, command, data, metric).

Nothing is downloaded: each file is retrained by the script named in its manifest entry.
"""

import hashlib
import json
from pathlib import Path

from torch import nn

ASSET_DIR = Path(__file__).resolve().parent
MANIFEST = ASSET_DIR / "manifest.json"


class JudgeClassifier(nn.Module):
    """A small all-convolutional classifier (about 140k parameters) for 28x28 grey images in [0, 1], (N, 1, 28, 28):
    the course's judge of generated digits (MNIST) and clothes (Fashion-MNIST).

    `features(x)` gives the 128-d pooled activations used for a domain-specific Fréchet distance ("classifier FID").
    `mean` and `std` are the training set's pixel statistics (fixed numbers, part of the judge's definition).
    """

    def __init__(self, mean: float = 0.1307, std: float = 0.3081):
        super().__init__()
        self.mean, self.std = mean, std

        def block(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

        self.body = nn.Sequential(
            *block(1, 32), *block(32, 32), nn.MaxPool2d(2),     # 28 -> 14
            *block(32, 64), *block(64, 64), nn.MaxPool2d(2),    # 14 -> 7
            *block(64, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(128, 10)

    def features(self, x):
        return self.body((x - self.mean) / self.std)

    def forward(self, x):
        return self.head(self.features(x))


# name -> (pixel mean, pixel std) of its training set; the asset is genlab/assets/<name>.safetensors
JUDGES = {"mnist_classifier": (0.1307, 0.3081), "fashion_classifier": (0.2860, 0.3530)}


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
    model = JudgeClassifier(*JUDGES[name])
    model.load_state_dict(load_file(str(asset_path(name)), device="cpu"))
    return model.to(device).eval().requires_grad_(False)


def load_mnist_classifier(device="cpu") -> JudgeClassifier:
    """The digit judge: 10 MNIST classes; trained to reject noise, blobs and speckle (see its manifest entry)."""
    return load_judge("mnist_classifier", device)


def load_fashion_classifier(device="cpu") -> JudgeClassifier:
    """The clothing judge: the 10 Fashion-MNIST classes; trained to reject noise, blobs and speckle."""
    return load_judge("fashion_classifier", device)
