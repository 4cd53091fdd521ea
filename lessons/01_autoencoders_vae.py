# %% [markdown]
# # Lesson 01 — Autoencoders and variational autoencoders
#
# An autoencoder squeezes an image through a narrow code and rebuilds it. That is a good compressor but not a
# generator: nobody tells us which codes the decoder understands. The variational autoencoder (VAE) fixes this by
# making the code *random* and pulling its distribution towards a simple prior, so that decoding a code drawn from
# the prior gives a new image. The same training objective, the evidence lower bound (ELBO), also scores how
# typical an image is, which we use at the end to detect images that are not digits.
#
# **You will learn to**
# - build an autoencoder with a bottleneck and see why it cannot sample;
# - write a VAE: a Gaussian encoder $q_\phi(z\mid x)$, the reparameterization trick, the closed-form Gaussian KL
#   and the negative ELBO with a Bernoulli decoder;
# - read a 2-D latent space (class scatter, manifold, interpolation, slider) and the effect of $\beta$;
# - use reconstruction error and the negative ELBO as anomaly scores and measure them with ROC AUC.
#
# **Prerequisites:** PyTorch modules and optimizers; expectations, Gaussians and the log of a density; what a
# KL divergence is (we derive the one we need).
#
# **Time budget** (whole notebook, measured end to end; set `GENLAB_PROFILE` to choose):
#
# | profile | what it trains | time |
# |---|---|---|
# | `smoke` | a few dozen steps on 2,000 digits; checks that everything runs, pictures are noise | about 20 s on 2 CPU cores |
# | `cpu` | about 5 epochs of small MLPs on all 60,000 digits | about 2 minutes on 2 cores |
# | `gpu` | wider MLPs for about 30 epochs | aims at under 10 minutes on one GPU (not yet timed) |
#
# Exercises: 5 functions (17 points, autograded) and 4 written questions (8 points, read by a person).

# %%
import math
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from genlab import config, data
from genlab.grading import check_close, check_finite, check_shape, check_true
from genlab.metrics import roc_auc
from genlab.train import History, progress, results_table
from genlab.viz import LivePlot, latent_slider, plot_curves, show_images

print(config.describe())

# %% [markdown]
# ## Setup: one budget table, the data on the device
#
# Every number that makes a run longer or shorter lives in this table, once. `train_subset=None` means all
# 60,000 training digits; `eval_subset=None` means all 10,000 test images.

# %%
BUDGET = config.budget({
    "smoke": dict(train_subset=2000, eval_subset=500, batch=64, hidden=128, lr=2e-3,
                  ae_steps=30, vae_steps=60, beta_steps=30, steps_2d=30),
    "cpu": dict(train_subset=None, eval_subset=None, batch=128, hidden=256, lr=1e-3,
                ae_steps=1000, vae_steps=2500, beta_steps=1500, steps_2d=1200),
    "gpu": dict(train_subset=None, eval_subset=None, batch=128, hidden=512, lr=1e-3,
                ae_steps=5000, vae_steps=15000, beta_steps=8000, steps_2d=8000),
})
LATENT = 16  # size of the code of the main models; the 2-D models come later
DEVICE = config.device()
config.seed_everything(0)
print(BUDGET)

# %% [markdown]
# MNIST pixels are grey levels in $[0, 1]$. We model each pixel as a coin flip (a Bernoulli variable), so we first
# turn the images into black and white. **Binarization scheme: a fixed threshold, pixel $= 1$ where the grey level
# is above $0.5$.** It is deterministic, so every run and every test sees the same data. (Papers often use *dynamic*
# binarization — a fresh random draw with probability equal to the grey level at every epoch — and their likelihoods
# in nats are therefore not comparable with ours: thresholded digits are easier to predict.)
#
# Fashion-MNIST (clothes, same 28×28 format) is loaded only as the *anomalies* of the last section; we never train on it.

# %%
def binarize(images):
    """Grey levels in [0, 1] -> {0., 1.} with a fixed threshold at 0.5."""
    return (images > 0.5).float()


mnist_train = data.load("MNIST", "train").subset(BUDGET.train_subset, seed=0)
mnist_test = data.load("MNIST", "test").subset(BUDGET.eval_subset, seed=0)
fashion_test = data.load("FashionMNIST", "test").subset(BUDGET.eval_subset, seed=0)
for part in (mnist_train, mnist_test, fashion_test):
    print(f"{len(part):6d} images  {part.source}")

train_x = binarize(mnist_train.images).to(DEVICE)  # the whole training set as one tensor on the device
test_x, test_labels = binarize(mnist_test.images).to(DEVICE), mnist_test.labels
fashion_x = binarize(fashion_test.images).to(DEVICE)
show_images(torch.cat([mnist_test.images[:8], test_x[:8].cpu()]), nrow=8,
            title="MNIST test digits: grey levels (top) and binarized at 0.5 (bottom)")
plt.show()

# %% [markdown]
# One training loop serves every model of this lesson: Adam on shuffled batches sliced from the tensor above
# (`DeviceLoader`), a progress bar, and a live plot of the logged losses. `loss_fn(model, x)` returns the loss to
# minimise and a dict of numbers to log.

# %%
def train(model, loss_fn, steps, title, keys, preview=None, seed=0):
    """Train `model` for `steps` Adam steps; returns its History and the seconds it took."""
    config.seed_everything(seed)
    model.to(DEVICE).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=BUDGET.lr)
    batches = data.DeviceLoader(train_x, batch_size=BUDGET.batch, seed=seed).forever()
    history, live = History(), LivePlot(keys, title=title, min_seconds=3.0, smooth=5)
    log_every = max(1, steps // 200)
    start = time.time()
    with progress(steps, desc=title) as bar:
        for step in range(1, steps + 1):
            loss, logs = loss_fn(model, next(batches))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step % log_every == 0 or step == steps:
                history.log(step, **logs)
                bar.set_postfix({k: f"{history.latest(k):.1f}" for k in keys})
                live.update(history, preview() if preview else None)
            bar.update()
    model.eval()
    live.close(history, preview() if preview else None)
    return history, time.time() - start


TRAIN_SECONDS = {}  # model name -> seconds, for the results table

# %% [markdown]
# ## 1. The autoencoder
#
# An encoder $f_\phi$ maps an image $x \in \{0,1\}^{784}$ to a code $z = f_\phi(x) \in \mathbb{R}^{d}$ with
# $d \ll 784$ (the *bottleneck*); a decoder $g_\theta$ maps the code back to 784 numbers, one *logit*
# $\ell_j$ per pixel, read as the probability $p_j = \sigma(\ell_j)$ that pixel $j$ is white. Training minimises
# the reconstruction loss, the binary cross-entropy summed over pixels:
#
# $$\mathcal{L}_{\text{AE}}(x) = \sum_{j=1}^{784} \mathrm{BCE}\big(\ell_j, x_j\big),\qquad
#   \mathrm{BCE}(\ell, x) = -x\log\sigma(\ell) - (1-x)\log\big(1-\sigma(\ell)\big).$$
#
# Because the code is narrower than the image, the network must find the few directions along which digits vary.
# Both halves are small multilayer perceptrons (the VAE below reuses the same shapes):
# encoder $784 \to h \to h \to d$, decoder $d \to h \to h \to 784$, ReLU between layers, $h$ = `BUDGET.hidden`.

# %%
class Autoencoder(nn.Module):
    """A deterministic autoencoder: image -> code of size latent_dim -> per-pixel logits."""

    def __init__(self, latent_dim=LATENT, hidden=BUDGET.hidden):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(),
                                     nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(),
                                     nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 784))

    def encode(self, x):
        return self.encoder(x)  # z = f_phi(x)

    def decode(self, z):
        return self.decoder(z).view(-1, 1, 28, 28)  # logits l = g_theta(z)


