# %% [markdown]
# # 02 — Generative adversarial networks (GAN) on MNIST
#
# A generator turns random noise into digits; a discriminator tries to tell those digits from real ones. Each
# learns from the other's mistakes. In this lesson you write the four pieces of the original GAN (Goodfellow et
# al., 2014) — the noise, both losses and the alternating training step — train it on MNIST with small
# fully connected networks, and then break it on purpose to see the two classic failures.
#
# **You will be able to**
# - write the GAN minimax objective and derive the optimal discriminator;
# - implement the discriminator loss (binary cross-entropy, real = 1, fake = 0) and both generator losses, and
#   explain with a plot why the *non-saturating* one is used in practice;
# - implement one alternating training step correctly: what is detached, which gradients are zeroed, which
#   optimizer steps when;
# - recognise a discriminator that wins too fast and mode collapse from their curves and samples, and measure
#   sample quality and diversity with a pretrained digit classifier.
#
# **Prerequisites**: PyTorch modules, optimizers and autograd; binary cross-entropy; lesson 01 (latent variables)
# helps but is not required.
#
# **Time** (whole notebook): `smoke` about 20 s on 2 CPU cores (CI and autograding: results are poor, nothing is
# judged on them), `cpu` about 5 min on 2 CPU cores (recognisable digits), `gpu` aims at under 10 minutes on one
# GPU (not yet timed).
# Choose with the environment variable `GENLAB_PROFILE` before starting the kernel.

# %%
import copy
import inspect
import math
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from genlab import config, data, metrics, models, viz
from genlab.assets import load_mnist_classifier
from genlab.grading import check_close, check_finite, check_shape, check_true, check_type
from genlab.models import MLPDiscriminator, MLPGenerator
from genlab.train import History, progress, results_table

# One budget table for the whole lesson: nothing below picks its own sizes.
BUDGET = config.budget({
    "smoke": dict(steps=200, batch_size=64, hidden=(128, 256), lr=2e-4, log_every=25, snapshots=4,
                  fail_steps=40, fail_every=10, collapse_steps=40, collapse_every=10, n_eval=500, plot_seconds=10),
    "cpu": dict(steps=12000, batch_size=64, hidden=(256, 512), lr=2e-4, log_every=50, snapshots=6,
                fail_steps=300, fail_every=15, collapse_steps=200, collapse_every=20, n_eval=1000, plot_seconds=5),
    "gpu": dict(steps=30000, batch_size=128, hidden=(256, 512, 1024), lr=2e-4, log_every=100, snapshots=6,
                fail_steps=1000, fail_every=25, collapse_steps=400, collapse_every=20, n_eval=2000, plot_seconds=5),
})
LATENT_DIM = 64
device = config.device()
config.seed_everything(0)
print(config.describe())
print(BUDGET)

# %% [markdown]
# ## 1. Two players
#
# Think of a forger and an inspector. The forger $G$ (generator) takes a random code $z$ and paints an image
# $G(z)$. The inspector $D$ (discriminator) looks at an image and says how likely it is to be real. The inspector
# is trained on real images labelled "real" and on the forger's latest work labelled "fake"; the forger is
# trained to make the inspector say "real". Neither ever sees a formula for what a digit is: the generator
# learns about digits only through the gradients of the discriminator's opinion.
#
# If both play well, the forgeries end up indistinguishable from real digits and the inspector can do no better
# than guess: $D = 1/2$ everywhere.
#
# ## 2. The minimax objective
#
# With $p_\text{data}$ the data distribution, $p_z = \mathcal N(0, I)$ the noise and $D(x) \in (0, 1)$ the
# discriminator's probability that $x$ is real, the GAN game is
#
# $$
# \min_G \max_D \; V(D, G) = \mathbb E_{x \sim p_\text{data}}\big[\log D(x)\big]
#   + \mathbb E_{z \sim p_z}\big[\log\big(1 - D(G(z))\big)\big].
# $$
#
# **The optimal discriminator.** For a fixed $G$ whose samples have density $p_g$, write $V$ as one integral,
# $V = \int p_\text{data}(x)\log D(x) + p_g(x)\log(1 - D(x))\,dx$, and maximise the integrand pointwise:
# $a\log y + b\log(1-y)$ is largest at $y = a/(a+b)$, so
#
# $$
# D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_g(x)}.
# $$
#
# Plugging $D^*$ back in gives $V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}(p_\text{data}\,\|\,p_g)$: against a perfect
# discriminator the generator minimises the Jensen–Shannon divergence, whose minimum is reached exactly at
# $p_g = p_\text{data}$, where $D^* = 1/2$ and the discriminator's loss below equals $2\log 2 \approx 1.386$.
#
# **Logits, not probabilities.** Our discriminator outputs a *logit* $\ell$ and $D(x) = \sigma(\ell)$. Then
# $-\log\sigma(\ell) = \operatorname{softplus}(-\ell)$ and $-\log(1-\sigma(\ell)) = \operatorname{softplus}(\ell)$,
# which PyTorch computes without ever forming $\log 0$ (`F.binary_cross_entropy_with_logits`, `F.softplus`).
#
# **The discriminator's loss** is the binary cross-entropy with target 1 for real and 0 for generated images,
# a mean over each batch, the two means summed (maximising $V$ over $D$ is minimising this):
#
# $$
# \mathcal L_D = -\frac1{n}\sum_{i=1}^{n}\log D(x_i) \;-\; \frac1{m}\sum_{j=1}^{m}\log\big(1 - D(G(z_j))\big)
#   = \frac1n\sum_i \operatorname{softplus}(-\ell^\text{real}_i) + \frac1m\sum_j\operatorname{softplus}(\ell^\text{fake}_j).
# $$
#
# **The generator's loss** comes in two versions.
# - *Saturating* (the minimax game as written): minimise $\mathcal L_G^\text{sat} = \frac1m\sum_j \log\big(1 - D(G(z_j))\big)
#   = -\frac1m\sum_j\operatorname{softplus}(\ell_j)$.
# - *Non-saturating* (what Goodfellow et al. actually trained with): minimise
#   $\mathcal L_G^\text{ns} = -\frac1m\sum_j\log D(G(z_j)) = \frac1m\sum_j\operatorname{softplus}(-\ell_j)$, i.e. the
#   cross-entropy with target 1 — "make D say *real*".
#
# Both push $D(G(z))$ up and have the same fixed points; they differ in *where* their gradients are large.
# With $d = D(G(z)) = \sigma(\ell)$, per sample
#
# $$
# \frac{\partial}{\partial \ell}\log(1-\sigma(\ell)) = -\sigma(\ell) = -d, \qquad
# \frac{\partial}{\partial \ell}\big(-\log\sigma(\ell)\big) = \sigma(\ell) - 1 = -(1 - d).
# $$
#
# Early in training the discriminator easily spots fakes, $d \approx 0$: the saturating gradient $-d$ vanishes just
# when the generator most needs a signal, while the non-saturating one is close to its largest value. You will plot
# this after writing the losses.
#
# ## 3. The networks
#
# Both players are small multilayer perceptrons from `genlab.models` (plumbing, not exercises). The generator ends
# in `tanh`, so its images live in $[-1, 1]$ — which is why we scale the data to $[-1, 1]$ too. The discriminator
# returns one logit per image, with no sigmoid.

