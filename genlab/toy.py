"""2-D Gaussian mixtures whose density and modes are known exactly: where a GAN's mode coverage is a number."""

import math

import torch
from torch import nn


class GaussianMixture2D:
    """Equal-weight isotropic Gaussians in the plane: `ring(k)` (k modes on a circle) or `grid(k)` (a k x k grid).

    Mode coverage is exact here: a sample is *on* mode j when it lies within 3 std of centre j (a real sample is,
    with probability 1 - exp(-9/2) = 0.989); a mode is *covered* when it holds at least a quarter of its fair share,
    1 / (4 K), of the samples.
    """

    def __init__(self, centres: torch.Tensor, std: float, name: str):
        self.centres, self.std, self.name = centres.float(), float(std), name

    @classmethod
    def ring(cls, modes: int = 8, radius: float = 0.75, std: float = 0.02):
        angles = torch.arange(modes) * 2 * math.pi / modes
        return cls(radius * torch.stack([angles.cos(), angles.sin()], 1), std, f"ring of {modes}")

    @classmethod
    def grid(cls, side: int = 5, extent: float = 0.8, std: float = 0.02):
        ticks = torch.linspace(-extent, extent, side)
        return cls(torch.cartesian_prod(ticks, ticks), std, f"{side}x{side} grid")

    @property
    def num_modes(self) -> int:
        return len(self.centres)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """x = mu_k + std * eps with k uniform and eps ~ N(0, I): (n, 2)."""
        k = torch.randint(self.num_modes, (n,), generator=generator)
        return self.centres[k] + self.std * torch.randn(n, 2, generator=generator)

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """p(x) = (1/K) sum_k N(x; mu_k, std^2 I) for points (N, 2)."""
        squared = torch.cdist(x.float(), self.centres) ** 2
        return torch.exp(-squared / (2 * self.std ** 2)).mean(1) / (2 * math.pi * self.std ** 2)

    def modes(self, samples: torch.Tensor) -> dict:
        """modes_covered, within_3sigma (share of samples on some mode) and the per-mode counts of on-mode samples."""
        samples = samples.detach().float().cpu()
        if samples.dim() != 2 or samples.shape[1] != 2:
            raise ValueError(f"samples must have shape (N, 2), not {tuple(samples.shape)}")
        distance, nearest = torch.cdist(samples, self.centres).min(1)
        on_mode = distance < 3 * self.std
        counts = torch.bincount(nearest[on_mode], minlength=self.num_modes)
        return {"modes_covered": int((counts >= len(samples) / (4 * self.num_modes)).sum()),
                "within_3sigma": on_mode.float().mean().item(), "counts": counts.tolist()}


def toy_generator(latent_dim: int = 16, hidden: int = 128) -> nn.Sequential:
    """Lesson 05's toy G: z (latent_dim) -> a 2-D point, a ReLU MLP with two hidden layers of `hidden` units. Here so
    that later lessons can rebuild the generators lesson 05 trained (genlab.assets.load_ring_generators)."""
    return nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 2))
