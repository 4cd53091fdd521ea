# %% [markdown]
# # 05 — GAN losses: LSGAN, WGAN, WGAN-GP, hinge, R1 and spectral normalisation
#
# Lessons 02–04 trained every GAN with one loss, the non-saturating cross-entropy of Goodfellow et al. (2014). It
# works, and it fails in ways you have seen: a generator that collapses onto a few modes, a discriminator that wins
# so completely that its gradient says nothing. Between 2016 and 2019 a family of alternatives appeared, each
# starting from a different answer to one question: **which distance between the data and the generator does
# the game minimise, and what does that distance's gradient look like when the two are far apart?** In this
# lesson you write each loss, the penalties and the normalisation that keep the discriminator well-behaved, and a
# training step that runs all of them; then you race them, first on 2-D mixtures where mode coverage is an exact
# number, then on Fashion-MNIST with lesson 03's DCGAN.
#
# **You will be able to**
# - read each GAN loss as a divergence: Jensen–Shannon (original GAN), Pearson $\chi^2$ (LSGAN), the Earth-Mover
#   distance (WGAN), and say which one gives a useful gradient when the two distributions do not overlap;
# - derive the Kantorovich–Rubinstein dual of the Earth-Mover distance, and the three ways of enforcing its
#   Lipschitz constraint: weight clipping, the gradient penalty, spectral normalisation;
# - implement the LSGAN, WGAN, hinge and R1 objectives and the WGAN-GP penalty with a correct double backward
#   (`create_graph=True`), and a spectral-norm layer from a power iteration;
# - write one training step that runs every loss (critic steps, clipping, penalties), and measure which losses
#   cover all modes of a mixture and how fast each reaches a given image quality in wall-clock seconds.
#
# **Prerequisites**: lessons 02 (the GAN game, the optimal discriminator, JSD) and 03 (the DCGAN, which now lives
# in `genlab.models`); gradients of a function with respect to its input (`torch.autograd.grad`); the largest
# singular value of a matrix.
#
# **Time budget** (whole notebook; choose with `GENLAB_PROFILE` before starting the kernel):
#
# | profile | what it trains | time |
# |---|---|---|
# | `smoke` | a few steps of every loss: checks that everything runs; numbers are **not meaningful** | about 42 s on 2 CPU cores |
# | `cpu` | the ring of 8 with six losses, then a small DCGAN on Fashion-MNIST with four losses | about 9 min on 2 CPU cores |
# | `gpu` | longer 2-D runs, wider DCGANs, many more steps | aims at under 10 minutes on one GPU (not yet timed) |
#
# Exercises: 8 (25 points, autograded) and 4 written questions (9 points, read by a person).

# %%
import math
import time
from dataclasses import dataclass
from typing import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from genlab import config, data, grading, metrics, viz
from genlab.assets import load_fashion_classifier
from genlab.grading import attempt, check_close, check_gradients, check_shape, check_true, check_type
from genlab.models import DCGANDiscriminator, DCGANGenerator
from genlab.toy import GaussianMixture2D, toy_generator
from genlab.train import History, progress, results_table, threads

device = config.setup("05_gan_losses")
# One budget table for the whole lesson: nothing below picks its own sizes.
# toy_steps count G steps; a loss with n_critic = 5 takes five D steps per G step.
# inception_n: samples per loss for the Inception FID of section 11 (gpu only; smoke checks the code path on 4).
BUDGET = config.budget({
    "smoke": dict(toy_mixtures=("ring", "grid"), toy_steps=20, toy_hidden=32, toy_batch=64, toy_log_every=10,
                  toy_seeds=1, toy_lr=1e-3, toy_lr_lipschitz=1e-3,
                  image_steps=6, width=8, batch_size=16, image_log_every=3, n_eval=200, plot_seconds=30, inception_n=4),
    "cpu": dict(toy_mixtures=("ring",), toy_steps=1500, toy_hidden=128, toy_batch=128, toy_log_every=75,
                toy_seeds=1, toy_lr=1e-3, toy_lr_lipschitz=1e-3,
                image_steps=320, width=32, batch_size=64, image_log_every=80, n_eval=1000, plot_seconds=10, inception_n=0),
    "gpu": dict(toy_mixtures=("ring", "grid"), toy_steps=5000, toy_hidden=256, toy_batch=512, toy_log_every=250,
                toy_seeds=3, toy_lr=1e-3, toy_lr_lipschitz=2e-4,
                image_steps=5000, width=64, batch_size=128, image_log_every=250, n_eval=10000, plot_seconds=5, inception_n=10000),
})
LATENT_DIM = 64
print(BUDGET)
SMOKE = BUDGET.profile == "smoke"

# %% [markdown]
# ## 1. One game, many distances
#
# Every GAN alternates two steps: a discriminator (or *critic*) $D$ learns a function that tells data from
# generated samples, and the generator $G$ moves its samples along $\nabla_x D$. What $D$ learns — and so which
# direction $G$ is pushed in — depends on $D$'s loss. For a fixed $G$, the best $D$ turns the game's value into a
# **divergence** between the data distribution $p$ and the generator's $q$; training $G$ then minimises that
# divergence. Different losses, different divergences:
#
# | loss | optimal $D$ measures | the game minimises |
# |---|---|---|
# | original GAN (lesson 02) | $D^* = p/(p+q)$ | $2\,\mathrm{JSD}(p\,\|\,q) - \log 4$ |
# | LSGAN (Mao et al., 2017) | $D^* = (b\,p + a\,q)/(p + q)$ | Pearson $\chi^2(p + q\,\|\,2q)$ (for $b - c = 1$, $b - a = 2$) |
# | WGAN (Arjovsky et al., 2017) | a 1-Lipschitz $f$ with the largest $\mathbb E_p f - \mathbb E_q f$ | Earth-Mover distance $W_1(p, q)$ |
# | hinge (Lim & Ye 2017; Miyato et al. 2018) | a margin classifier | (for the optimal $D$) total variation |
#
# Why should the choice matter, if every divergence is zero exactly when $q = p$? Because $G$ starts far away. Real
# images live near a thin manifold of pixel space, and so do $G$'s; two thin manifolds in a high-dimensional space
# almost never overlap. Where $p$ and $q$ have disjoint supports, $\mathrm{JSD}(p\,\|\,q) = \log 2$ **whatever the
# distance between them**: it is flat, and a flat objective has no gradient. The Earth-Mover distance is not flat:
# moving $q$ closer lowers it, however far apart the two are. This is the whole argument of WGAN, and the toy
# study of section 9 lets you watch it.

# %% [markdown]
# ## 2. The original loss and where its gradient goes
#
# With logits $\ell = D(x)$ and $\sigma$ the sigmoid, lesson 02's losses are
# $\mathcal L_D = \mathbb E_p\,\mathrm{softplus}(-\ell) + \mathbb E_q\,\mathrm{softplus}(\ell)$ and two choices
# for $G$:
#
# - **saturating** (the minimax game itself): $G$ minimises $\mathbb E_q \log(1 - \sigma(\ell)) =
#   -\mathbb E_q\,\mathrm{softplus}(\ell)$. Its derivative with respect to the logit is
#   $\frac{d}{d\ell}\big(-\mathrm{softplus}(\ell)\big) = -\sigma(\ell)$: when $D$ confidently rejects a fake
#   ($\ell \to -\infty$, $\sigma(\ell) \to 0$) **the gradient vanishes**, exactly when $G$ needs it most;
# - **non-saturating**: $G$ minimises $\mathbb E_q\,\mathrm{softplus}(-\ell)$, derivative $-(1 - \sigma(\ell)) \to -1$
#   for a rejected fake: a gradient of full size. Same fixed point, a different path; this is what lessons 02–04 used.
#
# Neither fixes the deeper problem of section 1: if $D$ is near-optimal and the supports are disjoint, $D$ is a
# near-step function, $\ell$ is nearly constant on each side, and $\nabla_x \ell$ — the direction $G$ is told to move
# in — is nearly zero or points nowhere in particular. The rest of the lesson is about losses and constraints that
# keep $\nabla_x D$ informative.
#
# ## 3. LSGAN: least squares and Pearson $\chi^2$
#
# Mao et al. (2017) replace the cross-entropy by squared errors towards target values: real → $b$, fake → $a$ for
# $D$, and fake → $c$ for $G$ (here $D(x)$ is a raw output, no sigmoid):
#
# $$
# \mathcal L_D = \tfrac12\,\mathbb E_p\big[(D(x) - b)^2\big] + \tfrac12\,\mathbb E_q\big[(D(x) - a)^2\big], \qquad
# \mathcal L_G = \tfrac12\,\mathbb E_q\big[(D(x) - c)^2\big].
# $$
#
# **The optimal $D$.** Pointwise, $D$ minimises $\tfrac12 p(x)(D - b)^2 + \tfrac12 q(x)(D - a)^2$; setting the
# derivative $p(D - b) + q(D - a)$ to zero gives $D^*(x) = \dfrac{b\,p(x) + a\,q(x)}{p(x) + q(x)}$.
#
# **The divergence.** Put $D^*$ into $G$'s objective, extended by $\tfrac12\mathbb E_p[(D(x) - c)^2]$ (which does not
# depend on $G$). With $D^* - c = \frac{(b - c)p + (a - c)q}{p + q}$,
#
# $$
# 2\,C(G) = \int \frac{\big((b - c)p + (a - c)q\big)^2}{p + q}\,dx .
# $$
#
# Choose $b - c = 1$ and $b - a = 2$ (so $a - c = -1$): the numerator is $(p - q)^2 = \big((p + q) - 2q\big)^2$ and
# $2C(G) = \int \frac{((p + q) - 2q)^2}{2q}\cdot\frac{2q}{p+q}$ … more simply, writing $m = p + q$,
# $2C(G) = \int \frac{(2q - m)^2}{m}dx = \chi^2_\text{Pearson}(2q\,\|\,m)$, which is zero only when $q = p$.
# The popular setting $a = 0$, $b = c = 1$ (this lesson's) does not satisfy these conditions exactly, but behaves the
# same in practice and is what most code uses. **Why it helps the gradient**: the squared error keeps pulling a
# fake towards $c$ in proportion to how far its score is from $c$, even for fakes that $D$ classifies correctly and
# confidently — where the cross-entropy's gradient dies. (Its weakness: nothing bounds $D$'s slope.)
#
# ### Exercise 1 — the LSGAN losses (2 points)
#
# Write `lsgan_d_loss(real_out, fake_out)` and `lsgan_g_loss(fake_out)` for raw outputs (shape `(N,)`, no sigmoid)
# with $a = 0$, $b = 1$, $c = 1$ and the factors $\tfrac12$ above. Each returns a scalar tensor (a mean over the
# batch), differentiable with respect to its inputs.

# %% nbgrader={"grade_id": "lsgan_d_loss", "solution": true}
def lsgan_d_loss(real_out, fake_out):
    """L_D = 1/2 mean (D(x_real) - 1)^2 + 1/2 mean D(x_fake)^2."""
    ### BEGIN SOLUTION
    return 0.5 * (real_out - 1).pow(2).mean() + 0.5 * fake_out.pow(2).mean()   # b = 1, a = 0
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_lsgan_d_loss", "points": 1}
### BEGIN HIDDEN TESTS
def _ref_lsgan_d(real_out, fake_out):
    return 0.5 * (real_out - 1).pow(2).mean() + 0.5 * fake_out.pow(2).mean()


grading.register_reference(lsgan_d_loss=_ref_lsgan_d)
### END HIDDEN TESTS
# Fixed outputs on which the math fixes the value: real scores 1 and 0, fake scores 0 and 2.
_d = attempt(lsgan_d_loss, torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]), what="lsgan_d_loss")
check_type(_d, torch.Tensor, "lsgan_d_loss(...)")
check_shape(_d, (), "lsgan_d_loss(...) (a scalar: a mean over the batch)")
# L_D = 1/2 * mean((0, 1)) + 1/2 * mean((0, 4)) = 0.25 + 1.0
check_close(_d, 1.25, "lsgan_d_loss on real scores (1, 0) and fake scores (0, 2)",
            hint="1/2 mean (real - 1)^2 + 1/2 mean fake^2: real targets b = 1, fake targets a = 0, means over the "
                 "batch (not sums), and the factor 1/2 on both terms.")
