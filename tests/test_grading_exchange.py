"""A JupyterHub course, end to end through nbgrader's own exchange commands: the instructor releases, two students
fetch and submit from their own HOMEs, the instructor collects, `genlab grade` autogrades, feedback waits for the
written answer to be graded, `genlab feedback --release` releases it, and the students fetch it.

Students are told apart the way JupyterHub's docker images do it: the OS user is `jovyan` and JUPYTERHUB_USER names
the student (nbgrader.utils.get_username); a wrapper sets the first, as two real accounts could not run this
machine's Python (installed under /root)."""

import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell
from test_grading_at_scale import RIGHT, WRONG, points, probe_course

from genlab.course import cli, nbgrader

AS_STUDENT = ("import sys, nbgrader.utils, nbgrader.apps.nbgraderapp as app; "
              "nbgrader.utils.get_osusername = lambda: 'jovyan'; sys.argv = ['nbgrader', *sys.argv[1:]]; app.main()")


def student(name: str, home: Path, exchange: Path, *args) -> str:
    home.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([sys.executable, "-c", AS_STUDENT, *args, "--course=genlab", f"--Exchange.root={exchange}"],
                         cwd=home, capture_output=True, text=True, env={**nbgrader._environment(), "HOME": str(home),
                                                                        "JUPYTERHUB_USER": name})
    assert run.returncode == 0, f"{name}: nbgrader {' '.join(args)} failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}"
    return run.stdout + run.stderr


def test_release_fetch_submit_collect_grade_and_release_feedback(tmp_path, capsys):
    course = probe_course(tmp_path / "course")
    source = course / "source" / "probe" / "probe.ipynb"
    notebook = nbformat.read(source, as_version=4)
    notebook.cells.append(new_markdown_cell("YOUR ANSWER", metadata={"nbgrader": {
        "grade": True, "grade_id": "q_written", "locked": False, "points": 1, "schema_version": 3, "solution": True}}))
    nbformat.write(notebook, source)
    exchange = course / "exchange"
    nbgrader.command(["generate_assignment", "probe", "--force"], course)
    nbgrader.command(["release_assignment", "probe", "--force"], course)

    homes = {"alice": tmp_path / "home" / "alice", "bob": tmp_path / "home" / "bob"}
    for name, answer in (("alice", RIGHT), ("bob", WRONG)):
        student(name, homes[name], exchange, "fetch_assignment", "probe")
        fetched = homes[name] / "probe" / "probe.ipynb"
        work = nbformat.read(fetched, as_version=4)
        work.cells[0].source = answer
        work.cells[3].source = f"{name}'s written answer"
        nbformat.write(work, fetched)
        student(name, homes[name], exchange, "submit", "probe")

    nbgrader.command(["collect", "probe"], course)
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["alice", "bob"]
    assert (course / "submitted" / "alice" / "probe" / "timestamp.txt").exists()
    assert cli.main(["grade", "--course", str(course), "--jobs", "2"]) == 0
    assert "2 submission(s) wait for manual grading" in capsys.readouterr().out
    assert points(course) == {"alice": 2.0, "bob": 1.0}
    assert not (course / "feedback").exists() or not any((course / "feedback").rglob("*.html")), \
        "no feedback before the written answers are graded: it would show 0 for them"

    with nbgrader.open_gradebook(course) as gradebook:  # what a grader does in formgrader, for alice only
        grade = gradebook.find_grade("q_written", "probe", "probe", "alice")
        grade.manual_score = 1.0
        grade.needs_manual_grade = False  # as formgrader's API handler does on a score
        gradebook.db.commit()
    assert cli.main(["feedback", "--course", str(course), "--release"]) == 0
    shown = capsys.readouterr().out
    assert "waiting for manual grading: probe bob" in shown and "released to the exchange (alice)" in shown

    student("alice", homes["alice"], exchange, "fetch_feedback", "probe")
    student("bob", homes["bob"], exchange, "fetch_feedback", "probe")
    [page] = (homes["alice"] / "probe" / "feedback").glob("*/probe.html")
    assert "Score: 3.0 / 3.0" in " ".join(page.read_text().split()) or "3.0 / 3.0" in page.read_text()
    assert not list((homes["bob"] / "probe").glob("feedback/*/probe.html")), "bob's answer is not graded yet"