# %%
print(inspect.getsource(models.MLPGenerator))
print(inspect.getsource(models.MLPDiscriminator))

# %% [markdown]
# ## 4. The data
#
# MNIST's 60,000 training digits, held on the training device as one tensor and scaled from $[0, 1]$ to $[-1, 1]$:
# $x \mapsto 2x - 1$. Batches are random index slices (`DeviceLoader`), so no time goes into worker processes.

# %%
train = data.load("MNIST", "train")
test = data.load("MNIST", "test")
print(train.source)
train_images = (train.images * 2 - 1).to(device)  # x in [-1, 1], the range of tanh
print(f"train images {tuple(train_images.shape)} on {train_images.device}, "
      f"range [{train_images.min():.0f}, {train_images.max():.0f}]")
viz.show_images(train.images[:32], nrow=16, title="real MNIST digits")
plt.show()

# %% [markdown]
# ## 5. Exercises
#
# ### Exercise 1 — noise (2 points)
#
# Write `sample_noise(n, latent_dim, device, generator=None)`: a float32 tensor of shape `(n, latent_dim)` with
# independent standard normal entries, $z \sim \mathcal N(0, I)$, on `device`. Draw it on the CPU with the given
# `torch.Generator` (or the global random state when `generator` is None) and then move it to `device`: a CPU
# generator cannot draw on a GPU, and drawing on the CPU gives the same numbers on every machine.

# %% nbgrader={"grade_id": "sample_noise", "solution": true}
def sample_noise(n, latent_dim, device, generator=None):
    """Standard normal noise of shape (n, latent_dim), float32, on `device`."""
    ### BEGIN SOLUTION
    # z ~ N(0, I), drawn on the CPU so that a seeded generator gives the same z on every device
    noise = torch.randn(n, latent_dim, generator=generator)
    return noise.to(device)
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_sample_noise", "points": 2}
z = sample_noise(5, 3, "cpu")
check_shape(z, (5, 3), "sample_noise(5, 3, 'cpu')")
check_true(z.dtype == torch.float32, f"the noise should be float32, not {z.dtype}.")
check_finite(z, "the noise")
z_a = sample_noise(4, 2, "cpu", torch.Generator().manual_seed(7))
z_b = sample_noise(4, 2, "cpu", torch.Generator().manual_seed(7))
check_close(z_a, z_b, "noise from two generators with the same seed", hint="Pass `generator` to the sampling call.")
print("sample_noise: visible checks passed")
### BEGIN HIDDEN TESTS
_big = sample_noise(20000, 8, torch.device("cpu"), torch.Generator().manual_seed(3))
check_shape(_big, (20000, 8), "sample_noise(20000, 8, ...)")
check_true(abs(_big.mean().item()) < 0.03, f"noise mean {_big.mean().item():.3f}; N(0, I) has mean 0 (uniform noise?).")
check_true(abs(_big.std().item() - 1) < 0.03, f"noise std {_big.std().item():.3f}; N(0, I) has std 1.")
check_true(abs((_big < 0).float().mean().item() - 0.5) < 0.02, "about half of N(0, I) noise should be negative.")
_expected = torch.randn(6, 5, generator=torch.Generator().manual_seed(11))
check_close(sample_noise(6, 5, "cpu", torch.Generator().manual_seed(11)), _expected,
            "seeded noise", atol=0, rtol=0, hint="Draw with torch.randn(n, latent_dim, generator=generator).")
torch.manual_seed(5)
_global_a = sample_noise(3, 4, "cpu")
torch.manual_seed(5)
_global_b = sample_noise(3, 4, "cpu")
check_close(_global_a, _global_b, "noise with generator=None after torch.manual_seed", atol=0, rtol=0)
check_true(sample_noise(2, 3, torch.device("meta")).device.type == "meta", "the noise must be moved to `device`.")
check_true(sample_noise(2, 3, "cpu").dtype == torch.float32, "the noise must be float32.")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 — the discriminator's loss (3 points)
#
# Write `discriminator_loss(real_logits, fake_logits)` $= \mathcal L_D$ from section 2: binary cross-entropy *on
# logits* with target 1 for the real batch and 0 for the fake batch, **the mean over each batch, the two means
# summed** (the batches may have different sizes). Use `F.binary_cross_entropy_with_logits` (or `F.softplus`), which
# stays finite for large logits; do not apply a sigmoid yourself.

# %% nbgrader={"grade_id": "discriminator_loss", "solution": true}
def discriminator_loss(real_logits, fake_logits):
    """L_D = mean BCE(real logits, 1) + mean BCE(fake logits, 0); a scalar tensor."""
    ### BEGIN SOLUTION
    ones = torch.ones_like(real_logits)     # y = 1: real
    zeros = torch.zeros_like(fake_logits)   # y = 0: generated
    loss_real = F.binary_cross_entropy_with_logits(real_logits, ones)    # (1/n) sum softplus(-l_real) = -mean log D(x)
    loss_fake = F.binary_cross_entropy_with_logits(fake_logits, zeros)   # (1/m) sum softplus(l_fake) = -mean log(1 - D(G(z)))
    return loss_real + loss_fake
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_discriminator_loss", "points": 3}
_loss = discriminator_loss(torch.zeros(4), torch.zeros(4))
check_shape(_loss, (), "discriminator_loss(...)")
check_close(_loss, 2 * math.log(2), "L_D when D says 1/2 to everything",
            hint="At D = 1/2, each mean BCE is log 2 and their sum is 2 log 2 (section 2).")
