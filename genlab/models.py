"""Small reference networks shared by lessons and benchmarks (plumbing, never an exercise)."""

import math

from torch import nn


class MLPGenerator(nn.Module):
    """z of shape (N, latent_dim) -> images of shape (N, *image_shape) in [-1, 1].

    Fully connected layers of the widths in `hidden`, each followed by LeakyReLU(0.2), then a linear layer to
    prod(image_shape) pixels and tanh, so that outputs live where the data (scaled to [-1, 1]) lives.
    """

    def __init__(self, latent_dim: int = 64, hidden=(256, 512), image_shape=(1, 28, 28)):
        super().__init__()
        self.latent_dim, self.image_shape = latent_dim, tuple(image_shape)
        widths = [latent_dim, *hidden]
        layers = []
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(w_in, w_out), nn.LeakyReLU(0.2)]
        layers += [nn.Linear(widths[-1], math.prod(self.image_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z).view(len(z), *self.image_shape)


class MLPDiscriminator(nn.Module):
    """images of shape (N, *image_shape) -> one logit per image, shape (N,); D(x) = sigmoid(logit).

    Flatten, fully connected layers of the widths in `hidden` with LeakyReLU(0.2) (no sigmoid at the end: losses
    take logits, which is numerically safer than taking log of a sigmoid).
    """

    def __init__(self, image_shape=(1, 28, 28), hidden=(512, 256)):
        super().__init__()
        widths = [math.prod(image_shape), *hidden]
        layers = [nn.Flatten()]
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(w_in, w_out), nn.LeakyReLU(0.2)]
        layers += [nn.Linear(widths[-1], 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x).squeeze(1)


def _dcgan_layout(image_size: int):
    """(start size, number of 2x up/down-samplings) of the DCGAN layouts: 7 -> 14 -> 28 or 4 -> 8 -> 16 -> 32."""
    if image_size not in (28, 32):
        raise ValueError(f"the DCGAN layouts are for 28x28 or 32x32 images, not {image_size}x{image_size}")
    return (7, 2) if image_size == 28 else (4, 3)


class DCGANGenerator(nn.Module):
    """Lesson 03's DCGAN generator, the reference for later lessons: z (N, latent_dim) -> (N, C, S, S) in [-1, 1].

    A 1x1 code is projected to start x start by a transposed convolution (kernel = start), then each stride-2
    transposed convolution (k=4, p=1) doubles the size: n_out = 2n. BatchNorm + ReLU after every layer but the
    last, which has a bias and tanh. Convolutions before BatchNorm have no bias (BatchNorm's beta is the bias).
    """

    def __init__(self, latent_dim: int = 64, channels: int = 1, width: int = 32, image_size: int = 28):
        super().__init__()
        start, doublings = _dcgan_layout(image_size)
        c = width * 2 ** (doublings - 1)
        layers = [nn.ConvTranspose2d(latent_dim, c, start, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
        for _ in range(doublings - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]
        self.latent_dim = latent_dim
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z.view(len(z), -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """Lesson 03's DCGAN discriminator: (N, C, S, S) -> one logit (or critic value) per image, shape (N,).

    Stride-2 convolutions (k=4, p=1) halve the size, LeakyReLU(0.2) after each, a final convolution over the
    whole end x end map gives one number. `norm` chooses what follows the hidden convolutions (never the first):
    "batch" (DCGAN), "layer" (GroupNorm with one group: per-sample, so a gradient penalty stays per-sample, as
    WGAN-GP requires), "none", or "spectral" (no normalisation layers; every convolution is spectrally normalised,
    Miyato et al. 2018).
    """

    NORMS = ("batch", "layer", "none", "spectral")

    def __init__(self, channels: int = 1, width: int = 32, image_size: int = 28, norm: str = "batch"):
        super().__init__()
        if norm not in self.NORMS:
            raise ValueError(f"norm must be one of {self.NORMS}, not {norm!r}")
        _, halvings = _dcgan_layout(image_size)
        end = image_size >> halvings
        wrap = nn.utils.parametrizations.spectral_norm if norm == "spectral" else (lambda conv: conv)
        layers = [wrap(nn.Conv2d(channels, width, 4, 2, 1)), nn.LeakyReLU(0.2)]
        c = width
        for _ in range(halvings - 1):
            layers.append(wrap(nn.Conv2d(c, 2 * c, 4, 2, 1, bias=norm != "batch")))
            if norm == "batch":
                layers.append(nn.BatchNorm2d(2 * c))
            elif norm == "layer":
                layers.append(nn.GroupNorm(1, 2 * c))
            layers.append(nn.LeakyReLU(0.2))
            c *= 2
        layers.append(wrap(nn.Conv2d(c, 1, end, 1, 0)))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x).flatten()
