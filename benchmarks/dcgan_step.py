"""How many images per second does lesson 03's MNIST DCGAN training step process, and what makes it faster?

The step is lesson 03's: a DCGAN generator (z -> 7x7 -> 14x14 -> 28x28, transposed convolutions, BatchNorm, ReLU,
tanh) and discriminator (28 -> 14 -> 7 -> 1, LeakyReLU(0.2), BatchNorm on the middle layer), Adam(2e-4,
betas=(0.5, 0.999)), one D step on real and detached fakes, then one non-saturating G step through the updated D.
The networks are written out below (the lesson's students write them; the benchmark keeps its own copy).

Rows, each from the same seed, model, width and batch size on the real MNIST training set:

  on every device
    genlab_device_loader     data.load("MNIST") once, scaled to [-1, 1], on the device; batches from
                             genlab.data.DeviceLoader(...).forever() (index slices of that tensor)
    torchvision_dataloader_workers{0,2}
                             torch.utils.data.DataLoader(torchvision.datasets.MNIST(root, transform=Compose([
                             ToTensor(), Normalize((0.5,), (0.5,))])), shuffle=True), the PyTorch-tutorial way;
                             each batch moved to the device in the loop (--no-workers skips num_workers=2)
  on CUDA only (device loader; skipped with one line when CUDA is absent)
    cuda_bf16_autocast       forward passes under torch.autocast("cuda", dtype=torch.bfloat16)
    cuda_channels_last       models and batches in torch.channels_last memory format
    cuda_fused_adam          torch.optim.Adam(..., fused=True)
    cuda_graph               the whole step (noise, both forward/backward passes, both Adam steps) captured once
                             in a CUDA graph (Adam with capturable=True) and replayed; each batch is copied into
                             the graph's static input
    cuda_all                 bf16 autocast + channels_last + the CUDA graph together
    cuda_compile_reduce_overhead
                             both networks through torch.compile(mode="reduce-overhead") (--compile to include;
                             compiling takes minutes)

Anchors: the GANs Specialization's MNIST DCGAN runs about 30 s per 1000 steps of batch 128 on a GPU, i.e. about
4k images/s. The course's gpu target for this step is at least 100k images/s at batch 128.

torchvision's MNIST wants the extracted idx files in <root>/MNIST/raw; the folder GENLAB_DATA points at holds the
.gz files, so they are decompressed into a temporary folder (download=False: nothing is fetched), deleted at the end.
Each row runs --warmup untimed steps, then --steps timed steps; images/s = steps * batch size / seconds (real images
through the D step; the G step makes as many fakes). Results go to benchmarks/results/dcgan_step_<device>.json.

    GENLAB_DATA=../shared/data .venv/bin/python benchmarks/dcgan_step.py --steps 100
    GENLAB_DATA=../shared/data .venv/bin/python benchmarks/dcgan_step.py --steps 2000 --batch-size 128   # on a GPU
"""

import argparse
import json
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from mnist_batches import compare_loaders, device_batches, synchronize
from torch import nn

from genlab import config

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100, help="timed training steps per row")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps before timing")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--width", type=int, default=32, help="the lesson's base width w (channels 2w, w in G)")
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-workers", action="store_true", help="skip the num_workers=2 DataLoader row")
    parser.add_argument("--compile", action="store_true", help="add the torch.compile(mode='reduce-overhead') row (CUDA)")
    parser.add_argument("--cpu-variants", action="store_true",
                        help="also run the bf16 / channels_last / fused-Adam rows on the CPU (to test those code paths)")
    parser.add_argument("--mnist-raw", default=None, help="folder with the MNIST .gz files (default $GENLAB_DATA/MNIST/raw)")
    parser.add_argument("--out", default=None, help="results file (default benchmarks/results/dcgan_step_<device>.json)")
    parser.add_argument("--note", default="", help="conditions to record with the results (load, thread settings, ...)")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------------- the networks
def generator(latent_dim, width):
    return nn.Sequential(
        nn.Unflatten(1, (latent_dim, 1, 1)),
        nn.ConvTranspose2d(latent_dim, 2 * width, 7, 1, 0, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(),  # 7x7
        nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),           # 14x14
        nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh(),                                                       # 28x28
    )


def discriminator(width):
    return nn.Sequential(
        nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),                                                      # 14x14
        nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),       # 7x7
        nn.Conv2d(2 * width, 1, 7, 1, 0), nn.Flatten(0),                                                      # logit
    )


class Variant:
    """One row's settings: autocast dtype, memory format, Adam flavour, CUDA graph, torch.compile."""

    def __init__(self, bf16=False, channels_last=False, fused=False, graph=False, compile_mode=None):
        self.bf16, self.channels_last, self.fused, self.graph, self.compile_mode = bf16, channels_last, fused, graph, compile_mode


def make_gan(args, device, variant: Variant):
    torch.manual_seed(args.seed)
    G, D = generator(args.latent_dim, args.width).to(device), discriminator(args.width).to(device)
    if variant.channels_last:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    extra = {"fused": True} if variant.fused else {}
    if variant.graph:
        extra["capturable"] = True   # Adam keeps its step count on the device, as graph capture requires
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), **extra)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), **extra)
    if variant.compile_mode:
        G, D = torch.compile(G, mode=variant.compile_mode), torch.compile(D, mode=variant.compile_mode)
    return G, D, opt_g, opt_d


