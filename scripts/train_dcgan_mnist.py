"""Lesson 03's MNIST DCGAN trained for longer than a lesson run can afford, shipped as the course checkpoint
(genlab/assets/dcgan_mnist.safetensors and its manifest entry, with the learning curve measured on the way).

Lesson 03's `cpu` run trains for about 5 minutes and stops far from converged; its section 8 sets this checkpoint
beside the student's run, so a student sees what more training buys, and how slowly, on the same judge. Nothing about
the GAN is re-implemented here: the script runs the code cells of solutions/03_dcgan.ipynb (reference answers
included) up to the judge of section 8, skipping the lesson's own training run, then trains genlab's copy of the
lesson's networks (genlab.models.DCGANGenerator / DCGANDiscriminator, checked to match the lesson's classes) with
the lesson's `train_step` and `genlab.train.EMA`, step for step as its `train_dcgan` does. Every `--check` steps it
judges the EMA generator as section 8 does (BatchNorm recalibrated, n = 2,000 seeded samples, the digit judge).

    .venv/bin/python scripts/train_dcgan_mnist.py             # 20,000 steps: about 25 min on 2 idle CPU cores
    .venv/bin/python scripts/train_dcgan_mnist.py --steps 200 --no-save   # a quick look, writes nothing
"""

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

os.environ["GENLAB_PROFILE"] = "cpu"  # lesson 03's cpu budget: width 48, batch 64, EMA half-life, n = 2,000 judged
os.environ.setdefault("MPLBACKEND", "Agg")

import nbformat  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from genlab import data  # noqa: E402
from genlab.assets import ASSET_DIR, MANIFEST, manifest, sha256  # noqa: E402
from genlab.models import DCGANDiscriminator, DCGANGenerator  # noqa: E402
from genlab.train import EMA  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / "03_dcgan.ipynb"
NAME = "dcgan_mnist"
TRAINING_RUN = "G, D, opt_g, opt_d = make_dcgan(1, 28, BUDGET.width)"  # section 6's run: its definitions only


def lesson_03_namespace() -> dict:
    """Run lesson 03's code cells in order until its judge exists, without its training runs; returns their globals."""
    import matplotlib.pyplot as plt

    plt.show = lambda *args, **kwargs: None  # figures of the exercises: not wanted here
    namespace = {"__name__": "__main__"}
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        source = cell.source
        if TRAINING_RUN in source:
            source = source.split(TRAINING_RUN)[0]
        elif "make_dcgan" in namespace and not any(name in source for name in ("def recalibrate_batchnorm",
                                                                                 "def make_judge")):
            continue  # sections 6-7's plots of the lesson's own run
        exec(compile(source, f"{NOTEBOOK.name} cell", "exec"), namespace)
        if "judge" in namespace and "eval_noise" in namespace:
            return namespace
    sys.exit(f"{NOTEBOOK} never defines judge and eval_noise: has lesson 03 changed? Update this script.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate of G and D (beta1 0.5)")
    parser.add_argument("--check", type=int, default=2_000, help="judge the EMA generator every this many steps")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-save", action="store_true", help="train and judge, write nothing")
    args = parser.parse_args()
    if args.steps < 1 or args.check < 1:
        parser.error("--steps and --check must be positive")
    torch.set_num_threads(args.threads)

    lesson = lesson_03_namespace()
    budget, latent_dim = lesson["BUDGET"], lesson["LATENT_DIM"]
    torch.manual_seed(0)
    G = DCGANGenerator(latent_dim, 1, budget.width, 28)
    D = DCGANDiscriminator(1, budget.width, 28)
    for ours, theirs in ((G, lesson["Generator"](latent_dim, 1, budget.width, 28)),
                         (D, lesson["Discriminator"](1, budget.width, 28))):
        shapes = [tuple(p.shape) for p in ours.state_dict().values()]
        if shapes != [tuple(p.shape) for p in theirs.state_dict().values()]:
            sys.exit(f"genlab.models.{type(ours).__name__} no longer matches lesson 03's {type(theirs).__name__}.")
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    batches = data.DeviceLoader(lesson["mnist_images"].cpu(), batch_size=budget.batch_size).forever()
    noise = torch.Generator().manual_seed(0)

    def judged(module):
        row = lesson["judge"](lesson["generate"](lesson["recalibrate_batchnorm"](copy.deepcopy(module)),
                                                 lesson["eval_noise"]))
        return {"recognisable": round(row["confident"], 4), "classes": row["classes_covered"],
                "classifier_fid": round(row["fid"], 3)}

    curve, ema, judging, start = [], None, 0.0, time.perf_counter()
    for step in range(1, args.steps + 1):  # lesson 03's train_dcgan, step for step
        real = next(batches)
        if step == 1:
            ema = EMA(G, budget.ema_half_life, batch_size=len(real))
        lesson["train_step"](G, D, opt_g, opt_d, real, latent_dim, noise)
        ema.update(G)
        if step % args.check == 0 or step == args.steps:
            seconds, judge_start = time.perf_counter() - start - judging, time.perf_counter()
            point = {"step": step, "images": step * budget.batch_size, "train_seconds": round(seconds),
                     **{f"ema_{k}": v for k, v in judged(ema.module).items()},
                     **{f"raw_{k}": v for k, v in judged(G).items()}}
            curve.append(point)
            print(json.dumps(point), flush=True)
            judging += time.perf_counter() - judge_start  # judging time is not training time
    seconds = curve[-1]["train_seconds"]
    if args.no_save:
        return
    final = lesson["recalibrate_batchnorm"](copy.deepcopy(ema.module))
    path = ASSET_DIR / f"{NAME}.safetensors"
    save_file({key: value.contiguous() for key, value in final.state_dict().items()}, str(path))
    real_row = lesson["reference_rows"]["real test digits"]
    entries = manifest()
    entries[NAME] = {
        "file": path.name, "bytes": path.stat().st_size, "sha256": sha256(path),
        "command": f"GENLAB_DATA=<folder with MNIST/raw> python scripts/train_dcgan_mnist.py --steps {args.steps} "
                   f"--lr {args.lr:g} --check {args.check} --threads {args.threads}",
        "data": "real MNIST, 60,000 training images (torchvision idx files)",
        "generator": {"builder": "genlab.models.DCGANGenerator", "latent_dim": latent_dim, "channels": 1,
                      "width": budget.width, "image_size": 28,
                      "state": "EMA of G's weights, BatchNorm statistics recalibrated (lesson 03 section 7)"},
        "recipe": f"lesson 03's networks, train_step and EMA at its cpu budget (width {budget.width}, batch "
                  f"{budget.batch_size}, EMA half-life {budget.ema_half_life:,} images), Adam lr {args.lr:g} for G and D, "
                  f"betas (0.5, 0.999), {args.steps:,} steps, seed 0",
        "judged": {"n": len(lesson["eval_noise"]), "noise": "lesson 03's eval_noise (seed 2)",
                   "real_test_recognisable": round(real_row["confident"], 4),
                   "real_vs_real_classifier_fid": round(real_row["fid"], 3), **curve[-1]},
        "curve": curve, "seed": 0, "threads": args.threads, "torch": torch.__version__, "train_seconds": seconds,
    }
    MANIFEST.write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")
    print(f"wrote {path} ({path.stat().st_size:,} bytes) after {seconds} s of training; manifest entry {NAME!r}")


if __name__ == "__main__":
    main()
