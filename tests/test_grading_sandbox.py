"""The grading sandbox and guard, attacked as a student would: overriding the check helpers, monkeypatching torch,
reading the hidden tests and the gradebook, writing to the release folder and to genlab's own checks, opening
sockets, signalling the grader; and a copied expected value under a course secret.

One grade of five submissions of a 3-test probe assignment (about 20 s on 2 cores) serves every check."""

import json
import os
import socket
import threading
from pathlib import Path

import nbformat
import pytest
import torch
from nbformat.v4 import new_code_cell, new_notebook

from genlab.config import REPO_ROOT
from genlab.course import build, course_config, grade, guard, guarded_cells, nbgrader, sandbox

SETUP = "import torch\nfrom genlab import grading\nfrom genlab.grading import check_close"
ANSWER = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
RIGHT = "def double(x):\n    return 2 * x"
WRONG = "def double(x):\n    return x"
HIDDEN_SEED = 3
TESTS = {
    "test_helper": 'check_close(double(torch.ones(3)), torch.full((3,), 2.0), "double(ones)")',
    "test_torch": "assert torch.allclose(double(torch.arange(3.0)), torch.tensor([0.0, 2.0, 4.0]))",
    "test_hidden": "print('visible part')\n### BEGIN HIDDEN TESTS\n"
                   "from genlab.course.guard import course_seed\n"
                   f"_x = torch.randn(4, generator=torch.Generator().manual_seed(course_seed({HIDDEN_SEED})))\n"
                   'check_close(double(_x), 2 * _x, "double of seeded noise")\n### END HIDDEN TESTS',
}
OVERRIDER = WRONG + """
check_close = lambda *args, **kwargs: None          # the helper the visible test calls
torch.allclose = lambda *args, **kwargs: True       # the torch function a test relies on
import genlab.grading as _g
_g.check_close = lambda *args, **kwargs: None
_g.CheckFailed = type("Quiet", (Exception,), {})
torch.Tensor.__eq__ = lambda self, other: True
"""
# the value the hidden test expects when its seed is the one written in the lesson (say, read from a public solution)
MEMORIZER = f"""import torch
_public = 2 * torch.randn(4, generator=torch.Generator().manual_seed({HIDDEN_SEED}))
def double(x):
    return _public if x.shape == (4,) else 2 * x
"""
GUARD_ATTACKER = WRONG + """
import sys
sys.modules["genlab.course.guard"].restore = lambda namespace: []
check_close = lambda *args, **kwargs: None
"""


def prober(course: Path, port: int) -> str:
    """A right answer, then every forbidden thing tried; the results printed as JSON for the test to read."""
    targets = {
        "read the source notebook": course / "source" / "guarded" / "guarded.ipynb",
        "read the lesson's hidden tests": REPO_ROOT / "lessons" / f"{build.lesson_names()[0]}.py",
        "read the gradebook": course / "gradebook.db",
        "read the course secret": course / "course_secret",
        "read another submission": course / "submitted" / "right" / "guarded" / "guarded.ipynb",
    }
    return RIGHT + f"""
import glob, json, os, resource, signal, socket
def _try(action):
    try:
        action()
        return "ALLOWED"
    except Exception as error:
        return type(error).__name__
def _connect(address):
    with socket.create_connection(address, timeout=3):
        pass
_results = {{what: _try(lambda path=path: open(path, "rb").read()) for what, path in {
        {what: str(path) for what, path in targets.items()}!r}.items()}}
_results["write to the release folder"] = _try(lambda: open({str(course / "release" / "guarded" / "x.py")!r}, "w"))
_results["change genlab's checks"] = _try(lambda: open({str(REPO_ROOT / "genlab" / "grading.py")!r}, "a"))
_results["connect to the grader's localhost"] = _try(lambda: _connect(("127.0.0.1", {port})))
_results["connect outside"] = _try(lambda: _connect(("192.0.2.1", 80)))
_results["signal the grader"] = _try(lambda: os.kill(os.getppid(), 0))
_results["uid"] = os.getuid()
_results["process limit"] = resource.getrlimit(resource.RLIMIT_NPROC)[0]
_results["other kernels' keys"] = glob.glob(os.path.expanduser("~root/.local/share/jupyter/runtime/kernel-*.json"))
_results["gradebook url in env"] = "GENLAB_GRADEBOOK_URL" in os.environ
_results["seed key in env"] = "GENLAB_HIDDEN_SEED_KEY" in os.environ
print("PROBES " + json.dumps(_results))
"""