def ae_loss(model, x):
    x_logits = model.decode(model.encode(x))
    # L_AE = sum_j BCE(l_j, x_j), averaged over the batch
    recon = F.binary_cross_entropy_with_logits(x_logits, x, reduction="none").flatten(1).sum(1).mean()
    return recon, {"recon": recon}


ae = Autoencoder()
ae_history, TRAIN_SECONDS["ae"] = train(ae, ae_loss, BUDGET.ae_steps, "autoencoder", ["recon"])

# %% [markdown]
# Reconstructions of test digits the model never saw (top row: input, bottom row: $\sigma(\ell)$):

# %%
@torch.no_grad()
def reconstruct(model, x):
    """Input digits over their reconstructions (pixel probabilities, decoded from the code / the mean code)."""
    code = model.encode(x)
    code = code[0] if isinstance(code, tuple) else code  # a VAE returns (mu, logvar): decode the mean
    return torch.cat([x, torch.sigmoid(model.decode(code))]).cpu()


show_images(reconstruct(ae, test_x[:12]), nrow=12, title=f"autoencoder, {LATENT}-D code: input / reconstruction")
plt.show()

# %% [markdown]
# ### Can the autoencoder generate?
#
# To generate we would pick a code and decode it. But *which* code? Nothing in $\mathcal{L}_{\text{AE}}$ says where
# the codes of real digits lie: they can sit anywhere in $\mathbb{R}^{16}$, at any scale, with empty regions
# ("holes") between them, and the decoder was never asked to do anything sensible there. Let us try the most
# natural choice, $z \sim \mathcal{N}(0, I)$, and compare with the spread of the actual codes.

# %%
with torch.no_grad():
    ae_codes = ae.encode(test_x)
    z_random = torch.randn(32, LATENT, generator=torch.Generator().manual_seed(1)).to(DEVICE)
    ae_random = torch.sigmoid(ae.decode(z_random))
print("per-dimension std of real AE codes:", [round(s, 2) for s in ae_codes.std(0).tolist()])
show_images(ae_random, nrow=16, title="autoencoder: decoding random codes z ~ N(0, I)")
plt.show()

# %% [markdown]
# The codes of real digits do not look like $\mathcal{N}(0, I)$ (their scales differ from 1 and from each other),
# and decoding random codes gives blobs and half-digits rather than digits. We need a model whose codes have a
# *known* distribution that we can sample from. That is the VAE.

# %% [markdown]
# ## 2. The variational autoencoder
#
# ### The generative story
# A VAE is first a *generator*: draw a code from a fixed prior, then draw every pixel from a Bernoulli whose
# probability the decoder computes:
#
# $$p(z) = \mathcal{N}(0, I_d), \qquad p_\theta(x \mid z) = \prod_{j=1}^{784} \mathrm{Bernoulli}\big(x_j ;\, \sigma(\ell_j(z))\big).$$
#
# We would like to maximise the likelihood $\log p_\theta(x) = \log \int p_\theta(x\mid z)\,p(z)\,dz$, but that
# integral over all codes is intractable. So we bring in an encoder, now *probabilistic*: for each image it outputs a
# Gaussian over codes,
#
# $$q_\phi(z \mid x) = \mathcal{N}\big(z;\ \mu_\phi(x),\ \mathrm{diag}\,\sigma^2_\phi(x)\big).$$
#
# ### The evidence lower bound (ELBO)
# For any $q$, multiply and divide inside the integral and use Jensen's inequality ($\log$ is concave):
#
# $$\log p_\theta(x) = \log \mathbb{E}_{q_\phi(z\mid x)}\!\left[\frac{p_\theta(x\mid z)\,p(z)}{q_\phi(z\mid x)}\right]
#   \;\ge\; \mathbb{E}_{q_\phi(z\mid x)}\big[\log p_\theta(x\mid z)\big] - \mathrm{KL}\big(q_\phi(z\mid x)\,\|\,p(z)\big)
#   \;=\; \mathrm{ELBO}(x).$$
#
# The gap is exactly $\mathrm{KL}(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x))$, so raising the ELBO both raises the
# likelihood and makes $q$ a better guess of the true posterior. We **minimise the negative ELBO**, two terms:
#
# - **reconstruction**: $-\mathbb{E}_q[\log p_\theta(x\mid z)]$ — with Bernoulli pixels, $-\log p_\theta(x\mid z)$ is
#   exactly $\sum_j \mathrm{BCE}(\ell_j, x_j)$, the autoencoder's loss, now evaluated at a *sampled* code;
# - **KL to the prior**: $\mathrm{KL}(q_\phi(z\mid x)\,\|\,\mathcal{N}(0,I))$ — it pulls every image's cloud of codes
#   towards the prior, which fills the holes and makes $z\sim\mathcal{N}(0,I)$ a sensible thing to decode.
#
# Both are measured in **nats** (natural logarithms); the negative ELBO is an upper bound on $-\log p_\theta(x)$.

# %% [markdown]
# ### The reparameterization trick
# The reconstruction term is an expectation over $z \sim q_\phi(z\mid x)$, estimated with one sample per image. We
# need its gradient with respect to $\phi$, but "draw a sample" is not a differentiable operation of $\mu$ and
# $\sigma$. The trick: draw the randomness from a fixed distribution and *move* it with $\mu$ and $\sigma$,
#
# $$\varepsilon \sim \mathcal{N}(0, I), \qquad z = \mu + \sigma \odot \varepsilon .$$
#
# Now $z$ is a deterministic, differentiable function of $(\mu, \sigma)$ with $\partial z/\partial\mu = 1$ and
# $\partial z/\partial\sigma = \varepsilon$, and the noise is just an input. The encoder outputs
# $\log\sigma^2$ (called `logvar`) rather than $\sigma$, because a network output may be any real number while
# $\sigma$ must be positive: $\sigma = \exp(\tfrac12 \log\sigma^2)$.
#
# We draw $\varepsilon$ with the helper below: from a given CPU `torch.Generator` when one is passed (so that a
# seed fixes the result on any device), otherwise from torch's global generator.

# %%
def standard_normal_like(t, generator=None):
    """eps ~ N(0, I) with the shape, dtype and device of t; drawn from `generator` (a CPU generator) if given."""
    if generator is None:
        return torch.randn_like(t)
    return torch.randn(t.shape, generator=generator, dtype=t.dtype).to(t.device)


# %% [markdown]
# ### Exercise 1 (3 points): `reparameterize`
# Return $z = \mu + \sigma\odot\varepsilon$ with $\sigma = \exp(\tfrac12\,\mathrm{logvar})$ and
# $\varepsilon$ = `standard_normal_like(mu, generator)` (call it exactly once). Gradients must reach both `mu` and
# `logvar`. Comment each line with the equation it implements.

