# %% [markdown]
# # Lesson 01 — Autoencoders and variational autoencoders
#
# An autoencoder squeezes an image through a narrow code and rebuilds it. That is a good compressor but not a
# generator: nobody tells us which codes the decoder understands. The variational autoencoder (VAE) fixes this by
# making the code *random* and pulling its distribution towards a simple prior, so that decoding a code drawn from
# the prior gives a new image. The same training objective, the evidence lower bound (ELBO), is a bound on the
# model's log-likelihood: we tighten it with importance weighting (IWAE), compare it with a model that has no
# parameters to train at all, and use it to detect images that are not digits.
#
# **You will learn to**
# - build an autoencoder with a bottleneck and see why it cannot sample;
# - write a VAE yourself: the Gaussian encoder network $q_\phi(z\mid x)$ and the decoder network, the
#   reparameterization trick, the closed-form Gaussian KL and the negative ELBO with a Bernoulli decoder;
# - derive the ELBO and the importance-weighted bound, and report a likelihood in nats and bits per dimension
#   beside a zero-parameter baseline;
# - read a 2-D latent space (class scatter, manifold, interpolation, slider) and the effect of $\beta$;
# - use reconstruction error and the negative ELBO as anomaly scores and measure them with ROC AUC.
#
# **Prerequisites:** PyTorch modules and optimizers; expectations, Gaussians and the log of a density; what a
# KL divergence is (we derive the one we need).
#
# **Time budget** (whole notebook, end to end; set `GENLAB_PROFILE` before starting the kernel):
#
# | profile | what it trains | time |
# |---|---|---|
# | `smoke` | a few dozen steps on 2,000 digits; checks that everything runs, pictures are noise | 16 s on 2 CPU cores (target ≤ 60 s) |
# | `cpu` | about 5 epochs of small MLPs on all 60,000 digits | 1.8 min on 2 CPU cores (target ≤ 10 min) |
# | `gpu` | wider MLPs for about 30 epochs | not yet timed on a GPU (target ≤ 10 min) |
#
# Exercises: 8 (2 networks, 5 functions, 1 module; 26 points, autograded) and 5 written questions (10 points, read
# by a person). Each exercise's tests sit right below it; a mistake in one exercise costs points only there.

# %%
import math
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from genlab import config, data, grading
from genlab.grading import attempt, check_close, check_finite, check_param_count, check_shape, check_true
from genlab.metrics import roc_auc
from genlab.train import History, progress, results_table
from genlab.viz import LivePlot, latent_slider, plot_curves, show_images

device = config.setup("01_autoencoders_vae")
# Every number that makes a run longer or shorter lives in this table, once. `train_subset=None` means all 60,000
# training digits, `eval_subset=None` all 10,000 test images; `iwae_subset` test images get the IWAE bound with
# `iwae_k` samples each.
BUDGET = config.budget({
    "smoke": dict(train_subset=2000, eval_subset=500, batch=64, hidden=128, lr=2e-3,
                  ae_steps=30, vae_steps=60, beta_steps=30, steps_2d=30, iwae_subset=100, iwae_k=64),
    "cpu": dict(train_subset=None, eval_subset=None, batch=128, hidden=256, lr=1e-3,
                ae_steps=1000, vae_steps=2500, beta_steps=1500, steps_2d=1200, iwae_subset=1000, iwae_k=256),
    "gpu": dict(train_subset=None, eval_subset=None, batch=128, hidden=512, lr=1e-3,
                ae_steps=5000, vae_steps=15000, beta_steps=8000, steps_2d=8000, iwae_subset=None, iwae_k=1000),
})
LATENT = 16  # size of the code of the main models; the 2-D models come later
print(BUDGET)

# %% [markdown]
# ## Setup: the data on the device
#
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

train_x = binarize(mnist_train.images).to(device)  # the whole training set as one tensor on the device
test_x, test_labels = binarize(mnist_test.images).to(device), mnist_test.labels
fashion_x = binarize(fashion_test.images).to(device)
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
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=BUDGET.lr)
    batches = data.DeviceLoader(train_x, batch_size=BUDGET.batch, seed=seed).forever()
    history, live = History(), LivePlot(keys, title=title, min_seconds=3.0, smooth=5)
    log_every = max(1, steps // 200)
    start = time.time()
    with progress(steps, desc=title, batch_size=BUDGET.batch) as bar:
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
# Here both halves are given: small multilayer perceptrons, encoder $784 \to h \to h \to d$, decoder
# $d \to h \to h \to 784$, ReLU between layers, $h$ = `BUDGET.hidden`. For the VAE you will write them yourself.

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
# the codes of real digits lie. Let us try two choices: the standard normal $z \sim \mathcal{N}(0, I)$, and a
# Gaussian *fitted* to the codes of the training digits (their mean and covariance), which at least puts the samples
# where the codes are.

# %%
with torch.no_grad():
    ae_codes = ae.encode(train_x[:5000])
    fitted = torch.distributions.MultivariateNormal(ae_codes.mean(0).cpu(),
                                                    torch.cov(ae_codes.T).cpu() + 1e-4 * torch.eye(LATENT))
    torch.manual_seed(1)
    z_standard = torch.randn(32, LATENT, generator=torch.Generator().manual_seed(1)).to(device)
    z_fitted = fitted.sample((32,)).to(device)
    ae_standard, ae_fitted = torch.sigmoid(ae.decode(z_standard)), torch.sigmoid(ae.decode(z_fitted))
print("per-dimension std of the AE codes of training digits:", [round(s, 2) for s in ae_codes.std(0).tolist()])
fig, axes = plt.subplots(1, 2, figsize=(12, 3.2))
show_images(ae_standard, nrow=8, ax=axes[0], title="autoencoder decodes z ~ N(0, I)")
show_images(ae_fitted, nrow=8, ax=axes[1], title="autoencoder decodes z ~ a Gaussian fitted to its codes")
plt.show()

# %% [markdown]
# **Question 1 (2 points).** Decoding $\mathcal{N}(0, I)$ fails for an obvious reason (look at the printed scales).
# The fitted Gaussian has the right mean and covariance and does much better, yet (in the `cpu` profile) some
# of its samples are still broken strokes or half-digits. Why is matching the first two moments of the codes not enough? What would a generator need to know
# about the codes that the autoencoder's loss never asks for?

# %% [markdown] nbgrader={"grade_id": "q_ae_codes", "points": 2, "solution": true}
# The codes of real digits are not Gaussian: they lie in clumps and thin curved streaks (one per
# class or style) with empty regions between them, and a Gaussian with the same mean and covariance spreads its
# mass smoothly over those empty regions ("holes"). The decoder was only ever trained on codes of real digits, so
# what it does in a hole is arbitrary: blends of strokes, half-digits, blobs. Matching moments says nothing about
# where the mass is *not*. A generator needs a code distribution it can sample from **and** a decoder trained to
# produce a digit for (almost) every code that distribution produces. The autoencoder's loss asks neither: it is
# about individual points, not about a distribution. (The VAE will fix both at once: the KL term shapes the code
# distribution towards $\mathcal{N}(0, I)$, and encoding each image as a cloud of codes trains the decoder on the
# region around each code.)
# Rubric: 1 point for "the codes are not Gaussian / holes between clusters, which a moment-matched Gaussian fills";
# 1 point for "the decoder was never trained there; no loss term shapes the code distribution".

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
# ### The evidence lower bound (ELBO), derived
# For any $q$ that is positive wherever the integrand is, multiply and divide inside the integral, then use
# Jensen's inequality ($\log$ is concave, so $\log \mathbb{E}[W] \ge \mathbb{E}[\log W]$):
#
# $$\log p_\theta(x) = \log \int q_\phi(z\mid x)\,\frac{p_\theta(x\mid z)\,p(z)}{q_\phi(z\mid x)}\,dz
#   = \log \mathbb{E}_{q_\phi(z\mid x)}\!\left[\frac{p_\theta(x\mid z)\,p(z)}{q_\phi(z\mid x)}\right]
#   \;\ge\; \mathbb{E}_{q_\phi(z\mid x)}\!\left[\log\frac{p_\theta(x\mid z)\,p(z)}{q_\phi(z\mid x)}\right]
#   = \mathbb{E}_{q}\big[\log p_\theta(x\mid z)\big] - \mathrm{KL}\big(q_\phi(z\mid x)\,\|\,p(z)\big)
#   = \mathrm{ELBO}(x).$$
#
# How loose is it? Write $p_\theta(x\mid z)\,p(z) = p_\theta(z\mid x)\,p_\theta(x)$ inside the last expectation:
# $\mathrm{ELBO}(x) = \log p_\theta(x) - \mathrm{KL}\big(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x)\big)$. The gap is a
# KL divergence, so raising the ELBO both raises the likelihood and makes $q$ a better guess of the true posterior.
# We **minimise the negative ELBO**, two terms:
#
# - **reconstruction**: $-\mathbb{E}_q[\log p_\theta(x\mid z)]$ — with Bernoulli pixels, $-\log p_\theta(x\mid z)$ is
#   exactly $\sum_j \mathrm{BCE}(\ell_j, x_j)$, the autoencoder's loss, now evaluated at a *sampled* code;
# - **KL to the prior**: $\mathrm{KL}(q_\phi(z\mid x)\,\|\,\mathcal{N}(0,I))$, which depends on the encoder only.
#
# Both are measured in **nats** (natural logarithms); the negative ELBO is an upper bound on $-\log p_\theta(x)$.
# Dividing nats per image by $784 \ln 2$ gives **bits per dimension** (per pixel), the unit papers use to compare
# datasets of different sizes: 1 bit/dim is what a coin flip per pixel costs.

# %% [markdown]
# ### Exercise 1 (3 points): the encoder network
# Write `Encoder(latent_dim, hidden)`, an `nn.Module` whose `forward(x)` takes images `(N, 1, 28, 28)` and returns
# the tuple `(mu, logvar)`, each `(N, latent_dim)`:
#
# - a shared **body**: flatten, $784 \to h$, ReLU, $h \to h$, ReLU (like the autoencoder's encoder without its
#   last layer);
# - two **heads** on the body's output $h(x)$: $\mu_\phi(x) = W_\mu h + b_\mu$ and
#   $\log\sigma^2_\phi(x) = W_s h + b_s$, each $h \to d$, with **no activation**: both are any real numbers.
#
# Why `logvar` $= \log\sigma^2$ rather than $\sigma$: a linear layer can output any real number, while $\sigma$
# must be positive; $\sigma = \exp(\tfrac12\log\sigma^2)$ is positive for every output. (The names
# `body`, `to_mu`, `to_logvar` are a suggestion; one $h \to 2d$ layer split in two halves is the same network and
# is accepted: the tests count parameters and look at outputs and gradients, not at names.)

# %% nbgrader={"grade_id": "encoder", "solution": true}
class Encoder(nn.Module):
    """q_phi(z | x): images (N, 1, 28, 28) -> (mu, logvar), each (N, latent_dim)."""

    def __init__(self, latent_dim=LATENT, hidden=BUDGET.hidden):
        super().__init__()
        ### BEGIN SOLUTION
        # h(x) = relu(W2 relu(W1 x + b1) + b2), shared by both heads
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.to_mu = nn.Linear(hidden, latent_dim)  # mu_phi(x) = W_mu h + b_mu
        self.to_logvar = nn.Linear(hidden, latent_dim)  # log sigma^2_phi(x) = W_s h + b_s
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        h = self.body(x)
        return self.to_mu(h), self.to_logvar(h)  # (mu_phi(x), log sigma^2_phi(x))
        ### END SOLUTION


# %% nbgrader={"grade_id": "test_encoder_shapes", "points": 2}
### BEGIN HIDDEN TESTS
class _RefEncoder(nn.Module):
    def __init__(self, latent_dim=LATENT, hidden=BUDGET.hidden):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.to_mu = nn.Linear(hidden, latent_dim)
        self.to_logvar = nn.Linear(hidden, latent_dim)

    def forward(self, x):
        h = self.body(x)
        return self.to_mu(h), self.to_logvar(h)


grading.register_reference(Encoder=_RefEncoder)
### END HIDDEN TESTS
torch.manual_seed(0)
_encoder = attempt(Encoder, 3, 32, what="Encoder(latent_dim=3, hidden=32)")
_x = (torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(1)) > 0.5).float()
_out = attempt(_encoder, _x, what="Encoder(3, 32)(x)")
check_true(isinstance(_out, tuple) and len(_out) == 2, "the encoder's forward must return the tuple (mu, logvar).")
check_shape(_out[0], (5, 3), "mu from Encoder(3, 32)")
check_shape(_out[1], (5, 3), "logvar from Encoder(3, 32)")
# 784*32 + 32 (first layer) + 32*32 + 32 (second) + 2 * (32*3 + 3) (two heads)
check_param_count(_encoder, 26374, "Encoder(latent_dim=3, hidden=32)",
                  hint="Body 784 -> h -> h, then two heads h -> d (with biases). A missing or extra layer, or a head "
                       "that reads the image instead of the body's output, changes the count.")
