# Two commands do all set-up: `make run` and `make test`. Both create .venv with Python 3.11
# when it is missing and install the project with its pinned development dependencies.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# GCC 14 rejects durable-rules' C sources without this (incompatible pointer types).
export CFLAGS ?= -Wno-error=incompatible-pointer-types

.PHONY: run test lint typecheck validate fixtures pytest bench bench-replay test-slow differential fuzz load report-check decision-space meeting-pack schemas clean venv analyze bench-analysis

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11" >&2; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/echri validate policies
	@for f in examples/*.json; do $(BIN)/echri explain "$$f" || exit $$?; echo; done

lint: $(STAMP)
	$(BIN)/ruff check engine tests bench tools

typecheck: $(STAMP)
	$(BIN)/mypy engine

validate: $(STAMP)
	$(BIN)/echri validate policies

fixtures: $(STAMP)
	$(BIN)/echri test fixtures --coverage --min-coverage 100

# Two worker processes (pytest-xdist): the suite is CPU-bound and the CI machine has 2 cores.
PYTEST_WORKERS ?= 2
pytest: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS)

test: lint typecheck validate fixtures pytest

bench: $(STAMP)
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_batch.py
	$(BIN)/python bench/bench_replay.py
	$(BIN)/python bench/bench_analysis.py
	$(BIN)/python bench/bench_screening.py

bench-analysis: $(STAMP)
	$(BIN)/python bench/bench_analysis.py

bench-replay: $(STAMP)
	$(BIN)/python bench/bench_replay.py

# The tests left out of `make test`: service processes under SIGKILL, reloads and tokens,
# several workers, a served bundle, decisions under other hash seeds.
test-slow: $(STAMP)
	$(BIN)/pytest -m slow

# Symbolic analysis (z3, engine/analysis/; README, Proofs): what 2027.1 changes against
# 2026.1 (regions and witnesses), the shipped invariants, and never-firing/shadowed/
# duplicate rules. About 1.5 minutes on 2 cores, so not part of `test`; `rules` reports the
# shadowed rules of 2027.1 and exits 1, which this target does not treat as a failure.
analyze: $(STAMP)
	$(BIN)/echri analyze compare echri-baseline@2026.1 echri-baseline@2027.1 --max-regions 10
	$(BIN)/echri analyze check echri-baseline@2027.1 --invariants analysis/invariants.yaml
	-$(BIN)/echri analyze rules echri-baseline@2027.1

# Both backends on 20,000 generated cases per policy (make test runs 2,000).
differential: $(STAMP)
	ECHRI_DIFF_SEEDS=1000 $(BIN)/pytest tests/test_differential.py

# Schema-generated and mutated cases through every released version and both backends
# (a few minutes on 2 cores); findings in .fuzz/findings.jsonl. Not part of `test`.
fuzz: $(STAMP)
	$(BIN)/python tools/fuzz.py --cases 100000 --jobs 2

# Fixed-rate load on a real `echri serve` (30 s at each rate; decision log with fsync always);
# prints p50/p99/max latency and errors, no assertion. Not part of `test`.
LOAD_RATES ?= 200,500,1000
LOAD_SECONDS ?= 30
LOAD_WORKERS ?= 1
load: $(STAMP)
	$(BIN)/python tools/loadgen.py --rates $(LOAD_RATES) --seconds $(LOAD_SECONDS) --workers $(LOAD_WORKERS)

# Renders the HTML diff report in headless Chromium (Debian package `chromium`) and writes
# docs/report.png, the screenshot the README shows.
report-check: $(STAMP)
	@test -x /usr/bin/chromium || { echo "installing chromium (Debian)"; apt-get install -y -q chromium >/dev/null; }
	$(BIN)/python tools/report_screenshot.py --output docs/report.png

# The decision-space review (docs/decision-space.md): outcome and decisive rule of every
# category × end-user type × band × due diligence under DS_OLD and DS_NEW, changed cells
# highlighted. tests/test_decision_space.py checks the file against this pair: when a new
# version is proposed, switch the pair (e.g. 2026.1 → 2027.1) and run `make decision-space`.
DS_OLD ?= echri-baseline@2026.1
DS_NEW ?= echri-baseline@2027.1
decision-space: $(STAMP)
	$(BIN)/echri review decision-space $(DS_OLD) $(DS_NEW) --output docs/decision-space.md

# The HTML meeting pack of the annual review (docs/meeting-pack.html, A4 print-ready), made
# by the same `echri diff` reviewers run; tests/test_meeting_pack.py fails when it is stale.
# When a new version is proposed, switch the pair (e.g. 2026.1 → 2027.1) and run it again.
MP_OLD ?= echri-baseline@2026.1
MP_NEW ?= echri-baseline@2027.1
meeting-pack: $(STAMP)
	$(BIN)/echri diff $(MP_OLD) $(MP_NEW) --format html --output docs/meeting-pack.html

# Editor schemas per policy version (schemas/generated/, engine/editor/); a test runs
# `echri schema generate --check`, so they cannot go stale.
schemas: $(STAMP)
	$(BIN)/echri schema generate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
