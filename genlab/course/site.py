"""`make site`: the solution notebooks, executed in a profile, as static HTML pages with their outputs and figures,
and an index page, for people who want to read a lesson before installing anything.

Widgets cannot move without a kernel, so their saved state is dropped: each explorer shows the picture it first drew
(genlab.viz.explorer puts a PNG beside the widget for exactly this), not dead controls.
"""

import html
import time
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from genlab.config import REPO_ROOT
from genlab.course import build, demo

SITE_DIR = REPO_ROOT / "site"


def lesson_title(notebook) -> str:
    """The first markdown heading of a notebook, without its '#' marks."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return "untitled"


def render_page(notebook, title: str) -> str:
    notebook.metadata.pop("widgets", None)  # no live widget state: the explorers' PNG fallbacks are shown instead
    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
    return body


def index_page(rows: list, profile: str) -> str:
    budget = ("tiny budgets: the pictures are not meant to look good" if profile == "smoke"
              else "the budgets a laptop CPU runs in minutes")
    items = "\n".join(f"<tr><td><a href='{html.escape(page)}'>{html.escape(lesson)}</a></td><td>{html.escape(title)}"
                      f"</td><td>{seconds:.0f} s</td><td>{'ran to the end' if not error else html.escape(error)}</td></tr>"
                      for lesson, title, page, seconds, error in rows)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>genlab: the lessons, executed</title></head>"
            f"<body style='font-family:sans-serif;max-width:60em;margin:2em auto'><h1>genlab: the lessons, executed</h1>"
            f"<p>Each solution notebook was run top to bottom in the <b>{profile}</b> profile on "
            f"{time.strftime('%Y-%m-%d')} ({budget}). "
            "Widgets show the picture they first drew; run the notebook to move them.</p>"
            f"<table border=1 cellpadding=6 style='border-collapse:collapse'><tr><th>lesson</th><th>title</th>"
            f"<th>run time</th><th>run</th></tr>\n{items}</table></body></html>\n")


def build_site(lessons=None, profile: str = "smoke", out: Path = SITE_DIR) -> int:
    """Execute each lesson's solutions in `profile`, write out/<lesson>.html and out/index.html. Returns 1 if a lesson
    stopped with an error (its page still shows everything up to there), else 0."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for lesson in build.resolve_lessons(lessons):
        print(f"{lesson}: executing the solution ({profile} profile) ...", flush=True)
        run = demo.execute(lesson, profile)
        notebook = nbformat.read(run["notebook"], as_version=4)
        title = lesson_title(notebook)
        (out / f"{lesson}.html").write_text(render_page(notebook, title))
        rows.append((lesson, title, f"{lesson}.html", run["seconds"], run["error"]))
        print(f"{lesson}: {run['seconds']:.0f} s -> {out / (lesson + '.html')}" + (f"  STOPPED: {run['error']}"
                                                                                     if run["error"] else ""))
    (out / "index.html").write_text(index_page(rows, profile))
    print(f"site: {out / 'index.html'}")
    return 1 if any(row[4] for row in rows) else 0
