"""`genlab grade --slurm`: grading on a Slurm cluster. One array task per submission (`--gres=gpu:1`, `--time`), then
a job that depends on the whole array (`--dependency=afterany`) writes feedback and the exports.

The course folder must be on a filesystem every node mounts, and the gradebook a shared Postgres (GENLAB_GRADEBOOK_URL
or course.toml; SQLite on a network filesystem locks badly). Each run lives in `slurm_run/<time>/` in the course
folder: submissions.txt (task i grades line i), plan.json, outcomes/<i>.json written by each task, the logs.
Tasks write only their own outcome file; the final job alone merges them into grading_status.json, so no two
machines ever write the same file. A task that ends without an outcome (past --time, node failure, cancelled) is
reported ungraded with that reason, never left as nbgrader's 0.
"""

import json
import math
import os
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from genlab.course import grade, grading_status, nbgrader, parallel

SCRIPTS = nbgrader.COURSE_DIR / "slurm"
RUNS_DIR = "slurm_run"


def task_time_limit(timeout_s: float | None, retries: int = 1) -> str:
    """Slurm's --time for one task: the submission limit for each attempt plus start-up, in whole minutes; two hours
    without a limit (nbgrader's per-cell limit still applies inside)."""
    if not timeout_s:
        return "02:00:00"
    minutes = math.ceil(((1 + retries) * timeout_s + 120) / 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def _sbatch(args: list) -> str:
    run = subprocess.run(["sbatch", "--parsable", *args], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"sbatch {' '.join(args)} failed: {run.stderr.strip() or run.stdout.strip()}")
    return run.stdout.strip().split(";")[0]


def submit(course_dir: Path, lessons=None, students=None, only_new: bool = False, timeout_s: float | None = None,
           roster_path: Path | None = None, max_running: int | None = None, gres: str = "gpu:1",
           sbatch_args=(), nbgrader_args=()) -> dict:
    """Prepare the run (as `genlab grade` does before grading), submit the array and the final job; returns the run
    folder and both job ids. Needs `sbatch` on PATH (a login node)."""
    course_dir = Path(course_dir).resolve()
    if not any((Path(p) / "sbatch").exists() for p in os.environ.get("PATH", "").split(os.pathsep)):
        raise SystemExit("--slurm needs `sbatch` on PATH: run it on a Slurm login node (or use --jobs N here).")
    with grading_status.sole_grader(course_dir):
        plan = grade.prepare(course_dir, lessons, students, only_new, roster_path)
    if not plan["to_grade"]:
        raise SystemExit("nothing to grade: every chosen submission is unchanged since its last grade (--only-new).")
    run_dir = course_dir / RUNS_DIR / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    (run_dir / "outcomes").mkdir(parents=True)
    (run_dir / "submissions.txt").write_text("".join(f"{lesson} {student}\n" for lesson, student in plan["to_grade"]))
    (run_dir / "plan.json").write_text(json.dumps({
        "course_dir": str(course_dir), "timeout_s": timeout_s, "nbgrader_args": list(nbgrader_args),
        "roster": str(roster_path) if roster_path else None, "skipped": plan["skipped"],
        "hashes": {f"{lesson} {student}": h for (lesson, student), h in plan["hashes"].items()}}, indent=1))
    count = len(plan["to_grade"])
    common = [f"--export=ALL,GENLAB_PYTHON={sys.executable}", f"--chdir={course_dir}", *sbatch_args]
    array = _sbatch([*common, f"--array=0-{count - 1}" + (f"%{max_running}" if max_running else ""),
                     f"--time={task_time_limit(timeout_s)}", *([f"--gres={gres}"] if gres else []),
                     f"--output={run_dir}/task-%a.out", str(SCRIPTS / "grade_array.sbatch"), str(run_dir)])
    final = _sbatch([*common, f"--dependency=afterany:{array}", f"--output={run_dir}/finish.out",
                     str(SCRIPTS / "finish.sbatch"), str(run_dir)])
    print(f"gradebook: {nbgrader.gradebook_shown(course_dir)}")
    print(f"submitted {count} submission(s) as Slurm array job {array} (one task each, --gres={gres or 'none'}, "
          f"--time={task_time_limit(timeout_s)}); feedback and exports: job {final}, after the array ends.\n"
          f"run folder: {run_dir}  (watch: squeue -j {array},{final})")
    return {"run_dir": run_dir, "array_job": array, "final_job": final, "count": count}


def _plan(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "plan.json").read_text())


def grade_task(run_dir: Path, index: int) -> int:
    """One array task: grade line `index` of submissions.txt (retried once, as with --jobs), write its outcome."""
    run_dir = Path(run_dir)
    plan = _plan(run_dir)
    lines = (run_dir / "submissions.txt").read_text().split("\n")
    if not 0 <= index < len([line for line in lines if line]):
        raise SystemExit(f"task {index}: {run_dir}/submissions.txt has no line {index}.")
    lesson, student = lines[index].split(" ", 1)
    # Slurm's gres sets CUDA_VISIBLE_DEVICES to the task's GPU: the worker keeps it (gpus=[] adds none of its own)
    [outcome] = parallel.grade_submissions(Path(plan["course_dir"]), [(lesson, student)], jobs=1,
                                           timeout_s=plan["timeout_s"], nbgrader_args=plan["nbgrader_args"], gpus=[])
    record = {"lesson": lesson, "student": student, "graded": outcome.graded, "reason": outcome.reason,
              "attempts": outcome.attempts, "seconds": outcome.seconds, "host": socket.gethostname(),
              "gpu": os.environ.get("CUDA_VISIBLE_DEVICES"), "job": os.environ.get("SLURM_JOB_ID")}
    partial = run_dir / "outcomes" / f"{index}.json.partial"
    partial.write_text(json.dumps(record))
    partial.replace(run_dir / "outcomes" / f"{index}.json")
    print(f"{lesson} {student}: {'graded' if outcome.graded else 'UNGRADED: ' + outcome.reason}")
    return 0


def finish_run(run_dir: Path) -> dict:
    """The final job: every task's outcome (or the lack of one) into grading_status.json, feedback, exports."""
    run_dir = Path(run_dir)
    plan = _plan(run_dir)
    course_dir = Path(plan["course_dir"])
    outcomes = []
    with grading_status.sole_grader(course_dir):
        records = grading_status.load(course_dir)
        lines = [line for line in (run_dir / "submissions.txt").read_text().split("\n") if line]
        for index, line in enumerate(lines):
            lesson, student = line.split(" ", 1)
            path = run_dir / "outcomes" / f"{index}.json"
            if path.exists():
                saved = json.loads(path.read_text())
                outcome = parallel.Outcome(lesson, student, saved["graded"], saved["reason"], saved["attempts"],
                                           saved["seconds"], saved["gpu"])
            else:
                outcome = parallel.Outcome(lesson, student, False, "the Slurm task ended without a result (past its "
                                           f"--time, node failure or cancelled): see {run_dir}/task-{index}.out", 1,
                                           0.0, None)
            grade.record_outcome(course_dir, records, outcome, plan["hashes"][line])
            outcomes.append(outcome)
        students_by_id = grade.load_roster(course_dir, Path(plan["roster"]) if plan["roster"] else None)
        return grade.finish(course_dir, outcomes, [tuple(s) for s in plan["skipped"]], students_by_id)
