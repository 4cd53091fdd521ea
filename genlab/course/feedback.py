"""Feedback pages only once a submission is fully graded, and their release to students on JupyterHub.

A lesson with written answers (manually graded cells) is not finished by the autograder: a page written then would
show 0 for every answer not read yet. So feedback is written for a submission only when nbgrader's gradebook says
nothing in it needs manual grading; the others wait (listed by `genlab grade`) until a grader has scored them in
formgrader, and `genlab feedback` writes theirs. `genlab feedback --release` then runs nbgrader's release_feedback,
which puts each page in the exchange for the student to fetch (`nbgrader fetch_feedback` or the Assignments tab).
"""

import shutil
from pathlib import Path

from genlab.course import grading_status, nbgrader


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
