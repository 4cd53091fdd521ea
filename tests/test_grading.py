import pytest
import torch

from genlab.grading import CheckFailed, check_close, check_finite, check_shape, check_true, check_type


def test_check_shape_explains_both_shapes():
    check_shape(torch.zeros(4, 2), (4, None), "mu")
    with pytest.raises(CheckFailed, match=r"mu has shape \(4, 3\); expected \(4, 2\)"):
        check_shape(torch.zeros(4, 3), (4, 2), "mu")


def test_check_type_catches_a_missing_return():
    with pytest.raises(CheckFailed, match="forget to return"):
        check_type(None, torch.Tensor, "kl")


def test_check_close_reports_values_and_difference():
    check_close(torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-7], "x")
    with pytest.raises(CheckFailed, match=r"loss is 2.0; expected 1.0 \(largest difference 1\)"):
        check_close(torch.tensor(2.0), 1.0, "loss")
    with pytest.raises(CheckFailed, match="shape"):
        check_close(torch.zeros(3), torch.zeros(2), "x")


def test_check_finite_and_true():
    with pytest.raises(CheckFailed, match="NaN"):
        check_finite(torch.tensor([1.0, float("nan")]), "loss")
    with pytest.raises(CheckFailed, match="custom"):
        check_true(False, "custom message")
    assert issubclass(CheckFailed, AssertionError)  # nbgrader counts it as a failed test


def _run_cells(sources):
    """Execute code cells in one fresh kernel; returns each cell's outputs (errors included)."""
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    notebook = new_notebook(cells=[new_code_cell(s) for s in sources])
    NotebookClient(notebook, timeout=60, kernel_name="python3", allow_errors=True).execute()
    return [cell.outputs for cell in notebook.cells]


def _text(outputs):
    return "".join(o.get("text", "") + o.get("evalue", "") for o in outputs)


def test_references_last_one_cell_and_unfinished_work_is_explained():
    outputs = _run_cells([
        "from genlab import config, grading\nconfig.setup('99_probe')",
        "def noise():\n    raise NotImplementedError()",
        "grading.register_reference(noise=lambda: 'reference')\nprint(grading.is_done(noise))",
        "grading.use_references(globals(), 'noise')\nprint(noise())",
        "print(noise.__name__)",  # the student's own function is back after the swapped cell
        "grading.require(globals(), noise='Exercise 1')",
        "# needs: noise (Exercise 1)\nprint('ran')",
        "def noise():\n    return 'student'",
        "# needs: noise (Exercise 1)\nprint('ran', noise())",
        "def broken():\n    raise RuntimeError('Trying to backward through the graph a second time')\n"
        "grading.attempt(broken, what='train_step(...)')",
    ])
    assert "not yet measured" in _text(outputs[0])
    assert _text(outputs[2]).strip() == "False"
    assert _text(outputs[3]).strip() == "reference"
    assert _text(outputs[4]).strip() == "noise"
    assert "finish it first" in _text(outputs[5]) and "`noise` (Exercise 1)" in _text(outputs[5])
    assert _text(outputs[6]).startswith("skipped: this cell needs `noise` (Exercise 1)")
    assert _text(outputs[8]).strip() == "ran student"
    assert "Probable cause" in _text(outputs[9]) and ".detach()" in _text(outputs[9])


def test_check_gradients_catches_a_detached_term():
    from genlab.grading import check_gradients

    x = torch.tensor([0.5, -1.0, 2.0])
    check_gradients(lambda x: (x ** 2).sum() + x.sum(), lambda x: (x ** 2).sum() + x.sum(), {"x": x}, "loss")
    with pytest.raises(CheckFailed, match="gradient of loss with respect to x"):
        check_gradients(lambda x: (x ** 2).sum() + x.detach().sum(), lambda x: (x ** 2).sum() + x.sum(), {"x": x}, "loss")
    with pytest.raises(CheckFailed, match="no gradient"):
        check_gradients(lambda x: (x ** 2).sum().detach(), lambda x: (x ** 2).sum(), {"x": x}, "loss")


def test_attempt_names_the_blank_exercise_itself_and_a_blank_one_it_calls():
    from genlab.grading import attempt

    def encoder(x):
        raise NotImplementedError()

    class Decoder:
        def __init__(self, size):
            raise NotImplementedError()

    def sampler(x):  # finished, but calls a blank exercise
        return encoder(x)

    for blank in (encoder, Decoder):
        with pytest.raises(CheckFailed, match=rf"`{blank.__name__}` is still the starter stub .* write your answer"):
            attempt(blank, 1)
    with pytest.raises(CheckFailed, match="sampler raised NotImplementedError\nProbable cause: a function this calls"):
        attempt(sampler, 1)