# %% nbgrader={"grade_id": "reparameterize", "solution": true}
def reparameterize(mu, logvar, generator=None):
    """A sample z ~ N(mu, diag exp(logvar)) as a differentiable function of mu and logvar; shape of mu."""
    ### BEGIN SOLUTION
    sigma = torch.exp(0.5 * logvar)  # sigma = exp(log(sigma^2) / 2)
    eps = standard_normal_like(mu, generator)  # eps ~ N(0, I)
    return mu + sigma * eps  # z = mu + sigma * eps
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_reparameterize", "points": 3}
mu = torch.tensor([[0.0, 1.0, -2.0]])
logvar = torch.tensor([[0.0, math.log(4.0), math.log(0.25)]])
z = reparameterize(mu, logvar, torch.Generator().manual_seed(0))
check_shape(z, (1, 3), "reparameterize(mu, logvar)")
check_finite(z, "reparameterize(mu, logvar)")
check_close(reparameterize(mu, torch.full_like(mu, -60.0)), mu, "z when logvar = -60 (sigma is almost 0)", atol=1e-6,
            hint="With (almost) no variance the sample must be the mean mu.")
check_close(reparameterize(mu, logvar, torch.Generator().manual_seed(0)), z, "z drawn twice with the same seed",
            hint="Draw eps with standard_normal_like(mu, generator) so that a seeded generator fixes z.")
print("visible checks passed")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(11)
_mu, _logvar = torch.randn(64, 5, generator=_g), 2 * torch.randn(64, 5, generator=_g)
_eps = torch.randn(64, 5, generator=torch.Generator().manual_seed(7))
check_close(reparameterize(_mu, _logvar, torch.Generator().manual_seed(7)), _mu + torch.exp(0.5 * _logvar) * _eps,
            "z for random mu, logvar and a seeded generator", hint="z = mu + exp(0.5 * logvar) * eps.")
_mu_p, _logvar_p = _mu.clone().requires_grad_(True), _logvar.clone().requires_grad_(True)
reparameterize(_mu_p, _logvar_p, torch.Generator().manual_seed(7)).sum().backward()
check_true(_mu_p.grad is not None and _logvar_p.grad is not None,
           "z must stay connected to mu and logvar in the autograd graph (no detach, no torch.no_grad).")
check_close(_mu_p.grad, torch.ones_like(_mu), "dz/dmu")
check_close(_logvar_p.grad, 0.5 * torch.exp(0.5 * _logvar) * _eps, "dz/dlogvar")
_big_mu = torch.tensor([1.5, -1.0]).expand(40000, 2)
_big_logvar = torch.log(torch.tensor([4.0, 0.09])).expand(40000, 2)
torch.manual_seed(0)
_zs = reparameterize(_big_mu, _big_logvar)
check_close(_zs.mean(0), torch.tensor([1.5, -1.0]), "sample mean without a generator", atol=0.05)
check_close(_zs.std(0), torch.tensor([2.0, 0.3]), "sample std without a generator", atol=0.0, rtol=0.05)
### END HIDDEN TESTS

# %% [markdown]
# ### The KL term in closed form
# For one latent dimension, $q = \mathcal{N}(\mu, \sigma^2)$ and $p = \mathcal{N}(0, 1)$ have log densities
#
# $$\log q(z) = -\tfrac12\log(2\pi\sigma^2) - \frac{(z-\mu)^2}{2\sigma^2},\qquad
#   \log p(z) = -\tfrac12\log(2\pi) - \frac{z^2}{2}.$$
#
# $\mathrm{KL}(q\,\|\,p) = \mathbb{E}_q[\log q(z) - \log p(z)]$. Under $q$, $\mathbb{E}[(z-\mu)^2] = \sigma^2$ and
# $\mathbb{E}[z^2] = \mu^2 + \sigma^2$, so
#
# $$\mathrm{KL}(q\,\|\,p) = -\tfrac12\log\sigma^2 - \tfrac12 + \tfrac12(\mu^2 + \sigma^2)
#   = \tfrac12\big(\mu^2 + \sigma^2 - 1 - \log\sigma^2\big).$$
#
# A diagonal Gaussian factorises over dimensions, and the KL of independent factors adds up:
#
# $$\mathrm{KL}\big(q_\phi(z\mid x)\,\|\,\mathcal{N}(0, I)\big) = \frac12\sum_{k=1}^{d}\big(\mu_k^2 + \sigma_k^2 - 1 - \log\sigma_k^2\big).$$
#
# Checks you can do in your head: $\mu = 0, \sigma = 1$ gives $0$ ($q$ *is* the prior); each unit of
# $\mu_k = 1$ costs $\tfrac12$ nat; and every term is $\ge 0$ because $s - 1 - \log s \ge 0$ for $s = \sigma^2 > 0$.

# %% [markdown]
# ### Exercise 2 (3 points): `gaussian_kl`
# Given `mu` and `logvar` of shape `(N, d)`, return the KL above for each example: a tensor of shape `(N,)`,
# **summed** over the $d$ latent dimensions. Use $\sigma^2 = \exp(\mathrm{logvar})$.

# %% nbgrader={"grade_id": "gaussian_kl", "solution": true}
def gaussian_kl(mu, logvar):
    """KL( N(mu, diag exp(logvar)) || N(0, I) ) per example: (N, d) inputs -> (N,) in nats."""
    ### BEGIN SOLUTION
    # KL = 1/2 * sum_k (mu_k^2 + sigma_k^2 - 1 - log sigma_k^2)
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_gaussian_kl", "points": 3}
kl = gaussian_kl(torch.zeros(4, 3), torch.zeros(4, 3))
check_shape(kl, (4,), "gaussian_kl of a (4, 3) batch")
check_close(kl, torch.zeros(4), "KL when q is the prior (mu = 0, logvar = 0)")
check_close(gaussian_kl(torch.ones(2, 3), torch.zeros(2, 3)), torch.full((2,), 1.5), "KL for mu = 1, logvar = 0, d = 3",
            hint="Each dimension with mu = 1, sigma = 1 costs 1/2 nat; sum (do not average) over the latent dimensions.")
print("visible checks passed")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(5)
_mu, _logvar = torch.randn(16, 6, generator=_g), 1.5 * torch.randn(16, 6, generator=_g)
_expected = 0.5 * (_mu**2 + torch.exp(_logvar) - 1 - _logvar).sum(1)
check_close(gaussian_kl(_mu, _logvar), _expected, "KL for random mu and logvar",
            hint="0.5 * sum(mu^2 + exp(logvar) - 1 - logvar) over the latent dimensions.")
check_close(gaussian_kl(torch.zeros(1, 2), torch.log(torch.tensor([[4.0, 0.25]]))),
            torch.tensor([0.5 * (4 - 1 - math.log(4)) + 0.5 * (0.25 - 1 - math.log(0.25))]),
            "KL for mu = 0 and sigma^2 = (4, 1/4)")
