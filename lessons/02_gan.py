# %% [markdown]
# # 02 — Generative adversarial networks (GAN): a 2-D toy, then MNIST
#
# A generator turns random noise into samples; a discriminator tries to tell those samples from real ones. Each
# learns from the other's mistakes. In this lesson you write the pieces of the original GAN (Goodfellow et al.,
# 2014) — the noise, both losses, the two networks and the alternating training step — and train it twice: first
# on a 2-D toy (eight Gaussians on a ring), where the optimal discriminator and mode collapse can be computed
# *exactly*, then on MNIST digits. At the end you break it on purpose and measure what you broke.
#
# **You will be able to**
# - write the GAN minimax objective, derive the optimal discriminator $D^*$ and the Jensen–Shannon divergence
#   it turns the game into, and check $D^*$ against a trained discriminator on a grid;
# - implement the discriminator loss and both generator losses on logits, and explain why the *non-saturating*
#   one is used in practice;
# - build the generator and discriminator networks and one alternating training step: what is detached, which
#   gradients are zeroed, which optimizer steps when, and what the step reports;
# - recognise a discriminator that wins too fast and mode collapse, and measure sample quality, diversity and
#   copying (nearest training image) against real data, noise and a trivial baseline.
#
# **Prerequisites**: PyTorch modules, optimizers and autograd; binary cross-entropy; a KL divergence (defined
# below where used). Lesson 01 (latent variables) helps but is not required.
#
# **Time budget** (whole notebook; choose with `GENLAB_PROFILE` before starting the kernel):
#
# | profile | what it trains | time |
# |---|---|---|
# | `smoke` | 200 toy steps, 100 MNIST steps: checks that everything runs; numbers are not meaningful | 18 s on 2 CPU cores (target ≤ 60 s) |
# | `cpu` | 3,000 toy steps, 12,000 MNIST steps of small MLPs | 4.3 min on 2 CPU cores (target ≤ 10 min) |
# | `gpu` | 5,000 toy steps, 30,000 MNIST steps of wider MLPs | aims at under 10 minutes on one GPU (not yet timed) |
#
# Exercises: 6 (19 points, autograded) and 4 written questions (9 points, read by a person).

# %%
import copy
import math
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from genlab import config, data, grading, metrics, viz
from genlab.assets import load_mnist_classifier
from genlab.grading import (
    CheckFailed,
    attempt,
    check_close,
    check_finite,
    check_param_count,
    check_shape,
    check_true,
    check_type,
    require,
)
from genlab.toy import GaussianMixture2D
from genlab.train import History, progress, results_table, threads

device = config.setup("02_gan")

# One budget table for the whole lesson: nothing below picks its own sizes.
BUDGET = config.budget({
    "smoke": dict(toy_steps=200, toy_batch=128, toy_hidden=(64, 64), toy_lr=1e-3, toy_log_every=25,
                  toy_grid_samples=20000, refit_steps=100, toy_collapse_steps=30, n_nn=100,
                  steps=100, batch_size=64, hidden=(64, 128), lr=2e-4, log_every=20, snapshots=3,
                  fail_steps=12, fail_every=4, collapse_steps=20, collapse_every=10, n_eval=200, nn_train=5000,
                  plot_seconds=10),
    "cpu": dict(toy_steps=3000, toy_batch=256, toy_hidden=(128, 128), toy_lr=1e-3, toy_log_every=100,
                toy_grid_samples=200000, refit_steps=1000, toy_collapse_steps=300, n_nn=1000,
                steps=12000, batch_size=64, hidden=(256, 512), lr=2e-4, log_every=50, snapshots=6,
                fail_steps=300, fail_every=15, collapse_steps=200, collapse_every=20, n_eval=1000, nn_train=60000,
                plot_seconds=5),
    "gpu": dict(toy_steps=5000, toy_batch=256, toy_hidden=(128, 128), toy_lr=1e-3, toy_log_every=100,
                toy_grid_samples=200000, refit_steps=2000, toy_collapse_steps=300, n_nn=2000,
                steps=30000, batch_size=128, hidden=(256, 512, 1024), lr=2e-4, log_every=100, snapshots=6,
                fail_steps=1000, fail_every=25, collapse_steps=400, collapse_every=20, n_eval=2000, nn_train=60000,
                plot_seconds=5),
})
LATENT_DIM = 64
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
# ### 2.1 The optimal discriminator
#
# Fix $G$ and let $p_g$ be the density of its samples $G(z)$. The second expectation is over $z$, but it only
# depends on where $G$ sends $z$, so it equals $\mathbb E_{x\sim p_g}[\log(1 - D(x))]$, and
#
# $$
# V(D, G) = \int \Big(p_\text{data}(x)\log D(x) + p_g(x)\log\big(1 - D(x)\big)\Big)\,dx .
# $$
#
# $D$ may choose its value at every $x$ separately, so we maximise the integrand pointwise. With $a = p_\text{data}(x)$,
# $b = p_g(x)$ and $y = D(x)$, the function $f(y) = a\log y + b\log(1-y)$ has $f'(y) = a/y - b/(1-y)$, which is zero
# at $y = a/(a+b)$, and $f''(y) = -a/y^2 - b/(1-y)^2 < 0$, so that is the maximum:
#
# $$
# D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_g(x)} .
# $$
#
# Where only real data lives, $D^* = 1$; where only fakes land, $D^* = 0$; where the two densities are equal,
# $D^* = 1/2$. (Where neither lives, $D^*$ is not determined: no sample ever asks.) In section 6 you will compute
# $D^*$ exactly for a 2-D toy and lay the trained discriminator over it.
#
# ### 2.2 What the generator then minimises: the Jensen–Shannon divergence
#
# The **Kullback–Leibler divergence** $\mathrm{KL}(P\,\|\,Q) = \int p\log\frac{p}{q}\,dx \ge 0$ is zero only for $P = Q$,
# but it is asymmetric and infinite where $q = 0 < p$. The **Jensen–Shannon divergence** compares both
# distributions with their average $M = \tfrac12(P + Q)$:
#
# $$
# \mathrm{JSD}(P\,\|\,Q) = \tfrac12\,\mathrm{KL}(P\,\|\,M) + \tfrac12\,\mathrm{KL}(Q\,\|\,M), \qquad m = \tfrac12(p + q).
# $$
#
# It is symmetric, always finite ($M$ is positive wherever $P$ or $Q$ is), and $0 \le \mathrm{JSD} \le \log 2$:
# zero exactly when $P = Q$, $\log 2$ when the two have disjoint supports.
#
# Now put $D^*$ into $V$. Write $m = \tfrac12(p_\text{data} + p_g)$, so $p_\text{data} + p_g = 2m$:
#
# $$
# \begin{aligned}
# V(D^*, G) &= \mathbb E_{p_\text{data}}\Big[\log\frac{p_\text{data}}{p_\text{data}+p_g}\Big]
#            + \mathbb E_{p_g}\Big[\log\frac{p_g}{p_\text{data}+p_g}\Big] \\
#   &= \mathbb E_{p_\text{data}}\Big[\log\frac{p_\text{data}}{2m}\Big] + \mathbb E_{p_g}\Big[\log\frac{p_g}{2m}\Big] \\
#   &= \mathbb E_{p_\text{data}}\Big[\log\frac{p_\text{data}}{m}\Big] - \log 2
#    + \mathbb E_{p_g}\Big[\log\frac{p_g}{m}\Big] - \log 2 \\
#   &= \mathrm{KL}(p_\text{data}\,\|\,m) + \mathrm{KL}(p_g\,\|\,m) - \log 4 \\
#   &= 2\,\mathrm{JSD}(p_\text{data}\,\|\,p_g) - \log 4 .
# \end{aligned}
# $$
#
# (Third line: $\log\frac{p}{2m} = \log\frac{p}{m} - \log 2$, and each expectation of the constant $\log 2$ is
# $\log 2$.) So against a perfect discriminator the generator minimises the JSD between its samples and the data.
# Its minimum, $-\log 4$, is reached exactly at $p_g = p_\text{data}$, where $D^* = 1/2$ everywhere. The
# discriminator's loss below is $-V$ with batch means in place of expectations, so at that equilibrium it equals
# $\log 4 = 2\log 2 \approx 1.386$.
#
# ### 2.3 Losses on logits
#
# Our discriminator outputs a *logit* $\ell$ and $D(x) = \sigma(\ell)$. Then
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
# Both are decreasing functions of $D(G(z))$, so both push it up; they differ in *where* their gradients are large.
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

# %% [markdown]
# ## 3. Exercises: noise and losses
#
# ### Exercise 1 — noise (1 point)
#
# Write `sample_noise(n, latent_dim, device, generator=None)`: a float32 tensor of shape `(n, latent_dim)` with
# independent standard normal entries, $z \sim \mathcal N(0, I)$, on `device`. Draw it on the CPU with the given
# `torch.Generator` (or the global random state when `generator` is None) and then move it to `device`: a CPU
# generator cannot draw on a GPU, and drawing on the CPU gives the same numbers on every machine — which is what
# lets the checks below compare your training step with stored numbers.

# %% nbgrader={"grade_id": "sample_noise", "solution": true}
def sample_noise(n, latent_dim, device, generator=None):
    """Standard normal noise of shape (n, latent_dim), float32, on `device`."""
    ### BEGIN SOLUTION
    # z ~ N(0, I), drawn on the CPU so that a seeded generator gives the same z on every device
    noise = torch.randn(n, latent_dim, generator=generator)
    return noise.to(device)
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_sample_noise", "points": 1}
### BEGIN HIDDEN TESTS
def _ref_noise(n, latent_dim, device, generator=None):
    return torch.randn(n, latent_dim, generator=generator).to(device)


grading.register_reference(sample_noise=_ref_noise)
### END HIDDEN TESTS
z = attempt(sample_noise, 5, 3, "cpu", what="sample_noise(5, 3, 'cpu')")
check_shape(z, (5, 3), "sample_noise(5, 3, 'cpu')")
check_true(z.dtype == torch.float32, f"the noise should be float32, not {z.dtype}.")
check_finite(z, "the noise")
z_a = sample_noise(4, 2, "cpu", torch.Generator().manual_seed(7))
z_b = sample_noise(4, 2, "cpu", torch.Generator().manual_seed(7))
check_close(z_a, z_b, "noise from two generators with the same seed", hint="Pass `generator` to the sampling call.")
check_close(z_a[0], [-0.1468, 0.7861], "the first row of sample_noise(4, 2, 'cpu', Generator().manual_seed(7))",
            atol=1e-4, hint="Draw N(0, I) with torch.randn(n, latent_dim, generator=generator) (not rand: uniform).")
print("sample_noise: visible checks passed")
### BEGIN HIDDEN TESTS
_big = sample_noise(20000, 8, torch.device("cpu"), torch.Generator().manual_seed(3))
check_shape(_big, (20000, 8), "sample_noise(20000, 8, ...)")
check_true(abs(_big.mean().item()) < 0.03, f"noise mean {_big.mean().item():.3f}; N(0, I) has mean 0 (uniform noise?).")
check_true(abs(_big.std().item() - 1) < 0.03, f"noise std {_big.std().item():.3f}; N(0, I) has std 1.")
_expected = torch.randn(6, 5, generator=torch.Generator().manual_seed(11))
check_close(sample_noise(6, 5, "cpu", torch.Generator().manual_seed(11)), _expected,
            "seeded noise", atol=0, rtol=0, hint="Draw with torch.randn(n, latent_dim, generator=generator).")
