import shutil

import pytest
import torch

from genlab import assets, data
from tests.conftest import needs_real_mnist


def test_manifest_describes_the_shipped_classifier():
    entry = assets.manifest()["mnist_classifier"]
    path = assets.asset_path("mnist_classifier")  # checks the sha256
    assert path.stat().st_size <= 1_000_000 and entry["bytes"] == path.stat().st_size
    assert entry["test_accuracy"] >= 0.99
    assert {"command", "seed", "data", "recipe"} <= set(entry)


def test_classifier_loads_frozen_in_eval_mode():
    model = assets.load_mnist_classifier()
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    x = torch.rand(3, 1, 28, 28)
    assert model(x).shape == (3, 10) and model.features(x).shape == (3, 128)


def test_a_modified_asset_is_refused(tmp_path, monkeypatch):
    copy = tmp_path / "assets"
    shutil.copytree(assets.ASSET_DIR, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    weights = copy / "mnist_classifier.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    monkeypatch.setattr(assets, "ASSET_DIR", copy)
    monkeypatch.setattr(assets, "MANIFEST", copy / "manifest.json")
    with pytest.raises(RuntimeError, match="does not match the sha256"):
        assets.load_mnist_classifier()


@needs_real_mnist
def test_classifier_accuracy_on_real_mnist_test():
    test = data.load("MNIST", "test")
    model = assets.load_mnist_classifier()
    with torch.no_grad():
        predictions = torch.cat([model(chunk).argmax(1) for chunk in test.images.split(2000)])
    accuracy = (predictions == test.labels).float().mean().item()
    assert accuracy >= 0.99, accuracy
