import os
from pathlib import Path

import pytest

REAL_DATA = os.environ.get("GENLAB_DATA")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one thread per worker (and per kernel it starts): two workers on two cores, no oversubscription
    os.environ.setdefault("OMP_NUM_THREADS", "1")

HAS_REAL_MNIST = bool(REAL_DATA and (Path(REAL_DATA) / "MNIST" / "raw").is_dir())


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Tests marked real_mnist skip, with the reason, when GENLAB_DATA holds no real MNIST. (A marker, not an import
    from this file: a dependency installs a top-level package named `tests` that would shadow this folder.)"""
    skip = pytest.mark.skip(reason="real MNIST not available (set GENLAB_DATA to a folder with MNIST/raw)")
    for item in items:
        if "real_mnist" in item.keywords and not HAS_REAL_MNIST:
            item.add_marker(skip)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No GENLAB_DATA, an empty cache and no downloads: the stand-in path."""
    monkeypatch.delenv("GENLAB_DATA", raising=False)
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GENLAB_OFFLINE", "1")
