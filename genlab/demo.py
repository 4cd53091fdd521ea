"""Run lessons end to end: execute solution notebooks in a profile, autograde made-up submissions, write a report."""

import base64
import html
import json
import os
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from genlab import autograde, build
from genlab.config import REPO_ROOT

REPORT_DIR = REPO_ROOT / "reports"


def execute(lesson: str, profile: str = "smoke", out_dir: Path = REPORT_DIR / "executed", timeout: int = 900) -> dict:
    """Execute solutions/<lesson>.ipynb in a profile; saves the executed notebook and returns time and results."""
    notebook = nbformat.read(build.SOLUTIONS_DIR / f"{lesson}.ipynb", as_version=4)
    results_dir = Path(out_dir) / "results"
    env = {**os.environ, "GENLAB_PROFILE": profile, "GENLAB_RESULTS_DIR": str(results_dir)}
    env.pop("NBGRADER_EXECUTION", None)
    start = time.time()
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO_ROOT)}})
    client.execute(env=env)  # env reaches the kernel process
    seconds = time.time() - start
    out = Path(out_dir) / f"{lesson}.{profile}.ipynb"
    build.write_notebook(notebook, out)
    results_file = results_dir / f"{lesson}.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    return {"seconds": seconds, "results": results, "notebook": out}
