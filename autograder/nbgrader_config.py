"""nbgrader course definition for genlab. Run nbgrader (or `genlab grade`) from this folder.

Run-time folders (source/, release/, submitted/, autograded/, feedback/, exchange/) and gradebook.db live here and
are git-ignored; `genlab build` regenerates source/ and release/ from lessons/.
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

from genlab.course.grade import HideHiddenTests

c = get_config()  # noqa: F821 (provided by nbgrader)
here = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "genlab"
c.CourseDirectory.root = here
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "gradebook.db")
c.Exchange.root = os.path.join(here, "exchange")

# Every notebook runs on the kernel named python3: the Python of the environment that runs nbgrader.
c.Execute.kernel_name = "python3"
# One cell may run up to 10 minutes (a whole gpu-profile lesson fits); a looping cell is interrupted after that.
c.Execute.timeout = 600
c.Execute.interrupt_on_timeout = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Feedback must not show hidden tests: neither their source nor tracebacks that quote it.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