check_true(bool((gaussian_kl(_mu, _logvar) >= 0).all()), "a KL divergence is never negative; check the signs.")
check_shape(gaussian_kl(torch.zeros(7, 1), torch.zeros(7, 1)), (7,), "gaussian_kl with d = 1")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3 (4 points): `vae_loss`
# The loss we minimise is the negative ELBO, with a knob $\beta$ on the KL term (§4 explains it; $\beta = 1$ is the
# true negative ELBO):
#
# $$\mathcal{L}(x) = \underbrace{\sum_{j=1}^{784}\mathrm{BCE}(\ell_j, x_j)}_{\text{recon}} \;+\;
#   \beta\,\underbrace{\mathrm{KL}\big(q_\phi(z\mid x)\,\|\,\mathcal{N}(0,I)\big)}_{\text{kl}},
#   \qquad \ell = g_\theta(z),\ z \sim q_\phi(z\mid x).$$
#
# **Reduction (stated once, used everywhere in this lesson):** *sum* over the 784 pixels and over the latent
# dimensions — so that each term is in nats per image — then *mean* over the batch, so the learning rate does not
# depend on the batch size. Return the tuple `(loss, recon, kl)` of three scalars, where `recon` and `kl` are the
# batch means of the two terms **without** $\beta$, and `loss = recon + beta * kl`.
#
# The decoder gives **logits**, not probabilities: use `F.binary_cross_entropy_with_logits`, which computes
# $\log\sigma(\ell)$ stably even where $|\ell|$ is large (applying `sigmoid` and then `binary_cross_entropy` rounds
# $\sigma(50)$ to exactly 1 in float32 and breaks there). You may call your `gaussian_kl`.

# %% nbgrader={"grade_id": "vae_loss", "solution": true}
def vae_loss(x_logits, x, mu, logvar, beta=1.0):
    """Negative ELBO (with beta on the KL): returns (loss, recon, kl), scalars in nats per image (batch means)."""
    ### BEGIN SOLUTION
    # recon = sum_j BCE(l_j, x_j) = -log p(x | z), one value per image
    recon = F.binary_cross_entropy_with_logits(x_logits, x, reduction="none").flatten(1).sum(dim=1)
    # kl = KL(q(z | x) || N(0, I)), one value per image
    kl = gaussian_kl(mu, logvar)
    recon, kl = recon.mean(), kl.mean()  # mean over the batch
    return recon + beta * kl, recon, kl  # L = recon + beta * KL
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_vae_loss", "points": 4}
_x = (torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.5).float()
loss, recon, kl = vae_loss(torch.zeros(2, 1, 28, 28), _x, torch.zeros(2, 4), torch.zeros(2, 4))
for _name, _value in (("loss", loss), ("recon", recon), ("kl", kl)):
    check_shape(_value, (), f"vae_loss(...) {_name}")
check_close(recon, 784 * math.log(2), "recon for logits 0 (every pixel p = 1/2)",
            hint="Each pixel costs log 2 nats; sum over the 784 pixels, then average over the batch.")
check_close(kl, 0.0, "kl when mu = 0 and logvar = 0")
check_close(loss, recon + kl, "loss when beta = 1")
print("visible checks passed")
### BEGIN HIDDEN TESTS
def _reference_kl(mu, logvar):  # so that a mistake in gaussian_kl is not counted again here
    return 0.5 * (mu**2 + torch.exp(logvar) - 1 - logvar).sum(1)


_students_kl = globals().get("gaussian_kl")
gaussian_kl = _reference_kl
try:
    _g = torch.Generator().manual_seed(3)
    _logits = 4 * torch.randn(8, 1, 28, 28, generator=_g)
    _x = (torch.rand(8, 1, 28, 28, generator=_g) > 0.7).float()
    _mu, _logvar = torch.randn(8, 5, generator=_g), torch.randn(8, 5, generator=_g)
    _recon = F.binary_cross_entropy_with_logits(_logits, _x, reduction="sum") / 8
    _kl = (0.5 * (_mu**2 + torch.exp(_logvar) - 1 - _logvar).sum(1)).mean()
    for _beta in (1.0, 3.0, 0.25):
        _out = vae_loss(_logits, _x, _mu, _logvar, beta=_beta)
        check_close(_out[1], _recon, f"recon (beta={_beta})", rtol=1e-5,
                    hint="Sum BCE-with-logits over pixels, mean over the batch; beta does not touch recon.")
        check_close(_out[2], _kl, f"kl (beta={_beta})", rtol=1e-5,
                    hint="Sum the KL over latent dimensions, mean over the batch; report kl without beta.")
        check_close(_out[0], _recon + _beta * _kl, f"loss (beta={_beta})", rtol=1e-5, hint="loss = recon + beta * kl.")
    _doubled = vae_loss(torch.cat([_logits, _logits]), torch.cat([_x, _x]), torch.cat([_mu, _mu]),
                        torch.cat([_logvar, _logvar]))
    check_close(_doubled[0], _recon + _kl, "loss of a batch repeated twice", rtol=1e-5,
                hint="Average over the batch (not sum), so the loss does not grow with the batch size.")
    _sure = torch.full((1, 1, 28, 28), 50.0)  # the model is sure every pixel is white ...
    _black = torch.zeros(1, 1, 28, 28)  # ... and every pixel is black: 50 nats each
    check_close(vae_loss(_sure, _black, torch.zeros(1, 2), torch.zeros(1, 2))[1], 784 * 50.0,
                "recon for confident wrong logits (+50 on black pixels)", rtol=1e-4,
                hint="Pass logits to binary_cross_entropy_with_logits; sigmoid + binary_cross_entropy saturates.")
finally:
    gaussian_kl = _students_kl
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4 (4 points): the `VAE` module
# The architecture mirrors the autoencoder, with **two heads** on the encoder:
#
# - `encoder_body`: flatten, $784 \to h$, ReLU, $h \to h$, ReLU;
# - `to_mu`: $h \to d$ gives $\mu_\phi(x)$; `to_logvar`: $h \to d$ gives $\log\sigma^2_\phi(x)$ (same input, separate weights);
# - `decoder`: $d \to h$, ReLU, $h \to h$, ReLU, $h \to 784$: **logits**, no sigmoid, reshaped to `(N, 1, 28, 28)`.
#
# The layers are built for you. Complete `encode` (return `mu, logvar`), `decode` (return the logits) and `forward`
# (encode, sample $z$ with your `reparameterize` passing `generator` on, decode; return `x_logits, mu, logvar`).

# %% nbgrader={"grade_id": "vae_module", "solution": true}
class VAE(nn.Module):
    """q(z|x) = N(mu(x), diag exp(logvar(x))), p(z) = N(0, I), p(x|z) = Bernoulli(sigmoid(decoder(z)))."""

    def __init__(self, latent_dim=LATENT, hidden=BUDGET.hidden):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder_body = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(),
                                          nn.Linear(hidden, hidden), nn.ReLU())
        self.to_mu = nn.Linear(hidden, latent_dim)
        self.to_logvar = nn.Linear(hidden, latent_dim)
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(),
                                     nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 784))

    def encode(self, x):
        """x (N, 1, 28, 28) -> mu, logvar, each (N, latent_dim)."""
        ### BEGIN SOLUTION
        h = self.encoder_body(x)
        return self.to_mu(h), self.to_logvar(h)  # mu_phi(x), log sigma^2_phi(x)
        ### END SOLUTION

    def decode(self, z):
        """z (N, latent_dim) -> Bernoulli logits (N, 1, 28, 28)."""
        ### BEGIN SOLUTION
        return self.decoder(z).view(-1, 1, 28, 28)  # l = g_theta(z)
        ### END SOLUTION

    def forward(self, x, generator=None):
        """x -> (x_logits, mu, logvar), decoding one sample z ~ q(z | x)."""
        ### BEGIN SOLUTION
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, generator)  # z = mu + sigma * eps
        return self.decode(z), mu, logvar
        ### END SOLUTION


