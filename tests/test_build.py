"""lessons/ -> starter/ and solutions/: in sync, deterministic, and with nothing hidden leaking out."""

import nbformat
import pytest

from genlab.course import build, nbgrader

LESSONS = build.lesson_names()


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    out = tmp_path_factory.mktemp("rebuild")
    course = nbgrader.fresh_course(out / "course")
    build.build(LESSONS, quiet=True, starter_dir=out / "starter", solutions_dir=out / "solutions", course_dir=course)
    return out


def test_there_are_lessons():
    assert "01_autoencoders_vae" in LESSONS and "02_gan" in LESSONS


@pytest.mark.parametrize("lesson", LESSONS)
@pytest.mark.parametrize("folder", ["starter", "solutions"])
def test_committed_notebooks_equal_a_fresh_build(rebuilt, lesson, folder):
    committed = build.REPO_ROOT / folder / f"{lesson}.ipynb"
    assert committed.exists(), f"{committed} is missing: run `make build` and commit it"
    assert committed.read_bytes() == (rebuilt / folder / f"{lesson}.ipynb").read_bytes(), (
        f"{folder}/{lesson}.ipynb is out of date with lessons/{lesson}.py: run `make build` and commit")


@pytest.mark.parametrize("lesson", LESSONS)
def test_starter_has_stubs_and_no_solutions_or_hidden_tests(lesson):
    text = (build.STARTER_DIR / f"{lesson}.ipynb").read_text()
    assert "raise NotImplementedError()" in text and "YOUR ANSWER HERE" in text
    for marker in build.SOLUTION_MARKERS + build.HIDDEN_MARKERS:
        assert marker not in text
    hidden = build.hidden_test_lines(lesson)
    assert hidden, f"{lesson} has no hidden tests"
    leaked = [line for line in hidden if line in text]
    assert not leaked, f"hidden test lines in starter/{lesson}.ipynb: {leaked[:3]}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_solutions_have_answers_but_no_markers_hidden_tests_or_outputs(lesson):
    notebook = nbformat.read(build.SOLUTIONS_DIR / f"{lesson}.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in notebook.cells)
    assert "NotImplementedError()" not in text and "**Model answer.**" in text
    for marker in build.SOLUTION_MARKERS + build.HIDDEN_MARKERS:
        assert marker not in text
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_answer_cell_is_followed_by_its_test(lesson):
    cells = build.source_notebook(lesson).cells
    answers = [c for c in cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]
    tests = [c for c in cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    assert len(answers) >= 4 and len(tests) >= len(answers)
    assert all(c.metadata["nbgrader"]["locked"] and c.metadata["nbgrader"]["points"] > 0 for c in tests)
    written = [c for c in cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]
    assert len(written) >= 2, "each lesson has manually graded written questions"


def test_short_metadata_is_completed_and_checked():
    full = build.normalise_nbgrader({"grade_id": "t", "points": 3}, "here")
    assert full == {"grade": True, "grade_id": "t", "locked": True, "points": 3, "schema_version": 3, "solution": False}
    with pytest.raises(ValueError, match="grade_id"):
        build.normalise_nbgrader({"points": 1}, "here")
    with pytest.raises(ValueError, match="unknown"):
        build.normalise_nbgrader({"grade_id": "x", "pionts": 1}, "here")


def test_unknown_lesson_is_a_clear_error():
    with pytest.raises(SystemExit, match="lessons are"):
        build.resolve_lessons(["99"])


@pytest.mark.parametrize("lesson", LESSONS)
def test_a_jupytext_round_trip_leaves_the_lesson_byte_identical(lesson, tmp_path):
    """A TA who edits the lesson as a paired notebook in JupyterLab gets a clean diff: py -> ipynb -> py changes nothing."""
    import subprocess
    import sys

    source = build.LESSONS_DIR / f"{lesson}.py"
    copy = tmp_path / source.name
    copy.write_bytes(source.read_bytes())
    jupytext = [sys.executable, "-m", "jupytext", "--quiet"]
    subprocess.run([*jupytext, "--to", "ipynb", str(copy)], check=True)
    copy.unlink()
    subprocess.run([*jupytext, "--to", "py:percent", str(copy.with_suffix(".ipynb"))], check=True)
    assert copy.read_text() == source.read_text(), (
        f"lessons/{lesson}.py is not in jupytext's canonical form (nbgrader keys in sorted order, for example): "
        f"run `jupytext --to ipynb` and back, and commit the result")