check_true(discriminator_loss(torch.full((3,), 5.0), torch.full((3,), -5.0)) < 0.1,
           "A discriminator that is confidently right (real logits +5, fake logits -5) should have a small loss.")
print("discriminator_loss: visible checks passed")
### BEGIN HIDDEN TESTS
def _ref_d_loss(real_logits, fake_logits):
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

_real = torch.tensor([2.0, -1.0, 0.5, 3.0])
_fake = torch.tensor([-2.0, 1.5])
check_close(discriminator_loss(_real, _fake), _ref_d_loss(_real, _fake), "L_D for fixed logits",
            hint="Real targets are 1, fake targets are 0; a mean over each batch, then the sum of the two means.")
check_true(discriminator_loss(torch.full((3,), -5.0), torch.full((3,), 5.0)) > 5,
           "A discriminator that is confidently wrong must have a large loss (labels swapped?).")
check_close(discriminator_loss(torch.tensor([1.0, 1.0, 1.0]), torch.tensor([-4.0])),
            F.softplus(torch.tensor(-1.0)) + F.softplus(torch.tensor(-4.0)), "L_D with batches of different sizes",
            hint="Take the mean over each batch separately and add them.")
_big_loss = discriminator_loss(torch.tensor([-200.0]), torch.tensor([150.0]))
check_finite(_big_loss, "L_D for logits -200 / 150")
check_close(_big_loss, 350.0, "L_D for logits -200 / 150", rtol=1e-5, hint="Use the logit form, not log(sigmoid(.)).")
_rl = torch.tensor([0.3, -0.7, 1.2], requires_grad=True)
_fl = torch.tensor([0.9, -2.0], requires_grad=True)
discriminator_loss(_rl, _fl).backward()
check_close(_rl.grad, (torch.sigmoid(_rl) - 1).detach() / 3, "dL_D / d real logits")
check_close(_fl.grad, torch.sigmoid(_fl).detach() / 2, "dL_D / d fake logits")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3 — the generator's losses (3 points)
#
# Write `generator_loss(fake_logits, saturating=False)`:
# - `saturating=False` (the default, used for training): $\mathcal L_G^\text{ns} = -\frac1m\sum_j\log D(G(z_j))$,
#   the cross-entropy of the fake logits with target 1;
# - `saturating=True`: $\mathcal L_G^\text{sat} = \frac1m\sum_j\log\big(1 - D(G(z_j))\big)$ — a *negative* number
#   that the generator minimises.
#
# Work on logits (softplus identities in section 2), so both stay finite for any logit.

# %% nbgrader={"grade_id": "generator_loss", "solution": true}
def generator_loss(fake_logits, saturating=False):
    """The generator's loss on D's logits for generated images: non-saturating (default) or saturating."""
    ### BEGIN SOLUTION
    if saturating:
        # L_G^sat = mean log(1 - sigmoid(l)) = -mean softplus(l)
        return -F.softplus(fake_logits).mean()
    # L_G^ns = -mean log sigmoid(l) = BCE(l, 1)
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_generator_loss", "points": 3}
check_shape(generator_loss(torch.zeros(5)), (), "generator_loss(...)")
check_close(generator_loss(torch.zeros(5)), math.log(2), "non-saturating loss at D = 1/2",
            hint="-log(1/2) = log 2.")
check_close(generator_loss(torch.zeros(5), saturating=True), -math.log(2), "saturating loss at D = 1/2",
            hint="log(1 - 1/2) = -log 2: the saturating loss is negative.")
print("generator_loss: visible checks passed")
### BEGIN HIDDEN TESTS
_logits = torch.tensor([-3.0, -0.5, 0.0, 2.0])
check_close(generator_loss(_logits), F.softplus(-_logits).mean(), "non-saturating loss for fixed logits",
            hint="-mean log D(G(z)) with D = sigmoid(logit).")
check_close(generator_loss(_logits, saturating=True), -F.softplus(_logits).mean(), "saturating loss for fixed logits",
            hint="mean log(1 - D(G(z))), which is negative.")
check_true(generator_loss(torch.tensor([4.0])) < generator_loss(torch.tensor([-4.0])),
           "the non-saturating loss must be lower when D believes the fakes (larger logits).")
check_true(generator_loss(torch.tensor([4.0]), True) < generator_loss(torch.tensor([-4.0]), True),
           "the saturating loss must also be lower when D believes the fakes (check its sign).")
_l = torch.tensor([-6.0, -1.0, 0.5, 3.0], requires_grad=True)
generator_loss(_l).backward()
check_close(_l.grad, (torch.sigmoid(_l) - 1).detach() / 4, "d L_G^ns / d logits", hint="d/dl softplus(-l) = sigmoid(l) - 1.")
_l.grad = None
generator_loss(_l, saturating=True).backward()
check_close(_l.grad, -torch.sigmoid(_l).detach() / 4, "d L_G^sat / d logits", hint="d/dl -softplus(l) = -sigmoid(l).")
check_finite(generator_loss(torch.tensor([-200.0])), "non-saturating loss at logit -200")
check_close(generator_loss(torch.tensor([-200.0])), 200.0, "non-saturating loss at logit -200", rtol=1e-5)
check_finite(generator_loss(torch.tensor([200.0]), saturating=True), "saturating loss at logit 200")
### END HIDDEN TESTS

# %% [markdown]
# ### Why the non-saturating loss: the gradients
#
# Each loss's gradient with respect to the discriminator's logit for one generated image, computed by autograd
# through *your* `generator_loss`, plotted against $D(G(z))$. Left of the plot is where a fresh generator lives:
# the discriminator is sure its images are fake.

# %%
d_values = torch.linspace(0.001, 0.999, 400)
logits = torch.log(d_values / (1 - d_values)).requires_grad_(True)  # l = sigma^{-1}(d)
gradients = {}
for name, saturating in (("saturating  log(1 - D)", True), ("non-saturating  -log D", False)):
    logits.grad = None
    generator_loss(logits, saturating=saturating).backward()
    gradients[name] = (logits.grad * len(logits)).abs()  # |dL/dl| per sample (undo the mean)
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, grad in gradients.items():
    ax.plot(d_values, grad, label=name)
