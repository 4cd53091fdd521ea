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
