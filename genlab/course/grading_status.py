"""What genlab knows about each submission beyond the gradebook: whether its last grade ran to the end (graded) or
not (ungraded, with the reason), and a hash of what was graded, for `--only-new`. Kept in grading_status.json in the
course folder; only the parent `genlab grade` process writes it. With --claim the shared truth is the gradebook's
genlab_claims table (genlab.course.claims), written into this file at the end of each claim run."""

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

FILE_NAME = "grading_status.json"
LOCK_NAME = ".genlab_grade.lock"
GRADED, UNGRADED, MISSING = "graded", "ungraded", "missing"


def submission_hash(course_dir: Path, lesson: str, student: str) -> str:
    """sha256 over every file of the submission and over the lesson's source notebook: a changed test regrades too."""
    course_dir = Path(course_dir)
    digest = hashlib.sha256()
    for folder in (course_dir / "submitted" / student / lesson, course_dir / "source" / lesson):
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts):
            digest.update(str(path.relative_to(course_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def load(course_dir: Path) -> dict:
    """lesson -> student -> {status, reason, hash, attempts, seconds}."""
    path = Path(course_dir) / FILE_NAME
    return json.loads(path.read_text()) if path.exists() else {}


def save(course_dir: Path, records: dict):
    path = Path(course_dir) / FILE_NAME
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")
    partial.replace(path)  # atomic: an interrupted run never leaves half a file


@contextmanager
def sole_grader(course_dir: Path, shared: bool = False):
    """Held for a whole `genlab grade` run: a second run in the same course folder would grade the same submissions
    twice at once and overwrite this file. `genlab grade --claim` runs hold it shared: they may run together (their
    claims in Postgres keep them apart, and only one at a time writes this file), but not beside a plain run. The lock
    goes with the process, also when it is killed."""
    with open(Path(course_dir) / LOCK_NAME, "a+") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise SystemExit(f"another `genlab grade` ({holder}) is grading in {course_dir}; wait for it to end, or "
                             "stop it, then run again." + ("" if holder.startswith("pid") else
                                                          " Several `genlab grade --claim` runs may share a folder; "
                                                          "a run without --claim may not join them.")) from None
        handle.truncate(0)
        handle.write("--claim runs (see the gradebook's genlab_claims table)\n" if shared else f"pid {os.getpid()}\n")
        handle.flush()
        yield