print("lsgan_d_loss: visible checks passed")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(5)
_r, _f = torch.randn(7, generator=_gen), torch.randn(11, generator=_gen)   # different batch sizes: means, not sums
check_close(lsgan_d_loss(_r, _f), _ref_lsgan_d(_r, _f), "lsgan_d_loss on random scores")
check_gradients(lsgan_d_loss, _ref_lsgan_d, {"real_out": _r, "fake_out": _f}, "lsgan_d_loss")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "lsgan_g_loss", "solution": true}
def lsgan_g_loss(fake_out):
    """L_G = 1/2 mean (D(x_fake) - 1)^2."""
    ### BEGIN SOLUTION
    return 0.5 * (fake_out - 1).pow(2).mean()   # c = 1
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_lsgan_g_loss", "points": 1}
### BEGIN HIDDEN TESTS
def _ref_lsgan_g(fake_out):
    return 0.5 * (fake_out - 1).pow(2).mean()


grading.register_reference(lsgan_g_loss=_ref_lsgan_g)
### END HIDDEN TESTS
_g = attempt(lsgan_g_loss, torch.tensor([0.0, 2.0]), what="lsgan_g_loss")
check_type(_g, torch.Tensor, "lsgan_g_loss(...)")
check_shape(_g, (), "lsgan_g_loss(...) (a scalar)")
# L_G = 1/2 * mean((0 - 1)^2, (2 - 1)^2) = 0.5
check_close(_g, 0.5, "lsgan_g_loss on fake scores (0, 2)",
            hint="1/2 mean (fake - 1)^2: G wants its fakes scored as real (c = 1), not as 0.")
print("lsgan_g_loss: visible checks passed")
### BEGIN HIDDEN TESTS
_f = torch.randn(9, generator=torch.Generator().manual_seed(6))
check_close(lsgan_g_loss(_f), _ref_lsgan_g(_f), "lsgan_g_loss on random scores")
check_gradients(lsgan_g_loss, _ref_lsgan_g, {"fake_out": _f}, "lsgan_g_loss")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. The Earth-Mover distance and its dual
#
# **The primal.** Think of $p$ and $q$ as two piles of earth of equal mass. A *transport plan* $\gamma(x, y)$ says how
# much mass moves from $x$ (under $q$) to $y$ (under $p$); its marginals must be $q$ and $p$: $\gamma \in \Pi(q, p)$.
# Moving mass $\gamma(x,y)$ over a distance $\|x - y\|$ costs their product, and the Earth-Mover (Wasserstein-1)
# distance is the cheapest plan's cost:
#
# $$
# W_1(p, q) = \inf_{\gamma \in \Pi(q, p)} \mathbb E_{(x, y)\sim\gamma}\,\|x - y\| .
# $$
#
# Two point masses at $0$ and at $\theta$: $W_1 = |\theta|$, smooth in $\theta$, while $\mathrm{JSD} = \log 2$ for
# every $\theta \neq 0$. That is section 1's argument in one line.
#
# **The dual (Kantorovich–Rubinstein).** An infimum over plans is useless for training; the dual turns it into a
# supremum over functions — a critic we can learn:
#
# $$
# W_1(p, q) = \sup_{\|f\|_L \le 1}\; \mathbb E_{y\sim p}\,f(y) - \mathbb E_{x \sim q}\,f(x),
# $$
#
# over 1-Lipschitz $f$ ($|f(y) - f(x)| \le \|y - x\|$). Derivation, on finitely many points (the continuous case is
# the same argument with measures):
#
# 1. **Weak duality** ($\sup \le \inf$). For any plan $\gamma$ and any 1-Lipschitz $f$, since $\gamma$'s marginals
#    are $p$ and $q$: $\mathbb E_p f - \mathbb E_q f = \mathbb E_\gamma[f(y) - f(x)] \le \mathbb E_\gamma\|y - x\|$.
#    Take the sup over $f$ on the left and the inf over $\gamma$ on the right.
# 2. **The linear program.** With points $x_i$ of mass $q_i$ and $y_j$ of mass $p_j$ and costs $c_{ij} = \|x_i -
#    y_j\|$, the primal is: minimise $\sum_{ij} c_{ij}\gamma_{ij}$ subject to $\sum_j \gamma_{ij} = q_i$,
#    $\sum_i \gamma_{ij} = p_j$, $\gamma \ge 0$. Give the constraints multipliers $-g_i$ and $f_j$; the LP dual is:
#    maximise $\sum_j f_j p_j - \sum_i g_i q_i$ subject to $f_j - g_i \le c_{ij}$ for all $i, j$. LP strong duality
#    (both problems are feasible and bounded) says the two optima are **equal**.
# 3. **One function suffices.** For a feasible $(f, g)$, replace $g$ by the smallest value the constraint allows,
#    $g_i = \max_j (f_j - c_{ij})$; this can only raise the objective. Because $c$ is a distance (triangle inequality)
#    the optimal pair can be taken with $g = f$ on the same points, and $f_j - f_i \le c_{ij}$ for every pair is
#    exactly "$f$ is 1-Lipschitz". So the dual optimum is $\sup_f \mathbb E_p f - \mathbb E_q f$ over 1-Lipschitz
#    $f$: the formula above.
#
# **WGAN** trains a critic $f_w$ (no sigmoid: its output is a real number, not a probability) to maximise
# $\mathbb E_p f_w - \mathbb E_q f_w$, and $G$ to minimise $-\mathbb E_q f_w(G(z))$. As losses to *minimise*:
#
# $$
# \mathcal L_\text{critic} = \mathbb E_q f_w(x) - \mathbb E_p f_w(x), \qquad \mathcal L_G = -\mathbb E_q f_w(G(z)).
# $$
#
# Everything rests on $f_w$ being (close to) Lipschitz; without a constraint the critic's values run off to
# $\pm\infty$ and so does $G$'s gradient. Arjovsky et al. **clip every weight** of the critic to $[-c, c]$ after
# each update ($c = 0.01$): a network with bounded weights has a bounded Lipschitz constant (some constant, not 1,
# which only rescales $W_1$). The critic is trained for `n_critic = 5` steps per $G$ step, so that it stays close to
# its optimum. The clipped critic is crude: with $c$ too small its gradients vanish, too large and they explode,
# and it is pushed towards very simple functions (Gulrajani et al., 2017, fig. 1).
#
# ### Exercise 2 — the WGAN critic and generator losses, and weight clipping (3 points)
#
# - `wgan_critic_loss(real_out, fake_out)`: $\operatorname{mean}(f(x_\text{fake})) - \operatorname{mean}(f(x_\text{real}))$;
# - `wgan_g_loss(fake_out)`: $-\operatorname{mean}(f(x_\text{fake}))$;
# - `clip_weights(module, c)`: clamp **every parameter** of `module` to $[-c, c]$ in place, without recording a
#   gradient (under `torch.no_grad()`); return nothing. The training step calls it on the critic only.

# %% nbgrader={"grade_id": "wgan_critic_loss", "solution": true}
def wgan_critic_loss(real_out, fake_out):
    """L_critic = mean f(fake) - mean f(real): minimising it maximises the W1 estimate mean f(real) - mean f(fake)."""
    ### BEGIN SOLUTION
    return fake_out.mean() - real_out.mean()
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_wgan_critic_loss", "points": 1}
### BEGIN HIDDEN TESTS
def _ref_wgan_critic(real_out, fake_out):
    return fake_out.mean() - real_out.mean()


grading.register_reference(wgan_critic_loss=_ref_wgan_critic)
### END HIDDEN TESTS
_c = attempt(wgan_critic_loss, torch.tensor([3.0, 1.0]), torch.tensor([-1.0, 0.0]), what="wgan_critic_loss")
check_type(_c, torch.Tensor, "wgan_critic_loss(...)")
check_shape(_c, (), "wgan_critic_loss(...) (a scalar)")
# mean f(fake) - mean f(real) = -0.5 - 2 = -2.5: a critic that scores real above fake has a NEGATIVE loss
check_close(_c, -2.5, "wgan_critic_loss on real scores (3, 1), fake scores (-1, 0)",
            hint="mean(fake) - mean(real). If you got +2.5 the sign is flipped: the critic MINIMISES this loss, "
                 "which pushes real scores up and fake scores down.")
print("wgan_critic_loss: visible checks passed")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(6)
_r, _f = torch.randn(5, generator=_gen), torch.randn(9, generator=_gen)   # different batch sizes: means, not sums
check_close(wgan_critic_loss(_r, _f), _ref_wgan_critic(_r, _f), "wgan_critic_loss on batches of 5 and 9")
check_gradients(wgan_critic_loss, _ref_wgan_critic, {"real_out": _r, "fake_out": _f}, "wgan_critic_loss")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "wgan_g_loss", "solution": true}
def wgan_g_loss(fake_out):
    """L_G = -mean f(fake)."""
    ### BEGIN SOLUTION
    return -fake_out.mean()
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_wgan_g_loss", "points": 1}
### BEGIN HIDDEN TESTS
def _ref_wgan_g(fake_out):
    return -fake_out.mean()


grading.register_reference(wgan_g_loss=_ref_wgan_g)
### END HIDDEN TESTS
_g = attempt(wgan_g_loss, torch.tensor([-1.0, 0.0]), what="wgan_g_loss")
check_type(_g, torch.Tensor, "wgan_g_loss(...)")
check_close(_g, 0.5, "wgan_g_loss on fake scores (-1, 0)",
            hint="-mean(fake): G wants its samples scored high (minimising -mean pushes the scores up).")
print("wgan_g_loss: visible checks passed")
### BEGIN HIDDEN TESTS
_f = torch.randn(9, generator=torch.Generator().manual_seed(7))
check_close(wgan_g_loss(_f), _ref_wgan_g(_f), "wgan_g_loss on random scores")
check_gradients(wgan_g_loss, _ref_wgan_g, {"fake_out": _f}, "wgan_g_loss")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "clip_weights", "solution": true}
def clip_weights(module, c):
    """Clamp every parameter of `module` to [-c, c], in place (WGAN's Lipschitz constraint)."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        for p in module.parameters():
            p.clamp_(-c, c)
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_clip_weights", "points": 1}
### BEGIN HIDDEN TESTS
def _ref_clip_weights(module, c):
    with torch.no_grad():
        for p in module.parameters():
            p.clamp_(-c, c)


grading.register_reference(clip_weights=_ref_clip_weights)
### END HIDDEN TESTS
torch.manual_seed(0)
_net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
with torch.no_grad():
    for _p in _net.parameters():
        _p.mul_(10)   # weights well outside [-0.05, 0.05]
_before = [p.detach().clone() for p in _net.parameters()]
_returned = attempt(clip_weights, _net, 0.05, what="clip_weights")
check_true(all(p.abs().max() <= 0.05 + 1e-7 for p in _net.parameters()),
           "after clip_weights(net, 0.05) some parameter is outside [-0.05, 0.05]: clamp every parameter (the "
           "biases too), in place (p.clamp_ under torch.no_grad(), not p = p.clamp(...), which changes nothing).")
print("clip_weights: visible checks passed")
### BEGIN HIDDEN TESTS
for _p, _b in zip(_net.parameters(), _before):
    check_close(_p, _b.clamp(-0.05, 0.05), "the clipped parameters", atol=1e-7,
                hint="clamp to [-c, c]: values inside stay unchanged, values outside become exactly -c or c.")
check_true(all(p.grad is None for p in _net.parameters()) and all(p.requires_grad for p in _net.parameters()),
           "clip_weights must not create gradients or turn requires_grad off: clamp in place under torch.no_grad().")
check_true(_returned is None or _returned is _net, "clip_weights changes the module in place; it returns nothing.")
### END HIDDEN TESTS

# %% [markdown]
# ## 5. The gradient penalty (WGAN-GP)
#
# Gulrajani et al. (2017) prove a property of the *optimal* critic: if $\pi$ is an optimal transport plan, then on
# every segment between a coupled pair $(x, y) \sim \pi$ the optimal $f^*$ has slope exactly 1 — its gradient norm is
# 1 at every point $\hat x = \epsilon y + (1 - \epsilon)x$. Instead of clipping, they ask for that property softly,
# on random points of segments between a real and a fake sample (a real–fake pair drawn independently, a cheap
# stand-in for the coupling):
#
# $$
# \mathcal L_\text{critic} = \mathbb E_q f(x) - \mathbb E_p f(x) + \lambda\, \mathbb E_{\hat x}\big[(\|\nabla_{\hat x}
#   f(\hat x)\|_2 - 1)^2\big],\qquad \hat x = \epsilon\, x_\text{real} + (1 - \epsilon)\, x_\text{fake},\;
#   \epsilon \sim U[0, 1],
# $$
#
# with $\lambda = 10$. Four details decide whether this is the gradient penalty or a bug that trains anyway:
# 1. **one $\epsilon$ per sample**, shared by all its pixels (a point on the segment between two images), not one
#    per pixel (a point in a box around them);
# 2. the gradient norm is taken over **all non-batch dimensions** (channels, height, width) at once: the norm of
#    the image-shaped gradient of one sample;
# 3. the penalty is a function of $\nabla f$, so its gradient with respect to the critic's weights needs the
#    derivative of a derivative: `torch.autograd.grad(..., create_graph=True)`. Without it the penalty is a
#    constant for the optimiser and silently does nothing;
# 4. the penalty is $(\|g\| - 1)^2$ (two-sided, towards norm 1), not $\|g\|^2$ (towards a flat critic).
#
# The critic must not use BatchNorm (it couples the samples of a batch, so "the gradient of one sample's score"
# stops being per-sample); this lesson uses no normalisation in the toy critic and a per-sample LayerNorm-style
# `GroupNorm(1, C)` in the DCGAN critic (`DCGANDiscriminator(norm="layer")`).
#
# ### Exercise 3 — the gradient penalty (3 points)
#
# Write `gradient_penalty(critic, real, fake, generator=None)`: draw
# `eps = torch.rand(N, 1, ..., 1, generator=generator)` with one value per sample and as many trailing 1s as `real`
# has non-batch dims (so that it broadcasts), form $\hat x$ from `real` and `fake.detach()`, make it require a
# gradient, take $g = \nabla_{\hat x}\sum_i f(\hat x_i)$ with `create_graph=True`, and return the **scalar**
# $\operatorname{mean}_i (\|g_i\|_2 - 1)^2$ (without $\lambda$). It must work for images `(N, C, H, W)` and for 2-D
# points `(N, 2)`. Draw `eps` on the CPU with `generator`, then move it to `real.device`.

# %% nbgrader={"grade_id": "gradient_penalty", "solution": true}
def gradient_penalty(critic, real, fake, generator=None):
    """mean_i (||grad f(x_hat_i)||_2 - 1)^2 on x_hat = eps real + (1 - eps) fake, one eps per sample (WGAN-GP)."""
    ### BEGIN SOLUTION
    shape = (len(real),) + (1,) * (real.dim() - 1)                       # one eps per sample, broadcast over pixels
    eps = torch.rand(shape, generator=generator).to(real.device)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    grad, = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)   # the penalty must be differentiable
    norms = grad.flatten(1).norm(2, dim=1)                                # ||g_i|| over all non-batch dims
    return (norms - 1).pow(2).mean()
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_gradient_penalty_value", "points": 2}
### BEGIN HIDDEN TESTS
def _ref_gradient_penalty(critic, real, fake, generator=None):
    eps = torch.rand((len(real),) + (1,) * (real.dim() - 1), generator=generator).to(real.device)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    grad, = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


grading.register_reference(gradient_penalty=_ref_gradient_penalty)
### END HIDDEN TESTS
class _LinearCritic(nn.Module):
    """f(x) = <w, x> + b on flattened inputs: its input gradient is w for every sample, known in closed form."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w.clone().flatten())
        self.b = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x.flatten(1) @ self.w + self.b


