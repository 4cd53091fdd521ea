"""Autograde many submissions at once: one `nbgrader autograde LESSON --student S --force` process per submission,
over N workers, each with its own GPU where there are GPUs. nbgrader itself grades one submission after another
(its issue #174); separate processes per submission also mean one crash or hang costs one submission, not the run.

Every exit is checked: a grade that fails or runs past the per-submission limit is retried once, then reported as
ungraded with its reason, never left as the 0 that nbgrader writes into the gradebook for it."""

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from genlab.course import guarded_cells, nbgrader


@dataclass(frozen=True)
class Outcome:
    lesson: str
    student: str
    graded: bool
    reason: str  # why it is ungraded ("" when graded)
    attempts: int
    seconds: float
    gpu: str | None


def gpu_ids() -> list:
    """The GPUs workers may use: those in CUDA_VISIBLE_DEVICES when it is set, else every GPU nvidia-smi (or torch)
    sees; [] without GPUs."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [gpu.strip() for gpu in visible.split(",") if gpu.strip() and gpu.strip() != "-1"]
    if shutil.which("nvidia-smi"):
        try:
            listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
            return [str(i) for i, line in enumerate(listing.splitlines()) if line.startswith("GPU ")]
        except (subprocess.SubprocessError, OSError):
            return []
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        return []


def worker_environment(worker: int, jobs: int, gpus: list) -> dict:
    """Worker w sees one GPU, gpus[w % len(gpus)], as cuda:0. On CPU, workers share the cores instead of each
    starting one thread per core (which oversubscribes them); a thread count set by the caller is kept."""
    env = {}
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = gpus[worker % len(gpus)]
    if "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // jobs))
    return env


def autograded_notebooks(course_dir: Path, lesson: str, student: str) -> list:
    return sorted((Path(course_dir) / "autograded" / student / lesson).glob("*.ipynb"))


def grade_one(course_dir: Path, lesson: str, student: str, timeout_s: float | None, env: dict, nbgrader_args=()) -> str:
    """One attempt; returns "" when graded, else why not."""
    run = nbgrader.run_limited(["autograde", lesson, "--student", student, "--force", *nbgrader_args], course_dir,
                               timeout_s=timeout_s, env=env)
    if run["timed_out"]:
        # nbgrader removes a failed submission's autograded folder itself; a killed one cannot, so do it for it
        shutil.rmtree(Path(course_dir) / "autograded" / student / lesson, ignore_errors=True)
        return f"ran past the {timeout_s:g} s limit per submission (killed)"
    if run["returncode"] != 0:
        how = f"killed by signal {-run['returncode']}" if run["returncode"] < 0 else f"exit status {run['returncode']}"
        detail = nbgrader.failure_reason(run["log"])
        return f"nbgrader failed ({how})" + (f": {detail}" if detail else "")
    notebooks = autograded_notebooks(course_dir, lesson, student)
    if not notebooks:
        return "nbgrader exited 0 but wrote no autograded notebook: " + (nbgrader.failure_reason(run["log"]) or "no log")
    if not all(guarded_cells.was_guarded(path) for path in notebooks):
        # nbgrader logs a config file that raises and goes on without it: no guard, no sandbox. Not a grade to keep.
        return ("graded without genlab's guard (the course's nbgrader_config.py did not load: "
                + (nbgrader.config_error(run["log"]) or "see nbgrader's log") + ")")
    return ""


class Pending:
    """The submissions of one process's run: a worker takes the next one whose student no other worker grades now
    (two lessons of one student would write the same gradebook rows). genlab.course.claims.ClaimQueue is the same
    thing shared through Postgres by several machines."""

    def __init__(self, submissions: list, on_outcome=None):
        self.pending, self.on_outcome = list(submissions), on_outcome
        self.busy_students, self.lock = set(), threading.Condition()

    def take(self, worker: int, stopping) -> tuple | None:
        with self.lock:
            while self.pending and not stopping.is_set():
                ready = next((s for s in self.pending if s[1] not in self.busy_students), None)
                if ready:
                    self.pending.remove(ready)
                    self.busy_students.add(ready[1])
                    return ready
                self.lock.wait()
            return None

    def done(self, worker: int, outcome: "Outcome"):
        with self.lock:  # on_outcome runs here too, so callers need no lock of their own
            self.busy_students.discard(outcome.student)
            self.lock.notify_all()
            if self.on_outcome:
                self.on_outcome(outcome)

    def wake(self):
        with self.lock:
            self.lock.notify_all()


def grade_submissions(course_dir: Path, submissions: list, jobs: int = 1, timeout_s: float | None = None,
                      retries: int = 1, nbgrader_args=(), gpus: list | None = None, on_outcome=None,
                      queue=None) -> list:
    """Grade (lesson, student) pairs over `jobs` workers; the gradebook must already hold the lessons and students
    (see nbgrader.prepare_gradebook). A student is never graded twice at once. `on_outcome(outcome)` is called as
    each one ends, one call at a time. `queue` (default: a Pending of `submissions`) hands out the work instead."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    gpus = gpu_ids() if gpus is None else gpus
    queue = Pending(submissions, on_outcome) if queue is None else queue
    outcomes, outcomes_lock = [], threading.Lock()
    stopping = threading.Event()  # set on Ctrl-C: no new attempt starts

    def work(worker: int):
        env = worker_environment(worker, jobs, gpus)
        while (submission := queue.take(worker, stopping)) is not None:
            lesson, student = submission
            start, reasons = time.monotonic(), []
            for _ in range(1 + retries):
                if stopping.is_set():
                    return
                reason = grade_one(course_dir, lesson, student, timeout_s, env, nbgrader_args)
                if not reason:
                    break
                reasons.append(reason)
            graded = not reason
            why = "" if graded else (reasons[-1] if len(set(reasons)) == 1 else "; then ".join(reasons))
            outcome = Outcome(lesson, student, graded, why, len(reasons) + graded, time.monotonic() - start,
                              env.get("CUDA_VISIBLE_DEVICES"))
            with outcomes_lock:
                outcomes.append(outcome)
            queue.done(worker, outcome)

    workers = jobs if submissions is None else min(jobs, len(submissions)) or 1
    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                # in short waits: Linux may deliver Ctrl-C's SIGINT to a worker thread, and a join() without a timeout
                # would then sleep on until the grades end before the main thread runs Python's handler
                thread.join(timeout=0.5)
    except KeyboardInterrupt:  # the graders run in sessions of their own, so Ctrl-C reaches only this process
        stopping.set()
        queue.wake()
        nbgrader.kill_running()
        raise
    return sorted(outcomes, key=lambda o: (o.lesson, o.student))
