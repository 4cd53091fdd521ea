"""Run lessons end to end: execute solution notebooks in a profile, autograde made-up submissions, write a report."""

import html
import json
import os
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from genlab import autograde, build
from genlab.config import REPO_ROOT

REPORT_DIR = REPO_ROOT / "reports"


def execute(lesson: str, profile: str = "smoke", out_dir: Path = REPORT_DIR / "executed", timeout: int = 900) -> dict:
    """Execute solutions/<lesson>.ipynb in a profile; saves the executed notebook and returns time and results."""
    notebook = nbformat.read(build.SOLUTIONS_DIR / f"{lesson}.ipynb", as_version=4)
    results_dir = Path(out_dir) / "results"
    env = {**os.environ, "GENLAB_PROFILE": profile, "GENLAB_RESULTS_DIR": str(results_dir)}
    env.pop("NBGRADER_EXECUTION", None)
    start = time.time()
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO_ROOT)}})
    client.execute(env=env)  # env reaches the kernel process
    seconds = time.time() - start
    out = Path(out_dir) / f"{lesson}.{profile}.ipynb"
    build.write_notebook(notebook, out)
    results_file = results_dir / f"{lesson}.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    return {"seconds": seconds, "results": results, "notebook": out}


def grade_made_up_submissions(lesson: str, course_dir: Path, tamper: bool = False) -> dict:
    """Autograde the reference answers, the untouched starter and the lesson's wrong answers (grouped so that each
    submission holds at most one mistake per answer cell). Returns points per submission and per mistake.

    With tamper=True, submission wrong-1 also rewrites the test cell that judges its first mistake to `pass`, as a
    student might; nbgrader must restore it, so that mistake must still lose points."""
    build.release(lesson, course_dir)
    reference = autograde.reference_answers(lesson)
    wrongs = autograde.wrong_answers(lesson)
    groups = autograde.group_wrong_answers(wrongs)
    autograde.submit(course_dir, lesson, "reference", autograde.make_submission(lesson, reference))
    autograde.submit(course_dir, lesson, "unanswered", autograde.make_submission(lesson, {}))
    judged_by = autograde.test_cell_after(lesson)
    tampered = {judged_by[groups[0][0]["cell"]]: "pass  # tests? what tests"} if tamper and groups else {}
    for number, group in enumerate(groups, 1):
        answers = reference
        for wrong in group:
            answers = autograde.apply_wrong_answer(answers, wrong)
        edits = tampered if number == 1 else {}
        autograde.submit(course_dir, lesson, f"wrong-{number}", autograde.make_submission(lesson, answers, edits))
    autograde.autograde(course_dir, lesson)
    points = autograde.scores(course_dir, lesson)
    mistakes = []
    for number, group in enumerate(groups, 1):
        cells = points[f"wrong-{number}"]["cells"]
        for wrong in group:
            test = judged_by[wrong["cell"]]
            score, top = cells[test]
            mistakes.append({"cell": wrong["cell"], "why": wrong["why"], "test": test, "score": score, "max": top})
    return {"points": points, "mistakes": mistakes, "tampered": sorted(tampered)}


def _images_html(notebook_path: Path) -> str:
    notebook = nbformat.read(notebook_path, as_version=4)
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                parts.append(f'<img src="data:image/png;base64,{png.strip()}" style="max-width:48%;margin:4px">')
    return "\n".join(parts)


def demo(lessons=None) -> int:
    """`make demo`: build, run each lesson in the smoke profile, autograde made-up submissions, print and report."""
    lessons = build.resolve_lessons(lessons)
    REPORT_DIR.mkdir(exist_ok=True)
    print(f"building {len(lessons)} lesson(s) ...", flush=True)
    build.build(lessons, quiet=True)
    rows, failures = [], []
    with tempfile.TemporaryDirectory() as tmp:
        course_dir = build.fresh_course(Path(tmp) / "course")
        for lesson in lessons:
            print(f"{lesson}: executing the solution (smoke profile) ...", flush=True)
            run = execute(lesson, "smoke")
            print(f"{lesson}: autograding reference, unanswered and wrong submissions ...", flush=True)
            graded = grade_made_up_submissions(lesson, course_dir)
            points = graded["points"]
            wrong_scores = [f"{p['auto']:.0f}" for s, p in sorted(points.items()) if s.startswith("wrong-")]
            metric = {k: v for k, v in run["results"].items() if k != "profile"}
            key_metric = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in
                                   list(metric.items())[:3])
            rows.append((lesson, run["seconds"], points["reference"]["auto"], points["reference"]["max_auto"],
                         points["unanswered"]["auto"], " ".join(wrong_scores), key_metric, graded, run))
            for m in graded["mistakes"]:
                if m["score"] >= m["max"]:
                    failures.append(f"{lesson}: the mistake '{m['why']}' kept full marks in {m['test']}")
            if points["reference"]["auto"] < points["reference"]["max_auto"]:
                failures.append(f"{lesson}: the reference solution lost points: {points['reference']['cells']}")
            if points["unanswered"]["auto"] > 0:
                failures.append(f"{lesson}: the unanswered starter earned {points['unanswered']['auto']} points")

    header = f"{'lesson':24s} {'smoke run':>9s}  {'reference':>9s} {'unanswered':>10s}  {'wrong (per submission)':22s} key metric"
    print("\n" + header + "\n" + "-" * len(header))
    for lesson, seconds, ref, top, blank, wrong, metric, _, _ in rows:
        print(f"{lesson:24s} {seconds:8.0f}s  {ref:4.0f}/{top:<4.0f} {blank:6.0f}/{top:<4.0f}  {wrong:22s} {metric}")
    report = REPORT_DIR / "demo.html"
    report.write_text(_report_html(rows, failures))
    print(f"\nreport with sample figures: {report}")
    for failure in failures:
        print("PROBLEM:", failure)
    return 1 if failures else 0


def _report_html(rows, failures) -> str:
    parts = ["<html><head><meta charset='utf-8'><title>genlab demo</title></head><body style='font-family:sans-serif'>",
             "<h1>genlab demo (smoke profile)</h1><table border=1 cellpadding=4><tr><th>lesson</th><th>run time</th>"
             "<th>reference</th><th>unanswered</th><th>wrong submissions</th><th>results</th></tr>"]
    for lesson, seconds, ref, top, blank, wrong, metric, _, _ in rows:
        parts.append(f"<tr><td>{lesson}</td><td>{seconds:.0f} s</td><td>{ref:.0f}/{top:.0f}</td><td>{blank:.0f}/{top:.0f}"
                     f"</td><td>{html.escape(wrong)}</td><td>{html.escape(metric)}</td></tr>")
    parts.append("</table>")
    parts += [f"<p style='color:red'>PROBLEM: {html.escape(f)}</p>" for f in failures]
    for lesson, *_, graded, run in rows:
        parts.append(f"<h2>{lesson}</h2><h3>Mistakes and the points they earned</h3><ul>")
        parts += [f"<li>{html.escape(m['why'])} ({m['cell']}): {m['score']:.0f}/{m['max']:.0f} in {m['test']}</li>"
                  for m in graded["mistakes"]]
        parts.append("</ul><h3>Figures</h3>" + _images_html(run["notebook"]))
    return "\n".join(parts + ["</body></html>"])