ax.axvspan(0, 0.1, color="grey", alpha=0.15, label="early training: D(G(z)) ≈ 0")
ax.set_xlabel("D(G(z))")
ax.set_ylabel("|∂ loss / ∂ logit|")
ax.set_title("generator gradient per sample")
ax.legend()
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# The saturating loss's gradient is $D(G(z))$ itself: near zero when the generator is bad, which is when it most
# needs to learn. The non-saturating loss's gradient is $1 - D(G(z))$: largest exactly there. Same goal, better
# signal.
#
# ### Exercise 4 — one alternating training step (4 points)
#
# Write `train_step(G, D, opt_g, opt_d, real, latent_dim, generator=None)`. It uses your three functions above and:
# 1. puts both networks in training mode (`G.train()`, `D.train()`; the preview cells switch G to eval mode);
# 2. draws **one** noise batch $z$ of size `len(real)` with `sample_noise(..., real.device, generator)` and makes
#    `fake = G(z)`;
# 3. **D step**: `discriminator_loss(D(real), D(fake.detach()))` — detached, because this step must not send
#    gradients into $G$ —, then `opt_d.zero_grad()`, `backward()`, `opt_d.step()`;
# 4. **G step**: `generator_loss(D(fake))` (non-saturating) through the *updated* D, then `opt_g.zero_grad()`,
#    `backward()`, `opt_g.step()` — only the generator's optimizer steps, although the backward pass also fills
#    D's `.grad` (the next D step zeroes them);
# 5. returns a dict of Python floats: `loss_d`, `loss_g`, and the mean $D(x)$ and $D(G(z))$ on this step's real and
#    fake batches (from the D step's logits) as `d_real`, `d_fake`.
#
# The visible checks use your three functions; the hidden tests swap in reference versions of them while they run,
# so that a mistake in an earlier exercise costs points only once.

# %% nbgrader={"grade_id": "train_step", "solution": true}
def train_step(G, D, opt_g, opt_d, real, latent_dim, generator=None):
    """One D step then one G step; returns {'loss_d', 'loss_g', 'd_real', 'd_fake'} as floats."""
    ### BEGIN SOLUTION
    G.train()
    D.train()
    # z ~ N(0, I);  x_fake = G(z)
    fake = G(sample_noise(len(real), latent_dim, real.device, generator))

    # D step: minimise L_D; fake.detach() makes G(z) a constant here
    real_logits = D(real)
    fake_logits = D(fake.detach())
    loss_d = discriminator_loss(real_logits, fake_logits)
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()

    # G step: minimise L_G^ns = -mean log D(G(z)) through the updated D; only G's optimizer steps
    loss_g = generator_loss(D(fake))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item(),
            "d_real": torch.sigmoid(real_logits).mean().item(),   # mean D(x)
            "d_fake": torch.sigmoid(fake_logits).mean().item()}   # mean D(G(z))
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_train_step", "points": 4}
def _tiny_gan(seed):
    torch.manual_seed(seed)
    G = MLPGenerator(8, (16,), (1, 4, 4))
    D = MLPDiscriminator((1, 4, 4), (16,))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-2, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.999))
    return G, D, opt_g, opt_d

