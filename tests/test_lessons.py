"""Every solution notebook runs top to bottom in the smoke profile and prints its results table."""

import pytest

from genlab.course import build, demo

LESSONS = build.lesson_names()


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_runs_in_the_smoke_profile(lesson, tmp_path):
    outcome = demo.execute(lesson, "smoke", out_dir=tmp_path)
    print(f"{lesson}: {outcome['seconds']:.1f} s in the smoke profile; results {outcome['results']}")
    assert outcome["error"] is None, f"{lesson} stopped: {outcome['error']}"
    assert outcome["results"].get("profile") == "smoke", "the lesson must end with genlab.train.results_table(...)"
    assert len(outcome["results"]) >= 3
