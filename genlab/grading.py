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


def check_param_count(module, expected: int, name: str, hint: str = ""):
    """The number of trainable parameters of a network the student built (catches a missing or extra layer)."""
    count = sum(p.numel() for p in module.parameters() if p.requires_grad)
    if count != expected:
        raise CheckFailed(f"{name} has {count:,} trainable parameters; expected {expected:,}. {hint}".strip())


# ---------------------------------------------------------------------------------------------------- gradients
def check_gradients(actual_fn, expected_fn, inputs: dict, name: str, atol: float = 1e-5, rtol: float = 1e-4, hint=""):
    """Backpropagate through actual_fn(**inputs) and expected_fn(**inputs) and compare the gradients that reach each
    tensor input. A detached term keeps the right value but loses its gradient: this is what catches it.

    Scalar outputs are differentiated as they are; others through a fixed random projection (so every output
    element counts). Inputs that are not floating-point tensors are passed unchanged."""
    def grads(fn):
        leaves = {k: v.detach().clone().requires_grad_(True) for k, v in inputs.items()
                  if torch.is_tensor(v) and v.is_floating_point()}
        out = fn(**{**inputs, **leaves})
        out = out[0] if isinstance(out, tuple) else out
        check_type(out, torch.Tensor, f"the output of {name}")
        if out.grad_fn is None:
            raise CheckFailed(f"{name} returned a tensor with no gradient (no grad_fn): something in it is detached, "
                              "computed under torch.no_grad(), or rebuilt from .item() values. Keep it in the graph.")
        weights = torch.ones(()) if out.dim() == 0 else torch.randn(out.shape, generator=torch.Generator().manual_seed(0))
        (out * weights.to(out)).sum().backward()
        return {k: (v.grad if v.grad is not None else torch.zeros_like(v)) for k, v in leaves.items()}

    got, want = grads(actual_fn), grads(expected_fn)
    for key in want:
        check_close(got[key], want[key], f"the gradient of {name} with respect to {key}", atol=atol, rtol=rtol,
                    hint=hint or "A value can be right while its gradient is wrong: look for .detach(), .item(), "
                                 "torch.no_grad() or a term rebuilt from numbers.")


def check_all_parameters_get_gradients(module, name: str):
    """After a backward pass: every trainable parameter of `module` received a (nonzero) gradient."""
    frozen = [n for n, p in module.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum())]
    if frozen:
        raise CheckFailed(f"no gradient reached {name}'s parameters {frozen[:4]}: a .detach(), torch.no_grad() or an "
                          "unused layer cuts them off from the loss.")


# ---------------------------------------------------------------------------------------------------- one mistake, one charge
# During autograding, a test cell that needs earlier exercises swaps in their reference versions (defined in hidden
# blocks) for the rest of that cell, so a mistake in an earlier exercise is charged only where that exercise is tested.
REFERENCES = {}
_MISSING = object()


def register_reference(**objects):
    """Hidden blocks call this with the reference version of their exercise (names as the lesson uses them)."""
    REFERENCES.update(objects)


def _after_this_cell(callback):
    """Run callback once when the current notebook cell finishes, whether it passed or raised."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False

    def once(*_):
        shell.events.unregister("post_run_cell", once)
        callback()

    shell.events.register("post_run_cell", once)
    return True


def use_references(namespace: dict, *names):
    """Put the registered reference versions of `names` into the notebook's namespace until this cell ends."""
    unknown = [n for n in names if n not in REFERENCES]
    if unknown:
        raise KeyError(f"no reference registered for {unknown}; the hidden block of its own test cell registers it.")
    saved = {name: namespace.get(name, _MISSING) for name in names}
    namespace.update({name: REFERENCES[name] for name in names})

    def restore():
        for name, value in saved.items():
            if value is _MISSING:
                namespace.pop(name, None)
            else:
                namespace[name] = value

    if not _after_this_cell(restore):
        restore()  # outside IPython there is no cell to outlive: nothing is swapped
        raise RuntimeError("use_references only works inside a notebook cell.")


def is_done(obj) -> bool:
    """False for an exercise still holding its starter stub (`raise NotImplementedError()`), in a function or in any
    method of a class."""
    if isinstance(obj, type):
        codes = [f.__code__ for f in vars(obj).values() if hasattr(f, "__code__")]
    elif hasattr(obj, "__code__"):
        codes = [obj.__code__]
    else:
        return True
    return not any("NotImplementedError" in code.co_names for code in codes)