_real_batch = torch.rand(16, 1, 4, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1
G_t, D_t, opt_g_t, opt_d_t = _tiny_gan(0)
_g_before = [p.detach().clone() for p in G_t.parameters()]
_d_before = [p.detach().clone() for p in D_t.parameters()]
_stats = train_step(G_t, D_t, opt_g_t, opt_d_t, _real_batch, 8, torch.Generator().manual_seed(1))
check_type(_stats, dict, "train_step's result")
check_true(set(_stats) == {"loss_d", "loss_g", "d_real", "d_fake"},
           f"train_step should return the keys loss_d, loss_g, d_real, d_fake; it returned {sorted(_stats)}.")
for _key, _value in _stats.items():
    check_type(_value, float, f"train_step(...)['{_key}'] (use .item())")
    check_true(math.isfinite(_value), f"{_key} is {_value}.")
check_true(any(not torch.equal(a, b) for a, b in zip(_g_before, G_t.parameters())), "G's parameters did not change.")
check_true(any(not torch.equal(a, b) for a, b in zip(_d_before, D_t.parameters())), "D's parameters did not change.")
print("train_step: visible checks passed")
### BEGIN HIDDEN TESTS
def _ref_noise(n, latent_dim, device, generator=None):
    return torch.randn(n, latent_dim, generator=generator).to(device)

def _ref_d_loss2(real_logits, fake_logits):
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

def _ref_g_loss(fake_logits, saturating=False):
    return -F.softplus(fake_logits).mean() if saturating else F.softplus(-fake_logits).mean()

def _ref_train_step(G, D, opt_g, opt_d, real, latent_dim, generator=None):
    fake = G(_ref_noise(len(real), latent_dim, real.device, generator))
    loss_d = _ref_d_loss2(D(real), D(fake.detach()))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    loss_g = _ref_g_loss(D(fake))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return loss_d.item(), loss_g.item()

_student_functions = {name: globals()[name] for name in ("sample_noise", "discriminator_loss", "generator_loss")}
globals().update(sample_noise=_ref_noise, discriminator_loss=_ref_d_loss2, generator_loss=_ref_g_loss)
try:
    # what happens at the moment each optimizer steps
    G_t, D_t, opt_g_t, opt_d_t = _tiny_gan(1)
    G_t.eval()
    D_t.eval()
    _g_start = [p.detach().clone() for p in G_t.parameters()]
    _seen = {"d_steps": 0, "g_steps": 0}

    def _before_d_step(optimizer, args, kwargs):
        _seen["d_steps"] += 1
        _seen["d_train_mode"] = D_t.training
        _seen["g_grad_in_d_step"] = any(p.grad is not None and p.grad.abs().sum() > 0 for p in G_t.parameters())
        _seen["g_changed_before_d_step"] = any(not torch.equal(a, b) for a, b in zip(_g_start, G_t.parameters()))

    def _after_d_step(optimizer, args, kwargs):
        _seen["d_after_d_step"] = [p.detach().clone() for p in D_t.parameters()]
        _seen["g_after_d_step"] = [p.detach().clone() for p in G_t.parameters()]

    def _before_g_step(optimizer, args, kwargs):
        _seen["g_steps"] += 1
        _seen["g_train_mode"] = G_t.training

    _hooks = [opt_d_t.register_step_pre_hook(_before_d_step), opt_d_t.register_step_post_hook(_after_d_step),
              opt_g_t.register_step_pre_hook(_before_g_step)]
    train_step(G_t, D_t, opt_g_t, opt_d_t, _real_batch, 8, torch.Generator().manual_seed(2))
    for _hook in _hooks:
        _hook.remove()
    check_true(_seen["d_steps"] == 1, f"opt_d.step() ran {_seen['d_steps']} times in one train_step; it should run once "
               "(the G step must step only opt_g).")
    check_true(_seen["g_steps"] == 1, f"opt_g.step() ran {_seen['g_steps']} times in one train_step; it should run once.")
    check_true(_seen["d_train_mode"], "D should be in training mode during its step (call D.train()).")
    check_true(_seen["g_train_mode"], "G should be in training mode during its step (call G.train()).")
    check_true(not _seen["g_grad_in_d_step"], "the D loss sent gradients into G: detach the fake batch in the D step.")
    check_true(not _seen["g_changed_before_d_step"], "G changed before the D step; the D step comes first.")
    check_true(all(torch.equal(a, b) for a, b in zip(_seen["d_after_d_step"], D_t.parameters())),
               "D's parameters changed after the D step: the G step must not update D.")
    check_true(any(not torch.equal(a, b) for a, b in zip(_seen["g_after_d_step"], G_t.parameters())),
               "G's parameters did not change in the G step.")

    # exact agreement with the reference over three seeded steps (catches gradients accumulating across calls)
    G_s, D_s, opt_g_s, opt_d_s = _tiny_gan(2)
    G_r, D_r, opt_g_r, opt_d_r = _tiny_gan(2)
    _gen_s, _gen_r = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    for _step in range(3):
        _out = train_step(G_s, D_s, opt_g_s, opt_d_s, _real_batch, 8, _gen_s)
        _ref = _ref_train_step(G_r, D_r, opt_g_r, opt_d_r, _real_batch, 8, _gen_r)
        check_close([_out["loss_d"], _out["loss_g"]], list(_ref), f"(loss_d, loss_g) at step {_step + 1}", atol=1e-5,
                    hint="Zero each optimizer's gradients before its backward pass; use one noise batch per step; "
                         "the G step uses the non-saturating loss.")
    for _a, _b in zip(list(G_s.parameters()) + list(D_s.parameters()), list(G_r.parameters()) + list(D_r.parameters())):
        check_close(_a, _b, "parameters after 3 steps", atol=1e-5,
                    hint="Compare your step with the recipe: zero_grad, backward, step, for D then for G.")

    # behaviour: on a fixed batch, D learns to separate it from G's samples
    G_b, D_b, opt_g_b, opt_d_b = _tiny_gan(4)
    _gen_b = torch.Generator().manual_seed(5)
    _losses = [train_step(G_b, D_b, opt_g_b, opt_d_b, _real_batch, 8, _gen_b)["loss_d"] for _ in range(30)]
    check_true(sum(_losses[-5:]) / 5 < sum(_losses[:5]) / 5,
               f"after 30 seeded steps D's loss on a fixed batch should fall; it went {_losses[0]:.3f} -> {_losses[-1]:.3f}.")
finally:
    globals().update(_student_functions)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Training
#
# Adam with $\beta_1 = 0.5$ (momentum that is too strong makes the two players overshoot each other), the same
# learning rate for both players, one D step per G step. A fixed batch of noise `fixed_noise` is pushed through the
# generator now and then, so the grid shows the *same* codes becoming digits. We log the losses and the
# discriminator's mean opinion of real ($D(x)$) and generated ($D(G(z))$) images.

# %%
def make_gan(hidden, seed=0):
    """A fresh generator/discriminator pair (D mirrors G's widths) and their Adam optimizers."""
    torch.manual_seed(seed)
    G = MLPGenerator(LATENT_DIM, hidden, (1, 28, 28)).to(device)
    D = MLPDiscriminator((1, 28, 28), tuple(reversed(hidden))).to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=BUDGET.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=BUDGET.lr, betas=(0.5, 0.999))
    return G, D, opt_g, opt_d


@torch.no_grad()
def generate(G, noise, batch=500):
    """Images in [0, 1] for classifiers and plots: G(z) in [-1, 1] mapped by (x + 1) / 2."""
    G.eval()
    return torch.cat([(G(chunk) + 1) / 2 for chunk in noise.split(batch)]).cpu()


G, D, opt_g, opt_d = make_gan(BUDGET.hidden)
print(f"G: {sum(p.numel() for p in G.parameters()):,} parameters, D: {sum(p.numel() for p in D.parameters()):,}")
batches = data.DeviceLoader(train_images, batch_size=BUDGET.batch_size, seed=0).forever()
noise_generator = torch.Generator().manual_seed(0)
fixed_noise = sample_noise(64, LATENT_DIM, device, torch.Generator().manual_seed(1))
snapshot_steps = {round(BUDGET.steps * (k + 1) / BUDGET.snapshots) for k in range(BUDGET.snapshots)} | {1}
snapshots = {}
history = History()
live = viz.LivePlot(["loss_d", "loss_g", "d_real", "d_fake"], title="GAN on MNIST", min_seconds=BUDGET.plot_seconds)

start = time.perf_counter()
bar = progress(BUDGET.steps, desc="GAN")
for step in range(1, BUDGET.steps + 1):
    stats = train_step(G, D, opt_g, opt_d, next(batches), LATENT_DIM, noise_generator)
    if step % BUDGET.log_every == 0 or step == 1:
        history.log(step, **stats)
        bar.set_postfix(loss_d=f"{stats['loss_d']:.3f}", loss_g=f"{stats['loss_g']:.3f}")
        live.update(history, generate(G, fixed_noise))
    if step in snapshot_steps:
        snapshots[step] = generate(G, fixed_noise)
    bar.update(1)
