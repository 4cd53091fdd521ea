# %% [markdown]
# # Scratch lesson
# Some math $x^2$.

# %%
import torch
from genlab import config
from genlab.grading import check_close, check_shape

# %% nbgrader={"grade_id": "square", "solution": true}
def square(x):
    """Return x squared."""
    ### BEGIN SOLUTION
    return x * x
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_square", "points": 2}
check_close(square(torch.tensor(3.0)), 9.0, "square(3)")
### BEGIN HIDDEN TESTS
check_close(square(torch.tensor(-2.0)), 4.0, "square(-2) must be positive; hidden secret_marker_line")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade_id": "q_square", "solution": true, "points": 1}
# Squaring is a polynomial of degree two.

# %%
from genlab.train import results_table
results_table("00_scratch", {"value": float(square(torch.tensor(2.0)))})