def _missing_exercises(namespace: dict, needs: dict) -> list:
    return [f"`{name}` ({label})" for name, label in needs.items()
            if name not in namespace or not is_done(namespace[name])]


def require(namespace: dict, **needs):
    """Visible checks that call earlier exercises start with require(globals(), name="Exercise N", ...): an unanswered
    or broken earlier exercise then reads "finish Exercise N first" instead of a crash."""
    missing = _missing_exercises(namespace, needs)
    if missing:
        raise CheckFailed(f"these checks use {', '.join(missing)}, which is not finished (or its cell did not run): "
                          "finish it first, run its cell, then run this one again.")


NEEDS_MARK = "# needs:"


def skip_unfinished(lines: list) -> list:
    """IPython input transformer: a given cell that starts with `# needs: name (Exercise N), ...` is replaced by a
    one-line notice while one of those exercises is unfinished, so Run All goes on instead of crashing."""
    first = next((line.strip() for line in lines if line.strip()), "")
    if not first.startswith(NEEDS_MARK):
        return lines
    from IPython import get_ipython

    needs = {}
    for item in first[len(NEEDS_MARK):].split(","):
        name, _, label = item.strip().partition(" ")
        needs[name] = label.strip("() ") or "an earlier exercise"
    missing = _missing_exercises(get_ipython().user_ns, needs)
    if not missing:
        return lines
    notice = f"skipped: this cell needs {', '.join(missing)}, not finished or not run yet (or its cell was skipped)."
    return [f"print({notice!r})\n"]


# ---------------------------------------------------------------------------------------------------- no raw crash
# Messages of PyTorch errors that realistic mistakes cause, and what the mistake usually is.
KNOWN_ERRORS = [
    ("backward through the graph a second time",
     "a second backward() went through a graph the first one had already freed. In a GAN step this is the fake batch "
     "reused without .detach() in the D step (D's loss then runs back through G), or a loss computed once and "
     "backpropagated twice."),
    ("modified by an inplace operation",
     "a tensor needed for a gradient was changed after it was used. In a GAN step: D's logits for the G step were "
     "computed before opt_d.step() changed D's weights; compute them after the D step. Elsewhere: an in-place op "
     "(x += ..., relu_(), inplace=True) on a tensor autograd still needs."),
    ("does not require grad and does not have a grad_fn",
     "the loss is not connected to any parameter: it was detached, computed under torch.no_grad(), or rebuilt from "
     ".item() numbers. Return the tensor itself."),
    ("mat1 and mat2 shapes cannot be multiplied",
     "a Linear layer got an input of the wrong width: check each layer's in_features against the previous output "
     "(flatten first?)."),
    ("Given groups=1, weight of size",
     "a convolution got the wrong number of input channels: check each layer's in_channels against the previous "
     "layer's out_channels."),
    ("Expected all tensors to be on the same device",
     "tensors on different devices: create new tensors on the input's device (torch.zeros(..., device=x.device))."),
]


def explain_error(error: BaseException) -> str:
    """A one-paragraph reading of an exception a student's code raised (empty if it is not a known mistake)."""
    if isinstance(error, NotImplementedError):
        return "a function this calls is still the starter stub (raise NotImplementedError): finish that exercise first."
    if isinstance(error, NameError):
        return f"{error}: run the cell that defines it, or finish that exercise first."
    text = str(error)
    return next((why for pattern, why in KNOWN_ERRORS if pattern in text), "")


def attempt(fn, *args, what: str = "", **kwargs):
    """Call a student's function from a check; a known mistake's exception becomes a CheckFailed that says what the
    mistake probably is (the original error is chained below it)."""
    try:
        return fn(*args, **kwargs)
    except CheckFailed:
        raise
    except Exception as error:  # noqa: BLE001 - every error is shown; known ones are explained
        label = what or getattr(fn, "__name__", "the function")
        if isinstance(error, NotImplementedError) and not is_done(fn):  # the exercise under test itself is blank
            raise CheckFailed(f"`{getattr(fn, '__name__', label)}` is still the starter stub (raise "
                              "NotImplementedError): write your answer in its cell above this test, run that cell, "
                              "then run this one again.") from error
        why = explain_error(error)
        cause = f"\nProbable cause: {why}" if why else ""
        message = f": {str(error)[:300]}" if str(error) else ""
        raise CheckFailed(f"{label} raised {type(error).__name__}{message}{cause}") from error
