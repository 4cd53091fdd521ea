"""Driving one JupyterLab notebook tab with Playwright: open it, run it from the menu, read what its cells show.

Clicks go through the interface as a student's would (the Run menu, the widgets' own handles and menus); what the
cells show is read from JupyterLab's own models through `window.jupyterapp` (the server runs with
--expose-app-in-browser), which stays correct where scraping the rendered HTML would be fragile.
"""

import time

NOTEBOOK_STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.map((cell, index) => {
    const model = cell.model;
    if (model.type !== 'code') return {index, type: model.type};
    const outputs = model.outputs.toJSON();
    return {index, type: 'code', count: model.executionCount,
            running: model.executionState === 'running' ||
                     (cell.node.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.includes('*'),
            errors: outputs.filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`),
            stderr: outputs.filter(o => o.name === 'stderr').map(o => [].concat(o.text).join('')).join(''),
            source: model.sharedModel.getSource().slice(0, 120)};
  });
  return {kernel: kernel ? kernel.status : 'none', cells};
}"""


def open_notebook(page, lab, path: str, attempts: int = 3):
    """Open a notebook and wait for its kernel. The first page load after a fresh server start can time out while
    JupyterLab builds its caches: retry it."""
    for attempt in range(1, attempts + 1):
        try:
            page.goto(lab.page_url(path), timeout=60_000)
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
            page.wait_for_function("() => { const p = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                                   " const k = p && p.sessionContext && p.sessionContext.session &&"
                                   " p.sessionContext.session.kernel; return k && k.status === 'idle'; }",
                                   timeout=60_000)
            return
        except Exception:
            if attempt == attempts:
                raise


def state(page) -> dict:
    return page.evaluate(NOTEBOOK_STATE)


def run_all(page, attempts: int = 3):
    """Run > Run All Cells, from the menu bar; once the first cell has started (a click that lands while JupyterLab
    is still settling can be lost: then the menu is used again)."""
    for attempt in range(1, attempts + 1):
        page.locator(".jp-NotebookPanel .jp-Cell").first.click()  # the notebook, not the file browser, has focus
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function("() => window.jupyterapp.shell.currentWidget.content.widgets.some(c =>"
                                   " c.model.type === 'code' && (c.model.executionCount !== null ||"
                                   " c.model.executionState === 'running'))", timeout=20_000)
            return
        except Exception:
            if attempt == attempts:
                raise


def wait_until_run(page, timeout_s: float, poll=None) -> dict:
    """Wait until every code cell ran (or a cell failed, which stops the queue) and the kernel is idle. `poll(page)`
    is called every half second meanwhile. Returns the final state."""
    deadline, started = time.monotonic() + timeout_s, False
    while time.monotonic() < deadline:
        if poll:
            poll(page)
        now = state(page)
        code = [c for c in now["cells"] if c["type"] == "code"]
        started = started or any(c["running"] or c["count"] for c in code)
        busy = now["kernel"] != "idle" or any(c["running"] for c in code)
        if started and not busy and (all(c["count"] for c in code) or any(c["errors"] for c in code)):
            return now
        page.wait_for_timeout(500)
    raise TimeoutError(f"the notebook was still running after {timeout_s:.0f} s: "
                       f"{[c['source'][:60] for c in state(page)['cells'] if c.get('running')]}")


def run_cell(page, index: int, timeout_s: float = 120):
    """Click into a code cell and press Shift+Enter, then wait for its execution count."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function("([i]) => { const p = window.jupyterapp.shell.currentWidget; const c = p.content.widgets[i];"
                           " const k = p.sessionContext.session.kernel;"
                           " return c.model.executionCount !== null && k.status === 'idle'; }",
                           arg=[index], timeout=timeout_s * 1000)
    page.wait_for_timeout(300)  # let the last output render


def type_into_cell(page, index: int, text: str):
    """Replace a cell's code through its editor: select all, then insert the text as one input (a paste, so the
    editor's auto-indent and bracket closing leave it as it is)."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)
    typed = page.evaluate(f"() => window.jupyterapp.shell.currentWidget.content.widgets[{index}]"
                          ".model.sharedModel.getSource()")
    if typed != text:
        raise AssertionError(f"the editor holds something else than what was typed into cell {index}:\n{typed[:300]}")