check_true(not torch.allclose(_out[0], _out[1]), "mu and logvar are equal: give each its own head (its own weights).")
print("visible checks passed")
### BEGIN HIDDEN TESTS
check_param_count(attempt(Encoder, 7, 20), 784 * 20 + 20 + 20 * 20 + 20 + 2 * (20 * 7 + 7), "Encoder(7, 20)",
                  hint="Use the latent_dim and hidden arguments, not the global LATENT or BUDGET.hidden.")
check_shape(Encoder(7, 20)(torch.zeros(2, 1, 28, 28))[0], (2, 7), "mu from Encoder(7, 20)")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_encoder_gradients", "points": 1}
torch.manual_seed(0)
_encoder = attempt(Encoder, 3, 32, what="Encoder(latent_dim=3, hidden=32)")
_x = (torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1)) > 0.5).float()
_mu, _logvar = attempt(_encoder, _x, what="Encoder(3, 32)(x)")
check_true(bool((_logvar < 0).any()) and bool((_mu < 0).any()),
           "mu or logvar is never negative: the heads must be plain linear layers (no ReLU, exp, softplus, sigmoid "
           "after them). logvar is log sigma^2, which is negative whenever sigma < 1.")
attempt(lambda: (_mu.sum() + _logvar.sum()).backward(), what="backpropagating mu.sum() + logvar.sum()")
grading.check_all_parameters_get_gradients(_encoder, "the encoder")
print("visible checks passed")
### BEGIN HIDDEN TESTS
# each head must reach the shared body by itself (catches a head fed with h.detach()); the first layer is shared
_first = next(m for m in _encoder.modules() if isinstance(m, nn.Linear))
for _which in (0, 1):
    _encoder.zero_grad()
    _outputs = _encoder(_x)
    check_true(_outputs[_which].requires_grad, f"{('mu', 'logvar')[_which]} carries no gradient (detached?).")
    _outputs[_which].sum().backward()
    check_true(_first.weight.grad is not None and bool(_first.weight.grad.abs().sum() > 0),
               f"no gradient reaches the encoder's first layer from {('mu', 'logvar')[_which]}: its head must read "
               "the body's output without .detach().")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 (3 points): the decoder network
# Write `Decoder(latent_dim, hidden)`: `forward(z)` takes codes `(N, latent_dim)` and returns **logits**
# `(N, 1, 28, 28)`: $d \to h$, ReLU, $h \to h$, ReLU, $h \to 784$, then reshape. No activation at the end: the
# Bernoulli probability $\sigma(\ell)$ is applied by the loss (`binary_cross_entropy_with_logits`, stable for any
# logit) and by the plotting code, never inside the network.

# %% nbgrader={"grade_id": "decoder", "solution": true}
class Decoder(nn.Module):
    """p_theta(x | z): codes (N, latent_dim) -> Bernoulli logits (N, 1, 28, 28)."""

    def __init__(self, latent_dim=LATENT, hidden=BUDGET.hidden):
        super().__init__()
        ### BEGIN SOLUTION
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 784))
        ### END SOLUTION

    def forward(self, z):
        ### BEGIN SOLUTION
        return self.net(z).view(-1, 1, 28, 28)  # logits l = g_theta(z), one per pixel
        ### END SOLUTION


# %% nbgrader={"grade_id": "test_decoder_shapes", "points": 2}
### BEGIN HIDDEN TESTS
class _RefDecoder(nn.Module):
    def __init__(self, latent_dim=LATENT, hidden=BUDGET.hidden):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 784))

    def forward(self, z):
        return self.net(z).view(-1, 1, 28, 28)


grading.register_reference(Decoder=_RefDecoder)
### END HIDDEN TESTS
torch.manual_seed(0)
_decoder = attempt(Decoder, 3, 32, what="Decoder(latent_dim=3, hidden=32)")
_logits = attempt(_decoder, torch.randn(5, 3, generator=torch.Generator().manual_seed(2)), what="Decoder(3, 32)(z)")
check_shape(_logits, (5, 1, 28, 28), "Decoder(3, 32)(z) for z of shape (5, 3)")
# 3*32 + 32 + 32*32 + 32 + 32*784 + 784
check_param_count(_decoder, 27056, "Decoder(latent_dim=3, hidden=32)",
                  hint="d -> h -> h -> 784 with biases: a missing or extra layer changes the count.")
print("visible checks passed")
### BEGIN HIDDEN TESTS
check_param_count(attempt(Decoder, 7, 20), 7 * 20 + 20 + 20 * 20 + 20 + 20 * 784 + 784, "Decoder(7, 20)",
                  hint="Use the latent_dim and hidden arguments, not the global LATENT or BUDGET.hidden.")
check_shape(Decoder(7, 20)(torch.zeros(1, 7)), (1, 1, 28, 28), "Decoder(7, 20) of one code")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_decoder_logits", "points": 1}
torch.manual_seed(0)
_decoder = attempt(Decoder, 3, 32, what="Decoder(latent_dim=3, hidden=32)")
_logits = attempt(_decoder, 3 * torch.randn(64, 3, generator=torch.Generator().manual_seed(2)), what="Decoder(3, 32)(z)")
check_true(bool((_logits < 0).any()) and bool((_logits > 1).any()),
           "the decoder's outputs all lie in [0, 1] or are never negative: it returns probabilities or ends in a "
           "ReLU. Return the last linear layer's output (logits) with no activation.")
attempt(lambda: _logits.sum().backward(), what="backpropagating the decoder's output")
grading.check_all_parameters_get_gradients(_decoder, "the decoder")
print("visible checks passed")
### BEGIN HIDDEN TESTS
_z = torch.randn(4, 3, generator=torch.Generator().manual_seed(5))
check_close(_decoder(_z)[1], _decoder(_z[1:2])[0], "the logits of one code decoded alone",
            hint="Each code is decoded independently: reshape with view(-1, 1, 28, 28), no mixing across the batch.")
### END HIDDEN TESTS

# %% [markdown]
# ### The reparameterization trick
# The reconstruction term is an expectation over $z \sim q_\phi(z\mid x)$, estimated with one sample per image. We
# need its gradient with respect to $\phi$. The trick: draw the randomness from a fixed distribution and *move* it
# with $\mu$ and $\sigma$,
#
# $$\varepsilon \sim \mathcal{N}(0, I), \qquad z = \mu + \sigma \odot \varepsilon, \qquad \sigma = \exp(\tfrac12\log\sigma^2).$$
#
# Now $z$ is a deterministic, differentiable function of $(\mu, \sigma)$ with $\partial z/\partial\mu = 1$ and
# $\partial z/\partial\sigma = \varepsilon$, and the noise is just an input: the gradient of
# $\mathbb{E}_\varepsilon[f(\mu + \sigma\varepsilon)]$ is $\mathbb{E}_\varepsilon[\nabla f \cdot \partial z/\partial(\mu,\sigma)]$,
# estimated by the same sample (the *pathwise* gradient).
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
# ### Exercise 3 (3 points): `reparameterize`
# Return $z = \mu + \sigma\odot\varepsilon$ with $\sigma = \exp(\tfrac12\,\mathrm{logvar})$ and
# $\varepsilon$ = `standard_normal_like(mu, generator)` (call it exactly once). `mu` and `logvar` may have any
# shape (the same for both); gradients must reach both. Comment each line with the equation it implements.

# %% nbgrader={"grade_id": "reparameterize", "solution": true}
def reparameterize(mu, logvar, generator=None):
    """A sample z ~ N(mu, diag exp(logvar)) as a differentiable function of mu and logvar; shape of mu."""
    ### BEGIN SOLUTION
    sigma = torch.exp(0.5 * logvar)  # sigma = exp(log(sigma^2) / 2)
    eps = standard_normal_like(mu, generator)  # eps ~ N(0, I)
    return mu + sigma * eps  # z = mu + sigma * eps
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_reparameterize_values", "points": 2}
### BEGIN HIDDEN TESTS
def _ref_reparameterize(mu, logvar, generator=None):
    return mu + torch.exp(0.5 * logvar) * standard_normal_like(mu, generator)


grading.register_reference(reparameterize=_ref_reparameterize)
### END HIDDEN TESTS
mu = torch.tensor([[0.0, 1.0, -2.0]])
logvar = torch.tensor([[0.0, math.log(4.0), math.log(0.25)]])  # sigma^2 = (1, 4, 1/4), so sigma = (1, 2, 1/2)
eps = standard_normal_like(mu, torch.Generator().manual_seed(0))
z = attempt(reparameterize, mu, logvar, torch.Generator().manual_seed(0), what="reparameterize(mu, logvar, generator)")
check_shape(z, (1, 3), "reparameterize(mu, logvar)")
check_finite(z, "reparameterize(mu, logvar)")
if torch.allclose(z, mu + torch.tensor([[1.0, 4.0, 0.25]]) * eps, atol=1e-5):
    raise grading.CheckFailed("z = mu + sigma^2 * eps: you used the variance sigma^2 = exp(logvar) where the standard "
                              "deviation sigma = exp(logvar / 2) belongs (logvar = log 4 must give sigma = 2, not 4).")