def _tiny_critic(seed, in_features=2):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0))


_real2, _fake2 = torch.arange(10.0).view(5, 2) / 10, -torch.arange(10.0).view(5, 2) / 10   # five 2-D pairs
# A linear critic with ||w|| = 3 has gradient norm 3 everywhere: the penalty is (3 - 1)^2 = 4, whatever eps is.
_lin = _LinearCritic(torch.tensor([[[0.0, 3.0], [0.0, 0.0]]]))       # images of shape (1, 2, 2)
_real, _fake = torch.randn(4, 1, 2, 2), torch.randn(4, 1, 2, 2)
_gp = attempt(gradient_penalty, _lin, _real, _fake, torch.Generator().manual_seed(0), what="gradient_penalty")
check_type(_gp, torch.Tensor, "gradient_penalty(...)")
check_shape(_gp, (), "gradient_penalty(...) (a scalar: the mean over the batch)")
check_close(_gp, 4.0, "the penalty of a linear critic with ||w|| = 3",
            hint="the penalty is mean (||g|| - 1)^2, with ||g|| the norm of each sample's WHOLE gradient (flatten all "
                 "non-batch dims). 9 means (||g||^2 - 0) or ||g||^2: the '- 1' is missing; 2 means (||g|| - 1) "
                 "without the square.")
# A small non-linear critic on 2-D points; the reference value for this seeded eps (stored, not recomputed):
_critic = _tiny_critic(0)
_gp2 = attempt(gradient_penalty, _critic, _real2, _fake2, torch.Generator().manual_seed(1), what="gradient_penalty")
check_close(_gp2, 0.7786389589309692, "the penalty of a small tanh critic on five 2-D pairs (seeded eps)", atol=1e-5,
            hint="draw eps = torch.rand(N, 1, generator=generator) (one per sample, first thing with the generator) "
                 "and interpolate eps * real + (1 - eps) * fake: real and fake BOTH enter x_hat.")
print("gradient_penalty: visible value checks passed")
### BEGIN HIDDEN TESTS
# images: a critic whose gradient varies per pixel and per sample (per-sample eps, norm over C, H, W)
torch.manual_seed(3)
_img_critic = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 4 * 4, 1),
                            nn.Flatten(0))
_ri, _fi = torch.randn(6, 2, 4, 4, generator=torch.Generator().manual_seed(4)), torch.randn(6, 2, 4, 4)
check_close(gradient_penalty(_img_critic, _ri, _fi, torch.Generator().manual_seed(5)),
            _ref_gradient_penalty(_img_critic, _ri, _fi, torch.Generator().manual_seed(5)),
            "the penalty on (6, 2, 4, 4) images", atol=1e-5,
            hint="one eps per sample of shape (N, 1, 1, 1); the norm of each sample's gradient over C, H and W together.")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_gradient_penalty_gradient", "points": 1}
# The penalty must train the critic: its gradient with respect to the critic's weights needs create_graph=True.
_critic = _tiny_critic(2)
_pen = attempt(gradient_penalty, _critic, _real2, _fake2, torch.Generator().manual_seed(1), what="gradient_penalty")
check_true(_pen.requires_grad, "the penalty does not depend on the critic's weights (no grad_fn): call "
           "torch.autograd.grad(..., create_graph=True), so that the gradient is itself differentiable, and do not "
           ".detach() or .item() it.")
_pen.backward()
check_true(all(p.grad is not None for p in _critic.parameters() if p.dim() > 1),
           "no gradient reached the critic's weights from the penalty: use create_graph=True.")
print("gradient_penalty: visible gradient checks passed")
### BEGIN HIDDEN TESTS
def _penalty_weight_grads(fn, seed):
    critic = _tiny_critic(2)
    fn(critic, _real2, _fake2, torch.Generator().manual_seed(seed)).backward()
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in critic.parameters()]


for _a, _b in zip(_penalty_weight_grads(gradient_penalty, 7), _penalty_weight_grads(_ref_gradient_penalty, 7)):
    check_close(_a, _b, "the penalty's gradient with respect to the critic's weights", atol=1e-5)
# no gradient may flow into the generator through the penalty
_fake_leaf = _fake2.clone().requires_grad_(True)
gradient_penalty(_tiny_critic(2), _real2, _fake_leaf, torch.Generator().manual_seed(1)).backward()
check_true(_fake_leaf.grad is None or _fake_leaf.grad.abs().sum() == 0,
           "the penalty sent a gradient into `fake` (into G): interpolate with fake.detach().")
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Hinge loss and spectral normalisation
#
# **The hinge loss** (Lim & Ye, 2017; used by SN-GAN, SAGAN and BigGAN) asks the discriminator for a *margin*: real
# scores above $+1$, fake scores below $-1$, and nothing more once they are there:
#
# $$
# \mathcal L_D = \mathbb E_p\,\mathrm{relu}(1 - D(x)) + \mathbb E_q\,\mathrm{relu}(1 + D(x)), \qquad
# \mathcal L_G = -\mathbb E_q\,D(G(z)).
# $$
#
# Samples beyond the margin contribute no gradient to $D$, so $D$ stops sharpening itself on easy samples (where the
# cross-entropy keeps pushing logits to $\pm\infty$); $G$ uses WGAN's linear loss, whose gradient never saturates.
#
# **Spectral normalisation** (Miyato et al., 2018) makes $D$ Lipschitz by construction. The Lipschitz constant of a
# linear map $x \mapsto Wx$ is its largest singular value $\sigma(W) = \max_{\|v\| = 1}\|Wv\|$; ReLU and LeakyReLU
# are 1-Lipschitz, and the constant of a composition is at most the product of the constants. So dividing every
# layer's weight by its $\sigma$, $\bar W = W / \sigma(W)$, bounds the whole network's constant by 1.
#
# $\sigma(W)$ costs an SVD — too expensive at every step. **Power iteration** estimates it: starting from a vector
# $u$, repeat $v \leftarrow W^\top u / \|W^\top u\|$, $u \leftarrow W v / \|W v\|$; then $\sigma \approx u^\top W v$.
# Each round multiplies the component of $u$ along the top left-singular vector by $\sigma_1^2$ and the others by
# smaller $\sigma_i^2$, so $u$ converges to it geometrically at the rate $(\sigma_2/\sigma_1)^2$. Because $W$ changes
# only a little per training step, keeping $u$ from the previous step and doing **one** round per step is enough.
# The gradient: $u$ and $v$ are treated as constants, so $\partial\sigma/\partial W = u v^\top$.
#
# ### Exercise 4 — the hinge losses (2 points)
#
# `hinge_d_loss(real_out, fake_out)` and `hinge_g_loss(fake_out)`, as above, means over the batch.

# %% nbgrader={"grade_id": "hinge_d_loss", "solution": true}
def hinge_d_loss(real_out, fake_out):
    """L_D = mean relu(1 - D(real)) + mean relu(1 + D(fake))."""
    ### BEGIN SOLUTION
    return F.relu(1 - real_out).mean() + F.relu(1 + fake_out).mean()
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_hinge_d_loss", "points": 1}
### BEGIN HIDDEN TESTS
def _ref_hinge_d(real_out, fake_out):
    return F.relu(1 - real_out).mean() + F.relu(1 + fake_out).mean()


grading.register_reference(hinge_d_loss=_ref_hinge_d)
### END HIDDEN TESTS
_d = attempt(hinge_d_loss, torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-3.0, 0.0, 1.0]), what="hinge_d_loss")
check_type(_d, torch.Tensor, "hinge_d_loss(...)")
check_shape(_d, (), "hinge_d_loss(...) (a scalar)")
# real: relu(1 - (2, 0.5, -1)) = (0, 0.5, 2), mean 5/6; fake: relu(1 + (-3, 0, 1)) = (0, 1, 2), mean 1
check_close(_d, 5 / 6 + 1, "hinge_d_loss on real (2, 0.5, -1), fake (-3, 0, 1)",
            hint="mean relu(1 - real) + mean relu(1 + fake): scores beyond the margin (real > 1, fake < -1) add 0. "
                 "Without the relu a confident real score of 2 would count -1.")
print("hinge_d_loss: visible checks passed")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(8)
_r, _f = 2 * torch.randn(6, generator=_gen), 2 * torch.randn(10, generator=_gen)
check_close(hinge_d_loss(_r, _f), _ref_hinge_d(_r, _f), "hinge_d_loss on batches of 6 and 10")
check_gradients(hinge_d_loss, _ref_hinge_d, {"real_out": _r, "fake_out": _f}, "hinge_d_loss")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "hinge_g_loss", "solution": true}
def hinge_g_loss(fake_out):
    """L_G = -mean D(fake)."""
    ### BEGIN SOLUTION
    return -fake_out.mean()
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_hinge_g_loss", "points": 1}
### BEGIN HIDDEN TESTS
def _ref_hinge_g(fake_out):
    return -fake_out.mean()


grading.register_reference(hinge_g_loss=_ref_hinge_g)
### END HIDDEN TESTS
_g = attempt(hinge_g_loss, torch.tensor([-3.0, 0.0, 1.0]), what="hinge_g_loss")
check_type(_g, torch.Tensor, "hinge_g_loss(...)")
check_close(_g, 2 / 3, "hinge_g_loss on fake (-3, 0, 1)",
            hint="-mean(fake): G's hinge loss is WGAN's linear loss, with no relu and no margin (a relu would stop "
                 "pushing fakes that D already scores above -1).")
