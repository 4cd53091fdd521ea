import os
from pathlib import Path

import pytest

REAL_DATA = os.environ.get("GENLAB_DATA")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one thread per worker (and per kernel it starts): two workers on two cores, no oversubscription
    os.environ.setdefault("OMP_NUM_THREADS", "1")
needs_real_mnist = pytest.mark.skipif(
    not (REAL_DATA and (Path(REAL_DATA) / "MNIST" / "raw").is_dir()),
    reason="real MNIST not available (set GENLAB_DATA to a folder with MNIST/raw)",
)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No GENLAB_DATA, an empty cache and no downloads: the stand-in path."""
    monkeypatch.delenv("GENLAB_DATA", raising=False)
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GENLAB_OFFLINE", "1")
