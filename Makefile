# Two commands do all set-up: `make run` and `make test`. Both create .venv with Python 3.11
# when it is missing and install the project with its pinned development dependencies.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# GCC 14 rejects durable-rules' C sources without this (incompatible pointer types).
export CFLAGS ?= -Wno-error=incompatible-pointer-types

.PHONY: digests run test lint typecheck validate fixtures pytest bench bench-replay test-slow differential fuzz load report-check decision-space meeting-pack meeting-pack-pdf schemas clean venv analyze bench-analysis

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

# The decisions of 100,000 generated cases per released version against their stored
# digests (tests/data/decision_digests.json; make test checks the fixtures and 2,000 per
# version): after work on the hot path, proof that no decision changed. A few minutes.
digests: $(STAMP)
	$(BIN)/python tools/decision_digests.py --check --large

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
# duplicate rules (errors fail; the shadowed rules of 2027.1 that still matter are
# warnings), then the `analysis` tests (distinct regions of 2026.1 → 2027.1, the 2027.1
# rule classification). About 4 minutes on 2 cores, so not part of `test`.
analyze: $(STAMP)
	$(BIN)/echri analyze compare echri-baseline@2026.1 echri-baseline@2027.1 --max-regions 10
	$(BIN)/echri analyze check echri-baseline@2027.1 --invariants analysis/invariants.yaml
	$(BIN)/echri analyze rules echri-baseline@2027.1
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m analysis tests/test_analysis.py

# Both backends on about 20,000 generated cases per policy, every released baseline version
# in its own period (make test runs about 2,000), and the SMT model against the engine on
# 2,000 generated cases per version and 1,000 random points of the bounded space, 200 more
# with two consignees and intermediaries (make test: 70, 40 and 8). About 25 minutes on
# 2 cores; not part of `test`.
differential: $(STAMP)
	ECHRI_DIFF_SEEDS=1000 $(BIN)/pytest -n $(PYTEST_WORKERS) tests/test_differential.py
	ECHRI_SMT_CASES=2000 ECHRI_SMT_POINTS=1000 $(BIN)/pytest -n $(PYTEST_WORKERS) \
		tests/test_analysis.py tests/test_analysis_parties.py -k "decide"

# Schema-generated and mutated cases through every released version and both backends
# (a few minutes on 2 cores); findings in .fuzz/findings.jsonl. Not part of `test`.
fuzz: $(STAMP)
	$(BIN)/python tools/fuzz.py --cases 100000 --jobs 2

# Fixed-rate load on a real `echri serve` (30 s at each rate; decision log with fsync always;
# two workers, LOAD_FSYNC=1 for an fsync each second, LOAD_WORKERS=1 for one); prints p50/p99/max
# latency, errors and client/server CPU per request, no assertion. Not part of `test`.
LOAD_RATES ?= 200,500,1000
LOAD_SECONDS ?= 30
LOAD_WORKERS ?= 2
LOAD_FSYNC ?= always
load: $(STAMP)
	$(BIN)/python tools/loadgen.py --rates $(LOAD_RATES) --seconds $(LOAD_SECONDS) --workers $(LOAD_WORKERS) --fsync $(LOAD_FSYNC)

# Renders the HTML diff report in headless Chromium (Debian package `chromium`) and writes
# docs/report.png, the screenshot the README shows; then prints that report (2025.1 → 2026.1,
# every part) and the checked-in meeting pack to A4 PDFs in build/ and checks them (A4 pages,
# every section heading in order, running header and page X of Y on every page, nothing
# wider than the page: tools/report_pdf.py), and runs the tests that need Chromium.
report-check: $(STAMP)
	@test -x /usr/bin/chromium || { echo "installing chromium (Debian)"; apt-get install -y -q chromium >/dev/null; }
	$(BIN)/python tools/report_screenshot.py --output docs/report.png --html build/report-check.html
	$(BIN)/python tools/report_pdf.py build/report-check.html --output build/report-check.pdf --check
	$(BIN)/python tools/report_pdf.py docs/meeting-pack.html --output build/meeting-pack.pdf --check
	$(BIN)/pytest -m browser tests/test_report_pdf.py tests/test_stats.py

# The decision-space review (docs/decision-space.md): outcome and decisive rule of every
# category × end-user type × band × due diligence under DS_OLD and DS_NEW, changed cells
# highlighted. tests/test_decision_space.py checks the file against this pair: when a new
# version is proposed, switch the pair (e.g. 2026.1 → 2027.1) and run `make decision-space`.
DS_OLD ?= echri-baseline@2026.1
DS_NEW ?= echri-baseline@2027.1
decision-space: $(STAMP)
	$(BIN)/echri review decision-space $(DS_OLD) $(DS_NEW) --output docs/decision-space.md

# The HTML meeting pack of the annual review (docs/meeting-pack.html, A4 print-ready), made
# by the same `echri diff` reviewers run, linked to the complete proof of what the new
# version loosens and tightens (docs/meeting-pack-proof.json: `analyze compare` with room
# for every region, about two minutes); tests/test_meeting_pack.py fails when either is
# stale. When a new version is proposed, switch the pair (e.g. 2026.1 → 2027.1) and run it.
MP_OLD ?= echri-baseline@2026.1
MP_NEW ?= echri-baseline@2027.1
MP_REGIONS ?= 300
meeting-pack: $(STAMP)
	$(BIN)/echri analyze compare $(MP_OLD) $(MP_NEW) --max-regions $(MP_REGIONS) \
		--format json --output docs/meeting-pack-proof.json
	$(BIN)/echri diff $(MP_OLD) $(MP_NEW) --format html --proof docs/meeting-pack-proof.json \
		--output docs/meeting-pack.html

# The meeting pack printed for the meeting: build/meeting-pack.pdf (A4, running header with
# both versions and digests, page X of Y), checked as in report-check. Needs Chromium, so not
# part of `test`; the PDF is not checked in (build/ is ignored).
meeting-pack-pdf: meeting-pack
	$(BIN)/python tools/report_pdf.py docs/meeting-pack.html --output build/meeting-pack.pdf --check

# Editor schemas per policy version (schemas/generated/, engine/editor/); a test runs
# `echri schema generate --check`, so they cannot go stale.
schemas: $(STAMP)
	$(BIN)/echri schema generate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