print("hinge_g_loss: visible checks passed")
### BEGIN HIDDEN TESTS
_f = 2 * torch.randn(10, generator=torch.Generator().manual_seed(9))
check_close(hinge_g_loss(_f), _ref_hinge_g(_f), "hinge_g_loss on random scores")
check_gradients(hinge_g_loss, _ref_hinge_g, {"fake_out": _f}, "hinge_g_loss")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5 — power iteration for the largest singular value (3 points)
#
# Write `power_iteration(W, u, n_iters=1)` for a matrix `W` of shape `(out, in)` and a vector `u` of shape `(out,)`:
# `n_iters` rounds of $v = \mathrm{normalize}(W^\top u)$, $u = \mathrm{normalize}(W v)$ (use
# `F.normalize(..., dim=0, eps=1e-12)`), **without gradients** (under `torch.no_grad()`: $u$ and $v$ are constants),
# then $\sigma = u^\top W v$ **with** a gradient with respect to `W`. Return `(sigma, u, v)`: a scalar tensor and the
# two updated vectors. Do not change the `u` you were given in place (the layer of Exercise 6 decides what to keep).

# %% nbgrader={"grade_id": "power_iteration", "solution": true}
def power_iteration(W, u, n_iters=1):
    """Estimate the largest singular value of W (out, in) from a left vector u (out,); returns (sigma, u, v)."""
    ### BEGIN SOLUTION
    with torch.no_grad():                                   # u and v are constants for autograd
        for _ in range(n_iters):
            v = F.normalize(W.T @ u, dim=0, eps=1e-12)       # v <- W^T u / ||W^T u||
            u = F.normalize(W @ v, dim=0, eps=1e-12)         # u <- W v / ||W v||
    sigma = u @ (W @ v)                                     # sigma = u^T W v; d sigma / dW = u v^T
    return sigma, u, v
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_power_iteration_value", "points": 2}
### BEGIN HIDDEN TESTS
def _ref_power_iteration(W, u, n_iters=1):
    with torch.no_grad():
        for _ in range(n_iters):
            v = F.normalize(W.T @ u, dim=0, eps=1e-12)
            u = F.normalize(W @ v, dim=0, eps=1e-12)
    return u @ (W @ v), u, v


grading.register_reference(power_iteration=_ref_power_iteration)
### END HIDDEN TESTS
# diag(3, 1): sigma_1 = 3, top singular vectors e_1. From u = (1, 1)/sqrt(2) one round gives v = (3, 1)/sqrt(10),
# u = W v / ||W v|| = (9, 1)/sqrt(82) and sigma = u^T W v = ||W v|| = sqrt(82 / 10) = 2.864 (below 3: one round).
_W = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
_u0 = torch.tensor([1.0, 1.0]) / math.sqrt(2)
_result = attempt(power_iteration, _W, _u0.clone(), 1, what="power_iteration")
check_true(isinstance(_result, tuple) and len(_result) == 3, "power_iteration returns (sigma, u, v).")
_sigma, _u, _v = _result
check_shape(_sigma, (), "sigma (a scalar tensor)")
check_close(_v, torch.tensor([3.0, 1.0]) / math.sqrt(10), "v after one round from u = (1, 1)/sqrt(2)",
            hint="v = normalize(W^T u) comes first in each round, with W^T (W.T), not W.")
check_close(_u, torch.tensor([9.0, 1.0]) / math.sqrt(82), "u after one round", hint="then u = normalize(W v).")
check_close(_sigma, math.sqrt(8.2), "sigma after one round",
            hint="sigma = u^T W v with the UPDATED u and v (not ||W u||, not ||v||).")
_sigma50, _, _ = attempt(power_iteration, _W, _u0.clone(), 50, what="power_iteration")
check_close(_sigma50, 3.0, "sigma after 50 rounds on diag(3, 1) (the largest singular value)", atol=1e-4)
print("power_iteration: visible value checks passed")
### BEGIN HIDDEN TESTS
_Wr = torch.randn(5, 3, generator=torch.Generator().manual_seed(9))
_ur = torch.randn(5, generator=torch.Generator().manual_seed(10))
_s, _u1, _v1 = power_iteration(_Wr, _ur.clone(), 3)
_rs, _ru, _rv = _ref_power_iteration(_Wr, _ur.clone(), 3)
check_close(_s, _rs, "sigma after 3 rounds on a random 5x3 matrix")
check_close(_u1, _ru, "u after 3 rounds")
check_close(_v1, _rv, "v after 3 rounds")
check_close(power_iteration(_Wr, _ur.clone(), 100)[0], torch.linalg.svdvals(_Wr)[0], "sigma after 100 rounds vs svdvals",
            atol=1e-4)
_u_given = _ur.clone()
power_iteration(_Wr, _u_given, 2)
check_true(torch.equal(_u_given, _ur), "power_iteration changed the u it was given in place; return the new u instead.")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_power_iteration_gradient", "points": 1}
_Wg = torch.randn(4, 3, generator=torch.Generator().manual_seed(11)).requires_grad_(True)
_ug = torch.randn(4, generator=torch.Generator().manual_seed(12))
_sigma, _u, _v = attempt(power_iteration, _Wg, _ug.clone(), 2, what="power_iteration")
check_true(_sigma.requires_grad, "sigma has no gradient with respect to W: compute sigma = u^T W v OUTSIDE "
           "torch.no_grad() (only the iteration itself runs without gradients).")
check_true(not _u.requires_grad and not _v.requires_grad, "u and v carry gradients: run the iteration under "
           "torch.no_grad(), so that they are constants (the spectral-norm gradient is d sigma / dW = u v^T).")
_sigma.backward()
check_close(_Wg.grad, torch.outer(_u, _v), "d sigma / dW", atol=1e-5, hint="with u, v constants, d(u^T W v)/dW = u v^T.")
print("power_iteration: visible gradient checks passed")

# %% [markdown]
# ### Exercise 6 — a spectrally normalised linear layer (3 points)
#
# Build `SpectralLinear(in_features, out_features, generator=None)`, an `nn.Module` that computes
# $y = x\,(W/\sigma(W))^\top + b$:
# - parameters `weight` `(out, in)` and `bias` `(out,)`, initialised like `nn.Linear`'s (create an `nn.Linear` and
#   take its parameters, as `nn.Parameter`s of your module);
# - a **buffer** `u` (`self.register_buffer("u", ...)`: saved with the model, moved by `.to()`, not trained),
#   initialised as `F.normalize(torch.randn(out_features, generator=generator), dim=0)`;
# - `forward(x)`: in training mode, one round of `power_iteration(self.weight, self.u)` and store the new `u` in the
#   buffer (`self.u.copy_(u)`); in eval mode no round and no change to `u`: compute `v = normalize(Wᵀu)` under
#   `torch.no_grad()` and $\sigma = u^\top W v$ from the stored `u` (two lines, written out). Then return
#   `F.linear(x, self.weight / sigma, self.bias)`; keep `sigma` a tensor in the graph (the gradient flows through it).
#
# The toy discriminator of section 9 is built from your layer.

# %% nbgrader={"grade_id": "spectral_linear", "solution": true}
class SpectralLinear(nn.Module):
    """A linear layer with weight W / sigma(W), sigma from one power-iteration round per training step."""

    def __init__(self, in_features, out_features, generator=None):
        super().__init__()
        ### BEGIN SOLUTION
        linear = nn.Linear(in_features, out_features)
        self.weight, self.bias = nn.Parameter(linear.weight.detach().clone()), nn.Parameter(linear.bias.detach().clone())
        self.register_buffer("u", F.normalize(torch.randn(out_features, generator=generator), dim=0))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        if self.training:
            sigma, u, _ = power_iteration(self.weight, self.u, 1)
            with torch.no_grad():
                self.u.copy_(u)                                   # keep u for the next step's single round
        else:
            with torch.no_grad():
                v = F.normalize(self.weight.T @ self.u, dim=0, eps=1e-12)
            sigma = self.u @ (self.weight @ v)
        return F.linear(x, self.weight / sigma, self.bias)       # W_bar = W / sigma(W)
        ### END SOLUTION


# %% nbgrader={"grade_id": "test_spectral_linear", "points": 3}
### BEGIN HIDDEN TESTS
grading.use_references(globals(), "power_iteration")
### END HIDDEN TESTS
grading.require(globals(), power_iteration="Exercise 5")
torch.manual_seed(0)
_layer = attempt(SpectralLinear, 3, 4, torch.Generator().manual_seed(0), what="SpectralLinear(3, 4)")
check_true(isinstance(_layer, nn.Module), "SpectralLinear must be an nn.Module.")
check_true({n for n, _ in _layer.named_parameters()} == {"weight", "bias"},
           f"SpectralLinear's parameters should be exactly weight and bias, not {[n for n, _ in _layer.named_parameters()]}.")
check_true("u" in dict(_layer.named_buffers()), "u must be a buffer (self.register_buffer('u', ...)), so that it is "
           "saved and moved with the model but not trained.")
check_shape(_layer.weight, (4, 3), "SpectralLinear(3, 4).weight")
check_close(_layer.u, F.normalize(torch.randn(4, generator=torch.Generator().manual_seed(0)), dim=0),
            "the initial u", hint="F.normalize(torch.randn(out_features, generator=generator), dim=0).")
_x = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
_u_before = _layer.u.clone()
_y = attempt(_layer, _x, what="SpectralLinear.forward")
_s, _u_new, _ = power_iteration(_layer.weight.detach(), _u_before, 1)
check_close(_y, F.linear(_x, _layer.weight / _s, _layer.bias), "SpectralLinear's output in training mode",
            hint="one power_iteration round with the stored u, then F.linear(x, weight / sigma, bias).")
check_close(_layer.u, _u_new, "the buffer u after one training-mode forward",
            hint="store the u that power_iteration returns: self.u.copy_(u).")
print("SpectralLinear: visible checks passed")
### BEGIN HIDDEN TESTS
_layer.eval()
_u_eval = _layer.u.clone()
_ye = _layer(_x)
check_true(torch.equal(_layer.u, _u_eval), "in eval mode the buffer u must not change (no power-iteration round).")
_v_e = F.normalize(_layer.weight.detach().T @ _u_eval, dim=0, eps=1e-12)
check_close(_ye, F.linear(_x, _layer.weight / (_u_eval @ (_layer.weight @ _v_e)), _layer.bias),
            "SpectralLinear's output in eval mode")
_layer.train()
_layer.zero_grad()
_layer(_x).pow(2).sum().backward()
check_true(_layer.weight.grad is not None and _layer.bias.grad is not None,
           "the output must be differentiable with respect to weight and bias.")


def _reference_output(weight, bias, x, u):
    s, _, _ = _ref_power_iteration(weight, u, 1)
    return F.linear(x, weight / s, bias)


_lay2 = SpectralLinear(3, 4, torch.Generator().manual_seed(3))
_u2 = _lay2.u.clone()
_lay2(_x).pow(2).sum().backward()
_wl, _bl = _lay2.weight.detach().clone().requires_grad_(True), _lay2.bias.detach().clone().requires_grad_(True)
_reference_output(_wl, _bl, _x, _u2).pow(2).sum().backward()
check_close(_lay2.weight.grad, _wl.grad, "the gradient with respect to weight (through W / sigma)", atol=1e-5,
            hint="sigma must stay in the graph: divide by the sigma tensor, not by sigma.item().")
check_true(len(list(SpectralLinear(2, 6).buffers())) == 1, "one buffer (u).")
### END HIDDEN TESTS

# %% [markdown]
# ## 7. R1: a penalty on the real data only
#
# Mescheder et al. (2018) studied when simultaneous gradient descent on a GAN *converges* at all near the
# equilibrium $q = p$, $D = 0$. The unregularised game circles around it (its Jacobian has purely imaginary
# eigenvalues in a simple two-parameter example). Their fix penalises the discriminator's input gradient **on real
# data**, zero-centred:
#
# $$
# R_1 = \frac{\gamma}{2}\,\mathbb E_{x\sim p}\big[\|\nabla_x D(x)\|^2\big].
# $$
#
# At the equilibrium the ideal $D$ is flat on the data, so the penalty is zero there and does not move the fixed
# point; away from it, it stops $D$ from building steep walls around the real samples, which is what makes $G$'s
# gradient oscillate. Compared with WGAN-GP: zero-centred (towards $\|\nabla\| = 0$, not 1), on real points only (no
# interpolation), and added to an ordinary (non-saturating) GAN loss. StyleGAN 1–3 train with it.
#
# ### Exercise 7 — R1 (2 points)
#
# `r1_penalty(D, real)`: $\operatorname{mean}_i \|\nabla_{x_i} D(x_i)\|^2$ (the squared norm over all non-batch
# dims; the factor $\gamma/2$ is applied by the training step) on `real.detach()` made to require a gradient, with
# `create_graph=True`. Returns a scalar tensor.