check_close(z, mu + torch.tensor([[1.0, 2.0, 0.5]]) * eps, "z for sigma = (1, 2, 1/2) and seeded eps",
            hint="z = mu + sigma * eps with sigma = exp(0.5 * logvar) and eps = standard_normal_like(mu, generator), "
                 "drawn once.")
check_close(reparameterize(mu, torch.full_like(mu, -60.0)), mu, "z when logvar = -60 (sigma is almost 0)", atol=1e-6,
            hint="With (almost) no variance the sample must be the mean mu.")
print("visible checks passed")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(11)
_mu, _logvar = torch.randn(64, 5, generator=_g), 2 * torch.randn(64, 5, generator=_g)
_eps = torch.randn(64, 5, generator=torch.Generator().manual_seed(7))
check_close(reparameterize(_mu, _logvar, torch.Generator().manual_seed(7)), _mu + torch.exp(0.5 * _logvar) * _eps,
            "z for random mu, logvar and a seeded generator", hint="z = mu + exp(0.5 * logvar) * eps.")
check_shape(reparameterize(_mu.expand(3, 64, 5), _logvar.expand(3, 64, 5)), (3, 64, 5), "z for (3, 64, 5) inputs")
_big_mu = torch.tensor([1.5, -1.0]).expand(40000, 2)
_big_logvar = torch.log(torch.tensor([4.0, 0.09])).expand(40000, 2)
torch.manual_seed(0)
_zs = reparameterize(_big_mu, _big_logvar)
check_close(_zs.mean(0), torch.tensor([1.5, -1.0]), "sample mean without a generator", atol=0.05)
check_close(_zs.std(0), torch.tensor([2.0, 0.3]), "sample std without a generator", atol=0.0, rtol=0.05)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_reparameterize_gradients", "points": 1}
_mu_p = torch.tensor([[0.0, 1.0, -2.0]], requires_grad=True)
_logvar_p = torch.tensor([[0.0, math.log(4.0), math.log(0.25)]], requires_grad=True)
_z = attempt(reparameterize, _mu_p, _logvar_p, torch.Generator().manual_seed(0), what="reparameterize")
check_true(_z.requires_grad, "z carries no gradient: keep it connected to mu and logvar (no detach, no torch.no_grad).")
print("visible checks passed")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(12)
grading.check_gradients(lambda mu, logvar: reparameterize(mu, logvar, torch.Generator().manual_seed(3)),
                        lambda mu, logvar: _ref_reparameterize(mu, logvar, torch.Generator().manual_seed(3)),
                        {"mu": torch.randn(16, 4, generator=_g), "logvar": torch.randn(16, 4, generator=_g)},
                        "reparameterize", hint="dz/dmu = 1 and dz/dlogvar = 0.5 * sigma * eps: nothing detached.")
### END HIDDEN TESTS

# %% [markdown]
# ### Why not just call `torch.normal(mu, sigma)`?
# PyTorch can draw $z \sim \mathcal{N}(\mu, \sigma^2)$ directly. Run the cell: it draws one such sample, then
# backpropagates $z^2$ through it, and does the same through $z = \mu + \sigma\varepsilon$ with the same numbers.

# %%
mu_demo = torch.tensor([0.5, 1.0], requires_grad=True)
sigma_demo = torch.tensor([2.0, 0.5], requires_grad=True)
z_direct = torch.normal(mu_demo, sigma_demo, generator=torch.Generator().manual_seed(0))
print("torch.normal sample:", z_direct.detach().tolist(), " grad_fn:", z_direct.grad_fn)
z_direct.pow(2).sum().backward()
print("  d(z^2)/d mu =", mu_demo.grad.tolist(), "  d(z^2)/d sigma =", sigma_demo.grad.tolist())
mu_demo.grad, sigma_demo.grad = None, None
eps_demo = (z_direct.detach() - mu_demo.detach()) / sigma_demo.detach()  # the eps that gives the same sample
z_path = mu_demo + sigma_demo * eps_demo  # z = mu + sigma * eps
z_path.pow(2).sum().backward()
print("mu + sigma * eps:", z_path.detach().tolist())
print("  d(z^2)/d mu =", mu_demo.grad.tolist(), "  d(z^2)/d sigma =", sigma_demo.grad.tolist(),
      " (2z and 2z * eps)")

# %% [markdown]
# **Question 2 (2 points).** The `torch.normal` sample has a `grad_fn`, so `backward()` runs without an error. What
# gradient does it send to $\mu$ and $\sigma$ (read the printout), and how does that differ from the pathwise
# gradient of the reparameterised sample? If the VAE sampled its codes with `torch.normal(mu, sigma)`, which
# parameters would still learn, from which term of the loss, and what would the trained model look like?

# %% [markdown] nbgrader={"grade_id": "q_reparameterization", "points": 2, "solution": true}
# `torch.normal(mu, sigma)` is recorded in the graph (`NormalBackward`), but the gradient it passes
# back to both `mu` and `sigma` is exactly zero: autograd does not differentiate through the sampling, so the sample
# behaves like a constant *for the gradient* even though it is not detached. The reparameterised sample instead
# gives the pathwise derivatives $\partial f/\partial\mu = f'(z)$ and $\partial f/\partial\sigma = f'(z)\,\varepsilon$
# ($2z$ and $2z\varepsilon$ in the printout), an unbiased one-sample estimate of the gradient of
# $\mathbb{E}[f(z)]$. In a VAE sampling with `torch.normal`: the decoder still learns (the reconstruction term
# depends on its weights directly); the encoder gets no signal from the reconstruction term and is trained by the
# KL term alone, which depends on $\mu, \log\sigma^2$ in closed form. The KL pulls $q(z\mid x)$ onto the prior
# for every $x$ ($\mu \to 0$, $\sigma \to 1$), so the codes carry no information about the image, and the decoder
# learns to output the average digit for every code: posterior collapse by construction. (Rubric: 1 point for
# "zero gradient to mu/sigma although a grad_fn exists, vs the pathwise f'(z) and f'(z) eps"; 1 point for
# "decoder learns, encoder only from KL, collapses to the prior / mean image".)

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
# ### Exercise 4 (3 points): `gaussian_kl`
# Given `mu` and `logvar` of shape `(N, d)`, return the KL above for each example: a tensor of shape `(N,)`,
# **summed** over the $d$ latent dimensions (a sum, because the KL of independent dimensions adds up; a mean would
# make the cost of a code depend on how many dimensions it has). Use $\sigma^2 = \exp(\mathrm{logvar})$.

# %% nbgrader={"grade_id": "gaussian_kl", "solution": true}
def gaussian_kl(mu, logvar):
    """KL( N(mu, diag exp(logvar)) || N(0, I) ) per example: (N, d) inputs -> (N,) in nats."""
    ### BEGIN SOLUTION
    # KL = 1/2 * sum_k (mu_k^2 + sigma_k^2 - 1 - log sigma_k^2)
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_gaussian_kl_values", "points": 2}
### BEGIN HIDDEN TESTS
def _ref_gaussian_kl(mu, logvar):
    return 0.5 * (mu**2 + torch.exp(logvar) - 1 - logvar).sum(-1)


grading.register_reference(gaussian_kl=_ref_gaussian_kl)
### END HIDDEN TESTS
kl = attempt(gaussian_kl, torch.zeros(4, 3), torch.zeros(4, 3), what="gaussian_kl")
check_shape(kl, (4,), "gaussian_kl of a (4, 3) batch")
check_close(kl, torch.zeros(4), "KL when q is the prior (mu = 0, logvar = 0)")
_kl_mu = gaussian_kl(torch.ones(2, 3), torch.zeros(2, 3))
if torch.allclose(_kl_mu, torch.full((2,), 0.5)):
    raise grading.CheckFailed("KL for mu = 1, d = 3 is 0.5: you averaged over the latent dimensions; sum them.")
check_close(_kl_mu, torch.full((2,), 1.5), "KL for mu = 1, logvar = 0, d = 3",
            hint="Each dimension with mu = 1, sigma = 1 costs 1/2 nat; sum over the latent dimensions.")
# mu = 0, sigma^2 = 4: KL = (4 - 1 - log 4) / 2 = 0.80685...
check_close(gaussian_kl(torch.zeros(1, 1), torch.full((1, 1), math.log(4.0))), torch.tensor([0.8068528]),
            "KL for mu = 0, logvar = log 4", hint="sigma^2 = exp(logvar) = 4 here (not sigma = 2).")
print("visible checks passed")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(5)
_mu, _logvar = torch.randn(16, 6, generator=_g), 1.5 * torch.randn(16, 6, generator=_g)
check_close(gaussian_kl(_mu, _logvar), _ref_gaussian_kl(_mu, _logvar), "KL for random mu and logvar",
            hint="0.5 * sum(mu^2 + exp(logvar) - 1 - logvar) over the latent dimensions.")
check_true(bool((gaussian_kl(_mu, _logvar) >= 0).all()), "a KL divergence is never negative; check the signs.")
check_shape(gaussian_kl(torch.zeros(7, 1), torch.zeros(7, 1)), (7,), "gaussian_kl with d = 1")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_gaussian_kl_gradients", "points": 1}
_mu_p, _logvar_p = torch.zeros(2, 3, requires_grad=True), torch.zeros(2, 3, requires_grad=True)
check_true(attempt(gaussian_kl, _mu_p, _logvar_p).requires_grad,
           "the KL carries no gradient: the encoder learns from it, so keep it in the graph.")
print("visible checks passed")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(6)
grading.check_gradients(gaussian_kl, _ref_gaussian_kl,
                        {"mu": torch.randn(8, 4, generator=_g), "logvar": torch.randn(8, 4, generator=_g)},
                        "gaussian_kl", hint="dKL/dmu = mu and dKL/dlogvar = (exp(logvar) - 1) / 2.")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5 (4 points): `vae_loss`
# The loss we minimise is the negative ELBO, with a knob $\beta$ on the KL term (§5 studies it; $\beta = 1$ is the
# true negative ELBO):
#
# $$\mathcal{L}(x) = \underbrace{\sum_{j=1}^{784}\mathrm{BCE}(\ell_j, x_j)}_{\text{recon}} \;+\;
#   \beta\,\underbrace{\mathrm{KL}\big(q_\phi(z\mid x)\,\|\,\mathcal{N}(0,I)\big)}_{\text{kl}},
#   \qquad \ell = g_\theta(z),\ z \sim q_\phi(z\mid x).$$
#
# **Reduction (stated once, used everywhere in this lesson):** *sum* over the 784 pixels and over the latent
# dimensions — so that each term is in nats per image — then *mean* over the batch, so the learning rate does not
# depend on the batch size. Return the tuple `(loss, recon, kl)` of three scalars, where `recon` and `kl` are the
# batch means of the two terms **without** $\beta$, and `loss = recon + beta * kl`. `loss` is what training
# backpropagates: both terms must stay in the graph.
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


