"""Retrain the course's judge classifiers (genlab/assets/<name>.safetensors) and update the manifest.

    GENLAB_DATA=../shared/data .venv/bin/python scripts/train_judges.py mnist_classifier
    GENLAB_DATA=../shared/data .venv/bin/python scripts/train_judges.py fashion_classifier
    GENLAB_DATA=../shared/data .venv/bin/python scripts/train_judges.py cifar_classifier --epochs 10

A judge scores generated images, so it must not call noise a digit: besides the cross-entropy on real images it is
trained with outlier exposure (Hendrycks et al., 2019): on uniform noise, salt noise, Gaussian blobs, smooth low-res
noise and speckled real images its target is the uniform distribution over the 10 classes. The manifest records the
acceptance figures on held-out seeds: the fraction of each kind of junk called with confidence >= 0.9 (must be < 5 %)
and of real test images (must be >= 95 %). Refuses to run on a stand-in.
"""

import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from genlab import config, data, metrics
from genlab.assets import ASSET_DIR, JUDGES, MANIFEST, JudgeClassifier, manifest, sha256

DATASETS = {"mnist_classifier": "MNIST", "fashion_classifier": "FashionMNIST", "cifar_classifier": "CIFAR10"}
DATA_FORM = {"MNIST": "torchvision idx files", "FashionMNIST": "torchvision idx files",
             "CIFAR10": "the lossy JPEG copy, quality about 75: not comparable with published CIFAR-10 figures"}
SEED, BATCH, JUNK, LR, JUNK_WEIGHT, THRESHOLD = 0, 128, 64, 2e-3, 0.5, 0.9


def augment(x, generator):
    """Grey digits and clothes: random shifts of up to 2 pixels (cheap and enough for > 99 % on MNIST). Colour
    objects: the standard CIFAR augmentation, a random 32x32 crop of the image padded by 4 (reflected) and a random
    horizontal flip, per image."""
    if x.shape[1] == 1:
        shifts = torch.randint(-2, 3, (2,), generator=generator).tolist()
        return torch.roll(x, shifts=shifts, dims=(2, 3))
    n, _, height, width = x.shape
    padded = F.pad(x, (4, 4, 4, 4), mode="reflect")
    top, left = (torch.randint(0, 9, (n, 1), generator=generator) for _ in range(2))
    rows = (top + torch.arange(height)).view(n, 1, height, 1)
    cols = (left + torch.arange(width)).view(n, 1, 1, width)
    flip = torch.rand(n, 1, 1, 1, generator=generator) < 0.5
    cols = torch.where(flip, cols.flip(-1), cols)
    batch, channel = torch.arange(n).view(n, 1, 1, 1), torch.arange(x.shape[1]).view(1, -1, 1, 1)
    return padded[batch, channel, rows, cols]


