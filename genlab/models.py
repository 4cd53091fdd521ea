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