# %% nbgrader={"grade_id": "test_vae_loss_values", "points": 2}
### BEGIN HIDDEN TESTS
def _ref_vae_loss(x_logits, x, mu, logvar, beta=1.0):
    recon = F.binary_cross_entropy_with_logits(x_logits, x, reduction="none").flatten(1).sum(1).mean()
    kl = _ref_gaussian_kl(mu, logvar).mean()
    return recon + beta * kl, recon, kl


grading.register_reference(vae_loss=_ref_vae_loss)
grading.use_references(globals(), "gaussian_kl")
### END HIDDEN TESTS
grading.require(globals(), gaussian_kl="Exercise 4")
_x = (torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.5).float()
_out = attempt(vae_loss, torch.zeros(2, 1, 28, 28), _x, torch.zeros(2, 4), torch.zeros(2, 4), what="vae_loss")
check_true(isinstance(_out, tuple) and len(_out) == 3, "vae_loss must return the tuple (loss, recon, kl).")
loss, recon, kl = _out
for _name, _value in (("loss", loss), ("recon", recon), ("kl", kl)):
    check_shape(_value, (), f"vae_loss(...) {_name}")
check_close(recon, 784 * math.log(2), "recon for logits 0 (every pixel p = 1/2)",
            hint="Each pixel costs log 2 nats; sum over the 784 pixels, then average over the batch.")
check_close(kl, 0.0, "kl when mu = 0 and logvar = 0")
check_close(loss, recon + kl, "loss when beta = 1")
# mu = 1 in 4 dimensions: kl = 4 * 1/2 = 2 nats; with beta = 3 the loss is 784 log 2 + 3 * 2
_out = vae_loss(torch.zeros(2, 1, 28, 28), _x, torch.ones(2, 4), torch.zeros(2, 4), beta=3.0)
check_close(_out[2], 2.0, "kl for mu = 1 in 4 dimensions (beta = 3)",
            hint="Report kl without beta: beta multiplies it only inside the loss.")
check_close(_out[0], 784 * math.log(2) + 6.0, "loss for beta = 3, recon = 784 log 2, kl = 2",
            hint="loss = recon + beta * kl: beta multiplies the KL term only.")
print("visible checks passed")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(3)
_logits = 4 * torch.randn(8, 1, 28, 28, generator=_g)
_x = (torch.rand(8, 1, 28, 28, generator=_g) > 0.7).float()
_mu, _logvar = torch.randn(8, 5, generator=_g), torch.randn(8, 5, generator=_g)
for _beta in (1.0, 3.0, 0.25):
    _out, _want = vae_loss(_logits, _x, _mu, _logvar, beta=_beta), _ref_vae_loss(_logits, _x, _mu, _logvar, _beta)
    check_close(_out[1], _want[1], f"recon (beta={_beta})", rtol=1e-5,
                hint="Sum BCE-with-logits over pixels, mean over the batch; beta does not touch recon.")
    check_close(_out[2], _want[2], f"kl (beta={_beta})", rtol=1e-5,
                hint="Sum the KL over latent dimensions, mean over the batch; report kl without beta.")
    check_close(_out[0], _want[0], f"loss (beta={_beta})", rtol=1e-5, hint="loss = recon + beta * kl.")
_doubled = vae_loss(torch.cat([_logits, _logits]), torch.cat([_x, _x]), torch.cat([_mu, _mu]),
                    torch.cat([_logvar, _logvar]))
check_close(_doubled[0], _ref_vae_loss(_logits, _x, _mu, _logvar)[0], "loss of a batch repeated twice", rtol=1e-5,
            hint="Average over the batch (not sum), so the loss does not grow with the batch size.")
_sure = torch.full((1, 1, 28, 28), 50.0)  # the model is sure every pixel is white ...
_black = torch.zeros(1, 1, 28, 28)  # ... and every pixel is black: 50 nats each
check_close(vae_loss(_sure, _black, torch.zeros(1, 2), torch.zeros(1, 2))[1], 784 * 50.0,
            "recon for confident wrong logits (+50 on black pixels)", rtol=1e-4,
            hint="Pass logits to binary_cross_entropy_with_logits; sigmoid + binary_cross_entropy saturates.")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_vae_loss_gradients", "points": 2}
### BEGIN HIDDEN TESTS
grading.use_references(globals(), "gaussian_kl")
### END HIDDEN TESTS
grading.require(globals(), gaussian_kl="Exercise 4")
_logits_p = torch.zeros(2, 1, 28, 28, requires_grad=True)
_x = (torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.5).float()
_loss = attempt(vae_loss, _logits_p, _x, torch.zeros(2, 4, requires_grad=True), torch.zeros(2, 4, requires_grad=True),
                what="vae_loss")[0]
check_true(_loss.grad_fn is not None, "the loss carries no gradient (no grad_fn): it was detached, rebuilt from "
           ".item() numbers or computed under torch.no_grad(). Training backpropagates it: return the tensor itself.")
print("visible checks passed")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(8)
_x = (torch.rand(4, 1, 28, 28, generator=_g) > 0.6).float()
_inputs = {"x_logits": 2 * torch.randn(4, 1, 28, 28, generator=_g), "mu": torch.randn(4, 3, generator=_g),
           "logvar": torch.randn(4, 3, generator=_g)}
grading.check_gradients(lambda x_logits, mu, logvar: vae_loss(x_logits, _x, mu, logvar, beta=2.0)[0],
                        lambda x_logits, mu, logvar: _ref_vae_loss(x_logits, _x, mu, logvar, beta=2.0)[0],
                        _inputs, "the loss of vae_loss (beta = 2)",
                        hint="Both terms must reach the loss with their gradients: a detached reconstruction term "
                             "stops the decoder from learning, a detached KL leaves the codes unregularised.")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 6 (4 points): the `VAE` module
# Put the pieces together. `VAE(latent_dim, hidden)` holds `self.encoder = Encoder(latent_dim, hidden)` and
# `self.decoder = Decoder(latent_dim, hidden)` (use these two attribute names: later cells read them), and has
# three methods:
#
# - `encode(x)` returns `(mu, logvar)`; `decode(z)` returns the logits `(N, 1, 28, 28)`;
# - `forward(x, generator=None)`: encode, draw $z$ = `reparameterize(mu, logvar, generator)` (pass `generator`
#   on), decode; return `(x_logits, mu, logvar)`.
#
# Nothing here may be detached: the reconstruction term trains the encoder *through* $z$, the KL term trains it
# through `mu` and `logvar`.

# %% nbgrader={"grade_id": "vae_module", "solution": true}
class VAE(nn.Module):
    """q(z|x) = N(mu(x), diag exp(logvar(x))), p(z) = N(0, I), p(x|z) = Bernoulli(sigmoid(decoder(z)))."""

    def __init__(self, latent_dim=LATENT, hidden=BUDGET.hidden):
        super().__init__()
        self.latent_dim = latent_dim
        ### BEGIN SOLUTION
        self.encoder = Encoder(latent_dim, hidden)  # q_phi(z | x)
        self.decoder = Decoder(latent_dim, hidden)  # p_theta(x | z)
        ### END SOLUTION

    def encode(self, x):
        """x (N, 1, 28, 28) -> mu, logvar, each (N, latent_dim)."""
        ### BEGIN SOLUTION
        return self.encoder(x)  # mu_phi(x), log sigma^2_phi(x)
        ### END SOLUTION

    def decode(self, z):
        """z (N, latent_dim) -> Bernoulli logits (N, 1, 28, 28)."""
        ### BEGIN SOLUTION
        return self.decoder(z)  # l = g_theta(z)
        ### END SOLUTION

    def forward(self, x, generator=None):
        """x -> (x_logits, mu, logvar), decoding one sample z ~ q(z | x)."""
        ### BEGIN SOLUTION
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, generator)  # z = mu + sigma * eps
        return self.decode(z), mu, logvar
        ### END SOLUTION


# %% nbgrader={"grade_id": "test_vae_structure", "points": 1}
### BEGIN HIDDEN TESTS
class _RefVAE(nn.Module):
    def __init__(self, latent_dim=LATENT, hidden=BUDGET.hidden):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = _RefEncoder(latent_dim, hidden)
        self.decoder = _RefDecoder(latent_dim, hidden)

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x, generator=None):
        mu, logvar = self.encoder(x)
        return self.decoder(_ref_reparameterize(mu, logvar, generator)), mu, logvar


grading.register_reference(VAE=_RefVAE)
grading.use_references(globals(), "Encoder", "Decoder", "reparameterize")
### END HIDDEN TESTS
grading.require(globals(), Encoder="Exercise 1", Decoder="Exercise 2", reparameterize="Exercise 3")
torch.manual_seed(0)
_model = attempt(VAE, 3, 32, what="VAE(latent_dim=3, hidden=32)")
check_true(isinstance(getattr(_model, "encoder", None), Encoder) and isinstance(getattr(_model, "decoder", None), Decoder),
           "VAE must hold self.encoder = Encoder(latent_dim, hidden) and self.decoder = Decoder(latent_dim, hidden).")
check_param_count(_model, 26374 + 27056, "VAE(3, 32)", hint="The encoder and the decoder, each once, nothing more.")
_x = (torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(1)) > 0.5).float()
_encoded = attempt(_model.encode, _x, what="VAE.encode")
check_true(isinstance(_encoded, tuple) and len(_encoded) == 2, "VAE.encode must return (mu, logvar).")
check_shape(_encoded[0], (5, 3), "mu from VAE.encode")
check_shape(attempt(_model.decode, torch.zeros(5, 3), what="VAE.decode"), (5, 1, 28, 28), "VAE.decode(z)")
print("visible checks passed")

# %% nbgrader={"grade_id": "test_vae_forward", "points": 2}
### BEGIN HIDDEN TESTS
grading.use_references(globals(), "Encoder", "Decoder", "reparameterize")
### END HIDDEN TESTS
grading.require(globals(), Encoder="Exercise 1", Decoder="Exercise 2", reparameterize="Exercise 3")
torch.manual_seed(0)
_model = attempt(VAE, 3, 32, what="VAE(latent_dim=3, hidden=32)")
_x = (torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(1)) > 0.5).float()
_out = attempt(_model, _x, generator=torch.Generator().manual_seed(4), what="VAE(3, 32)(x, generator)")
check_true(isinstance(_out, tuple) and len(_out) == 3, "forward must return (x_logits, mu, logvar).")
_mu, _logvar = _model.encoder(_x)
check_close(_out[1], _mu, "forward's mu", hint="Return mu and logvar from encode, in that order.")
check_close(_out[2], _logvar, "forward's logvar", hint="Return mu and logvar from encode, in that order.")
if torch.allclose(_out[0], _model.decoder(_mu), atol=1e-6):
    raise grading.CheckFailed("forward decoded the mean mu: decode the sampled z = reparameterize(mu, logvar, "
                              "generator), so that training sees the posterior's noise.")
