"""Does the course's Fréchet distance agree with an independent implementation on real 2048-d Inception statistics?

The course computes tr((S_a S_b)^{1/2}) from symmetric eigendecompositions in float64
(genlab.metrics.frechet_distance_from_statistics); pytorch-fid's calculate_frechet_distance takes scipy's general
matrix square root of the product. Both run here on the shipped Inception statistics (genlab/assets/inception_*),
whose covariances come from fewer images than dimensions (n = 2,000 < d = 2048), so they are singular: the hard case.
The course target is a relative difference below 1 %. The tests check the same agreement in 64-d in milliseconds
(tests/test_inception.py); this is the full-size check, which lesson 06 runs only in its gpu profile because scipy's
square root takes minutes on a CPU.

Results go to benchmarks/results/fid_agreement_cpu.json.

    .venv/bin/python benchmarks/fid_agreement.py                    # MNIST vs Fashion-MNIST: about 5 min on 2 cores
    .venv/bin/python benchmarks/fid_agreement.py --pairs mnist:fashion mnist:cifar10
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from pytorch_fid.fid_score import calculate_frechet_distance

from genlab import assets, metrics


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", nargs="+", default=["mnist:fashion"], help="name:name of shipped statistics")
    args = parser.parse_args(argv)
    rows = []
    for pair in args.pairs:
        name_a, name_b = pair.split(":")
        (mu_a, cov_a, entry_a), (mu_b, cov_b, entry_b) = assets.load_statistics(name_a), assets.load_statistics(name_b)
        start = time.perf_counter()
        ours = metrics.frechet_distance_from_statistics(mu_a, cov_a, mu_b, cov_b)
        ours_seconds = time.perf_counter() - start
        start = time.perf_counter()
        try:
            theirs = float(calculate_frechet_distance(mu_a.double().numpy(), cov_a.double().numpy(),
                                                      mu_b.double().numpy(), cov_b.double().numpy()))
        except ValueError as error:  # pytorch-fid refuses a square root with a large imaginary part
            theirs, failure = float("nan"), str(error)
        else:
            failure = None
        theirs_seconds = time.perf_counter() - start
        row = {"pair": pair, "n": [entry_a["n"], entry_b["n"]], "dimensions": int(mu_a.shape[0]),
               "course_fid": ours, "pytorch_fid": theirs,
               "relative_difference": abs(ours - theirs) / abs(theirs) if np.isfinite(theirs) else None,
               "target_relative_difference": 0.01, "course_seconds": round(ours_seconds, 2),
               "pytorch_fid_seconds": round(theirs_seconds, 2), "pytorch_fid_error": failure}
        print(json.dumps(row), flush=True)
        rows.append(row)
    report = {"benchmark": "fid_agreement", "device": "cpu", "cpu_count": os.cpu_count(), "torch": torch.__version__,
              "threads": torch.get_num_threads(),
              "load_average_1_5_15_min_after": [round(x, 2) for x in os.getloadavg()],  # other jobs share the cores
              "results": rows}
    out = Path(__file__).resolve().parent / "results" / "fid_agreement_cpu.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