torch.manual_seed(5)
_global_a = sample_noise(3, 4, "cpu")
torch.manual_seed(5)
_global_b = sample_noise(3, 4, "cpu")
check_close(_global_a, _global_b, "noise with generator=None after torch.manual_seed", atol=0, rtol=0)
check_true(sample_noise(2, 3, torch.device("meta")).device.type == "meta", "the noise must be moved to `device`.")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 — the discriminator's loss (3 points)
#
# Write `discriminator_loss(real_logits, fake_logits)` $= \mathcal L_D$ from section 2.3: binary cross-entropy *on
# logits* with target 1 for the real batch and 0 for the fake batch, **the mean over each batch, the two means
# summed** (the batches may have different sizes). Use `F.binary_cross_entropy_with_logits` (or `F.softplus`), which
# stays finite for large logits; do not apply a sigmoid yourself. The result is differentiated in the training
# step, so keep both terms in the graph.

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


# %% nbgrader={"grade_id": "test_discriminator_loss_value", "points": 2}
### BEGIN HIDDEN TESTS
def _ref_d_loss(real_logits, fake_logits):
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


grading.register_reference(discriminator_loss=_ref_d_loss)
### END HIDDEN TESTS
_loss = attempt(discriminator_loss, torch.zeros(4), torch.zeros(4), what="discriminator_loss(zeros, zeros)")
check_shape(_loss, (), "discriminator_loss(...)")
check_close(_loss, 2 * math.log(2), "L_D when D says 1/2 to everything",
            hint="At D = 1/2, each mean BCE is log 2 and their sum is 2 log 2 (section 2.3).")
check_close(discriminator_loss(torch.tensor([2.0, -1.0]), torch.tensor([0.5])), 1.6942, "L_D(real [2, -1], fake [0.5])",
            atol=1e-4, hint="Real targets 1, fake targets 0, BCE on logits (no sigmoid of your own); a mean per batch, "
                            "the two means summed.")
print("discriminator_loss: visible checks passed")
### BEGIN HIDDEN TESTS
_real = torch.tensor([2.0, -1.0, 0.5, 3.0])
_fake = torch.tensor([-2.0, 1.5])
check_close(discriminator_loss(_real, _fake), _ref_d_loss(_real, _fake), "L_D for fixed logits",
            hint="Real targets are 1, fake targets are 0; a mean over each batch, then the sum of the two means.")
check_true(discriminator_loss(torch.full((3,), -5.0), torch.full((3,), 5.0)) > 5,
           "A discriminator that is confidently wrong must have a large loss (labels swapped?).")
check_close(discriminator_loss(torch.tensor([1.0, 1.0, 1.0]), torch.tensor([-4.0])),
            F.softplus(torch.tensor(-1.0)) + F.softplus(torch.tensor(-4.0)), "L_D with batches of different sizes",
            hint="Take the mean over each batch separately and add them.")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_discriminator_loss_grad", "points": 1}
_rl = torch.tensor([0.3, -0.7, 1.2], requires_grad=True)
_fl = torch.tensor([0.9, -2.0], requires_grad=True)
attempt(lambda: discriminator_loss(_rl, _fl).backward(), what="discriminator_loss(...).backward()")
check_true(_rl.grad is not None and _fl.grad is not None,
           "no gradient reached the real or the fake logits: a .detach(), .item() or torch.no_grad() cuts that term "
           "off the graph, so D could not learn from it.")
check_close(_rl.grad, [-0.1419, -0.2227, -0.0772], "dL_D / d real logits", atol=1e-4,
            hint="d/dl softplus(-l) = sigmoid(l) - 1, divided by the batch size: keep the real term in the graph "
                 "(no .detach(), no .item()) and take a mean.")
check_close(_fl.grad, [0.3555, 0.0596], "dL_D / d fake logits", atol=1e-4,
            hint="d/dl softplus(l) = sigmoid(l), divided by the batch size: keep the fake term in the graph.")
check_finite(discriminator_loss(torch.tensor([-200.0]), torch.tensor([150.0])), "L_D for logits -200 / 150")
print("discriminator_loss gradients: visible checks passed")
### BEGIN HIDDEN TESTS
_big_loss = discriminator_loss(torch.tensor([-200.0]), torch.tensor([150.0]))
check_close(_big_loss, 350.0, "L_D for logits -200 / 150", rtol=1e-5, hint="Use the logit form, not log(sigmoid(.)).")
grading.check_gradients(discriminator_loss, _ref_d_loss,
                        {"real_logits": torch.tensor([2.5, -0.3, 0.0, 1.1]), "fake_logits": torch.tensor([-1.5, 0.7])},
                        "discriminator_loss")
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
# Work on logits (softplus identities in section 2.3), so both stay finite for any logit.

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


# %% nbgrader={"grade_id": "test_generator_loss_value", "points": 2}
### BEGIN HIDDEN TESTS
def _ref_g_loss(fake_logits, saturating=False):
    return -F.softplus(fake_logits).mean() if saturating else F.softplus(-fake_logits).mean()


grading.register_reference(generator_loss=_ref_g_loss)
### END HIDDEN TESTS
_g = attempt(generator_loss, torch.zeros(5), what="generator_loss(zeros)")
check_shape(_g, (), "generator_loss(...)")
check_close(_g, math.log(2), "non-saturating loss at D = 1/2", hint="-log(1/2) = log 2.")
check_close(generator_loss(torch.zeros(5), saturating=True), -math.log(2), "saturating loss at D = 1/2",
            hint="log(1 - 1/2) = -log 2: the saturating loss is negative.")
check_close(generator_loss(torch.tensor([2.0, -1.0])), 0.7201, "non-saturating loss for logits [2, -1]", atol=1e-4,
            hint="-mean log sigmoid(l): target 1 (\"make D say real\").")
check_close(generator_loss(torch.tensor([2.0, -1.0]), saturating=True), -1.2201,
            "saturating loss for logits [2, -1]", atol=1e-4, hint="mean log(1 - sigmoid(l)) = -mean softplus(l).")
print("generator_loss: visible checks passed")
### BEGIN HIDDEN TESTS
_logits = torch.tensor([-3.0, -0.5, 0.0, 2.0])
check_close(generator_loss(_logits), F.softplus(-_logits).mean(), "non-saturating loss for fixed logits",
            hint="-mean log D(G(z)) with D = sigmoid(logit).")
check_close(generator_loss(_logits, saturating=True), -F.softplus(_logits).mean(), "saturating loss for fixed logits",
            hint="mean log(1 - D(G(z))), which is negative.")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_generator_loss_grad", "points": 1}
_l = torch.tensor([-6.0, -1.0, 0.5, 3.0], requires_grad=True)
attempt(lambda: generator_loss(_l).backward(), what="generator_loss(...).backward()")
check_close(_l.grad, [-0.2494, -0.1828, -0.0944, -0.0119], "d L_G^ns / d logits", atol=1e-4,
            hint="d/dl softplus(-l) = sigmoid(l) - 1, over the batch size.")
_l.grad = None
generator_loss(_l, saturating=True).backward()
check_close(_l.grad, [-0.0006, -0.0672, -0.1556, -0.2381], "d L_G^sat / d logits", atol=1e-4,
            hint="d/dl -softplus(l) = -sigmoid(l), over the batch size.")
check_finite(generator_loss(torch.tensor([-200.0])), "non-saturating loss at logit -200")
check_finite(generator_loss(torch.tensor([200.0]), saturating=True), "saturating loss at logit 200")
print("generator_loss gradients: visible checks passed")
### BEGIN HIDDEN TESTS
check_close(generator_loss(torch.tensor([-200.0])), 200.0, "non-saturating loss at logit -200", rtol=1e-5)
check_close(generator_loss(torch.tensor([200.0]), saturating=True), -200.0, "saturating loss at logit 200", rtol=1e-5)
for _saturating in (False, True):
    grading.check_gradients(lambda fake_logits, s=_saturating: generator_loss(fake_logits, saturating=s),
                            lambda fake_logits, s=_saturating: _ref_g_loss(fake_logits, saturating=s),
                            {"fake_logits": torch.tensor([-2.0, 0.3, 1.7])}, f"generator_loss(saturating={_saturating})")
### END HIDDEN TESTS

# %% [markdown]
# ### Why the non-saturating loss: the gradients
#
# Each loss's gradient with respect to the discriminator's logit for one generated image, computed by autograd
# through *your* `generator_loss`, plotted against $D(G(z))$. Left of the plot is where a fresh generator lives:
# the discriminator is sure its images are fake.

# %%
# needs: generator_loss (Exercise 3)
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
# needs to learn. The non-saturating loss's gradient is $1 - D(G(z))$: largest exactly there.

# %% [markdown]
# ## 4. Exercises: the two networks
#
# Both players are small multilayer perceptrons (MLPs), and the same two classes serve the 2-D toy (samples of
# shape `(2,)`) and MNIST (images of shape `(1, 28, 28)`).
#
# - The **generator** maps $z$ through `Linear` layers of the widths in `hidden`, each followed by
#   `LeakyReLU(0.2)`, then a `Linear` layer to $\prod(\text{out\_shape})$ numbers and `tanh`, reshaped to
#   `(N, *out_shape)`. The `tanh` keeps samples in $[-1, 1]$, which is why the data are scaled to $[-1, 1]$ too.
# - The **discriminator** flattens its input, applies `Linear` layers of the widths in `hidden`, each followed by
#   `LeakyReLU(0.2)`, and a last `Linear` layer to **one logit** per sample, returned with shape `(N,)`: no sigmoid
#   (the losses take logits).
#
# LeakyReLU rather than ReLU: a ReLU unit that is off passes no gradient, and the generator learns *only* through
# the gradient that flows back through every layer of $D$; a leak of 0.2 keeps that path open everywhere.
# Every `Linear` has a bias. Create the layers in the order they are applied (`nn.Sequential` is the simplest way).
#
# ### Exercise 4 — the generator (2 points)

# %% nbgrader={"grade_id": "generator_net", "solution": true}
class Generator(nn.Module):
    """z of shape (N, latent_dim) -> samples of shape (N, *out_shape) in [-1, 1]."""

    def __init__(self, latent_dim, hidden, out_shape):
        super().__init__()
        ### BEGIN SOLUTION
        self.out_shape = tuple(out_shape)
        widths = [latent_dim, *hidden]
        layers = []
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(w_in, w_out), nn.LeakyReLU(0.2)]   # h <- LeakyReLU(W h + b)
        layers += [nn.Linear(widths[-1], math.prod(self.out_shape)), nn.Tanh()]   # x = tanh(W h + b) in [-1, 1]
        self.net = nn.Sequential(*layers)
        ### END SOLUTION

    def forward(self, z):
        ### BEGIN SOLUTION
        return self.net(z).view(len(z), *self.out_shape)
        ### END SOLUTION


# %% nbgrader={"grade_id": "test_generator_net", "points": 2}
### BEGIN HIDDEN TESTS
class _RefGenerator(nn.Module):
    def __init__(self, latent_dim, hidden, out_shape):
        super().__init__()
        self.out_shape = tuple(out_shape)
        widths = [latent_dim, *hidden]
        layers = []
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(w_in, w_out), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers, nn.Linear(widths[-1], math.prod(self.out_shape)), nn.Tanh())

    def forward(self, z):
        return self.net(z).view(len(z), *self.out_shape)