_z = reparameterize(_mu, _logvar, torch.Generator().manual_seed(4))
check_close(_out[0], _model.decoder(_z), "forward's x_logits for a seeded generator",
            hint="z = reparameterize(mu, logvar, generator) with the generator passed on, then decode z.")
print("visible checks passed")
### BEGIN HIDDEN TESTS
# gradients of a negative ELBO through forward, parameter by parameter, against the reference module
_reference = _RefVAE(3, 32)
try:
    _reference.load_state_dict(_model.state_dict())
except RuntimeError as _error:
    raise grading.CheckFailed("the VAE's parameters are not exactly encoder.* and decoder.*: "
                              f"{str(_error)[:200]}") from None


def _neg_elbo_grads(model):
    model.zero_grad()
    _logits, _m, _lv = model(_x, generator=torch.Generator().manual_seed(6))
    _loss = _ref_vae_loss(_logits, _x, _m, _lv)[0]
    _loss.backward()
    return {n: (p.grad if p.grad is not None else torch.zeros_like(p)) for n, p in model.named_parameters()}


_got, _want = _neg_elbo_grads(_model), _neg_elbo_grads(_reference)
for _name in _want:
    check_close(_got[_name], _want[_name], f"the gradient of the negative ELBO with respect to {_name}",
                hint="Nothing in forward may be detached: z must depend on mu and logvar, and the returned mu and "
                     "logvar must be the encoder's outputs themselves.")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_vae_training", "points": 1}
### BEGIN HIDDEN TESTS
grading.use_references(globals(), "Encoder", "Decoder", "reparameterize")
### END HIDDEN TESTS
grading.require(globals(), Encoder="Exercise 1", Decoder="Exercise 2", reparameterize="Exercise 3")
# 30 seeded Adam steps on one fixed batch of two kinds of image must halve the negative ELBO
torch.manual_seed(0)
_model = attempt(VAE, 4, 64, what="VAE(latent_dim=4, hidden=64)")
_batch = torch.zeros(32, 1, 28, 28)
_batch[:16, :, :, :14] = 1.0  # left half white ...
_batch[16:, :, 14:, :] = 1.0  # ... or bottom half white
_opt = torch.optim.Adam(_model.parameters(), lr=2e-3)
_losses = []
for _step in range(30):
    _logits, _m, _lv = attempt(_model, _batch, generator=torch.Generator().manual_seed(_step), what="VAE forward")
    # -ELBO = sum_j BCE + KL, batch mean (written out here so that this test does not use your vae_loss)
    _loss = (F.binary_cross_entropy_with_logits(_logits, _batch, reduction="sum") / 32
             + (0.5 * (_m**2 + _lv.exp() - 1 - _lv).sum(1)).mean())
    _opt.zero_grad()
    attempt(_loss.backward, what="backpropagating the negative ELBO")
    _opt.step()
    _losses.append(_loss.item())
check_true(_losses[-1] < 0.5 * _losses[0], f"30 training steps should halve the loss; it went {_losses[0]:.1f} -> "
           f"{_losses[-1]:.1f}. Are the encoder heads and the decoder all in the computation?")
print(f"visible checks passed: -ELBO {_losses[0]:.1f} -> {_losses[-1]:.1f} nats in 30 steps")

# %% [markdown]
# ## 3. Training the VAE
# Same loop as the autoencoder; the loss is your `vae_loss` with $\beta = 1$. The live plot shows the negative ELBO
# and its two parts; the panel on the right decodes 16 fixed codes from the prior as training goes.

# %%
FIXED_Z = torch.randn(64, LATENT, generator=torch.Generator().manual_seed(0)).to(device)  # reused in every sample grid


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


# %%
# needs: Encoder (Exercise 1), Decoder (Exercise 2), reparameterize (Exercise 3), gaussian_kl (Exercise 4), vae_loss (Exercise 5), VAE (Exercise 6)
vae = VAE()
vae_history, TRAIN_SECONDS["vae"] = train(vae, vae_step_loss(1.0), BUDGET.vae_steps, "VAE (beta=1)",
                                          ["neg_elbo", "recon", "kl"], preview=lambda: samples(vae, FIXED_Z[:16]))

# %%
# needs: Encoder (Exercise 1), Decoder (Exercise 2), reparameterize (Exercise 3), gaussian_kl (Exercise 4), vae_loss (Exercise 5), VAE (Exercise 6)
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
# needs: Encoder (Exercise 1), Decoder (Exercise 2), reparameterize (Exercise 3), gaussian_kl (Exercise 4), vae_loss (Exercise 5), VAE (Exercise 6)
fig, axes = plt.subplots(1, 2, figsize=(12, 6.5))
show_images(samples(ae, FIXED_Z[:32]), nrow=4, ax=axes[0], title="autoencoder decodes z ~ N(0, I)")
show_images(samples(vae, FIXED_Z[:32]), nrow=4, ax=axes[1], title="VAE decodes the same z")
plt.show()
show_images(samples(vae, FIXED_Z), nrow=16, title="64 VAE samples: sigma(g(z)), z ~ N(0, I) (pixel probabilities)")
plt.show()

# %% [markdown]
# The VAE samples are digits, or at least digit-like strokes (in the `cpu` and `gpu` profiles); the autoencoder's
# are not. We show the *probabilities* $\sigma(\ell)$, the mean of $p_\theta(x\mid z)$, rather than a coin-flip
# draw of each pixel, which would look speckled: the Bernoulli decoder treats pixels as independent given $z$.

# %% [markdown]
# ## 4. A 2-D latent space you can look at
# With $d = 2$ we can draw the whole code space. We train a VAE and, for comparison, an autoencoder with a 2-D code
# (fewer steps; a 2-D code reconstructs less detail, which is expected). The scatter plots place each test digit at
# its code (the VAE's $\mu$), coloured by its class.

# %%
# needs: Encoder (Exercise 1), Decoder (Exercise 2), reparameterize (Exercise 3), gaussian_kl (Exercise 4), vae_loss (Exercise 5), VAE (Exercise 6)
vae2d = VAE(latent_dim=2)
vae2d_history, TRAIN_SECONDS["vae_2d"] = train(vae2d, vae_step_loss(1.0), BUDGET.steps_2d, "VAE, 2-D code",
                                               ["neg_elbo", "recon", "kl"])
ae2d = Autoencoder(latent_dim=2)
ae2d_history, TRAIN_SECONDS["ae_2d"] = train(ae2d, ae_loss, BUDGET.steps_2d, "autoencoder, 2-D code", ["recon"])

# %%
# needs: Encoder (Exercise 1), Decoder (Exercise 2), reparameterize (Exercise 3), gaussian_kl (Exercise 4), vae_loss (Exercise 5), VAE (Exercise 6)
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
# needs: Encoder (Exercise 1), Decoder (Exercise 2), reparameterize (Exercise 3), gaussian_kl (Exercise 4), vae_loss (Exercise 5), VAE (Exercise 6)
n_grid = 15
u = torch.linspace(0.03, 0.97, n_grid)
axis = torch.distributions.Normal(0.0, 1.0).icdf(u)  # z_k = Phi^{-1}(u_k)
grid = torch.stack(torch.meshgrid(axis.flip(0), axis, indexing="ij"), -1).reshape(-1, 2)  # row = z[1], col = z[0]
grid_codes = grid.flip(1).to(device)  # (z[0], z[1])
show_images(samples(vae2d, grid_codes), nrow=n_grid, title="2-D VAE: decoding a grid of codes (z[0] right, z[1] up)")
plt.show()

# %% [markdown]
# **Interpolation.** With the 16-D VAE, take the means of two test digits and decode points on the straight line
# between them, $z(t) = (1-t)\,\mu_a + t\,\mu_b$.

# %%
# needs: Encoder (Exercise 1), Decoder (Exercise 2), reparameterize (Exercise 3), gaussian_kl (Exercise 4), vae_loss (Exercise 5), VAE (Exercise 6)
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
# the image at $z = 0$). Try to find the borders between two digit classes: along a border, the decoded image
# morphs smoothly from one to the other, because the decoder was trained on overlapping code clouds.

# %%
# needs: Encoder (Exercise 1), Decoder (Exercise 2), reparameterize (Exercise 3), gaussian_kl (Exercise 4), vae_loss (Exercise 5), VAE (Exercise 6)
def decode_2d(z):
    return torch.sigmoid(vae2d.decode(z.to(device))).cpu()


latent_slider(decode_2d, 2)

# %% [markdown]
# ## 5. The $\beta$ knob
# Multiplying the KL term by $\beta$ (the $\beta$-VAE of Higgins et al., 2017) changes the price of information in
# the code: every nat the code carries about $x$ costs $\beta$ nats of loss. We call a latent dimension **active**
# when its mean varies across test images, $\mathrm{Var}_x[\mu_k(x)] > 0.01$.
#
# *Is the $\beta$-weighted loss still a bound?* For $\beta \ge 1$, yes: since $\mathrm{KL} \ge 0$,
# $\text{recon} + \beta\,\mathrm{KL} \ge \text{recon} + \mathrm{KL} = -\mathrm{ELBO} \ge -\log p_\theta(x)$ — a
# looser upper bound on the negative log-likelihood. For $\beta < 1$ it is not a bound at all (it can fall below
# $-\log p_\theta(x)$). Whatever $\beta$ a model was *trained* with, its $\beta = 1$ negative ELBO still bounds its
# own $-\log p_\theta(x)$, so that is the number we compare across models — keeping in mind that only the $\beta=1$
# model was trained to make it small.
#
# We train the 16-D VAE again with $\beta = 4$ (with `beta_steps` steps, fewer than the main model in the `cpu`
# and `gpu` profiles, so read the comparison as indicative).

# %%
# needs: Encoder (Exercise 1), Decoder (Exercise 2), reparameterize (Exercise 3), gaussian_kl (Exercise 4), vae_loss (Exercise 5), VAE (Exercise 6)
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
# **Question 3 (2 points).** Compare the two models above with numbers: reconstruction term, KL term, negative
# ELBO and active units. Explain each change from the price argument above (what does the optimiser buy and sell
# when a nat of KL costs four?). Then predict what happens at $\beta = 50$, and name that failure.

