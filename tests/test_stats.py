"""Meeting statistics (issue 13, commitment 2e): counts from verified logs, suppression that
holds for every cell and every total, no identifying text, deterministic and escaped output."""

from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter, deque
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.api import PolicyStore, load
from engine.cli import main
from engine.decisionlog import LogConfig, LogWriter, Masker, build_record, uuid7
from engine.generator import generate_cases
from engine.stats import RENDERERS, Selection, aggregate, publish, read_verified
from engine.stats.aggregate import CountTable
from engine.stats.publish import SECONDARY_MARK, publish_table
from engine.stats.suppress import PRIMARY, SHOWN, suppress, table_lines
from tests._server import ROOT

N_CASES = 80
EVIL = ('<script>alert(1)</script><img src=x onerror=alert(2)> [x](https://evil.example) '
        '| cell & "quote" \n## heading')


@pytest.fixture(scope="module")
def store() -> PolicyStore:
    return load(ROOT / "policies")


def _cases(store: PolicyStore, n: int) -> list[dict[str, Any]]:
    policy = store.get("2026.1")
    return [{**case, "submitted": "2026-03-01"} for case in generate_cases(policy, n, seed=7)]


def write_log(directory: Path, store: PolicyStore, cases: list[dict[str, Any]],
              days: list[str] | None = None) -> list[dict[str, Any]]:
    """Decide each case with the real engine and log it with the real writer."""
    writer = LogWriter(LogConfig(directory))
    masker = Masker("hmac", key=b"stats-test")
    records = []
    for k, case in enumerate(cases):
        decision = store.evaluate(case, policy_version="2026.1").to_dict()
        day = days[k * len(days) // len(cases)] if days else "2026-06-01"  # in order
        record = build_record(decision_id=str(uuid7()), case=case,
                              masked_case=masker.mask(case), masking=masker.describe(),
                              decision=decision, latency_ms=1.0, source="test",
                              request_id=f"req-{k}", time=f"{day}T10:00:00.000000Z")
        writer.append(record)
        records.append(record)
    writer.close()
    return records


@pytest.fixture(scope="module")
def logged(store: PolicyStore, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Path, list[dict[str, Any]], list[dict[str, Any]]]:
    directory = tmp_path_factory.mktemp("statslog")
    cases = _cases(store, N_CASES)
    return directory, cases, write_log(directory, store, cases,
                                       ["2025-12-31", "2026-02-10", "2026-07-01"])


def test_totals_equal_the_number_of_records(store: PolicyStore, logged: Any) -> None:
    directory, _, written = logged
    records, warnings = read_verified([directory, directory])  # the same log twice: once
    assert len(records) == N_CASES and not warnings
    agg = aggregate(records, store)
    assert agg.decisions == N_CASES and not agg.warnings
    band = next(t for t in agg.tables if t.id == "band")
    assert sum(map(sum, band.cells)) == N_CASES
    outcomes = [r["decision"]["decision"] for r in written]
    for col, outcome in enumerate(band.columns):
        assert sum(row[col] for row in band.cells) == outcomes.count(outcome)
    category = next(t for t in agg.tables if t.id == "category")
    assert sum(map(sum, category.cells)) >= N_CASES  # a decision counts under each category
    data = json.loads(RENDERERS["json"](publish(agg)))
    assert data["decisions"] == N_CASES
    assert data["tables"][0]["totals"]["total"] == N_CASES


def test_period_and_policy_select_decisions(store: PolicyStore, logged: Any) -> None:
    directory, _, written = logged
    records, _ = read_verified([directory])
    in_2026 = sum(r["time"].startswith("2026") for r in written)
    assert 0 < in_2026 < N_CASES
    assert aggregate(records, store, Selection("2026-01-01", "2026-12-31")).decisions == in_2026
    feb = aggregate(records, store, Selection("2026-02-10", "2026-02-10"))
    assert feb.decisions == sum(r["time"].startswith("2026-02-10") for r in written)
    assert (feb.date_from, feb.date_to) == ("2026-02-10", "2026-02-10")
    assert aggregate(records, store, Selection(policy_id="other")).decisions == 0


def test_categories_bands_and_rights_come_from_the_recorded_version(store: PolicyStore,
                                                                    logged: Any) -> None:
    directory, cases, _ = logged
    records, _ = read_verified([directory])
    agg = aggregate(records, store)
    policy = store.get("2026.1")
    band = next(t for t in agg.tables if t.id == "band")
    expected = {b: sum(policy.destinations[c["destination"]].band == b for c in cases
                       if c.get("destination") in policy.destinations) for b in band.rows}
    assert {r: sum(row) for r, row in zip(band.rows, band.cells, strict=True)
            if r != "unknown"} == {b: n for b, n in expected.items() if b != "unknown"}
    rights = next(t for t in agg.tables if t.id == "rights")
    assert "privacy" in rights.rows
    rules = next(t for t in agg.tables if t.id == "rules")
    fired = {f["rule"] for r in records for f in r["decision"]["findings"]}
    assert set(rules.rows) == fired


def test_an_unknown_policy_version_counts_as_unknown(store: PolicyStore, logged: Any) -> None:
    directory, _, _ = logged
    records, _ = read_verified([directory])
    forged = [{**r, "policy": {**r["policy"], "digest": "sha256:" + "1" * 64}} for r in records]
    agg = aggregate(forged, store)
    band = next(t for t in agg.tables if t.id == "band")
    assert band.rows == ("unknown",) and sum(band.cells[0]) == N_CASES
    category = next(t for t in agg.tables if t.id == "category")
    assert category.rows == ("unknown",)
    assert agg.warnings and str(N_CASES) in agg.warnings[0]


# ---------------------------------------------------------------- suppression

def _bridges_free(hidden: set[tuple[int, int]], nr: int, nc: int) -> list[tuple[int, int]]:
    """Hidden entries that are *not* on a cycle of the row/column graph: those a reader
    can compute exactly (a table with margins is a flow whose hidden entries form edges
    between its row nodes 0..nr and column nodes 0..nc, the totals being row/column nr/nc;
    an edge is undetermined by the published entries exactly when it lies on a cycle)."""
    ordered = sorted(hidden)
    edges = [(r, nr + 1 + c) for r, c in ordered]
    exposed = []
    for k, (a, b) in enumerate(edges):
        rest = edges[:k] + edges[k + 1:]
        seen, todo = {a}, deque([a])
        while todo:
            node = todo.popleft()
            for x, y in rest:
                for u, v in ((x, y), (y, x)):
                    if u == node and v not in seen:
                        seen.add(v)
                        todo.append(v)
        if b not in seen:
            exposed.append(ordered[k])
    return exposed


def _check_suppressed(cells: list[list[int]], k: int) -> None:
    nr, nc = len(cells), len(cells[0])
    s = suppress(cells, k)
    assert s.row_totals is not None and s.col_totals is not None and s.grand_total is not None
    value = {(r, c): cells[r][c] for r in range(nr) for c in range(nc)}
    value.update({(r, nc): s.row_totals[r] for r in range(nr)})
    value.update({(nr, c): s.col_totals[c] for c in range(nc)})
    value[(nr, nc)] = s.grand_total
    hidden = {p for p in value if s.is_suppressed(p)}
    for pos, n in value.items():  # every published entry is 0 or at least k
        if pos not in hidden:
            assert n == 0 or n >= k, (pos, n)
        if 0 < n < k:
            assert s.state[pos] == PRIMARY
    for total, line in table_lines(nr, nc, True, True):  # no lone suppressed entry in a line
        assert sum(p in hidden for p in (*line, total)) != 1, (total, line)
    assert _bridges_free(hidden, nr, nc) == []  # nor one pinned by several lines


counts = st.one_of(st.just(0), st.integers(1, 4), st.integers(5, 60))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 6).flatmap(lambda nc: st.lists(st.lists(counts, min_size=nc,
                                                               max_size=nc),
                                                      min_size=1, max_size=7)),
       st.sampled_from([3, 5, 10]))
