"""Checks used by the visible tests: each failure says what was expected, what was given, and where to look."""

import torch


class CheckFailed(AssertionError):
    pass


def _describe(value):
    if torch.is_tensor(value):
        return f"tensor of shape {tuple(value.shape)}, dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:200]


def check_type(value, expected_type, name: str):
    if not isinstance(value, expected_type):
        raise CheckFailed(f"{name} should be a {getattr(expected_type, '__name__', expected_type)}, "
                          f"but it is a {_describe(value)}. Did you forget to return it?")


def check_shape(tensor, expected, name: str):
    """expected: a tuple of sizes; None in a position accepts any size there."""
    check_type(tensor, torch.Tensor, name)
    shape = tuple(tensor.shape)
    ok = len(shape) == len(expected) and all(e is None or e == s for s, e in zip(shape, expected))
    if not ok:
        raise CheckFailed(f"{name} has shape {shape}; expected {tuple(expected)}. "
                          "Check which dimension you reduced over or how you reshaped.")


def check_finite(tensor, name: str):
    check_type(tensor, torch.Tensor, name)
    if not torch.isfinite(tensor).all():
        raise CheckFailed(f"{name} contains NaN or inf. Look for log(0), division by zero or exp of a large number.")


def check_close(actual, expected, name: str, atol: float = 1e-5, rtol: float = 1e-4, hint: str = ""):
    """actual and expected may be tensors or numbers; shapes must agree."""
    actual_t = actual if torch.is_tensor(actual) else torch.as_tensor(actual, dtype=torch.float64)
    expected_t = expected if torch.is_tensor(expected) else torch.as_tensor(expected, dtype=torch.float64)
    if actual_t.shape != expected_t.shape:
        raise CheckFailed(f"{name} has shape {tuple(actual_t.shape)}; expected {tuple(expected_t.shape)}. {hint}")
    actual_t, expected_t = actual_t.detach().double().cpu(), expected_t.detach().double().cpu()
    if not torch.allclose(actual_t, expected_t, atol=atol, rtol=rtol):
        worst = (actual_t - expected_t).abs().max().item()
        show = lambda t: t.flatten()[:6].tolist() if t.numel() > 1 else t.item()  # noqa: E731
        raise CheckFailed(f"{name} is {show(actual_t)}; expected {show(expected_t)} "
                          f"(largest difference {worst:.3g}). {hint}".strip())


def check_true(condition, message: str):
    if not condition:
        raise CheckFailed(message)
