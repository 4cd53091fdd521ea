"""Run a made-up submission's cells in a fork of the grading process instead of a fresh kernel: the test suite's
speed-up for grading dozens of made-up submissions, never for real ones.

A fresh kernel costs a new Python, torch and the genlab imports (4-6 s on 2 cores), more than the graded cells of a
made-up submission take to run, and a lesson's grading test grades 14-26 of them. With GENLAB_FORKED_CELLS=1 in
nbgrader's environment, nbgrader_config.py swaps nbgrader's Execute preprocessor for `ForkedExecute`: the nbgrader
process imports what the lessons import once, and each notebook runs in a fork of it, in a fresh IPython shell, cell
after cell, with each cell's printed text and error recorded as a kernel's outputs would be. Everything else is
nbgrader's own: the test cells put back from the source, the guard lines, scoring, the gradebook, feedback.

What a fork does not give (so real submissions always get a kernel): the sandbox, rich outputs (figures are not
kept), a kernel that survives `os._exit`. tests/test_autograder.py grades two submissions both ways and requires the
same points in every cell.
"""

import json
import os
import select
import signal
import time
import traceback

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Bool, Integer
from traitlets.config import Config

VARIABLE = "GENLAB_FORKED_CELLS"
# what every lesson imports in its first cells, imported once before the forks so that each fork starts warm; not
# genlab.viz and genlab.train, which choose at import between notebook and terminal behaviour (see _look_like_a_kernel)
WARM_IMPORTS = ("torch", "torch.nn.functional", "numpy", "matplotlib", "IPython", "safetensors.torch",
                "genlab.config", "genlab.data", "genlab.models", "genlab.grading", "genlab.metrics", "genlab.assets",
                "genlab.course.guard")
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
_warm = False


def asked_for() -> bool:
    return os.environ.get(VARIABLE, "").strip() not in ("", "0")


def warm_up():
    """In the grader, before any fork. Progress bars are switched off here because tqdm reads its TQDM_* defaults
    when imported (torch imports it): in a kernel a bar is a widget, so it writes nothing to stderr, where nbgrader
    reads any text as a failed test cell; a terminal bar would."""
    import importlib
    import sys

    global _warm
    if _warm:  # nbgrader loads its config file twice
        return
    if "tqdm" in sys.modules:
        raise RuntimeError("forked cells: tqdm was imported before warm_up(), so its bars would write to stderr")
    os.environ["TQDM_DISABLE"] = "1"
    for name in WARM_IMPORTS:
        importlib.import_module(name)
    _first_backward_and_step()
    _warm = True


def _first_backward_and_step():
    """A process's first backward pass loads autograd's lazy machinery (1.3-2 s on 2 cores): done once here, not in
    every fork's first training step."""
    import torch

    weight = torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.Adam([weight])
    (weight * 2).sum().backward()
    optimizer.step()


def _look_like_a_kernel():
    """What a kernel's notebook does differently from a terminal and that nbgrader can see: plt.show() draws inline
    (here into nothing) instead of warning on stderr. genlab.viz picks the Agg backend outside a notebook when
    imported, so it is imported first and the backend put back."""
    import matplotlib

    import genlab.train  # noqa: F401
    import genlab.viz  # noqa: F401

    matplotlib.use(INLINE_BACKEND)


class CellTimeout(BaseException):  # as a kernel's interrupt (KeyboardInterrupt): `except Exception` cannot swallow it
    pass


def _on_alarm(signum, frame):
    raise CellTimeout("No reply from kernel before timeout")


def _run_cells(cells: list, folder: str, timeout: int) -> list:
    """In the fork: each code cell in a fresh IPython shell; its outputs as nbformat dicts (printed text, the last
    value, the error), which is what nbgrader scores (an error or anything on stderr: no points)."""
    import matplotlib.pyplot as plt
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from genlab.course import guard

    os.chdir(folder)
    InteractiveShell.clear_instance()  # a fresh namespace, even where the forked process had a shell
    settings = Config()
    settings.HistoryManager.hist_file = ":memory:"  # as nbgrader's kernels; the history tells `x;` from `x`
    shell = InteractiveShell.instance(config=settings)
    # a kernel sends a cell's shown last value (none after a trailing ;) as an execute_result, not as "Out[n]: ..."
    # on stdout: keep what the display hook would write
    shown = []
    shell.displayhook.write_output_prompt = lambda: None
    shell.displayhook.write_format_data = lambda data, metadata=None: shown.append((data, metadata or {}))
    _look_like_a_kernel()
    guard.capture()  # as the sandbox kernel does, before any submitted code
    signal.signal(signal.SIGALRM, _on_alarm)
    everything = []
    for source in cells:
        if source is None:
            everything.append(None)
            continue
        shown.clear()
        signal.alarm(timeout)
        try:
            with capture_output() as captured:
                result = shell.run_cell(source, store_history=True)
        finally:
            signal.alarm(0)
            plt.close("all")
        outputs = [{"output_type": "stream", "name": name, "text": text}
                   for name, text in (("stdout", captured.stdout), ("stderr", captured.stderr)) if text]
        for data, metadata in shown:  # a cell's last value: nbgrader reads a number there as partial credit
            outputs.append({"output_type": "execute_result", "data": data, "metadata": metadata,
                            "execution_count": None})
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            outputs.append({"output_type": "error", "ename": type(error).__name__, "evalue": str(error),
                            "traceback": traceback.format_exception(error)})
        everything.append(outputs)
    return everything


class ForkedExecute(Preprocessor):
    """nbgrader's Execute, with a fork of this process for the kernel (see the module's docstring)."""

    enabled = Bool(True)  # nbgrader registers preprocessors without enabling them
    timeout = Integer(600, help="seconds per cell, as Execute.timeout").tag(config=True)

    def preprocess(self, nb, resources):
        folder = resources.get("metadata", {}).get("path") or "."
        cells = [cell.source if cell.cell_type == "code" else None for cell in nb.cells]
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the fork: run, send the outputs back, leave without running the parent's exit handlers
            status = 1
            try:
                os.close(read_end)
                payload = json.dumps(_run_cells(cells, folder, self.timeout)).encode()
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(payload)
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        started = time.monotonic()
        # every cell has its own alarm in the fork; this deadline catches a fork stuck where an alarm cannot reach
        deadline = started + self.timeout * sum(source is not None for source in cells) + 120
        chunks = []
        with os.fdopen(read_end, "rb") as pipe:
            while True:
                ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
                chunk = os.read(pipe.fileno(), 1 << 20) if ready else None
                if not chunk:
                    break
                chunks.append(chunk)
        if chunk is None:  # past the deadline
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        payload = b"".join(chunks)
        if status != 0 or not payload:
            raise RuntimeError(f"the forked cells of {folder} died (status {status}) after "
                               f"{time.monotonic() - started:.0f} s: grade this submission with a kernel")
        for cell, outputs in zip(nb.cells, json.loads(payload)):
            if outputs is not None:
                cell.outputs = [NotebookNode(output) for output in outputs]
                cell.execution_count = None
        return nb, resources