grading.register_reference(Generator=_RefGenerator)


def _same_weights(student, reference, name):
    """Copy the reference's parameters into the student's network, in order, so outputs can be compared."""
    params_s, params_r = list(student.parameters()), list(reference.parameters())
    check_true(len(params_s) == len(params_r) and all(a.shape == b.shape for a, b in zip(params_s, params_r)),
               f"{name}'s layers differ from the recipe: {[tuple(p.shape) for p in params_s]}; expected "
               f"{[tuple(p.shape) for p in params_r]} (create the layers in the order they are applied).")
    with torch.no_grad():
        for a, b in zip(params_s, params_r):
            a.copy_(b)
### END HIDDEN TESTS
_G = attempt(Generator, 3, (5, 7), (2,), what="Generator(3, (5, 7), (2,))")
check_param_count(_G, 78, "Generator(3, (5, 7), (2,))",
                  hint="Linear(3, 5), Linear(5, 7), Linear(7, 2), each with a bias: 20 + 42 + 16.")
_z = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
check_shape(attempt(_G, _z, what="Generator(...)(z)"), (4, 2), "Generator(3, (5, 7), (2,))(z of shape (4, 3))")
_G_img = Generator(4, (8,), (1, 4, 4))
check_param_count(_G_img, 184, "Generator(4, (8,), (1, 4, 4))", hint="Linear(4, 8) and Linear(8, 16).")
check_shape(attempt(_G_img, torch.randn(5, 4), what="Generator(4, (8,), (1, 4, 4))(z)"), (5, 1, 4, 4),
            "Generator(4, (8,), (1, 4, 4))(z of shape (5, 4))", )
with torch.no_grad():
    _far = _G(100 * torch.randn(256, 3, generator=torch.Generator().manual_seed(1)))
check_true(_far.abs().max() <= 1 and _far.min() < -0.99 and _far.max() > 0.99,
           f"for large z the generator's outputs span [{_far.min():.2f}, {_far.max():.2f}]; they must stay in [-1, 1] "
           "and reach both ends: end with nn.Tanh() (not sigmoid, not nothing).")
print("Generator: visible checks passed")
### BEGIN HIDDEN TESTS
for _hidden in ((5, 7), (6,), (4, 4, 4)):
    torch.manual_seed(1)
    _G_s, _G_r = Generator(3, _hidden, (2,)), _RefGenerator(3, _hidden, (2,))
    _same_weights(_G_s, _G_r, "Generator")
    _zz = 3 * torch.randn(64, 3, generator=torch.Generator().manual_seed(2))
    check_close(_G_s(_zz), _G_r(_zz), f"Generator(3, {_hidden}, (2,)) with the reference's weights", atol=1e-5,
                hint="LeakyReLU(0.2) after every hidden Linear (not ReLU, not the default slope 0.01), tanh at the end.")
_G_s, _G_r = Generator(4, (8,), (1, 4, 4)), _RefGenerator(4, (8,), (1, 4, 4))
_same_weights(_G_s, _G_r, "Generator")
_zz = torch.randn(3, 4)
check_close(_G_s(_zz), _G_r(_zz), "Generator(4, (8,), (1, 4, 4)) with the reference's weights", atol=1e-5)
_G_s(_zz).sum().backward()
grading.check_all_parameters_get_gradients(_G_s, "Generator")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5 — the discriminator (2 points)

# %% nbgrader={"grade_id": "discriminator_net", "solution": true}
class Discriminator(nn.Module):
    """Samples of shape (N, *in_shape) -> one logit per sample, shape (N,); D(x) = sigmoid(logit)."""

    def __init__(self, in_shape, hidden):
        super().__init__()
        ### BEGIN SOLUTION
        widths = [math.prod(in_shape), *hidden]
        layers = [nn.Flatten()]   # (N, *in_shape) -> (N, prod(in_shape))
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(w_in, w_out), nn.LeakyReLU(0.2)]   # h <- LeakyReLU(W h + b)
        layers += [nn.Linear(widths[-1], 1)]   # logit l = w.h + b; no sigmoid, the losses take logits
        self.net = nn.Sequential(*layers)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.net(x).squeeze(1)   # (N, 1) -> (N,)
        ### END SOLUTION


# %% nbgrader={"grade_id": "test_discriminator_net", "points": 2}
### BEGIN HIDDEN TESTS
class _RefDiscriminator(nn.Module):
    def __init__(self, in_shape, hidden):
        super().__init__()
        widths = [math.prod(in_shape), *hidden]
        layers = [nn.Flatten()]
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(w_in, w_out), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers, nn.Linear(widths[-1], 1))

    def forward(self, x):
        return self.net(x).squeeze(1)


grading.register_reference(Discriminator=_RefDiscriminator)
### END HIDDEN TESTS
_D = attempt(Discriminator, (2,), (5, 7), what="Discriminator((2,), (5, 7))")
check_param_count(_D, 65, "Discriminator((2,), (5, 7))",
                  hint="Linear(2, 5), Linear(5, 7), Linear(7, 1), each with a bias: 15 + 42 + 8.")
_x = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
check_shape(attempt(_D, _x, what="Discriminator((2,), (5, 7))(x)"), (6,), "Discriminator((2,), (5, 7))(x of shape (6, 2))")
_D_img = Discriminator((1, 4, 4), (8,))
check_param_count(_D_img, 145, "Discriminator((1, 4, 4), (8,))", hint="Linear(16, 8) and Linear(8, 1).")
check_shape(attempt(_D_img, torch.rand(5, 1, 4, 4), what="Discriminator((1, 4, 4), (8,))(images)"), (5,),
            "Discriminator((1, 4, 4), (8,))(images of shape (5, 1, 4, 4))")
with torch.no_grad():
    _far = _D(100 * _x)
check_true(_far.min() < 0 or _far.max() > 1,
           f"for large inputs the discriminator's outputs stay in [{_far.min():.2f}, {_far.max():.2f}]: it must return "
           "logits (any real number), not probabilities. Remove the final sigmoid.")
print("Discriminator: visible checks passed")
### BEGIN HIDDEN TESTS
for _hidden in ((5, 7), (6,), (4, 4, 4)):
    torch.manual_seed(1)
    _D_s, _D_r = Discriminator((2,), _hidden), _RefDiscriminator((2,), _hidden)
    _same_weights(_D_s, _D_r, "Discriminator")
    _xx = 3 * torch.randn(64, 2, generator=torch.Generator().manual_seed(2))
    check_close(_D_s(_xx), _D_r(_xx), f"Discriminator((2,), {_hidden}) with the reference's weights", atol=1e-5,
                hint="LeakyReLU(0.2) after every hidden Linear (not ReLU, not the default slope 0.01), no sigmoid.")
_D_s, _D_r = Discriminator((1, 4, 4), (8,)), _RefDiscriminator((1, 4, 4), (8,))
_same_weights(_D_s, _D_r, "Discriminator")
_xx = torch.rand(3, 1, 4, 4)
check_close(_D_s(_xx), _D_r(_xx), "Discriminator((1, 4, 4), (8,)) with the reference's weights", atol=1e-5)
_D_s(_xx).sum().backward()
grading.check_all_parameters_get_gradients(_D_s, "Discriminator")
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Exercise 6 — one alternating training step (8 points)
#
# Write `train_step(G, D, opt_g, opt_d, real, latent_dim, generator=None)`. It uses your functions above and:
# 1. puts both networks in training mode (`G.train()`, `D.train()`; the preview cells switch G to eval mode);
# 2. draws **one** noise batch $z$ of size `len(real)` with `sample_noise(..., real.device, generator)` and makes
#    `fake = G(z)`;
# 3. **D step**: `discriminator_loss(D(real), D(fake.detach()))` — detached, because this step must not send
#    gradients into $G$ (they would cost a backward pass through $G$, and they are gradients of *D's* objective,
#    which $G$ wants the opposite of) —, then `opt_d.zero_grad()`, `backward()`, `opt_d.step()`;
# 4. **G step**: `generator_loss(D(fake))` (non-saturating) through the *updated* D — so compute `D(fake)` after
#    `opt_d.step()` —, then `opt_g.zero_grad()`, `backward()`, `opt_g.step()`. Only the generator's optimizer
#    steps, although this backward pass also fills D's `.grad` (the next D step zeroes them);
# 5. returns a dict of Python floats: `loss_d`, `loss_g`, and the mean $D(x)$ and mean $D(G(z))$ — probabilities,
#    $\sigma(\text{logit})$, averaged over the batch — of this step's real and fake batches as the D step saw them
#    (from the D step's logits), as `d_real` and `d_fake`. These two drive the diagnostic curves of section 7.
#
# **Why one noise batch.** The G step reuses the fake batch of the D step: it saves a forward pass of $G$, and the
# G step then improves exactly the samples $D$ was just trained on. Algorithm 1 of Goodfellow et al. draws a fresh
# noise batch for the G step instead; that is just as correct (both are unbiased estimates of the same gradient),
# and the checks below accept it. Order matters, though: the D step comes first, and the G step uses the D that
# step produced.
#
# The checks run your step on the tiny seeded GAN below and watch the two optimizers with step hooks (functions
# PyTorch calls just before and after `opt.step()`). They use reference versions of Exercises 1–3 when graded, so
# a mistake there costs points only there; the tiny networks do not use Exercises 4–5.

# %%
def tiny_gan(seed):
    """A tiny seeded GAN on 6-number samples for the checks of Exercise 6 (independent of Exercises 4-5)."""
    torch.manual_seed(seed)
    G = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.2), nn.Linear(8, 6), nn.Tanh())
    D = nn.Sequential(nn.Linear(6, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1), nn.Flatten(0))  # logits of shape (N,)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-2, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.999))
    return G, D, opt_g, opt_d


def watch_step(G, D, opt_g, opt_d):
    """Record what the two optimizers see when they step (hooks); returns (log, remove)."""
    log = {"order": [], "g_start": [p.detach().clone() for p in G.parameters()],
           "d_start": [p.detach().clone() for p in D.parameters()]}

    def before_d(*_):
        log["order"].append("D")
        log.setdefault("g_changed_before_d_step", any(not torch.equal(a, b) for a, b in zip(log["g_start"], G.parameters())))
        log.setdefault("g_grad_in_d_step", any(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters()))
        log.setdefault("d_grad_max", max((p.grad.abs().max().item() for p in D.parameters() if p.grad is not None), default=0))
        log.setdefault("d_training", D.training)

    def after_d(*_):
        log.setdefault("d_after_d_step", [p.detach().clone() for p in D.parameters()])
        log.setdefault("g_after_d_step", [p.detach().clone() for p in G.parameters()])

    def before_g(*_):
        log["order"].append("G")
        log.setdefault("g_grad_max", max((p.grad.abs().max().item() for p in G.parameters() if p.grad is not None), default=0))
        log.setdefault("g_training", G.training)

    hooks = [opt_d.register_step_pre_hook(before_d), opt_d.register_step_post_hook(after_d),
             opt_g.register_step_pre_hook(before_g)]
    return log, lambda: [hook.remove() for hook in hooks]


