"""The autograding loop on made-up submissions: reference -> full marks, unanswered -> 0, each answer left unanswered
alone loses exactly its own cells' points (a mistake costs points once), each realistic mistake loses points in its
own cells only, a tampered test cell is restored, hidden tests never reach feedback.

Each lesson's submissions are graded in one nbgrader run, and one test checks every rule on it."""

import csv
import html

import nbformat
import pytest

from genlab.course import build, demo, grade, nbgrader

LESSONS = build.lesson_names()


def _no_grading_violations(lesson, course, outcome):
    """The reference gets full marks, the starter none, each answer left unanswered alone costs exactly its own
    cells' points, and each realistic mistake loses points in its own cells only (demo.grading_violations)."""
    yield from demo.grading_violations(outcome)


def _the_made_up_submissions_cover_the_lesson(lesson, course, outcome):
    if outcome["points"]["reference"]["max_auto"] <= 0:
        yield "the lesson has no automatically graded points"
    if not len(outcome["cascade"]) == len(outcome["judged_by"]) >= 4:
        yield f"expected one skip-<answer> submission per code answer (at least 4), got {len(outcome['cascade'])}"
    mistakes = [m for m in outcome["mistakes"] if not m.get("leak")]
    if len(mistakes) < 5:
        yield f"{lesson} needs at least five realistic wrong answers, has {len(mistakes)}"
    if len({m["cell"] for m in mistakes}) < 4:
        yield "the wrong answers should cover at least four answer cells"


def _a_tampered_test_cell_is_restored(lesson, course, outcome):
    [test_id] = outcome["tampered"]  # the first test cell of the first mistake's exercise
    autograded = nbformat.read(course / "autograded" / "wrong-1" / lesson / f"{lesson}.ipynb", as_version=4)
    cell = next(c for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == test_id)
    if "what tests" in cell.source or build.HIDDEN_MARKERS[0] not in cell.source:
        yield f"the tampered test cell {test_id} was not restored before grading"


def _feedback_exists_and_hides_hidden_tests(lesson, course, outcome):
    hidden = build.hidden_test_lines(lesson)
    if not {"reference", "unanswered"} <= set(outcome["feedback_for"]):
        yield f"feedback was written for {outcome['feedback_for']} only: reference and unanswered show most"
    for student in outcome["feedback_for"]:
        page = course / "feedback" / student / lesson / f"{lesson}.html"
        if not page.exists():
            yield f"no feedback page for {student}"
            continue
        text = html.unescape(page.read_text())
        leaked = [line for line in hidden if line in text]
        if leaked:
            yield f"feedback for {student} shows hidden test lines: {leaked[:2]}"


def _grades_export_lists_every_submission(lesson, course, outcome):
    rows = list(csv.DictReader(open(nbgrader.export_grades(course))))
    exported = {r["student_id"] for r in rows if r["assignment"] == lesson}
    if exported != set(outcome["points"]):
        yield f"grades.csv lists {sorted(exported)}, expected {sorted(outcome['points'])}"


RULES = [_no_grading_violations, _the_made_up_submissions_cover_the_lesson, _a_tampered_test_cell_is_restored,
         _feedback_exists_and_hides_hidden_tests, _grades_export_lists_every_submission]


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_grading_follows_the_rules(lesson, tmp_path):
    """One nbgrader run grades all of a lesson's made-up submissions (a few minutes); every rule is then checked on
    that one run and all broken rules are reported together. (One test per lesson, not one per rule: with pytest 9.2,
    pytest-xdist 3.8's xdist_group no longer keeps tests on one worker, so per-rule tests graded each lesson twice.)"""
    course = nbgrader.fresh_course(tmp_path / "course")
    outcome = demo.grade_made_up_submissions(lesson, course, tamper=True)
    demo.save_grading_report(lesson, outcome)  # reports/grading/<lesson>.txt, for the instructor's eyes
    problems = [f"{rule.__name__.strip('_')}: {problem}" for rule in RULES for problem in rule(lesson, course, outcome)]
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("lesson", ["02_gan"])
def test_the_validate_button_passes_a_correct_submission_within_its_cell_timeout(lesson, tmp_path):
    """JupyterLab's Validate button runs `nbgrader validate` with a 30 s cell timeout on the student's server: a
    correct submission must pass it with no cell interrupted (training cells use the smoke budget then). One lesson
    goes through nbgrader here; for every lesson, nbval's run of the solution (smoke profile, the same cells and
    budgets) fails any cell over 30 s (genlab.course.notebook_tests)."""
    submission = grade.make_submission(lesson, grade.reference_answers(lesson))
    path = tmp_path / f"{lesson}.ipynb"
    build.write_notebook(submission, path)
    log = nbgrader.command(["validate", str(path), "--Execute.timeout=30"], tmp_path, check=False)
    assert "Success! Your notebook passes all the tests." in log, log[-3000:]
