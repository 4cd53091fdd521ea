"""The course as students meet it: each lesson's starter notebook in JupyterLab in a real (headless) Chromium.

Every lesson in lessons/ is picked up, and every explorer widget (genlab.viz.explorer) a lesson shows is moved.
Screenshots land in reports/browser/. Costs: one JupyterLab server for the session, then about each lesson's smoke
run time plus some seconds per widget.
"""

import re
import shutil
import time

import nbformat
import pytest

from genlab.course import build, grade
import labpage

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LESSONS = build.lesson_names()


def _prepared_starter(lab, lesson: str) -> str:
    """The student's notebook with the reference answers in its answer cells, written before it is opened (the same
    pasting the grading tests use). Typing a lesson's hundreds of lines through the editor would test CodeMirror's
    auto-indent, not the course, and take minutes; the typing path is covered once in test_first_hour."""
    build.write_notebook(grade.make_submission(lesson, grade.reference_answers(lesson)), lab.root / f"{lesson}.ipynb")
    return f"{lesson}.ipynb"


def test_first_hour(lab, page, screenshots):
    """A new student opens lesson 01 and runs its first code cell: it says the profile, the device, where the data
    comes from and how long the lesson takes here."""
    lesson = LESSONS[0]
    shutil.copy(build.STARTER_DIR / f"{lesson}.ipynb", lab.root / f"first-hour-{lesson}.ipynb")
    labpage.open_notebook(page, lab, f"first-hour-{lesson}.ipynb")
    cells = labpage.state(page)["cells"]
    first_code = next(c["index"] for c in cells if c["type"] == "code")
    page.locator(".jp-Notebook .jp-Cell").nth(first_code).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(f"() => window.jupyterapp.shell.currentWidget.content.widgets[{first_code}]"
                           ".model.executionCount !== null", timeout=120_000)
    page.wait_for_timeout(300)
    cell = page.locator(".jp-Notebook .jp-Cell").nth(first_code)
    cell.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / f"first-hour-{lesson}.png")
    text = cell.locator(".jp-OutputArea").inner_text()
    assert "profile=smoke" in text and "device=cpu" in text, text
    assert re.search(r"data: MNIST: (real|STAND-IN|not here yet)", text), f"the first cell does not say where the data comes from:\n{text}"
    assert re.search(rf"{lesson}: about \d+ (s|min)", text), f"the first cell does not say how long it takes:\n{text}"
