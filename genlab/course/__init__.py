"""The course tooling: build lessons into starter and solution notebooks, call nbgrader, grade submissions, run the
demo, the `genlab` command line. Lessons never import from here; they use the flat modules of `genlab`."""
