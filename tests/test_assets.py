import shutil

import pytest
import torch

from genlab import assets, data, metrics


# Fashion-MNIST has genuinely ambiguous classes (shirt / T-shirt / pullover): its judge is 90 % accurate, and
# confident on fewer real images than the digit judge, which must stay confident on >= 95 % of real digits. The
# CIFAR-10 judge (>= 80 % on the JPEG test set) is confident on about half of the real test images.
@pytest.mark.parametrize("name,accuracy,real_confident", [("mnist_classifier", 0.99, 0.95), ("fashion_classifier", 0.90, 0.6),
                                                          ("cifar_classifier", 0.80, 0.4)])
def test_manifest_describes_each_judge(name, accuracy, real_confident):
    entry = assets.manifest()[name]
    path = assets.asset_path(name)  # checks the sha256
    assert path.stat().st_size <= 2_000_000 and entry["bytes"] == path.stat().st_size  # judges stay small
    assert entry["test_accuracy"] >= accuracy
    assert {"command", "seed", "data", "recipe", "noise_rejection"} <= set(entry)
    figures = entry["noise_rejection"]
    assert figures["real_test_confident"] >= real_confident, figures
    for junk in ("uniform_noise_confident", "blobs_confident", "speckle20_confident"):
        assert figures[junk] < 0.05, (junk, figures)


@pytest.mark.parametrize("load,shape", [(assets.load_mnist_classifier, (1, 28, 28)),
                                        (assets.load_fashion_classifier, (1, 28, 28)),
                                        (assets.load_cifar_classifier, (3, 32, 32))])
def test_judges_load_frozen_in_eval_mode(load, shape):
    model = load()
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    x = torch.rand(3, *shape)
    assert model(x).shape == (3, 10) and model.features(x).shape == (3, 128)
    with pytest.raises(ValueError, match="channel"):
        model(torch.rand(3, 4 - shape[0], *shape[1:]))  # grey images to the colour judge, or colour to a grey one


@pytest.mark.parametrize("load,dataset", [(assets.load_mnist_classifier, "MNIST"),
                                          (assets.load_fashion_classifier, "FashionMNIST"),
                                          (assets.load_cifar_classifier, "CIFAR10")])
def test_judges_reject_fresh_noise_blobs_and_speckle(load, dataset):
    """The manifest's figures, re-measured on seeds the training script never used."""
    model = load()
    generator = torch.Generator().manual_seed(2026)
    real = data.load(dataset, "test").images[:500]
    for kind in metrics.SANITY_KINDS:
        junk = metrics.sanity_images(kind, 500, generator, real=real)
        assert metrics.classifier_report(model, junk)["confident"] < 0.05, kind


