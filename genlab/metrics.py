"""Numbers that judge models: ROC AUC for anomaly scores, classifier-based recognisability and class coverage."""

import math

import torch


def roc_auc(scores_normal: torch.Tensor, scores_anomalous: torch.Tensor) -> float:
    """Probability that a random anomalous example scores higher than a random normal one (ties count half).

    This is the area under the ROC curve (the Mann-Whitney U statistic divided by n_normal * n_anomalous).
    """
    normal, anomalous = scores_normal.flatten().double().cpu(), scores_anomalous.flatten().double().cpu()
    if len(normal) == 0 or len(anomalous) == 0:
        raise ValueError("roc_auc needs at least one score in each group.")
    scores = torch.cat([normal, anomalous])
    _, inverse, counts = scores.unique(return_inverse=True, return_counts=True)  # sorted distinct scores
    last_rank = counts.cumsum(0).double()  # 1-based rank of the last member of each group of tied scores
    ranks = (last_rank - (counts - 1) / 2.0)[inverse]  # tied scores share their average rank
    u = ranks[len(normal):].sum() - len(anomalous) * (len(anomalous) + 1) / 2
    return (u / (len(normal) * len(anomalous))).item()


@torch.no_grad()
def classifier_report(classifier, images: torch.Tensor, threshold: float = 0.9, batch: int = 500) -> dict:
    """How a pretrained classifier sees generated images in [0, 1]:

    - confident: fraction classified with probability >= threshold (recognisable samples);
    - counts: how many samples fall in each predicted class;
    - classes_covered: classes that receive at least 1 % of the samples;
    - coverage_entropy: entropy of the predicted-class histogram divided by log(#classes): 1 = perfectly even,
      0 = every sample in one class (complete mode collapse).
    """
    device = next(classifier.parameters()).device
    probs = torch.cat([classifier(chunk.to(device)).softmax(1).cpu() for chunk in images.split(batch)])
    top, predicted = probs.max(1)
    counts = torch.bincount(predicted, minlength=probs.shape[1])
    p = counts.double() / counts.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum().item()
    return {
        "confident": (top >= threshold).double().mean().item(),
        "counts": counts.tolist(),
        "classes_covered": int((p >= 0.01).sum()),
        "coverage_entropy": entropy / math.log(probs.shape[1]) + 0.0,  # + 0.0 turns -0.0 into 0.0
    }


def frechet_distance_from_statistics(mu_a: torch.Tensor, cov_a: torch.Tensor, mu_b: torch.Tensor,
                                     cov_b: torch.Tensor) -> float:
    """Fréchet distance between the Gaussians N(mu_a, cov_a) and N(mu_b, cov_b), in float64:

        ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^{1/2}).

    tr((S_a S_b)^{1/2}) is the sum of the square roots of the eigenvalues of S_a^{1/2} S_b S_a^{1/2} (symmetric PSD),
    which stays stable when a covariance is near-singular (tiny negative eigenvalues from rounding are clipped to 0).
    """
    mu_a, mu_b = mu_a.detach().double().cpu(), mu_b.detach().double().cpu()
    cov_a, cov_b = cov_a.detach().double().cpu(), cov_b.detach().double().cpu()
    d = mu_a.shape[-1]
    if mu_a.shape != (d,) or mu_b.shape != (d,) or cov_a.shape != (d, d) or cov_b.shape != (d, d):
        raise ValueError(f"frechet_distance needs two means (d,) and two covariances (d, d) of the same d, got "
                         f"{tuple(mu_a.shape)}, {tuple(cov_a.shape)}, {tuple(mu_b.shape)}, {tuple(cov_b.shape)}.")
    eigenvalues, vectors = torch.linalg.eigh(cov_a)
    sqrt_a = vectors @ torch.diag(eigenvalues.clamp(min=0).sqrt()) @ vectors.T  # S_a^{1/2}
    middle = sqrt_a @ cov_b @ sqrt_a
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    distance = (mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * trace_sqrt
    return max(distance.item(), 0.0)


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, d): their means and unbiased covariances
    (frechet_distance_from_statistics)."""
    a, b = features_a.detach().double().cpu(), features_b.detach().double().cpu()
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"frechet_distance needs two (N, d) feature sets of the same d, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}.")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("frechet_distance needs at least two samples in each set (a covariance).")
    return frechet_distance_from_statistics(a.mean(0), torch.cov(a.T), b.mean(0), torch.cov(b.T))


@torch.no_grad()
def classifier_features(classifier, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """The classifier's penultimate features (its `features` method) for images in [0, 1]."""
    device = next(classifier.parameters()).device
    return torch.cat([classifier.features(chunk.to(device)).cpu() for chunk in images.split(batch)])