# %% [markdown] nbgrader={"grade_id": "q_beta", "points": 2, "solution": true}
# (Numbers depend on the run; a `cpu` run gave: $\beta=1$ recon 77.9, KL 19.5, −ELBO 97.4 nats, 15/16 units
# active; $\beta=4$ recon 121.1, KL 7.0, −ELBO 128.0 nats, 8/16 active.) With $\beta = 4$ each nat of information in the code costs four nats of loss while
# it buys back at most one nat of reconstruction, so the optimiser sells information: the KL falls, the
# reconstruction term rises, reconstructions and samples become blurrier and more "average", and dimensions whose
# information is not worth the price are switched off entirely — $q(z_k\mid x)$ equal to the prior for every $x$
# costs zero KL — so fewer units are active. The $\beta=1$ negative ELBO is worse because that model no longer
# minimises it. At $\beta = 50$ no nat of information is worth its price: KL ≈ 0, every dimension inactive, the
# decoder ignores $z$ and outputs roughly the mean digit: **posterior collapse**.
# Rubric: 1 point for the measured direction of each of recon, KL, −ELBO and active units with the price
# explanation; 1 point for collapse at large β with the reason.

# %% [markdown]
# ## 6. How likely are the test digits? The ELBO, a tighter bound, and a baseline
#
# ### A baseline with nothing to train
# Any likelihood needs a yardstick. The simplest model of binary images treats every pixel as an independent coin
# whose probability is the fraction of training digits where that pixel is white (the *mean image*), smoothed by one
# pseudo-count each way so that no pixel has probability exactly 0 or 1 (Laplace's rule):
#
# $$p_j = \frac{1 + \sum_{n} x^{(n)}_j}{2 + N_{\text{train}}}, \qquad
#   -\log p(x) = -\sum_{j=1}^{784}\big[x_j \log p_j + (1-x_j)\log(1-p_j)\big].$$
#
# Its negative log-likelihood is *exact* (no bound), it has no trained weights, and it knows only "how much ink, and
# where on average". A sanity row below it: $p_j = \tfrac12$ for every pixel — pure coin flips, $784\ln 2 \approx 543$
# nats, exactly 1 bit/dim for every image.

# %%
pixel_p = (train_x.sum(0) + 1) / (len(train_x) + 2)  # p_j = (1 + #white) / (2 + N), shape (1, 28, 28)
NATS_PER_BIT_DIM = 784 * math.log(2)  # nats per image -> bits per pixel


def baseline_nll(x):
    """Exact -log p(x) per image (nats) under independent Bernoulli pixels with the training mean image."""
    return -(x * pixel_p.log() + (1 - x) * (1 - pixel_p).log()).flatten(1).sum(1)


show_images(pixel_p[None].cpu(), nrow=1, title="the baseline's pixel probabilities p_j")
plt.show()
iwae_x = test_x[:BUDGET.iwae_subset] if BUDGET.iwae_subset else test_x  # the images every likelihood below uses
baseline_iwae_x = baseline_nll(iwae_x).mean().item()
print(f"baseline (mean-image pixels): {baseline_iwae_x:.1f} nats = {baseline_iwae_x / NATS_PER_BIT_DIM:.3f} bits/dim"
      f" on {len(iwae_x)} test digits;  coin flips: {NATS_PER_BIT_DIM:.1f} nats = 1.000 bits/dim")

# %% [markdown]
# ### The importance-weighted bound (IWAE), derived
# The ELBO applied Jensen's inequality to $\log\mathbb{E}_q[w]$ with **one** importance weight
# $w = p_\theta(x\mid z)\,p(z)/q_\phi(z\mid x)$. Average $k$ independent weights first, $z_1, \dots, z_k \sim q_\phi(z\mid x)$:
#
# $$\mathcal{L}_k(x) = \mathbb{E}\Big[\log \frac1k\sum_{i=1}^{k} w_i\Big] \;\le\; \log \mathbb{E}\Big[\frac1k\sum_i w_i\Big]
#   = \log p_\theta(x).$$
#
# (Jensen once more; the inner average has the same expectation $p_\theta(x)$ as one weight.) $\mathcal{L}_1$ is the
# ELBO, the bound tightens as $k$ grows ($\mathcal{L}_k \le \mathcal{L}_{k+1}$, Burda et al. 2016), and since the
# average of $k$ weights concentrates around its mean, $\mathcal{L}_k \to \log p_\theta(x)$ as $k \to \infty$. We
# estimate $\mathcal{L}_k$ with one draw of the $k$ samples.
#
# **In log space.** Each $\log w_i = \log p_\theta(x\mid z_i) + \log p(z_i) - \log q_\phi(z_i\mid x)$ is a few
# hundred nats below zero, and $e^{-300}$ is $0$ in float32, so never form $w_i$. Use
#
# $$\log\frac1k\sum_i e^{\log w_i} = \operatorname{logsumexp}_i(\log w_i) - \log k,\qquad
#   \operatorname{logsumexp}(a) = \max a + \log\sum_i e^{a_i - \max a}$$
#
# (`torch.logsumexp`). The Gaussian log densities are given:

# %%
def log_normal_diag(z, mu, logvar):
    """log N(z; mu, diag exp(logvar)), summed over the last dimension (nats)."""
    # log N = -1/2 sum_k [log(2 pi) + log sigma_k^2 + (z_k - mu_k)^2 / sigma_k^2]
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu).pow(2) * torch.exp(-logvar)).sum(-1)


# %% [markdown]
# ### Exercise 7 (3 points): `iwae_bound`
# Return $\mathcal{L}_k(x)$ for each image: a tensor `(N,)` in nats (a *lower* bound on $\log p_\theta(x)$, so a
# negative number). Work in evaluation mode under `torch.no_grad()`. Steps:
#
# 1. `mu, logvar = model.encode(x)`, each `(N, d)`;
# 2. all $k$ samples at once: `z = reparameterize(mu.expand(k, *mu.shape), logvar.expand(k, *logvar.shape), generator)`,
#    shape `(k, N, d)` (this one call fixes which random numbers are used, so the tests can check exact values);
# 3. decode `z.flatten(0, 1)` and reshape the logits to `(k, N, 1, 28, 28)`; $\log p_\theta(x\mid z_i)$ is **minus**
#    the BCE summed over pixels;
# 4. $\log w_i = \log p_\theta(x\mid z_i) + \log\mathcal{N}(z_i; 0, I) - \log\mathcal{N}(z_i; \mu, \sigma^2)$,
#    shape `(k, N)`, with `log_normal_diag`;
# 5. `logsumexp` over the $k$ samples, minus $\log k$.

# %% nbgrader={"grade_id": "iwae_bound", "solution": true}
def iwae_bound(model, x, k, generator=None):
    """The importance-weighted lower bound L_k on log p(x), per image: (N,) in nats."""
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(x)  # q(z | x) = N(mu, diag sigma^2)
        mu_k, logvar_k = mu.expand(k, *mu.shape), logvar.expand(k, *logvar.shape)
        z = reparameterize(mu_k, logvar_k, generator)  # z_i ~ q(z | x), shape (k, N, d)
        x_logits = model.decode(z.flatten(0, 1)).view(k, *x.shape)
        # log p(x | z_i) = -sum_j BCE(l_j(z_i), x_j), shape (k, N)
        log_px_z = -F.binary_cross_entropy_with_logits(x_logits, x.expand(k, *x.shape), reduction="none").flatten(2).sum(2)
        # log w_i = log p(x | z_i) + log p(z_i) - log q(z_i | x)
        log_w = log_px_z + log_normal_diag(z, torch.zeros_like(z), torch.zeros_like(z)) - log_normal_diag(z, mu_k, logvar_k)
        return torch.logsumexp(log_w, dim=0) - math.log(k)  # L_k = log (1/k) sum_i w_i
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_iwae_bound_values", "points": 2}
### BEGIN HIDDEN TESTS
def _ref_iwae_bound(model, x, k, generator=None):
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(x)
        mu_k, logvar_k = mu.expand(k, *mu.shape), logvar.expand(k, *logvar.shape)
        z = _ref_reparameterize(mu_k, logvar_k, generator)
        logits = model.decode(z.flatten(0, 1)).view(k, *x.shape)
        log_px_z = -F.binary_cross_entropy_with_logits(logits, x.expand(k, *x.shape), reduction="none").flatten(2).sum(2)
        log_w = log_px_z + log_normal_diag(z, 0 * z, 0 * z) - log_normal_diag(z, mu_k, logvar_k)
        return torch.logsumexp(log_w, 0) - math.log(k)


grading.register_reference(iwae_bound=_ref_iwae_bound)
grading.use_references(globals(), "reparameterize")
### END HIDDEN TESTS
grading.require(globals(), reparameterize="Exercise 3")


class FixedVAE(nn.Module):
    """A stand-in with numbers you can check by hand: q(z|x) = N(mu, diag exp(logvar)) for every image, and
    decoder logits z[0] * pattern (one logit per pixel)."""

    def __init__(self, mu, logvar, pattern):
        super().__init__()
        self.mu, self.logvar, self.pattern = torch.tensor(mu), torch.tensor(logvar), pattern.flatten()

    def encode(self, x):
        return self.mu.expand(len(x), -1), self.logvar.expand(len(x), -1)

    def decode(self, z):
        return (z[:, :1] * self.pattern).view(-1, 1, 28, 28)


_x = torch.stack([(torch.linspace(-3, 3, 784) > 0).float().view(1, 28, 28),
                  (torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.5).float()])
# q = prior and a decoder that ignores z: every weight is p(x | z) = 2^-784, so L_k = -784 log 2 for every k
_flat = FixedVAE([0.0, 0.0], [0.0, 0.0], torch.zeros(784))
for _k in (1, 10):
    _bound = attempt(iwae_bound, _flat, _x, _k, torch.Generator().manual_seed(0), what=f"iwae_bound(..., k={_k})")
    check_shape(_bound, (2,), f"iwae_bound for 2 images, k={_k}")
    check_finite(_bound, f"iwae_bound (k={_k})")
    check_close(_bound, torch.full((2,), -784 * math.log(2)), f"L_{_k} when every weight is 2^-784", rtol=1e-5,
                hint="logsumexp of k equal numbers a is a + log k: subtract log k (the 1/k of the average). The bound "
                     "is log p(x) (negative), not -log p(x).")
# a stand-in whose weights vary: stored values of L_16 with generator seed 0 (and of the mean of the log weights)
_varying = FixedVAE([0.5, -0.2], [math.log(0.25), 0.0], torch.linspace(-3, 3, 784))
_bound = attempt(iwae_bound, _varying, _x, 16, torch.Generator().manual_seed(0), what="iwae_bound(..., k=16)")
check_finite(_bound, "iwae_bound (k=16)")
if torch.allclose(_bound, torch.tensor([-368.20691, -683.75757]), rtol=1e-4):
    raise grading.CheckFailed("iwae_bound returned the mean of the log weights, which is the (one-sample) ELBO "
                              "averaged over k: the IWAE bound is log of the MEAN WEIGHT: logsumexp(log_w) - log k.")
check_close(_bound, torch.tensor([-176.60283, -561.36627]), "L_16 of the varying stand-in (generator seed 0)", rtol=1e-4,
            hint="log w = log p(x|z) + log N(z; 0, I) - log N(z; mu, sigma^2) with log p(x|z) = -sum BCE; "
                 "draw z with one reparameterize call on mu.expand(k, ...), logvar.expand(k, ...).")
