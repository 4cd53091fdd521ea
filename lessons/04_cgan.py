# %% [markdown]
# # 04 — Conditional GANs on Fashion-MNIST
#
# The GANs of lessons 02 and 03 draw *some* image: you cannot ask for a sandal. A conditional GAN takes the class
# as a second input, $G(z, y)$, and its discriminator judges *pairs*, "is this a real image **of class $y$**?",
# $D(x, y)$. In this lesson you build both conditional networks (the discriminator with the *projection* head of
# Miyato & Koyama, 2018), write the conditional training step, and measure with a Fashion-MNIST classifier whether
# the generator really obeys the label — and learn how to catch a generator or a discriminator that quietly
# ignores it.
#
# **You will be able to**
# - condition a generator on a class by concatenating a one-hot code to its noise, and a discriminator by adding
#   the label as extra input channels;
# - derive the projection discriminator $D(x, y) = \psi(\phi(x)) + \mathrm{embed}(y)^\top\phi(x)$ from the
#   decomposition of the optimal discriminator's log density ratio, and implement it;
# - write a conditional training step: which labels go where (real labels with real images, the *sampled* labels
#   with generated images in both players' steps);
# - measure *conditional accuracy* (does a classifier see the requested class?) per class, beside the real-data
#   ceiling, the chance level and the classifier FID with its real-vs-real reference;
# - diagnose the two silent failures: a generator that ignores $y$ (accuracy at chance) and a discriminator that
#   ignores $y$ (its score does not change when you swap the label of a real image).
#
# **Prerequisites**: lesson 02 (the GAN game, the non-saturating loss, the alternating step); convolutions and
# transposed convolutions (lesson 03 teaches them; here they are only used); softmax and cross-entropy.
#
# **Time budget** (whole notebook; choose with `GENLAB_PROFILE` before starting the kernel):
#
# | profile | what it trains | time |
# |---|---|---|
# | `smoke` | a few dozen steps of narrow networks: checks that everything runs; numbers are **not meaningful** | 24 s on 2 CPU cores (target ≤ 60 s) |
# | `cpu` | small DCGAN-style networks, 10,000 steps of 64 images (about 11 passes over the 60,000) | 8.1 min on 2 CPU cores (target ≤ 10 min) |
# | `gpu` | wider networks, many more steps | aims at under 10 minutes on one GPU (not yet timed) |
#
# Exercises: 4 (22 points, autograded) and 4 written questions (8 points, read by a person).

# %%
import math
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from genlab import assets, config, data, grading, metrics, viz
from genlab.grading import CheckFailed, attempt, check_close, check_param_count, check_shape, check_true, check_type
from genlab.train import History, progress, results_table

device = config.setup("04_cgan")
# One budget table for the whole lesson: nothing below picks its own sizes.
# inception_n: samples for the Inception FID of section 8 (gpu only; smoke checks the code path on 4 images).
BUDGET = config.budget({
    "smoke": dict(steps=40, batch_size=32, width=8, feature_dim=32, lr=2e-4, log_every=5, n_eval=200,
                  experiment_steps=20, n_probe=200, plot_seconds=30, inception_n=4),
    "cpu": dict(steps=10000, batch_size=64, width=32, feature_dim=128, lr=2e-4, log_every=50, n_eval=2000,
                experiment_steps=700, n_probe=1000, plot_seconds=10, inception_n=0),
    "gpu": dict(steps=15000, batch_size=128, width=64, feature_dim=256, lr=2e-4, log_every=100, n_eval=10000,
                experiment_steps=5000, n_probe=5000, plot_seconds=5, inception_n=10000),
})
LATENT_DIM = 64
NUM_CLASSES = 10
print(BUDGET)

# %% [markdown]
# ## 1. Why give the players the label?
#
# An unconditional GAN learns $p_\text{data}(x)$, a mixture of ten kinds of clothes. Its generator decides *by
# itself* which kind a code $z$ becomes, and nothing forces it to make all ten equally often (lesson 02's mode
# collapse). A conditional GAN learns the ten conditionals $p_\text{data}(x \mid y)$ at once:
#
# - **control**: you choose the class; the noise $z$ only decides the *style* (shape, thickness, contrast) within
#   it. Feed the same $z$ with ten labels and you get ten garments that share a style — the class × noise grid
#   of section 7;
# - **coverage**: the labels of the generated images are drawn by *us*, uniformly, so every class is asked for
#   10 % of the time; a generator that drops a class is caught by the discriminator, which sees real images of
#   that class paired with its label;
# - **usually quality**: each conditional $p(x\mid y)$ is simpler than the mixture, and the discriminator gets a
#   richer task ("real *and* the right class"), so its gradients say more. Class-conditional models have been at
#   the top of ImageNet generation since BigGAN (Brock et al., 2019) for this reason.
#
# The price: the label is just one more input, and a network is free to ignore an input. Both failures are silent —
# the losses look normal — so section 8 shows how to see them.
#
# ## 2. The conditional game
#
# Write $q(x, y)$ for the data distribution of (image, label) pairs and $p(x, y) = p(y)\,p_G(x \mid y)$ for the
# generator's, with $p(y)$ the label distribution we sample from (uniform). The conditional GAN plays lesson 02's
# game on pairs:
#
# $$
# \min_G \max_D\; \mathbb E_{(x, y) \sim q}\big[\log D(x, y)\big] + \mathbb E_{y \sim p(y),\, z \sim \mathcal N(0, I)}
#   \big[\log\big(1 - D(G(z, y), y)\big)\big].
# $$
#
# Lesson 02's derivation goes through pair by pair: for a fixed $G$ the best discriminator is
# $D^*(x, y) = q(x,y) / \big(q(x,y) + p(x,y)\big)$, so its **logit** is the log density ratio
#
# $$
# r^*(x, y) = \log\frac{D^*(x,y)}{1 - D^*(x,y)} = \log\frac{q(x, y)}{p(x, y)}.
# $$
#
# The losses are lesson 02's, with $D$ reading pairs: $\mathcal L_D = \operatorname{mean}\operatorname{softplus}(-\ell^\text{real})
# + \operatorname{mean}\operatorname{softplus}(\ell^\text{fake})$ and the non-saturating
# $\mathcal L_G = \operatorname{mean}\operatorname{softplus}(-\ell^\text{fake})$, where $\ell = D(x, y)$ is a logit.
#
# ## 3. How a network takes the label
#
# **The generator: concatenate a one-hot code.** With $e_y \in \{0, 1\}^{K}$ the one-hot vector of class $y$
# ($K = 10$ classes), the generator's first layer reads $h_0 = [\,z;\, e_y\,] \in \mathbb R^{d + K}$. A linear layer
# on it is $W_z z + W_y e_y + b = W_z z + (b + w_y)$: **the label adds a learned, class-specific bias** $w_y$ (column
# $y$ of $W_y$) to the first layer. An embedding table `nn.Embedding(K, m)` concatenated instead is the same thing
# with a learned code per class; one-hot is the simplest form and the one this lesson uses.
#
# **The discriminator, version 1: concatenate as channels.** Broadcast $e_y$ to $K$ constant feature maps of the
# image's size and stack them onto the image: the input has $1 + K$ channels. The first convolution then adds a
# class-specific constant (away from the borders) to its output — again a class-dependent bias, which the rest of
# the network may or may not learn to use. Nothing in this design says *how* the label should interact with the
# image's features.
#
# **The discriminator, version 2: projection.** Miyato & Koyama (2018) ask what form the optimal logit has.
# Decompose the log density ratio with $q(x, y) = q(x)\,q(y\mid x)$ and $p(x, y) = p(x)\,p(y \mid x)$:
#
# $$
# r^*(x, y) = \underbrace{\log\frac{q(y \mid x)}{p(y \mid x)}}_{\text{does the label fit the image?}}
#   + \underbrace{\log\frac{q(x)}{p(x)}}_{\text{does the image look real?}}.
# $$
#
# Now model each conditional as a softmax classifier on shared features $\phi(x) \in \mathbb R^m$, with one weight
# vector per class: $q(y = c \mid x) = \exp(v^q_c{}^\top\phi(x)) / Z^q(x)$ and
# $p(y = c \mid x) = \exp(v^p_c{}^\top\phi(x)) / Z^p(x)$, where $Z(x) = \sum_{c'}\exp(v_{c'}^\top\phi(x))$ normalises.
# Then
#
# $$
# \log\frac{q(y\mid x)}{p(y\mid x)} = \big(v^q_y - v^p_y\big)^\top\phi(x) - \log\frac{Z^q(x)}{Z^p(x)}.
# $$
#
# The last term, like $\log q(x)/p(x)$, depends on $x$ only: both are absorbed by one scalar function of the
# features, $\psi(\phi(x))$. Call $\mathrm{embed}(y) = v^q_y - v^p_y$ (one learned vector per class, an
# `nn.Embedding(K, m)`) and the optimal logit takes the form
#
# $$
# D(x, y) = \psi\big(\phi(x)\big) + \mathrm{embed}(y)^\top\phi(x).
# $$
#
# The label enters through an **inner product with the image's features**: the discriminator measures how well
# the image's features align with the class's direction. The label term is there by construction, and its gradient
# is not zero from the first step (with respect to $\mathrm{embed}(y)$ it is $\phi(x)$ itself), so D starts using
# the label at once; and it needs no extra input channels. A side effect we use later: for a fixed image,
# $\arg\max_y D(x, y) = \arg\max_y \mathrm{embed}(y)^\top\phi(x)$ is a classifier hidden inside the discriminator.
#
# ## 4. The data
#
# Fashion-MNIST: 60,000 training images of 28×28 grey clothes in 10 balanced classes, held on the training device
# as one tensor and scaled to $[-1, 1]$ (the range of $G$'s tanh). Each batch brings images *and* labels.