# %% nbgrader={"grade_id": "r1_penalty", "solution": true}
def r1_penalty(D, real):
    """mean_i ||grad_x D(x_i)||^2 over real samples (Mescheder et al., 2018), differentiable in D's weights."""
    ### BEGIN SOLUTION
    x = real.detach().requires_grad_(True)
    grad, = torch.autograd.grad(D(x).sum(), x, create_graph=True)   # d D(x_i) / d x_i for every sample at once
    return grad.flatten(1).pow(2).sum(1).mean()                      # squared norm over C, H, W; mean over samples
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_r1", "points": 2}
### BEGIN HIDDEN TESTS
def _ref_r1(D, real):
    x = real.detach().requires_grad_(True)
    grad, = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


grading.register_reference(r1_penalty=_ref_r1)
### END HIDDEN TESTS
_points = torch.arange(10.0).view(5, 2) / 10
# A linear D with ||w||^2 = 9 + 16 = 25 has ||grad||^2 = 25 for every sample.
_lin = _LinearCritic(torch.tensor([[[3.0, 0.0], [0.0, 4.0]]]))
_r1 = attempt(r1_penalty, _lin, torch.randn(3, 1, 2, 2), what="r1_penalty")
check_type(_r1, torch.Tensor, "r1_penalty(...)")
check_shape(_r1, (), "r1_penalty(...) (a scalar)")
check_close(_r1, 25.0, "R1 of a linear D with ||w|| = 5",
            hint="the SQUARED norm of each sample's whole gradient (sum of squares over all non-batch dims), averaged "
                 "over samples: 5 means the norm without the square; (||g|| - 1)^2 = 16 is WGAN-GP's penalty, not R1.")
_critic = _tiny_critic(4)
_pen = attempt(r1_penalty, _critic, _points, what="r1_penalty")
check_true(_pen.requires_grad, "R1 does not depend on D's weights: use torch.autograd.grad(..., create_graph=True).")
print("r1_penalty: visible checks passed")
### BEGIN HIDDEN TESTS
torch.manual_seed(3)
_img_critic = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 4 * 4, 1),
                            nn.Flatten(0))
_ri = torch.randn(6, 2, 4, 4, generator=torch.Generator().manual_seed(4))
check_close(r1_penalty(_img_critic, _ri), _ref_r1(_img_critic, _ri), "R1 on (6, 2, 4, 4) images", atol=1e-5,
            hint="sum of squares over C, H, W for each sample, then the mean over the batch.")
_c_a, _c_b = _tiny_critic(5), _tiny_critic(5)
r1_penalty(_c_a, _points).backward()
_ref_r1(_c_b, _points).backward()
for _a, _b in zip(_c_a.parameters(), _c_b.parameters()):
    check_close(_a.grad if _a.grad is not None else torch.zeros_like(_a),
                _b.grad if _b.grad is not None else torch.zeros_like(_b), "R1's gradient with respect to D's weights",
                atol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# ## 8. One training step for every loss
#
# A loss is now a small record: how $D$ and $G$ score, how many critic steps per $G$ step, an optional clip, an
# optional penalty and its weight (given code):

# %%
@dataclass
class GANLoss:
    """One GAN objective: D's and G's losses on D's raw outputs, plus what keeps D in check."""
    name: str
    d_loss: Callable            # (real_out, fake_out) -> scalar, minimised by D
    g_loss: Callable            # (fake_out) -> scalar, minimised by G
    n_critic: int = 1           # D steps per G step
    clip: float | None = None   # WGAN weight clipping of D after every D step
    penalty: Callable | None = None   # (D, real, fake, generator) -> scalar added to D's loss
    penalty_weight: float = 0.0       # lambda for WGAN-GP, gamma / 2 for R1


def ns_d_loss(real_out, fake_out):
    """Lesson 02's discriminator loss on logits."""
    return F.softplus(-real_out).mean() + F.softplus(fake_out).mean()


def ns_g_loss(fake_out):
    """Lesson 02's non-saturating generator loss."""
    return F.softplus(-fake_out).mean()


def sample_noise(n, latent_dim, device, generator=None):
    """z ~ N(0, I), drawn on the CPU with `generator` (reproducible), then moved to `device`."""
    return torch.randn(n, latent_dim, generator=generator).to(device)


# %% [markdown]
# ### Exercise 8 — the training step (7 points)
#
# Write `train_step(G, D, opt_g, opt_d, batches, loss, latent_dim, generator=None)`. `batches` is an iterator of
# real batches; `loss` a `GANLoss`.
# 1. `G.train()`, `D.train()`;
# 2. **`loss.n_critic` critic steps**, each: `real = next(batches)` (a **fresh** real batch per critic step), then
#    `z = sample_noise(len(real), latent_dim, real.device, generator)` and `fake = G(z).detach()` (the critic steps
#    do not train $G$); `real_out, fake_out = D(real), D(fake)`; `loss_d = loss.d_loss(real_out, fake_out)`; if
#    `loss.penalty` is set, `penalty = loss.penalty(D, real, fake, generator)` (drawn **after** `z`) and the
#    objective is `loss_d + loss.penalty_weight * penalty`, otherwise the objective is `loss_d`;
#    `opt_d.zero_grad()`, backward, `opt_d.step()`; then, if `loss.clip` is set, `clip_weights(D, loss.clip)`;
# 3. **one G step** with **fresh noise** (Algorithm 1 of the WGAN paper, and of Goodfellow et al.):
#    `z = sample_noise(len(real), latent_dim, real.device, generator)`, `loss_g = loss.g_loss(D(G(z)))`,
#    `opt_g.zero_grad()`, backward, `opt_g.step()`;
# 4. return Python floats from the **last** critic step and the G step: `loss_d` (without the penalty), `penalty`
#    (`0.0` when there is none), `loss_g`, and `gap` = `real_out.mean() - fake_out.mean()` (for WGAN the critic's
#    estimate of $W_1$; for every loss, how far apart $D$ puts the two batches).
#
# (Lessons 02–04 reused one batch of fakes for both steps, which is also correct for one critic step; with several
# critic steps per G step a fresh batch is the natural choice, and the checks here expect it.)

# %% nbgrader={"grade_id": "train_step", "solution": true}
def train_step(G, D, opt_g, opt_d, batches, loss, latent_dim, generator=None):
    """loss.n_critic D steps (fresh real and fake batches each), then one G step; returns floats."""
    ### BEGIN SOLUTION
    G.train()
    D.train()
    for _ in range(loss.n_critic):
        real = next(batches)
        fake = G(sample_noise(len(real), latent_dim, real.device, generator)).detach()   # G is a constant here
        real_out, fake_out = D(real), D(fake)
        loss_d = loss.d_loss(real_out, fake_out)
        penalty = loss.penalty(D, real, fake, generator) if loss.penalty is not None else None
        objective = loss_d + loss.penalty_weight * penalty if penalty is not None else loss_d
        opt_d.zero_grad()
        objective.backward()
        opt_d.step()
        if loss.clip is not None:
            clip_weights(D, loss.clip)                                   # the critic only, after its update
    z = sample_noise(len(real), latent_dim, real.device, generator)     # fresh noise for the G step
    loss_g = loss.g_loss(D(G(z)))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.item(), "penalty": penalty.item() if penalty is not None else 0.0,
            "loss_g": loss_g.item(), "gap": (real_out.mean() - fake_out.mean()).item()}
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_train_step_critic", "points": 2}
### BEGIN HIDDEN TESTS
def _ref_train_step(G, D, opt_g, opt_d, batches, loss, latent_dim, generator=None):
    G.train()
    D.train()
    for _ in range(loss.n_critic):
        real = next(batches)
        fake = G(torch.randn(len(real), latent_dim, generator=generator).to(real.device)).detach()
        real_out, fake_out = D(real), D(fake)
        loss_d = loss.d_loss(real_out, fake_out)
        penalty = loss.penalty(D, real, fake, generator) if loss.penalty is not None else None
        total = loss_d + loss.penalty_weight * penalty if penalty is not None else loss_d
        opt_d.zero_grad()
        total.backward()
        opt_d.step()
        if loss.clip is not None:
            with torch.no_grad():
                for p in D.parameters():
                    p.clamp_(-loss.clip, loss.clip)
    loss_g = loss.g_loss(D(G(torch.randn(len(real), latent_dim, generator=generator).to(real.device))))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.item(), "penalty": penalty.item() if penalty is not None else 0.0,
            "loss_g": loss_g.item(), "gap": (real_out.mean() - fake_out.mean()).item()}


grading.register_reference(train_step=_ref_train_step)
grading.use_references(globals(), "clip_weights")
### END HIDDEN TESTS
grading.require(globals(), clip_weights="Exercise 2")
def _tiny_gan(seed, clip_like_wgan=False):
    torch.manual_seed(seed)
    G = nn.Sequential(nn.Linear(3, 8), nn.LeakyReLU(0.2), nn.Linear(8, 2))
    D = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1), nn.Flatten(0))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-2, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.9))
    return G, D, opt_g, opt_d


def _tiny_batches(seed, n=6):
    gen = torch.Generator().manual_seed(seed)
    while True:
        yield torch.randn(n, 2, generator=gen) + 2


_CLIPPED = GANLoss("wgan-test", lambda r, f: f.mean() - r.mean(), lambda f: -f.mean(), n_critic=3, clip=0.05)
_G, _D, _opt_g, _opt_d = _tiny_gan(0)
_seen = {"d_steps": 0, "g_steps": 0, "real_batches": 0, "g_changed_in_critic": False, "d_max_after": []}
_g_start = [p.detach().clone() for p in _G.parameters()]


def _count_batches(iterator):
    for batch in iterator:
        _seen["real_batches"] += 1
        yield batch


def _before_d(optimizer, args, kwargs):
    _seen["d_steps"] += 1
    _seen["g_changed_in_critic"] |= any(not torch.equal(a, b) for a, b in zip(_g_start, _G.parameters()))
    _seen["g_grad_in_critic"] = any(p.grad is not None and p.grad.abs().sum() > 0 for p in _G.parameters())


def _before_g(optimizer, args, kwargs):
    _seen["g_steps"] += 1
    _seen["d_max_before_g"] = max(p.abs().max().item() for p in _D.parameters())
    _seen["g_max_before_g"] = max(p.abs().max().item() for p in _G.parameters())


_hooks = [_opt_d.register_step_pre_hook(_before_d), _opt_g.register_step_pre_hook(_before_g)]
try:
    _stats = attempt(train_step, _G, _D, _opt_g, _opt_d, _count_batches(_tiny_batches(1)), _CLIPPED, 3,
                     torch.Generator().manual_seed(2), what="train_step with n_critic = 3 and clip = 0.05")
finally:
    for _hook in _hooks:
        _hook.remove()
check_true(_seen["d_steps"] == 3, f"opt_d.step() ran {_seen['d_steps']} times; with loss.n_critic = 3 it runs 3 times "
           "per train_step.")
check_true(_seen["real_batches"] == 3, f"train_step drew {_seen['real_batches']} real batches; draw a fresh one "
           "(next(batches)) for each of the n_critic critic steps.")
check_true(_seen["g_steps"] == 1, f"opt_g.step() ran {_seen['g_steps']} times; once per train_step.")
check_true(not _seen["g_changed_in_critic"] and not _seen["g_grad_in_critic"],
           "G changed or received gradients during the critic steps: use fake = G(z).detach() there.")
check_true(_seen["d_max_before_g"] <= 0.05 + 1e-7, "D's weights are outside [-clip, clip] after the critic steps: call "
           "clip_weights(D, loss.clip) after every opt_d.step() when loss.clip is set.")
print("train_step: visible critic-step checks passed")
### BEGIN HIDDEN TESTS
check_true(_seen["g_max_before_g"] > 0.05 + 1e-3, "G's weights were clipped: clip only the critic (D), never G.")
_G, _D, _opt_g, _opt_d = _tiny_gan(0)
train_step(_G, _D, _opt_g, _opt_d, _tiny_batches(1), GANLoss("ns-test", ns_d_loss, ns_g_loss), 3,
           torch.Generator().manual_seed(2))
check_true(max(p.abs().max().item() for p in _D.parameters()) > 0.05,
           "D was clipped although loss.clip is None: clip only when loss.clip is set.")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_train_step_penalty", "points": 2}
### BEGIN HIDDEN TESTS
grading.use_references(globals(), "clip_weights")
### END HIDDEN TESTS
grading.require(globals(), clip_weights="Exercise 2")
_calls = []


def _spy_penalty(D, real, fake, generator):
    _calls.append({"real": real.clone(), "fake_has_graph": fake.requires_grad, "generator": generator})
    return (D(real) ** 2).mean()   # a penalty whose effect on D is easy to predict


_PENALISED = GANLoss("penalised", lambda r, f: f.mean() - r.mean(), lambda f: -f.mean(), n_critic=2,
                     penalty=_spy_penalty, penalty_weight=10.0)