def changed(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


TINY_REAL = torch.rand(16, 6, generator=torch.Generator().manual_seed(0)) * 2 - 1
TINY_LATENT = 4

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
            "d_real": torch.sigmoid(real_logits).mean().item(),   # mean D(x) = mean sigmoid(l_real)
            "d_fake": torch.sigmoid(fake_logits).mean().item()}   # mean D(G(z)), as the D step saw it
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_train_step_d", "points": 2}
### BEGIN HIDDEN TESTS
def _ref_train_step(G, D, opt_g, opt_d, real, latent_dim, generator=None, fresh_noise=False):
    G.train()
    D.train()
    fake = G(_ref_noise(len(real), latent_dim, real.device, generator))
    real_logits, fake_logits = D(real), D(fake.detach())
    loss_d = _ref_d_loss(real_logits, fake_logits)
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    if fresh_noise:  # Algorithm 1 of Goodfellow et al.: a new noise batch for the G step
        fake = G(_ref_noise(len(real), latent_dim, real.device, generator))
    loss_g = _ref_g_loss(D(fake))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "d_real": torch.sigmoid(real_logits).mean().item(),
            "d_fake": torch.sigmoid(fake_logits).mean().item()}


grading.register_reference(train_step=_ref_train_step)
grading.use_references(globals(), "sample_noise", "discriminator_loss", "generator_loss")
### END HIDDEN TESTS
require(globals(), sample_noise="Exercise 1", discriminator_loss="Exercise 2", generator_loss="Exercise 3")
G_t, D_t, opt_g_t, opt_d_t = tiny_gan(0)
D_t.eval()
_log, _unhook = watch_step(G_t, D_t, opt_g_t, opt_d_t)
try:
    attempt(train_step, G_t, D_t, opt_g_t, opt_d_t, TINY_REAL, TINY_LATENT, torch.Generator().manual_seed(1),
            what="train_step(...)")
finally:
    _unhook()
check_true("D" in _log["order"], "opt_d.step() was never called: the D step must update D.")
check_true(not _log["g_changed_before_d_step"],
           "G's parameters changed before the D step: the D step comes first, then the G step trains G through the "
           "updated D.")
check_true(not _log["g_grad_in_d_step"],
           "when opt_d.step() ran, G's parameters held gradients: the D loss was backpropagated into G. Feed "
           "fake.detach() to D in the D step.")
check_true(any(not torch.equal(a, b) for a, b in zip(_log["d_start"], _log["d_after_d_step"])),
           "D's parameters did not change in the D step: opt_d.zero_grad(), then loss_d.backward(), then opt_d.step().")
print("train_step, D step: visible checks passed")
### BEGIN HIDDEN TESTS
check_true(_log["d_training"], "D should be in training mode during its step (call D.train()).")
check_true(_log["order"].count("D") == 1,
           f"opt_d.step() ran {_log['order'].count('D')} times in one train_step; once (the G step steps only opt_g).")
check_true(all(torch.equal(a, b) for a, b in zip(_log["g_start"], _log["g_after_d_step"])), "G changed during the D step.")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_train_step_zero_grad", "points": 1}
### BEGIN HIDDEN TESTS
grading.use_references(globals(), "sample_noise", "discriminator_loss", "generator_loss")
### END HIDDEN TESTS
require(globals(), sample_noise="Exercise 1", discriminator_loss="Exercise 2", generator_loss="Exercise 3")
# Leave huge "stale" gradients in every parameter, as a previous step would: a step that zeroes before each
# backward pass never sees them.
G_t, D_t, opt_g_t, opt_d_t = tiny_gan(0)
for _p in list(G_t.parameters()) + list(D_t.parameters()):
    _p.grad = torch.full_like(_p, 1000.0)
_log, _unhook = watch_step(G_t, D_t, opt_g_t, opt_d_t)
try:
    attempt(train_step, G_t, D_t, opt_g_t, opt_d_t, TINY_REAL, TINY_LATENT, torch.Generator().manual_seed(1),
            what="train_step(...)")
finally:
    _unhook()
check_true(_log.get("d_grad_max", 0) < 100,
           f"opt_d.step() saw gradients as large as {_log.get('d_grad_max', 0):.0f}: D's gradients from before this step "
           "were still there (they accumulate). Call opt_d.zero_grad() before loss_d.backward().")
check_true(_log.get("g_grad_max", 0) < 100,
           f"opt_g.step() saw gradients as large as {_log.get('g_grad_max', 0):.0f}: G's gradients from before were "
           "still there. Call opt_g.zero_grad() before loss_g.backward().")
print("train_step, zero_grad: visible checks passed")
### BEGIN HIDDEN TESTS
# exact agreement with the reference over three seeded steps, for either noise recipe
def _three_steps(step_fn, **kwargs):
    G, D, opt_g, opt_d = tiny_gan(2)
    gen = torch.Generator().manual_seed(3)
    out = [step_fn(G, D, opt_g, opt_d, TINY_REAL, TINY_LATENT, gen, **kwargs) for _ in range(3)]
    return out, [p.detach().clone() for p in list(G.parameters()) + list(D.parameters())]


_out_s, _params_s = _three_steps(train_step)
_matches = []
for _fresh in (False, True):
    _out_r, _params_r = _three_steps(_ref_train_step, fresh_noise=_fresh)
    _matches.append(all(torch.allclose(a, b, atol=1e-5) for a, b in zip(_params_s, _params_r)))
check_true(any(_matches), "after 3 seeded steps your parameters differ from the recipe's: zero each optimizer's "
                          "gradients right before its backward pass, D step then G step, non-saturating G loss.")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_train_step_g", "points": 2}
### BEGIN HIDDEN TESTS
grading.use_references(globals(), "sample_noise", "discriminator_loss", "generator_loss")
### END HIDDEN TESTS
require(globals(), sample_noise="Exercise 1", discriminator_loss="Exercise 2", generator_loss="Exercise 3")
G_t, D_t, opt_g_t, opt_d_t = tiny_gan(0)
G_t.eval()
_log, _unhook = watch_step(G_t, D_t, opt_g_t, opt_d_t)
try:
    _stats = attempt(train_step, G_t, D_t, opt_g_t, opt_d_t, TINY_REAL, TINY_LATENT, torch.Generator().manual_seed(1),
                     what="train_step(...)")
finally:
    _unhook()
check_true(_log["order"] == ["D", "G"],
           f"the optimizers stepped in the order {_log['order']}; expected ['D', 'G']: one opt_d.step() (D step), "
           "then one opt_g.step() (G step). The G step must not step opt_d.")
check_true(changed(_log["g_after_d_step"], G_t),
           "G's parameters did not change in the G step: the G loss must reach G, so do not detach fake (or D's "
           "logits) in the G step.")
check_true(all(torch.equal(a, b) for a, b in zip(_log["d_after_d_step"], D_t.parameters())),
           "D's parameters changed after the D step: the G step must update only G.")
check_type(_stats, dict, "train_step's result")
check_true("loss_g" in _stats, f"train_step should return 'loss_g'; it returned {sorted(_stats)}.")
# loss_g through the updated D, for the fake batch of the D step or (Algorithm 1) a fresh one
_LOSS_G = {"one batch": 0.76316, "fresh noise": 0.76172}
_LOSS_G_WRONG = {"the D before its update": 0.77339, "the saturating loss": -0.62820}
if not any(abs(_stats["loss_g"] - v) < 1e-4 for v in _LOSS_G.values()):
    _why = next((f" That is the value through {k}." for k, v in _LOSS_G_WRONG.items() if abs(_stats["loss_g"] - v) < 1e-4), "")
    raise CheckFailed(f"loss_g is {_stats['loss_g']:.5f}; expected {_LOSS_G['one batch']:.5f} (or "
                      f"{_LOSS_G['fresh noise']:.5f} with fresh noise for the G step).{_why} The G step uses "
                      "generator_loss(D(fake)) with the non-saturating loss, computed after opt_d.step().")
print("train_step, G step: visible checks passed")
### BEGIN HIDDEN TESTS
check_true(_log["g_training"], "G should be in training mode during its step (call G.train()).")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_train_step_stats", "points": 2}
### BEGIN HIDDEN TESTS
grading.use_references(globals(), "sample_noise", "discriminator_loss", "generator_loss")
### END HIDDEN TESTS
require(globals(), sample_noise="Exercise 1", discriminator_loss="Exercise 2", generator_loss="Exercise 3")
G_t, D_t, opt_g_t, opt_d_t = tiny_gan(0)
_stats = attempt(train_step, G_t, D_t, opt_g_t, opt_d_t, TINY_REAL, TINY_LATENT, torch.Generator().manual_seed(1),
                 what="train_step(...)")
check_type(_stats, dict, "train_step's result")
check_true(set(_stats) == {"loss_d", "loss_g", "d_real", "d_fake"},
           f"train_step should return the keys loss_d, loss_g, d_real, d_fake; it returned {sorted(_stats)}.")
for _key, _value in _stats.items():
    check_type(_value, float, f"train_step(...)['{_key}'] (use .item())")
# what the D step of this seeded tiny GAN sees, and the values of the usual slips
_EXPECTED = {"loss_d": 1.43960, "d_real": 0.44114, "d_fake": 0.46159}
_SLIPS = {
    "d_real": {"the mean logit (apply torch.sigmoid first)": -0.23723, "the sum over the batch (take the mean)": 7.05829,
               "1 - D(x) (D is the probability of *real*)": 0.55886, "mean D(G(z)) (d_real and d_fake swapped)": 0.46159,
               "D(x) after D's update (use the D step's logits)": 0.45128},
    "d_fake": {"the mean logit (apply torch.sigmoid first)": -0.15404, "the sum over the batch (take the mean)": 7.38537,
               "1 - D(G(z)) (D is the probability of *real*)": 0.53841, "mean D(x) (d_real and d_fake swapped)": 0.44114,
               "D(G(z)) after D's update (use the D step's logits)": 0.46633},
}
for _key in ("loss_d", "d_real", "d_fake"):
    if abs(_stats[_key] - _EXPECTED[_key]) > 1e-4:
        _why = next((f" That is {k}." for k, v in _SLIPS.get(_key, {}).items() if abs(_stats[_key] - v) < 1e-4), "")
        raise CheckFailed(f"train_step(...)['{_key}'] is {_stats[_key]:.5f}; expected {_EXPECTED[_key]:.5f}.{_why} "
                          "d_real and d_fake are the batch means of sigmoid(logit) on the D step's real and fake "
                          "logits; loss_d is the D step's loss.")
print("train_step, returned statistics: visible checks passed")
### BEGIN HIDDEN TESTS
for _seed in (5, 6):
    _G_s, _D_s, _og_s, _od_s = tiny_gan(_seed)
    _G_r, _D_r, _og_r, _od_r = tiny_gan(_seed)
    _real = torch.randn(12, 6, generator=torch.Generator().manual_seed(_seed)).tanh()
    _out = train_step(_G_s, _D_s, _og_s, _od_s, _real, TINY_LATENT, torch.Generator().manual_seed(_seed))
    _ref = _ref_train_step(_G_r, _D_r, _og_r, _od_r, _real, TINY_LATENT, torch.Generator().manual_seed(_seed))
    for _key in ("loss_d", "d_real", "d_fake"):
        check_close(_out[_key], _ref[_key], f"train_step(...)['{_key}'] (seed {_seed})", atol=1e-5)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_train_step_learns", "points": 1}
