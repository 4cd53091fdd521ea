"""How many submissions per minute does `genlab grade` autograde, with 1 worker and with 2?

Each row grades the same made-up submissions of one lesson in a fresh temporary course folder: the reference answers,
the untouched starter and the lesson's realistic wrong answers (autograder/wrong_answers/NN_name.py), one mistake per
submission, cycled until there are --submissions of them. Only the autograde phase is timed (one `nbgrader autograde
--student` process per submission over the workers, as `genlab grade --jobs N` runs it); building the release,
feedback and exports happen once per run and are left out. Scores must agree between rows: a row that disagrees with
the first fails the benchmark. Results go to benchmarks/results/grade_parallel_<device>.json.

Measure on an otherwise idle machine (the issue's target: at least 1.7x with 2 jobs on 2 cores, smoke profile):

    .venv/bin/python benchmarks/grade_parallel.py                      # 12 submissions of 01_autoencoders_vae
    .venv/bin/python benchmarks/grade_parallel.py --submissions 2 --out /tmp/try.json   # a quick check of the script
"""

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from genlab.course import build, grade, nbgrader, parallel

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lesson", default="01_autoencoders_vae")
    parser.add_argument("--submissions", type=int, default=12)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, default=None, help="results file (default: results/grade_parallel_<device>.json)")
    return parser.parse_args(argv)


def made_up_submissions(lesson: str, count: int) -> dict:
    """student -> notebook: reference, starter, then one realistic mistake each, cycled to `count`."""
    reference = grade.reference_answers(lesson)
    variants = [reference, {}] + [grade.apply_wrong_answer(reference, wrong) for wrong in grade.wrong_answers(lesson)]
    return {f"student-{i:02d}": grade.make_submission(lesson, variants[i % len(variants)]) for i in range(count)}


def grade_row(lesson: str, submissions: dict, jobs: int, gpus: list) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"grade_parallel_{jobs}_") as folder:
        course = nbgrader.fresh_course(Path(folder))
        for student, notebook in submissions.items():
            grade.submit(course, lesson, student, notebook)
        grade.prepare_lesson(course, lesson)
        nbgrader.prepare_gradebook(course, {student: {} for student in submissions}, {})
        start = time.perf_counter()
        outcomes = parallel.grade_submissions(course, [(lesson, s) for s in submissions], jobs=jobs, gpus=gpus)
        seconds = time.perf_counter() - start
        scores = {student: result["auto"] for student, result in nbgrader.scores(course, lesson).items()}
    ungraded = {o.student: o.reason for o in outcomes if not o.graded}
    return {"jobs": jobs, "seconds": round(seconds, 1), "submissions_per_minute": round(60 * len(submissions) / seconds, 2),
            "ungraded": ungraded, "scores": scores}


def main(argv=None):
    args = parse_args(argv)
    lesson = build.resolve_lessons([args.lesson])[0]
    gpus = parallel.gpu_ids()
    device = "cuda" if gpus else "cpu"
    submissions = made_up_submissions(lesson, args.submissions)
    load_before = os.getloadavg()
    rows = []
    for jobs in args.jobs:
        row = grade_row(lesson, submissions, jobs, gpus)
        print(f"jobs={jobs}: {row['seconds']} s, {row['submissions_per_minute']} submissions/min"
              + (f", UNGRADED {row['ungraded']}" if row["ungraded"] else ""), flush=True)
        rows.append(row)
    if any(row["scores"] != rows[0]["scores"] or row["ungraded"] for row in rows):
        raise SystemExit("rows disagree on scores or left submissions ungraded; see above")
    for row in rows:
        row["speedup_vs_first"] = round(rows[0]["seconds"] / row["seconds"], 2)
        del row["scores"], row["ungraded"]
    import nbgrader as nbgrader_package
    import torch

    result = {"benchmark": "grade_parallel", "lesson": lesson, "submissions": args.submissions, "device": device,
              "gpus": gpus, "cpu_count": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
              "profile": os.environ.get("GENLAB_AUTOGRADE_PROFILE", "smoke"), "python": platform.python_version(),
              "torch": torch.__version__, "nbgrader": nbgrader_package.__version__, "rows": rows}
    out = args.out or RESULTS_DIR / f"grade_parallel_{device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"speed-up with {rows[-1]['jobs']} jobs: {rows[-1]['speedup_vs_first']}x -> {out}")


if __name__ == "__main__":
    main()
