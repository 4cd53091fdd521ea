"""The nbgrader side of genlab.course.guard, run by `nbgrader autograde` on each submission before it executes:

- every graded test cell starts with a line that restores the captured checks (GUARD_LINE);
- answers that reach for the interpreter itself (the guard's module, IPython's input transformers and event hooks,
  sys.settrace, ctypes, gc, sys.modules) are flagged for manual review in `review/<lesson>/<student>.txt` in the course
  folder (out of the kernel's sight in the sandbox), read back by the exports' `review` column.

The feedback preprocessor (genlab.course.feedback.HideHiddenTests) removes the added lines again.
"""

import re
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

GUARD_LINE = "__import__('genlab.course.guard').course.guard.restore(globals())  # [grader] the checks as captured"
ADDED_LINES = (GUARD_LINE,)
REVIEW_DIR = "review"
# What an answer has no business touching: each is a way around the guard from inside the kernel.
SUSPICIOUS = [
    (r"genlab\.course|guard\b", "mentions the grader's guard"),
    (r"input_transformers|ast_transformers|events\.(register|unregister|callbacks)|pre_run_cell|post_run_cell",
     "changes how IPython runs later cells"),
    (r"\bsettrace\b|\bsetprofile\b|sys\.monitoring", "traces or rewrites running code"),
    (r"\bctypes\b|\bgc\.get_(referrers|referents|objects)", "reaches objects through the interpreter"),
    (r"sys\.modules|importlib\.reload|__builtins__|\bbuiltins\b", "replaces modules or builtins"),
    (r"__code__|__globals__|func_globals", "rewrites functions' code or globals"),
]


def without_added_lines(source: str) -> str:
    return "\n".join(line for line in source.split("\n") if line.strip() not in ADDED_LINES)


def without_added_lines_quoted(traceback_frame: str) -> str:
    """A traceback frame (with ANSI colours) without the lines quoting the grader's added lines."""
    return "\n".join(line for line in traceback_frame.split("\n") if "genlab.course.guard').course" not in line
                     and "[grader] the checks" not in line)


def guard_source(source: str) -> str:
    """A graded test cell's source as executed: the guard line first."""
    return GUARD_LINE + "\n" + source


def suspicious(source: str) -> list:
    return [why for pattern, why in SUSPICIOUS if re.search(pattern, source)]


class GuardTestCells(Preprocessor):
    enabled = Bool(True).tag(config=True)
    course_root = Unicode("", help="the course folder, where review/ is written (nbgrader_config.py sets it)").tag(
        config=True)

    def preprocess(self, nb, resources):
        flags = []
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):  # a locked test cell, as OverwriteCells restored it
                cell.source = guard_source(cell.source)
            elif not meta.get("locked"):  # an answer or a free cell: what the student wrote
                flags += [f"{meta.get('grade_id', 'a cell')}: {why}" for why in suspicious(cell.source)]
        self._write_review(resources, flags)
        return nb, resources

    def _write_review(self, resources, flags):
        """review/<lesson>/<student>.txt in the course folder, or no file when nothing is suspicious."""
        student, lesson = resources["nbgrader"]["student"], resources["nbgrader"]["assignment"]
        path = Path(self.course_root or Path.cwd()) / REVIEW_DIR / lesson / f"{student}.txt"
        if flags:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(flags) + "\n")
        elif path.exists():
            path.unlink()


def was_guarded(path: Path) -> bool:
    """Whether every graded test cell of an autograded notebook ran behind the guard line."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    tests = [cell for cell in notebook.cells if cell.cell_type == "code"
             and cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"].get("solution")]
    return all(cell.source.startswith(GUARD_LINE) for cell in tests)


def review_flags(course_dir: Path, lesson: str, student: str) -> str:
    path = Path(course_dir) / REVIEW_DIR / lesson / f"{student}.txt"
    return "; ".join(path.read_text().split("\n")).strip("; ") if path.exists() else ""