# %%
train = data.load("FashionMNIST", "train")
test = data.load("FashionMNIST", "test")
CLASS_NAMES = train.classes
print(train.source)
train_images = (train.images * 2 - 1).to(device)  # x in [-1, 1]
train_labels = train.labels.to(device)
print(f"train images {tuple(train_images.shape)}, labels {tuple(train_labels.shape)}, "
      f"per class {torch.bincount(train.labels, minlength=NUM_CLASSES).tolist()}")
examples = torch.cat([train.images[train.labels == c][:8] for c in range(NUM_CLASSES)])
fig = viz.show_images(examples, nrow=8, title="real Fashion-MNIST, one row per class")
for row, name in enumerate(CLASS_NAMES):
    fig.axes[0].text(-3, 14 + 29 * row, name, ha="right", va="center", fontsize=8)
plt.show()

# %% [markdown]
# ## 5. Given: sampling the generator's inputs, and the losses
#
# The generator's inputs are noise **and labels**, both random, both drawn from a `torch.Generator` so that every
# check below is repeatable: first $z \sim \mathcal N(0, I)$, then labels uniform over the $K$ classes, on the CPU,
# then moved to the device. Use this function wherever you need fresh inputs for $G$. The losses are lesson 02's.

# %%
def sample_inputs(n, latent_dim, device, generator=None, num_classes=NUM_CLASSES):
    """z ~ N(0, I) of shape (n, latent_dim) and labels ~ Uniform{0..num_classes-1} of shape (n,), on `device`."""
    z = torch.randn(n, latent_dim, generator=generator)                 # z ~ N(0, I)
    labels = torch.randint(num_classes, (n,), generator=generator)      # y ~ p(y), uniform
    return z.to(device), labels.to(device)


def discriminator_loss(real_logits, fake_logits):
    """L_D = mean softplus(-l_real) + mean softplus(l_fake) = BCE(real, 1) + BCE(fake, 0)."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits):
    """Non-saturating L_G = mean softplus(-l_fake) = -mean log D(G(z, y), y)."""
    return F.softplus(-fake_logits).mean()


# %% [markdown]
# ## 6. Exercises
#
# ### Exercise 1 — the conditional generator (4 points)
#
# Write `ConditionalGenerator(latent_dim, num_classes, width)`, a small DCGAN-style generator whose forward takes
# noise `z` of shape `(N, latent_dim)` and integer labels `y` of shape `(N,)` and returns images `(N, 1, 28, 28)` in
# $[-1, 1]$. Build exactly this, in this order (the tests count parameters and, in hidden checks, copy weights
# between your network and ours, which needs the same layout):
#
# 1. $h_0 = [\,z;\ e_y\,]$: `torch.cat([z, F.one_hot(y, num_classes).to(z.dtype)], dim=1)` — **noise first**, then
#    the one-hot code, of width exactly `num_classes` whatever labels the batch holds;
# 2. an attribute `self.project = nn.Linear(latent_dim + num_classes, 2 * width * 7 * 7)`, its output viewed as
#    `(N, 2 * width, 7, 7)`;
# 3. an attribute `self.body = nn.Sequential(...)` with, in order: `BatchNorm2d(2 * width)`, `ReLU`,
#    `ConvTranspose2d(2 * width, width, 4, stride=2, padding=1)` (7 → 14), `BatchNorm2d(width)`, `ReLU`,
#    `ConvTranspose2d(width, 1, 4, stride=2, padding=1)` (14 → 28), `Tanh`.
#
# (Transposed-convolution arithmetic: output $= (\text{in} - 1)\cdot\text{stride} - 2\cdot\text{padding} +
# \text{kernel} = 2\cdot\text{in}$ here.) Store `latent_dim`, `num_classes` and `width` as attributes too.

# %% nbgrader={"grade_id": "generator", "solution": true}
class ConditionalGenerator(nn.Module):
    """G(z, y): noise (N, latent_dim) and labels (N,) -> images (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, latent_dim=LATENT_DIM, num_classes=NUM_CLASSES, width=32):
        super().__init__()
        ### BEGIN SOLUTION
        self.latent_dim, self.num_classes, self.width = latent_dim, num_classes, width
        # h_0 = [z; e_y] -> 2w feature maps of 7x7
        self.project = nn.Linear(latent_dim + num_classes, 2 * width * 7 * 7)
        self.body = nn.Sequential(
            nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),  # 7 -> 14
            nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1),          # 14 -> 28
            nn.Tanh(),                                                     # images in [-1, 1]
        )
        ### END SOLUTION

    def forward(self, z, y):
        ### BEGIN SOLUTION
        one_hot = F.one_hot(y, self.num_classes).to(z.dtype)   # e_y, width K for every batch
        h = torch.cat([z, one_hot], dim=1)                     # h_0 = [z; e_y]
        h = self.project(h).view(len(z), 2 * self.width, 7, 7)
        return self.body(h)
        ### END SOLUTION


# %% nbgrader={"grade_id": "test_generator_shapes", "points": 2}
### BEGIN HIDDEN TESTS
class _RefGenerator(nn.Module):
    def __init__(self, latent_dim=LATENT_DIM, num_classes=NUM_CLASSES, width=32):
        super().__init__()
        self.latent_dim, self.num_classes, self.width = latent_dim, num_classes, width
        self.project = nn.Linear(latent_dim + num_classes, 2 * width * 49)
        self.body = nn.Sequential(nn.BatchNorm2d(2 * width), nn.ReLU(), nn.ConvTranspose2d(2 * width, width, 4, 2, 1),
                                  nn.BatchNorm2d(width), nn.ReLU(), nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())

    def forward(self, z, y):
        h = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        return self.body(self.project(h).view(len(z), 2 * self.width, 7, 7))


grading.register_reference(ConditionalGenerator=_RefGenerator)


def _copy_by_order(source, target):
    """Load source's weights into target if their state dicts have the same shapes in the same order (also used by
    the discriminator's hidden tests)."""
    src, dst = list(source.state_dict().items()), list(target.state_dict().items())
    if [tuple(v.shape) for _, v in src] != [tuple(v.shape) for _, v in dst]:
        return False
    target.load_state_dict({k: v for (k, _), (_, v) in zip(dst, src)})
    return True
### END HIDDEN TESTS
torch.manual_seed(0)
G_t = attempt(ConditionalGenerator, 8, 10, 4, what="ConditionalGenerator(8, 10, 4)")
check_param_count(G_t, 8053, "ConditionalGenerator(latent_dim=8, num_classes=10, width=4)",
                  hint="Count: Linear(8 + 10, 392), BatchNorm2d(8), ConvTranspose2d(8, 4, 4), BatchNorm2d(4), "
                       "ConvTranspose2d(4, 1, 4). The Linear layer reads [z; one-hot], so its input is latent_dim + "
                       "num_classes wide.")
_z = torch.randn(6, 8, generator=torch.Generator().manual_seed(1))
_y = torch.tensor([0, 1, 2, 3, 1, 0])  # a batch without classes 4..9
try:
    _out = attempt(G_t, _z, _y, what="G(z, y)")
except CheckFailed as error:
    raise CheckFailed(f"{error}\nHint: this batch holds only classes 0..3. F.one_hot(y) without num_classes is only "
                      "max(y) + 1 wide; write F.one_hot(y, self.num_classes).") from None
check_shape(_out, (6, 1, 28, 28), "G(z, y) for 6 codes")
check_true(_out.abs().max() <= 1, f"G's images reach {_out.abs().max():.3f}; they must lie in [-1, 1] (end with tanh).")
check_true(_out.min() < 0 < _out.max(), "G's images should use both signs of [-1, 1] (tanh, not sigmoid).")
print("ConditionalGenerator: visible shape checks passed")
### BEGIN HIDDEN TESTS
torch.manual_seed(1)
_big = ConditionalGenerator(64, 10, 32)
check_param_count(_big, 268705, "ConditionalGenerator(64, 10, 32)")
check_true(len([m for m in _big.modules() if isinstance(m, nn.BatchNorm2d)]) == 2, "G needs two BatchNorm2d layers.")
check_true(len([m for m in _big.modules() if isinstance(m, nn.ConvTranspose2d)]) == 2, "G needs two ConvTranspose2d.")
check_shape(_big(torch.randn(3, 64), torch.tensor([9, 9, 9])), (3, 1, 28, 28), "G(z, y) with only class 9")
check_shape(ConditionalGenerator(5, 3, 2)(torch.randn(2, 5), torch.tensor([2, 0])), (2, 1, 28, 28),
            "ConditionalGenerator(5, 3, 2)(z, y)")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_generator_label", "points": 2}
torch.manual_seed(0)
G_t = ConditionalGenerator(8, 10, 4).eval()
_z = torch.randn(10, 8, generator=torch.Generator().manual_seed(2))
with torch.no_grad():
    _a = attempt(G_t, _z, torch.zeros(10, dtype=torch.long), what="G(z, y)")
    _b = attempt(G_t, _z, torch.full((10,), 7), what="G(z, y)")
check_true((_a - _b).abs().max() > 1e-4, "G(z, 0) and G(z, 7) are identical: the generator ignores its label. "
           "Concatenate the one-hot code to z before the first layer.")
G_t.train()
G_t.zero_grad()
attempt(G_t, _z, torch.arange(10), what="G(z, y)").pow(2).mean().backward()
grading.check_all_parameters_get_gradients(G_t, "ConditionalGenerator")
print("ConditionalGenerator: visible label and gradient checks passed")
### BEGIN HIDDEN TESTS
torch.manual_seed(3)
_ref, _stu = _RefGenerator(8, 10, 4), ConditionalGenerator(8, 10, 4)
check_true(_copy_by_order(_ref, _stu), "G's layers are not in the order the exercise gives (Linear, BN, ReLU, "
           "ConvT, BN, ReLU, ConvT, Tanh).")
