"""The two ways the benchmarks feed MNIST to a training step: genlab's device-resident loader, and the PyTorch
tutorial's torchvision dataset + DataLoader (the baseline). Shared by gan_loader.py and dcgan_step.py."""

import gzip
import os
import shutil
import sys
from pathlib import Path

import torch

from genlab import data

MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def mnist_raw_folder(explicit) -> Path:
    if explicit:
        return Path(explicit)
    if not os.environ.get("GENLAB_DATA"):
        sys.exit("set GENLAB_DATA to the folder holding MNIST/raw/*.gz (or pass --mnist-raw); this benchmark needs real MNIST.")
    return Path(os.environ["GENLAB_DATA"]) / "MNIST" / "raw"


def extract_for_torchvision(raw: Path, target: Path) -> Path:
    """Decompress the four MNIST .gz files into <target>/MNIST/raw, the layout torchvision reads; returns target."""
    out = target / "MNIST" / "raw"
    out.mkdir(parents=True)
    for name in MNIST_FILES:
        source = raw / f"{name}.gz"
        if source.is_file():
            with gzip.open(source) as packed, open(out / name, "wb") as unpacked:
                shutil.copyfileobj(packed, unpacked)
        elif (raw / name).is_file():
            shutil.copy(raw / name, out / name)
        else:
            sys.exit(f"{source} not found; point --mnist-raw at the folder with the MNIST files.")
    return target


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def device_batches(args, device):
    """Endless batches of real MNIST in [-1, 1] from one tensor on `device` (genlab.data.DeviceLoader)."""
    train = data.load("MNIST", "train")
    if train.is_standin:
        sys.exit("genlab.data found no real MNIST; set GENLAB_DATA.")
    images = (train.images * 2 - 1).to(device)  # [0, 1] -> [-1, 1], the same as Normalize((0.5,), (0.5,))
    return data.DeviceLoader(images, batch_size=args.batch_size, seed=args.seed).forever(), train.source


def torchvision_batches(args, root: Path, num_workers: int, pin_memory: bool = False):
    """Endless batches the PyTorch-tutorial way: torchvision MNIST, ToTensor + Normalize, a shuffling DataLoader."""
    import torchvision
    from torchvision import transforms

    dataset = torchvision.datasets.MNIST(str(root), train=True, download=False, transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=True,
                                         num_workers=num_workers, pin_memory=pin_memory,
                                         generator=torch.Generator().manual_seed(args.seed))

    def forever():
        while True:
            for images, _labels in loader:
                yield images
    return forever()


def compare_loaders(args, device, timed_training) -> dict:
    """Time `timed_training(batches)` over genlab's device loader, then over the tutorial DataLoader with 0 and 2
    worker processes (only 0 with --no-workers): {row name: what timed_training returned}."""
    import tempfile

    results = {}
    batches, source = device_batches(args, device)
    print(f"genlab_device_loader over {source}")
    results["genlab_device_loader"] = timed_training(batches)
    print(f"    {results['genlab_device_loader']}")
    with tempfile.TemporaryDirectory(prefix="genlab_mnist_") as tmp:
        root = extract_for_torchvision(mnist_raw_folder(args.mnist_raw), Path(tmp))
        for workers in ([0] if args.no_workers else [0, 2]):
            key = f"torchvision_dataloader_workers{workers}"
            print(f"{key}: torch DataLoader over torchvision MNIST (extracted to {root})")
            results[key] = timed_training(torchvision_batches(args, root, workers, device.type == "cuda"))
            print(f"    {results[key]}")
    return results
