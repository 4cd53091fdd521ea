"""`make run` (genlab.course.demo.execute) keeps what a run computed when it stops early: a failing cell, or a kernel
that dies (out of memory, killed), still leaves the executed notebook with the outputs of every cell before it."""

import nbformat
import pytest

from genlab.course import build, demo


def _run_cells(tmp_path, monkeypatch, *sources):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "solutions").mkdir()
    nbformat.write(notebook, tmp_path / "solutions" / "99_probe.ipynb")
    monkeypatch.setattr(build, "SOLUTIONS_DIR", tmp_path / "solutions")
    outcome = demo.execute("99_probe", "cpu", out_dir=tmp_path / "out", timeout=60)
    return outcome, nbformat.read(outcome["notebook"], as_version=4)


def _printed(cell) -> str:
    return "".join(output.get("text", "") for output in cell.outputs)


@pytest.mark.parametrize("stop, expected", [("raise ValueError('a bug in cell 2')", "ValueError"),
                                            ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "kernel died")])
def test_a_run_that_stops_early_saves_what_it_computed(tmp_path, monkeypatch, stop, expected):
    outcome, executed = _run_cells(tmp_path, monkeypatch, "print('trained for an hour')", stop, "print('never')")
    assert outcome["error"] is not None and expected in outcome["error"], outcome["error"]
    assert _printed(executed.cells[0]) == "trained for an hour\n"
    assert _printed(executed.cells[2]) == ""
