"""The library's reference networks: shapes, and the DCGAN pair equal to lesson 03's answer (its stored counts)."""

import pytest
import torch

from genlab.models import DCGANDiscriminator, DCGANGenerator


@pytest.mark.parametrize("args, params", [((64, 1, 32, 28), 234_177), ((64, 3, 32, 32), 296_899)])
def test_dcgan_generator_matches_lesson_03(args, params):
    G = DCGANGenerator(*args)
    assert sum(p.numel() for p in G.parameters()) == params   # the counts lesson 03's visible checks store
    out = G(torch.randn(5, args[0]))
    assert out.shape == (5, args[1], args[3], args[3])
    assert out.min() >= -1 and out.max() <= 1


@pytest.mark.parametrize("args, params", [((1, 32, 28), 36_577), ((3, 32, 32), 167_841)])
def test_dcgan_discriminator_matches_lesson_03(args, params):
    D = DCGANDiscriminator(*args)
    assert sum(p.numel() for p in D.parameters()) == params
    assert D(torch.randn(5, args[0], args[2], args[2])).shape == (5,)


def test_dcgan_discriminator_norms():
    x = torch.randn(6, 1, 28, 28)
    for norm in DCGANDiscriminator.NORMS:
        D = DCGANDiscriminator(1, 8, 28, norm=norm)
        assert D(x).shape == (6,)
        has_bn = any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
        assert has_bn == (norm == "batch")
    # "layer" is per-sample: one image's output does not depend on the rest of the batch (a gradient penalty needs it)
    D = DCGANDiscriminator(1, 8, 28, norm="layer")
    torch.testing.assert_close(D(x)[:2], D(x[:2]))
    sn = DCGANDiscriminator(1, 8, 28, norm="spectral")
    assert all(hasattr(m, "parametrizations") for m in sn.modules() if isinstance(m, torch.nn.Conv2d))


def test_dcgan_rejects_other_sizes():
    with pytest.raises(ValueError, match="28x28 or 32x32"):
        DCGANGenerator(image_size=64)
    with pytest.raises(ValueError, match="norm must be one of"):
        DCGANDiscriminator(norm="instance")
