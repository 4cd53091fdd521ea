"""genlab: the shared library of the genlab course on image generative models.

What lessons import stays flat here: profiles, data, plots, training helpers, metrics, models taught earlier, shipped
checkpoints, grading checks. The course tooling (build, nbgrader, grading, demo, command line) lives in
`genlab.course`. What a lesson asks students to write never lives in either.
"""

__version__ = "0.1.0"