# %% nbgrader={"grade_id": "test_vae_module", "points": 4}
torch.manual_seed(0)
_model = VAE(latent_dim=3, hidden=32)
_x = (torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(1)) > 0.5).float()
mu, logvar = _model.encode(_x)
check_shape(mu, (5, 3), "mu from VAE.encode")
check_shape(logvar, (5, 3), "logvar from VAE.encode")
check_shape(_model.decode(torch.zeros(5, 3)), (5, 1, 28, 28), "VAE.decode(z)")
check_true(not torch.allclose(mu, logvar), "mu and logvar come out equal: use the two heads to_mu and to_logvar.")
print("visible checks passed")
### BEGIN HIDDEN TESTS
_h = _model.encoder_body(_x)
check_close(mu, _model.to_mu(_h), "mu", hint="mu = to_mu(encoder_body(x)).")
check_close(logvar, _model.to_logvar(_h), "logvar", hint="logvar = to_logvar(encoder_body(x)).")
_z = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))
check_close(_model.decode(_z), _model.decoder(_z).view(5, 1, 28, 28), "decode(z)",
            hint="Return the decoder's logits reshaped to (N, 1, 28, 28), without a sigmoid.")


def _reference_reparameterize(mu, logvar, generator=None):  # a mistake in exercise 1 is not counted again here
    return mu + torch.exp(0.5 * logvar) * standard_normal_like(mu, generator)


_students_reparameterize = globals().get("reparameterize")
reparameterize = _reference_reparameterize
try:
    _out = _model(_x, generator=torch.Generator().manual_seed(4))
    check_true(isinstance(_out, tuple) and len(_out) == 3, "forward must return (x_logits, mu, logvar).")
    _eps = torch.randn(5, 3, generator=torch.Generator().manual_seed(4))
    check_close(_out[0], _model.decoder(mu + torch.exp(0.5 * logvar) * _eps).view(5, 1, 28, 28),
                "forward's x_logits", hint="Decode the sampled z = reparameterize(mu, logvar, generator), not mu.")
    check_close(_out[1], mu, "forward's mu")
    check_close(_out[2], logvar, "forward's logvar")
    # 30 seeded Adam steps on one fixed batch must lower the negative ELBO (computed here, independently of vae_loss)
    torch.manual_seed(0)
    _model = VAE(latent_dim=4, hidden=64)
    _batch = torch.zeros(32, 1, 28, 28)
    _batch[:16, :, :, :14] = 1.0  # two kinds of image: left half white ...
    _batch[16:, :, 14:, :] = 1.0  # ... and bottom half white
    _opt = torch.optim.Adam(_model.parameters(), lr=2e-3)
    _losses = []
    for _step in range(30):
        _logits, _m, _lv = _model(_batch, generator=torch.Generator().manual_seed(_step))
        _loss = (F.binary_cross_entropy_with_logits(_logits, _batch, reduction="sum") / 32
                 + (0.5 * (_m**2 + _lv.exp() - 1 - _lv).sum(1)).mean())
        _opt.zero_grad()
        _loss.backward()
        _opt.step()
        _losses.append(_loss.item())
    check_true(_losses[-1] < 0.5 * _losses[0], f"30 training steps should lower the loss; went {_losses[0]:.1f} -> "
               f"{_losses[-1]:.1f}. Are the encoder heads and the decoder all in the computation?")
finally:
    reparameterize = _students_reparameterize
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Training the VAE
# Same loop as the autoencoder; the loss is your `vae_loss` with $\beta = 1$. The live plot shows the negative ELBO
# and its two parts; the panel on the right decodes 16 fixed codes from the prior as training goes.

# %%
FIXED_Z = torch.randn(64, LATENT, generator=torch.Generator().manual_seed(0)).to(DEVICE)  # reused in every sample grid


def vae_step_loss(beta):
    def loss_fn(model, x):
        x_logits, mu, logvar = model(x)
        loss, recon, kl = vae_loss(x_logits, x, mu, logvar, beta=beta)
        return loss, {"neg_elbo": recon + kl, "recon": recon, "kl": kl}
    return loss_fn


@torch.no_grad()
def samples(model, z):
    """Pixel probabilities sigma(g(z)) for codes z drawn from the prior."""
    return torch.sigmoid(model.decode(z))


vae = VAE()
vae_history, TRAIN_SECONDS["vae"] = train(vae, vae_step_loss(1.0), BUDGET.vae_steps, "VAE (beta=1)",
                                          ["neg_elbo", "recon", "kl"], preview=lambda: samples(vae, FIXED_Z[:16]))

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
plot_curves(vae_history, ["neg_elbo", "recon"], ax=axes[0], title="negative ELBO and reconstruction (nats)", smooth=5)
plot_curves(vae_history, ["kl"], ax=axes[1], title="KL to the prior (nats)", smooth=5)
plt.show()
show_images(reconstruct(vae, test_x[:12]), nrow=12, title="VAE: input / reconstruction (decoded from mu)")
plt.show()

# %% [markdown]
# ### Sampling from the prior: autoencoder versus VAE
# Both decoders receive the *same* random codes $z \sim \mathcal{N}(0, I_{16})$.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 6.5))
show_images(samples(ae, FIXED_Z[:32]), nrow=4, ax=axes[0], title="autoencoder decodes z ~ N(0, I)")
show_images(samples(vae, FIXED_Z[:32]), nrow=4, ax=axes[1], title="VAE decodes the same z")
plt.show()
show_images(samples(vae, FIXED_Z), nrow=16, title="64 VAE samples: sigma(g(z)), z ~ N(0, I) (pixel probabilities)")
plt.show()

# %% [markdown]
# The VAE samples are digits, or at least digit-like strokes; the autoencoder's are not. Note that we show the
# *probabilities* $\sigma(\ell)$, the mean of $p_\theta(x\mid z)$, rather than a coin-flip draw of each pixel, which
# would look speckled: the Bernoulli decoder treats pixels as independent given $z$.
#
# **Question 1 (2 points).** Both models have the same decoder architecture and were given the same codes. Explain
# in your own words *why* the autoencoder fails to produce digits from $z \sim \mathcal{N}(0, I)$ while the VAE
# succeeds. Name the term of the loss responsible, and say what it does to the codes of the training images.

