"""Calling nbgrader, in one place: its commands run in a course folder, and its gradebook read back as points.

Building a release and grading submissions both go through here, so a course folder is always handled the same way.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# Not from genlab.config, which imports torch: the grading sandbox imports this module at every kernel start.
REPO_ROOT = Path(__file__).resolve().parents[2]
COURSE_DIR = REPO_ROOT / "autograder"  # the instructor's nbgrader course (config; run-time folders are git-ignored)
COURSE_FILES = ("nbgrader_config.py", "course.toml")  # what a course folder needs besides its run-time folders
GRADEBOOK_URL_VARIABLE = "GENLAB_GRADEBOOK_URL"
# SQLite lets one writer in at a time; the others wait up to this many seconds (pysqlite's default is 5) before
# failing with "database is locked". Parallel graders each write a few rows per submission, so a minute is ample.
SQLITE_BUSY_TIMEOUT_S = 60


def gradebook_url(course_dir: Path = COURSE_DIR) -> str:
    """The gradebook nbgrader and genlab use for a course folder: $GENLAB_GRADEBOOK_URL (for example
    postgresql+psycopg2://grader@/genlab?host=/run/postgresql: say +psycopg2, as SQLAlchemy 2.1 defaults to psycopg 3),
    else [gradebook] url in course.toml, else SQLite in the folder."""
    from genlab.course import course_config

    url = os.environ.get(GRADEBOOK_URL_VARIABLE) or course_config.load(course_dir).gradebook_url
    if url:
        return url
    return f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}?timeout={SQLITE_BUSY_TIMEOUT_S}"


def gradebook_shown(course_dir: Path = COURSE_DIR) -> str:
    """The gradebook URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(gradebook_url(course_dir)).render_as_string(hide_password=True)


def _environment() -> dict:
    env = dict(os.environ)  # nbgrader calls the `alembic` script, which sits beside this interpreter
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def command(args, course_dir: Path = COURSE_DIR, check: bool = True, env: dict | None = None) -> str:
    """Run `nbgrader <args>` in a course folder (env: extra variables); its output is returned (and shown on failure)."""
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir, capture_output=True, text=True,
                         env={**_environment(), **(env or {})})
    if check and run.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed in {course_dir}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    if check and config_error(run.stdout + run.stderr):  # nbgrader then goes on without it: no sandbox, no guards
        raise RuntimeError(f"nbgrader {' '.join(args)} in {course_dir} went on without nbgrader_config.py, which "
                           f"raised {config_error(run.stdout + run.stderr)}:\n{(run.stdout + run.stderr)[-3000:]}")
    return run.stdout + run.stderr


def _kill_tree(process: subprocess.Popen):
    """SIGKILL nbgrader and everything under it. Killing its process group is not enough: jupyter_client starts each
    kernel in a session (and process group) of its own, so the kernel and its children are found by walking the tree."""
    import psutil

    try:
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    groups = set()
    for member in tree:
        try:
            groups.add(os.getpgid(member.pid))
        except ProcessLookupError:
            pass
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    process.wait()


_running = set()  # nbgrader processes run_limited started that have not ended: what Ctrl-C must stop
_running_lock = threading.Lock()


def kill_running():
    """Kill every nbgrader that run_limited started and that still runs, with its kernel. Each runs in a session of
    its own (so that its whole tree can be found and killed), which also means Ctrl-C in a terminal does not reach it."""
    with _running_lock:
        processes = list(_running)
    for process in processes:
        _kill_tree(process)