_G, _D, _opt_g, _opt_d = _tiny_gan(3)
_gen = torch.Generator().manual_seed(4)
_stats = attempt(train_step, _G, _D, _opt_g, _opt_d, _tiny_batches(5), _PENALISED, 3, _gen,
                 what="train_step with a penalty")
check_true(len(_calls) == 2, f"the penalty was called {len(_calls)} times; once per critic step (n_critic = 2).")
check_true(all(c["generator"] is _gen for c in _calls), "pass `generator` on to loss.penalty(D, real, fake, generator).")
check_true(not any(c["fake_has_graph"] for c in _calls), "the penalty got fakes attached to G's graph: pass the "
           "detached fake batch.")
check_close(_stats["penalty"], 0.5243588089942932, "the returned penalty (last critic step)", atol=1e-5,
            hint="return loss.penalty(...) of the last critic step as a float, before any weight is applied.")
print("train_step: visible penalty checks passed")
### BEGIN HIDDEN TESTS
_quiet_penalty = lambda D, real, fake, generator: (D(real) ** 2).mean()  # noqa: E731
_PEN2 = GANLoss("penalised", lambda r, f: f.mean() - r.mean(), lambda f: -f.mean(), n_critic=2,
                penalty=_quiet_penalty, penalty_weight=10.0)
_s, _r = _tiny_gan(6), _tiny_gan(6)
_out = train_step(*_s, _tiny_batches(7), _PEN2, 3, torch.Generator().manual_seed(8))
_want = _ref_train_step(*_r, _tiny_batches(7), _PEN2, 3, torch.Generator().manual_seed(8))
for _a, _b in zip(_s[1].parameters(), _r[1].parameters()):
    check_close(_a, _b, "D's weights after a penalised step", atol=1e-5,
                hint="the critic's objective is loss_d + loss.penalty_weight * penalty.")
for _key in ("loss_d", "penalty"):
    check_close(_out[_key], _want[_key], f"the returned {_key} of a penalised step", atol=1e-5,
                hint="loss_d is loss.d_loss(...) alone; the penalty is returned separately, without its weight.")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_train_step_generator", "points": 2}
### BEGIN HIDDEN TESTS
grading.use_references(globals(), "clip_weights")
### END HIDDEN TESTS
grading.require(globals(), clip_weights="Exercise 2")
_G, _D, _opt_g, _opt_d = _tiny_gan(9)
_NS = GANLoss("ns", ns_d_loss, ns_g_loss)
_record = {}


def _d_after(optimizer, args, kwargs):
    _record["d_after_d"] = [p.detach().clone() for p in _D.parameters()]


_hooks = [_opt_d.register_step_post_hook(_d_after)]
_g_start = [p.detach().clone() for p in _G.parameters()]
try:
    _stats = attempt(train_step, _G, _D, _opt_g, _opt_d, _tiny_batches(10), _NS, 3, torch.Generator().manual_seed(11),
                     what="train_step")
finally:
    for _hook in _hooks:
        _hook.remove()
check_true(any(not torch.equal(a, b) for a, b in zip(_g_start, _G.parameters())),
           "G did not change: the G step needs loss.g_loss(D(G(z))) with no .detach(), and opt_g.step().")
check_true(all(torch.equal(a, b) for a, b in zip(_record["d_after_d"], _D.parameters())),
           "D changed during the G step: only opt_g steps there.")
check_type(_stats, dict, "train_step's result")
check_true(set(_stats) == {"loss_d", "penalty", "loss_g", "gap"},
           f"return the keys loss_d, penalty, loss_g, gap; got {sorted(_stats)}.")
for _key, _value in _stats.items():
    check_type(_value, float, f"train_step(...)['{_key}'] (use .item())")
check_close(_stats["loss_g"], 1.0533579587936401, "loss_g of this seeded step", atol=1e-5,
            hint="the G step draws FRESH noise with the same generator after the critic steps: "
                 "z = sample_noise(len(real), latent_dim, real.device, generator), then loss.g_loss(D(G(z))).")
print("train_step: visible generator checks passed")
### BEGIN HIDDEN TESTS
for _loss in (_NS, _CLIPPED):
    _s, _r = _tiny_gan(12), _tiny_gan(12)
    train_step(*_s, _tiny_batches(13), _loss, 3, torch.Generator().manual_seed(14))
    _ref_train_step(*_r, _tiny_batches(13), _loss, 3, torch.Generator().manual_seed(14))
    for _a, _b in zip(_s[0].parameters(), _r[0].parameters()):
        check_close(_a, _b, f"G's weights after one {_loss.name} step", atol=1e-5)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_train_step_statistics", "points": 1}
### BEGIN HIDDEN TESTS
grading.use_references(globals(), "clip_weights")
### END HIDDEN TESTS
grading.require(globals(), clip_weights="Exercise 2")
_s, _r = _tiny_gan(15), _tiny_gan(15)
_got = attempt(train_step, *_s, _tiny_batches(16), _CLIPPED, 3, torch.Generator().manual_seed(17), what="train_step")
_hints = {"loss_d": "loss.d_loss of the LAST critic step, without the penalty.",
          "penalty": "0.0 when loss.penalty is None.",
          "loss_g": "loss.g_loss(D(G(z))) of the G step.",
          "gap": "real_out.mean() - fake_out.mean() of the last critic step (before its update)."}
check_close(_got["gap"], 0.005280662328004837, "gap of this seeded WGAN step", atol=1e-5, hint=_hints["gap"])
check_close(_got["penalty"], 0.0, "penalty without a penalty", hint=_hints["penalty"])
print("train_step: visible statistics checks passed")
### BEGIN HIDDEN TESTS
_want = _ref_train_step(*_r, _tiny_batches(16), _CLIPPED, 3, torch.Generator().manual_seed(17))
for _key in _want:
    check_close(_got[_key], _want[_key], f"{_key} of a seeded WGAN step", atol=1e-5, hint=_hints[_key])
### END HIDDEN TESTS

# %% [markdown]
# With your functions, the six objectives this lesson compares (given code). WGAN uses the paper's settings
# ($c = 0.01$, five critic steps); WGAN-GP $\lambda = 10$ and five critic steps; R1 $\gamma = 1$ (weight
# $\gamma/2$), added to the non-saturating loss; hinge is paired with spectral normalisation and, as in one of SN-GAN's
# settings, five D steps per G step (with one, its generator collapsed onto one mode after another in our runs).

# %%
# needs: lsgan_d_loss (Exercise 1), lsgan_g_loss (Exercise 1), wgan_critic_loss (Exercise 2), wgan_g_loss (Exercise 2), hinge_d_loss (Exercise 4), hinge_g_loss (Exercise 4), gradient_penalty (Exercise 3), r1_penalty (Exercise 7)
R1_GAMMA = 1.0
LOSSES = {
    "non-saturating": GANLoss("non-saturating", ns_d_loss, ns_g_loss),
    "LSGAN": GANLoss("LSGAN", lsgan_d_loss, lsgan_g_loss),
    "WGAN (clip)": GANLoss("WGAN (clip)", wgan_critic_loss, wgan_g_loss, n_critic=5, clip=0.01),
    "WGAN-GP": GANLoss("WGAN-GP", wgan_critic_loss, wgan_g_loss, n_critic=5, penalty=gradient_penalty,
                       penalty_weight=10.0),
    "hinge + SN": GANLoss("hinge + SN", hinge_d_loss, hinge_g_loss, n_critic=5),
    "NS + R1": GANLoss("NS + R1", ns_d_loss, ns_g_loss, penalty=lambda D, real, fake, generator: r1_penalty(D, real),
                       penalty_weight=R1_GAMMA / 2),
}
SPECTRAL = {"hinge + SN"}   # the losses whose discriminator is spectrally normalised
print("losses:", ", ".join(LOSSES))

# %% [markdown]
# ## 9. An exact study on two mixtures
#
# Two 2-D mixtures from `genlab.toy` whose modes are known exactly: a **ring of 8** Gaussians of radius 2 and a
# **5 × 5 grid** with spacing 2, each mode with standard deviation 0.1 (the benchmarks of Metz et al., 2017, and
# Srivastava et al., 2017, who use narrower modes and far longer runs: with this lesson's few thousand steps a
# standard deviation of 0.02 leaves every loss at 0 modes). A sample is *on*
# a mode within 3 standard deviations of its centre (a real sample is, with probability 0.989); a mode is *covered*
# when it holds at least a quarter of its fair share of the samples. Two numbers per run: **modes covered** (recall:
# did $G$ find every mode?) and the **share of samples on a mode** (precision: are its samples where the data is?).
#
# Every loss trains the same small MLPs (two hidden layers) with Adam, $\beta = (0.5, 0.9)$, for the same number of
# **G steps** (the WGANs and hinge take five critic steps per G step, so five times the D work). In the short runs
# (`smoke`, `cpu`: 1,500 G steps) every loss uses learning rate $10^{-3}$; at $2\cdot10^{-4}$ the Lipschitz critics
# had not left the initial cloud after 1,500 steps, and the papers' $10^{-4}$ needs far longer runs. The long `gpu`
# runs (5,000 steps) use $2\cdot10^{-4}$ for the three Lipschitz critics, because at $10^{-3}$ over 3,000 steps our
# WGAN-GP generator started hopping between modes (1 of 8 at the end). The `cpu` profile trains on the ring only
# (the grid doubles the time); `gpu` trains both. The discriminator of "hinge + SN" is
# built from your `SpectralLinear`. We also keep snapshots of $G$'s samples and of $D$'s output on a grid, and the
# size of the gradient that reaches $G$'s samples, $\|\nabla_x \mathcal L_G\|$.

# %%
RING = GaussianMixture2D.ring(8, radius=2.0, std=0.1)
GRID = GaussianMixture2D.grid(5, extent=4.0, std=0.1)
MIXTURES = {name: {"ring": RING, "grid": GRID}[name] for name in BUDGET.toy_mixtures}   # cpu: the ring only (time)
TOY_LATENT = 16
LIPSCHITZ = {"WGAN (clip)", "WGAN-GP", "hinge + SN"}   # critics with a bounded slope


def toy_learning_rate(loss_name):
    """The budget's rate: 1e-3 for every loss in the short runs; 2e-4 for the Lipschitz critics in the long gpu runs,
    where 1e-3 makes their generators hop between modes."""
    return BUDGET.toy_lr_lipschitz if loss_name in LIPSCHITZ else BUDGET.toy_lr


for _name, _mix in MIXTURES.items():
    _real_stats = _mix.modes(_mix.sample(5000, torch.Generator().manual_seed(0)))
    print(f"{_mix.name}: real samples cover {_real_stats['modes_covered']}/{_mix.num_modes} modes, "
          f"{_real_stats['within_3sigma']:.3f} on a mode")


def toy_networks(hidden, spectral, seed):
    """G: z (16) -> 2-D point; D: 2-D point -> a score. ReLU MLPs with two hidden layers of `hidden` units."""
    torch.manual_seed(seed)
    G = toy_generator(TOY_LATENT, hidden)
    layer = (lambda i, o: SpectralLinear(i, o, torch.Generator().manual_seed(seed))) if spectral else nn.Linear
    D = nn.Sequential(layer(2, hidden), nn.LeakyReLU(0.2), layer(hidden, hidden), nn.LeakyReLU(0.2), layer(hidden, 1),
                      nn.Flatten(0))
    return G, D


def forever(sample, batch_size, generator):
    while True:
        yield sample(batch_size, generator)


GRID_POINTS = 90


@torch.no_grad()
def score_map(D, extent):
    """D's output on a GRID_POINTS x GRID_POINTS grid over [-extent, extent]^2 (eval mode)."""
    ticks = torch.linspace(-extent, extent, GRID_POINTS)
    points = torch.cartesian_prod(ticks, ticks)
    was_training = D.training
    scores = D.eval()(points).view(GRID_POINTS, GRID_POINTS).T   # rows: y, columns: x
    D.train(was_training)
    return scores


def sample_gradient_norm(G, D, loss, z):
    """mean ||d L_G / d x|| over generated points x = G(z): how hard the G loss pushes each sample."""
    x = G(z).detach().requires_grad_(True)
    grad, = torch.autograd.grad(loss.g_loss(D(x)), x)
    return (grad.norm(dim=1) * len(x)).mean().item()   # x len(x): the per-sample gradient of a mean loss