def _cell(source, grade_id, **meta):
    return new_code_cell(source, metadata={"nbgrader": build.normalise_nbgrader({"grade_id": grade_id, **meta}, "")})


def guarded_course(path: Path) -> Path:
    course = nbgrader.fresh_course(path)
    cells = [new_code_cell(SETUP), _cell(ANSWER, "double", solution=True)]
    cells += [_cell(source, grade_id, points=1) for grade_id, source in TESTS.items()]
    build.write_notebook(new_notebook(cells=cells, metadata={"kernelspec": build.KERNELSPEC}),
                         course / "source" / "guarded" / "guarded.ipynb")
    (course / "course_secret").write_text("f" * 8 + "0123456789abcdef0123456789abcdef\n")
    return course


def submit(course: Path, student: str, answer: str):
    notebook = nbformat.read(course / "source" / "guarded" / "guarded.ipynb", as_version=4)
    notebook.cells[1].source = answer
    grade.submit(course, "guarded", student, notebook)


def grade_attacks(tmp_path_factory):
    if sandbox.mode() == "off" or sandbox.probe():
        pytest.skip(f"the sandbox cannot run here ({sandbox.probe() or 'GENLAB_SANDBOX=off'}); "
                    "the fallback is tested below")
    course = guarded_course(tmp_path_factory.mktemp("sandbox") / "course")
    listener = socket.create_server(("127.0.0.1", 0))  # in the grader's network namespace, not the kernel's
    accepted = []
    def accept():
        try:
            accepted.append(listener.accept())
        except OSError:  # closed at the end: nobody came, as it should be
            pass

    threading.Thread(target=accept, daemon=True).start()
    for student, answer in (("right", RIGHT), ("overrider", OVERRIDER), ("memorizer", MEMORIZER),
                            ("guard_attacker", GUARD_ATTACKER), ("prober", prober(course, listener.getsockname()[1]))):
        submit(course, student, answer)
    result = grade.grade_course(course, jobs=2)
    listener.close()
    return {"course": course, "result": result, "accepted": accepted,
            "cells": {s: r["cells"] for s, r in nbgrader.scores(course, "guarded").items()}}


def _earned(cells: dict) -> dict:
    return {grade_id: score for grade_id, (score, _) in cells.items()}


def _overridden_or_monkeypatched_checks_earn_nothing(graded):
    assert not graded["result"]["ungraded"], graded["result"]["ungraded"]
    assert _earned(graded["cells"]["right"]) == {"test_helper": 1.0, "test_torch": 1.0, "test_hidden": 1.0}
    assert _earned(graded["cells"]["overrider"]) == {"test_helper": 0.0, "test_torch": 0.0, "test_hidden": 0.0}
    page = (graded["course"] / "feedback" / "overrider" / "guarded" / "guarded.html").read_text()
    assert "restored what earlier cells had changed" in page and "check_close" in page
    assert "Tensor.__eq__" in page and "torch.allclose" in page
    assert "genlab.course.guard" not in page, "the grader's own lines are not in the feedback, nor in tracebacks"


def _student_code_cannot_reach_the_secrets_the_network_or_the_grader(graded):
    notebook = nbformat.read(graded["course"] / "autograded" / "prober" / "guarded" / "guarded.ipynb", as_version=4)
    text = "".join(output.get("text", "") for output in notebook.cells[1].outputs)
    probes = json.loads(text.split("PROBES ", 1)[1])
    allowed = {what: how for what, how in probes.items() if how == "ALLOWED"}
    assert not allowed, f"the sandbox let these through: {allowed}"
    assert probes["connect to the grader's localhost"] == "ConnectionRefusedError", "its own loopback, nobody there"
    assert probes["signal the grader"] == "PermissionError"
    assert probes["uid"] != 0 and probes["process limit"] == sandbox.MAX_PROCESSES
    assert probes["other kernels' keys"] == []
    assert not probes["gradebook url in env"] and not probes["seed key in env"]
    assert not graded["accepted"], "a connection reached the grader's namespace"
    assert _earned(graded["cells"]["prober"])["test_helper"] == 1.0


def _a_copied_expected_value_fails_under_the_course_secret(graded):
    key = course_config.hidden_seed_key(graded["course"])
    assert guard.course_seed(HIDDEN_SEED, key) != HIDDEN_SEED
    public = torch.randn(4, generator=torch.Generator().manual_seed(HIDDEN_SEED))
    assert torch.equal(2 * public, 2 * public), "without a secret the memorized value is exactly what is checked"
    assert _earned(graded["cells"]["memorizer"]) == {"test_helper": 1.0, "test_torch": 1.0, "test_hidden": 0.0}