bar.close()
train_seconds = time.perf_counter() - start
live.close(history, generate(G, fixed_noise))
images_per_second = BUDGET.steps * BUDGET.batch_size / train_seconds
print(f"{BUDGET.steps} steps in {train_seconds:.1f} s: {images_per_second:,.0f} real images/s")

# %% [markdown]
# ### The same noise, over training

# %%
fig, axes = plt.subplots(1, len(snapshots), figsize=(2.6 * len(snapshots), 2.9))
for ax, (step, images) in zip(axes, sorted(snapshots.items())):
    viz.show_images(images[:36], nrow=6, ax=ax, title=f"step {step}")
fig.suptitle("G(fixed_noise) during training")
plt.show()

# %% [markdown]
# ### Curves
#
# Read them against the theory: at the game's equilibrium $D = 1/2$ on both kinds of images and
# $\mathcal L_D = 2\log 2 \approx 1.39$, $\mathcal L_G^\text{ns} = \log 2 \approx 0.69$. A real GAN hovers around a
# moving balance rather than converging; the warning sign is a curve running away — $\mathcal L_D \to 0$ with
# $D(G(z)) \to 0$ (section 8).

# %%
fig, (ax_loss, ax_d) = plt.subplots(1, 2, figsize=(11, 3.5))
viz.plot_curves(history, ["loss_d", "loss_g"], ax=ax_loss, title="losses", smooth=3)
ax_loss.axhline(2 * math.log(2), color="grey", ls=":", label="2 log 2")
ax_loss.axhline(math.log(2), color="grey", ls="--", label="log 2")
ax_loss.legend()
viz.plot_curves(history, ["d_real", "d_fake"], ax=ax_d, title="mean D(x) and D(G(z))", smooth=3)
ax_d.axhline(0.5, color="grey", ls=":")
plt.show()

# %% [markdown]
# ## 7. How good are the samples? Ask a digit classifier
#
# We cannot grade a picture by eye at scale, so we show samples to a pretrained MNIST classifier shipped with the
# course (over 99 % accurate on real test digits). Two questions:
# - **recognisable**: the fraction of samples it classifies with probability ≥ 0.9;
# - **coverage**: the histogram of predicted classes. A good generator makes all ten digits about equally often:
#   normalised entropy near 1, ten classes covered. Mode collapse shows up as a spike.
#
# The same numbers on real test digits are the reference line. One caveat: a classifier can be confidently wrong on
# images unlike any digit (the blobs of a very short run are often all called one class with high confidence), so
# these numbers mean something only together with a look at the samples.

# %%
classifier = load_mnist_classifier(device)
eval_noise = sample_noise(BUDGET.n_eval, LATENT_DIM, device, torch.Generator().manual_seed(2))
samples01 = generate(G, eval_noise)
gan_report = metrics.classifier_report(classifier, samples01)
real_report = metrics.classifier_report(classifier, test.subset(BUDGET.n_eval, seed=0).images)  # a random subset
for name, report in (("GAN samples", gan_report), ("real test digits", real_report)):
    print(f"{name:17s} recognisable {report['confident']:.1%}, classes covered {report['classes_covered']}/10, "
          f"coverage entropy {report['coverage_entropy'] + 0.0:.3f}")
viz.show_images(samples01[:100], nrow=20, title=f"{BUDGET.n_eval} samples drawn, the first 100")
plt.show()

# %%
fig, ax = plt.subplots(figsize=(7, 3.2))
digits = torch.arange(10)
ax.bar(digits - 0.2, torch.tensor(gan_report["counts"]) / BUDGET.n_eval, width=0.4, label="GAN samples")
ax.bar(digits + 0.2, torch.tensor(real_report["counts"]) / BUDGET.n_eval, width=0.4, label="real test digits")
ax.axhline(0.1, color="grey", ls=":", label="uniform")
ax.set_xticks(digits)
ax.set_xlabel("predicted class")
ax.set_ylabel("fraction of samples")
ax.set_title(f"class coverage (entropy: GAN {gan_report['coverage_entropy']:.2f}, real {real_report['coverage_entropy']:.2f})")
ax.legend()
plt.show()

# %% [markdown]
# ## 8. What goes wrong
#
# ### 8.1 A discriminator that learns too fast
#
# The theory assumes $D$ stays near its optimum for the current $G$; then why not make it very strong? Because a
# discriminator that separates real from fake *perfectly* has $D(G(z)) \approx 0$ on every sample, and section 2
# says what the saturating (minimax) loss's gradient is there: nearly zero. Below, two short runs from the same
# start: the baseline, and a discriminator that takes 5 steps per G step (same learning rate). We record
# $\mathcal L_D$, the mean $D(G(z))$, and the norm of the gradient each generator loss would send into $G$'s
# parameters on a fixed noise batch.

# %%
def gradient_norm_into_g(G, D, noise, saturating):
    """||d L_G / d theta_G|| on a fixed noise batch, for one of the two generator losses."""
    G.zero_grad()
    generator_loss(D(G(noise)), saturating=saturating).backward()
    norm = torch.sqrt(sum((p.grad ** 2).sum() for p in G.parameters())).item()
    G.zero_grad()
    D.zero_grad()
    return norm


def short_run(d_steps, steps=BUDGET.fail_steps, every=BUDGET.fail_every):
    """Train a fresh GAN for `steps` G steps with `d_steps` D steps per G step; returns a History."""
    G, D, opt_g, opt_d = make_gan(BUDGET.hidden, seed=1)
    batches = data.DeviceLoader(train_images, batch_size=BUDGET.batch_size, seed=1).forever()
    noise_generator = torch.Generator().manual_seed(1)
    probe = sample_noise(256, LATENT_DIM, device, torch.Generator().manual_seed(3))
    log = History()
    for step in range(1, steps + 1):
        for _ in range(d_steps - 1):  # extra D-only steps: L_D on a new real batch and detached fakes
            real = next(batches)
            with torch.no_grad():
                fake = G(sample_noise(len(real), LATENT_DIM, device, noise_generator))
            loss = discriminator_loss(D(real), D(fake))
            opt_d.zero_grad()
            loss.backward()
            opt_d.step()
        stats = train_step(G, D, opt_g, opt_d, next(batches), LATENT_DIM, noise_generator)
        if step % every == 0 or step == 1:
            log.log(step, loss_d=stats["loss_d"], d_fake=stats["d_fake"],
                    grad_saturating=gradient_norm_into_g(G, D, probe, saturating=True),
                    grad_non_saturating=gradient_norm_into_g(G, D, probe, saturating=False))
    return log