def train_toy(loss, mixture, seed=0, steps=BUDGET.toy_steps, snapshots=4):
    """Train the toy pair with `loss` for `steps` G steps; returns the History, {step: (samples, D's score map)} and
    the trained G (lesson 06 measures these generators again: scripts/train_ring_generators.py)."""
    G, D = toy_networks(BUDGET.toy_hidden, loss.name in SPECTRAL, seed)
    opt_g = torch.optim.Adam(G.parameters(), lr=toy_learning_rate(loss.name), betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=toy_learning_rate(loss.name), betas=(0.5, 0.9))
    batches = forever(mixture.sample, BUDGET.toy_batch, torch.Generator().manual_seed(seed + 100))
    noise = torch.Generator().manual_seed(seed)
    probe = sample_noise(2000, TOY_LATENT, "cpu", torch.Generator().manual_seed(seed + 200))
    extent = mixture.centres.abs().max().item() * 1.3
    shot_steps = {round(steps * (k + 1) / snapshots) for k in range(snapshots)}
    log, shots = History(), {}
    for step in range(1, steps + 1):
        stats = train_step(G, D, opt_g, opt_d, batches, loss, TOY_LATENT, noise)
        if step % BUDGET.toy_log_every == 0 or step == 1 or step in shot_steps:
            with torch.no_grad():
                samples = G.eval()(probe)
            report = mixture.modes(samples)
            log.log(step, **stats, modes_covered=report["modes_covered"], within_3sigma=report["within_3sigma"],
                    g_grad=sample_gradient_norm(G, D, loss, probe[:256]))
            if step in shot_steps:
                shots[step] = (samples, score_map(D, extent))
    return log, shots, G


# %%
# needs: train_step (Exercise 8), SpectralLinear (Exercise 6), LOSSES (the cell above)
toy_runs, toy_table = {}, []
start = time.perf_counter()
with threads():
    for mix_name, mixture in MIXTURES.items():
        for loss_name, loss in LOSSES.items():
            for seed in range(BUDGET.toy_seeds):
                t0 = time.perf_counter()
                log, shots, _ = train_toy(loss, mixture, seed)
                final = mixture.modes(list(shots.values())[-1][0])
                toy_runs[mix_name, loss_name, seed] = (log, shots)
                toy_table.append({"mixture": mix_name, "loss": loss_name, "seed": seed,
                                  "modes": final["modes_covered"], "of": mixture.num_modes,
                                  "on_mode": final["within_3sigma"], "seconds": time.perf_counter() - t0})
toy_seconds = time.perf_counter() - start
print(f"{len(toy_table)} toy runs of {BUDGET.toy_steps} G steps in {toy_seconds:.0f} s\n")
print(f"{'mixture':8s} {'loss':16s} {'seed':>4s} {'modes covered':>14s} {'on a mode':>10s} {'seconds':>8s}")
for row in toy_table:
    print(f"{row['mixture']:8s} {row['loss']:16s} {row['seed']:4d} {row['modes']:>9d}/{row['of']:<4d} "
          f"{row['on_mode']:10.3f} {row['seconds']:8.1f}")
print(f"{'(real data: every mode, 0.989 on a mode; a G that outputs one point: 1 mode at best)'}")

# %% [markdown]
# **What the project's `cpu` run showed** (ring, 1,500 G steps, one seed; the run is seeded, so yours should match
# on a CPU, though another PyTorch build may round differently): **WGAN-GP and NS + R1 covered all 8 modes** (0.56 and
# 0.71 of the samples on a mode), the non-saturating loss 6/8 (0.39), hinge + SN 6/8 (0.30), LSGAN 5/8 (0.56),
# clipped WGAN 0/8 (0.07: its samples are still a cloud over the plane). The figures below show *how*: the
# non-saturating generator first sat on one mode and dragged a single blob around (0 to 2 of 8 modes up to step ~1,100,
# the mode collapse of the papers), then spread out; LSGAN found five modes early and kept drawing an arc through
# them; the critics with a bounded slope (clipping, GP, SN) move $G$'s samples slowly and smoothly from a cloud onto
# the ring, and R1 lets a sharp discriminator carve one bump per mode without the collapse. In longer or narrower
# settings the ordering sharpens: with modes of standard deviation 0.05, three seeds of the non-saturating loss had
# 3, 4 and 2 modes after 1,500 steps where NS + R1 (seed 0) had all 8, and WGAN-GP and hinge + SN went from 0/8 at
# 1,500 steps to 8/8 at 3,000. One seed is one draw: on this ring, hinge + SN with seeds 0, 1 and 2 had 6, 2 and 0
# modes at 1,500 steps (with learning rate $5\cdot10^{-4}$: 8, 4 and 1), and five of those six runs were still gaining
# modes between their last two snapshots: its 6/8 above says "slow here", not "fails". Q1 asks you to change one
# setting and see which of these orderings moves.

# %% [markdown]
# Samples over time (blue), on top of $D$'s score (shading; red crosses are the modes). Look for a generator that
# hops from mode to mode or sits on a few, a critic whose surface is a tilted plane (clipping), and one whose
# surface has a bump on every mode.

# %%
# needs: toy_runs (the cell above)
def draw_toy(ax, samples, scores, mixture, title):
    extent = mixture.centres.abs().max().item() * 1.3
    ax.imshow(scores, origin="lower", extent=(-extent, extent, -extent, extent), cmap="Greys", alpha=0.6)
    ax.scatter(*samples[:1000].T, s=1.5, alpha=0.5, color="C0")
    ax.scatter(*mixture.centres.T, marker="x", color="C3", s=12, linewidths=0.8)
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=7)


for mix_name, mixture in MIXTURES.items():
    fig, axes = plt.subplots(len(LOSSES), 4, figsize=(8, 2 * len(LOSSES)), squeeze=False)
    for row, loss_name in enumerate(LOSSES):
        _, shots = toy_runs[mix_name, loss_name, 0]
        for col, (step, (samples, scores)) in enumerate(sorted(shots.items())[:4]):
            stats = mixture.modes(samples)
            draw_toy(axes[row, col], samples, scores, mixture,
                     f"{loss_name}, step {step}: {stats['modes_covered']}/{mixture.num_modes}, "
                     f"{stats['within_3sigma']:.2f} on")
    fig.suptitle(f"{mixture.name}: G's samples over D's score", fontsize=10)
    fig.tight_layout()
    plt.show()

fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
for loss_name in LOSSES:
    log, _ = toy_runs["ring", loss_name, 0]
    axes[0].plot(*log.series("modes_covered"), label=loss_name)
    axes[1].plot(*log.series("within_3sigma"), label=loss_name)
    axes[2].semilogy(*log.series("g_grad"), label=loss_name)
axes[0].set_title("ring: modes covered (of 8)", fontsize=9)
axes[1].set_title("ring: share of samples on a mode", fontsize=9)
axes[2].set_title("ring: mean ||dL_G/dx|| per sample", fontsize=9)
for ax in axes:
    ax.set_xlabel("G step")
axes[0].legend(fontsize=7)
plt.show()

# %% [markdown]
# ## 10. Why the generator's gradient vanishes or explodes
#
# $G$ receives $\frac{\partial \mathcal L_G}{\partial D}\cdot\nabla_x D$. The first factor is fixed by the loss; the
# second by how $D$ is constrained. The first factor as a function of $D$'s output, computed by autograd from your
# loss functions (a fake that $D$ rejects sits on the left):

# %%
# needs: lsgan_g_loss (Exercise 1), wgan_g_loss (Exercise 2), hinge_g_loss (Exercise 4)
outputs = torch.linspace(-6, 6, 241)
g_losses = {"saturating: -softplus(l)": lambda o: -F.softplus(o).mean(),
            "non-saturating": ns_g_loss, "LSGAN": lsgan_g_loss, "WGAN / hinge": wgan_g_loss}
fig, ax = plt.subplots(figsize=(6.5, 3.2))
for name, fn in g_losses.items():
    o = outputs.clone().requires_grad_(True)
    grad, = torch.autograd.grad(fn(o) * len(o), o)   # x len: the per-sample derivative of a mean
    ax.plot(outputs, grad.abs(), label=name)
ax.set_xlabel("D's output for a fake sample (logit, or raw score)")
ax.set_ylabel("|d L_G / d D(x)|")
ax.set_yscale("log")
ax.set_ylim(1e-3, 20)
ax.legend(fontsize=8)
ax.set_title("how hard each loss pushes a fake, by how D scores it", fontsize=9)
plt.show()

# %% [markdown]
# - **saturating**: $|\partial\mathcal L_G/\partial\ell| = \sigma(\ell) \to 0$ for rejected fakes: the gradient
#   **vanishes** precisely early in training (the curve on the left);
# - **non-saturating**: $1 - \sigma(\ell) \to 1$ for rejected fakes, but $\to 0$ for fakes $D$ accepts: once $D$
#   is fooled it stops teaching;
# - **LSGAN**: $|D(x) - 1|$ grows linearly with the distance from the target — informative everywhere, and
#   **unbounded** if $D$'s outputs drift far;
# - **WGAN / hinge**: a constant 1; everything then depends on $\nabla_x D$. An unconstrained critic can make
#   $\nabla_x D$ as large as it likes (the gradient **explodes**); a clipped critic's is bounded, but clipping can
#   also make it tiny (vanishing) when $c$ is small; the gradient penalty and spectral normalisation hold it near 1.
#
# The right panel of section 9's curves measures the product on the ring during training.

# %% [markdown]
# ### A widget: step through a run
#
# Choose a mixture and a loss and move through the snapshots of section 9.

# %%
# needs: toy_runs (section 9)
def render_toy(mixture_name, loss_name, snapshot):
    """One stored snapshot of section 9: G's samples over D's score, with its exact mode statistics."""
    mixture = MIXTURES[mixture_name]
    _, shots = toy_runs[mixture_name, loss_name, 0]
    step = sorted(shots)[min(snapshot, len(shots) - 1)]
    samples, scores = shots[step]
    stats = mixture.modes(samples)
    fig, ax = plt.subplots(figsize=(3.6, 3.6))
    draw_toy(ax, samples, scores, mixture, f"{loss_name}, G step {step}")
    return fig, (f"{stats['modes_covered']}/{mixture.num_modes} modes covered, "
                 f"{stats['within_3sigma']:.2f} of the samples on a mode")


viz.explorer(render_toy, {
    "mixture_name": widgets.Dropdown(options=list(MIXTURES), description="mixture"),
    "loss_name": widgets.Dropdown(options=list(LOSSES), description="loss"),
    "snapshot": widgets.IntSlider(value=0, min=0, max=3, description="snapshot")})

# %% [markdown]
# ## 11. Images: the same DCGAN, four losses
#
# Now Fashion-MNIST with lesson 03's DCGAN, which lives in the library as `genlab.models.DCGANGenerator` and
# `DCGANDiscriminator` (the reference version of your lesson 03 answer). The discriminator's normalisation follows
# the loss: BatchNorm for the non-saturating and LSGAN losses (the DCGAN recipe), a per-sample `GroupNorm(1, C)`
# for WGAN-GP (its penalty needs per-sample gradients), and spectral normalisation without normalisation layers for
# hinge (`torch.nn.utils.parametrizations.spectral_norm`, which does the power iteration of your Exercise 5 on each
# convolution's weight reshaped to a matrix). All use Adam with $\beta = (0.5, 0.9)$ and learning rate $2\cdot10^{-4}$.
#
# Every run makes the same number of **G steps**. We log the classifier FID of $G$'s samples (the Fashion judge's
# features, as in lesson 04; its real-vs-real value is printed beside it) against **wall-clock seconds** and
# against **real images seen** by the discriminator: WGAN-GP's five critic steps see five batches per G step and
# cost a double backward each.

# %%
train_images = data.load("FashionMNIST", "train")
test_images = data.load("FashionMNIST", "test")
print(train_images.source)
fashion = (train_images.images * 2 - 1).to(device)   # x in [-1, 1]
classifier = load_fashion_classifier(device)
n = BUDGET.n_eval
reference = test_images.subset(n, seed=0).images
reference_features = metrics.classifier_features(classifier, reference)
eval_noise = sample_noise(n, LATENT_DIM, device, torch.Generator().manual_seed(2))


def classifier_fid(images01):
    """Fréchet distance between the judge's features of images01 and of n real test images."""
    return metrics.frechet_distance(metrics.classifier_features(classifier, images01), reference_features)


fid_real = classifier_fid(train_images.subset(n, seed=1).images)
fid_noise = classifier_fid(torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(3)))
print(f"classifier FID, n = {n}: real train vs real test {fid_real:.2f}; uniform noise {fid_noise:.1f}")

IMAGE_LOSSES = {"non-saturating": "batch", "LSGAN": "batch", "WGAN-GP": "layer", "hinge + SN": "spectral"}


@torch.no_grad()
def generate(G, noise, batch=500):
    """Images in [0, 1] in eval mode, on the CPU."""
    G.eval()
    return torch.cat([(G(chunk) + 1) / 2 for chunk in noise.split(batch)]).cpu()