def classifier_fid(classifier, images_a: torch.Tensor, images_b: torch.Tensor) -> float:
    """"Classifier FID": the Fréchet distance in a course judge's feature space (not comparable with Inception FID;
    always print it beside the real-vs-real value of the same n)."""
    return frechet_distance(classifier_features(classifier, images_a), classifier_features(classifier, images_b))


def _frechet_distance_few_samples(features: torch.Tensor, mu_b: torch.Tensor, cov_b: torch.Tensor) -> float:
    """frechet_distance_from_statistics(mean and unbiased covariance of `features`, mu_b, cov_b) when there are fewer
    samples n than dimensions d, in O(n d^2) instead of O(d^3): with A the centred features / sqrt(n - 1), S_a = A^T A,
    and the non-zero eigenvalues of S_a S_b are those of the n x n matrix A S_b A^T, so
    tr (S_a S_b)^{1/2} = sum of their square roots, and tr S_a = ||A||_F^2. Lesson 06 derives this and writes it out
    (its `fid_against_reference`); this is the library's copy for the lessons before it, as DCGANGenerator is lesson
    03's."""
    a = features.detach().double().cpu()
    mu_b, cov_b = mu_b.detach().double().cpu(), cov_b.detach().double().cpu()
    centred = (a - a.mean(0)) / (len(a) - 1) ** 0.5
    small = centred @ cov_b @ centred.T
    trace_sqrt = torch.linalg.eigvalsh((small + small.T) / 2).clamp(min=0).sqrt().sum()
    distance = (a.mean(0) - mu_b).pow(2).sum() + centred.pow(2).sum() + cov_b.trace() - 2 * trace_sqrt
    return max(distance.item(), 0.0)


def inception_fid(images: torch.Tensor, statistics: str, batch: int = 64, device=None) -> dict:
    """Inception FID of images in [0, 1] against the shipped statistics of a training set
    (genlab.assets.load_statistics): the course's protocol from lesson 06 on (bilinear resize to 299x299, the FID
    Inception's 2048-d pool features, float64 Fréchet distance). Returns the FID and n, with the reference's n and the
    manifest's test-vs-train FID at its own n (the real-vs-real value to print beside it)."""
    from genlab import assets, inception

    if len(images) < 2:
        raise ValueError(f"inception_fid needs at least two images (a covariance), got {len(images)}.")
    features = inception.inception_features(images, resize=True, batch=batch, device=device).double()
    mu_ref, cov_ref, entry = assets.load_statistics(statistics)
    real = entry.get("real_vs_real", {})
    if len(features) <= features.shape[1]:  # fewer samples than dims (smoke): the same number from n x n matrices
        fid = _frechet_distance_few_samples(features, mu_ref, cov_ref)
    else:
        fid = frechet_distance_from_statistics(features.mean(0), torch.cov(features.T), mu_ref, cov_ref)
    return {"fid": fid,
            "n": len(features), "dataset": entry["dataset"], "reference_n": entry["n"],
            "real_vs_real": real.get("fid_test_vs_train_statistics"), "real_vs_real_n": real.get("test_n")}


_NOISE_FID = {}   # (statistics, n, shape) -> FID of uniform noise: lesson 05 asks once per loss, computes once