print("visible checks passed")
### BEGIN HIDDEN TESTS
class _Linear2VAE(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.enc, self.dec = nn.Linear(784, 6), nn.Linear(3, 784)

    def encode(self, x):
        h = self.enc(x.flatten(1))
        return h[:, :3], h[:, 3:]

    def decode(self, z):
        return self.dec(z).view(-1, 1, 28, 28)


_stub = _Linear2VAE()
_xs = (torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(4)) > 0.5).float()
check_close(iwae_bound(_stub, _xs, 7, torch.Generator().manual_seed(2)),
            _ref_iwae_bound(_stub, _xs, 7, torch.Generator().manual_seed(2)), "L_7 of a linear stand-in", rtol=1e-4)
check_shape(iwae_bound(_stub, _xs[3:4], 7, torch.Generator().manual_seed(2)), (1,), "L_7 of one image scored alone")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_iwae_bound_mode", "points": 1}
### BEGIN HIDDEN TESTS
grading.use_references(globals(), "reparameterize")
### END HIDDEN TESTS
grading.require(globals(), reparameterize="Exercise 3")


class _DropoutVAE(FixedVAE):
    def __init__(self):
        super().__init__([0.5, -0.2], [math.log(0.25), 0.0], torch.linspace(-3, 3, 784))
        self.drop = nn.Dropout(0.5)  # only active in training mode
        self.scale = nn.Parameter(torch.ones(()))

    def decode(self, z):
        return self.scale * self.drop(super().decode(z))


_model = _DropoutVAE().train()
_x = (torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(1)) > 0.5).float()
_bound = attempt(iwae_bound, _model, _x, 8, torch.Generator().manual_seed(0), what="iwae_bound")
check_true(not _model.training, "iwae_bound must put the model in evaluation mode (model.eval()).")
check_true(not _bound.requires_grad, "compute the bound under torch.no_grad(): it is an evaluation, not a loss.")
print("visible checks passed")
### BEGIN HIDDEN TESTS
_model.eval()
check_close(_bound, _ref_iwae_bound(_model, _x, 8, torch.Generator().manual_seed(0)), "L_8 in evaluation mode",
            rtol=1e-4)
### END HIDDEN TESTS

# %% [markdown]
# ### The numbers
# The bounds of the 16-D VAE on the same test digits as the baseline, in nats per image and bits per dimension.
# `iwae_nll` calls your `iwae_bound` on chunks of images so that the $k$ decodes of a chunk fit in memory.