def train_images_with(loss_name, seed=0):
    """The DCGAN pair trained with LOSSES[loss_name]; logs classifier FID against seconds and real images seen."""
    loss, norm = LOSSES[loss_name], IMAGE_LOSSES[loss_name]
    torch.manual_seed(seed)
    G = DCGANGenerator(LATENT_DIM, 1, BUDGET.width, 28).to(device)
    D = DCGANDiscriminator(1, BUDGET.width, 28, norm=norm).to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.9))
    batches = data.DeviceLoader(fashion, batch_size=BUDGET.batch_size, seed=seed).forever()
    noise = torch.Generator().manual_seed(seed)
    log, train_seconds = History(), 0.0
    bar = progress(BUDGET.image_steps, desc=loss_name)
    for step in range(1, BUDGET.image_steps + 1):
        t0 = time.perf_counter()
        stats = train_step(G, D, opt_g, opt_d, batches, loss, LATENT_DIM, noise)
        train_seconds += time.perf_counter() - t0          # evaluation time is not training time
        if step % BUDGET.image_log_every == 0 or step == BUDGET.image_steps:
            fid = classifier_fid(generate(G, eval_noise))
            log.log(step, **stats, fid=fid, seconds=train_seconds,
                    real_images=step * loss.n_critic * BUDGET.batch_size)
            bar.set_postfix(fid=f"{fid:.1f}")
        bar.update(1)
    bar.close()
    return G, log


# %%
# needs: train_step (Exercise 8), LOSSES (section 8)
image_runs = {}
for loss_name in IMAGE_LOSSES:
    image_runs[loss_name] = train_images_with(loss_name)
    last = image_runs[loss_name][1]
    print(f"{loss_name:16s} classifier FID {last.latest('fid'):7.2f} after {BUDGET.image_steps} G steps, "
          f"{last.latest('seconds'):6.1f} s of training, {int(last.latest('real_images')):,} real images seen")
print(f"{'real vs real':16s} classifier FID {fid_real:7.2f};  uniform noise {fid_noise:.1f}")

# %% [markdown]
# **Inception FID** of each loss's generator (lesson 06 builds the metric; the course's protocol from there on): in
# the `gpu` profile, `inception_n` samples against the Inception statistics of Fashion-MNIST's training set shipped in
# `genlab.assets`, beside its baselines (real test images, uniform noise) against the same statistics. The `cpu` profile skips it (the Inception
# runs at a few images per second on 2 cores); the classifier FID above stands in.

# %%
# needs: image_runs (section 11)
inception_entries = {}
for loss_name, (G_trained, _) in image_runs.items():
    inception_entries.update(metrics.inception_fid_in_profile(
        BUDGET.inception_n,
        lambda k: generate(G_trained, sample_noise(k, LATENT_DIM, device, torch.Generator().manual_seed(9))),
        "fashion", device=device, key=f"inception_fid_{loss_name.replace(' ', '')}"))

# %% [markdown]
# In the project's `cpu` run (320 G steps, n = 1,000, 2 CPU cores): WGAN-GP reached classifier FID 35 after 155 s of
# training, the non-saturating loss 41 after 36 s, LSGAN 48 after 30 s, hinge + SN 55 after 99 s (real-vs-real 0.25,
# uniform noise 120). Per G step WGAN-GP is best, but it saw five times as many real images and paid a double
# backward for each; per second the non-saturating loss is ahead (FID 41 at 36 s, where WGAN-GP's first logged point
# is about 70 at 40 s). All four are far from real-vs-real after a few hundred steps: this
# race says which loss is *faster to a mediocre model* at these sizes, not which is best at convergence.

# %%
# needs: image_runs (the cell above)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.3))
for loss_name, (_, log) in image_runs.items():
    steps, fids = log.series("fid")
    axes[0].plot(log.series("seconds")[1], fids, marker=".", label=loss_name)
    axes[1].plot(log.series("real_images")[1], fids, marker=".", label=loss_name)
for ax, label in zip(axes, ["training seconds (this machine)", "real images seen by D"]):
    ax.axhline(fid_real, color="grey", ls=":", label="real vs real")
    ax.set_yscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("classifier FID")
axes[0].legend(fontsize=8)
plt.show()
fig, axes = plt.subplots(1, len(image_runs), figsize=(3 * len(image_runs), 3.2))
for ax, (loss_name, (G_trained, log)) in zip(axes, image_runs.items()):
    viz.show_images(generate(G_trained, eval_noise[:36]), nrow=6, ax=ax,
                    title=f"{loss_name}: FID {log.latest('fid'):.1f}")
plt.show()

# %% [markdown]
# ## 12. Questions
#
# **Q1 (experiment).** Find a setting in which one loss clearly beats another, on the toy or on images, and explain
# it. Change one thing — `R1_GAMMA`, WGAN's clip value, `n_critic`, the learning rate (`BUDGET.toy_lr`), the mixture
# (for example `GaussianMixture2D.ring(8, radius=2.0, std=0.2)`), or `BUDGET.toy_steps` — rerun the cells of
# section 9 (or 11), and report the two losses' numbers before and after. Then explain the difference with the
# sections above (which divergence, which constraint, which gradient factor).

# %% [markdown] nbgrader={"grade_id": "q_experiment", "points": 3, "solution": true}
# Rubric (3 points): 1 point for a clearly described single change and both losses' numbers (modes covered / share
# on a mode, or classifier FID) before and after, from their own run; 1 point for a difference that is clear (for
# example several modes, or a factor in FID; a difference within seed noise must be said to be so); 1 point for an
# explanation that uses the lesson. Typical good answers: (a) clip 0.1 instead of 0.01 for WGAN: the critic
# saturates into a few large weights, gradients explode or training oscillates, fewer modes; 0.001: the critic is
# almost linear, G's gradient vanishes, samples crawl; (b) R1 with gamma 0 vs 1 on the ring: without R1 the
# non-saturating GAN hops between modes and covers fewer; with a very large gamma (100) D is nearly flat and G
# learns slowly; (c) n_critic 1 for WGAN-GP: the critic is far from its optimum, its "W1 estimate" is not one and
# mode coverage degrades; (d) larger std on the ring: the supports overlap, JSD is no longer flat and the
# non-saturating loss catches up. Any well-measured and well-reasoned finding gets full marks, including one that
# contradicts the lesson's table if they explain it.

# %% [markdown]
# **Q2.** Take $p = \delta_0$ and $q_\theta = \delta_\theta$ (point masses on the real line). Compute
# $\mathrm{JSD}(p\,\|\,q_\theta)$ and $W_1(p, q_\theta)$ as functions of $\theta$, and their derivatives with respect
# to $\theta$. Which one could a generator with parameter $\theta$ descend? Then read the `gap` that your
# `train_step` returns for the WGAN (clip) runs of section 9: is it an estimate of $W_1$, of a multiple of it, or
# neither? Why can't you compare it between two runs with different clip values?

# %% [markdown] nbgrader={"grade_id": "q_point_masses", "points": 2, "solution": true}
# Rubric (2 points). JSD(p || q_theta) = log 2 for theta != 0 (the supports are disjoint: each term
# KL(p || m) = log 2 / 2 ... in total log 2) and 0 at theta = 0: a step function, derivative 0 almost everywhere;
# W1 = |theta|, derivative sign(theta): a generator can descend it from any starting point (1 point). The critic of
# clipped WGAN is K-Lipschitz for some unknown K that depends on the clip value and the architecture, so the gap
# estimates (at best, with a well-trained critic) K times W1, a lower bound of it when the critic is not optimal;
# a different clip changes K, so the numbers are on different scales (1 point). Partial credit for saying "only up
# to a constant" without the reason.

# %% [markdown]
# **Q3.** WGAN-GP asks for $\|\nabla f\| = 1$ on interpolates; R1 asks for $\|\nabla D\| = 0$ on real data. Suppose
# training has succeeded and $q = p$. What is the best critic then (for either loss), and what does each penalty do
# to it? Which penalty leaves the equilibrium where it is? Use your `gap` or $\|\nabla_x\mathcal L_G\|$ curves from
# section 9 to say whether either run got near that point.

# %% [markdown] nbgrader={"grade_id": "q_penalties", "points": 2, "solution": true}
# Rubric (2 points). At q = p the critic's objective E_p f - E_q f is 0 for every f, so every critic is optimal and
# the natural one is constant (flat, gradient 0). R1's penalty is zero for a flat D, so the equilibrium (q = p, D
# flat) is a fixed point of the regularised game (Mescheder et al.'s argument) (1 point). The GP penalises
# ||grad f|| != 1 everywhere on interpolates, including at q = p: it pushes the critic away from flat, towards slope
# 1 in some direction, which then pushes G off the data again: the equilibrium of the unregularised game is not a
# fixed point of the penalised one (in practice the effect is small but it is why R1 is preferred for long
# training) (1 point). The curves part: any reasonable reading of their own numbers (e.g. the gap shrinks towards
# 0 but does not reach it; the G-gradient stays around the size the penalty enforces) is accepted.

# %% [markdown]
# **Q4.** Spectral normalisation divides each layer by its largest singular value, so the network's Lipschitz
# constant is at most 1. Is it equal to 1? Give an example of a two-layer network whose layers both have $\sigma = 1$
# but whose Lipschitz constant is much smaller. And why would adding BatchNorm after a spectrally normalised layer
# break the guarantee?

# %% [markdown] nbgrader={"grade_id": "q_spectral", "points": 2, "solution": true}
# Rubric (2 points). It is only an upper bound: the product of per-layer constants ignores how the layers' top
# singular directions line up and what the activations cut. Example: W1 = [[1, 0], [0, 0]] (projects onto e1) and
# W2 = [[0, 1]] (reads e2): both have sigma = 1 but W2 W1 = 0, so the network is constant (Lipschitz constant 0);
# or any pair whose top directions are orthogonal, or a ReLU that zeros the top direction (1 point). BatchNorm
# divides by the batch standard deviation and multiplies by a learned gamma, a scaling that can be arbitrarily
# large (small batch variance, large gamma), so the composition's constant is no longer bounded by 1 — and it
# couples samples, so a sample's output depends on the batch (1 point).

# %% [markdown]
# ## 13. Going further
#
# - **Unrolled GANs** (Metz et al., 2017): $G$ optimises against $D$ after $k$ simulated D updates, seeing how $D$
#   would react — a direct attack on mode hopping, at $k$ times the cost.
# - **Relativistic losses** (Jolicoeur-Martineau, 2019): $D$ estimates whether a real sample is *more* real than a
#   fake one; used by ESRGAN.
# - **Consistency regularisation** (Zhang et al., 2020) and **DiffAugment / ADA** (lesson 03's closing section):
#   augmentations as the regulariser, the main tool when data is scarce.
# - **Lazy regularisation** (StyleGAN2): apply R1 only every 16 steps with a 16 × larger weight, for the same effect
#   at a fraction of the cost of the double backward.
# - **The f-GAN view** (Nowozin et al., 2016) generalises section 1's table: every f-divergence has a variational
#   lower bound that a discriminator can estimate.
# - **Which loss matters less than you think**: Lucic et al. (2018, "Are GANs created equal?") found that with enough
#   hyper-parameter search most losses reach similar FID; the differences in this lesson are about robustness and
#   speed at fixed settings, which is what a practitioner has.

# %% [markdown]
# ## 14. Results

# %%
# needs: toy_table (section 9), image_runs (section 11), inception_entries (section 11)
def toy_result(mix_name, loss_name):
    rows = [r for r in toy_table if r["mixture"] == mix_name and r["loss"] == loss_name]
    return " ".join(f"{r['modes']}/{r['of']} ({r['on_mode']:.2f})" for r in rows)


results_table("05_gan_losses", {
    "data": "stand-in (NOT clothing)" if train_images.is_standin else "Fashion-MNIST",
    **({"note": "smoke profile: numbers NOT meaningful"} if SMOKE else {}),
    "toy_g_steps": BUDGET.toy_steps,
    **{f"toy_{mix}_{loss.replace(' ', '')}": toy_result(mix, loss) for mix in MIXTURES for loss in LOSSES},
    "toy_real_data": "every mode (0.99 on a mode)",
    "toy_seconds": toy_seconds,
    "image_g_steps": BUDGET.image_steps,
    "n_eval": BUDGET.n_eval,
    **{f"fid_{loss.replace(' ', '')}": log.latest("fid") for loss, (_, log) in image_runs.items()},
    **{f"seconds_{loss.replace(' ', '')}": log.latest("seconds") for loss, (_, log) in image_runs.items()},
    "fid_real_vs_real": fid_real,
    "fid_noise_vs_real": fid_noise,
    **inception_entries,
})
