"""Autograding with nbgrader: submissions in (filtered, only the changed ones if asked), graded in parallel
(genlab.course.parallel), scores, feedback (without hidden tests) and the grade exports out.

Also makes submissions on the fly from the starter notebook (reference answers, nothing answered, realistic wrong
answers from autograder/wrong_answers/NN_name.py) for the demo and the tests. (What feedback pages hide and how they
wrap: genlab.course.feedback.)
"""

import fnmatch
import importlib.util
import shutil
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from genlab.course import build, course_config, exports, grading_status, nbgrader, parallel, roster, sandbox

WRONG_ANSWERS_DIR = nbgrader.COURSE_DIR / "wrong_answers"


# ---------------------------------------------------------------------------------------------------- submissions
def reference_answers(lesson: str) -> dict:
    """grade_id -> the reference source of every answer cell (solution markers removed)."""
    return {
        cell.metadata["nbgrader"]["grade_id"]: build.without_markers(cell.source, build.SOLUTION_MARKERS)
        for cell in build.source_notebook(lesson).cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


def judging_cells(lesson: str) -> dict:
    """code answer grade_id -> the graded test cells that judge it: every graded code cell after it, up to the next
    code answer cell. A lesson keeps all tests of an exercise there, so "a mistake costs points once" is checkable."""
    cells = build.source_notebook(lesson).cells
    judged_by, current = {}, None
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            current = meta["grade_id"]
            judged_by[current] = []
        elif meta.get("grade") and current is not None:
            judged_by[current].append(meta["grade_id"])
    return judged_by


def make_submission(lesson: str, answers: dict, edit_cells: dict | None = None) -> nbformat.NotebookNode:
    """The starter notebook with answer cells replaced by `answers` (grade_id -> source) and, to imitate tampering,
    any other cell's source replaced by `edit_cells` (grade_id -> source)."""
    notebook = nbformat.read(build.STARTER_DIR / f"{lesson}.ipynb", as_version=4)
    replacements = {**answers, **(edit_cells or {})}
    found = set()
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in replacements:
            cell.source = replacements[grade_id]
            found.add(grade_id)
    missing = set(replacements) - found
    if missing:
        raise KeyError(f"{lesson}: no cells with grade_id {sorted(missing)} in starter/{lesson}.ipynb; rebuild it.")
    return notebook


def wrong_answers(lesson: str) -> list:
    """The realistic mistakes listed for a lesson: dicts with cell, why, replace=[(old, new), ...]."""
    path = WRONG_ANSWERS_DIR / f"{lesson}.py"
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"wrong_answers_{lesson}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG_ANSWERS


def apply_wrong_answer(answers: dict, wrong: dict) -> dict:
    """A copy of `answers` with one mistake written into its cell (each `old` must occur exactly once)."""
    source = answers[wrong["cell"]]
    for old, new in wrong["replace"]:
        if source.count(old) != 1:
            raise ValueError(f"wrong answer {wrong['why']!r}: {old!r} occurs {source.count(old)} times in the "
                             f"reference of {wrong['cell']!r}; make it match exactly once.")
        source = source.replace(old, new)
    return {**answers, wrong["cell"]: source}


def group_wrong_answers(wrongs: list) -> list:
    """Pack mistakes into as few submissions as possible, at most one mistake per answer cell in each."""
    groups = []
    for wrong in wrongs:
        for group in groups:
            if all(other["cell"] != wrong["cell"] for other in group):
                group.append(wrong)
                break
        else:
            groups.append([wrong])
    return groups


def submit(course_dir: Path, lesson: str, student: str, notebook) -> Path:
    path = Path(course_dir) / "submitted" / student / lesson / f"{lesson}.ipynb"
    build.write_notebook(notebook, path)
    return path


# ---------------------------------------------------------------------------------------------------- grading
def known_lessons(course_dir: Path) -> list:
    """The course's lessons, and any other assignment whose source notebook sits in the course folder."""
    source = Path(course_dir) / "source"
    extra = [p.name for p in source.iterdir() if p.is_dir()] if source.exists() else []
    return sorted(set(build.lesson_names()) | set(extra))


def _matching(patterns, names: list, what: str, choices: str) -> set:
    """The names matching any of the globs; a glob that matches nothing is a mistake worth stopping for."""
    if not patterns:
        return set(names)
    chosen = set()
    for pattern in patterns:
        matched = set(fnmatch.filter(names, pattern))
        if not matched:
            raise SystemExit(f"--{what} {pattern!r} matches no {what} with submissions; {choices}: "
                             f"{', '.join(sorted(names)) or 'none'}.")
        chosen |= matched
    return chosen


def find_submissions(course_dir: Path, lessons=None, students=None) -> list:
    """(lesson, student) for every submitted/<student>/<lesson>/ holding a notebook, filtered by globs."""
    course_dir = Path(course_dir)
    submitted = course_dir / "submitted"
    found = sorted({(p.parent.name, p.parent.parent.name) for p in submitted.glob("*/*/*.ipynb")}) if submitted.exists() else []
    if not found:
        raise SystemExit(f"nothing to grade: put submissions in {submitted}/<student>/<NN_lesson>/<NN_lesson>.ipynb "
                         "(nbgrader collect does this for JupyterHub exchanges).")
    known = known_lessons(course_dir)
    for pattern in lessons or []:
        if not any(ch in pattern for ch in "*?[") and pattern not in known:
            raise SystemExit(f"--lesson {pattern!r} is not a lesson of this course; lessons: {', '.join(known)}.")
    unknown = sorted({lesson for lesson, _ in found} - set(known))
    if unknown:
        raise SystemExit(f"{submitted} holds submissions for unknown lesson(s) {', '.join(unknown)}; lessons: "
                         f"{', '.join(known)}. Rename or remove those folders.")
    chosen_lessons = _matching(lessons, sorted({lesson for lesson, _ in found}), "lesson", "lessons with submissions")
    chosen_students = _matching(students, sorted({student for _, student in found}), "student", "students who submitted")
    return [(lesson, student) for lesson, student in found if lesson in chosen_lessons and student in chosen_students]


def prepare_lesson(course_dir: Path, lesson: str):
    """The lesson's source and release in the course folder, and its rows in the gradebook (generate_assignment
    creates the schema too, once, before any parallel grader opens it)."""
    if lesson in build.lesson_names():
        build.release(lesson, course_dir)
    else:
        nbgrader.command(["generate_assignment", lesson, "--force"], course_dir)


def load_roster(course_dir: Path, path: Path | None = None) -> dict:
    """The roster named on the command line (must exist), else course.toml's (used when present)."""
    if path is not None:
        if not Path(path).exists():
            raise SystemExit(f"no roster at {path}; copy autograder/roster.example.csv and fill it in.")
        return roster.read(path)
    configured = course_config.load(course_dir).roster
    return roster.read(configured) if configured and configured.exists() else {}


def grade_course(course_dir: Path = nbgrader.COURSE_DIR, jobs: int = 1, lessons=None, students=None,
                 only_new: bool = False, timeout_s: float | None = None, roster_path: Path | None = None,
                 nbgrader_args=(), gpus: list | None = None, claim: bool = False) -> dict:
    """`make grade`: autograde the chosen submissions over `jobs` workers, write feedback and the exports, print a
    summary. Returns outcomes, skipped (unchanged, with --only-new), exports and the ungraded outcomes. With `claim`,
    other `genlab grade --claim` runs on this course folder share the work through the Postgres gradebook
    (genlab.course.claims); the outcomes are then everyone's."""
    grade = _grade_course_claimed if claim else _grade_course
    if claim:  # fail before any lock: a SQLite gradebook cannot be shared
        from genlab.course import claims

        claims.check_url(nbgrader.gradebook_url(course_dir))
    # claim runs share the folder with each other (Postgres keeps them apart), never with a run of its own
    with grading_status.sole_grader(Path(course_dir), shared=claim):
        return grade(Path(course_dir), jobs, lessons, students, only_new, timeout_s, roster_path, nbgrader_args, gpus)


def prepare(course_dir: Path, lessons=None, students=None, only_new: bool = False, roster_path: Path | None = None,
            records: dict | None = None):
    """Everything before the graders start (also for a Slurm run): the submissions chosen, their lessons released,
    the gradebook rows graders would race for, and what --only-new skips (by `records`, default
    grading_status.json's). Returns a dict with to_grade, skipped, hashes, records and roster."""
    submissions = find_submissions(course_dir, lessons, students)
    students_by_id = load_roster(course_dir, roster_path)
    config = course_config.load(course_dir)
    chosen_lessons = sorted({lesson for lesson, _ in submissions})
    for lesson in chosen_lessons:
        prepare_lesson(course_dir, lesson)
    submitters = {student for _, student in submissions}
    nbgrader.prepare_gradebook(
        course_dir,
        {**{s: {} for s in submitters}, **{s.id: s.gradebook_fields() for s in students_by_id.values()}},
        # only lessons graded now: a row for a lesson nobody handed in yet would export everyone as missing
        {lesson: due for lesson, due in config.due_dates.items() if lesson in chosen_lessons})
    records = grading_status.load(course_dir) if records is None else records
    hashes = {(lesson, student): grading_status.submission_hash(course_dir, lesson, student)
              for lesson, student in submissions}
    skipped = [s for s in submissions if only_new and records.get(s[0], {}).get(s[1], {}).get("hash") == hashes[s]
               and records[s[0]][s[1]]["status"] == grading_status.GRADED]
    return {"to_grade": [s for s in submissions if s not in skipped], "skipped": skipped, "hashes": hashes,
            "records": records, "roster": students_by_id, "lessons": chosen_lessons}


def record_outcome(course_dir: Path, records: dict, outcome: parallel.Outcome, submission_hash: str):
    """One finished grade into grading_status.json (its hash for --only-new), and printed."""
    records.setdefault(outcome.lesson, {})[outcome.student] = {
        "status": grading_status.GRADED if outcome.graded else grading_status.UNGRADED, "reason": outcome.reason,
        "hash": submission_hash, "attempts": outcome.attempts, "seconds": round(outcome.seconds, 1),
        "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    grading_status.save(course_dir, records)
    report_outcome(course_dir, outcome)


def report_outcome(course_dir: Path, outcome: parallel.Outcome):
    """A finished grade printed (one line each: what the claim tests count), and an outdated feedback page gone."""
    if not outcome.graded:  # a page from an earlier grade would show points this submission has not earned
        shutil.rmtree(course_dir / "feedback" / outcome.student / outcome.lesson, ignore_errors=True)
    state = "graded" if outcome.graded else f"UNGRADED after {outcome.attempts} attempt(s): {outcome.reason}"
    print(f"  {outcome.lesson}  {outcome.student:24s} {outcome.seconds:6.1f} s  {state}", flush=True)


def finish(course_dir: Path, outcomes: list, skipped: list, students_by_id: dict) -> dict:
    """After the graders: feedback for what is ready (genlab.course.feedback: not before written answers are
    graded), the exports and the summary."""
    from genlab.course import feedback

    graded = [(o.lesson, o.student) for o in outcomes if o.graded]
    pending = feedback.generate(course_dir, graded)
    exported = exports.write_all(course_dir, students_by_id)
    ungraded = [o for o in outcomes if not o.graded]
    print_summary(exported["rows"], ungraded, skipped, course_dir, exported)
    if pending:
        print(f"{len(pending)} submission(s) wait for manual grading before their feedback is written: "
              f"{', '.join(f'{lesson}/{student}' for lesson, student in pending[:8])}"
              f"{' ...' if len(pending) > 8 else ''} (formgrader, then `genlab feedback`)")
    return {"outcomes": outcomes, "skipped": skipped, "ungraded": ungraded, "exports": exported,
            "awaiting_manual_grading": pending}


def _grade_course(course_dir, jobs, lessons, students, only_new, timeout_s, roster_path, nbgrader_args, gpus) -> dict:
    plan = prepare(course_dir, lessons, students, only_new, roster_path)
    to_grade, skipped, records = plan["to_grade"], plan["skipped"], plan["records"]
    gpus = parallel.gpu_ids() if gpus is None else gpus
    print(f"gradebook: {nbgrader.gradebook_shown(course_dir)}")
    print(sandbox.status_line())
    print(f"grading {len(to_grade)} submission(s) of {', '.join(plan['lessons'])} with {jobs} worker(s) on "
          f"{'GPU ' + ', '.join(gpus) if gpus else 'CPU'}" + (f"; {len(skipped)} unchanged, skipped" if skipped else ""),
          flush=True)
    outcomes = parallel.grade_submissions(
        course_dir, to_grade, jobs=jobs, timeout_s=timeout_s, nbgrader_args=nbgrader_args, gpus=gpus,
        on_outcome=lambda o: record_outcome(course_dir, records, o, plan["hashes"][(o.lesson, o.student)]))
    return finish(course_dir, outcomes, skipped, plan["roster"])


def _grade_course_claimed(course_dir, jobs, lessons, students, only_new, timeout_s, roster_path, nbgrader_args,
                          gpus) -> dict:
    from genlab.course import claims

    round_ = claims.Round(course_dir)
    try:
        plan = round_.open_or_join(lambda records: prepare(course_dir, lessons, students, only_new, roster_path, records))
        gpus = parallel.gpu_ids() if gpus is None else gpus
        print(f"gradebook: {nbgrader.gradebook_shown(course_dir)}")
        print(sandbox.status_line())
        print(f"claim: {'opened' if plan else 'joined'} the {round_.describe()}; grading with {jobs} worker(s) on "
              f"{'GPU ' + ', '.join(gpus) if gpus else 'CPU'}" + ("" if plan else " (this machine's --lesson, "
              "--student and --only-new do not apply: the round was chosen by the machine that opened it)"), flush=True)
        queue = round_.queue(on_outcome=lambda o: report_outcome(course_dir, o))
        try:
            parallel.grade_submissions(course_dir, None, jobs=jobs, timeout_s=timeout_s, nbgrader_args=nbgrader_args,
                                       gpus=gpus, queue=queue)
        finally:
            queue.close()
        with round_.finishing():  # everyone's outcomes, one machine at a time
            return finish(course_dir, round_.outcomes(), round_.skipped(), load_roster(course_dir, roster_path))
    finally:
        round_.close()


def print_summary(rows: list, ungraded: list, skipped: list, course_dir: Path, exported: dict):
    print("\nscores (auto-graded and written answers so far, after late penalties):")
    for row in sorted(rows, key=lambda row: (row["assignment"], row["student_id"])):
        shown = f"{row['score'] or '-':>7} / {row['max_score']}" if row["status"] == grading_status.GRADED else row["status"]
        print(f"  {row['assignment']}  {row['student_id']:24s} {shown}  {row['late']}".rstrip())
    missing = [row for row in rows if row["status"] == grading_status.MISSING]
    print(f"\n{len(rows) - len(missing)} submission(s) in the gradebook, {len(skipped)} skipped as unchanged, "
          f"{len(missing)} missing, {len(ungraded)} UNGRADED")
    for outcome in ungraded:
        print(f"  UNGRADED {outcome.lesson} {outcome.student}: {outcome.reason}")
    print(f"feedback: {course_dir / 'feedback'}")
    for kind in ("long", "canvas", "moodle"):
        print(f"grades ({kind}): {exported[kind]}")
