"""Let the CUDA build of torchvision import on a CPU-only build of torch.

Why: on machines where PyPI has only a CUDA wheel of torchvision but torch is a CPU build, torchvision's compiled
operators fail to load, and `import torchvision` then stops at `operator torchvision::nms does not exist` (its Python
side registers fake kernels for ops it expected the C++ library to declare). Declaring the two schemas it needs first,
`torchvision::nms` and `torchvision::qnms`, lets it import. The compiled detection ops stay unavailable; this course
never uses them.

`python -m genlab.course.torchvision_shim` (run by `make venv`) checks for exactly that case and only then installs this file
into site-packages with a .pth line that declares the schemas lazily, the first time torchvision is imported. With a
CUDA torch, or a torchvision that imports, it does nothing. This file imports nothing from genlab: it is copied as is.
"""

import importlib.abc
import subprocess
import sys
import sysconfig
from pathlib import Path

MODULE_NAME = "genlab_torchvision_shim"
SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor",
}
_library = None  # the definitions live as long as this Library object does


def declare_schemas() -> list:
    """Declare the missing torchvision op schemas on a CPU-only torch; returns the names declared."""
    global _library
    import torch

    if torch.version.cuda is not None:
        return []
    missing = [name for name in SCHEMAS if not hasattr(torch.ops.torchvision, name)]
    if missing:
        _library = _library or torch.library.Library("torchvision", "FRAGMENT")
        for name in missing:
            _library.define(SCHEMAS[name])
    return missing


class _BeforeTorchvision(importlib.abc.MetaPathFinder):
    """Runs declare_schemas once, just before the first `import torchvision`, then steps aside."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torchvision":
            sys.meta_path.remove(self)
            declare_schemas()
        return None  # the ordinary finders load torchvision itself


def install_hook():
    if not any(isinstance(finder, _BeforeTorchvision) for finder in sys.meta_path):
        sys.meta_path.insert(0, _BeforeTorchvision())


def _import_error() -> str:
    """'' if torchvision imports in a fresh interpreter, else the error's last line."""
    run = subprocess.run([sys.executable, "-c", "import torchvision"], capture_output=True, text=True)
    return "" if run.returncode == 0 else (run.stderr.strip().splitlines() or ["unknown error"])[-1]


def setup() -> int:
    import torch

    site = Path(sysconfig.get_paths()["purelib"])
    target, pth = site / f"{MODULE_NAME}.py", site / f"{MODULE_NAME}.pth"
    if torch.version.cuda is not None:
        print(f"torchvision shim: torch {torch.__version__} is a CUDA build; nothing to do.")
        return 0
    error = _import_error()
    if not error:
        print("torchvision shim: torchvision imports" + (" (shim installed)." if pth.exists() else "; nothing to do."))
        return 0
    if "torchvision::nms does not exist" not in error:
        print(f"torchvision shim: `import torchvision` fails for another reason, left alone: {error}")
        return 1
    target.write_text(Path(__file__).read_text())
    pth.write_text(f"import {MODULE_NAME}; {MODULE_NAME}.install_hook()\n")
    error = _import_error()
    if error:
        print(f"torchvision shim: installed in {site}, but torchvision still fails: {error}")
        return 1
    print(f"torchvision shim: CPU torch {torch.__version__} with a CUDA torchvision; declared torchvision::nms/qnms "
          f"via {pth.name}. torchvision imports now (its compiled detection ops stay unavailable).")
    return 0


if __name__ == "__main__":
    sys.exit(setup())
