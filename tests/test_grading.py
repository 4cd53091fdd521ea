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
