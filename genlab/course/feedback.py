"""Feedback pages only once a submission is fully graded, and their release to students on JupyterHub.

A lesson with written answers (manually graded cells) is not finished by the autograder: a page written then would
show 0 for every answer not read yet. So feedback is written for a submission only when nbgrader's gradebook says
nothing in it needs manual grading; the others wait (listed by `genlab grade`) until a grader has scored them in
formgrader, and `genlab feedback` writes theirs. `genlab feedback --release` then runs nbgrader's release_feedback,
which puts each page in the exchange for the student to fetch (`nbgrader fetch_feedback` or the Assignments tab).
"""

import shutil
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from genlab.course import build, grading_status, guarded_cells, nbgrader


# nbgrader_config.py imports these two into every nbgrader command: this module must not import torch (2.5 s each).
class HideHiddenTests(Preprocessor):
    """For feedback: drop hidden-test code from test cells and cut tracebacks that would quote it to one line; drop the
    lines the grader added (genlab.course.guarded_cells)."""

    enabled = Bool(True).tag(config=True)  # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.source = guarded_cells.without_added_lines(cell.source)
            for output in cell.get("outputs", []):  # a traceback quotes the guard line as line 1 of the cell
                if output.output_type == "error":
                    output.traceback = [guarded_cells.without_added_lines_quoted(frame) for frame in output.traceback]
        if cell.cell_type == "code" and build.HIDDEN_MARKERS[0] in cell.source:
            cell.source = build.without_hidden_tests(cell.source) + "\n# (hidden tests ran here; their code is not shown)"
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class WrapLongOutputLines(Preprocessor):
    """For feedback: printed text and error messages wrap at the page's edge (a check's hint is one long line, which
    the classic template otherwise cuts off behind a horizontal scroll bar)."""

    enabled = Bool(True).tag(config=True)
    CSS = "div.output_area pre { white-space: pre-wrap; overflow-wrap: anywhere; }"

    def preprocess(self, nb, resources):
        resources.setdefault("inlining", {}).setdefault("css", []).append(self.CSS)
        return nb, resources


def needs_manual_grading(course_dir: Path, lesson: str) -> set:
    """Students whose submission of `lesson` still has a manually graded cell without a score."""
    from nbgrader.api import MissingEntry

    waiting = set()
    with nbgrader.open_gradebook(course_dir) as gradebook:
        try:
            submissions = gradebook.assignment_submissions(lesson)
        except MissingEntry:
            return waiting
        for submission in submissions:
            if submission.needs_manual_grade:
                waiting.add(submission.student_id)
    return waiting


def _autograded_students(course_dir: Path, lesson: str) -> list:
    return sorted(p.parent.parent.name for p in (Path(course_dir) / "autograded").glob(f"*/{lesson}/*.ipynb"))


def generate(course_dir: Path, submissions) -> list:
    """Write the feedback pages of the lessons in `submissions` ((lesson, student) pairs), but none for a submission
    still waiting for manual grading (an earlier page of it is removed). Returns the waiting (lesson, student)."""
    course_dir = Path(course_dir)
    records = grading_status.load(course_dir)
    waiting = []
    for lesson in sorted({lesson for lesson, _ in submissions}):
        students = _autograded_students(course_dir, lesson)
        if not students:
            continue
        nbgrader.command(["generate_feedback", lesson, "--force"], course_dir)
        held = needs_manual_grading(course_dir, lesson)
        for student in students:
            ungraded = records.get(lesson, {}).get(student, {}).get("status") == grading_status.UNGRADED
            if student in held or ungraded:
                shutil.rmtree(course_dir / "feedback" / student / lesson, ignore_errors=True)
            if student in held and not ungraded:
                waiting.append((lesson, student))
    return waiting


def lessons_with_submissions(course_dir: Path) -> list:
    return sorted({p.parent.name for p in (Path(course_dir) / "autograded").glob("*/*/*.ipynb")})


def feedback_command(course_dir: Path, lessons=None, release: bool = False) -> int:
    """`genlab feedback`: pages for every fully graded submission of the chosen lessons (all by default); with
    release, also into the exchange. Prints what still waits; returns the number waiting."""
    course_dir = Path(course_dir)
    chosen = lessons or lessons_with_submissions(course_dir)
    if not chosen:
        raise SystemExit(f"no autograded submissions in {course_dir / 'autograded'}: run `genlab grade` first.")
    waiting = generate(course_dir, [(lesson, None) for lesson in chosen])
    for lesson in chosen:
        ready = sorted(p.parent.name for p in (course_dir / "feedback").glob(f"*/{lesson}"))
        print(f"{lesson}: feedback for {len(ready)} submission(s)")
        if release and ready:
            nbgrader.command(["release_feedback", lesson], course_dir)  # only students with a page get one
            print(f"{lesson}: released to the exchange ({', '.join(ready)})")
    for lesson, student in waiting:
        print(f"  waiting for manual grading: {lesson} {student} (score its written answers in formgrader)")
    return len(waiting)