# %% [markdown] nbgrader={"grade_id": "q_ae_vs_vae_sampling", "solution": true, "points": 2}
# The autoencoder's loss only asks that each image's code decodes back to that image. Nothing constrains where the
# codes lie: they end up at arbitrary scales and positions (see the per-dimension standard deviations printed
# above), so most of the mass of $\mathcal{N}(0, I)$ falls where no training code ever was, and the decoder has never
# been trained to output anything sensible there ("holes"). The VAE adds the KL term
# $\mathrm{KL}(q_\phi(z\mid x)\,\|\,\mathcal{N}(0,I))$: it pulls every image's code distribution towards the origin
# with unit spread, and because each image is encoded as a *cloud* of codes rather than a point, the clouds overlap
# and cover the region where the prior puts its mass. So the decoder is trained on codes that look like prior
# samples, and decoding a prior sample gives something digit-like.

# %% [markdown]
# ## 4. A 2-D latent space you can look at
# With $d = 2$ we can draw the whole code space. We train a VAE and, for comparison, an autoencoder with a 2-D code
# (fewer steps; a 2-D code reconstructs less detail, which is expected). The scatter plots place each test digit at
# its code (the VAE's $\mu$), coloured by its class.

# %%
vae2d = VAE(latent_dim=2)
vae2d_history, TRAIN_SECONDS["vae_2d"] = train(vae2d, vae_step_loss(1.0), BUDGET.steps_2d, "VAE, 2-D code",
                                               ["neg_elbo", "recon", "kl"])
ae2d = Autoencoder(latent_dim=2)
ae2d_history, TRAIN_SECONDS["ae_2d"] = train(ae2d, ae_loss, BUDGET.steps_2d, "autoencoder, 2-D code", ["recon"])

# %%
with torch.no_grad():
    codes_vae = vae2d.encode(test_x)[0].cpu()
    codes_ae = ae2d.encode(test_x).cpu()
fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
for ax, codes, name in ((axes[0], codes_ae, "autoencoder codes z = f(x)"), (axes[1], codes_vae, "VAE means mu(x)")):
    points = ax.scatter(codes[:, 0], codes[:, 1], c=test_labels, cmap="tab10", s=3, alpha=0.7, vmin=-0.5, vmax=9.5)
    ax.set_title(f"{name}\n(MNIST test digits, coloured by class)")
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
axes[1].add_patch(plt.Circle((0, 0), 2.0, fill=False, ls="--", color="k"))  # 2 sigma of the prior
axes[1].set_aspect("equal", adjustable="datalim")  # so that the circle looks round
fig.colorbar(points, ax=axes, ticks=range(10), label="digit")
plt.show()

# %% [markdown]
# The autoencoder's codes spread over whatever range they like, in streaks with empty space between classes; the
# VAE's means sit inside the prior's $2\sigma$ circle (dashed) with classes packed side by side.
#
# **The latent manifold.** Decode a regular grid of codes. We space the grid by *probability* under the prior,
# $z_k = \Phi^{-1}(u_k)$ with $u_k$ evenly spaced in $(0, 1)$ ($\Phi$ is the standard normal CDF), so each tile
# covers the same prior mass.

# %%
n_grid = 15
u = torch.linspace(0.03, 0.97, n_grid)
axis = torch.distributions.Normal(0.0, 1.0).icdf(u)  # z_k = Phi^{-1}(u_k)
grid = torch.stack(torch.meshgrid(axis.flip(0), axis, indexing="ij"), -1).reshape(-1, 2)  # row = z[1], col = z[0]
grid_codes = grid.flip(1).to(DEVICE)  # (z[0], z[1])
show_images(samples(vae2d, grid_codes), nrow=n_grid, title="2-D VAE: decoding a grid of codes (z[0] right, z[1] up)")
plt.show()

# %% [markdown]
# **Interpolation.** With the 16-D VAE, take the means of two test digits and decode points on the straight line
# between them, $z(t) = (1-t)\,\mu_a + t\,\mu_b$.

# %%
@torch.no_grad()
def interpolate(model, x_a, x_b, steps=10):
    mu_a, mu_b = model.encode(x_a[None])[0], model.encode(x_b[None])[0]
    t = torch.linspace(0, 1, steps, device=mu_a.device)[:, None]
    return torch.sigmoid(model.decode((1 - t) * mu_a + t * mu_b))  # z(t) = (1 - t) mu_a + t mu_b


first_of = {int(d): int((test_labels == d).nonzero()[0]) for d in test_labels.unique()}  # index of a test digit d
pairs = [(a, b) for a, b in ((1, 7), (3, 8), (4, 9), (0, 6)) if a in first_of and b in first_of]
rows = [interpolate(vae, test_x[first_of[a]], test_x[first_of[b]]) for a, b in pairs]
show_images(torch.cat(rows), nrow=10, title="interpolating between test digits in the 16-D VAE's latent space")
plt.show()

# %% [markdown]
# **Explore it yourself.** Move the sliders to walk the 2-D latent space (in a live notebook; an executed copy shows
# the image at $z = 0$).

# %%
def decode_2d(z):
    return torch.sigmoid(vae2d.decode(z.to(DEVICE))).cpu()


latent_slider(decode_2d, 2)

# %% [markdown]
# ## 5. The $\beta$ knob
# Multiplying the KL term by $\beta$ (the $\beta$-VAE of Higgins et al., 2017) trades the two terms:
# $\beta > 1$ presses the codes harder onto the prior — smoother latent spaces, sometimes more "disentangled" axes,
# but blurrier reconstructions, and latent dimensions that carry no information at all (their $q$ equals the prior
# for every image; we count a dimension as **active** when its mean $\mu_k(x)$ varies across test images,
# $\mathrm{Var}_x[\mu_k(x)] > 0.01$). $\beta < 1$ does the opposite. Only $\beta = 1$ gives a bound on the
# likelihood, so compare the negative ELBO of models trained with different $\beta$ knowing that only one of them
# was trained to lower it.
#
# We train the 16-D VAE again with $\beta = 4$ (with `beta_steps` steps, fewer than the main model in the `cpu`
# and `gpu` profiles, so read the comparison as indicative).

# %%
vae_beta4 = VAE()
_, TRAIN_SECONDS["vae_beta4"] = train(vae_beta4, vae_step_loss(4.0), BUDGET.beta_steps, "VAE (beta=4)",
                                      ["neg_elbo", "recon", "kl"])


@torch.no_grad()
def summarise(model, x, seed=0):
    """Test recon, KL and negative ELBO (nats per image, one seeded sample of z) and the number of active units."""
    x_logits, mu, logvar = model(x, generator=torch.Generator().manual_seed(seed))
    _, recon, kl = vae_loss(x_logits, x, mu, logvar)
    active = int((mu.var(0) > 0.01).sum())
    return {"recon": recon.item(), "kl": kl.item(), "neg_elbo": (recon + kl).item(), "active": active}


for name, model in (("beta = 1", vae), ("beta = 4", vae_beta4)):
    s = summarise(model, test_x)
    print(f"{name}: recon {s['recon']:6.1f}  kl {s['kl']:5.1f}  -ELBO {s['neg_elbo']:6.1f} nats  "
          f"active units {s['active']}/{LATENT}")
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
show_images(torch.cat([reconstruct(vae, test_x[:8]), reconstruct(vae_beta4, test_x[:8])[8:]]), nrow=8, ax=axes[0],
            title="input / beta=1 / beta=4 reconstructions")
