"""How fast are FID Inception features here, and how long does an FID of 10,000 generated images take?

Rows (each on --n images of 28x28 grey in [0, 1], upsampled to 299x299 inside genlab.inception):

  on every device
    eager_fp32              genlab.inception.inception_features(images, resize=True, batch=--batch)
  on CUDA only (skipped with one line when CUDA is absent)
    cuda_bf16_autocast      the same under torch.autocast("cuda", dtype=torch.bfloat16) (features cast back to float32;
                            the row also reports the largest relative feature difference against eager_fp32)
    cuda_channels_last      input in torch.channels_last memory format
    fid_10k_with_generation 10,000 images from genlab.models.DCGANGenerator (untrained, batch 500), their features and
                            the float64 Fréchet distance against the shipped MNIST statistics: the course target is
                            <= 30 s on one H100

Results go to benchmarks/results/inception_speed_<device>.json.

    .venv/bin/python benchmarks/inception_speed.py --n 64                 # CPU: about 10 images/s on 2 free cores
    .venv/bin/python benchmarks/inception_speed.py --n 2000 --device cuda
"""

import argparse
import json
import os
import time
from pathlib import Path

import torch

from genlab import assets, inception, metrics, models


def timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    images = torch.rand(args.n, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    inception.inception_features(images[:2], resize=True, device=device)  # load and warm up
    results = {}
    reference, seconds = timed(lambda: inception.inception_features(images, resize=True, batch=args.batch, device=device))
    results["eager_fp32"] = {"seconds": round(seconds, 3), "images_per_second": round(args.n / seconds, 2)}
    if device.type == "cuda":
        def autocast_features():
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return inception.inception_features(images, resize=True, batch=args.batch, device=device)

        features, seconds = timed(autocast_features)
        results["cuda_bf16_autocast"] = {
            "seconds": round(seconds, 3), "images_per_second": round(args.n / seconds, 2),
            "max_relative_difference": ((features - reference).abs().max() / reference.abs().max()).item()}
        _, seconds = timed(lambda: inception.inception_features(images.contiguous(memory_format=torch.channels_last),
                                                                resize=True, batch=args.batch, device=device))
        results["cuda_channels_last"] = {"seconds": round(seconds, 3), "images_per_second": round(args.n / seconds, 2)}
        mu_ref, sigma_ref, _ = assets.load_statistics("mnist")
        generator = models.DCGANGenerator(64, 1, 32, image_size=28).to(device).eval()

        def fid_10k():
            with torch.no_grad():
                z = torch.randn(10000, 64, generator=torch.Generator().manual_seed(1)).to(device)
                fakes = torch.cat([(generator(chunk) + 1) / 2 for chunk in z.split(500)]).clamp(0, 1)
            feats = inception.inception_features(fakes, resize=True, batch=250, device=device).double()
            return metrics.frechet_distance_from_statistics(feats.mean(0), torch.cov(feats.T), mu_ref, sigma_ref)

        fid, seconds = timed(fid_10k)
        results["fid_10k_with_generation"] = {"seconds": round(seconds, 3), "fid_untrained_generator": fid,
                                              "target_seconds_h100": 30}
    else:
        print("CUDA rows skipped: no CUDA device here")
    report = {"benchmark": "inception_speed", "device": str(device),
              "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({os.cpu_count()} cores)",
              "torch": torch.__version__, "threads": torch.get_num_threads(), "n": args.n, "batch": args.batch,
              "load_average_1_5_15_min_after": [round(x, 2) for x in os.getloadavg()],  # other jobs share the cores
              "results": results}
    out = Path(__file__).resolve().parent / "results" / f"inception_speed_{device.type}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
