# Each target bootstraps .venv from requirements.txt when it is missing or stale.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# pytest exits 5 when a selection ran no test (e.g. GPU tests on a CPU machine): not a failure.
PYTEST := $(PY) -m pytest
OK5    := || [ $$? -eq 5 ]

.PHONY: report test full bench nightly stability time-scaleout venv clean
venv: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

## report: the small-scale verdict on every claim, written to reports/
report: $(STAMP)
	$(PYTEST) claims/ -m small $(ARGS) $(OK5)

## test: unit, property and statistics tests, then every claim at the small scale
test: $(STAMP)
	$(PYTEST) tests/ claims/ -m "not full" $(ARGS) $(OK5)

## full: every claim at the full scale (meant for a GPU: make full ARGS="--device cuda")
full: $(STAMP)
	$(PYTEST) claims/ -m full $(ARGS) $(OK5)

## bench: engine against the naive per-run loop, the C kernel against the torch step, and fit
## cost per contender
bench: $(STAMP)
	$(PYTEST) benchmarks/ --benchmark-only --benchmark-sort=name $(ARGS) $(OK5)

## nightly: the nightly workflow's cpu job (scripts/nightly): claims, benchmarks, then the
## history in HISTORY (default reports/history): append, page, drift. Variables: NIGHTLY_SCALE,
## NIGHTLY_SEED, NIGHTLY_REPORT, NIGHTLY_BENCH=no, BENCH_ARGS, DRIFT_ARGS, ARGS
nightly: $(STAMP)
	PY=$(PY) scripts/nightly

## stability: every claim at SEEDS root seeds and SPLITS split seeds (default 10 each) into
## reports/stability/ (stability.md, .json, .png); ARGS go to every run, e.g. ARGS="-n 2";
## PART=NAME runs a -k selection as a part of its own, summarised with the others
SEEDS  ?= 10
SPLITS ?= 10
stability: $(STAMP)
	$(PY) -m evidence.stability run --seeds $(SEEDS) --splits $(SPLITS) $(if $(PART),--part $(PART)) -- $(ARGS)

## time-scaleout: serial, -n 2 and --dask local:2 on the same claims from empty caches, median of
## ROUNDS (3) rounds (scripts/time-scaleout): PATHS (claims/) and ARGS select, e.g. ARGS="-k test_leek"
time-scaleout: $(STAMP)
	PY=$(PY) scripts/time-scaleout

## clean: the virtual environment, the result cache and the generated reports; keeps
## reports/README.md and the nightly history (reports/history), which cannot be regenerated
clean:
	rm -rf $(VENV) .claims-cache .pytest_cache
	test ! -d reports || find reports -mindepth 1 -maxdepth 1 ! -name README.md ! -name history -exec rm -rf {} +