# %%
def iwae_nll(model, x, k, seed=0):
    """-L_k per image (nats): an upper bound on -log p(x), computed in chunks of images."""
    generator = torch.Generator().manual_seed(seed)
    chunk = max(1, 20000 // k)
    return torch.cat([-iwae_bound(model, part, k, generator) for part in x.split(chunk)])


# %%
# needs: Encoder (Exercise 1), Decoder (Exercise 2), reparameterize (Exercise 3), gaussian_kl (Exercise 4), vae_loss (Exercise 5), VAE (Exercise 6), iwae_bound (Exercise 7)
start = time.time()
vae_neg_elbo = summarise(vae, iwae_x)["neg_elbo"]  # one sample of z per image, analytic KL
vae_iwae = iwae_nll(vae, iwae_x, BUDGET.iwae_k).mean().item()
print(f"on {len(iwae_x)} MNIST test digits ({time.time() - start:.1f} s):")
for name, nats in (("VAE -ELBO (k = 1)", vae_neg_elbo), (f"VAE -IWAE bound (k = {BUDGET.iwae_k})", vae_iwae),
                   ("baseline: mean-image pixels (exact)", baseline_iwae_x), ("sanity: coin flips (exact)",
                                                                              NATS_PER_BIT_DIM)):
    print(f"  {name:38s} {nats:7.1f} nats  {nats / NATS_PER_BIT_DIM:6.3f} bits/dim")
if BUDGET.profile == "smoke":
    print("(smoke profile: the VAE trained a few dozen steps; its numbers are not meaningful)")

# %% [markdown]
# **How the bound tightens with $k$.** The cell below evaluates $-\mathcal{L}_k$ for growing $k$ on a few test
# digits for the model named in `experiment_model`.

# %%
# needs: Encoder (Exercise 1), Decoder (Exercise 2), reparameterize (Exercise 3), gaussian_kl (Exercise 4), vae_loss (Exercise 5), VAE (Exercise 6), iwae_bound (Exercise 7)
experiment_model, experiment_name = vae, "16-D VAE, beta = 1"  # change me (Question 4): vae2d, vae_beta4
few = iwae_x[:200]
ks = sorted({1, 4, 16, 64, BUDGET.iwae_k})
bounds = [iwae_nll(experiment_model, few, k, seed=1).mean().item() for k in ks]
for k, nats in zip(ks, bounds):
    print(f"{experiment_name}: -L_{k:<5d} {nats:7.2f} nats  {nats / NATS_PER_BIT_DIM:.4f} bits/dim")
print(f"gain from k = 1 to k = {ks[-1]}: {bounds[0] - bounds[-1]:.2f} nats per image")
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(ks, bounds, "o-")
ax.set_xscale("log", base=2)
ax.set_xlabel("k (importance samples)")
ax.set_ylabel("-L_k (nats per image)")
ax.set_title(f"{experiment_name}: the bound tightens with k")
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# **Question 4 — experiment (2 points).** (a) Report the gain $\mathcal{L}_{k_{\max}} - \mathcal{L}_1$ for the
# $\beta=1$ model. (b) Set `experiment_model, experiment_name = vae2d, "2-D VAE"`, run the cell again and report
# the gain; then do the same with `vae_beta4`. (c) The gain is (a lower estimate of) the gap between the ELBO and
# $\log p_\theta(x)$. Which term of the derivation in §2 is that gap, and why is it larger for one model than for
# the others? Is the model with the largest gap the worst model?

# %% [markdown] nbgrader={"grade_id": "q_iwae_experiment", "points": 2, "solution": true}
# (Measured in a `cpu` run on 200 test digits, $k_{\max} = 256$: $\beta=1$ gain ≈ 5.3 nats (95.4 → 90.1);
# 2-D VAE ≈ 2.4 nats (151.5 → 149.1); $\beta = 4$ ≈ 9.4 nats (127.2 → 117.8). Quote your own.) The gap is
# $\log p_\theta(x) - \mathrm{ELBO}(x) = \mathrm{KL}\big(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x)\big)$: how far the
# Gaussian encoder is from the decoder's true posterior (the IWAE gain only bounds it from below, since
# $\mathcal{L}_{k_{\max}}$ is still below $\log p_\theta(x)$). The $\beta=4$ model has the largest gap because its
# encoder was never trained to match the posterior: it minimised recon $+ 4\,$KL, which pulls $q$ towards the prior,
# wider than the posterior of its own decoder, so many samples from $q$ explain $x$ badly and the importance
# weights vary a lot. The 2-D model has the smallest gap: a 2-D posterior is easy to approximate by a Gaussian,
# and there are only two dimensions in which to be wrong. The largest gap does not mean the worst model: the
# gap measures the *encoder's* approximation; the model's quality is $-\log p_\theta(x)$ itself (≈ 90 nats for
# $\beta=1$, ≈ 118 for $\beta=4$, ≈ 149 for 2-D), and there the 2-D model, with the smallest gap, is worst.
# Rubric: 1 point for the three measured gains and naming the gap KL(q || true posterior); 1 point for the
# explanation (β pushes q off the posterior; 2-D is easy to fit) and "gap ≠ model quality".

# %% [markdown]
# ## 7. Application: anomaly detection
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
# ### Exercise 8 (3 points): `anomaly_scores`
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


# %% nbgrader={"grade_id": "test_anomaly_scores_interface", "points": 1}
### BEGIN HIDDEN TESTS
def _ref_anomaly_scores(model, x, generator=None):
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(x)
        recon = F.binary_cross_entropy_with_logits(model.decode(mu), x, reduction="none").flatten(1).sum(1)
        z = _ref_reparameterize(mu, logvar, generator)
        at_z = F.binary_cross_entropy_with_logits(model.decode(z), x, reduction="none").flatten(1).sum(1)
        return recon, at_z + _ref_gaussian_kl(mu, logvar)


grading.register_reference(anomaly_scores=_ref_anomaly_scores)
grading.use_references(globals(), "reparameterize", "gaussian_kl")
### END HIDDEN TESTS
grading.require(globals(), reparameterize="Exercise 3", gaussian_kl="Exercise 4")


class TinyVAE(nn.Module):
    """A stand-in with the VAE's interface (2-D code), so that this test does not depend on Exercise 6."""

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
_scores = attempt(anomaly_scores, _stub, _x, generator=torch.Generator().manual_seed(0), what="anomaly_scores")
check_true(isinstance(_scores, tuple) and len(_scores) == 2, "anomaly_scores must return (recon_error, neg_elbo).")
check_shape(_scores[0], (6,), "recon_error")
check_shape(_scores[1], (6,), "neg_elbo")
check_true(not _stub.training, "anomaly_scores must put the model in evaluation mode (model.eval()).")
check_true(not _scores[0].requires_grad and not _scores[1].requires_grad,
           "compute the scores under torch.no_grad(); they should not carry gradients.")
check_true(bool((_scores[0] > 0).all()), "scores are negative log-likelihoods in nats: positive, higher = more anomalous.")
print("visible checks passed")

# %% nbgrader={"grade_id": "test_anomaly_scores_values", "points": 2}
### BEGIN HIDDEN TESTS
grading.use_references(globals(), "reparameterize", "gaussian_kl")
### END HIDDEN TESTS
grading.require(globals(), reparameterize="Exercise 3", gaussian_kl="Exercise 4")
_stub = TinyVAE().eval()
_x = (torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.5).float()
_recon, _neg_elbo = attempt(anomaly_scores, _stub, _x, generator=torch.Generator().manual_seed(9), what="anomaly_scores")
with torch.no_grad():
    _mu, _logvar = _stub.encode(_x)
    # recon_error = sum_j BCE(decode(mu)_j, x_j), per image
    _expected_recon = F.binary_cross_entropy_with_logits(_stub.decode(_mu), _x, reduction="none").sum((1, 2, 3))
check_close(_recon, _expected_recon, "recon_error", rtol=1e-5,
            hint="Sum BCE-with-logits over the pixels of decode(mu) (the mean code, no sampling), per image.")
check_true(bool((_neg_elbo > _recon - 50).all()) and bool((_neg_elbo > 0).all()),
           "neg_elbo should be a positive number of nats of the same size as recon_error: the BCE at a sampled z "
           "PLUS the KL (which is never negative).")
print("visible checks passed")
### BEGIN HIDDEN TESTS
_want = _ref_anomaly_scores(_stub, _x, generator=torch.Generator().manual_seed(9))
check_close(_neg_elbo, _want[1], "neg_elbo", rtol=1e-5,
            hint="BCE summed over pixels of decode(z) for one sample z, plus the KL, per image.")
_alone = anomaly_scores(_stub, _x[2:3], generator=torch.Generator().manual_seed(9))[0]
check_close(_alone, _expected_recon[2:3], "recon_error of one image scored alone", rtol=1e-5,
            hint="Each image's score must not depend on the other images in the batch.")
### END HIDDEN TESTS

# %% [markdown]
# Scores for the MNIST test set (normal) and the Fashion-MNIST test set (anomalous), from the 16-D VAE, beside the
# baseline's exact $-\log p(x)$ used as a score, and two sanity rows: a score that is the same for every image
# (coin flips: AUC exactly 0.5), and images of pure noise (random pixels) scored as the anomalies.

# %%
# needs: Encoder (Exercise 1), Decoder (Exercise 2), reparameterize (Exercise 3), gaussian_kl (Exercise 4), vae_loss (Exercise 5), VAE (Exercise 6), anomaly_scores (Exercise 8)
recon_mnist, elbo_mnist = anomaly_scores(vae, test_x, generator=torch.Generator().manual_seed(0))
recon_fashion, elbo_fashion = anomaly_scores(vae, fashion_x, generator=torch.Generator().manual_seed(1))
noise_x = (torch.rand(len(test_x), 1, 28, 28, generator=torch.Generator().manual_seed(2)) > 0.5).float().to(device)
elbo_noise = anomaly_scores(vae, noise_x, generator=torch.Generator().manual_seed(3))[1]
AUC = {
    "vae_recon": roc_auc(recon_mnist, recon_fashion),
    "vae_neg_elbo": roc_auc(elbo_mnist, elbo_fashion),
    "baseline": roc_auc(baseline_nll(test_x), baseline_nll(fashion_x)),
    "constant_score": roc_auc(torch.zeros(len(test_x)), torch.zeros(len(fashion_x))),
    "vae_neg_elbo_noise": roc_auc(elbo_mnist, elbo_noise),
}
test_neg_elbo = elbo_mnist.mean().item()
print(f"MNIST test -ELBO {test_neg_elbo:.1f} nats per image; Fashion-MNIST {elbo_fashion.mean().item():.1f}; "
      f"random-pixel noise {elbo_noise.mean().item():.1f}")
print("ROC AUC, MNIST vs Fashion-MNIST:")
for name, key in (("VAE reconstruction error", "vae_recon"), ("VAE negative ELBO", "vae_neg_elbo"),
                  ("baseline: mean-image pixels, exact -log p(x)", "baseline"),
                  ("sanity: the same score for every image", "constant_score")):
    print(f"  {name:46s} {AUC[key]:.4f}")
print(f"sanity: VAE negative ELBO, MNIST vs random-pixel noise: {AUC['vae_neg_elbo_noise']:.4f}")

fig, axes = plt.subplots(1, 3, figsize=(16, 3.8))
for ax, normal, anomalous, name, auc in (
        (axes[0], recon_mnist, recon_fashion, "VAE reconstruction error", AUC["vae_recon"]),
        (axes[1], elbo_mnist, elbo_fashion, "VAE negative ELBO", AUC["vae_neg_elbo"]),
        (axes[2], baseline_nll(test_x), baseline_nll(fashion_x), "baseline -log p(x)", AUC["baseline"])):
    both = torch.cat([normal, anomalous]).cpu()
    bins = torch.logspace(both.min().clamp_min(1.0).log10().item(), both.max().log10().item(), 80).numpy()
    ax.hist(normal.cpu().numpy(), bins=bins, alpha=0.6, density=True, label="MNIST test (normal)")
    ax.hist(anomalous.cpu().numpy(), bins=bins, alpha=0.6, density=True, label="Fashion-MNIST test (anomalous)")
    ax.set_title(f"{name}: ROC AUC {auc:.3f}")
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(plt.NullFormatter())  # a narrow log range labels its minor ticks: too crowded
    ax.set_xlabel("nats per image (log scale)")
    ax.legend(fontsize=7)
plt.show()
worst = torch.cat([test_x[elbo_mnist.argsort(descending=True)[:8]], fashion_x[elbo_fashion.argsort()[:8]]])
show_images(worst, nrow=8, title="most anomalous MNIST digits (top) and most 'digit-like' Fashion-MNIST items (bottom)")
plt.show()

# %% [markdown]
# **Question 5 (2 points).** The baseline has no trained weights and already separates clothes from digits well.
# What does it actually measure, and what does the VAE's score add to it? Use your AUCs (VAE and baseline) and the
# bottom row above: which Fashion-MNIST images fool the VAE, and would they fool the baseline too?

# %% [markdown] nbgrader={"grade_id": "q_anomaly", "points": 2, "solution": true}
# (A `cpu` run: VAE AUC 0.983 (reconstruction) and 0.981 (−ELBO), baseline 0.957; quote your own.)
# The baseline scores how much ink an image has and where: clothes cover far more pixels than digits, and every
# white pixel where digits are rarely white costs many nats, so most garments are already unlikely. That explains
# most of the separation; the VAE adds the last few points of AUC because it knows the *shape* of strokes (which
# combinations of pixels go together), so it also flags images with a digit-like amount of ink in non-digit
# arrangements (sandals, thin straps, outlines). The images that fool the VAE are (almost) empty after
# thresholding: dark garments whose grey levels stay below 0.5, leaving a few white pixels. An almost black image
# is cheap for any model whose pixels are mostly black — it fools the baseline even more, since "little ink" is
# all the baseline can see. Likelihood measures how *easy* an image is to encode, not whether it belongs to the
# training class (see Nalisnick et al. in "Going further").
# Rubric: 1 point for "the baseline measures ink amount/position, which explains most of the AUC; the VAE adds
# shape/structure (the AUC difference quoted)"; 1 point for "near-empty garments fool both, because low ink is
# cheap under both models".

# %% [markdown]
# ## Going further
# - **VQ-VAE** (van den Oord et al., 2017): a *discrete* code from a learned codebook, trained with a
#   straight-through gradient; with a learned prior over codes it gives much sharper images and is the tokenizer
#   behind many later image generators.
# - **Hierarchical VAEs** (Ladder VAE; NVAE, Vahdat & Kautz 2020; VDVAE, Child 2021): many layers of latent
#   variables, from coarse to fine, close much of the quality gap to other generative models.
# - **Training with the IWAE bound** (Burda et al., 2016) instead of evaluating with it: a tighter objective that
#   keeps more latent units active; its gradient estimator for the encoder gets worse as $k$ grows (Rainforth et
#   al., 2018), which doubly-reparameterised gradients (Tucker et al., 2019) fix.
# - **Posterior collapse** with powerful decoders (PixelCNN or autoregressive decoders can model $x$ without $z$):
#   remedies include KL annealing / warm-up, free bits, and $\delta$-VAE.
# - **Better decoders and likelihoods** for grey-level images: discretized logistic mixtures instead of
#   Bernoulli pixels; convolutional encoders and decoders instead of our MLPs.
# - **Richer posteriors**: normalizing flows on $q(z\mid x)$ (Rezende & Mohamed 2015; IAF, Kingma et al. 2016)
#   shrink the ELBO gap that Question 4 measured.
# - **Disentanglement**: $\beta$-VAE, FactorVAE and $\beta$-TCVAE, and the cautionary study of Locatello et al. (2019).
# - **Likelihood-based anomaly detection can fail**: Nalisnick et al. (2019), "Do deep generative models know what
#   they don't know?" — try training on Fashion-MNIST and scoring MNIST.

# %% [markdown]
# ## Results
# What this run reached, beside the zero-parameter baseline and the sanity rows. Likelihoods are on the same
# `iwae_subset` MNIST test digits (thresholded at 0.5; not comparable with papers that use dynamic binarization);
# AUCs on the whole evaluation sets. Lower nats are better; higher AUC is better.

# %%
# needs: Encoder (Exercise 1), Decoder (Exercise 2), reparameterize (Exercise 3), gaussian_kl (Exercise 4), vae_loss (Exercise 5), VAE (Exercise 6), iwae_bound (Exercise 7), anomaly_scores (Exercise 8)
meaningful = BUDGET.profile != "smoke"
note = "" if meaningful else "   (smoke profile: not meaningful)"
rows = [
    ("VAE, -ELBO (1 sample)", vae_neg_elbo, AUC["vae_neg_elbo"]),
    (f"VAE, -IWAE bound (k = {BUDGET.iwae_k})", vae_iwae, None),
    ("VAE, reconstruction error", None, AUC["vae_recon"]),
    ("baseline: mean-image pixels (exact)", baseline_iwae_x, AUC["baseline"]),
    ("sanity: coin flips p = 1/2 (exact)", NATS_PER_BIT_DIM, AUC["constant_score"]),
]
print(f"{'model':40s} {'nats/image':>10s} {'bits/dim':>9s} {'ROC AUC':>8s}   (n = {len(iwae_x)} for likelihoods)")
for name, nats, auc in rows:
    nats_text = f"{nats:10.1f} {nats / NATS_PER_BIT_DIM:9.3f}" if nats is not None else f"{'':10s} {'':9s}"
    auc_text = f"{auc:8.4f}" if auc is not None else " " * 8
    print(f"{name:40s} {nats_text} {auc_text}{note if name.startswith('VAE') else ''}")
results_table("01_autoencoders_vae", {
    "data": "stand-in (not real MNIST)" if mnist_train.is_standin or fashion_test.is_standin else "MNIST / Fashion-MNIST",
    "quality": "measured" if meaningful else "not meaningful (smoke profile)",
    "vae_neg_elbo_nats": round(vae_neg_elbo, 2),
    "vae_iwae_nats": round(vae_iwae, 2),
    "vae_iwae_bits_per_dim": round(vae_iwae / NATS_PER_BIT_DIM, 4),
    "iwae_k": BUDGET.iwae_k,
    "baseline_nats": round(baseline_iwae_x, 2),
    "baseline_bits_per_dim": round(baseline_iwae_x / NATS_PER_BIT_DIM, 4),
    "coin_flip_nats": round(NATS_PER_BIT_DIM, 2),
    "likelihood_n": len(iwae_x),
    "roc_auc_vae_elbo": round(AUC["vae_neg_elbo"], 4),
    "roc_auc_vae_recon": round(AUC["vae_recon"], 4),
    "roc_auc_baseline": round(AUC["baseline"], 4),
    "roc_auc_constant": round(AUC["constant_score"], 4),
    "roc_auc_vae_vs_noise": round(AUC["vae_neg_elbo_noise"], 4),
    "train_seconds_vae": round(TRAIN_SECONDS["vae"], 1),
    "train_seconds_all": round(sum(TRAIN_SECONDS.values()), 1),
    "vae_steps": BUDGET.vae_steps,
})
