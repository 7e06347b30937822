# aeqkit: `make run` and `make test` create the virtual environment when it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PROFILE ?= quick
STAMP  := $(VENV)/.aeqkit-installed
PYTEST_ARGS ?=
export PATH := $(abspath $(BIN)):$(PATH)
export PYTHONHASHSEED := 0
# One intra-op thread by default: the quick profile's small tensors gain little from more, and on a
# busy 2-core machine OpenMP spin barriers made a 2-thread model step 10-40x slower (see README).
# Override with `make run OMP_NUM_THREADS=4` (e.g. the full profile on a many-core CPU).
OMP_NUM_THREADS ?= 1
MKL_NUM_THREADS ?= $(OMP_NUM_THREADS)
export OMP_NUM_THREADS MKL_NUM_THREADS
export MPLBACKEND := Agg

.PHONY: help install run test test-fast lint lab bench info clean sync student docs

help:
	@echo "make run      execute every notebook ($(PROFILE) profile) into build/notebooks, summary in build/"
	@echo "make test     lint + unit tests + notebook regression + browser tests"
	@echo "make lab      open JupyterLab on notebooks/ (sources notebooks/NN_name.py, paired .ipynb)"
	@echo "make sync     pair/sync notebooks/NN_name.py with notebooks/NN_name.ipynb (jupytext), then lint"
	@echo "make student  student edition (solutions stripped) into build/student/"
	@echo "make docs     static site from the executed notebooks of make run, build/docs/html/index.html"
	@echo "make bench    layer and discovery benchmarks (ratios printed, JSON in build/)"
	@echo "make info     versions, import checks, GPU presence"
	@echo "PROFILE=full  paper-scale notebooks (meant for a GPU)"

$(STAMP): pyproject.toml requirements/escnn.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24" setuptools wheel
	# torch first, pinned, so the CPU build on local disk satisfies the bounded range in pyproject
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[notebooks,dev,docs]"
	# escnn without its Fortran-only py3nj dependency (its other needs are in pyproject.toml)
	$(BIN)/python -m pip install --quiet --no-deps -r requirements/escnn.txt
	$(BIN)/python -m aeqkit info
	touch $(STAMP)

install: $(STAMP)

info: $(STAMP)
	$(BIN)/python -m aeqkit info

lint: $(STAMP)
	$(BIN)/ruff check aeqkit tests benchmarks tools notebooks docs

run: $(STAMP)
	$(BIN)/python tools/run_notebooks.py --profile $(PROFILE) --out build/notebooks

test: $(STAMP) lint
	$(BIN)/python -m pytest -ra --durations=15 $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -ra -m "not notebooks and not browser and not slow" $(PYTEST_ARGS)

lab: $(STAMP) sync
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_layers.py
	$(BIN)/python benchmarks/bench_discovery.py

# The notebooks' tracked form is notebooks/NN_name.py (jupytext percent, see notebooks/jupytext.toml).
# `sync` creates the git-ignored paired .ipynb for JupyterLab, or carries an edit made in the .ipynb
# back into the .py (whichever is newer wins), then lints the sources.
sync: $(STAMP)
	$(BIN)/jupytext --sync notebooks/[0-9][0-9]_*.py
	$(BIN)/ruff check notebooks

student: $(STAMP)
	$(BIN)/python tools/export_notebooks.py --edition student --out build/student

# the site shows the outputs of `make run` (never re-executes); offline: see the docs extra
docs: $(STAMP)
	test -f build/summary.json || $(MAKE) run
	$(BIN)/python tools/build_docs.py --notebooks build/notebooks --out build/docs

clean:
	rm -rf build .pytest_cache .ruff_cache
