"""nbgrader course definition for genlab. Run nbgrader (or `genlab grade`) from this folder.

Run-time folders (source/, release/, submitted/, autograded/, feedback/, exchange/) and gradebook.db live here and
are git-ignored; `genlab build` regenerates source/ and release/ from lessons/. Due dates, the late policy, the roster
and a shared gradebook are set in course.toml.
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde
from nbgrader.preprocessors import GetGrades

from genlab.course import forked_cells

# With GENLAB_FORKED_CELLS=1 (the test suite's made-up submissions only) a notebook runs in a fork of this process
# instead of a fresh kernel (genlab.course.forked_cells): no sandbox, so never for real submissions. Its set-up must
# come before anything imports torch.
if forked_cells.asked_for():
    forked_cells.warm_up()

from genlab.course import course_config, guard, sandbox  # noqa: E402
from genlab.course.feedback import HideHiddenTests, WrapLongOutputLines  # noqa: E402
from genlab.course.graded_cells_only import ParkUngradedTail, RestoreUngradedTail  # noqa: E402
from genlab.course.guarded_cells import GuardTestCells  # noqa: E402
from genlab.course.nbgrader import gradebook_url  # noqa: E402

c = get_config()  # noqa: F821 (provided by nbgrader)
here = os.path.dirname(os.path.abspath(__file__))
settings = course_config.load(here)

c.CourseDirectory.course_id = "genlab"
c.CourseDirectory.root = here
# SQLite in this folder (with a busy timeout, for parallel graders), or $GENLAB_GRADEBOOK_URL / course.toml.
c.CourseDirectory.db_url = gradebook_url(here)
c.Exchange.root = os.path.join(here, "exchange")

# Every notebook runs on the kernel named python3: the Python of the environment that runs nbgrader; when grading, in
# the sandbox: no network, the course's secrets hidden, an unprivileged user (genlab.course.sandbox; GENLAB_SANDBOX).
c.Execute.kernel_name = "python3"
sandbox.configure(c, here)
# Hidden tests draw their seeded inputs from the course secret ([hidden_tests] in course.toml), when there is one.
os.environ[guard.SEED_KEY_VARIABLE] = course_config.hidden_seed_key(here)
# Before a submission runs, every test cell gets a first line restoring the captured checks and per-course seeds in
# its hidden blocks (genlab.course.guard); answers that reach for the interpreter are flagged in review/.
# (nbgrader ignores a config file that raises, so `genlab grade` checks that the line is there: see parallel.grade_one)
# With GENLAB_GRADED_CELLS_ONLY=1 (the test suite, `genlab grade --graded-cells-only`) nbgrader executes up to the last
# graded cell and keeps the rest unexecuted (genlab.course.graded_cells_only); points are the same, feedback shorter.
_execute, *_rest = Autograde.class_traits()["autograde_preprocessors"].make_dynamic_default()
if forked_cells.asked_for():
    _execute = forked_cells.ForkedExecute
c.Autograde.autograde_preprocessors = [GuardTestCells, ParkUngradedTail, _execute, RestoreUngradedTail, *_rest]
c.GuardTestCells.course_root = here
# One cell may run up to 10 minutes (a whole gpu-profile lesson fits); a looping cell is interrupted after that.
# `genlab grade --timeout` limits a whole submission on top of this.
c.Execute.timeout = 600
c.Execute.interrupt_on_timeout = True
# Once the last cell has answered, the kernel has nothing left to say: kill it (its process group) at once instead of
# the graceful shutdown request, which waits 1.5-2.5 s per submission for the kernel to exit.
c.Execute.shutdown_kernel = "immediate"
c.ForkedExecute.timeout = c.Execute.timeout

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Late work (timestamp.txt after the lesson's due date in course.toml) loses points by the course's policy.
c.AssignLatePenalties.plugin_class = "genlab.course.late.PercentPerDayLate"
c.PercentPerDayLate.percent_per_day = settings.late_percent_per_day
c.PercentPerDayLate.zero_after_days = settings.late_zero_after_days

# Feedback must not show hidden tests: neither their source nor tracebacks that quote it.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor, WrapLongOutputLines]