### BEGIN HIDDEN TESTS
grading.use_references(globals(), "sample_noise", "discriminator_loss", "generator_loss")
### END HIDDEN TESTS
require(globals(), sample_noise="Exercise 1", discriminator_loss="Exercise 2", generator_loss="Exercise 3")
# behaviour: on a fixed real batch, D learns to separate it from G's samples
G_t, D_t, opt_g_t, opt_d_t = tiny_gan(4)
_gen = torch.Generator().manual_seed(5)
_losses = [attempt(train_step, G_t, D_t, opt_g_t, opt_d_t, TINY_REAL, TINY_LATENT, _gen, what="train_step(...)")["loss_d"]
           for _ in range(30)]
check_true(sum(_losses[-5:]) / 5 < sum(_losses[:5]) / 5,
           f"after 30 seeded steps D's loss on a fixed batch should fall; it went {_losses[0]:.3f} -> {_losses[-1]:.3f}.")
print(f"train_step, 30 steps: L_D {_losses[0]:.3f} -> {_losses[-1]:.3f}; visible checks passed")

# %% [markdown]
# ## 6. A 2-D toy where everything can be computed
#
# Before digits, a distribution we know exactly: eight Gaussians on a ring of radius 0.75, each with standard
# deviation $\sigma = 0.02$, chosen with equal probability,
#
# $$
# p_\text{data}(x) = \frac1K\sum_{k=1}^{K}\mathcal N\big(x;\,\mu_k,\,\sigma^2 I\big), \qquad
# \mu_k = 0.75\,(\cos\tfrac{2\pi k}{K}, \sin\tfrac{2\pi k}{K}),\; K = 8 .
# $$
#
# Because $p_\text{data}$ is a formula, two things that are invisible on MNIST become exact numbers here:
# - **mode coverage**: a sample is *on* mode $k$ when it lies within $3\sigma$ of $\mu_k$ (a real sample is, with
#   probability $1 - e^{-9/2} \approx 0.989$); a mode is *covered* when it holds at least a quarter of its fair share
#   ($\frac1{4K}$) of the samples. A collapsed generator covers few modes, however good each sample is;
# - **the optimal discriminator** $D^* = p_\text{data}/(p_\text{data} + p_g)$ of section 2.1, on a grid, with $p_g$
#   measured by a histogram of many generator samples (exact up to that sampling noise).
#
# The toy uses *your* `Generator`, `Discriminator` and `train_step` with a 2-D latent code; it trains in seconds.

# %%
TOY_MODES, TOY_RADIUS, TOY_STD, TOY_LATENT = 8, 0.75, 0.02, 2
# genlab.toy holds these formulas (lesson 05 uses the same mixtures): sampling, the exact density and mode statistics
TOY = GaussianMixture2D.ring(TOY_MODES, radius=TOY_RADIUS, std=TOY_STD)
toy_centres = TOY.centres      # mu_k
toy_sample = TOY.sample        # (n, generator): a mode k uniformly at random, then x = mu_k + sigma * eps
toy_density = TOY.density      # p_data(x) = (1/K) sum_k N(x; mu_k, sigma^2 I), exactly
toy_modes = TOY.modes          # modes covered (>= 1/(4K) of the samples within 3 sigma) and the share within 3 sigma

toy_real = toy_modes(toy_sample(5000, torch.Generator().manual_seed(9)))
print(f"real toy data: {toy_real['modes_covered']}/{TOY_MODES} modes covered, "
      f"{toy_real['within_3sigma']:.3f} of the samples within 3 sigma (theory: {1 - math.exp(-4.5):.3f})")


def discriminator_only_step(G, D, opt_d, real, latent_dim, generator):
    """An extra D step (Algorithm 1's k > 1): L_D on a real batch and on fakes made without gradients; G stays."""
    with torch.no_grad():
        fake = G(sample_noise(len(real), latent_dim, real.device, generator))
    loss = discriminator_loss(D(real), D(fake))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss.item()


def train_toy(steps=BUDGET.toy_steps, d_steps=1, lr_g=BUDGET.toy_lr, lr_d=BUDGET.toy_lr, batch_size=BUDGET.toy_batch,
              seed=0, log_every=BUDGET.toy_log_every, snapshots=4):
    """Train a toy GAN with your networks and train_step (d_steps D steps per G step); returns G, D, History and
    {step: samples of a fixed probe noise}. Runs on the CPU: the networks are tiny."""
    torch.manual_seed(seed)
    G, D = Generator(TOY_LATENT, BUDGET.toy_hidden, (2,)), Discriminator((2,), BUDGET.toy_hidden)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=(0.5, 0.999))
    data_generator, noise_generator = torch.Generator().manual_seed(seed + 100), torch.Generator().manual_seed(seed)
    probe = sample_noise(2000, TOY_LATENT, "cpu", torch.Generator().manual_seed(seed + 200))
    snapshot_steps = {round(steps * (k + 1) / snapshots) for k in range(snapshots)}
    log, shots = History(), {}
    with threads():
        for step in range(1, steps + 1):
            for _ in range(d_steps - 1):
                discriminator_only_step(G, D, opt_d, toy_sample(batch_size, data_generator), TOY_LATENT, noise_generator)
            stats = train_step(G, D, opt_g, opt_d, toy_sample(batch_size, data_generator), TOY_LATENT, noise_generator)
            if step % log_every == 0 or step == 1 or step in snapshot_steps:
                with torch.no_grad():
                    samples = G.eval()(probe)
                report = toy_modes(samples)
                log.log(step, **stats, modes_covered=report["modes_covered"], within_3sigma=report["within_3sigma"])
                if step in snapshot_steps:
                    shots[step] = samples
    return G, D, log, shots


def scatter_toy(ax, samples, title):
    ax.scatter(*samples[:1000].T, s=2, alpha=0.5, color="C0")
    ax.scatter(*toy_centres.T, marker="x", color="C3", s=30)
    ax.set_xlim(-1.1, 1.1)
    ax.set_ylim(-1.1, 1.1)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)

# %%
# needs: sample_noise (Exercise 1), discriminator_loss (Exercise 2), generator_loss (Exercise 3), Generator (Exercise 4), Discriminator (Exercise 5), train_step (Exercise 6)
start = time.perf_counter()
G_toy, D_toy, toy_log, toy_shots = train_toy()
toy_seconds = time.perf_counter() - start
toy_final = toy_modes(list(toy_shots.values())[-1])
print(f"toy GAN: {BUDGET.toy_steps} steps in {toy_seconds:.1f} s; {toy_final['modes_covered']}/{TOY_MODES} modes "
      f"covered (real data: {toy_real['modes_covered']}), {toy_final['within_3sigma']:.3f} of the samples within 3 sigma "
      f"(real data: {toy_real['within_3sigma']:.3f}); samples per mode {toy_final['counts']}")
fig, axes = plt.subplots(1, len(toy_shots) + 1, figsize=(3.2 * (len(toy_shots) + 1), 3.2))
for ax, (step, samples) in zip(axes, toy_shots.items()):
    report = toy_modes(samples)
    scatter_toy(ax, samples, f"step {step}: {report['modes_covered']}/8 modes, {report['within_3sigma']:.2f} on a mode")
axes[-1].plot(*toy_log.series("modes_covered"), label="modes covered (of 8)")
axes[-1].plot(toy_log.series("within_3sigma")[0], [8 * v for v in toy_log.series("within_3sigma")[1]],
              label="8 × share within 3σ")
axes[-1].axhline(8, color="grey", ls=":")
axes[-1].set_xlabel("step")
axes[-1].legend(fontsize=8)
axes[-1].set_title("exact mode statistics", fontsize=9)
plt.show()

# %% [markdown]
# ### The trained discriminator against $D^*$
#
# On a grid over the square, $p_\text{data}$ is the formula above and $p_g$ is a histogram of many samples of the
# trained generator (divided by the cell area). Where neither density is visible, $D^*$ is not determined and the
# maps are blank. The numbers are the average of $|D - D^*|$ over the mixture $m = \frac12(p_\text{data} + p_g)$,
# i.e. where the samples of either player actually fall, beside the same number for the useless $D = 1/2$.
#
# Then we freeze the generator and keep training only the discriminator for a few hundred steps: theory says it
# should move towards $D^*$ of *this* generator. Finally the grid gives the JSD of section 2.2, the number the
# generator minimises against a perfect discriminator ($0$ for $p_g = p_\text{data}$, $\log 2 \approx 0.693$ for
# disjoint supports).

# %%
# needs: G_toy (the toy run above)
grid_1d = torch.linspace(-1.1, 1.1, 111)
cell = (grid_1d[1] - grid_1d[0]).item()
grid = torch.stack(torch.meshgrid(grid_1d, grid_1d, indexing="xy"), -1).reshape(-1, 2)  # (111 * 111, 2) points
p_data_grid = toy_density(grid)
with torch.no_grad():
    toy_fakes = G_toy.eval()(sample_noise(BUDGET.toy_grid_samples, TOY_LATENT, "cpu", torch.Generator().manual_seed(10)))
index = torch.round((toy_fakes + 1.1) / cell).long()  # nearest grid point of each sample
inside = ((index >= 0) & (index < len(grid_1d))).all(1)
counts = torch.bincount(index[inside, 1] * len(grid_1d) + index[inside, 0], minlength=len(grid))
p_g_grid = counts / (len(toy_fakes) * cell ** 2)  # histogram density
mixture = (p_data_grid + p_g_grid) / 2  # m(x)
visible = mixture > 1e-3 * mixture.max()
d_star = torch.where(visible, p_data_grid / (2 * mixture).clamp(min=1e-12), torch.nan)  # D* = p_data / (p_data + p_g)


def distance_to_d_star(D):
    """E_m |D(x) - D*(x)| over the grid points where either density is visible."""
    with torch.no_grad():
        d_grid = torch.sigmoid(D.eval()(grid))
    weights = mixture * visible
    return (weights * (d_grid - d_star).nan_to_num().abs()).sum().item() / weights.sum().item(), d_grid


error_trained, d_trained_grid = distance_to_d_star(D_toy)
error_half = (mixture * visible * (0.5 - d_star).nan_to_num().abs()).sum().item() / (mixture * visible).sum().item()
D_refit = copy.deepcopy(D_toy)
opt_refit = torch.optim.Adam(D_refit.parameters(), lr=BUDGET.toy_lr, betas=(0.5, 0.999))
refit_data, refit_noise = torch.Generator().manual_seed(11), torch.Generator().manual_seed(12)
with threads():
    for _ in range(BUDGET.refit_steps):  # G frozen: only D learns
        discriminator_only_step(G_toy, D_refit, opt_refit, toy_sample(BUDGET.toy_batch, refit_data), TOY_LATENT, refit_noise)
error_refit, d_refit_grid = distance_to_d_star(D_refit)


def kl_on_grid(p, q):
    """KL(p || q) for densities on the grid: sum p log(p / q) * cell area, with 0 log 0 = 0."""
    return (cell ** 2 * torch.where(p > 0, p * (p / q.clamp(min=1e-30)).log(), torch.zeros_like(p))).sum().item()


toy_jsd = 0.5 * kl_on_grid(p_data_grid, mixture) + 0.5 * kl_on_grid(p_g_grid, mixture)  # section 2.2
print(f"E_m|D - D*|: trained D {error_trained:.3f}, after {BUDGET.refit_steps} more D-only steps {error_refit:.3f}; "
      f"the constant D = 1/2 scores {error_half:.3f}")
