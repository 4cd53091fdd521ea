"""genlab: the shared library of the genlab course on image generative models.

Plumbing only (profiles, data, plots, training helpers, metrics, shipped checkpoints, grading checks, the build and
autograde tools). What a lesson asks students to write never lives here.
"""

__version__ = "0.1.0"
