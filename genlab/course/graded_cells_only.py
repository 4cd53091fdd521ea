"""Autograde up to the last graded cell only: an opt-in speed-up for checking points, not for feedback.

Points come only from graded cells, and every graded cell runs before the lesson's long tail (the full training run,
figures, widgets, the results table), which costs most of a submission's time and cannot change a point. With
GENLAB_GRADED_CELLS_ONLY=1 in nbgrader's environment, `ParkUngradedTail` lifts that tail out of the notebook before
nbgrader executes it and `RestoreUngradedTail` puts it back, unexecuted, right after, so the autograded notebook
keeps every cell. The test suite grades its made-up submissions this way; an instructor may too (`genlab grade
--graded-cells-only`), at the price of feedback without the student's figures.
"""

import os

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

VARIABLE = "GENLAB_GRADED_CELLS_ONLY"


def asked_for() -> bool:
    return os.environ.get(VARIABLE, "").strip() not in ("", "0")


def last_graded_code_cell(cells) -> int:
    """Index of the last code cell that carries points or an answer (-1 if none)."""
    marks = [i for i, cell in enumerate(cells) if cell.cell_type == "code"
             and (cell.metadata.get("nbgrader", {}).get("grade") or cell.metadata.get("nbgrader", {}).get("solution"))]
    return marks[-1] if marks else -1


class ParkUngradedTail(Preprocessor):
    enabled = Bool(True)  # nbgrader registers preprocessors without enabling them; a disabled one is skipped

    def preprocess(self, nb, resources):
        if asked_for():
            cut = last_graded_code_cell(nb.cells) + 1
            resources["genlab_ungraded_tail"] = nb.cells[cut:]
            nb.cells = nb.cells[:cut]
        return nb, resources


class RestoreUngradedTail(Preprocessor):
    enabled = Bool(True)

    def preprocess(self, nb, resources):
        nb.cells = nb.cells + resources.pop("genlab_ungraded_tail", [])
        return nb, resources