runs = {"baseline (1 D step per G step)": short_run(1), "strong D (5 D steps per G step)": short_run(5)}
fig, axes = plt.subplots(1, 3, figsize=(15, 3.5))
for (name, log), colour in zip(runs.items(), ("C0", "C1")):
    axes[0].plot(*log.series("loss_d"), color=colour, label=name)
    axes[1].plot(*log.series("d_fake"), color=colour, label=name)
    axes[2].plot(*log.series("grad_saturating"), color=colour, label=f"saturating, {name.split(' (')[0]}")
    axes[2].plot(*log.series("grad_non_saturating"), color=colour, ls="--", label=f"non-saturating, {name.split(' (')[0]}")
for ax, title in zip(axes, ("L_D", "mean D(G(z))", "gradient norm into G (fixed noise)")):
    ax.set_title(title)
    ax.set_xlabel("G step")
    ax.grid(alpha=0.3)
axes[2].set_yscale("log")
axes[0].legend()
axes[2].legend(fontsize=8)
plt.show()
for name, log in runs.items():
    print(f"{name:30s} final L_D {log.latest('loss_d'):.3f}, D(G(z)) {log.latest('d_fake'):.3f}, "
          f"grad norm: saturating {log.latest('grad_saturating'):.2e}, non-saturating {log.latest('grad_non_saturating'):.2e}")

# %% [markdown]
# The strong discriminator drives $\mathcal L_D$ towards 0 and $D(G(z))$ towards 0; the saturating loss's gradient
# into $G$ (solid orange) shrinks with it, by orders of magnitude — under the minimax objective the generator would
# stop learning. The non-saturating loss (dashed), which this generator trains with, keeps a usable gradient, and in
# a long enough run the generator may find a way out (D's loss rises again). That is why it is the default; but it
# does not fix the imbalance: its gradients come
# from a discriminator whose decision surface is nearly flat and saturated around the fakes, so they carry little
# information about *where* the real digits are. Balancing the players (learning rates, steps, capacity) is the
# first knob when a GAN stalls.
#
# ### 8.2 Mode collapse
#
# The generator is rewarded for each sample the discriminator believes, not for variety. Suppose the discriminator
# stopped adapting. Then the generator's best reply is to send *every* $z$ to the single image that $D$ scores
# highest: one digit, one style. In a healthy game $D$ soon learns that this image is suspicious and the generator
# moves on, but it may jump to another favourite instead of spreading out — partial or cycling collapse.
#
# This is a **contrived** experiment that shows the mechanism quickly: we take the trained $G$ and $D$ from
# section 6, freeze $D$, and keep training a copy of $G$ alone (non-saturating loss, 5× learning rate). Every few
# steps the classifier measures class coverage. Real GANs collapse more slowly and less completely, because $D$
# does respond; the cause — the generator chasing whatever $D$ currently likes — is the same.

# %%
G_collapse = copy.deepcopy(G)
D_frozen = copy.deepcopy(D).requires_grad_(False)
opt_collapse = torch.optim.Adam(G_collapse.parameters(), lr=5 * BUDGET.lr, betas=(0.5, 0.999))
collapse_noise = torch.Generator().manual_seed(4)
probe_noise = sample_noise(500, LATENT_DIM, device, torch.Generator().manual_seed(5))
coverage = History()
for step in range(0, BUDGET.collapse_steps + 1):
    if step % BUDGET.collapse_every == 0:
        report = metrics.classifier_report(classifier, generate(G_collapse, probe_noise))
        coverage.log(step, coverage_entropy=report["coverage_entropy"], classes_covered=report["classes_covered"])
    if step == BUDGET.collapse_steps:
        break
    G_collapse.train()
    z = sample_noise(BUDGET.batch_size, LATENT_DIM, device, collapse_noise)
    loss = generator_loss(D_frozen(G_collapse(z)))  # only G moves: D is frozen
    opt_collapse.zero_grad()
    loss.backward()
    opt_collapse.step()
collapsed_report = metrics.classifier_report(classifier, generate(G_collapse, eval_noise))

fig, axes = plt.subplots(1, 3, figsize=(15, 3.5))
axes[0].plot(*coverage.series("coverage_entropy"), marker="o")
axes[0].set_ylim(0, 1.05)
axes[0].set_title("coverage entropy of G's samples (D frozen)")
axes[0].set_xlabel("G-only step")
axes[0].grid(alpha=0.3)
axes[1].bar(digits - 0.2, torch.tensor(gan_report["counts"]) / BUDGET.n_eval, width=0.4, label="before")
axes[1].bar(digits + 0.2, torch.tensor(collapsed_report["counts"]) / BUDGET.n_eval, width=0.4, label="after")
axes[1].set_xticks(digits)
axes[1].set_title("predicted classes")
axes[1].legend()
viz.show_images(generate(G_collapse, fixed_noise)[:36], nrow=6, ax=axes[2], title="G(fixed_noise) after")
plt.show()
print(f"before: {gan_report['classes_covered']} classes, entropy {gan_report['coverage_entropy']:.2f}; "
      f"after {BUDGET.collapse_steps} G-only steps: {collapsed_report['classes_covered']} classes, "
      f"entropy {collapsed_report['coverage_entropy']:.2f}")

# %% [markdown]
# Read the three panels together. The coverage entropy falls within a few dozen steps: the classifier puts nearly
# all samples into one or two classes — whichever D happens to favour. The images need not be identical yet (a point
# mass is the *limit*; the images first drift towards the features D scores highest, often losing their digit
# shape on the way), but diversity in the sense that matters — which digits appear — is gone. Compare the "before"
# bars with the real digits' histogram in section 7 as well: an uneven histogram after normal training is a partial
# collapse of the same kind.
#
# ## 9. Questions
#
# **Q1.** In the D step we feed `fake.detach()` to the discriminator. What would go wrong — in what the step
# computes, and in what it costs — if we fed `fake` instead (with `opt_g.zero_grad()` before the G step's backward,
# as in your `train_step`)?