_z = torch.randn(12, 8, generator=torch.Generator().manual_seed(4))
_y = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3, 3])
check_close(_stu(_z, _y), _ref(_z, _y), "G(z, y) in training mode with the reference's weights", atol=1e-5,
            hint="Noise first, then the one-hot code; ReLU in the body; tanh at the end.")
_stu.eval(), _ref.eval()
check_close(_stu(_z, _y), _ref(_z, _y), "G(z, y) in eval mode with the reference's weights", atol=1e-5)
_stu.train(), _ref.train()
grading.check_gradients(lambda z: _stu(z, _y), lambda z: _ref(z, _y), {"z": _z}, "G(z, y)")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 — the projection discriminator (4 points)
#
# Write `ProjectionDiscriminator(num_classes, width, feature_dim)`: forward takes images `(N, 1, 28, 28)` and
# labels `(N,)` and returns **one logit per image, shape `(N,)`** (no sigmoid: the losses take logits):
#
# $$D(x, y) = \psi\big(\phi(x)\big) + \mathrm{embed}(y)^\top\phi(x).$$
#
# Attributes, in this order:
# - `self.phi` $=\phi$: `nn.Sequential` of `Conv2d(1, width, 4, stride=2, padding=1)` (28 → 14), `LeakyReLU(0.2)`,
#   `Conv2d(width, 2 * width, 4, stride=2, padding=1)` (14 → 7), `LeakyReLU(0.2)`, `Flatten()`,
#   `Linear(2 * width * 7 * 7, feature_dim)`, `LeakyReLU(0.2)`: features of shape `(N, feature_dim)`;
# - `self.psi` $=\psi$: `Linear(feature_dim, 1)`, the label-free part (its output squeezed to `(N,)`);
# - `self.embed`: `nn.Embedding(num_classes, feature_dim)`, one vector per class; the projection term is the
#   inner product of `self.embed(y)` with the features, one number per image (a sum over the feature dimension).
#
# No BatchNorm in this discriminator: each image's score must depend on that image alone, which the label-swap
# diagnostic of section 8 relies on.

# %% nbgrader={"grade_id": "discriminator", "solution": true}
class ProjectionDiscriminator(nn.Module):
    """D(x, y) = psi(phi(x)) + embed(y) . phi(x): images (N, 1, 28, 28) and labels (N,) -> logits (N,)."""

    def __init__(self, num_classes=NUM_CLASSES, width=32, feature_dim=128):
        super().__init__()
        ### BEGIN SOLUTION
        self.phi = nn.Sequential(                                     # phi(x): shared image features
            nn.Conv2d(1, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),            # 28 -> 14
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),    # 14 -> 7
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, feature_dim), nn.LeakyReLU(0.2),
        )
        self.psi = nn.Linear(feature_dim, 1)                  # psi: log q(x)/p(x) and the normalisers
        self.embed = nn.Embedding(num_classes, feature_dim)   # embed(y) = v^q_y - v^p_y
        ### END SOLUTION

    def forward(self, x, y):
        ### BEGIN SOLUTION
        features = self.phi(x)                                   # phi(x), (N, m)
        projection = (self.embed(y) * features).sum(dim=1)       # embed(y)^T phi(x), (N,)
        return self.psi(features).squeeze(1) + projection        # psi(phi(x)) + embed(y)^T phi(x)
        ### END SOLUTION


# %% nbgrader={"grade_id": "test_discriminator_shapes", "points": 2}
### BEGIN HIDDEN TESTS
class _RefDiscriminator(nn.Module):
    def __init__(self, num_classes=NUM_CLASSES, width=32, feature_dim=128):
        super().__init__()
        self.phi = nn.Sequential(nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(width, 2 * width, 4, 2, 1),
                                 nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(2 * width * 49, feature_dim),
                                 nn.LeakyReLU(0.2))
        self.psi = nn.Linear(feature_dim, 1)
        self.embed = nn.Embedding(num_classes, feature_dim)

    def forward(self, x, y):
        h = self.phi(x)
        return self.psi(h)[:, 0] + (self.embed(y) * h).sum(1)


grading.register_reference(ProjectionDiscriminator=_RefDiscriminator)
### END HIDDEN TESTS
torch.manual_seed(0)
D_t = attempt(ProjectionDiscriminator, 10, 4, 16, what="ProjectionDiscriminator(10, 4, 16)")
for _name in ("phi", "psi", "embed"):
    check_true(hasattr(D_t, _name), f"ProjectionDiscriminator needs an attribute self.{_name} (see the exercise).")
check_param_count(D_t, 7053, "ProjectionDiscriminator(num_classes=10, width=4, feature_dim=16)",
                  hint="Count: Conv2d(1, 4, 4), Conv2d(4, 8, 4), Linear(392, 16), Linear(16, 1), Embedding(10, 16).")
_x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
_y = torch.tensor([0, 1, 2, 3, 4, 5])
_out = attempt(D_t, _x, _y, what="D(x, y)")
check_shape(_out, (6,), "D(x, y) for 6 images (one logit per image; squeeze psi's output from (N, 1) to (N,) "
            "before adding the projection, or (N, 1) + (N,) broadcasts to (N, N))")
_features = attempt(D_t.phi, _x, what="D.phi(x)")
check_shape(_features, (6, 16), "D.phi(x), the features")
print("ProjectionDiscriminator: visible shape checks passed")
### BEGIN HIDDEN TESTS
torch.manual_seed(1)
check_param_count(ProjectionDiscriminator(10, 32, 128), 436321, "ProjectionDiscriminator(10, 32, 128)")
check_true(not any(isinstance(m, nn.BatchNorm2d) for m in D_t.modules()), "no BatchNorm in this discriminator.")
check_true(isinstance(D_t.embed, nn.Embedding) and D_t.embed.weight.shape == (10, 16),
           "self.embed should be nn.Embedding(num_classes, feature_dim).")
check_shape(ProjectionDiscriminator(3, 2, 5)(torch.zeros(2, 1, 28, 28), torch.tensor([2, 1])), (2,),
            "ProjectionDiscriminator(3, 2, 5)(x, y)")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_discriminator_projection", "points": 2}
torch.manual_seed(0)
D_t = ProjectionDiscriminator(10, 4, 16)
_x = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(2)) * 2 - 1
_y1, _y2 = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7]), torch.tensor([9, 8, 7, 6, 5, 4, 3, 2])
with torch.no_grad():
    _gap = attempt(D_t, _x, _y1, what="D(x, y)") - attempt(D_t, _x, _y2, what="D(x, y)")
    _expected_gap = ((D_t.embed(_y1) - D_t.embed(_y2)) * D_t.phi(_x)).sum(1)  # psi(phi(x)) cancels
check_true(_gap.abs().max() > 1e-6, "D(x, y) does not change with y: the projection term embed(y)·phi(x) is missing.")
check_true(not torch.allclose(_gap, -_expected_gap, atol=1e-6),
           "D(x, y1) - D(x, y2) has the wrong sign: the projection term is ADDED, D = psi(phi) + embed(y)·phi(x).")
check_close(_gap, _expected_gap, "D(x, y1) - D(x, y2), which must equal (embed(y1) - embed(y2))·phi(x)",
            hint="The label enters only through embed(y)·phi(x): a sum over the feature dimension (dim=1), "
                 "added to psi(phi(x)).")
D_t.zero_grad()
D_t(_x, _y1).pow(2).mean().backward()
grading.check_all_parameters_get_gradients(D_t, "ProjectionDiscriminator")
print("ProjectionDiscriminator: visible projection and gradient checks passed")
### BEGIN HIDDEN TESTS
torch.manual_seed(3)
_ref, _stu = _RefDiscriminator(10, 4, 16), ProjectionDiscriminator(10, 4, 16)
check_true(_copy_by_order(_ref, _stu), "D's layers are not in the order the exercise gives (phi, psi, embed).")
check_close(_stu(_x, _y1), _ref(_x, _y1), "D(x, y) with the reference's weights", atol=1e-5,
            hint="LeakyReLU(0.2) after each layer of phi; no sigmoid at the end; psi's output plus the projection.")
grading.check_gradients(lambda x: _stu(x, _y1), lambda x: _ref(x, _y1), {"x": _x}, "D(x, y)")
### END HIDDEN TESTS

# %% [markdown]
# For the comparison in section 9 here is version 1, the **concatenation discriminator**: the same $\phi$ and a
# linear head, but the label enters as $K$ constant input channels (given, not an exercise).

# %%
class ConcatDiscriminator(nn.Module):
    """D(x, y) with the one-hot label broadcast to num_classes constant channels stacked onto the image."""

    def __init__(self, num_classes=NUM_CLASSES, width=32, feature_dim=128):
        super().__init__()
        self.num_classes = num_classes
        self.phi = nn.Sequential(
            nn.Conv2d(1 + num_classes, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),   # 28 -> 14
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),         # 14 -> 7
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, feature_dim), nn.LeakyReLU(0.2),
        )
        self.head = nn.Linear(feature_dim, 1)

    def forward(self, x, y):
        maps = F.one_hot(y, self.num_classes).to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return self.head(self.phi(torch.cat([x, maps], dim=1))).squeeze(1)   # channels: [x; e_y broadcast]