def junk_batch(real, n, generator):
    """n images that are none of the classes: a random mix of the kinds the judge must reject, shaped like `real`."""
    shape, size = tuple(real.shape[1:]), real.shape[-1]
    kinds = torch.randint(0, 5, (n,), generator=generator)
    fraction = 0.1 + 0.5 * torch.rand(1, generator=generator).item()
    parts = [
        metrics.sanity_images("uniform", n, generator, real=real),
        (torch.rand(n, *shape, generator=generator) < torch.rand(n, 1, 1, 1, generator=generator) * 0.5).float(),
        metrics.sanity_images("blobs", n, generator, real=real),
        F.interpolate(torch.rand(n, shape[0], size // 4, size // 4, generator=generator), size=size, mode="bilinear",
                      align_corners=False),
        metrics.sanity_images("speckle", n, generator, real=real, speckle_fraction=fraction),
    ]
    return torch.stack(parts)[kinds, torch.arange(n)]


@torch.no_grad()
def confident_fraction(model, images):
    model.eval()
    probs = torch.cat([model(chunk).softmax(1) for chunk in images.split(1000)])
    return (probs.max(1).values >= THRESHOLD).float().mean().item()


@torch.no_grad()
def accuracy(model, images, labels):
    model.eval()
    predictions = torch.cat([model(chunk).argmax(1) for chunk in images.split(1000)])
    return (predictions == labels).float().mean().item()


def acceptance(model, test):
    """The figures the manifest records, on a seed training never used."""
    generator = torch.Generator().manual_seed(12345)
    n = 2000
    return {
        "real_test_confident": round(confident_fraction(model, test.images), 4),
        "uniform_noise_confident": round(confident_fraction(
            model, metrics.sanity_images("uniform", n, generator, real=test.images[:n])), 4),
        "blobs_confident": round(confident_fraction(
            model, metrics.sanity_images("blobs", n, generator, real=test.images[:n])), 4),
        "speckle20_confident": round(confident_fraction(
            model, metrics.sanity_images("speckle", n, generator, real=test.images[:n])), 4),
        "threshold": THRESHOLD,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=sorted(DATASETS))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    dataset = DATASETS[args.name]
    train, test = data.load(dataset, "train", download=False), data.load(dataset, "test", download=False)
    if train.is_standin:
        sys.exit(f"refusing to train the shipped {args.name} on a stand-in; set GENLAB_DATA to the real {dataset}")
    channels = train.images.transpose(0, 1).flatten(1)
    mean, std = channels.mean(1), channels.std(1)
    declared = JUDGES[args.name]
    print(f"pixel mean {mean.tolist()} std {std.tolist()}; declared {declared['mean']} {declared['std']}")
    if (mean - torch.tensor(declared["mean"])).abs().max() > 0.01 or (std - torch.tensor(declared["std"])).abs().max() > 0.01:
        sys.exit(f"the training set's pixel statistics differ from genlab.assets.JUDGES[{args.name!r}]: update them first")
    generator = config.seed_everything(SEED)
    torch.set_num_threads(args.threads)
    model = JudgeClassifier(**JUDGES[args.name])
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4)
    loader = data.DeviceLoader(train.images, train.labels, batch_size=BATCH, seed=SEED)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LR, total_steps=args.epochs * len(loader))
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        for x, y in loader:
            junk = junk_batch(x, JUNK, generator)
            logits = model(torch.cat([augment(x, generator), junk]))
            real_loss = F.cross_entropy(logits[: len(x)], y)
            junk_loss = -F.log_softmax(logits[len(x):], dim=1).mean()  # cross-entropy against the uniform target
            loss = real_loss + JUNK_WEIGHT * junk_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        print(f"epoch {epoch + 1}/{args.epochs}: loss {real_loss.item():.4f} + {junk_loss.item():.3f}, test accuracy "
              f"{accuracy(model, test.images, test.labels):.4f}, {time.time() - start:.0f}s", flush=True)
    figures = acceptance(model, test)
    test_accuracy = accuracy(model, test.images, test.labels)
    path = ASSET_DIR / f"{args.name}.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    entries = manifest()
    entries[args.name] = {
        "file": path.name,
        "sha256": sha256(path),
        "bytes": path.stat().st_size,
        "parameters": sum(p.numel() for p in model.parameters()),
        "command": f"GENLAB_DATA=<folder with {dataset}> python scripts/train_judges.py {args.name} --epochs {args.epochs}",
        "data": f"real {dataset}, {len(train.images):,} training images ({DATA_FORM[dataset]}); figures on the "
                f"{len(test.images):,} test images",
        "seed": SEED,
        "recipe": f"AdamW lr {LR} one-cycle, batch {BATCH} real + {JUNK} junk images (outlier exposure, weight "
                  f"{JUNK_WEIGHT}, uniform target), {args.epochs} epochs, "
                  + ("random shifts of up to 2 px" if train.images.shape[1] == 1 else "random crops (pad 4) and flips"),
        "test_accuracy": round(test_accuracy, 4),
        "noise_rejection": figures,
        "torch": torch.__version__,
        "train_seconds": round(time.time() - start),
    }
    MANIFEST.write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")
    print(f"saved {path} ({path.stat().st_size / 1e6:.2f} MB), test accuracy {test_accuracy:.4f}, {figures}")


if __name__ == "__main__":
    main()
