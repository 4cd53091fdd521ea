"""`genlab grade --graded-cells-only`: nbgrader executes up to the last graded cell and the tail comes back unexecuted."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from genlab.course.graded_cells_only import ParkUngradedTail, RestoreUngradedTail, last_graded_code_cell


def _lesson():
    answer = new_code_cell("def f(): return 1", metadata={"nbgrader": {"solution": True, "grade_id": "f"}})
    test = new_code_cell("assert f() == 1", metadata={"nbgrader": {"grade": True, "grade_id": "test_f", "points": 1}})
    written = new_markdown_cell("YOUR ANSWER HERE", metadata={"nbgrader": {"solution": True, "grade": True}})
    return new_notebook(cells=[new_code_cell("import math"), answer, test, new_markdown_cell("## training"),
                               new_code_cell("train()"), written, new_code_cell("plot()")])


def test_the_cut_falls_after_the_last_graded_code_cell():
    assert last_graded_code_cell(_lesson().cells) == 2
    assert last_graded_code_cell([new_code_cell("x = 1")]) == -1


def test_the_tail_is_parked_only_when_asked_and_always_restored_in_order(monkeypatch):
    monkeypatch.delenv("GENLAB_GRADED_CELLS_ONLY", raising=False)
    nb, resources = ParkUngradedTail().preprocess(_lesson(), {})
    assert len(nb.cells) == 7  # off by default: nothing is parked

    monkeypatch.setenv("GENLAB_GRADED_CELLS_ONLY", "1")
    original = _lesson()
    nb, resources = ParkUngradedTail().preprocess(nbformat.from_dict(original), {})
    assert [c.source for c in nb.cells] == ["import math", "def f(): return 1", "assert f() == 1"]
    nb, resources = RestoreUngradedTail().preprocess(nb, resources)
    assert [c.source for c in nb.cells] == [c.source for c in original.cells]
    assert "genlab_ungraded_tail" not in resources


def test_nbgrader_runs_them_even_though_it_registers_preprocessors_disabled():
    """nbconvert's Exporter.register_preprocessor leaves a preprocessor disabled unless it enables itself."""
    from nbconvert.exporters import NotebookExporter

    exporter = NotebookExporter()
    for preprocessor in (ParkUngradedTail, RestoreUngradedTail):
        exporter.register_preprocessor(preprocessor)
    ours = [p for p in exporter._preprocessors if isinstance(p, (ParkUngradedTail, RestoreUngradedTail))]
    assert len(ours) == 2 and all(p.enabled for p in ours)
