"""A pytest plugin (pyproject's addopts: -p genlab.course.notebook_tests) for the solution notebooks that nbval runs
cell by cell (`--nbval-lax`: errors fail, outputs are not compared; testpaths lists solutions/).

A plugin, not tests/conftest.py, because a conftest's hooks reach only the tests in its own folder. It keeps a
notebook's cells on one pytest-xdist worker (they share one kernel), starts that kernel in the smoke profile, and
checks that every cell ends within the Validate button's 30 s cell timeout, and after a notebook's last cell checks the
results table that genlab.train.results_table saved."""

import json
import os
import tempfile
import time
from pathlib import Path

import pytest

RESULTS = Path(tempfile.mkdtemp(prefix="genlab-nbval-results-"))
# Test files whose tests run one after another on one worker: the browser tests share one JupyterLab and one
# Chromium (they carry xdist_group("browser") for the day xdist reads it again); the grading-at-scale tests time
# Ctrl-C and wall-clock limits, and one of them runs two graders at once (seen: run beside it on the other worker,
# a 20 s limit and a 60 s Ctrl-C deadline were missed on 2 loaded cores); the build-sync tests share one rebuild of
# every lesson (a module fixture, 95 s), which each worker would otherwise make for itself.
ONE_WORKER_PER_FILE = ("tests/browser/", "tests/test_grading_at_scale.py", "tests/test_build.py")


def _is_notebook_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell"  # nbval's item class


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _is_notebook_cell(item):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """`make test` runs `pytest -n 2 --dist loadgroup`. pytest-xdist 3.8's loadgroup marks a group by rewriting
    item._nodeid, which pytest 9.2 no longer reads, so xdist_group marks do nothing; this scheduler gives the same
    promise by file: all cells of one notebook form one unit (one kernel), and so do the files in
    ONE_WORKER_PER_FILE; every other test is a unit of its own."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class NotebookScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            path = nodeid.split("::", 1)[0]
            return path if path.endswith(".ipynb") or path.startswith(ONE_WORKER_PER_FILE) else nodeid

    return NotebookScheduling(config, log)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    """nbval starts a notebook's kernel while setting up its first cell: give that kernel the smoke profile and the
    results folder, then put this process's environment back."""
    if not _is_notebook_cell(item):
        return (yield)
    saved = {k: os.environ.get(k) for k in ("GENLAB_PROFILE", "GENLAB_RESULTS_DIR")}
    os.environ.update(GENLAB_PROFILE="smoke", GENLAB_RESULTS_DIR=str(RESULTS))
    try:
        return (yield)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# JupyterLab's Validate button runs `nbgrader validate`, whose cells time out after 30 s (nbgrader's default), with
# training cells on the smoke budget: the profile these notebooks run in here.
VALIDATE_CELL_TIMEOUT_S = 30


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Every cell must end within the Validate button's cell timeout. After a notebook's last code cell: it must have
    printed its results table in the smoke profile (the profile and at least two figures)."""
    start = time.perf_counter()
    result = yield
    seconds = time.perf_counter() - start
    if _is_notebook_cell(item):
        assert seconds <= VALIDATE_CELL_TIMEOUT_S, (
            f"cell {item.cell_num} of {item.parent.path.name} took {seconds:.0f} s in the smoke profile: the Validate "
            f"button (nbgrader validate, {VALIDATE_CELL_TIMEOUT_S} s per cell) would interrupt it. Shrink the cell's "
            f"smoke budget.")
    if _is_notebook_cell(item) and item.cell_num == sum(c.cell_type == "code" for c in item.parent.nb.cells) - 1:
        lesson = item.parent.path.stem
        saved = RESULTS / f"{lesson}.json"
        assert saved.exists(), f"{lesson} did not end with genlab.train.results_table(...)"
        results = json.loads(saved.read_text())
        assert results.get("profile") == "smoke" and len(results) >= 3, f"{lesson}'s results table: {results}"
    return result
