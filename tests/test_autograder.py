"""The autograding loop on made-up submissions: reference -> full marks, unanswered -> 0, each answer left unanswered
alone loses exactly its own cells' points (a mistake costs points once), each realistic mistake loses points in its
own cells only, a tampered test cell is restored, hidden tests never reach feedback, a looping cell times out.

Each lesson's submissions are graded in one nbgrader run; lessons are spread over pytest-xdist workers."""

import csv

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from genlab import autograde, build, demo

LESSONS = build.lesson_names()


@pytest.fixture(scope="module", params=[pytest.param(lesson, marks=pytest.mark.xdist_group(lesson)) for lesson in LESSONS])
def graded(request, tmp_path_factory):
    lesson = request.param
    if lesson not in _GRADED:  # once per process, even if pytest sets the module fixture up again
        course = build.fresh_course(tmp_path_factory.mktemp(lesson) / "course")
        _GRADED[lesson] = lesson, course, demo.grade_made_up_submissions(lesson, course, tamper=True)
    return _GRADED[lesson]


_GRADED = {}


@pytest.mark.slow
def test_reference_gets_full_marks(graded):
    lesson, _, outcome = graded
    reference = outcome["points"]["reference"]
    assert reference["auto"] == reference["max_auto"] > 0, reference["cells"]


@pytest.mark.slow
def test_unanswered_starter_gets_no_automatic_points(graded):
    _, _, outcome = graded
    assert outcome["points"]["unanswered"]["auto"] == 0, outcome["points"]["unanswered"]["cells"]


@pytest.mark.slow
def test_each_unanswered_answer_costs_exactly_its_own_points(graded):
    lesson, _, outcome = graded
    assert len(outcome["cascade"]) == len(outcome["judged_by"]) >= 4
    problems = [p for p in demo.grading_violations(outcome) if p.startswith("leaving only")]
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_every_realistic_mistake_loses_points_in_its_own_cells_only(graded):
    lesson, _, outcome = graded
    mistakes = [m for m in outcome["mistakes"] if not m.get("leak")]
    assert len(mistakes) >= 5, f"{lesson} needs at least five realistic wrong answers"
    kept = [f"{m['why']} ({m['cell']})" for m in mistakes if not m["lost"]]
    assert not kept, f"mistakes that kept full marks: {kept}"
    leaks = [m["why"] + " in " + m["submission"] for m in outcome["mistakes"] if m.get("leak")]
    assert not leaks, f"mistakes that cost points outside their own exercise: {leaks}"
    assert len({m["cell"] for m in mistakes}) >= 4, "mistakes should cover the exercises"


@pytest.mark.slow
def test_a_tampered_test_cell_is_restored(graded):
    lesson, course, outcome = graded
    [test_id] = outcome["tampered"]  # the first test cell of the first mistake's exercise
    autograded = nbformat.read(course / "autograded" / "wrong-1" / lesson / f"{lesson}.ipynb", as_version=4)
    cell = next(c for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == test_id)
    assert "what tests" not in cell.source and build.HIDDEN_MARKERS[0] in cell.source


@pytest.mark.slow
def test_feedback_exists_and_hides_hidden_tests(graded):
    lesson, course, outcome = graded
    hidden = build.hidden_test_lines(lesson)
    for student in outcome["points"]:
        html = (course / "feedback" / student / lesson / f"{lesson}.html").read_text()
        escaped = html.replace("&quot;", '"').replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace(
            "&amp;", "&")
        leaked = [line for line in hidden if line in escaped]
        assert not leaked, f"feedback for {student} shows hidden test lines: {leaked[:2]}"


@pytest.mark.slow
def test_grades_export_lists_every_submission(graded):
    lesson, course, outcome = graded
    rows = list(csv.DictReader(open(autograde.export_grades(course))))
    assert {r["student_id"] for r in rows if r["assignment"] == lesson} == set(outcome["points"])


def test_a_looping_cell_times_out_and_grading_goes_on(tmp_path):
    course = build.fresh_course(tmp_path / "course")

    def cell(source, grade_id, **meta):
        return new_code_cell(source, metadata={"nbgrader": build._normalise_nbgrader({"grade_id": grade_id, **meta}, "")})

    source = new_notebook(cells=[
        cell("def answer():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION", "answer", solution=True),
        cell("assert answer() == 42", "test_answer", points=1),
        cell("assert 1 + 1 == 2", "test_later", points=1),
    ], metadata={"kernelspec": build.KERNELSPEC})
    build.write_notebook(source, course / "source" / "probe" / "probe.ipynb")
    build.nbgrader(["generate_assignment", "probe", "--force"], course)
    submission = nbformat.read(course / "release" / "probe" / "probe.ipynb", as_version=4)
    submission.cells[0].source = "def answer():\n    return 42\n\nwhile True:  # a student's endless loop\n    pass"
    autograde.submit(course, "probe", "looper", submission)
    autograde.autograde(course, "probe", ["--Execute.timeout=5"])
    cells = autograde.scores(course, "probe")["looper"]["cells"]
    assert cells["test_later"] == (1.0, 1.0), "cells after the interrupted one still run"
    graded = nbformat.read(course / "autograded" / "looper" / "probe" / "probe.ipynb", as_version=4)
    assert any(o.get("ename") in ("CellTimeoutError", "KeyboardInterrupt") for o in graded.cells[0].outputs)


@pytest.mark.slow
@pytest.mark.parametrize("lesson", [pytest.param(lesson, marks=pytest.mark.xdist_group(lesson)) for lesson in LESSONS])
def test_the_validate_button_passes_a_correct_submission_within_its_cell_timeout(lesson, tmp_path):
    """JupyterLab's Validate button runs `nbgrader validate` with a 30 s cell timeout on the student's server: a
    correct submission must pass it with no cell interrupted (training cells use the smoke budget then)."""
    submission = autograde.make_submission(lesson, autograde.reference_answers(lesson))
    path = tmp_path / f"{lesson}.ipynb"
    build.write_notebook(submission, path)
    log = build.nbgrader(["validate", str(path), "--Execute.timeout=30"], tmp_path, check=False)
    assert "Success! Your notebook passes all the tests." in log, log[-3000:]
