"""genlab.course.forked_cells: the test suite's way to run made-up submissions without a kernel start. What nbgrader
scores must come out as a kernel's would: printed text, anything on stderr, the last value, errors, timeouts.
(tests/test_autograder.py also grades two submissions of every lesson both ways and compares every cell.)"""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from genlab.course import cli, forked_cells


def run(*sources, timeout=20, tmp_path=None):
    notebook = new_notebook(cells=[new_markdown_cell("# a title"), *map(new_code_cell, sources)])
    executor = forked_cells.ForkedExecute(timeout=timeout)
    notebook, _ = executor.preprocess(notebook, {"metadata": {"path": str(tmp_path or ".")}})
    return [cell.outputs for cell in notebook.cells[1:]]


def test_outputs_are_what_nbgrader_scores(tmp_path):
    shared, printed, warned, value, silent, failed, after = run(
        "x = 41", "print('hello', x + 1)", "import sys; print('careful', file=sys.stderr)", "x + 1", "x + 1;",
        "raise ValueError('a bug')", "_ = open('made_here.txt', 'w').write(str(x))", tmp_path=tmp_path)
    assert shared == []
    assert printed == [nbformat.NotebookNode(output_type="stream", name="stdout", text="hello 42\n")]
    assert [(o.output_type, o.name) for o in warned] == [("stream", "stderr")], "nbgrader gives no points for stderr"
    assert value[0].output_type == "execute_result" and value[0].data["text/plain"] == "42"
    assert silent == [], "a trailing ; hides the value, as in a kernel"
    assert failed[-1].output_type == "error" and (failed[-1].ename, failed[-1].evalue) == ("ValueError", "a bug")
    assert "a bug" in "".join(failed[-1].traceback)
    assert after == [] and (tmp_path / "made_here.txt").read_text() == "41", "cells go on after an error, in the folder"


def test_a_looping_cell_times_out_and_the_next_cell_runs():
    looped, stubborn, after = run("while True: pass", "while True:\n    try:\n        while True: pass\n"
                                  "    except Exception:\n        pass", "print('next')", timeout=1)
    assert looped[-1].ename == "CellTimeout"
    assert stubborn[-1].ename == "CellTimeout", "`except Exception` cannot swallow the timeout, as with a kernel"
    assert after[0].text == "next\n"


def test_a_fork_that_dies_is_an_error_not_a_grade():
    with pytest.raises(RuntimeError, match="died .*grade this submission with a kernel"):
        run("import os; os._exit(3)")


def test_genlab_grade_refuses_to_grade_real_submissions_in_forks(monkeypatch, capsys):
    monkeypatch.setenv(forked_cells.VARIABLE, "1")
    with pytest.raises(SystemExit):
        cli.main(["grade", "--jobs", "1"])
    assert "for the test suite's made-up submissions only. Unset it" in capsys.readouterr().err