# %% [markdown] nbgrader={"grade_id": "q_detach", "solution": true, "points": 2}
# The D loss's backward pass would continue through `fake` into the generator: it would compute gradients for G's
# parameters that nobody should use (they are gradients of *D's* objective, which G wants the opposite of), spending
# a full backward pass through G for nothing. With `opt_g.zero_grad()` right before the G step's backward those
# stale gradients are cleared, so the update itself would be unchanged — but `backward()` also frees G's graph, so
# the G step's `backward()` through the same `fake` would fail ("backward through the graph a second time") unless
# G were run again or `retain_graph=True` kept the graph. If the zeroing happened earlier (e.g. both `zero_grad`s at
# the top of the step), the D loss's gradients would be *added* to G's, silently pushing G the wrong way.

# %% [markdown]
# **Q2.** During a run, $\mathcal L_D$ falls to about 0.01 and stays there, with mean $D(G(z)) \approx 0.001$. Is
# this a good discriminator? What does it mean for the generator under the saturating and the non-saturating loss,
# and name two changes you would try.

# %% [markdown] nbgrader={"grade_id": "q_strong_d", "solution": true, "points": 2}
# No: at the equilibrium the discriminator cannot tell real from fake, $D = 1/2$ and $\mathcal L_D = 2\log 2 \approx
# 1.39$. A loss near 0 means D wins outright: the generator's samples are trivially separable. Under the saturating
# loss the gradient per sample is $D(G(z)) \approx 0.001$, so G receives almost no signal and stops learning. Under the
# non-saturating loss the gradient $1 - D(G(z)) \approx 1$ does not vanish, but it comes from a saturated, nearly flat
# discriminator and carries little useful direction, so training usually stalls or becomes erratic. Fixes: weaken or
# slow D (lower its learning rate, fewer D steps, smaller D, dropout), strengthen G, add instance noise or label
# smoothing to the real targets, or regularise D (spectral normalisation, gradient penalty).

# %% [markdown]
# **Q3.** Show that the saturating and non-saturating generator losses have the same stationary points with respect
# to $D(G(z))$ but different gradient magnitudes, and say which values of $D(G(z))$ each one "ignores".

# %% [markdown] nbgrader={"grade_id": "q_saturating", "solution": true, "points": 2}
# With logit $\ell$ and $d = \sigma(\ell)$: $\partial_\ell \log(1 - \sigma(\ell)) = -d$ and $\partial_\ell(-\log\sigma(\ell))
# = -(1 - d)$. Both are negative for every $d \in (0, 1)$: both losses always ask G to raise $D(G(z))$, and both are
# monotone decreasing in $d$, so they share their minimisers (the G that makes D believe its samples); through the
# chain rule the gradient into G's parameters is the same vector $\partial\ell/\partial\theta$ scaled by $d$ or by
# $1 - d$. The saturating loss scales by $d$: it ignores samples D confidently rejects ($d \to 0$), which early in
# training are all of them. The non-saturating loss scales by $1 - d$: it ignores samples D already accepts
# ($d \to 1$) and pushes hardest on the worst ones.

# %% [markdown]
# **Q4.** In section 8.2 the generator collapsed once D was frozen. Explain why this is G's optimal response to a
# fixed D, why alternating updates do not fully prevent it, and name one technique designed against mode collapse.

# %% [markdown] nbgrader={"grade_id": "q_collapse", "solution": true, "points": 2}
# For a fixed D the generator's loss $\mathbb E_z[-\log D(G(z))]$ is an average of independent terms, one per $z$,
# each minimised by mapping $z$ to a point $x^* = \arg\max_x D(x)$; nothing in the loss rewards two codes for
# producing different images, so the optimum is a point mass on $x^*$. Alternating updates let D react (it lowers
# $D$ around $x^*$), but D only sees the current samples, so G can hop to the next point D likes, and back: the game
# can cycle between modes instead of spreading over all of them, especially when G moves faster than D. Remedies
# include minibatch discrimination / minibatch standard deviation (D sees statistics of a whole batch, so a batch of
# identical samples is easy to reject), unrolled GANs (G anticipates D's response), losses with better-behaved
# gradients such as WGAN-GP, and conditioning on labels (lesson 04).

# %% [markdown]
# ## 10. Going further
#
# - **DCGAN** (Radford et al., 2015) — convolutional G and D with batch normalisation: much sharper digits and faces;
#   lesson 03.
# - **Conditional GANs** (Mirza & Osindero, 2014) — give both players the label; lesson 04.
# - **Other losses** — least squares (LSGAN), Wasserstein with weight clipping or gradient penalty (WGAN, WGAN-GP),
#   hinge loss; lesson 05.
# - **Spectral normalisation** (Miyato et al., 2018) — bound D's Lipschitz constant layer by layer; a one-line
#   stabiliser (`torch.nn.utils.parametrizations.spectral_norm`).
# - **TTUR** (Heusel et al., 2017) — separate learning rates for D and G (two time-scale update rule), with a
#   convergence proof; the same paper introduced FID (lesson 06).
# - **Minibatch discrimination** (Salimans et al., 2016) and **minibatch standard deviation** (Karras et al., 2018)
#   against mode collapse; the same Salimans paper adds feature matching, historical averaging and one-sided label
#   smoothing.
# - **Measuring**: our classifier numbers see recognisability and class balance only; FID and IS (lesson 06) compare
#   whole feature distributions.

# %% [markdown]
# ## 11. Results

# %%
results_table("02_gan", {
    "data": "stand-in" if train.is_standin else "MNIST",
    "recognisable_fraction": gan_report["confident"],
    "real_recognisable_fraction": real_report["confident"],
    "classes_covered": gan_report["classes_covered"],
    "coverage_entropy": gan_report["coverage_entropy"],
    "real_coverage_entropy": real_report["coverage_entropy"],
    "final_loss_d": history.mean("loss_d", last=5),
    "final_loss_g": history.mean("loss_g", last=5),
    "steps": BUDGET.steps,
    "train_seconds": train_seconds,
    "images_per_second": images_per_second,
    "collapsed_coverage_entropy": collapsed_report["coverage_entropy"],
})
