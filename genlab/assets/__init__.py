"""Small checkpoints the project trains itself, shipped in this folder with a manifest (sha256, command, data, metric).

Nothing is downloaded: each file is retrained by the script named in its manifest entry.
"""

import hashlib
import json
from pathlib import Path

from torch import nn

ASSET_DIR = Path(__file__).resolve().parent
MANIFEST = ASSET_DIR / "manifest.json"


class MNISTClassifier(nn.Module):
    """A small all-convolutional digit classifier (about 140k parameters) for images in [0, 1] of shape (N, 1, 28, 28).

    `features(x)` gives the 128-d pooled activations used for a domain-specific Fréchet distance in later lessons.
    """

    def __init__(self):
        super().__init__()

        def block(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

        self.body = nn.Sequential(
            *block(1, 32), *block(32, 32), nn.MaxPool2d(2),     # 28 -> 14
            *block(32, 64), *block(64, 64), nn.MaxPool2d(2),    # 14 -> 7
            *block(64, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(128, 10)

    def features(self, x):
        return self.body((x - 0.1307) / 0.3081)  # the MNIST pixel mean and std

    def forward(self, x):
        return self.head(self.features(x))


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


def load_mnist_classifier(device="cpu") -> MNISTClassifier:
    """The shipped MNIST classifier, in eval mode, with gradients off."""
    from safetensors.torch import load_file

    model = MNISTClassifier()
    model.load_state_dict(load_file(str(asset_path("mnist_classifier")), device="cpu"))
    return model.to(device).eval().requires_grad_(False)
