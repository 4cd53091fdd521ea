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
