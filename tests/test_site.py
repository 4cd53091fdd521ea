"""make site: a lesson page shows each explorer widget's first picture, not controls that cannot move."""

import ipywidgets as widgets
import nbformat
import torch

from genlab import viz
from genlab.course import site


def test_site_page_shows_the_explorer_picture_even_with_saved_widget_state():
    box = viz.explorer(lambda t: torch.full((1, 1, 4, 4), t), {"t": widgets.FloatSlider(value=0.5)})
    bundle = box._repr_mimebundle_()
    model_id = bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 99. A lesson"),
        nbformat.v4.new_code_cell("explorer", outputs=[nbformat.v4.new_output("display_data", data=bundle)])])
    # what nbclient saves after executing: the widgets' state, which would make nbconvert draw dead controls
    notebook.metadata.widgets = {"application/vnd.jupyter.widget-state+json": {
        "state": {model_id: {"model_name": "HBoxModel", "state": {}}}, "version_major": 2, "version_minor": 0}}
    page = site.render_page(notebook, site.lesson_title(notebook))
    assert f"data:image/png;base64,{bundle['image/png'][:40]}" in page
    assert model_id not in page, "the page must not try to draw the widget itself"
    assert site.lesson_title(notebook) == "99. A lesson"