show_images(torch.cat([samples(vae, FIXED_Z[:16]), samples(vae_beta4, FIXED_Z[:16])]), nrow=8, ax=axes[1],
            title="samples, same z: beta=1 (top 2 rows) / beta=4")
plt.show()

# %% [markdown]
# **Question 2 (2 points).** Compare the two models above: reconstruction term, KL term, number of active units and
# the pictures. Explain the changes with the loss $\text{recon} + \beta\,\text{KL}$. What would you expect if
# $\beta$ were pushed much higher (say 50), and what is that failure called?

# %% [markdown] nbgrader={"grade_id": "q_beta", "solution": true, "points": 2}
# With $\beta = 4$ each nat of KL costs four times as much, so the optimiser buys a smaller KL by giving up
# reconstruction: the KL term falls, the reconstruction term rises, reconstructions and samples become blurrier and
# more "average" (thin strokes and unusual shapes are lost), and fewer latent dimensions stay active — the unused
# ones are switched off by setting $q(z_k\mid x)$ equal to the prior for every $x$, which costs zero KL. The total
# negative ELBO (at $\beta = 1$ accounting) is usually worse, since the model no longer optimises that bound. At a
# very large $\beta$ the cheapest solution is to ignore the code altogether: KL $\approx 0$, every dimension
# inactive, and the decoder outputs roughly the mean digit for every input. That is **posterior collapse**.

# %% [markdown]
# ## 6. Application: anomaly detection
# A model trained only on digits should find clothes *surprising*. Two scores, both "higher = more anomalous", in nats:
#
# - **reconstruction error**: $\sum_j \mathrm{BCE}\big(g_\theta(\mu_\phi(x))_j,\ x_j\big)$, decoding the mean code
#   (no sampling);
# - **negative ELBO**: $\sum_j \mathrm{BCE}\big(g_\theta(z)_j, x_j\big) + \mathrm{KL}(q_\phi(z\mid x)\,\|\,p(z))$ with one
#   sample $z = $ `reparameterize(mu, logvar, generator)` — an upper bound on $-\log p_\theta(x)$.
#
# We judge a score by the ROC AUC: the probability that a random Fashion-MNIST image scores higher than a random
# MNIST test digit (1 = perfect separation, 0.5 = chance).
#
# ### Exercise 5 (3 points): `anomaly_scores`
# Return `(recon_error, neg_elbo)`, each of shape `(N,)` — **one score per image**, summed over pixels (and latent
# dimensions), never averaged over the batch. Put the model in evaluation mode (`model.eval()`) and compute without
# gradients (`torch.no_grad()`). Use only `model.encode` and `model.decode`, plus your `reparameterize` (called once,
# with `generator`) and `gaussian_kl`.

