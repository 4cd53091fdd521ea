"""Build the course: lessons/NN_name.py (jupytext percent) -> nbgrader source -> starter/ and solutions/.

The lesson file carries nbgrader metadata in its cell headers, written short:
    # %% nbgrader={"grade_id": "reparameterize", "solution": true}            an answer cell (code or markdown)
    # %% nbgrader={"grade_id": "test_reparameterize", "points": 2}            a locked test cell worth 2 points
    # %% [markdown] nbgrader={"grade_id": "q_beta", "solution": true, "points": 2}   a manually graded answer
The build fills in nbgrader's other fields. Everything written is byte-for-byte deterministic.
"""

import re
from pathlib import Path

import jupytext
import nbformat

from genlab.course import nbgrader
from genlab.course.nbgrader import COURSE_DIR, REPO_ROOT

LESSONS_DIR = REPO_ROOT / "lessons"
STARTER_DIR = REPO_ROOT / "starter"
SOLUTIONS_DIR = REPO_ROOT / "solutions"

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def lesson_names() -> list:
    return sorted(p.stem for p in LESSONS_DIR.glob("[0-9][0-9]_*.py"))


def resolve_lessons(names=None) -> list:
    """Lesson names from full names or their two-digit prefixes; all lessons when names is empty."""
    known = lesson_names()
    if not names:
        return known
    chosen = []
    for name in names:
        matches = [k for k in known if k == name or k.split("_")[0] == name]
        if not matches:
            raise SystemExit(f"no lesson {name!r}; lessons are: {', '.join(known)}")
        chosen += matches
    return chosen


def normalise_nbgrader(meta: dict, where: str) -> dict:
    """The full nbgrader cell metadata from the short form written in a lesson file (see the module docstring)."""
    if "grade_id" not in meta:
        raise ValueError(f"{where}: nbgrader metadata needs a grade_id")
    graded = "points" in meta
    full = {
        "grade": graded,
        "grade_id": meta["grade_id"],
        "locked": meta.get("locked", graded and not meta.get("solution", False)),
        "schema_version": 3,
        "solution": meta.get("solution", False),
    }
    if graded:
        full["points"] = meta["points"]
    unknown = set(meta) - set(full)
    if unknown:
        raise ValueError(f"{where}: unknown nbgrader keys {sorted(unknown)}")
    return full


def source_notebook(lesson: str) -> nbformat.NotebookNode:
    """The nbgrader source notebook of a lesson: all solutions, all hidden tests, no outputs."""
    path = LESSONS_DIR / f"{lesson}.py"
    notebook = jupytext.read(path, fmt="py:percent")
    seen = set()
    for index, cell in enumerate(notebook.cells):
        cell.id = f"{lesson[:2]}-{index:03d}"  # stable ids, so rebuilds do not churn
        meta = cell.metadata.get("nbgrader")
        cell.metadata = {}
        if meta:
            full = normalise_nbgrader(meta, f"{path.name} cell {index}")
            if full["grade_id"] in seen:
                raise ValueError(f"{path.name}: grade_id {full['grade_id']!r} is used twice")
            seen.add(full["grade_id"])
            cell.metadata["nbgrader"] = full
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    return notebook


def without_markers(source: str, markers) -> str:
    """The source without the lines that are exactly one of the markers (e.g. the solution markers)."""
    return "\n".join(line for line in source.split("\n") if line.strip() not in markers)


def without_hidden_tests(source: str) -> str:
    """The source without its hidden-test blocks, markers included (what the starter and the feedback show)."""
    kept, hidden = [], False
    for line in source.split("\n"):
        if line.strip() == HIDDEN_MARKERS[0]:
            hidden = True
        elif line.strip() == HIDDEN_MARKERS[1]:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept).rstrip("\n")


def solution_notebook(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The self-learner's copy: solutions in place, markers and hidden tests gone, no nbgrader metadata."""
    notebook = nbformat.from_dict(source)
    for cell in notebook.cells:
        meta = cell.metadata.pop("nbgrader", None)
        cell.source = without_hidden_tests(without_markers(cell.source, SOLUTION_MARKERS))
        if meta and cell.cell_type == "markdown" and meta["solution"]:
            cell.source = "**Model answer.** " + cell.source
    return notebook


def write_notebook(notebook, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(notebook, version=4)
    path.write_text(text if text.endswith("\n") else text + "\n")


def release(lesson: str, course_dir: Path = COURSE_DIR) -> Path:
    """Write the source notebook into a course folder and generate the student version there; returns its path."""
    write_notebook(source_notebook(lesson), course_dir / "source" / lesson / f"{lesson}.ipynb")
    nbgrader.command(["generate_assignment", lesson, "--force"], course_dir)
    return course_dir / "release" / lesson / f"{lesson}.ipynb"


def build(lessons=None, quiet: bool = False, starter_dir: Path = STARTER_DIR, solutions_dir: Path = SOLUTIONS_DIR,
          course_dir: Path = COURSE_DIR):
    """Rebuild starter/ and solutions/ for the given lessons (all by default)."""
    for lesson in resolve_lessons(lessons):
        released = nbformat.read(release(lesson, course_dir), as_version=4)
        released.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
        write_notebook(released, Path(starter_dir) / f"{lesson}.ipynb")
        write_notebook(solution_notebook(source_notebook(lesson)), Path(solutions_dir) / f"{lesson}.ipynb")
        if not quiet:
            print(f"built {lesson}: {starter_dir}/{lesson}.ipynb, {solutions_dir}/{lesson}.ipynb")


def hidden_test_lines(lesson: str) -> list:
    """The code lines that only hidden tests contain (for checking they never leak); lines that also stand somewhere in
    the visible part of the lesson, like `opt_d.zero_grad()` or `return self.encoder(x)`, prove nothing: left out."""
    cells = source_notebook(lesson).cells
    visible = "\n".join(without_hidden_tests(cell.source) for cell in cells)  # a line found in it proves nothing
    lines = []
    for cell in cells:
        match = re.search(re.escape(HIDDEN_MARKERS[0]) + r"\n(.*?)\n\s*" + re.escape(HIDDEN_MARKERS[1]), cell.source, re.S)
        if match:
            lines += [line.strip() for line in match.group(1).split("\n")
                      if len(line.strip()) > 12 and line.strip() not in visible]
    return lines
