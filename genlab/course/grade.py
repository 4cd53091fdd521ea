"""Autograding with nbgrader: submissions in, scores, feedback (without hidden tests) and grades.csv out.

Also makes submissions on the fly from the starter notebook (reference answers, nothing answered, realistic wrong
answers from autograder/wrong_answers/NN_name.py) for the demo and the tests.
"""

import csv
import importlib.util
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from genlab.course import build, nbgrader

WRONG_ANSWERS_DIR = nbgrader.COURSE_DIR / "wrong_answers"


class HideHiddenTests(Preprocessor):
    """For feedback: drop hidden-test code from test cells and cut tracebacks that would quote it to one line."""

    enabled = Bool(True).tag(config=True)  # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and build.HIDDEN_MARKERS[0] in cell.source:
            cell.source = build.without_hidden_tests(cell.source) + "\n# (hidden tests ran here; their code is not shown)"
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


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
def grade_course(course_dir: Path = nbgrader.COURSE_DIR) -> Path:
    """`make grade`: autograde every lesson that has submissions, write feedback and grades.csv."""
    course_dir = Path(course_dir)
    submitted = course_dir / "submitted"
    lessons = sorted({p.parent.name for p in submitted.glob("*/*/*.ipynb")}) if submitted.exists() else []
    if not lessons:
        raise SystemExit(f"nothing to grade: put submissions in {submitted}/<student>/<NN_lesson>/<NN_lesson>.ipynb "
                         "(nbgrader collect does this for JupyterHub exchanges).")
    for lesson in lessons:
        if lesson not in build.lesson_names():
            raise SystemExit(f"{submitted} holds submissions for unknown lesson {lesson!r}.")
        build.release(lesson, course_dir)
        print(f"autograding {lesson} ...", flush=True)
        nbgrader.autograde(course_dir, lesson)
        for student, result in sorted(nbgrader.scores(course_dir, lesson).items()):
            print(f"  {student:24s} {result['auto']:6.1f} / {result['max_auto']:.0f} auto-graded points")
    path = nbgrader.export_grades(course_dir)
    print(f"feedback: {course_dir / 'feedback'}\ngrades:   {path}")
    with open(path) as handle:
        print(f"          {sum(1 for _ in csv.reader(handle)) - 1} rows")
    return path