def inception_fid_in_profile(n: int, sample, statistics: str, device=None, key: str = "inception_fid") -> dict:
    """Lessons 03-05's Inception FID: of `sample(n)` (n images in [0, 1]) against `statistics` when the profile's
    budget asks for n > 0 (gpu: 10,000), else one line saying why not. Prints it between its two baselines (real test
    images against the same statistics, from the manifest, and n images of uniform noise) and returns results-table
    entries: `key`, `key`_n, and the shared baselines."""
    from genlab import config

    if n <= 0:
        print(f"{key}: gpu profile only (10,000 images through the Inception take about half an hour on 2 CPU "
              "cores; lesson 06 explains the metric)")
        return {key: "gpu profile only"}
    with torch.no_grad():  # sampling 10,000 images must not keep their autograd graphs
        images = sample(n)
    result = inception_fid(images, statistics, device=device)
    cache = (statistics, len(images), tuple(images.shape[1:]))
    if cache not in _NOISE_FID:
        noise = torch.rand(images.shape, generator=torch.Generator().manual_seed(0))
        _NOISE_FID[cache] = inception_fid(noise, statistics, device=device)["fid"]
    note = "  (smoke profile: NOT meaningful)" if config.profile() == "smoke" else ""
    print(f"{key}: {result['fid']:.2f} for n = {result['n']} samples against {result['dataset']} training statistics "
          f"(n = {result['reference_n']}); real test images: {result['real_vs_real']:.2f} at n = "
          f"{result['real_vs_real_n']}; uniform noise: {_NOISE_FID[cache]:.2f} at n = {result['n']}{note}")
    return {key: result["fid"], f"{key}_n": result["n"], "inception_fid_reference_n": result["reference_n"],
            "inception_fid_real_test_images": result["real_vs_real"],
            "inception_fid_real_test_images_n": result["real_vs_real_n"],
            "inception_fid_uniform_noise": _NOISE_FID[cache]}


SANITY_KINDS = ("uniform", "blobs", "speckle")


def sanity_images(kind: str, n: int, generator: torch.Generator, real: torch.Tensor | None = None,
                  speckle_fraction: float = 0.2) -> torch.Tensor:
    """Images in [0, 1] of shape (n, C, H, W) that no judge may call recognisable: the sanity rows of a results table.

    - uniform: every pixel independently U[0, 1];
    - blobs: one to four random Gaussian bumps, the smooth shapes of a barely trained generator;
    - speckle: real images (the first n of `real`) with `speckle_fraction` of their pixels replaced by U[0, 1].
    `real` also fixes the shape (default (1, 28, 28)).
    """
    shape = tuple(real.shape[1:]) if real is not None else (1, 28, 28)
    channels, height, width = shape
    if kind == "uniform":
        return torch.rand(n, *shape, generator=generator)
    if kind == "blobs":
        ys = torch.arange(height).view(1, 1, height, 1).float()
        xs = torch.arange(width).view(1, 1, 1, width).float()
        images = torch.zeros(n, 1, height, width)
        count = torch.randint(1, 5, (n,), generator=generator)
        for k in range(4):
            centre_y = height * (0.2 + 0.6 * torch.rand(n, 1, 1, 1, generator=generator))
            centre_x = width * (0.2 + 0.6 * torch.rand(n, 1, 1, 1, generator=generator))
            sigma = (0.05 + 0.2 * torch.rand(n, 1, 1, 1, generator=generator)) * min(height, width)
            amplitude = (0.5 + 0.5 * torch.rand(n, 1, 1, 1, generator=generator)) * (k < count).view(n, 1, 1, 1)
            images += amplitude * torch.exp(-((ys - centre_y) ** 2 + (xs - centre_x) ** 2) / (2 * sigma**2))
        colour = torch.rand(n, channels, 1, 1, generator=generator) if channels > 1 else torch.ones(n, 1, 1, 1)
        return (images * colour).clamp(0, 1)
    if kind == "speckle":
        if real is None or len(real) < n:
            raise ValueError(f"speckle needs at least n={n} real images to speckle; pass real=...")
        base = real[:n].detach().cpu().float()
        mask = torch.rand(n, 1, height, width, generator=generator) < speckle_fraction
        return torch.where(mask, torch.rand(base.shape, generator=generator), base)
    raise ValueError(f"unknown sanity image kind {kind!r}; use one of {SANITY_KINDS}.")