def run_limited(args, course_dir: Path, timeout_s: float | None = None, env: dict | None = None) -> dict:
    """Run `nbgrader <args>` with a wall-clock limit on the whole command: past it, nbgrader, its kernel and their
    children are killed. Returns returncode, timed_out, seconds and the combined log."""
    start = time.monotonic()
    with tempfile.TemporaryFile("w+") as log:  # a file, not a pipe: a chatty kernel cannot fill it and stall nbgrader
        process = subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=course_dir, stdout=log,
                                   stderr=subprocess.STDOUT, env={**_environment(), **(env or {})},
                                   start_new_session=True)
        with _running_lock:
            _running.add(process)
        try:
            process.wait(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill_tree(process)
            timed_out = True
        finally:
            with _running_lock:
                _running.discard(process)
        log.seek(0)
        text = log.read()
    return {"returncode": process.returncode, "timed_out": timed_out, "seconds": time.monotonic() - start, "log": text}


def failure_reason(log: str) -> str:
    """The most telling line of a failed nbgrader run: the last exception raised, else its last ERROR line."""
    exceptions = re.findall(r"^\s*((?:[\w.]+\.)?\w*(?:Error|Exception|Interrupt|Exit)\b:?.*)$", log, re.M)
    if exceptions:
        return exceptions[-1].strip()[:300]
    errors = [line for line in log.splitlines() if "| ERROR]" in line]
    return errors[-1].split("]", 1)[-1].strip()[:300] if errors else ""


def config_error(log: str) -> str:
    """The exception that stopped nbgrader_config.py from loading, from nbgrader's log ('' if none)."""
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if "Exception while loading config file" in line:
            errors = [later.strip() for later in lines[index:index + 60] if re.match(r"\s*\w+(Error|Exception)\b", later)]
            return errors[0][:300] if errors else line.strip()[:300]
    return ""


def fresh_course(target: Path) -> Path:
    """A throw-away copy of the nbgrader course (config only) in `target`, for tests and the demo."""
    target.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FILES:
        if (COURSE_DIR / name).exists():
            shutil.copy(COURSE_DIR / name, target / name)
    return target


def autograde(course_dir: Path, lesson: str, extra_args=(), graded_cells_only: bool = False, forked: bool = False,
              feedback: bool = True) -> str:
    """Autograde every submission of one lesson in a course folder, then (feedback=True) write feedback for all of
    them (hidden tests removed). graded_cells_only: execute up to the last graded cell only (same points; see
    genlab.course.graded_cells_only). forked: made-up submissions only, in forks instead of kernels
    (genlab.course.forked_cells)."""
    from genlab.course import forked_cells  # here: they import nbconvert (seconds)
    from genlab.course import graded_cells_only as tail

    env = {**({tail.VARIABLE: "1"} if graded_cells_only else {}), **({forked_cells.VARIABLE: "1"} if forked else {})}
    log = command(["autograde", lesson, "--force", *extra_args], course_dir, env=env)
    if feedback:
        log += generate_feedback(course_dir, lesson)
    return log


def students_args(course_dir: Path, lesson: str, students, stage: str = "submitted") -> list:
    """nbgrader arguments that select exactly `students` (ids) among a lesson's submissions (or, with
    stage="autograded", its autograded notebooks): --student takes one glob, the rest are excluded by name."""
    present = {p.parent.name for p in Path(course_dir).glob(f"{stage}/*/{lesson}")}
    others = sorted(present - set(students))
    return ["--student", "*", *([f"--CourseDirectory.student_id_exclude={','.join(others)}"] if others else [])]


def generate_feedback(course_dir: Path, lesson: str, students=None) -> str:
    """Feedback pages for the autograded submissions of one lesson: all of them, or only `students` (ids)."""
    only = [] if students is None else students_args(course_dir, lesson, students, stage="autograded")
    return command(["generate_feedback", lesson, "--force", *only], course_dir)


def export_grades(course_dir: Path, to: Path | None = None) -> Path:
    """nbgrader's own long CSV: one row per assignment and student in the gradebook."""
    to = Path(to or Path(course_dir) / "grades.csv")
    command(["export", "--to", str(to)], course_dir)
    return to


# ---------------------------------------------------------------------------------------------------- gradebook
def open_gradebook(course_dir: Path):
    from nbgrader.api import Gradebook

    return Gradebook(gradebook_url(course_dir))


def prepare_gradebook(course_dir: Path, students: dict, due_dates: dict):
    """Before parallel grading, after `generate_assignment` (which creates the schema and the course row): the rows
    several graders would otherwise race to create. nbgrader adds a student on first sight, and its late-penalty step
    opens the gradebook under the course id "default_course" (created here by opening it so); two processes inserting
    the same row at once make one of them fail.
    students: id -> {first_name, last_name, email}; due_dates: assignment -> datetime (UTC) or None."""
    with open_gradebook(course_dir) as gradebook:
        for student_id, fields in students.items():
            gradebook.update_or_create_student(student_id, **fields)
        for assignment, due in due_dates.items():
            gradebook.update_or_create_assignment(assignment, duedate=due)


def scores(course_dir: Path, lesson: str) -> dict:
    """student -> {"auto": points, "max_auto": points, "cells": {grade_id: (score, max)}} from the gradebook."""
    results = {}
    with open_gradebook(course_dir) as gradebook:
        for submission in gradebook.assignment_submissions(lesson):
            notebook = gradebook.find_submission_notebook(lesson, lesson, submission.student_id)
            cells = {g.name: (g.score, g.max_score) for g in notebook.grades if g.cell.cell_type == "code"}
            results[submission.student_id] = {
                "auto": sum(score for score, _ in cells.values()),
                "max_auto": sum(top for _, top in cells.values()),
                "max_total": sum(g.max_score for g in notebook.grades),
                "cells": cells,
                "late_penalty": submission.late_submission_penalty,
                "seconds_late": submission.total_seconds_late,
            }
    return results