print(f"JSD(p_data || p_g) on the grid: {toy_jsd:.3f} nats (0 = same distribution, log 2 = {math.log(2):.3f} = disjoint); "
      f"so L_D at D* would be log 4 - 2 JSD = {math.log(4) - 2 * toy_jsd:.3f}")

fig, axes = plt.subplots(1, 4, figsize=(16, 4))
extent = (-1.1, 1.1, -1.1, 1.1)
shape = (len(grid_1d), len(grid_1d))
axes[0].imshow((p_data_grid + 1e-3).log().reshape(shape), origin="lower", extent=extent, cmap="Greys")
axes[0].scatter(*toy_fakes[:1500].T, s=1, color="C1", alpha=0.5)
axes[0].set_title("log p_data (grey) and G's samples (orange)", fontsize=9)
for ax, image, title in ((axes[1], d_star, "D* = p_data / (p_data + p_g)"),
                         (axes[2], torch.where(visible, d_trained_grid, torch.nan), f"trained D  (E|D - D*| = {error_trained:.2f})"),
                         (axes[3], torch.where(visible, d_refit_grid, torch.nan), f"D after refitting (E|D - D*| = {error_refit:.2f})")):
    shown = ax.imshow(image.reshape(shape), origin="lower", extent=extent, cmap="coolwarm_r", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
fig.colorbar(shown, ax=axes[1:].tolist(), shrink=0.8, label="probability 'real'")
plt.show()

# %% [markdown]
# Read the maps from left to right. Wherever orange samples sit on a mode in the right proportion, $D^* \approx 1/2$
# (white); modes the generator misses are blue ($D^* = 1$: only real data there), and generator samples that fall
# between modes are red ($D^* = 0$). The trained discriminator is only roughly $D^*$: it lags the generator and has
# finite capacity. Trained alone against the frozen generator it moves towards $D^*$, as section 2.1 promised —
# and the blue spots are exactly the gradient signal that would pull the generator onto the missing modes.
#
# ## 7. Training on MNIST
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
# Adam with $\beta_1 = 0.5$ (momentum that is too strong makes the two players overshoot each other), the same
# learning rate for both players, one D step per G step. D mirrors G's widths. A fixed batch of noise
# `fixed_noise` is pushed through the generator now and then, so the grid shows the *same* codes becoming digits.

# %%
# needs: Generator (Exercise 4), Discriminator (Exercise 5)
def make_gan(hidden, seed=0):
    """A fresh generator/discriminator pair (D mirrors G's widths) and their Adam optimizers."""
    torch.manual_seed(seed)
    G = Generator(LATENT_DIM, hidden, (1, 28, 28)).to(device)
    D = Discriminator((1, 28, 28), tuple(reversed(hidden))).to(device)
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

# %%
# needs: sample_noise (Exercise 1), discriminator_loss (Exercise 2), generator_loss (Exercise 3), Generator (Exercise 4), Discriminator (Exercise 5), train_step (Exercise 6)
batches = data.DeviceLoader(train_images, batch_size=BUDGET.batch_size, seed=0).forever()
noise_generator = torch.Generator().manual_seed(0)
fixed_noise = sample_noise(64, LATENT_DIM, device, torch.Generator().manual_seed(1))
snapshot_steps = {round(BUDGET.steps * (k + 1) / BUDGET.snapshots) for k in range(BUDGET.snapshots)} | {1}
snapshots = {}
history = History()
live = viz.LivePlot(["loss_d", "loss_g", "d_real", "d_fake"], title="GAN on MNIST", min_seconds=BUDGET.plot_seconds)

start = time.perf_counter()
bar = progress(BUDGET.steps, desc="GAN", batch_size=BUDGET.batch_size)
with threads(1 if device.type == "cpu" else torch.get_num_threads()):
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
# needs: snapshots (the training cell)
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
# $D(G(z)) \to 0$ (section 10).

# %%
# needs: history (the training cell)
fig, (ax_loss, ax_d) = plt.subplots(1, 2, figsize=(11, 3.5))
viz.plot_curves(history, ["loss_d", "loss_g"], ax=ax_loss, title="losses", smooth=3)
ax_loss.axhline(2 * math.log(2), color="grey", ls=":", label="2 log 2")
ax_loss.axhline(math.log(2), color="grey", ls="--", label="log 2")
ax_loss.legend()
viz.plot_curves(history, ["d_real", "d_fake"], ax=ax_d, title="mean D(x) and D(G(z))", smooth=3)
ax_d.axhline(0.5, color="grey", ls=":")
plt.show()

# %% [markdown]
# ## 8. How good are the samples? Judges, baselines and copies
#
# We cannot grade pictures by eye at scale, so we show them to a digit classifier shipped with the course (it was
# trained to refuse noise, blobs and speckle; its manifest records how often it is fooled by each). Four numbers:
# - **confident**: the fraction of images it classifies with probability ≥ 0.9 (recognisable digits);
# - **coverage**: how many classes get at least 1 % of the images, and the entropy of the class histogram divided
#   by $\log 10$ (1 = all ten digits equally often; a spike means mode collapse);
# - **classifier FID**: the Fréchet distance between Gaussians fitted to the classifier's 128-d features of these
#   images and of a reference set of training digits (lower is closer; lesson 06 does the same with
#   Inception features). It depends on $n$, so every row uses the same $n$;
# - **nearest training image**: the pixel distance of each image to its closest training digit. A generator that
#   memorised its data would sit much *closer* to the training set than new real digits (the test set) do.
#
# No number means anything alone, so each row has company: real test digits (what a perfect generator would
# score: the real-vs-real row), an **independent-pixel** baseline (every pixel drawn on its own from the mean image:
# the right amount of ink in the right places, no strokes — a model with zero learned parameters beyond the mean),
# and **uniform noise** (a sanity row: all judges must reject it).

# %%
classifier = load_mnist_classifier(device)
n_eval = BUDGET.n_eval
reference01 = train.subset(n_eval, seed=1).images                # reference set of real digits for classifier FID
real_test01 = test.subset(n_eval, seed=0).images                  # real-vs-real: other real digits, same n
mean_image = train.images.mean(0, keepdim=True)
pixels01 = torch.bernoulli(mean_image.expand(n_eval, -1, -1, -1), generator=torch.Generator().manual_seed(3))
noise01 = torch.rand(n_eval, 1, 28, 28, generator=torch.Generator().manual_seed(4))
nn_bank = train.images[:BUDGET.nn_train].flatten(1).to(device)  # the training digits the copy check searches


@torch.no_grad()
def nearest_training(images01, chunk=250):
    """Euclidean pixel distance of each image to its nearest image in nn_bank, and that image's index."""
    found = [torch.cdist(part.flatten(1).to(device), nn_bank).min(1) for part in images01.split(chunk)]
    return torch.cat([f.values for f in found]).cpu(), torch.cat([f.indices for f in found]).cpu()


with threads():
    reference_features = metrics.classifier_features(classifier, reference01)  # computed once, used by every row


def judge(images01):
    """All the section's numbers for one set of images in [0, 1]."""
    with threads():
        report = metrics.classifier_report(classifier, images01)
        distances, _ = nearest_training(images01[:BUDGET.n_nn])
        # classifier FID = metrics.classifier_fid(classifier, images01, reference01), the reference's features cached
        fid = metrics.frechet_distance(metrics.classifier_features(classifier, images01), reference_features)
    return {**report, "fid": fid,
            "nn_median": distances.median().item(), "nn_distances": distances}


judged = {"real test digits": judge(real_test01), "independent pixels": judge(pixels01), "uniform noise": judge(noise01)}


def print_judged(rows):
    print(f"{'n = ' + str(n_eval):22s} {'confident':>9s} {'classes':>7s} {'entropy':>7s} {'clf FID':>8s} "
          f"{'NN dist':>7s}")
    for name, r in rows.items():
        print(f"{name:22s} {r['confident']:9.3f} {r['classes_covered']:7d} {r['coverage_entropy']:7.3f} "
              f"{r['fid']:8.2f} {r['nn_median']:7.2f}")


print_judged(judged)

# %%
# needs: G (the training cell), history (the training cell)
eval_noise = sample_noise(n_eval, LATENT_DIM, device, torch.Generator().manual_seed(2))
samples01 = generate(G, eval_noise)
judged = {"GAN samples": judge(samples01), **{k: v for k, v in judged.items() if k != "GAN samples"}}
gan_judged, real_judged = judged["GAN samples"], judged["real test digits"]
print_judged(judged)
if BUDGET.profile == "smoke":
    print("(smoke profile: the GAN trained for a few seconds; its numbers are not meaningful)")
viz.show_images(samples01[:100], nrow=20, title=f"{n_eval} samples drawn, the first 100")
plt.show()

# %%
# needs: gan_judged (the cell above)
fig, (ax_bar, ax_nn) = plt.subplots(1, 2, figsize=(13, 3.4))
digits = torch.arange(10)
ax_bar.bar(digits - 0.2, torch.tensor(gan_judged["counts"]) / n_eval, width=0.4, label="GAN samples")
ax_bar.bar(digits + 0.2, torch.tensor(real_judged["counts"]) / n_eval, width=0.4, label="real test digits")
ax_bar.axhline(0.1, color="grey", ls=":", label="uniform")
ax_bar.set_xticks(digits)
ax_bar.set_xlabel("predicted class")
ax_bar.set_title(f"class coverage (entropy: GAN {gan_judged['coverage_entropy']:.2f}, "
                 f"real {real_judged['coverage_entropy']:.2f})")
ax_bar.legend(fontsize=8)
for name in ("GAN samples", "real test digits", "independent pixels"):
    ax_nn.hist(judged[name]["nn_distances"], bins=40, alpha=0.5, label=name)
ax_nn.set_xlabel(f"distance to the nearest of {len(nn_bank):,} training digits")
ax_nn.set_title("are the samples copies? (compare with real test digits)")
ax_nn.legend(fontsize=8)
plt.show()
closest_distance, closest_index = nearest_training(samples01[:BUDGET.n_nn])
order = closest_distance.argsort()[:8]  # the 8 samples closest to some training digit
pairs = torch.stack([samples01[order], nn_bank[closest_index[order]].cpu().view(-1, 1, 28, 28)], 1).flatten(0, 1)
viz.show_images(pairs, nrow=16, title="the 8 samples closest to the training set, each beside its nearest training digit")
plt.show()
print(f"median distance to the nearest training digit: GAN {gan_judged['nn_median']:.2f}, "
      f"real test digits {real_judged['nn_median']:.2f}; closest GAN sample {closest_distance.min():.2f}, "
      f"closest test digit {real_judged['nn_distances'].min():.2f}")

# %% [markdown]
# If the GAN's distances are about those of the test digits (or larger), the samples are new images rather than
# copies; a histogram shifted well to the *left* of the test digits' would mean memorisation. Pixel distance is a
# blunt tool — a copy shifted by one pixel is far away in it — so the pairs above are worth a look too.
#
# Why is the **confident** fraction so low (about 11 % in the cpu profile) when many samples read as digits by eye?
# Look closely: an MLP generator paints each pixel on its own, and its digits carry a salt-and-pepper speckle. The
# judge was trained to refuse speckled digits (real digits with a fifth of their pixels randomised score 0 %), so
# it does. That is the judge doing its job: a plain classifier, trained on clean digits only, calls speckled images
# and even uniform noise "8" with high confidence. Coverage, classifier FID and the nearest-neighbour check still
# say a lot, and lesson 03's convolutional generator, which shares weights across neighbouring pixels, removes most
# of the speckle.
#
# ## 9. A widget: walk through the latent space and watch the discriminator
#
# Pick a code $z_0$ and a direction $u$, and move along $z(t) = z_0 + t\,u$. The plot shows $D(G(z(t)))$, the
# discriminator's belief that the image is real, and the slider shows the image. Two directions to choose from:
# the gradient $\nabla_z \log D(G(z_0))$ (normalised) — the direction in which *this* image looks more real to $D$,
# the same signal the G step follows in parameter space — and a random one. Watch the norm too: training codes
# have $\lVert z\rVert \approx \sqrt{64} = 8$; far beyond that, $G$ was never trained. The gradient is a *local*
# direction: expect $D$'s score to rise for small $t > 0$; farther along, anything can happen.

# %%
# needs: gan_judged (section 8)
z0 = sample_noise(1, LATENT_DIM, device, torch.Generator().manual_seed(12)).requires_grad_(True)
G.eval()
D.eval()
log_d = F.logsigmoid(D(G(z0))).sum()  # log D(G(z0))
(gradient_z,) = torch.autograd.grad(log_d, z0)
z0 = z0.detach()
directions = {"D's gradient": gradient_z / gradient_z.norm(),
              "random": F.normalize(sample_noise(1, LATENT_DIM, device, torch.Generator().manual_seed(13)))}
path_t = torch.linspace(-8, 8, 65)


@torch.no_grad()
def along(direction):
    """Images and D's scores along z(t) = z0 + t u for every t in path_t."""
    codes = z0 + path_t.to(device)[:, None] * direction
    images = G(codes)
    return (images.cpu() + 1) / 2, torch.sigmoid(D(images)).cpu(), codes.norm(dim=1).cpu()


walks = {name: along(u) for name, u in directions.items()}
fig, axes = plt.subplots(1, 2, figsize=(12, 3.2))
for name, (_, scores, _) in walks.items():
    axes[0].plot(path_t, scores, label=name)
axes[0].axvline(0, color="grey", ls=":")
axes[0].set_xlabel("t")
axes[0].set_ylabel("D(G(z0 + t u))")
axes[0].legend()
axes[0].set_title("the discriminator's score along two directions")
strip = walks["D's gradient"][0][::8]
viz.show_images(strip, nrow=len(strip), ax=axes[1], title="along D's gradient, t = -8 ... 8")
plt.show()
for name, (_, scores, norms) in walks.items():
    best = scores.argmax()
    print(f"{name:13s}: D = {scores[len(path_t) // 2]:.3f} at t = 0, highest {scores[best]:.3f} at t = {path_t[best]:.1f} "
          f"(|z| = {norms[best]:.1f})")

# %%
# needs: walks (the cell above)
def latent_walk_widget():
    """A slider for t and a choice of direction; shows G(z0 + t u) beside the point on D's score curve."""
    controls = {"direction": widgets.ToggleButtons(options=list(walks), description="direction"),
                "t": widgets.FloatSlider(value=0.0, min=float(path_t[0]), max=float(path_t[-1]),
                                         step=float(path_t[1] - path_t[0]), description="t")}

    def render(direction, t):
        images, scores, norms = walks[direction]  # computed once above: moving the slider only draws
        i = int(torch.argmin((path_t - t).abs()))
        fig, (ax_image, ax_curve) = plt.subplots(1, 2, figsize=(6.4, 2.6), gridspec_kw={"width_ratios": [1, 2]},
                                                 layout="constrained")
        viz.show_images(images[i:i + 1], nrow=1, ax=ax_image)
        ax_curve.plot(path_t, scores)
        ax_curve.plot(path_t[i], scores[i], "o", color="C3")
        ax_curve.set_xlabel("t")
        ax_curve.set_ylabel("D(G(z))")
        return fig, f"D(G(z0 + t u)) = {scores[i]:.3f}, |z| = {norms[i]:.1f}"

    return viz.explorer(render, controls)


latent_walk_widget()

# %% [markdown]
# ## 10. What goes wrong
#
# ### 10.1 A discriminator that learns too fast
#
# The theory assumes $D$ stays near its optimum for the current $G$; then why not make it very strong? Because a
# discriminator that separates real from fake *perfectly* has $D(G(z)) \approx 0$ on every sample, and section 2.3
# says what the saturating (minimax) loss's gradient is there: nearly zero. Below, two short runs from the same
# start: the baseline, and a discriminator that takes 5 steps per G step (same learning rate). We record
# $\mathcal L_D$, the mean $D(G(z))$, and the norm of the gradient each generator loss would send into $G$'s
# parameters on a fixed noise batch.

# %%
# needs: sample_noise (Exercise 1), discriminator_loss (Exercise 2), generator_loss (Exercise 3), Generator (Exercise 4), Discriminator (Exercise 5), train_step (Exercise 6), make_gan (section 7)
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
        for _ in range(d_steps - 1):
            discriminator_only_step(G, D, opt_d, next(batches), LATENT_DIM, noise_generator)
        stats = train_step(G, D, opt_g, opt_d, next(batches), LATENT_DIM, noise_generator)
        if step % every == 0 or step == 1:
            log.log(step, loss_d=stats["loss_d"], d_fake=stats["d_fake"],
                    grad_saturating=gradient_norm_into_g(G, D, probe, saturating=True),
                    grad_non_saturating=gradient_norm_into_g(G, D, probe, saturating=False))
    return log


with threads():
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
    steps_logged, saturating = log.series("grad_saturating")
    lowest = min(range(len(saturating)), key=saturating.__getitem__)
    print(f"{name:32s} lowest saturating gradient {saturating[lowest]:.2e} at step {steps_logged[lowest]} "
          f"(non-saturating there: {log.series('grad_non_saturating')[1][lowest]:.2e}; saturating at step 1: "
          f"{saturating[0]:.2e}); lowest mean D(G(z)) {min(log.series('d_fake')[1]):.4f}")

# %% [markdown]
# The strong discriminator drives $\mathcal L_D$ and $D(G(z))$ down; the saturating loss's gradient into $G$ (solid
# orange) shrinks with it — compare the lowest values printed, not only the last ones: a generator that briefly
# receives no signal can be knocked off course even if the gradient later recovers. The non-saturating loss
# (dashed), which this generator trains with, keeps a usable gradient. That is why it is the default; but it does
# not fix the imbalance: its gradients come from a discriminator whose decision surface is nearly flat and
# saturated around the fakes, so they carry little information about *where* the real digits are. Balancing the
# players (learning rates, steps, capacity) is the first knob when a GAN stalls.
#
# ### 10.2 Mode collapse
#
# The generator is rewarded for each sample the discriminator believes, not for variety. A **contrived**
# experiment shows the mechanism quickly: take a trained $G$ and $D$, freeze $D$, and keep training a copy of $G$
# alone (non-saturating loss, 5× learning rate). Real GANs collapse more slowly and less completely, because $D$
# does respond; the cause — the generator chasing whatever $D$ currently likes — is the same.
#
# On the toy, collapse is an exact count of modes; on MNIST, we watch the class coverage of the noise-rejecting
# judge *and* the fraction of confident digits, so that a collapse into unrecognisable blobs is not counted as
# "one class".

# %%
# needs: G_toy (the toy run), D_toy (the toy run)
G_toy_collapse = copy.deepcopy(G_toy)
D_toy_frozen = copy.deepcopy(D_toy).requires_grad_(False)
opt_toy_collapse = torch.optim.Adam(G_toy_collapse.parameters(), lr=5 * BUDGET.toy_lr, betas=(0.5, 0.999))
toy_collapse_noise = torch.Generator().manual_seed(14)
toy_probe = sample_noise(2000, TOY_LATENT, "cpu", torch.Generator().manual_seed(200))  # train_toy(seed=0)'s probe
toy_collapse_log = History()
with threads():
    for step in range(BUDGET.toy_collapse_steps + 1):
        if step % 10 == 0:
            with torch.no_grad():
                report = toy_modes(G_toy_collapse.eval()(toy_probe))
            toy_collapse_log.log(step, modes_covered=report["modes_covered"], within_3sigma=report["within_3sigma"])
        if step == BUDGET.toy_collapse_steps:
            break
        G_toy_collapse.train()
        z = sample_noise(BUDGET.toy_batch, TOY_LATENT, "cpu", toy_collapse_noise)
        loss = generator_loss(D_toy_frozen(G_toy_collapse(z)))  # only G moves: D is frozen
        opt_toy_collapse.zero_grad()
        loss.backward()
        opt_toy_collapse.step()
with torch.no_grad():
    toy_collapsed_samples = G_toy_collapse.eval()(toy_probe)
toy_collapsed = toy_modes(toy_collapsed_samples)
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
with torch.no_grad():
    scatter_toy(axes[0], G_toy.eval()(toy_probe), f"before: {toy_modes(G_toy(toy_probe))['modes_covered']}/8 modes")
scatter_toy(axes[1], toy_collapsed_samples, f"after {BUDGET.toy_collapse_steps} G-only steps: "
            f"{toy_collapsed['modes_covered']}/8 modes")
axes[2].plot(*toy_collapse_log.series("modes_covered"), marker="o")
axes[2].set_title("modes covered (D frozen)", fontsize=9)
axes[2].set_xlabel("G-only step")
axes[2].set_ylim(0, 8.5)
plt.show()
print(f"toy, D frozen: modes covered {int(toy_collapse_log.series('modes_covered')[1][0])} -> {toy_collapsed['modes_covered']} "
      f"(real data: {toy_real['modes_covered']}); samples per mode after: {toy_collapsed['counts']}")

# %%
# needs: gan_judged (section 8)
G_collapse = copy.deepcopy(G)
D_frozen = copy.deepcopy(D).requires_grad_(False)
opt_collapse = torch.optim.Adam(G_collapse.parameters(), lr=5 * BUDGET.lr, betas=(0.5, 0.999))
collapse_noise = torch.Generator().manual_seed(4)
probe_noise = sample_noise(n_eval, LATENT_DIM, device, torch.Generator().manual_seed(5))
coverage = History()
with threads():
    for step in range(0, BUDGET.collapse_steps + 1):
        if step % BUDGET.collapse_every == 0:
            report = metrics.classifier_report(classifier, generate(G_collapse, probe_noise))
            coverage.log(step, coverage_entropy=report["coverage_entropy"], confident=report["confident"])
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
axes[0].plot(*coverage.series("coverage_entropy"), marker="o", label="coverage entropy")
axes[0].plot(*coverage.series("confident"), marker="s", label="confident fraction")
axes[0].set_ylim(0, 1.05)
axes[0].set_title("G's samples with D frozen")
axes[0].set_xlabel("G-only step")
axes[0].legend(fontsize=8)
axes[0].grid(alpha=0.3)
axes[1].bar(digits - 0.2, torch.tensor(gan_judged["counts"]) / n_eval, width=0.4, label="before")
axes[1].bar(digits + 0.2, torch.tensor(collapsed_report["counts"]) / n_eval, width=0.4, label="after")
axes[1].set_xticks(digits)
axes[1].set_title("predicted classes")
axes[1].legend()
viz.show_images(generate(G_collapse, fixed_noise)[:36], nrow=6, ax=axes[2], title="G(fixed_noise) after")
plt.show()
print(f"MNIST, D frozen: before {gan_judged['classes_covered']} classes, entropy {gan_judged['coverage_entropy']:.2f}, "
      f"confident {gan_judged['confident']:.2f}; after {BUDGET.collapse_steps} G-only steps: "
      f"{collapsed_report['classes_covered']} classes, entropy {collapsed_report['coverage_entropy']:.2f}, "
      f"confident {collapsed_report['confident']:.2f} (real digits: {real_judged['classes_covered']} classes, "
      f"entropy {real_judged['coverage_entropy']:.2f})")

# %% [markdown]
# On the toy the count is exact: within a few dozen G-only steps the generator abandons most modes and piles its
# samples wherever the frozen discriminator scores highest — not necessarily on a mode at all. On MNIST the judge's coverage falls the same way. Read it together with the confident fraction: if
# coverage falls while the confident fraction stays high, G has collapsed onto the few digits $D$ favours; if the
# confident fraction falls too, G drifted towards whatever $D$ scores highest, which need not be a digit at all.
# Both are collapse; only the toy can count it without a judge.
#
# ## 11. Questions
#
# **Q1.** In the D step we feed `fake.detach()` to the discriminator. Suppose a student feeds `fake` instead and
# keeps everything else of your `train_step`. What exactly happens when the step runs, and why? Now suppose they
# also compute the G step's `fake` again with a second call `G(z)` on the same `z`: does the step run, are its
# updates right, and what does it cost?

# %% [markdown] nbgrader={"grade_id": "q_detach", "points": 2, "solution": true}
# Without the detach, `loss_d.backward()` runs back through `fake` into G, computing gradients of D's loss for G's
# parameters and then freeing G's part of the graph. The G step's `loss_g.backward()` goes through the same `fake`,
# so it needs that freed graph and fails ("Trying to backward through the graph a second time"), unless
# `retain_graph=True` was used. With a second `G(z)` for the G step, the step runs: the D step's stray gradients
# in G's `.grad` are wiped by `opt_g.zero_grad()` right before the G backward, so the updates equal the
# reference's. It costs an extra backward pass through G in every D step (gradients nobody uses) and an extra
# forward pass of G; and if `opt_g.zero_grad()` had been called earlier (e.g. at the top of the step), D's
# gradients — which point the wrong way for G — would be added into G's update silently.
# Rubric: 1 point for the crash and its cause (graph freed by the first backward); 1 point for "runs, same
# updates because zero_grad clears them, wasted backward/forward through G" (or the accumulation danger).

# %% [markdown]
# **Q2 (experiment).** Algorithm 1 of Goodfellow et al. allows $k$ D steps per G step. Run the toy with
# `train_toy(d_steps=3)` and with the default `train_toy()` for `seed=0, 1, 2` (about 6 short runs; use the cell
# below). Report, for each run, the final modes covered and share within $3\sigma$ (`toy_modes` of the last
# snapshot, or `log.latest(...)`), and the mean over seeds for each setting. Did more D steps help, hurt or change
# nothing beyond seed-to-seed noise? Explain what you see with $D^*$ (section 2.1) and what gradient the generator
# receives from a discriminator that is closer to — or further from — optimal.

# %%
# Scratch cell for Q2 (not graded). Example:
# for seed in range(3):
#     for d_steps in (1, 3):
#         _, _, log, shots = train_toy(d_steps=d_steps, seed=seed)
#         print(seed, d_steps, toy_modes(list(shots.values())[-1]))

# %% [markdown] nbgrader={"grade_id": "q_experiment", "points": 3, "solution": true}
# Model answer (cpu profile, 3,000 steps, measured on the development machine; yours may differ a little):
#
# | `d_steps` | seed 0 | seed 1 | seed 2 | mean |
# |---|---|---|---|---|
# | 1 | 7 modes, 0.42 | 7 modes, 0.75 | 6 modes, 0.71 | 6.7 modes, 0.62 within 3σ |
# | 3 | 4 modes, 0.74 | 4 modes, 0.83 | 4 modes, 0.63 | 4.0 modes, 0.73 within 3σ |
#
# More D steps made the samples *sharper* (a larger share on some mode) but covered *fewer* modes: all three seeds
# settled on 4 of 8 modes (every other one, in our runs), a difference far larger than the seed-to-seed spread of
# the mode count. Explanation: three D steps keep D closer to $D^*$ for the current G, so the gaps between modes,
# where only fakes land, are scored $D^* pprox 0$ sharply and G is pushed hard onto the nearest modes: quality up.
# But a near-optimal D is saturated and flat far from G's samples: the missing modes are $D^* = 1$ islands that
# send no gradient to samples that are not near them, and G (a continuous map of a 2-D Gaussian) would have to
# tear its mass to reach them. G also makes a third as many updates per unit of D compute.
# Rubric: 1 point for a table of the measured numbers (both settings, several seeds, means); 1 point for a
# conclusion that respects the seed-to-seed spread; 1 point for an explanation in terms of D* / the gradient G
# receives (saturation or better guidance, argued from their own numbers).

# %% [markdown]
# **Q3.** Both generator losses give the same direction for each sample (their per-sample gradients with respect
# to the logit have the same sign) but different weights. Training uses Adam, which divides each parameter's
# update by a running root-mean-square of its gradients, so a gradient that is uniformly 100× smaller gives about
# the same step. Why does the saturating loss still train worse early on? Consider a batch in which D rejects most
# fakes ($D(G(z)) \approx 0.01$) and accepts a few ($D(G(z)) \approx 0.6$), and say which samples each loss mostly
# learns from.

# %% [markdown] nbgrader={"grade_id": "q_saturating", "points": 2, "solution": true}
# The batch gradient is a weighted sum of the same per-sample vectors $\partial\ell_j/\partial\theta$, with weight
# $d_j$ for the saturating loss and $1 - d_j$ for the non-saturating one. Adam can undo a common scale factor,
# but not a change of *relative* weights. With $d = 0.01$ for most samples and $0.6$ for a few, the saturating
# loss weights the few accepted samples 60× more than the rejected ones: the update mostly improves the fakes that
# already fool D and nearly ignores the bad majority. The non-saturating loss weights the rejected samples by
# 0.99 and the accepted ones by 0.4: it learns most from the worst samples. Also, Adam's second-moment estimate
# lags (β₂ = 0.999 averages over ~1000 steps), so when $d$ collapses quickly the steps do shrink, and with
# gradients near the size of ε Adam cannot rescale them at all.
# Rubric: 1 point for the relative-weight argument (Adam rescales only a common factor); 1 point for naming
# which samples dominate each loss.

# %% [markdown]
# **Q4.** Describe a generator that gets *perfect* scores from this lesson's classifier coverage (10/10 classes,
# entropy 1.0, every image confident) yet is badly collapsed. Which other number printed in section 8 would give
# it away, and what value would you expect there compared with the real-vs-real row?

# %% [markdown] nbgrader={"grade_id": "q_collapse", "points": 2, "solution": true}
# A generator that outputs only ten images, one clean digit per class, each for a tenth of the codes (or even ten
# training digits copied exactly). The classifier sees ten confident classes in equal shares: coverage entropy 1.
# The classifier FID gives it away: the ten images give ten points in feature space, so the within-class spread
# (the covariance term) is almost zero instead of that of real digits, and the FID is far above the real-vs-real
# value. If the ten images are copies, the nearest-training-image distance gives it away too: 0 (or near 0) for
# every sample, far left of the test digits' histogram. (A per-class mode count, like the toy's, would also show
# 10 modes out of thousands of styles.)
# Rubric: 1 point for a valid collapsed generator with perfect coverage; 1 point for naming FID (covariance ≈ 0,
# FID ≫ real-vs-real) or the NN distance (≈ 0 ≪ real) with the reason.

# %% [markdown]
# ## 12. Going further
#
# - **DCGAN** (Radford et al., 2015) — convolutional G and D with batch normalisation: much sharper digits and faces;
#   lesson 03.
# - **Conditional GANs** (Mirza & Osindero, 2014) — give both players the label; lesson 04.
# - **Other losses** — least squares (LSGAN), Wasserstein with weight clipping or gradient penalty (WGAN, WGAN-GP),
#   hinge loss; lesson 05. On the toy above, WGAN-GP covers the eight modes far more reliably.
# - **Unrolled GANs** (Metz et al., 2017) — the generator looks a few D steps ahead; their first figure is this
#   lesson's ring of eight Gaussians.
# - **Spectral normalisation** (Miyato et al., 2018) — bound D's Lipschitz constant layer by layer; a one-line
#   stabiliser (`torch.nn.utils.parametrizations.spectral_norm`).
# - **TTUR** (Heusel et al., 2017) — separate learning rates for D and G (two time-scale update rule), with a
#   convergence proof; the same paper introduced FID (lesson 06).
# - **Minibatch discrimination** (Salimans et al., 2016) and **minibatch standard deviation** (Karras et al., 2018)
#   against mode collapse; the same Salimans paper adds feature matching, historical averaging and one-sided label
#   smoothing.
# - **Memorisation**: pixel distance misses shifted copies; lesson 06 measures nearest neighbours in feature space.
#
# ## 13. Results
#
# What this profile reached, beside the real-vs-real row (what a perfect generator would score), the
# independent-pixel baseline and uniform noise, all with the same judge and the same $n$.

# %%
# needs: gan_judged (section 8), toy_final (the toy run), error_refit (section 6), toy_collapsed (section 10.2), collapsed_report (section 10.2)
smoke = BUDGET.profile == "smoke"
note = " (smoke: not meaningful)" if smoke else ""


def row(key, fmt):
    short = {"GAN samples": "GAN", "real test digits": "real", "independent pixels": "pixels", "uniform noise": "noise"}
    return " | ".join(f"{label} {format(judged[name][key], fmt)}" for name, label in short.items()) + note


results_table("02_gan", {
    "data": "stand-in" if train.is_standin else "MNIST",
    "n (every row)": n_eval,
    "confident (GAN | real | indep. pixels | noise)": row("confident", ".3f"),
    "classes covered": row("classes_covered", "d"),
    "coverage entropy": row("coverage_entropy", ".3f"),
    "classifier FID vs training digits": row("fid", ".2f"),
    "median distance to nearest training digit": row("nn_median", ".2f"),
    "toy modes covered (GAN | real)": f"{toy_final['modes_covered']}/8 | {toy_real['modes_covered']}/8{note}",
    "toy share within 3 sigma (GAN | real)": f"{toy_final['within_3sigma']:.3f} | {toy_real['within_3sigma']:.3f}{note}",
    "toy E|D - D*| (trained | refit | D = 1/2)": f"{error_trained:.3f} | {error_refit:.3f} | {error_half:.3f}{note}",
    "toy JSD on the grid (0 = perfect, 0.693 = disjoint)": f"{toy_jsd:.3f}{note}",
    "collapse, D frozen: toy modes after": f"{toy_collapsed['modes_covered']}/8{note}",
    "collapse, D frozen: MNIST entropy | confident after": f"{collapsed_report['coverage_entropy']:.3f} | "
                                                          f"{collapsed_report['confident']:.3f}{note}",
    "final_loss_d (equilibrium 1.386)": history.mean("loss_d", last=5),
    "steps": BUDGET.steps,
    "train_seconds": train_seconds,
    "toy_seconds": toy_seconds,
    "images_per_second": images_per_second,
})