def test_a_modified_asset_is_refused(tmp_path, monkeypatch):
    copy = tmp_path / "assets"
    shutil.copytree(assets.ASSET_DIR, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    weights = copy / "mnist_classifier.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    monkeypatch.setattr(assets, "ASSET_DIR", copy)
    monkeypatch.setattr(assets, "MANIFEST", copy / "manifest.json")
    with pytest.raises(RuntimeError, match="does not match the sha256"):
        assets.load_mnist_classifier()


@pytest.mark.real_mnist
def test_digit_judge_accuracy_and_confidence_on_real_mnist_test():
    test = data.load("MNIST", "test")
    model = assets.load_mnist_classifier()
    with torch.no_grad():
        predictions = torch.cat([model(chunk).argmax(1) for chunk in test.images.split(2000)])
    accuracy = (predictions == test.labels).float().mean().item()
    assert accuracy >= 0.99, accuracy
    assert metrics.classifier_report(model, test.images)["confident"] >= 0.95


SHIPPED_STATISTICS = sorted(name for name in assets.STATISTICS if f"inception_{name}" in assets.manifest())


def test_every_dataset_has_reference_statistics():
    """MNIST, Fashion-MNIST and CIFAR-10 each ship Inception statistics, and each file is on disk (the manifest alone
    does not make an asset: an earlier commit claimed files that were never written)."""
    assert SHIPPED_STATISTICS == sorted(assets.STATISTICS) == ["cifar10", "fashion", "mnist"]
    for name in SHIPPED_STATISTICS:
        assert (assets.ASSET_DIR / assets.statistics_file(name)).is_file(), name


@pytest.mark.parametrize("name", SHIPPED_STATISTICS)
def test_reference_statistics_match_their_manifest(name):
    """Each Inception statistics asset: sha256 checked on load, small, the manifest says where it came from, and the
    unpacked covariance is a symmetric PSD 2048 x 2048 float64 matrix of the rank its n allows."""
    mean, cov, entry = assets.load_statistics(name)
    path = assets.ASSET_DIR / entry["file"]
    assert path.stat().st_size == entry["bytes"] < 10_000_000
    assert {"dataset", "split", "n", "data_sha256", "command", "seconds", "preprocessing"} <= set(entry)
    assert entry["dataset"] == assets.STATISTICS[name] and entry["split"] == "train" and entry["n"] >= 1000
    assert mean.shape == (2048,) and cov.shape == (2048, 2048) and cov.dtype == torch.float64
    assert torch.equal(cov, cov.T) and (mean >= 0).all()  # features follow a ReLU
    assert entry["real_vs_real"]["relative_change_from_float32"] < 1e-5
    if name == "cifar10":
        assert "JPEG" in entry["data"] and "NOT comparable" in entry["data"]


def test_statistics_packing_round_trips():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(40, 6, generator=generator, dtype=torch.float64)
    mean, cov = features.mean(0), torch.cov(features.T)
    unpacked_mean, unpacked_cov = assets.unpack_statistics(assets.pack_statistics(mean, cov))
    assert torch.equal(unpacked_mean, mean)
    assert torch.allclose(unpacked_cov, cov, rtol=1e-6) and torch.equal(unpacked_cov, unpacked_cov.T)


def test_a_modified_statistics_file_is_refused(tmp_path, monkeypatch):
    entry = assets.manifest()["inception_mnist"]
    copy = tmp_path / entry["file"]
    shutil.copy(assets.ASSET_DIR / entry["file"], copy)
    with open(copy, "r+b") as handle:
        handle.seek(-8, 2)
        handle.write(b"\x00" * 8)
    monkeypatch.setattr(assets, "ASSET_DIR", tmp_path)
    with pytest.raises(RuntimeError, match="sha256"):
        assets.load_statistics("mnist")


def test_ring_generators_are_lesson_05s_and_match_their_manifest():
    """The shipped toy generators reproduce, on lesson 05's own probe z (seed 200), the modes covered and the share on
    a mode that their manifest entry (and lesson 05's cpu mode table) records, to the rounding of the manifest."""
    generators, ring, entry = assets.load_ring_generators()
    assert list(generators) == entry["order"] == ["non-saturating", "LSGAN", "WGAN (clip)", "WGAN-GP", "hinge + SN",
                                                  "NS + R1"]
    assert ring.num_modes == 8 and ring.std == 0.1 and torch.allclose(ring.centres.norm(dim=1), torch.tensor(2.0))
    z = torch.randn(2000, entry["generator"]["latent_dim"], generator=torch.Generator().manual_seed(200))
    for name, generator in generators.items():
        assert not any(p.requires_grad for p in generator.parameters()) and not generator.training
        report = ring.modes(generator(z))
        expected = entry["losses"][name]
        assert report["modes_covered"] == expected["modes_covered"], name
        assert report["within_3sigma"] == pytest.approx(expected["within_3sigma"], abs=1e-4), name
    assert entry["losses"]["NS + R1"]["modes_covered"] == 8 > entry["losses"]["LSGAN"]["modes_covered"]


def _dcgan_mnist_samples():
    """The long-trained DCGAN's samples on lesson 03's eval noise (z ~ N(0, I), seed 2, n = 2,000), in [0, 1]."""
    generator, entry = assets.load_dcgan_mnist()
    z = torch.randn(entry["judged"]["n"], entry["generator"]["latent_dim"], generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        return (generator(z) + 1) / 2, generator, entry


def test_dcgan_mnist_checkpoint_is_judged_as_its_manifest_says():
    """Lesson 03's course checkpoint: a frozen genlab DCGANGenerator in eval mode whose samples on the lesson's eval
    noise the digit judge recognises and spreads over the classes exactly as the manifest records; and longer training
    paid: the manifest's curve ends higher than it starts, above the lesson's cpu figure (57 %)."""
    images, generator, entry = _dcgan_mnist_samples()
    assert not generator.training and not any(p.requires_grad for p in generator.parameters())
    assert images.shape == (2000, 1, 28, 28) and 0 <= images.min() and images.max() <= 1
    report = metrics.classifier_report(assets.load_mnist_classifier(), images)
    assert report["confident"] == pytest.approx(entry["judged"]["ema_recognisable"], abs=1e-3)
    assert report["classes_covered"] == entry["judged"]["ema_classes"] == 10
    curve = entry["curve"]
    assert curve[-1]["step"] == entry["judged"]["step"] and curve[-1]["ema_recognisable"] > curve[0]["ema_recognisable"]
    assert entry["judged"]["ema_recognisable"] > 0.6


@pytest.mark.real_mnist
def test_dcgan_mnist_checkpoint_classifier_fid_matches_its_manifest():
    """Its classifier FID against lesson 03's 2,000 real test digits (subset seed 0) is the manifest's."""
    images, _, entry = _dcgan_mnist_samples()
    real = data.load("MNIST", "test").subset(2000, seed=0).images
    fid = metrics.classifier_fid(assets.load_mnist_classifier(), images, real)
    assert fid == pytest.approx(entry["judged"]["ema_classifier_fid"], abs=2e-3)