def _an_attack_on_the_guard_itself_is_flagged_for_review(graded):
    """Not defended at run time (code in the kernel can reach the guard); the grader flags it for a person."""
    rows = {row["student_id"]: row for row in grade.exports.long_rows(graded["course"], {})}
    assert "replaces modules or builtins" in rows["guard_attacker"]["review"]
    assert rows["right"]["review"] == "" and rows["overrider"]["review"] == ""


CHECKS = [_overridden_or_monkeypatched_checks_earn_nothing, _student_code_cannot_reach_the_secrets_the_network_or_the_grader,
          _a_copied_expected_value_fails_under_the_course_secret, _an_attack_on_the_guard_itself_is_flagged_for_review]


def test_attacks_on_the_grader(tmp_path_factory):
    """One grade serves every check (pytest-xdist would build a shared fixture once per worker); every failing check
    is reported, not only the first."""
    graded = grade_attacks(tmp_path_factory)
    problems = []
    for check in CHECKS:
        try:
            check(graded)
        except AssertionError as failure:
            problems.append(f"{check.__name__}: {failure}")
    assert not problems, "\n\n".join(problems)


# ---------------------------------------------------------------------------------------------------- no graders
def test_the_guard_puts_back_what_a_cell_changed():
    original_allclose, original_check = torch.allclose, guard._captured
    guard.capture()
    try:
        namespace = {"torch": torch, "check_close": guard._captured["grading"]["check_close"]}
        torch.allclose = lambda *args, **kwargs: True
        namespace["check_close"] = lambda *args, **kwargs: None
        namespace["torch"] = object()
        torch.Tensor.__eq__ = lambda self, other: True
        changed = guard.restore(namespace)
        assert "__eq__" not in vars(torch.Tensor) and not bool(torch.zeros(1) == torch.ones(1))
        assert torch.allclose is original_allclose and namespace["torch"] is torch
        assert namespace["check_close"] is guard._captured["grading"]["check_close"]
        assert {"torch.allclose", "check_close", "torch", "Tensor.__eq__"} <= set(changed)
        assert guard.restore(namespace) == [], "nothing changed since: nothing restored"
    finally:
        torch.allclose, guard._captured = original_allclose, original_check


def test_test_cells_are_guarded_and_the_added_lines_removed_again():
    source = TESTS["test_hidden"]
    guarded = guarded_cells.guard_source(source)
    assert guarded.split("\n")[0] == guarded_cells.GUARD_LINE
    assert guarded_cells.without_added_lines(guarded) == source
    assert guarded_cells.suspicious("x = 1\ndef f():\n    return 2") == []
    assert guarded_cells.suspicious("get_ipython().input_transformers_post.append(f)")


def test_without_namespaces_the_kernel_warns_or_refuses(monkeypatch, capsys):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    sandbox.probe.cache_clear()  # an earlier test in this process found the sandbox working
    monkeypatch.setattr(sandbox, "probe", sandbox.probe.__wrapped__)
    started = []
    monkeypatch.setattr(sandbox.os, "execv", lambda path, argv: started.append(argv))
    monkeypatch.setenv(sandbox.MODE_VARIABLE, "auto")
    assert "UNAVAILABLE" in sandbox.status_line() and "WARNING" in sandbox.status_line()
    sandbox.outside("/nonexistent/kernel.json")
    assert started and started[0][-1] == "/nonexistent/kernel.json", "the plain kernel starts"
    assert "WARNING: namespaces unavailable" in capsys.readouterr().err
    monkeypatch.setenv(sandbox.MODE_VARIABLE, "required")
    with pytest.raises(SystemExit, match="required"):
        sandbox.outside("/nonexistent/kernel.json")
    monkeypatch.setenv(sandbox.MODE_VARIABLE, "sometimes")
    with pytest.raises(SystemExit, match="use auto"):
        sandbox.mode()


def test_a_short_course_secret_is_refused(tmp_path):
    course = nbgrader.fresh_course(tmp_path)
    (course / "course_secret").write_text("short")
    with pytest.raises(SystemExit, match="at least 16 random bytes"):
        course_config.hidden_seed_key(course)
    (course / "course_secret").unlink()
    assert course_config.hidden_seed_key(course) == "", "no secret: seeds as written"
    assert guard.course_seed(5, "") == 5
    assert os.environ.get(guard.SEED_KEY_VARIABLE) in (None, ""), "the test process is not a grading kernel"
