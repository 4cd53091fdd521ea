"""Run profile, device choice, seeding and paths: the few settings every lesson shares."""

import os
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

PROFILES = ("smoke", "cpu", "gpu")
REPO_ROOT = Path(__file__).resolve().parent.parent


def profile() -> str:
    """The active profile.

    Order: during `nbgrader autograde` and `nbgrader validate` (NBGRADER_EXECUTION=autograde or validate: the
    Validate button runs with a 30 s cell timeout on a student's server) the smoke budget unless the instructor sets
    GENLAB_AUTOGRADE_PROFILE; otherwise GENLAB_PROFILE; otherwise gpu when CUDA is available, else cpu.
    """
    if os.environ.get("NBGRADER_EXECUTION") in ("autograde", "validate"):
        chosen = os.environ.get("GENLAB_AUTOGRADE_PROFILE", "smoke")
        source = "GENLAB_AUTOGRADE_PROFILE"
    else:
        chosen = os.environ.get("GENLAB_PROFILE") or ("gpu" if torch.cuda.is_available() else "cpu")
        source = "GENLAB_PROFILE"
    if chosen not in PROFILES:
        raise ValueError(f"{source}={chosen!r} is not a profile; use one of {', '.join(PROFILES)}.")
    return chosen


def budget(per_profile: dict) -> SimpleNamespace:
    """Pick this profile's budget from a lesson's single budget table {profile: {name: value}}."""
    missing = [p for p in PROFILES if p not in per_profile]
    if missing:
        raise KeyError(f"budget table lacks profile(s) {missing}; declare smoke, cpu and gpu.")
    return SimpleNamespace(profile=profile(), **per_profile[profile()])


def device() -> torch.device:
    """cuda if present (and GENLAB_DEVICE does not say otherwise), then mps, else cpu."""
    wanted = os.environ.get("GENLAB_DEVICE")
    if wanted:
        return torch.device(wanted)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed python, numpy and torch so that CPU runs repeat bit for bit; returns a CPU generator with the same seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    torch.backends.cudnn.benchmark = False  # autotuning picks kernels by timing, which varies run to run
    torch.backends.cudnn.deterministic = True
    return torch.Generator().manual_seed(seed)


def cache_dir() -> Path:
    """Where genlab keeps downloads and derived data: $GENLAB_CACHE, else $XDG_CACHE_HOME/genlab, else ~/.cache/genlab."""
    if os.environ.get("GENLAB_CACHE"):
        return Path(os.environ["GENLAB_CACHE"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser()
    return base / "genlab"


def describe() -> str:
    """One line for the top of every lesson: profile, device, torch version."""
    return f"genlab profile={profile()} device={device()} torch={torch.__version__} threads={torch.get_num_threads()}"


# Whole-notebook wall times of `make run LESSONS=NN PROFILE=p` (the whole process, kernel start included) on the
# project's 2-core machine with nothing else running, real data, as {lesson: {profile: seconds}}: the median of 3
# runs for smoke, one run for cpu. Re-measure after changing a lesson and update this table, the lesson header and the
# README together. No lesson has been timed on a GPU yet.
MEASURED_SECONDS = {
    "01_autoencoders_vae": {"smoke": 16, "cpu": 105},
    "02_gan": {"smoke": 18, "cpu": 257},
    "03_dcgan": {"smoke": 37, "cpu": 590},
    "04_cgan": {"smoke": 24, "cpu": 484},
    "05_gan_losses": {"smoke": 42, "cpu": 530},
    "06_fid_is": {"smoke": 43, "cpu": 294},
}


# The datasets each lesson loads, so that its first cell can say where each comes from before any is read.
LESSON_DATASETS = {
    "01_autoencoders_vae": ("MNIST", "FashionMNIST"),
    "02_gan": ("MNIST",),
    "03_dcgan": ("MNIST", "CIFAR10"),
    "04_cgan": ("FashionMNIST",),
    "05_gan_losses": ("FashionMNIST",),
    "06_fid_is": ("MNIST", "FashionMNIST", "CIFAR10"),
}


def _expected_time(lesson: str, chosen: str) -> str:
    seconds = MEASURED_SECONDS.get(lesson, {}).get(chosen)
    if seconds is None:
        return f"not yet measured in the {chosen} profile"
    here = f"{seconds} s" if seconds < 120 else f"{seconds / 60:.0f} min"
    return f"about {here} on 2 CPU cores in the {chosen} profile (a busy or slower machine takes longer)"


def setup(lesson: str) -> torch.device:
    """A lesson's first code cell: seed, say where it runs and how long it takes here, and install the notebook hook
    that turns cells needing an unfinished exercise into a one-line notice. Returns the device to train on."""
    seed_everything(0)
    chosen = profile()
    from genlab import data  # here, not at the top: genlab.data imports this module

    print(describe())
    for name in LESSON_DATASETS.get(lesson, ()):
        print(f"data: {data.where(name)}")
    if lesson not in LESSON_DATASETS:  # a new lesson not in the table yet: at least say where data is looked for
        root = os.environ.get("GENLAB_DATA")
        print(f"data: {'GENLAB_DATA=' + root if root else 'the user cache ' + str(cache_dir())} (a stand-in is "
              f"announced in one line where a dataset is missing; list {lesson}'s datasets in config.LESSON_DATASETS)")
    print(f"{lesson}: {_expected_time(lesson, chosen)}")
    try:
        from IPython import get_ipython

        from genlab.grading import skip_unfinished

        shell = get_ipython()
        if shell is not None and skip_unfinished not in shell.input_transformers_post:
            shell.input_transformers_post.append(skip_unfinished)
    except ImportError:
        pass
    return device()