# %% nbgrader={"grade_id": "anomaly_scores", "solution": true}
def anomaly_scores(model, x, generator=None):
    """Per-image (recon_error, neg_elbo) in nats, each (N,); higher = more anomalous."""
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(x)
        # recon_error = sum_j BCE(g(mu)_j, x_j)
        recon_error = F.binary_cross_entropy_with_logits(model.decode(mu), x, reduction="none").flatten(1).sum(1)
        z = reparameterize(mu, logvar, generator)  # z ~ q(z | x)
        recon_at_z = F.binary_cross_entropy_with_logits(model.decode(z), x, reduction="none").flatten(1).sum(1)
        neg_elbo = recon_at_z + gaussian_kl(mu, logvar)  # -ELBO = -log p(x | z) + KL(q || p)
    return recon_error, neg_elbo
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_anomaly_scores", "points": 3}
class TinyVAE(nn.Module):
    """A stand-in with the VAE's interface (2-D code), so that this test does not depend on exercise 4."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.drop = nn.Dropout(0.5)  # behaves differently in train and eval mode
        self.enc = nn.Linear(784, 4)
        self.dec = nn.Linear(2, 784)

    def encode(self, x):
        h = self.enc(self.drop(x.flatten(1)))
        return h[:, :2], h[:, 2:]

    def decode(self, z):
        return self.dec(z).view(-1, 1, 28, 28)


_stub = TinyVAE().train()
_x = (torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.5).float()
_scores = anomaly_scores(_stub, _x, generator=torch.Generator().manual_seed(0))
check_true(isinstance(_scores, tuple) and len(_scores) == 2, "anomaly_scores must return (recon_error, neg_elbo).")
check_shape(_scores[0], (6,), "recon_error")
check_shape(_scores[1], (6,), "neg_elbo")
check_true(not _stub.training, "anomaly_scores must put the model in evaluation mode (model.eval()).")
check_true(not _scores[0].requires_grad and not _scores[1].requires_grad,
           "compute the scores under torch.no_grad(); they should not carry gradients.")
check_true(bool((_scores[0] > 0).all()), "scores are negative log-likelihoods in nats: positive, higher = more anomalous.")
print("visible checks passed")
### BEGIN HIDDEN TESTS
def _reference_reparameterize(mu, logvar, generator=None):  # earlier mistakes are not counted again here
    return mu + torch.exp(0.5 * logvar) * standard_normal_like(mu, generator)


def _reference_kl(mu, logvar):
    return 0.5 * (mu**2 + torch.exp(logvar) - 1 - logvar).sum(1)


_students = globals().get("reparameterize"), globals().get("gaussian_kl")
reparameterize, gaussian_kl = _reference_reparameterize, _reference_kl
try:
    _stub = TinyVAE().train()
    _recon, _neg_elbo = anomaly_scores(_stub, _x, generator=torch.Generator().manual_seed(9))
    _stub.eval()
    with torch.no_grad():
        _mu, _logvar = _stub.encode(_x)
        _expected_recon = F.binary_cross_entropy_with_logits(_stub.decode(_mu), _x, reduction="none").sum((1, 2, 3))
        _z = _mu + torch.exp(0.5 * _logvar) * torch.randn(6, 2, generator=torch.Generator().manual_seed(9))
        _expected_neg_elbo = (F.binary_cross_entropy_with_logits(_stub.decode(_z), _x, reduction="none").sum((1, 2, 3))
                              + _reference_kl(_mu, _logvar))
    check_close(_recon, _expected_recon, "recon_error", rtol=1e-5,
                hint="Sum BCE-with-logits over pixels of decode(mu), per image, with the model in eval mode.")
    check_close(_neg_elbo, _expected_neg_elbo, "neg_elbo", rtol=1e-5,
                hint="BCE summed over pixels of decode(z) for one sample z, plus the KL, per image.")
    _alone = anomaly_scores(_stub, _x[2:3], generator=torch.Generator().manual_seed(9))[0]
    check_close(_alone, _expected_recon[2:3], "recon_error of one image scored alone", rtol=1e-5,
                hint="Each image's score must not depend on the other images in the batch.")
finally:
    reparameterize, gaussian_kl = _students
### END HIDDEN TESTS

# %% [markdown]
# Scores for the MNIST test set (normal) and the Fashion-MNIST test set (anomalous), from the 16-D VAE. The mean
# negative ELBO over MNIST test images is also the lesson's headline number: an upper bound, in nats per image, on
# the model's negative log-likelihood of (thresholded) test digits.

# %%
recon_mnist, elbo_mnist = anomaly_scores(vae, test_x, generator=torch.Generator().manual_seed(0))
recon_fashion, elbo_fashion = anomaly_scores(vae, fashion_x, generator=torch.Generator().manual_seed(1))
auc_recon = roc_auc(recon_mnist, recon_fashion)
auc_elbo = roc_auc(elbo_mnist, elbo_fashion)
test_neg_elbo = elbo_mnist.mean().item()
print(f"MNIST test -ELBO: {test_neg_elbo:.1f} nats per image;  Fashion-MNIST: {elbo_fashion.mean().item():.1f}")
print(f"ROC AUC, reconstruction error: {auc_recon:.4f};  ROC AUC, negative ELBO: {auc_elbo:.4f}")

fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
for ax, normal, anomalous, name, auc in ((axes[0], recon_mnist, recon_fashion, "reconstruction error", auc_recon),
                                         (axes[1], elbo_mnist, elbo_fashion, "negative ELBO", auc_elbo)):
    both = torch.cat([normal, anomalous]).cpu()
    bins = torch.logspace(both.min().clamp_min(1.0).log10().item(), both.max().log10().item(), 80).numpy()
    ax.hist(normal.cpu().numpy(), bins=bins, alpha=0.6, density=True, label="MNIST test (normal)")
    ax.hist(anomalous.cpu().numpy(), bins=bins, alpha=0.6, density=True, label="Fashion-MNIST test (anomalous)")
    ax.set_title(f"{name}: ROC AUC {auc:.3f}")
    ax.set_xscale("log")
    ax.set_xlabel("nats per image (log scale)")
    ax.legend()
plt.show()
worst = torch.cat([test_x[elbo_mnist.argsort(descending=True)[:8]], fashion_x[elbo_fashion.argsort()[:8]]])
show_images(worst, nrow=8, title="most anomalous MNIST digits (top) and most 'digit-like' Fashion-MNIST items (bottom)")
plt.show()

# %% [markdown]
# **Question 3 (2 points).** Which score separated the two sets better here, and by how much? Give one reason why
# the negative ELBO can carry information the reconstruction error lacks. Then look at the bottom row above: what
# kind of Fashion-MNIST image fools the detector, and why?

# %% [markdown] nbgrader={"grade_id": "q_anomaly", "solution": true, "points": 2}
# (The numbers depend on the run. In our `cpu` run both AUCs were about 0.98 and the reconstruction error was
# ahead by a few thousandths — a difference too small to matter; a student's answer should quote their own numbers.)
# The reconstruction error only asks whether the decoder can redraw the
# image from its mean code. The negative ELBO adds the KL term, which measures how far the image's code distribution
# is from the prior — an image that needs an unusual, very precise code (far from the origin, tiny $\sigma$) is
# atypical even if it reconstructs well — and it evaluates reconstruction under the posterior's noise, rewarding
# images whose reconstruction is robust to small code changes, as typical digits are. The Fashion-MNIST items that
# fool the detector are (almost) empty after thresholding: dark garments whose grey levels stay below 0.5, leaving a
# few white pixels. An all-black image is very cheap to explain for a model whose pixels are mostly black, so it gets
# a low score although it is not a digit. Likelihood measures how *easy* an image is to encode, not whether it belongs
# to the training class; a model trained on a harder dataset can even give higher likelihood to simpler
# out-of-distribution data (see "Going further").

# %% [markdown]
# **Question 4 (2 points).** The reparameterization trick rewrites $z \sim \mathcal{N}(\mu, \sigma^2)$ as
# $z = \mu + \sigma\varepsilon$. What exactly would go wrong in training if we drew `z = torch.normal(mu, sigma)`
# instead? Which parameters would stop learning, and which would still learn?

# %% [markdown] nbgrader={"grade_id": "q_reparameterization", "solution": true, "points": 2}
# `torch.normal(mu, sigma)` returns a sample that autograd treats as a constant: no gradient flows from $z$ back to
# $\mu$ and $\sigma$. The decoder still learns (the reconstruction term depends on its weights directly), and the
# encoder still receives gradients from the KL term, which depends on $\mu$ and $\log\sigma^2$ in closed form. But
# the encoder would get *no* signal from the reconstruction term: it would learn only to match the prior
# ($\mu \to 0$, $\sigma \to 1$), the codes would carry no information about $x$, and the decoder would learn to
# output an average digit — posterior collapse by construction. With $z = \mu + \sigma\varepsilon$ the randomness
# sits in $\varepsilon$, which does not depend on the parameters, so $\partial z/\partial\mu = 1$ and
# $\partial z/\partial\sigma = \varepsilon$ carry the reconstruction gradient to the encoder (a low-variance,
# single-sample estimate of the gradient of the expectation).

# %% [markdown]
# ## Going further
# - **VQ-VAE** (van den Oord et al., 2017): a *discrete* code from a learned codebook, trained with a
#   straight-through gradient; with a learned prior over codes it gives much sharper images and is the tokenizer
#   behind many later image generators.
# - **Hierarchical VAEs** (Ladder VAE; NVAE, Vahdat & Kautz 2020; VDVAE, Child 2021): many layers of latent
#   variables, from coarse to fine, close much of the quality gap to other generative models.
# - **Tighter bounds: IWAE** (Burda et al., 2016): average $K$ importance weights inside the log,
#   $\log \frac1K\sum_k p(x, z_k)/q(z_k\mid x)$; it is the standard way to *estimate* $\log p(x)$ of a trained VAE
#   (with $K$ in the thousands) and a better training objective.
# - **Posterior collapse** with powerful decoders (PixelCNN or autoregressive decoders can model $x$ without $z$):
#   remedies include KL annealing / warm-up, free bits, and $\delta$-VAE.
# - **Better decoders and likelihoods** for grey-level images: discretized logistic mixtures instead of
#   Bernoulli pixels; convolutional encoders and decoders instead of our MLPs.
# - **Disentanglement**: $\beta$-VAE, FactorVAE and $\beta$-TCVAE, and the cautionary study of Locatello et al. (2019).
# - **Likelihood-based anomaly detection can fail**: Nalisnick et al. (2019), "Do deep generative models know what
#   they don't know?" — try training on Fashion-MNIST and scoring MNIST.

# %% [markdown]
# ## Results
# What this run reached. `test_neg_elbo_nats` is the mean negative ELBO per MNIST test image (thresholded at 0.5,
# one seeded sample of $z$): an upper bound on the negative log-likelihood. Lower is better; it is not comparable
# with papers that use dynamically binarized MNIST.

# %%
results_table("01_autoencoders_vae", {
    "data": "stand-in (not real MNIST)" if mnist_train.is_standin or fashion_test.is_standin else "MNIST / Fashion-MNIST",
    "test_neg_elbo_nats": round(test_neg_elbo, 2),
    "roc_auc_recon": round(auc_recon, 4),
    "roc_auc_elbo": round(auc_elbo, 4),
    "train_seconds_vae": round(TRAIN_SECONDS["vae"], 1),
    "train_seconds_all": round(sum(TRAIN_SECONDS.values()), 1),
    "vae_steps": BUDGET.vae_steps,
})