# %% [markdown]
# ### Exercise 3 — the conditional training step (10 points)
#
# Write `conditional_train_step(G, D, opt_g, opt_d, real, real_labels, latent_dim, generator=None)`. It is lesson
# 02's alternating step with labels everywhere:
# 1. `G.train()`, `D.train()`;
# 2. `z, fake_labels = sample_inputs(len(real), latent_dim, real.device, generator)` (one draw per step) and
#    `fake = G(z, fake_labels)`;
# 3. **D step**: `real_logits = D(real, real_labels)`, `fake_logits = D(fake.detach(), fake_labels)` — each image
#    with *its own* label: the real images with the dataset's labels, the generated ones with the labels they were
#    generated for; `loss_d = discriminator_loss(real_logits, fake_logits)`; then `opt_d.zero_grad()`,
#    `loss_d.backward()`, `opt_d.step()`;
# 4. **the label gap**, a live diagnostic of a D that ignores labels: before `opt_d.step()`, under
#    `torch.no_grad()`, the mean over the real batch of `real_logits - D(real, (real_labels + 1) % NUM_CLASSES)`:
#    how much more D believes a real image with its true label than with a wrong one (0 for a D that ignores $y$);
# 5. **G step**: `loss_g = generator_loss(D(fake, fake_labels))` through the updated D, with the **same fake
#    labels** the images were generated for; `opt_g.zero_grad()`, `loss_g.backward()`, `opt_g.step()`;
# 6. return a dict of Python floats: `loss_d`, `loss_g`, `d_real` and `d_fake` (the mean of $D = \sigma(\ell)$ over
#    the D step's `real_logits` and `fake_logits`), and `label_gap`.
#
# As in lesson 02, one batch of fakes serves both steps (Goodfellow et al.'s Algorithm 1 draws fresh noise for the G
# step; both are correct, and this lesson asks for one batch so the checks can compare your numbers exactly).
# The tests use tiny stand-in networks, not your Exercise 1–2 classes, so a mistake there costs nothing here.

# %% nbgrader={"grade_id": "train_step", "solution": true}
def conditional_train_step(G, D, opt_g, opt_d, real, real_labels, latent_dim, generator=None):
    """One conditional D step, then one G step; returns loss_d, loss_g, d_real, d_fake, label_gap as floats."""
    ### BEGIN SOLUTION
    G.train()
    D.train()
    z, fake_labels = sample_inputs(len(real), latent_dim, real.device, generator)   # z ~ N(0, I), y ~ p(y)
    fake = G(z, fake_labels)                                                         # x_fake = G(z, y)

    # D step: each image with its own label; fake.detach() keeps G out of this step
    real_logits = D(real, real_labels)
    fake_logits = D(fake.detach(), fake_labels)
    loss_d = discriminator_loss(real_logits, fake_logits)
    opt_d.zero_grad()
    loss_d.backward()
    with torch.no_grad():  # does D care about the label? D(x, y_true) - D(x, y_wrong) on real images
        wrong_labels = (real_labels + 1) % NUM_CLASSES
        label_gap = (real_logits - D(real, wrong_labels)).mean()
    opt_d.step()

    # G step through the updated D, with the labels the fakes were made for
    loss_g = generator_loss(D(fake, fake_labels))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item(),
            "d_real": torch.sigmoid(real_logits).mean().item(),    # mean D(x, y)
            "d_fake": torch.sigmoid(fake_logits).mean().item(),    # mean D(G(z, y), y)
            "label_gap": label_gap.item()}
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_step_labels", "points": 3}
class _TinyG(nn.Module):
    """A stand-in conditional generator: MLP on [z; one-hot(y)] -> (1, 4, 4) images."""

    def __init__(self, latent_dim=6):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim + 10, 16), nn.LeakyReLU(0.2), nn.Linear(16, 16), nn.Tanh())

    def forward(self, z, y):
        return self.net(torch.cat([z, F.one_hot(y, 10).float()], 1)).view(len(z), 1, 4, 4)


class _TinyD(nn.Module):
    """A stand-in conditional discriminator: MLP on [flattened image; one-hot(y)] -> one logit."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16 + 10, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))

    def forward(self, x, y):
        return self.net(torch.cat([x.flatten(1), F.one_hot(y, 10).float()], 1)).squeeze(1)


class _Spy(nn.Module):
    """Wraps a network and records what each call received: which images, which labels, with or without a graph."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.calls = inner, []

    def forward(self, x, y):
        self.calls.append({"x": x.detach().clone(), "y": y.clone(), "graph": x.requires_grad or x.grad_fn is not None})
        return self.inner(x, y)


def _tiny_setup(seed):
    torch.manual_seed(seed)
    G, D = _TinyG(), _TinyD()
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-2, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.999))
    return G, D, opt_g, opt_d


_real = torch.rand(12, 1, 4, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1
_real_labels = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
_, _fake_labels = sample_inputs(12, 6, "cpu", torch.Generator().manual_seed(1))  # what the step must draw
_G, _D, _opt_g, _opt_d = _tiny_setup(0)
_spy_g, _spy_d = _Spy(_G), _Spy(_D)
_stats = attempt(conditional_train_step, _spy_g, _spy_d, _opt_g, _opt_d, _real, _real_labels, 6,
                 torch.Generator().manual_seed(1), what="conditional_train_step")
check_type(_stats, dict, "conditional_train_step's result")
check_true(set(_stats) == {"loss_d", "loss_g", "d_real", "d_fake", "label_gap"},
           f"return the keys loss_d, loss_g, d_real, d_fake, label_gap; got {sorted(_stats)}.")
check_true(len(_spy_g.calls) == 1, f"G was called {len(_spy_g.calls)} times; call it once, on one sampled batch.")
check_true(torch.equal(_spy_g.calls[0]["y"], _fake_labels),
           "G did not get the labels drawn by sample_inputs(len(real), latent_dim, real.device, generator).")
_real_calls = [c for c in _spy_d.calls if torch.equal(c["x"], _real)]
_fake_calls = [c for c in _spy_d.calls if not torch.equal(c["x"], _real)]
check_true(any(torch.equal(c["y"], _real_labels) for c in _real_calls),
           "D never saw the real batch with the real labels: the D step needs D(real, real_labels).")
check_true(len(_fake_calls) == 2, f"D saw generated images {len(_fake_calls)} times; expected twice (D step, G step).")
check_true(not any(torch.equal(c["y"], _real_labels) for c in _fake_calls),
           "D saw the generated images paired with the REAL labels; each fake goes with the label it was generated "
           "for (fake_labels), in the D step and in the G step.")
check_true(all(torch.equal(c["y"], _fake_labels) for c in _fake_calls),
           "D saw the generated images with labels other than fake_labels (fresh labels drawn for one step?).")
print("conditional_train_step: visible label checks passed")
### BEGIN HIDDEN TESTS
check_true(torch.equal(_real_calls[0]["y"], _real_labels), "the first D call on real images should use real_labels.")
check_true(sum(torch.equal(c["y"], (_real_labels + 1) % 10) for c in _real_calls) == 1,
           "the label gap needs exactly one D call on the real batch with (real_labels + 1) % NUM_CLASSES.")
check_true(len(_real_calls) == 2, f"D saw the real batch {len(_real_calls)} times; expected 2 (logits and label gap).")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_step_detach", "points": 3}
_G, _D, _opt_g, _opt_d = _tiny_setup(1)
_G.eval()
_D.eval()
_g_start = [p.detach().clone() for p in _G.parameters()]
_seen = {"d_steps": 0, "g_steps": 0}


def _before_d_step(optimizer, args, kwargs):
    _seen["d_steps"] += 1
    _seen["d_train_mode"] = _D.training
    _seen["g_grad_in_d_step"] = any(p.grad is not None and p.grad.abs().sum() > 0 for p in _G.parameters())
    _seen["g_changed_before_d_step"] = any(not torch.equal(a, b) for a, b in zip(_g_start, _G.parameters()))


def _after_d_step(optimizer, args, kwargs):
    _seen["d_after_d_step"] = [p.detach().clone() for p in _D.parameters()]


def _before_g_step(optimizer, args, kwargs):
    _seen["g_steps"] += 1
    _seen["g_train_mode"] = _G.training


_hooks = [_opt_d.register_step_pre_hook(_before_d_step), _opt_d.register_step_post_hook(_after_d_step),
          _opt_g.register_step_pre_hook(_before_g_step)]
try:
    attempt(conditional_train_step, _G, _D, _opt_g, _opt_d, _real, _real_labels, 6, torch.Generator().manual_seed(2),
            what="conditional_train_step")
finally:
    for _hook in _hooks:
        _hook.remove()
check_true(_seen["d_steps"] == 1, f"opt_d.step() ran {_seen['d_steps']} times in one step; it should run once "
           "(the G step steps only opt_g).")
check_true(_seen["g_steps"] == 1, f"opt_g.step() ran {_seen['g_steps']} times in one step; it should run once.")
check_true(not _seen["g_changed_before_d_step"], "G changed before the D step; the D step comes first.")
check_true(not _seen["g_grad_in_d_step"], "the D loss sent gradients into G: use fake.detach() in the D step.")
check_true(all(torch.equal(a, b) for a, b in zip(_seen["d_after_d_step"], _D.parameters())),
           "D's parameters changed after the D step: the G step must not update D.")
check_true(any(not torch.equal(a, b) for a, b in zip(_g_start, _G.parameters())),
           "G's parameters did not change: the G step needs a gradient from D(fake, fake_labels) into G "
           "(no .detach() there) and opt_g.step().")
check_true(_seen["d_train_mode"] and _seen["g_train_mode"], "both networks must be in training mode "
           "(G.train(), D.train() at the start of the step).")
print("conditional_train_step: visible detach and order checks passed")

# %% nbgrader={"grade_id": "test_step_zero_grad", "points": 2}
_G, _D, _opt_g, _opt_d = _tiny_setup(2)
_largest = {}
for _net in (_G, _D):
    for _p in _net.parameters():
        _p.grad = torch.full_like(_p, 1e6)  # stale gradients, as a previous step would leave them


def _record(name, net):
    def hook(optimizer, args, kwargs):
        _largest[name] = max(p.grad.abs().max().item() for p in net.parameters() if p.grad is not None)
    return hook


_hooks = [_opt_d.register_step_pre_hook(_record("D", _D)), _opt_g.register_step_pre_hook(_record("G", _G))]
try:
    attempt(conditional_train_step, _G, _D, _opt_g, _opt_d, _real, _real_labels, 6, torch.Generator().manual_seed(3),
            what="conditional_train_step")
finally:
    for _hook in _hooks:
        _hook.remove()
check_true(_largest.get("D", 0) < 1e3, "D's gradients at opt_d.step() still hold the previous step's: call "
           "opt_d.zero_grad() before loss_d.backward().")
check_true(_largest.get("G", 0) < 1e3, "G's gradients at opt_g.step() still hold the previous step's: call "
           "opt_g.zero_grad() before loss_g.backward().")
print("conditional_train_step: visible zero_grad checks passed")
### BEGIN HIDDEN TESTS
def _ref_step(G, D, opt_g, opt_d, real, real_labels, latent_dim, generator=None):
    G.train()
    D.train()
    z = torch.randn(len(real), latent_dim, generator=generator)
    y = torch.randint(NUM_CLASSES, (len(real),), generator=generator)
    fake = G(z, y)
    real_logits, fake_logits = D(real, real_labels), D(fake.detach(), y)
    loss_d = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    opt_d.zero_grad()
    loss_d.backward()
    with torch.no_grad():
        gap = (real_logits - D(real, (real_labels + 1) % NUM_CLASSES)).mean()
    opt_d.step()
    loss_g = F.softplus(-D(fake, y)).mean()
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "d_real": torch.sigmoid(real_logits).mean().item(),
            "d_fake": torch.sigmoid(fake_logits).mean().item(), "label_gap": gap.item()}

