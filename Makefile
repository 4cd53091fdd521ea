# Thin wrappers: every target creates .venv on first use, then calls genlab or pytest.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv demo test test-browser site build grade feedback run lint clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -e '.[postgres]' 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	@$(PY) -c "import torch, nbgrader, jupytext, diffusers, genlab" || { echo "set-up failed: see the pip output above"; exit 1; }
	$(PY) -m genlab.course.torchvision_shim
	@touch $(STAMP)

demo: venv        ## build, run every lesson (smoke), autograde made-up submissions, write reports/demo.html
	$(PY) -m genlab demo

test: venv        ## the whole test suite (CI runs this); the browser tests skip, in one line, without Chromium
	$(PY) -m pytest -n 2 --dist loadgroup

test-browser: venv  ## only the JupyterLab-in-Chromium tests (apt-get install chromium); screenshots in reports/browser/
	$(PY) -m pytest tests/browser

site: venv        ## the solutions, executed, as HTML under site/ (open site/index.html): make site [PROFILE=cpu] [LESSONS="01 02"]
	$(PY) -m genlab site $(LESSONS) --profile $(or $(PROFILE),smoke)

build: venv       ## lessons/*.py -> starter/ and solutions/
	$(PY) -m genlab build

grade: venv       ## autograde autograder/submitted/: make grade [JOBS=4] [LESSON=02_gan] [STUDENT='a*'] [ONLY_NEW=1] [TIMEOUT=s] [SLURM=1] [CLAIM=1] [GRADED_ONLY=1]
	$(PY) -m genlab grade --jobs $(or $(JOBS),1) $(if $(LESSON),--lesson '$(LESSON)') $(if $(STUDENT),--student '$(STUDENT)') \
	  $(if $(ONLY_NEW),--only-new) $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(SLURM),--slurm) $(if $(CLAIM),--claim) \
	  $(if $(GRADED_ONLY),--graded-cells-only)

feedback: venv    ## feedback for fully graded submissions (after formgrader): make feedback [LESSON=02_gan] [RELEASE=1]
	$(PY) -m genlab feedback $(if $(LESSON),--lesson '$(LESSON)') $(if $(RELEASE),--release)

run: venv         ## execute solutions in a profile: make run PROFILE=cpu LESSONS="01 02" [TIMEOUT=seconds per cell]
	$(PY) -m genlab run $(LESSONS) --profile $(or $(PROFILE),smoke) $(if $(TIMEOUT),--timeout $(TIMEOUT))

lint: venv
	$(PY) -m ruff check genlab tests scripts benchmarks autograder

clean:
	rm -rf reports site autograder/source autograder/release autograder/gradebook.db