def test_suppression_holds_for_every_cell_and_every_total(cells: list[list[int]],
                                                          k: int) -> None:
    _check_suppressed(cells, k)


def test_a_bridge_between_two_suppressed_groups_is_closed() -> None:
    # rows 0-1 and 2-3 each hide a 2x2 square; the cell (1, 2) links them, so it alone in
    # its lines would be computable; the suppression must not leave such a bridge
    cells = [[2, 3, 50, 60], [3, 2, 1, 60], [50, 60, 2, 3], [60, 50, 3, 2]]
    _check_suppressed(cells, 5)
    # and the checker itself finds a bridge
    assert _bridges_free({(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 2), (2, 3), (3, 2),
                          (3, 3)}, 4, 4)


def test_one_small_cell_takes_a_second_cell_and_no_total() -> None:
    s = suppress([[3, 20, 30], [40, 50, 60]], 5)
    hidden = {p for p, state in s.state.items() if state != SHOWN}
    assert (0, 0) in hidden and len(hidden) == 4  # a 2x2 rectangle of cells
    assert all(p[0] < 2 and p[1] < 3 for p in hidden)  # the totals stay published
    assert s.grand_total == 203 and not s.is_suppressed((2, 3))


# ---------------------------------------------------------------- what is published

def _identifying(records: list[dict[str, Any]], cases: list[dict[str, Any]]) -> set[str]:
    out: set[str] = set()
    for record in records:
        out |= {record["decision_id"], record["case_id"], record["request_id"],
                record["case_digest"], record["hash"]}
    for case in cases:
        parties = [case.get("end_user"), case.get("exporter"), case.get("purchaser"),
                   *(case.get("intermediaries") or ()), *(case.get("consignees") or ())]
        out |= {p["name"] for p in parties if isinstance(p, dict) and p.get("name")}
        out |= {i["description"] for i in case["items"] if i.get("description")}
        if (case.get("end_use") or {}).get("description"):
            out.add(case["end_use"]["description"])
    for record in records:
        for party in [record["case"].get("end_user") or {}]:
            if party.get("name"):
                out.add(party["name"])  # the masked (HMAC) name
    return {s for s in out if isinstance(s, str) and len(s.strip()) >= 6}


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_no_case_id_name_or_decision_id_in_any_format(store: PolicyStore, logged: Any,
                                                      fmt: str) -> None:
    directory, cases, _ = logged
    records, _ = read_verified([directory])
    text = RENDERERS[fmt](publish(aggregate(records, store)))
    secrets = _identifying(records, cases)
    assert len(secrets) > 3 * N_CASES
    leaked = [s for s in secrets if s in text or json.dumps(s)[1:-1] in text]
    assert leaked == []
    assert "GEN-7" not in text  # the generated case ids' prefix


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_published_counts_are_zero_or_at_least_k(store: PolicyStore, logged: Any,
                                                 fmt: str) -> None:
    directory, _, _ = logged
    records, _ = read_verified([directory])
    for k in (3, 5, 10):
        data = json.loads(RENDERERS["json"](publish(aggregate(records, store), k)))
        values = [v for t in data["tables"] for r in t["rows"]
                  for v in [*r["cells"].values(), r["total"]]]
        values += [v for t in data["tables"] if "totals" in t
                   for v in [*t["totals"]["cells"].values(), t["totals"]["total"]]]
        assert any(v == f"<{k}" for v in values)
        assert all(v in (f"<{k}", SECONDARY_MARK) or v == 0 or v >= k for v in values)
    if fmt == "markdown":  # the rendered numbers too
        text = RENDERERS[fmt](publish(aggregate(records, store), 10))
        numbers = [int(n) for line in text.splitlines() if line.startswith("| ")
                   and not line.startswith("| Destination")
                   for n in re.findall(r"\| (\d+) (?=\|)", line)]
        assert numbers and all(n == 0 or n >= 10 for n in numbers)


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_every_format_is_deterministic(store: PolicyStore, logged: Any, fmt: str) -> None:
    directory, _, _ = logged
    records, _ = read_verified([directory])
    first = RENDERERS[fmt](publish(aggregate(records, store)))
    shuffled = records[:]
    random.Random(3).shuffle(shuffled)
    assert RENDERERS[fmt](publish(aggregate(shuffled, store))) == first
    assert not re.search(r"\d\d:\d\d:\d\d", first)  # no time of day anywhere