_s, _r = _tiny_setup(4), _tiny_setup(4)
_gen_s, _gen_r = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
for _step in range(3):
    conditional_train_step(*_s, _real, _real_labels, 6, _gen_s)
    _ref_step(*_r, _real, _real_labels, 6, _gen_r)
for _a, _b in zip(list(_s[0].parameters()) + list(_s[1].parameters()), list(_r[0].parameters()) + list(_r[1].parameters())):
    check_close(_a, _b, "parameters after 3 steps", atol=1e-5,
                hint="zero_grad, backward, step, for D then for G; one sampled batch per step.")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_step_statistics", "points": 2}
_G, _D, _opt_g, _opt_d = _tiny_setup(3)
_stats = attempt(conditional_train_step, _G, _D, _opt_g, _opt_d, _real, _real_labels, 6,
                 torch.Generator().manual_seed(4), what="conditional_train_step")
for _key, _value in _stats.items():
    check_type(_value, float, f"conditional_train_step(...)['{_key}'] (use .item())")
# the reference's statistics for this seeded step on the stand-in networks
_expected = {"loss_d": 1.3984177112579346, "loss_g": 0.6830907464027405, "d_real": 0.5217230916023254,
             "d_fake": 0.525174081325531, "label_gap": 0.0035452593583613634}
_hints = {"loss_d": "L_D = mean softplus(-real_logits) + mean softplus(fake_logits), before any update.",
          "loss_g": "L_G through the UPDATED D, with the fake labels.",
          "d_real": "the mean of sigmoid(real_logits): a probability, not a logit.",
          "d_fake": "the mean of sigmoid(fake_logits) from the D step (not the G step's logits).",
          "label_gap": "mean(real_logits - D(real, (real_labels + 1) % NUM_CLASSES)), before opt_d.step()."}
for _key, _value in _expected.items():
    check_close(_stats[_key], _value, f"{_key} after one seeded step", atol=1e-5, hint=_hints[_key])
print("conditional_train_step: visible statistics checks passed")
### BEGIN HIDDEN TESTS
_s, _r = _tiny_setup(6), _tiny_setup(6)
_gen_s, _gen_r = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
for _step in range(3):
    _out = conditional_train_step(*_s, _real, _real_labels, 6, _gen_s)
    _want = _ref_step(*_r, _real, _real_labels, 6, _gen_r)
    for _key in _want:
        check_close(_out[_key], _want[_key], f"{_key} at step {_step + 1}", atol=1e-5, hint=_hints[_key])
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4 — conditional accuracy (4 points)
#
# Does the generator obey the label? Show its images to a classifier and count how often the classifier sees the
# class that was **requested**. Write `conditional_accuracy(classifier, images01, requested_labels)`:
# - `images01`: `(N, 1, 28, 28)` in $[0, 1]$ (the classifier's input range; it may sit on another device than the
#   images: move each chunk to the classifier's device, `next(classifier.parameters()).device`);
# - predicted class = the argmax of the classifier's logits over the **class** dimension, in chunks of 500 images
#   under `torch.no_grad()`;
# - return `{"accuracy": float, "per_class": tensor}`: `accuracy` is the fraction of all $N$ images whose predicted
#   class equals the requested one; `per_class[c]` (shape `(NUM_CLASSES,)`, float, on the CPU) is that fraction among
#   the images requested as class $c$, and `nan` for a class never requested.
#
# Note that `accuracy` is a mean over images, not the mean of `per_class` (they differ when the classes were not
# requested equally often).

