"""Calling nbgrader, in one place: its commands run in a course folder, and its gradebook read back as points.

Building a release and grading submissions both go through here, so a course folder is always handled the same way.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from genlab.config import REPO_ROOT

COURSE_DIR = REPO_ROOT / "autograder"  # the instructor's nbgrader course (config; run-time folders are git-ignored)


def command(args, course_dir: Path = COURSE_DIR, check: bool = True) -> str:
    """Run `nbgrader <args>` in a course folder; its output is returned (and shown on failure)."""
    env = dict(os.environ)  # nbgrader calls the `alembic` script, which sits beside this interpreter
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir, capture_output=True, text=True, env=env)
    if check and run.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed in {course_dir}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return run.stdout + run.stderr


def fresh_course(target: Path) -> Path:
    """A throw-away copy of the nbgrader course (config only) in `target`, for tests and the demo."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(COURSE_DIR / "nbgrader_config.py", target / "nbgrader_config.py")
    return target


def autograde(course_dir: Path, lesson: str, extra_args=()) -> str:
    """Autograde every submission of one lesson in a course folder, then write feedback (hidden tests removed)."""
    log = command(["autograde", lesson, "--force", *extra_args], course_dir)
    log += command(["generate_feedback", lesson, "--force"], course_dir)
    return log


def export_grades(course_dir: Path) -> Path:
    command(["export", "--to", str(Path(course_dir) / "grades.csv")], course_dir)
    return Path(course_dir) / "grades.csv"


def scores(course_dir: Path, lesson: str) -> dict:
    """student -> {"auto": points, "max_auto": points, "cells": {grade_id: (score, max)}} from the gradebook."""
    from nbgrader.api import Gradebook

    results = {}
    with Gradebook(f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}") as gradebook:
        for submission in gradebook.assignment_submissions(lesson):
            notebook = gradebook.find_submission_notebook(lesson, lesson, submission.student_id)
            cells = {g.name: (g.score, g.max_score) for g in notebook.grades if g.cell.cell_type == "code"}
            results[submission.student_id] = {
                "auto": sum(score for score, _ in cells.values()),
                "max_auto": sum(top for _, top in cells.values()),
                "max_total": sum(g.max_score for g in notebook.grades),
                "cells": cells,
            }
    return results
