"""Run lessons end to end: execute solution notebooks in a profile, autograde made-up submissions, write a report."""

import html
import json
import os
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from genlab.config import REPO_ROOT
from genlab.course import build, grade, nbgrader

REPORT_DIR = REPO_ROOT / "reports"
FORKED = "forked-"  # a copy of a kernel-graded made-up submission, graded in a fork (grade_made_up_submissions)


def execute(lesson: str, profile: str = "smoke", out_dir: Path = REPORT_DIR / "executed", timeout: int | None = None) -> dict:
    """Execute solutions/<lesson>.ipynb in a profile and save the executed notebook, also when a cell fails or runs
    past `timeout` seconds (per cell; None = no limit, the default outside smoke). Returns time, results, the saved
    notebook and `error` (None, or what stopped the run)."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    if timeout is None and profile == "smoke":
        timeout = 300  # a smoke lesson takes about a minute; anything longer is a hang
    notebook = nbformat.read(build.SOLUTIONS_DIR / f"{lesson}.ipynb", as_version=4)
    results_dir = Path(out_dir) / "results"
    results_file = results_dir / f"{lesson}.json"
    results_file.unlink(missing_ok=True)
    env = {**os.environ, "GENLAB_PROFILE": profile, "GENLAB_RESULTS_DIR": str(results_dir)}
    env.pop("NBGRADER_EXECUTION", None)
    start = time.time()
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO_ROOT)}})
    error = None
    try:
        client.execute(env=env)  # env reaches the kernel process
    except (CellExecutionError, CellTimeoutError) as failure:
        error = f"{type(failure).__name__}: {str(failure).strip().splitlines()[-1][:300]}"
    except (DeadKernelError, AssertionError) as failure:
        # the kernel died (out of memory, killed); nbclient's clean-up then trips an assert of its own and hides why
        if not isinstance(failure, DeadKernelError) and not isinstance(failure.__context__, DeadKernelError):
            raise  # an assert that is not about a dead kernel is a bug to see, not a run to save
        error = f"the kernel died during the run ({type(failure).__name__}); the cells executed before it are saved"
    seconds = time.time() - start
    out = Path(out_dir) / f"{lesson}.{profile}.ipynb"
    build.write_notebook(notebook, out)  # saved either way: a failed cpu run keeps everything it computed
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    return {"seconds": seconds, "results": results, "notebook": out, "error": error}


def grade_made_up_submissions(lesson: str, course_dir: Path, tamper: bool = False, each_unanswered: bool = True,
                              fast: bool = True) -> dict:
    """Autograde with nbgrader: the reference answers, the untouched starter, one submission per code answer left
    unanswered alone ("skip-<answer>", for the cascade invariant) and the lesson's wrong answers (grouped so that
    each submission holds at most one mistake per answer cell). Returns points per submission, per mistake and per
    skipped answer, and the errors of given cells in the untouched starter; `grading_violations` reads it.

    The untouched starter runs whole in a kernel (its given cells must skip, not crash, after unanswered exercises).
    With fast=True (the default: the solution's own run shows the rest) the others run up to their last graded cell
    only (genlab.course.graded_cells_only), which gives the same points: the reference and wrong-1 in kernels, the
    rest in forks of the grader (genlab.course.forked_cells); "forked-reference" and "forked-wrong-1", graded in
    forks too, must then get the same points in every cell as their kernel-graded originals.

    With tamper=True, submission wrong-1 also rewrites the first test cell that judges its first mistake to `pass`,
    as a student might; nbgrader must restore it, so that mistake must still lose points."""
    build.release(lesson, course_dir)
    reference = grade.reference_answers(lesson)
    judged_by = grade.judging_cells(lesson)
    groups = grade.group_wrong_answers(grade.wrong_answers(lesson))
    submissions = {"reference": grade.make_submission(lesson, reference),
                   "unanswered": grade.make_submission(lesson, {})}
    skipped = sorted(judged_by) if each_unanswered else []
    for answer in skipped:
        answers = {k: v for k, v in reference.items() if k != answer}  # the starter stub stays in that cell only
        submissions[f"skip-{answer}"] = grade.make_submission(lesson, answers)
    tampered = {judged_by[groups[0][0]["cell"]][0]: "pass  # tests? what tests"} if tamper and groups else {}
    for number, group in enumerate(groups, 1):
        answers = reference
        for wrong in group:
            answers = grade.apply_wrong_answer(answers, wrong)
        submissions[f"wrong-{number}"] = grade.make_submission(lesson, answers, tampered if number == 1 else {})
    in_kernels = [s for s in ("reference", "wrong-1") if s in submissions]
    if fast:
        submissions.update({f"{FORKED}{s}": submissions[s] for s in in_kernels})
    for student, notebook in submissions.items():
        grade.submit(course_dir, lesson, student, notebook)
    if fast:
        nbgrader.autograde(course_dir, lesson, ["--student", "unanswered"], feedback=False)
        nbgrader.autograde(course_dir, lesson, nbgrader.students_args(course_dir, lesson, in_kernels),
                           graded_cells_only=True, feedback=False)
        forked = [s for s in submissions if s not in in_kernels and s != "unanswered"]
        nbgrader.autograde(course_dir, lesson, nbgrader.students_args(course_dir, lesson, forked),
                           graded_cells_only=True, forked=True, feedback=False)
    else:
        nbgrader.autograde(course_dir, lesson, feedback=False)
    # feedback pages (about a second each) for the three that show everything a page can: all passed, all failed,
    # and the tampered test cell
    feedback_for = sorted({"reference", "unanswered", "wrong-1" if groups else "reference"})
    nbgrader.generate_feedback(course_dir, lesson, feedback_for)
    points = nbgrader.scores(course_dir, lesson)
    starter = nbformat.read(course_dir / "autograded" / "unanswered" / lesson / f"{lesson}.ipynb", as_version=4)

    def lost(student):
        return {cell: top - score for cell, (score, top) in points[student]["cells"].items() if score < top}

    cascade = [{"answer": answer, "judged_by": judged_by[answer], "lost": lost(f"skip-{answer}"),
                "own_points": sum(points["reference"]["cells"][c][1] for c in judged_by[answer])} for answer in skipped]
    mistakes = []
    for number, group in enumerate(groups, 1):
        lost_here = lost(f"wrong-{number}")
        for wrong in group:
            own = judged_by[wrong["cell"]]
            mistakes.append({"cell": wrong["cell"], "why": wrong["why"], "submission": f"wrong-{number}", "own": own,
                             "lost": {c: v for c, v in lost_here.items() if c in own},
                             "max": sum(points["reference"]["cells"][c][1] for c in own)})
        owned = {c for wrong in group for c in judged_by[wrong["cell"]]}
        for cell, amount in lost_here.items():
            if cell not in owned:
                mistakes.append({"cell": None, "why": f"points lost outside the mistakes' own cells: {cell} (-{amount})",
                                 "submission": f"wrong-{number}", "own": [], "lost": {cell: amount}, "max": 0,
                                 "leak": True})
    return {"points": points, "mistakes": mistakes, "cascade": cascade, "tampered": sorted(tampered),
            "judged_by": judged_by, "starter_crashes": given_cell_errors(starter), "feedback_for": feedback_for}


def given_cell_errors(notebook) -> list:
    """'cell N: Error: message' for each given code cell (neither an answer nor a test) that raised."""
    found = []
    for number, cell in enumerate(notebook.cells):
        marks = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or marks.get("solution") or marks.get("grade"):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {number} ({cell.source.splitlines()[0][:60] if cell.source else ''}): "
                             f"{output.get('ename')}: {str(output.get('evalue'))[:200]}")
    return found


def grading_violations(outcome: dict) -> list:
    """Every way the made-up submissions break the grading rules (an empty list is the goal)."""
    points, problems = outcome["points"], []
    reference, unanswered = points["reference"], points["unanswered"]
    if reference["auto"] < reference["max_auto"]:
        problems.append(f"the reference lost points: { {c: s for c, s in reference['cells'].items() if s[0] < s[1]} }")
    if unanswered["auto"] > 0:
        problems.append(f"the untouched starter earned {unanswered['auto']} points")
    for row in outcome["cascade"]:
        expected = {c: points["reference"]["cells"][c][1] for c in row["judged_by"]}
        if row["lost"] != expected:
            extra = {c: v for c, v in row["lost"].items() if c not in expected}
            kept = sorted(c for c in expected if c not in row["lost"])
            problems.append(f"leaving only {row['answer']!r} unanswered lost {row['lost']}; expected exactly {expected}"
                            + (f" (cascade into {extra})" if extra else "") + (f" (kept points in {kept})" if kept else ""))
    for copy in (student for student in points if student.startswith(FORKED)):
        original = copy[len(FORKED):]
        if points[copy]["cells"] != points[original]["cells"]:
            differ = {c: (points[original]["cells"][c][0], points[copy]["cells"][c][0]) for c in points[copy]["cells"]
                      if points[copy]["cells"][c] != points[original]["cells"].get(c)}
            problems.append(f"{original} graded in a fork got other points than in a kernel (cell: (kernel, fork)): "
                            f"{differ}; genlab.course.forked_cells no longer grades as nbgrader's kernels do")
    for crash in outcome.get("starter_crashes", []):
        problems.append(f"the untouched starter crashed in a given cell instead of skipping it: {crash}")
    for m in outcome["mistakes"]:
        if m.get("leak"):
            problems.append(f"{m['submission']}: {m['why']}")
        elif not m["lost"]:
            problems.append(f"the mistake {m['why']!r} ({m['cell']}) kept full marks in {m['own']}")
    return problems


def grading_report(outcome: dict) -> str:
    """The made-up submissions' points, each mistake with the points it lost, and every broken grading rule."""
    points, lines = outcome["points"], []
    for student in sorted(points):
        lines.append(f"{student:32s} {points[student]['auto']:5.1f} / {points[student]['max_auto']:.0f}")
    lines.append("\nleaving one answer unanswered:")
    for row in outcome["cascade"]:
        lines.append(f"  {row['answer']:24s} -{sum(row['lost'].values()):4.1f} of its own {row['own_points']:.0f}  "
                     f"{row['lost']}")
    lines.append("\nmistakes:")
    for m in outcome["mistakes"]:
        if not m.get("leak"):
            lines.append(f"  {m['cell']:24s} -{sum(m['lost'].values()):4.1f} of {m['max']:.0f}  {m['why']}  {m['lost']}")
    problems = grading_violations(outcome)
    lines.append(f"\nviolations: {len(problems)}")
    lines += ["  " + problem for problem in problems]
    return "\n".join(lines)


def print_grading_report(outcome: dict):
    print(grading_report(outcome))


def save_grading_report(lesson: str, outcome: dict, folder: Path = REPORT_DIR / "grading") -> Path:
    """reports/grading/<lesson>.txt: what `make test` saw when it graded the made-up submissions."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{lesson}.txt"
    path.write_text(grading_report(outcome) + "\n")
    return path


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
        course_dir = nbgrader.fresh_course(Path(tmp) / "course")
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
            failures += [f"{lesson}: {problem}" for problem in grading_violations(graded)]

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
        parts += [f"<li>{html.escape(m['why'])} ({m['cell']}): lost {sum(m['lost'].values()):.0f} of {m['max']:.0f} "
                  f"in {html.escape(', '.join(m['lost']))}</li>" for m in graded["mistakes"] if not m.get("leak")]
        parts.append("</ul><h3>Figures</h3>" + _images_html(run["notebook"]))
    return "\n".join(parts + ["</body></html>"])