def test_hostile_policy_text_is_escaped(store: PolicyStore, tmp_path: Path) -> None:
    """A rule title from a record (version not in the repository) and a category label."""
    cases = _cases(store, 6)
    records = write_log(tmp_path, store, cases)
    for record in records:
        record["policy"] = {"id": "evil", "version": "1", "digest": "sha256:0"}
        for finding in record["decision"]["findings"]:
            finding["title"] = EVIL
    agg = aggregate(records, store)
    evil_table = CountTable("category", EVIL, EVIL, ("x",), (EVIL,), ("deny", "approve"),
                            ((7, 9),), False, EVIL)
    report = publish(agg)
    report = type(report)(report.k, report.date_from, report.date_to, report.policies,
                          report.decisions, (*report.tables, publish_table(evil_table, 5)))
    html = RENDERERS["html"](report)
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html
    assert "href=" not in html and "<a " not in html and "&quot;quote&quot;" in html
    md = RENDERERS["markdown"](report)
    assert "<script" not in md and "<img" not in md and "](https://evil" not in md
    assert "\n## heading" not in md and "&lt;script&gt;" in md
    rows = [line for line in md.splitlines() if line.startswith("| ") and "cell" in line]
    pipes = [len(re.findall(r"(?<!\\)\|", line)) for line in rows]  # a pipe in text: a column
    # the hostile table (label, deny, approve, total), the rules table (five outcomes)
    assert pipes[-1] == 5 and set(pipes) == {5, 8}
    data = json.loads(RENDERERS["json"](report))
    assert data["tables"][-1]["title"] == EVIL  # data, not markup, in JSON


