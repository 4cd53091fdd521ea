import math

import pytest
import torch

from genlab.metrics import classifier_report, roc_auc


def test_roc_auc_exact_values():
    assert roc_auc(torch.tensor([0.1, 0.2]), torch.tensor([0.8, 0.9])) == 1.0
    assert roc_auc(torch.tensor([0.8, 0.9]), torch.tensor([0.1, 0.2])) == 0.0
    assert roc_auc(torch.tensor([1.0, 1.0]), torch.tensor([1.0])) == 0.5
    # pairs (normal, anomalous): (1,2) win, (3,2) lose, (1,4) win, (3,4) win -> 3/4
    assert roc_auc(torch.tensor([1.0, 3.0]), torch.tensor([2.0, 4.0])) == 0.75
    # a tie counts half: (2,2) half, (1,2) win -> 1.5/2
    assert roc_auc(torch.tensor([1.0, 2.0]), torch.tensor([2.0])) == 0.75
    with pytest.raises(ValueError):
        roc_auc(torch.tensor([]), torch.tensor([1.0]))


class _Fixed(torch.nn.Module):
    """Predicts class (first pixel value) with probability ~1, or uniform when the pixel is negative."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        label = x[:, 0, 0, 0].long()
        logits = torch.zeros(len(x), 10)
        sure = label >= 0
        logits[sure, label[sure].clamp(min=0)] = 50.0
        return logits


def test_classifier_report_counts_confidence_and_coverage():
    images = torch.zeros(20, 1, 2, 2)
    images[:10, 0, 0, 0] = 3  # ten confident 3s
    images[10:, 0, 0, 0] = -1  # ten unsure (uniform) -> argmax class 0
    report = classifier_report(_Fixed(), images)
    assert report["confident"] == 0.5
    assert report["counts"][3] == 10 and report["counts"][0] == 10 and report["classes_covered"] == 2
    assert report["coverage_entropy"] == pytest.approx(math.log(2) / math.log(10))


def test_frechet_distance_exact_values_and_an_independent_formula():
    import numpy as np
    import scipy.linalg

    from genlab.metrics import frechet_distance

    g = torch.Generator().manual_seed(0)
    a = torch.randn(3000, 6, generator=g)
    b = torch.randn(3000, 6, generator=g) * 1.5 + 0.3
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    # the same shift on identical covariances costs exactly ||shift||^2
    assert frechet_distance(a, a + torch.tensor([1.0, 2.0, 0, 0, 0, 0])) == pytest.approx(5.0, rel=1e-7)
    # against scipy's general matrix square root (a different algorithm: Schur decomposition)
    A, B = a.double().numpy(), b.double().numpy()
    cov_a, cov_b = np.cov(A, rowvar=False), np.cov(B, rowvar=False)
    expected = ((A.mean(0) - B.mean(0)) ** 2).sum() + np.trace(cov_a + cov_b - 2 * scipy.linalg.sqrtm(cov_a @ cov_b).real)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_survives_singular_covariances_and_refuses_bad_shapes():
    from genlab.metrics import frechet_distance

    flat = torch.zeros(100, 4)
    flat[:, 0] = torch.randn(100, generator=torch.Generator().manual_seed(1))  # rank-1 covariance
    assert math.isfinite(frechet_distance(flat, flat.flip(0))) and frechet_distance(flat, flat) < 1e-9
    with pytest.raises(ValueError, match="same d"):
        frechet_distance(torch.zeros(5, 3), torch.zeros(5, 4))


def test_sanity_images_are_in_range_and_seeded():
    from genlab.metrics import sanity_images

    real = torch.zeros(8, 1, 28, 28)
    for kind in ("uniform", "blobs", "speckle"):
        x = sanity_images(kind, 8, torch.Generator().manual_seed(0), real=real)
        y = sanity_images(kind, 8, torch.Generator().manual_seed(0), real=real)
        assert x.shape == (8, 1, 28, 28) and 0 <= x.min() and x.max() <= 1 and torch.equal(x, y)
    speckled = sanity_images("speckle", 8, torch.Generator().manual_seed(0), real=real)
    assert 0.15 < (speckled > 0).float().mean() < 0.25  # about 20 % of the pixels replaced
    with pytest.raises(ValueError, match="unknown"):
        sanity_images("stripes", 2, torch.Generator())