# %% nbgrader={"grade_id": "conditional_accuracy", "solution": true}
def conditional_accuracy(classifier, images01, requested_labels, batch=500):
    """Agreement of the classifier's predictions with the requested classes: overall and per requested class."""
    ### BEGIN SOLUTION
    classifier_device = next(classifier.parameters()).device
    with torch.no_grad():
        predicted = torch.cat([classifier(chunk.to(classifier_device)).argmax(dim=1).cpu()
                               for chunk in images01.split(batch)])
    requested = requested_labels.cpu()
    correct = (predicted == requested).float()                      # 1 where the classifier sees the request
    per_class = torch.full((NUM_CLASSES,), float("nan"))
    for c in range(NUM_CLASSES):
        asked = requested == c
        if asked.any():
            per_class[c] = correct[asked].mean()                    # accuracy among images requested as c
    return {"accuracy": correct.mean().item(), "per_class": per_class}
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_conditional_accuracy", "points": 2}
class _StubClassifier(nn.Module):
    """Predicts class floor(10 * top-left pixel): a classifier whose answers we know."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(5.0))

    def forward(self, x):
        predicted = (x[:, 0, 0, 0] * 10).floor().clamp(0, 9).long()
        return F.one_hot(predicted, 10).float() * self.scale


_stub = _StubClassifier()
# 15 images whose classes the stub sees (_predicted); the requests agree on 10 of them; 7 requests are for class 3
_predicted = torch.tensor([3, 3, 3, 3, 1, 0, 3, 5, 5, 2, 7, 7, 8, 0, 3])
_requested = torch.tensor([3, 3, 3, 0, 1, 1, 3, 5, 3, 3, 7, 9, 8, 0, 3])
_images = torch.rand(15, 1, 28, 28, generator=torch.Generator().manual_seed(0))
_images[:, 0, 0, 0] = (_predicted.float() + 0.5) / 10
try:
    _result = attempt(conditional_accuracy, _stub, _images, _requested, what="conditional_accuracy")
except CheckFailed as error:
    raise CheckFailed(f"{error}\nHint: the classifier's logits have shape (N, 10); the predicted class is their "
                      "argmax over dim=1 (the class dimension), one label per image.") from None
check_type(_result, dict, "conditional_accuracy's result")
check_type(_result.get("accuracy"), float, "conditional_accuracy(...)['accuracy']")
check_true(_result["accuracy"] != 1.0, "accuracy is 1.0 although the classifier disagrees with 5 requests: compare "
           "the predictions with requested_labels, not with themselves.")
check_close(_result["accuracy"], 10 / 15, "the overall conditional accuracy (10 of 15 agree)",
            hint="the fraction of ALL images whose argmax over the class dimension (dim=1) equals the requested "
                 "label; not the mean of the per-class accuracies.")
print("conditional_accuracy: visible overall checks passed")
### BEGIN HIDDEN TESTS
def _ref_accuracy(classifier, images01, requested_labels, batch=500):
    predicted = classifier(images01).argmax(1)
    correct = (predicted == requested_labels).float()
    per_class = torch.full((NUM_CLASSES,), float("nan"))
    for c in range(NUM_CLASSES):
        if (requested_labels == c).any():
            per_class[c] = correct[requested_labels == c].mean()
    return {"accuracy": correct.mean().item(), "per_class": per_class}

grading.register_reference(conditional_accuracy=_ref_accuracy)
_many = torch.rand(1234, 1, 28, 28, generator=torch.Generator().manual_seed(1))
_many_req = torch.randint(10, (1234,), generator=torch.Generator().manual_seed(2))
check_close(conditional_accuracy(_stub, _many, _many_req)["accuracy"], _ref_accuracy(_stub, _many, _many_req)["accuracy"],
            "the accuracy on 1,234 images (more than one chunk)", atol=1e-6)
check_close(conditional_accuracy(_stub, _images[:10], _requested[:10])["accuracy"], 6 / 10,
            "the accuracy on 10 images (as many as classes: argmax over the right dimension?)", atol=1e-6)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_conditional_accuracy_per_class", "points": 2}
_result = attempt(conditional_accuracy, _stub, _images, _requested, what="conditional_accuracy")
check_type(_result, dict, "conditional_accuracy's result")
_per_class = _result.get("per_class")
check_shape(_per_class, (10,), "conditional_accuracy(...)['per_class']")
_expected = torch.tensor([0.5, 0.5, float("nan"), 5 / 7, float("nan"), 1.0, float("nan"), 1.0, 1.0, 0.0])
check_true(torch.equal(torch.isnan(_per_class.cpu()), torch.isnan(_expected)),
           f"per_class should be nan exactly for the classes never requested (2, 4, 6); got {_per_class.tolist()}.")
check_close(_per_class.cpu().nan_to_num(-1), _expected.nan_to_num(-1), "per-class accuracy",
            hint="per_class[c] = (correct among images REQUESTED as c) / (number requested as c), e.g. class 3 was "
                 "requested 7 times and seen 5 times: 5/7.")
print("conditional_accuracy: visible per-class checks passed")
### BEGIN HIDDEN TESTS
_want = _ref_accuracy(_stub, _many, _many_req)["per_class"]
check_close(conditional_accuracy(_stub, _many, _many_req)["per_class"].cpu(), _want, "per-class accuracy on 1,234 images",
            atol=1e-6)
_one_class = conditional_accuracy(_stub, _images[2:6], torch.tensor([3, 3, 3, 3]))["per_class"]
check_close(_one_class[3], 2 / 4, "per_class[3] when only class 3 was requested", atol=1e-6)
check_true(int(torch.isnan(_one_class).sum()) == 9, "classes never requested must be nan.")
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Training
#
# Adam with $\beta_1 = 0.5$ and the same learning rate for both players, one D step per G step, as in lesson 02.
# The live plot shows the losses, $D(x, y)$ and $D(G(z, y), y)$, and the **label gap** — positive once $D$ uses the
# label — beside the class × noise grid: row $c$ is class $c$, column $j$ the fixed code $z_j$ (the same code in every
# row). At step `experiment_steps` a quick conditional accuracy is taken, for the comparison of section 10.

# %%
# needs: ConditionalGenerator (Exercise 1), ProjectionDiscriminator (Exercise 2), conditional_train_step (Exercise 3), conditional_accuracy (Exercise 4)
classifier = assets.load_fashion_classifier(device)


def make_cgan(discriminator_class, seed=0):
    """A fresh conditional G, a discriminator of the given class, and their Adam optimizers."""
    torch.manual_seed(seed)
    G = ConditionalGenerator(LATENT_DIM, NUM_CLASSES, BUDGET.width).to(device)
    D = discriminator_class(NUM_CLASSES, BUDGET.width, BUDGET.feature_dim).to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=BUDGET.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=BUDGET.lr, betas=(0.5, 0.999))
    return G, D, opt_g, opt_d


@torch.no_grad()
def generate(G, z, labels, batch=500):
    """Images in [0, 1] for the classifier and the plots: (G(z, y) + 1) / 2, in eval mode."""
    G.eval()
    return torch.cat([(G(zc, yc) + 1) / 2 for zc, yc in zip(z.split(batch), labels.split(batch))]).cpu()


# the class x noise grid: row c = class c, column j = code z_j shared by all rows
grid_noise = torch.randn(10, LATENT_DIM, generator=torch.Generator().manual_seed(1)).to(device)
grid_z = grid_noise.repeat(NUM_CLASSES, 1)                                      # z_0..z_9, z_0..z_9, ...
grid_labels = torch.arange(NUM_CLASSES, device=device).repeat_interleave(10)    # 0 x10, 1 x10, ...
# a quick probe for the comparison of section 9: balanced requested classes
probe_z, _ = sample_inputs(BUDGET.n_probe, LATENT_DIM, device, torch.Generator().manual_seed(2))
probe_labels = torch.arange(BUDGET.n_probe, device=device) % NUM_CLASSES


def train_cgan(discriminator_class, steps, title, seed=0, live_plot=True):
    """Train a conditional GAN; returns G, D, the History, the seconds and the probe accuracy at experiment_steps."""
    G, D, opt_g, opt_d = make_cgan(discriminator_class, seed)
    batches = data.DeviceLoader(train_images, train_labels, batch_size=BUDGET.batch_size, seed=seed).forever()
    noise_generator = torch.Generator().manual_seed(seed)
    history, probe_accuracy = History(), None
    live = viz.LivePlot(["loss_d", "loss_g", "d_real", "d_fake", "label_gap"], title=title,
                        min_seconds=BUDGET.plot_seconds) if live_plot else None
    start = time.perf_counter()
    bar = progress(steps, desc=title, batch_size=BUDGET.batch_size)
    for step in range(1, steps + 1):
        real, real_labels = next(batches)
        stats = conditional_train_step(G, D, opt_g, opt_d, real, real_labels, LATENT_DIM, noise_generator)
        if step % BUDGET.log_every == 0 or step == 1:
            history.log(step, **stats)
            bar.set_postfix(loss_d=f"{stats['loss_d']:.3f}", gap=f"{stats['label_gap']:.2f}")
            if live:
                live.update(history, generate(G, grid_z, grid_labels))
        if step == BUDGET.experiment_steps:
            probe_accuracy = conditional_accuracy(classifier, generate(G, probe_z, probe_labels), probe_labels)["accuracy"]
        bar.update(1)
    bar.close()
    seconds = time.perf_counter() - start
    if live:
        live.close(history, generate(G, grid_z, grid_labels))
    return G, D, history, seconds, probe_accuracy


G, D, history, train_seconds, probe_accuracy_projection = train_cgan(ProjectionDiscriminator, BUDGET.steps,
                                                                     "conditional GAN, projection D")
images_per_second = BUDGET.steps * BUDGET.batch_size / train_seconds
print(f"{BUDGET.steps} steps in {train_seconds:.1f} s: {images_per_second:,.0f} real images/s; "
      f"G {sum(p.numel() for p in G.parameters()):,} parameters, D {sum(p.numel() for p in D.parameters()):,}")

# %% [markdown]
# ### The class × noise grid
#
# Read it both ways. **Down a column** the code $z_j$ is fixed and only the label changes: a good conditional
# generator keeps the *style* (how wide, how dark, how tilted) and changes the garment. **Along a row** the label is
# fixed and the code changes: every image should be the row's class, in varied styles. A row that is not its
# class, or a column in which several rows show the *same* garment, is the failure section 8 measures.

# %%
# needs: G (the training run of section 7)
fig = viz.show_images(generate(G, grid_z, grid_labels), nrow=10, title="G(z_j, y): rows = requested class, "
                      "columns = one fixed code z_j")
for row, name in enumerate(CLASS_NAMES):
    fig.axes[0].text(-3, 14 + 29 * row, name, ha="right", va="center", fontsize=8)
plt.show()

# %%
# needs: history (the training run of section 7)
fig, (ax_loss, ax_d, ax_gap) = plt.subplots(1, 3, figsize=(15, 3.5))
viz.plot_curves(history, ["loss_d", "loss_g"], ax=ax_loss, title="losses", smooth=3)
ax_loss.axhline(2 * math.log(2), color="grey", ls=":", label="2 log 2")
ax_loss.legend()
viz.plot_curves(history, ["d_real", "d_fake"], ax=ax_d, title="mean D(x, y) and D(G(z, y), y)", smooth=3)
ax_d.axhline(0.5, color="grey", ls=":")
viz.plot_curves(history, ["label_gap"], ax=ax_gap, title="label gap: D(x, y) - D(x, wrong y) on real images", smooth=3)
ax_gap.axhline(0, color="grey", ls=":")
plt.show()

# %% [markdown]
# ## 8. Does it obey the label? Measuring, and the two silent failures
#
# The judge is a Fashion-MNIST classifier shipped with the course (`genlab.assets.load_fashion_classifier`, trained
# to reject noise; its test accuracy is the ceiling below). We generate `n_eval` images with the classes requested
# equally often and compute your `conditional_accuracy`, beside:
# - **ceiling**: real test images with their true labels (the classifier's own accuracy);
# - **chance**: real test images with random labels, and pure noise: about 10 %;
# - **a generator that ignores $y$**: our generated images scored against a *shuffled* copy of the requested labels.
#   The images do not change, only the request: this is exactly what a $G$ that ignores its label would score,
#   whatever the quality of its images — about 10 %.
# - **classifier FID**: the Fréchet distance between generated and real test images in the classifier's 128-d
#   feature space, beside the same distance between two real sets (training vs test, same $n$): the floor.

# %%
# needs: G (the training run of section 7), conditional_accuracy (Exercise 4)
eval_z, _ = sample_inputs(BUDGET.n_eval, LATENT_DIM, device, torch.Generator().manual_seed(3))
eval_labels = torch.arange(BUDGET.n_eval, device=device) % NUM_CLASSES       # each class requested n_eval / 10 times
samples01 = generate(G, eval_z, eval_labels)
real_test = test.subset(BUDGET.n_eval, seed=0)
real_train = train.subset(BUDGET.n_eval, seed=1)
shuffled = eval_labels[torch.randperm(BUDGET.n_eval, generator=torch.Generator().manual_seed(4)).to(device)]
random_labels = torch.randint(NUM_CLASSES, (BUDGET.n_eval,), generator=torch.Generator().manual_seed(5))
noise01 = torch.rand(BUDGET.n_eval, 1, 28, 28, generator=torch.Generator().manual_seed(6))

cgan = conditional_accuracy(classifier, samples01, eval_labels)
ceiling = conditional_accuracy(classifier, real_test.images, real_test.labels)
ignoring_g = conditional_accuracy(classifier, samples01, shuffled)
random_real = conditional_accuracy(classifier, real_test.images, random_labels)
pure_noise = conditional_accuracy(classifier, noise01, eval_labels.cpu())
fid_cgan = metrics.classifier_fid(classifier, samples01, real_test.images)
fid_real = metrics.classifier_fid(classifier, real_train.images, real_test.images)
fid_noise = metrics.classifier_fid(classifier, noise01, real_test.images)
note = "  (smoke profile: NOT meaningful)" if BUDGET.profile == "smoke" else ""
print(f"conditional accuracy, n = {BUDGET.n_eval}{note}")
for name, value in (("conditional GAN (projection D)", cgan["accuracy"]),
                    ("ceiling: real test images, true labels", ceiling["accuracy"]),
                    ("a G that ignores y (shuffled requests)", ignoring_g["accuracy"]),
                    ("real images, random labels", random_real["accuracy"]),
                    ("pure noise", pure_noise["accuracy"])):
    print(f"  {name:40s} {value:6.1%}")
print(f"classifier FID: generated vs real {fid_cgan:.2f}, real vs real {fid_real:.2f}, noise vs real {fid_noise:.1f}")
classes_controllable = int((cgan["per_class"] >= 0.5).sum())
print(f"classes controllable (per-class accuracy >= 50 %): {classes_controllable}/10")

# %% [markdown]
# **Inception FID** (lesson 06 builds it; the course's protocol from there on): in the `gpu` profile, `inception_n`
# samples, every class requested equally often, against the Inception statistics of Fashion-MNIST's training set
# shipped in `genlab.assets`, beside its baselines (real test images, uniform noise) against the same statistics. The `cpu` profile skips it (the
# Inception runs at a few images per second on 2 cores); the classifier FID above stands in.

# %%
# needs: G (the training run of section 7)
def balanced_samples(k):
    z, _ = sample_inputs(k, LATENT_DIM, device, torch.Generator().manual_seed(8))
    return generate(G, z, torch.arange(k, device=device) % NUM_CLASSES)


inception_entries = metrics.inception_fid_in_profile(BUDGET.inception_n, balanced_samples, "fashion", device=device)

# %% [markdown]
# ### Per class, and where the misses go: class leakage
#
# One overall number hides *which* classes fail. The bars show the per-class accuracy beside the classifier's own
# per-class accuracy on real images (some classes, shirts above all, are hard even for real data). The confusion
# matrix then says where a missed request goes: row = requested class, column = what the classifier saw. Mass off
# the diagonal is **class leakage** — the generator drawing the features of a neighbouring class (a "shirt" that
# is a T-shirt, a "pullover" that is a coat). Leakage between look-alike classes is expected; a column that collects
# mass from many rows means the generator falls back on one class whatever it is asked for.

# %%
# needs: cgan (the measurements of section 8)
with torch.no_grad():
    predicted = torch.cat([classifier(chunk.to(device)).argmax(1).cpu() for chunk in samples01.split(500)])
confusion = torch.zeros(NUM_CLASSES, NUM_CLASSES)
confusion.index_put_((eval_labels.cpu(), predicted), torch.ones(len(predicted)), accumulate=True)
confusion = confusion / confusion.sum(1, keepdim=True).clamp(min=1)
fig, (ax_bar, ax_conf) = plt.subplots(1, 2, figsize=(14, 4.5))
positions = torch.arange(NUM_CLASSES)
ax_bar.bar(positions - 0.2, cgan["per_class"], width=0.4, label="conditional GAN")
ax_bar.bar(positions + 0.2, ceiling["per_class"], width=0.4, label="real test images (ceiling)")
ax_bar.axhline(0.1, color="grey", ls=":", label="chance")
ax_bar.set_xticks(positions, CLASS_NAMES, rotation=45, ha="right")
ax_bar.set_ylabel("accuracy for the requested class")
ax_bar.set_ylim(0, 1.05)
ax_bar.legend(fontsize=8)
ax_bar.set_title("per-class conditional accuracy")
image = ax_conf.imshow(confusion, cmap="viridis", vmin=0, vmax=1)
ax_conf.set_xticks(positions, CLASS_NAMES, rotation=45, ha="right")
ax_conf.set_yticks(positions, CLASS_NAMES)
ax_conf.set_xlabel("classifier's prediction")
ax_conf.set_ylabel("requested class")
ax_conf.set_title("where the requests go (rows sum to 1)")
fig.colorbar(image, ax=ax_conf)
plt.show()

# %% [markdown]
# ### A discriminator that ignores the label: swap the labels of real images
#
# A discriminator that ignores $y$ still plays the unconditional game; its losses look fine, and the generator then
# has no reason to obey. The test is a controlled experiment on *real* images, where we know the truth: score each
# test image with its true label and with each of the 9 wrong labels. A D that uses the label scores the true pair
# higher; a D that ignores it gives the same score (a gap of exactly 0 for every image). Two numbers summarise it:
# the mean gap $D(x, y_\text{true}) - D(x, y_\text{wrong})$ (logits) and how often the true label gets D's highest
# score of the ten — read as a classifier, chance is 10 %.

# %%
# needs: D (the training run of section 7), real_test (the measurements of section 8)
@torch.no_grad()
def label_swap(D, images01, labels, batch=500):
    """D's logits for every (image, class) pair of real images: returns (N, K) scores, the true-vs-wrong gaps and
    the fraction of images whose true label scores highest."""
    D.eval()
    scores = []
    for chunk in (images01 * 2 - 1).to(device).split(batch):
        scores.append(torch.stack([D(chunk, torch.full((len(chunk),), c, device=device))
                                   for c in range(NUM_CLASSES)], dim=1).cpu())
    scores = torch.cat(scores)
    true_score = scores.gather(1, labels[:, None]).squeeze(1)
    wrong = torch.ones_like(scores, dtype=torch.bool).scatter_(1, labels[:, None], False)
    gaps = (true_score[:, None] - scores)[wrong]
    D.train()
    return scores, gaps, (scores.argmax(1) == labels).float().mean().item()


class IgnoringD(nn.Module):
    """The failure, made on purpose: the trained projection D with its label term removed."""

    def __init__(self, D):
        super().__init__()
        self.D = D

    def forward(self, x, y):
        return self.D.psi(self.D.phi(x)).squeeze(1)


_, gaps_projection, swap_accuracy_projection = label_swap(D, real_test.images, real_test.labels)
_, gaps_ignoring, swap_accuracy_ignoring = label_swap(IgnoringD(D), real_test.images, real_test.labels)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.hist(gaps_projection, bins=60, alpha=0.7, label=f"trained projection D (mean gap {gaps_projection.mean():.2f})")
ax.axvline(0, color="C1", lw=3, label="a D that ignores y: every gap is 0")
ax.set_xlabel("D(x, true y) - D(x, wrong y)   (logits, real test images)")
ax.set_ylabel("pairs")
ax.legend(fontsize=8)
ax.set_title("swap the label of a real image: does D's score change?")
plt.show()
print(f"true label scored highest among the 10: projection D {swap_accuracy_projection:.1%}, "
      f"label-free D {swap_accuracy_ignoring:.1%} (all ten scores tie, argmax says class 0: chance){note}")

# %% [markdown]
# ## 9. Playing with the trained generator
#
# Choose a class and move the code along one random direction $u$ ($\|u\| = 1$): $z(t) = z_0 + t\,u$. The label fixes
# *what*, the slider changes *how*; the strip below shows the same $z(t)$ for all ten classes, so you can check that
# the style moves together across classes.

# %%
# needs: G (the training run of section 7)
widget_z0 = torch.randn(1, LATENT_DIM, generator=torch.Generator().manual_seed(7)).to(device)
widget_direction = torch.randn(1, LATENT_DIM, generator=torch.Generator().manual_seed(8)).to(device)
widget_direction = widget_direction / widget_direction.norm()


def render_class_walk(label, t):
    z = widget_z0 + t * widget_direction
    chosen = generate(G, z, torch.tensor([label], device=device))
    strip = generate(G, z.repeat(NUM_CLASSES, 1), torch.arange(NUM_CLASSES, device=device))
    fig, (ax_big, ax_strip) = plt.subplots(1, 2, figsize=(7.5, 2.0), gridspec_kw={"width_ratios": [1, 4]})
    viz.show_images(chosen, nrow=1, ax=ax_big, title=CLASS_NAMES[label])
    viz.show_images(strip, nrow=10, ax=ax_strip, title="the same z(t), all ten classes")
    return fig, f"{CLASS_NAMES[label]}, t = {t:+.2f}"


viz.explorer(render_class_walk, {
    "label": widgets.Dropdown(options=[(name, c) for c, name in enumerate(CLASS_NAMES)], value=0, description="class"),
    "t": widgets.FloatSlider(value=0.0, min=-6.0, max=6.0, step=0.25, description="t along u")})

# %% [markdown]
# ## 10. Experiment: concatenation or projection?
#
# Section 3 argued that the projection form is the *right shape* for the optimal logit. Does it matter in practice?
# The cell below trains the same generator, the same number of steps (`experiment_steps`) and the same seeds, with
# `ConcatDiscriminator` instead, and compares the conditional accuracy on the same probe with the projection run's
# at the same step, and the label-swap test of both discriminators. You may change `EXPERIMENT_STEPS` or the
# discriminator (for the question below) and run it again.

# %%
# needs: probe_accuracy_projection (the training run of section 7), label_swap (section 8), cgan (section 8)
EXPERIMENT_STEPS = BUDGET.experiment_steps
G_concat, D_concat, history_concat, seconds_concat, probe_accuracy_concat = train_cgan(
    ConcatDiscriminator, EXPERIMENT_STEPS, "conditional GAN, concat D", live_plot=False)
_, gaps_concat, swap_accuracy_concat = label_swap(D_concat, real_test.images, real_test.labels)
print(f"after {EXPERIMENT_STEPS} steps (probe of {BUDGET.n_probe} images{note}):")
print(f"  projection D: conditional accuracy {probe_accuracy_projection:.1%}")
print(f"  concat D:     conditional accuracy {probe_accuracy_concat:.1%}, final label gap "
      f"{history_concat.mean('label_gap', last=3):.2f}, true label scored highest {swap_accuracy_concat:.1%} "
      f"(projection D after {BUDGET.steps} steps: {swap_accuracy_projection:.1%})")
fig, axes = plt.subplots(1, 2, figsize=(13, 3.5))
for name, log in (("projection D", history), ("concat D", history_concat)):
    steps_, gap_ = log.series("label_gap")
    keep = [i for i, s in enumerate(steps_) if s <= EXPERIMENT_STEPS]
    axes[0].plot([steps_[i] for i in keep], [gap_[i] for i in keep], label=name)
axes[0].axhline(0, color="grey", ls=":")
axes[0].set_xlabel("step")
axes[0].set_title("label gap during training")
axes[0].legend()
viz.show_images(generate(G_concat, grid_z, grid_labels), nrow=10, ax=axes[1], title=f"concat D, step {EXPERIMENT_STEPS}")
plt.show()

# %% [markdown]
# ## 11. Questions
#
# **Q1 (experiment).** Report the two conditional accuracies and the label-swap numbers printed by section 10, and
# explain the difference (or its absence) with section 3: in which form does each discriminator receive the label,
# and what must each learn before its label term helps the generator? Then make one change of your own — a shorter
# or longer `EXPERIMENT_STEPS`, or label smoothing (real targets 0.9) in `discriminator_loss`, or
# class-balanced fake labels (`torch.arange(n) % 10` shuffled instead of uniform draws) — rerun, and report the
# number it changed.

# %% [markdown] nbgrader={"grade_id": "q_experiment", "points": 2, "solution": true}
# Rubric (2 points): 1 point for the numbers reported correctly from their own run (both accuracies, the label
# gap or true-label-highest rate), 1 point for an explanation that uses the structure. Expected explanation: the
# projection D has the label term embed(y)ᵀφ(x) built in: from the first step, the gradient of the loss with respect
# to embed(y) is φ(x) of real minus fake images of that class, so the class vectors immediately start pointing at
# what distinguishes real images of class y from generated "class y" ones, and the generator is pushed towards
# the class at once. The concat D receives the label as 10 constant channels; its first convolution turns them
# into a class-dependent bias, and only later layers' non-linear interactions can make the score depend on
# *whether image and label match*. Early in training the easiest way to lower its loss is to separate real from
# fake ignoring y, so its label gap stays near 0 for longer and the conditional accuracy at the same step is
# typically lower (on Fashion-MNIST with these sizes, often by tens of points in short runs; with long training
# both can reach high accuracy). A student who observes the opposite and reports it honestly with a plausible
# reason (e.g. a very short run where both are near chance) gets full marks. Second part: any one change run and
# its number reported with a sentence of interpretation (label smoothing usually changes little here; balanced
# labels reduce the variance of per-class counts per batch but not the accuracy much).

# %% [markdown]
# **Q2.** In the G step we pass `fake_labels` to D. A classmate passes `real_labels` instead (the labels of the real
# batch of the same step). The code runs, the losses look normal. What does the generator learn, and which of the
# measurements of section 8 would reveal the bug? Would the label-swap test reveal it?

# %% [markdown] nbgrader={"grade_id": "q_wrong_labels", "points": 2, "solution": true}
# Rubric (2 points). The G step then asks D whether G(z, y_fake) looks like a real image *of class y_real*, a label
# unrelated to the one G was given. G's gradient pushes the image made for y_fake towards class y_real, a random
# class; averaged over batches, G is pushed towards "any class" regardless of its input label, i.e. it is trained
# to make realistic images while its label input carries no useful signal (the D step still trains D correctly, so
# D conditions properly). Result: realistic samples, conditional accuracy near chance (~10 %), the class × noise
# grid shows columns of the same garment (the code, not the label, decides the class), the confusion matrix is
# flat/uniform. The label-swap test would NOT reveal it: it tests D, and D is fine (its label gap is positive); the
# conditional accuracy (and the "G ignores y" baseline it then equals) is the measurement that reveals it.
# 1 point for the effect on G, 1 point for naming conditional accuracy/grid and saying the swap test does not.

# %% [markdown]
# **Q3.** The projection D hides a classifier: $\arg\max_y D(x, y)$. Section 8 measured how often it picks the true
# class of real test images. Compare that rate with the Fashion classifier's accuracy. Is the projection D trained to
# be a good classifier? What should happen to this rate as the generator gets better, and why? Use the decomposition
# of section 3 (what is $\mathrm{embed}(y)$ the difference of?).

# %% [markdown] nbgrader={"grade_id": "q_hidden_classifier", "points": 2, "solution": true}
# Rubric (2 points). Expected: the rate is far above chance (D does use the label) but below the classifier's
# accuracy (report both numbers from the run). embed(y) = v^q_y - v^p_y: the label term models
# log q(y|x) - log p(y|x), the *difference* between the data's class posterior and the generator's, not q(y|x)
# itself; nothing in D's loss rewards classifying (there is no cross-entropy on classes), D only keeps the class
# information that separates real from generated pairs. As the generator obeys its labels better, p(y|x) approaches
# q(y|x), the difference and its training signal shrink, and the hidden classifier should get no better (it may
# get worse) while G improves: D's argmax is a by-product, not a goal. 1 point for "difference of the two class
# posteriors / not trained to classify", 1 point for the consequence as G improves.

# %% [markdown]
# **Q4.** The class × noise grid shares each column's code $z_j$ across classes. Describe what you see in your grid
# (which attributes stay constant down a column, which classes look alike), and name one class pair between which
# the confusion matrix shows leakage in your run. Why can the *same* $z$ carry style across classes as different as
# a sandal and a coat?

# %% [markdown] nbgrader={"grade_id": "q_grid", "points": 2, "solution": true}
# Rubric (2 points). Observations from their own grid: typically brightness/contrast, width/size and sometimes
# orientation or the position of a feature stay constant down a column; shirts, T-shirts, pullovers and coats look
# alike and leak into each other (often shirt → T-shirt/top or pullover ↔ coat; sandal ↔ sneaker among shoes).
# 1 point for a concrete description and a pair that matches their confusion matrix. 1 point for the reason: the
# generator is one network shared by all classes; the label only adds a class-specific bias to the first layer
# (section 3), while z feeds the same weights for every class, so directions of z that the network uses for
# generic factors (overall intensity, size, thickness) act the same way whatever the class; the training
# objective never asks z to carry the class because y already does, so z is free to encode the within-class
# variation that classes share.

# %% [markdown]
# ## 12. Going further
#
# - **Auxiliary-classifier GAN** (AC-GAN, Odena et al., 2017): D has a second head that classifies the image, and
#   both players also minimise a classification loss. Simple, but it tends to push samples towards easy-to-classify
#   images (less diversity within a class); the projection D was proposed partly as the alternative.
# - **Spectral normalisation** (Miyato et al., 2018) is the usual companion of the projection discriminator
#   (`torch.nn.utils.parametrizations.spectral_norm` on each of D's layers, the embedding included).
# - **Conditional batch normalisation** (de Vries et al., 2017; used in BigGAN): instead of concatenating $e_y$ once
#   at the input, every BatchNorm layer of G gets a class-specific scale and shift, so the label acts at every scale.
# - **Text and other conditions**: the same two ideas — feed the condition to G, let D judge (image, condition)
#   pairs — carry over to image-to-image translation (pix2pix, lesson 07; StarGAN, lesson 09) and to text-to-image
#   models.
# - **Truncation and classifier-free guidance**: trading diversity for class fidelity at sampling time (BigGAN's
#   truncation trick here; guidance for diffusion models in lesson 11).

# %% [markdown]
# ## 13. Results

# %%
# needs: cgan (section 8), swap_accuracy_projection (section 8), probe_accuracy_concat (section 10)
results_table("04_cgan", {
    "data": "stand-in (NOT clothing)" if train.is_standin else "Fashion-MNIST",
    **({"note": "smoke profile: numbers NOT meaningful"} if BUDGET.profile == "smoke" else {}),
    "n_eval": BUDGET.n_eval,
    "conditional_accuracy": cgan["accuracy"],
    "ceiling_real_true_labels": ceiling["accuracy"],
    "baseline_g_ignores_labels": ignoring_g["accuracy"],
    "sanity_real_random_labels": random_real["accuracy"],
    "sanity_pure_noise": pure_noise["accuracy"],
    "per_class_accuracy": " ".join(f"{v:.2f}" for v in cgan["per_class"].tolist()),
    "classes_controllable_of_10": classes_controllable,
    "classifier_fid": fid_cgan,
    "classifier_fid_real_vs_real": fid_real,
    "classifier_fid_noise_vs_real": fid_noise,
    **inception_entries,
    "d_true_label_highest": swap_accuracy_projection,
    "d_true_label_highest_label_free": swap_accuracy_ignoring,
    "experiment_steps": EXPERIMENT_STEPS,
    "experiment_probe_accuracy_projection": probe_accuracy_projection,
    "experiment_probe_accuracy_concat": probe_accuracy_concat,
    "targets": "cpu: accuracy >= 0.70, 10/10 classes; gpu: >= 0.85, classifier FID <= 2x real-vs-real",
    "steps": BUDGET.steps,
    "train_seconds": train_seconds,
    "images_per_second": images_per_second,
})