# ---------------------------------------------------------------- command line

def test_cli_writes_each_format_and_refuses_a_broken_chain(logged: Any,
                                                           tmp_path: Path) -> None:
    directory, _, _ = logged
    runner = CliRunner()
    out = tmp_path / "stats.html"
    run = runner.invoke(main, ["stats", "--log", str(directory), "--year", "2026",
                               "--policy-dir", str(ROOT / "policies"), "--format", "html",
                               "--output", str(out)])
    assert run.exit_code == 0, run.output
    assert out.read_text().startswith("<!DOCTYPE html>")
    run = runner.invoke(main, ["stats", "--log", str(directory), "--format", "json",
                               "--policy-dir", str(ROOT / "policies"), "--k", "3"])
    assert run.exit_code == 0 and json.loads(run.stdout)["suppression"]["k"] == 3
    broken = tmp_path / "broken"
    broken.mkdir()
    files = sorted(directory.glob("decisions-*.jsonl"))
    for path in files:
        lines = path.read_text().splitlines(keepends=True)
        if path == files[0]:
            del lines[3]  # a removed record
        (broken / path.name).write_text("".join(lines))
    run = runner.invoke(main, ["stats", "--log", str(broken), "--policy-dir",
                               str(ROOT / "policies")])
    assert run.exit_code == 1 and "error[log-verify]" in run.stderr and run.stdout == ""
    run = runner.invoke(main, ["stats", "--log", str(tmp_path / "none")])
    assert run.exit_code == 2
    run = runner.invoke(main, ["stats", "--log", str(directory), "--year", "2026",
                               "--from", "2026-01-01"])
    assert run.exit_code == 2


def test_cli_skips_a_torn_last_line_with_a_warning(logged: Any, tmp_path: Path) -> None:
    directory, _, _ = logged
    torn = tmp_path / "torn"
    torn.mkdir()
    files = sorted(directory.glob("decisions-*.jsonl"))
    for path in files:
        tail = b'{"format":"echri-decision-l' if path == files[-1] else b""
        (torn / path.name).write_bytes(path.read_bytes() + tail)
    run = CliRunner().invoke(main, ["stats", "--log", str(torn), "--format", "json",
                                    "--policy-dir", str(ROOT / "policies")])
    assert run.exit_code == 0, run.output
    assert "torn last line" in run.stderr and "warning:" in run.stderr
    assert json.loads(run.stdout)["decisions"] == N_CASES


def test_decisions_by_un_m49_region_of_the_destination(store: PolicyStore,
                                                       logged: Any) -> None:
    directory, cases, _ = logged
    records, _ = read_verified([directory])
    region = next(t for t in aggregate(records, store).tables if t.id == "region")
    with (ROOT / "data" / "regions" / "m49.csv").open(encoding="utf-8") as fh:
        m49 = {row["iso2"]: row["region"] for row in csv.DictReader(fh)}
    expected = Counter(m49.get(c.get("destination"), "unknown") for c in cases)
    assert dict(zip(region.rows, map(sum, region.cells), strict=True)) == expected
    assert region.single and set(region.rows) <= {"Africa", "Americas", "Asia", "Europe",
                                                  "Oceania", "unknown"}
    assert len(set(region.rows) - {"unknown"}) >= 4  # the generated destinations spread


@pytest.mark.browser
def test_the_html_report_prints_to_a4_in_chromium(store: PolicyStore, logged: Any,
                                                  tmp_path: Path) -> None:
    """`make report-check`: the page printed by headless Chromium is A4, numbered, with every
    heading in order and nothing wider than the page (tools/report_pdf.py checks)."""
    from engine.diff.pdf import chromium, print_html
    from tests.test_report_pdf import report_pdf

    if chromium() is None:
        pytest.skip("Chromium is not installed")
    directory, _, _ = logged
    records, _ = read_verified([directory])
    html = RENDERERS["html"](publish(aggregate(records, store)))
    pdf = tmp_path / "stats.pdf"
    print_html(html, pdf)
    pages = report_pdf.read_pdf(pdf)
    assert report_pdf.page_problems(pages, report_pdf.headings(html), "") == []
    assert report_pdf.self_contained(html) == []
    assert report_pdf.overflow(chromium(), html) == []
    assert "<svg" in html and report_pdf.squash("Decisions by destination region") in \
        report_pdf.squash("".join(p.text for p in pages))
