"""How much does holding MNIST on the device as one tensor speed up lesson 02's GAN training?

Trains lesson 02's GAN (genlab.models MLPGenerator / MLPDiscriminator, Adam(2e-4, betas=(0.5, 0.999)), BCE losses on
logits, one D step then one non-saturating G step) for a fixed number of steps, twice, from the same seed, model and
batch size, on the real MNIST training set:

  (a) genlab:      data.load("MNIST") once, scaled to [-1, 1], moved to the device, batches from
                   genlab.data.DeviceLoader(...).forever() (index slices of that tensor);
  (b) torchvision: torch.utils.data.DataLoader(torchvision.datasets.MNIST(root, transform=Compose([ToTensor(),
                   Normalize((0.5,), (0.5,))])), shuffle=True) — the PyTorch-tutorial way — with num_workers=0 and,
                   unless --no-workers, num_workers=2; each batch is moved to the device in the loop.

Where torchvision's MNIST comes from: torchvision wants the extracted idx files in <root>/MNIST/raw. The folder the
course points at with GENLAB_DATA (e.g. ../shared/data, read-only) holds only the .gz files, so this script
decompresses the four files into a temporary folder, points torchvision at it (download=False: nothing is fetched)
and deletes the folder at the end. It needs real MNIST under $GENLAB_DATA/MNIST/raw (or --mnist-raw).

Each variant runs --warmup steps (not timed; this also starts the DataLoader's workers) and then --steps timed
steps; images/s = steps * batch size / seconds. The result is printed and written to
benchmarks/results/gan_loader_<device>.json. Whole-lesson wall times (from `genlab run 02 --profile ...`) can be
recorded with it: --lesson-seconds smoke=40 cpu=300.

    GENLAB_DATA=../shared/data .venv/bin/python benchmarks/gan_loader.py --steps 300
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from mnist_batches import compare_loaders, synchronize

from genlab import config
from genlab.models import MLPDiscriminator, MLPGenerator

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="timed training steps per variant")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps before timing")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 512], help="G's hidden widths (D mirrors them)")
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-workers", action="store_true", help="skip the num_workers=2 variant")
    parser.add_argument("--mnist-raw", default=None, help="folder with the MNIST .gz files (default $GENLAB_DATA/MNIST/raw)")
    parser.add_argument("--lesson-seconds", nargs="*", default=[], metavar="PROFILE=SECONDS",
                        help="whole-lesson wall times to record, e.g. smoke=40 cpu=300")
    parser.add_argument("--out", default=None, help="results file (default benchmarks/results/gan_loader_<device>.json)")
    return parser.parse_args(argv)






def make_gan(args, device):
    torch.manual_seed(args.seed)
    G = MLPGenerator(args.latent_dim, tuple(args.hidden), (1, 28, 28)).to(device)
    D = MLPDiscriminator((1, 28, 28), tuple(reversed(args.hidden))).to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    return G, D, opt_g, opt_d


def gan_step(G, D, opt_g, opt_d, real, latent_dim):
    """Lesson 02's step: D on real (target 1) and detached fakes (target 0), then G with -log D(G(z))."""
    fake = G(torch.randn(len(real), latent_dim, device=real.device))
    real_logits, fake_logits = D(real), D(fake.detach())
    loss_d = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
              + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    fake_logits = D(fake)
    loss_g = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return loss_d




def timed_training(args, device, batches) -> dict:
    """Warm up, then time args.steps steps drawing real batches from the iterator `batches`."""
    G, D, opt_g, opt_d = make_gan(args, device)
    for _ in range(args.warmup):
        gan_step(G, D, opt_g, opt_d, next(batches).to(device, non_blocking=True), args.latent_dim)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        loss_d = gan_step(G, D, opt_g, opt_d, next(batches).to(device, non_blocking=True), args.latent_dim)
    synchronize(device)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 3), "images_per_second": round(args.steps * args.batch_size / seconds, 1),
            "final_loss_d": round(loss_d.item(), 4)}






def main(argv=None):
    args = parse_args(argv)
    device = config.device()
    config.seed_everything(args.seed)
    lesson_seconds = {}
    for item in args.lesson_seconds:
        profile, _, seconds = item.partition("=")
        if profile not in config.PROFILES or not seconds:
            sys.exit(f"--lesson-seconds wants PROFILE=SECONDS with PROFILE in {config.PROFILES}; got {item!r}.")
        lesson_seconds[profile] = float(seconds)

    print(config.describe())
    results = compare_loaders(args, device, lambda batches: timed_training(args, device, batches))

    fast = results["genlab_device_loader"]["images_per_second"]
    report = {
        "benchmark": "gan_loader",
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({os.cpu_count()} cores)",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "steps": args.steps, "warmup": args.warmup, "batch_size": args.batch_size, "hidden": args.hidden,
        "latent_dim": args.latent_dim, "seed": args.seed,
        "results": results,
        "speedup_vs": {key: round(fast / value["images_per_second"], 3) for key, value in results.items()
                       if key != "genlab_device_loader"},
        "lesson_seconds": lesson_seconds,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    out = Path(args.out) if args.out else RESULTS_DIR / f"gan_loader_{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    for key, ratio in report["speedup_vs"].items():
        print(f"genlab DeviceLoader is {ratio:.2f}x the images/s of {key}")
    print(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()
