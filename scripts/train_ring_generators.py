"""Lesson 05's toy generators on the ring of 8, trained again and shipped for lesson 06
(genlab/assets/ring_generators.safetensors and its manifest entry).

Lesson 06 measures k-NN precision and recall on generators that really collapsed or really covered the data. These
are lesson 05's: the same networks, losses, learning rates and seeds as its `cpu` profile (1,500 G steps on the ring
of 8, radius 2, std 0.1, seed 0), one generator per loss. Nothing is re-implemented here: the script runs the code
cells of solutions/05_gan_losses.ipynb (reference answers included) up to `train_toy`, then calls it once per loss.

    .venv/bin/python scripts/train_ring_generators.py       # about 3 min on 2 CPU cores
"""

import json
import os
import sys
import time
from pathlib import Path

os.environ["GENLAB_PROFILE"] = "cpu"  # the budget lesson 05's cpu run and its mode table use
os.environ.setdefault("MPLBACKEND", "Agg")

import nbformat  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from genlab.assets import ASSET_DIR, MANIFEST, manifest, sha256  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / "05_gan_losses.ipynb"
NAME = "ring_generators"


def lesson_05_namespace() -> dict:
    """Run lesson 05's code cells in order until `train_toy` is defined; returns their globals."""
    import matplotlib.pyplot as plt

    plt.show = lambda *args, **kwargs: None  # figures of the exercises: not wanted here
    namespace = {"__name__": "__main__"}
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, f"{NOTEBOOK.name} cell", "exec"), namespace)
            if "train_toy" in namespace:
                return namespace
    sys.exit(f"{NOTEBOOK} never defines train_toy: has lesson 05 changed? Update this script.")


def main():
    lesson = lesson_05_namespace()
    ring, budget = lesson["RING"], lesson["BUDGET"]
    tensors, figures, start = {}, {}, time.perf_counter()
    for name, loss in lesson["LOSSES"].items():
        _, shots, generator = lesson["train_toy"](loss, ring, seed=0)
        final_samples = list(shots.values())[-1][0]  # lesson 05's probe: 2,000 seeded z
        report = ring.modes(final_samples)
        figures[name] = {"modes_covered": report["modes_covered"], "within_3sigma": round(report["within_3sigma"], 4)}
        print(f"{name:16s} modes {report['modes_covered']}/8, on a mode {report['within_3sigma']:.3f}", flush=True)
        tensors.update({f"{name}/{key}": value.detach().contiguous() for key, value in generator.state_dict().items()})
    seconds = time.perf_counter() - start
    path = ASSET_DIR / f"{NAME}.safetensors"
    save_file(tensors, str(path))
    entries = manifest()
    entries[NAME] = {
        "file": path.name, "bytes": path.stat().st_size, "sha256": sha256(path),
        "command": "python scripts/train_ring_generators.py",
        "data": f"lesson 05's {ring.name}: genlab.toy.GaussianMixture2D.ring (exact samples; no data files)",
        "ring": {"modes": ring.num_modes, "radius": round(ring.centres.norm(dim=1).max().item(), 6), "std": ring.std},
        "generator": {"builder": "genlab.toy.toy_generator", "latent_dim": lesson["TOY_LATENT"],
                      "hidden": budget.toy_hidden},
        "recipe": f"lesson 05's cpu profile: {budget.toy_steps} G steps, batch {budget.toy_batch}, Adam betas (0.5, 0.9), "
                  "its per-loss learning rates and critic steps, seed 0",
        "losses": figures, "order": list(figures), "seed": 0, "torch": torch.__version__, "train_seconds": round(seconds),
    }
    MANIFEST.write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")
    print(f"wrote {path} ({path.stat().st_size:,} bytes) in {seconds:.0f} s; manifest entry {NAME!r}")


if __name__ == "__main__":
    main()
