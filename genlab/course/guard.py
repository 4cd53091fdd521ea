"""Inside a grading kernel: the checks cannot be changed by the code they judge.

`capture()` runs when the kernel starts, before any cell (genlab.course.sandbox_kernel calls it). It keeps a reference
to every attribute of the modules and classes the tests rely on: genlab.grading's helpers, torch, torch.nn.functional,
torch.Tensor, torch.nn.Module, builtins, math. The grader puts one line in front of every graded test cell
(genlab.course.guarded_cells) that calls `restore(globals())`: whatever an answer cell reassigned there, such as
`check_close = lambda *a, **k: None`, `torch.allclose = lambda *a, **k: True` or `grading.CheckFailed = Exception`,
is put back, and the test runs against the originals. A submission gains nothing from overriding them.

This is a defence against changing the checks by reassignment, the cheap and likely attack. It is not a wall against
a student who attacks the interpreter itself (the guard's own module, IPython's input transformers, sys.settrace,
ctypes, gc): code in the same process can in the end reach anything. genlab.course.guarded_cells flags submissions
whose answers touch those for manual review; autograder/README.md has the threat model.

Per-course hidden-test seeds: a hidden test that draws its inputs with `course_seed(n)` instead of `n`
(`torch.Generator().manual_seed(course_seed(5))`) gets a keyed hash of n under the course key
($GENLAB_HIDDEN_SEED_KEY, derived from the course secret), and n itself without one (self-study, no secret). Such a
test compares the student's function with the reference function on those inputs, so it still holds; an output
copied from a public solution (computed with n) no longer matches. It is opt-in per hidden block: seeding every
hidden block automatically broke lesson 01, whose hidden checks compare against values the visible part computed
with the same written seed.
"""

import builtins
import hashlib
import hmac
import math
import os
import sys

SEED_KEY_VARIABLE = "GENLAB_HIDDEN_SEED_KEY"
# The names a lesson binds in its namespace, with what they must be during a test: a module, or an attribute of
# genlab.grading (every public one).
MODULE_ALIASES = {"torch": "torch", "nn": "torch.nn", "F": "torch.nn.functional", "np": "numpy", "math": "math",
                  "grading": "genlab.grading", "genlab": "genlab"}

BUILTINS = ("isinstance", "issubclass", "len", "all", "any", "abs", "sum", "min", "max", "round", "float", "int", "bool",
            "tuple", "list", "dict", "set", "zip", "range", "enumerate", "getattr", "hasattr", "setattr", "type", "print",
            "repr", "str", "next", "iter", "sorted", "map", "filter", "callable", "vars", "id", "hash", "__import__",
            "AssertionError", "Exception", "BaseException", "ValueError", "TypeError", "KeyError", "RuntimeError",
            "NotImplementedError", "NameError", "AttributeError", "StopIteration")
_captured = None  # {"objects": [(owner, {name: value})], "modules": {name: module}, "grading": {name: value}}
_seed_key = None


def _owners():
    """What the tests rely on: the modules and classes whose attributes are captured."""
    import torch
    import torch.nn.functional as F

    from genlab import grading

    return [grading, grading.CheckFailed, torch, torch.nn, F, torch.nn.Module, torch.Tensor, torch.random, math,
            torch.autograd, torch.linalg]


def capture():
    """Keep the originals; also take the seed key out of os.environ (a cell printing os.environ would show it)."""
    global _captured, _seed_key
    import importlib

    objects = [(owner, dict(vars(owner))) for owner in _owners()]
    # builtins: only what checks use; IPython itself swaps others (exit, quit, display) in and out around each cell
    objects.append((builtins, {name: getattr(builtins, name) for name in BUILTINS}))
    modules = {}
    for alias, module_name in MODULE_ALIASES.items():
        try:
            modules[alias] = importlib.import_module(module_name)
        except ImportError:
            pass
    from genlab import grading

    public = {name: value for name, value in vars(grading).items() if not name.startswith("_")
              and (callable(value) or isinstance(value, type)) and getattr(value, "__module__", "") == grading.__name__}
    _captured = {"objects": objects, "modules": modules, "grading": public,
                 "sys_modules": {name: sys.modules[name] for name in ("torch", "genlab", "genlab.grading", __name__)}}
    _seed_key = os.environ.pop(SEED_KEY_VARIABLE, None)


def restore(namespace: dict) -> list:
    """Put every captured original back, in the modules and classes and in the notebook's namespace; returns (and
    prints, so the feedback shows it) what had been changed."""
    if _captured is None:
        return []  # not a grading kernel (self-study, a plain Jupyter): nothing was captured, nothing to restore
    changed = []
    for name, module in _captured["sys_modules"].items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
            changed.append(f"sys.modules[{name!r}]")
    for owner, originals in _captured["objects"]:
        current = vars(owner)
        if isinstance(owner, type):  # a method added to a class shadows the inherited one: `Tensor.__eq__ = ...`
            for name in [n for n in current if n not in originals]:
                try:
                    delattr(owner, name)
                    changed.append(f"{owner.__name__}.{name}")
                except (AttributeError, TypeError):
                    pass
        for name, value in originals.items():
            if current.get(name, _captured) is not value:
                try:
                    setattr(owner, name, value)
                    changed.append(f"{getattr(owner, '__name__', owner)}.{name}")
                except (AttributeError, TypeError):  # read-only slots: nothing could have changed them either
                    pass
    for alias, module in _captured["modules"].items():
        if alias in namespace and namespace[alias] is not module:
            namespace[alias] = module
            changed.append(alias)
    for name, value in _captured["grading"].items():
        if name in namespace and namespace[name] is not value:
            namespace[name] = value
            changed.append(name)
    if changed:
        shown = ", ".join(sorted(set(changed))[:12]) + (" ..." if len(set(changed)) > 12 else "")
        print(f"[grader] restored what earlier cells had changed before this test: {shown}")
    return changed


# ---------------------------------------------------------------------------------------------------- course seeds
def course_seed(seed: int, key: bytes | str | None = None) -> int:
    """The seed a hidden test uses in this course for the seed `seed` (unchanged without a key). In a hidden block:
    `from genlab.course.guard import course_seed`."""
    key = _seed_key if key is None else key
    if not key:
        return seed
    key = key.encode() if isinstance(key, str) else key
    digest = hmac.new(key, str(int(seed)).encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:7], "big")  # < 2**56: every RNG's seed accepts it