def dcgan_step(G, D, opt_g, opt_d, real, latent_dim, variant: Variant):
    """Lesson 03's step: D on real (target 1) and detached fakes (target 0), then G with -log D(G(z))."""
    # under graph capture the autocast cache must be off (cached casts would outlive the capture)
    autocast = torch.autocast(real.device.type, dtype=torch.bfloat16, enabled=variant.bf16,
                              cache_enabled=not variant.graph)
    with autocast:
        fake = G(torch.randn(len(real), latent_dim, device=real.device))
        if variant.channels_last:
            fake = fake.contiguous(memory_format=torch.channels_last)
        loss_d = F.softplus(-D(real)).float().mean() + F.softplus(D(fake.detach())).float().mean()
    opt_d.zero_grad(set_to_none=not variant.graph)   # a captured graph needs its .grad tensors to stay in place
    loss_d.backward()
    opt_d.step()
    with autocast:
        loss_g = F.softplus(-D(fake)).float().mean()
    opt_g.zero_grad(set_to_none=not variant.graph)
    loss_g.backward()
    opt_g.step()
    return loss_d




def timed_training(args, device, batches, variant: Variant | None = None) -> dict:
    """Warm up, then time args.steps steps drawing real batches from the iterator `batches`."""
    variant = variant or Variant()   # eager fp32
    G, D, opt_g, opt_d = make_gan(args, device, variant)
    fmt = torch.channels_last if variant.channels_last else torch.contiguous_format

    def next_batch():
        return next(batches).to(device, non_blocking=True).contiguous(memory_format=fmt)

    if variant.graph:
        static_real = next_batch().clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):   # warm-up on a side stream, as graph capture requires
            for _ in range(max(3, args.warmup)):
                dcgan_step(G, D, opt_g, opt_d, static_real, args.latent_dim, variant)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_loss = dcgan_step(G, D, opt_g, opt_d, static_real, args.latent_dim, variant)

        def step():
            static_real.copy_(next(batches), non_blocking=True)
            graph.replay()
            return static_loss
    else:
        def step():
            return dcgan_step(G, D, opt_g, opt_d, next_batch(), args.latent_dim, variant)

        for _ in range(args.warmup):
            step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        loss_d = step()
    synchronize(device)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 3), "images_per_second": round(args.steps * args.batch_size / seconds, 1),
            "final_loss_d": round(loss_d.item(), 4)}


# ---------------------------------------------------------------------------------------------------- the data








# ---------------------------------------------------------------------------------------------------- main
def cuda_rows(compile_too: bool) -> dict:
    rows = {
        "cuda_bf16_autocast": Variant(bf16=True),
        "cuda_channels_last": Variant(channels_last=True),
        "cuda_fused_adam": Variant(fused=True),
        "cuda_graph": Variant(graph=True),
        "cuda_all": Variant(bf16=True, channels_last=True, graph=True),
    }
    if compile_too:
        rows["cuda_compile_reduce_overhead"] = Variant(compile_mode="reduce-overhead")
    return rows


def main(argv=None):
    args = parse_args(argv)
    device = config.device()
    config.seed_everything(args.seed)
    torch.backends.cudnn.benchmark = True   # speed, not bit-exact repeats, is what this measures
    torch.backends.cudnn.deterministic = False
    print(config.describe())
    skipped = {}
    results = compare_loaders(args, device, lambda batches: timed_training(args, device, batches))

    if device.type == "cuda":
        for key, variant in cuda_rows(args.compile).items():
            print(f"{key}")
            try:
                results[key] = timed_training(args, device, device_batches(args, device)[0], variant)
                print(f"    {results[key]}")
            except Exception as error:   # one failing optimisation must not lose the other rows
                skipped[key] = f"failed: {type(error).__name__}: {str(error)[:200]}"
                print(f"    {skipped[key]}")
    else:
        for key in cuda_rows(args.compile):
            skipped[key] = "skipped: CUDA is not available on this machine"
        print(f"CUDA rows skipped (no CUDA): {', '.join(skipped)}")
        if args.cpu_variants:
            for key, variant in {"cpu_bf16_autocast": Variant(bf16=True), "cpu_channels_last": Variant(channels_last=True),
                                 "cpu_fused_adam": Variant(fused=True)}.items():
                print(key)
                results[key] = timed_training(args, device, device_batches(args, device)[0], variant)
                print(f"    {results[key]}")

    fast = results["genlab_device_loader"]["images_per_second"]
    best_key = max(results, key=lambda k: results[k]["images_per_second"])
    report = {
        "benchmark": "dcgan_step",
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({os.cpu_count()} cores)",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
        "threads": torch.get_num_threads(),
        "steps": args.steps, "warmup": args.warmup, "batch_size": args.batch_size, "width": args.width,
        "latent_dim": args.latent_dim, "seed": args.seed,
        "results": results,
        "skipped": skipped,
        "device_loader_speedup_vs": {key: round(fast / value["images_per_second"], 3) for key, value in results.items()
                                     if key.startswith("torchvision_")},
        "vs_eager_device_loader": {key: round(value["images_per_second"] / fast, 3) for key, value in results.items()
                                   if key != "genlab_device_loader" and not key.startswith("torchvision_")},
        "anchors": {"gans_specialization_mnist_dcgan_gpu_images_per_second": 4000,
                    "course_gpu_target_images_per_second_at_batch_128": 100_000},
        "best": {"row": best_key, "images_per_second": results[best_key]["images_per_second"],
                 "vs_anchor_4k": round(results[best_key]["images_per_second"] / 4000, 3)},
        "note": args.note,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    out = Path(args.out) if args.out else RESULTS_DIR / f"dcgan_step_{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    for key, ratio in report["device_loader_speedup_vs"].items():
        print(f"genlab DeviceLoader is {ratio:.2f}x the images/s of {key}")
    print(f"best row {best_key}: {report['best']['images_per_second']:,.0f} images/s "
          f"({report['best']['vs_anchor_4k']:.1f}x the 4k images/s anchor; gpu target 100k at batch 128)")
    print(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()
