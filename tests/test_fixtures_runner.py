"""`echri test`: discovery, selection, pass/fail with diffs, coverage, --update, exit codes.

The sample fixtures in tests/data/fixtures/demo/ target the small demo policy of
tests/support.py (two released versions: 2025.1 without `condition-large`, 2026.1 with
it); tests/data/fixtures/broken/ holds deliberately failing and invalid fixtures. The
store is compiled directly so these tests exercise the runner, not the policy validator.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.api import PolicyStore
from engine.cli import main
from engine.fixtures import (
    FAIL,
    PASS,
    RunOptions,
    discover,
    load_fixtures,
    run,
    run_fixtures,
)
from tests.support import RULES, compiled

DATA = Path(__file__).resolve().parent / "data" / "fixtures"
SAMPLES = sorted((DATA / "demo").rglob("*.yaml"))
Invoke = Callable[..., Result]


def demo_store(root: Path, draft: bool = False) -> PolicyStore:
    """The demo policy in two released versions (plus a draft 2027.1 when asked)."""
    old_rules = [r for r in RULES if r["id"] != "condition-large"]
    versions = {
        "2025.1": compiled(root, version="2025.1", effective_from="2025-01-01",
                           effective_until="2025-12-31", rules=old_rules),
        "2026.1": compiled(root),
    }
    if draft:
        versions["2027.1"] = compiled(root, version="2027.1", status="draft",
                                      effective_from="2027-01-01")
    return PolicyStore({"demo": versions})


def line_of(path: Path, start: str) -> int:
    """1-based number of the first line whose text (stripped) starts with `start`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(start))


def add_fixture(fixtures: Path, source: Path, folder: str = "demo/broken") -> Path:
    target = fixtures / folder / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)
    return target


@pytest.fixture
def store(tmp_path: Path) -> PolicyStore:
    return demo_store(tmp_path / "policies")


@pytest.fixture
def fixtures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the sample fixtures as ./fixtures/demo/ of a fresh working directory."""
    shutil.copytree(DATA / "demo", tmp_path / "fixtures" / "demo")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "fixtures"


@pytest.fixture
def cli(store: PolicyStore, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setattr("engine.cli.test.load_store", lambda policy_dir: store)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, ["test", "--backend", "python", *args])

    return invoke


# ---------------------------------------------------------------- running


def test_sample_fixtures_pass_under_the_version_their_date_or_pin_selects(
        store: PolicyStore, fixtures: Path) -> None:
    report = run(store, [fixtures], RunOptions("python"))
    assert len(report.results) == len(SAMPLES)
    assert [r.fixture.test_id for r in report.results if r.status != PASS] == []
    by_id = {r.fixture.test_id: r for r in report.results}
    assert by_id["demo/conditions/large-order-2025"].version == "2025.1"  # by date
    assert by_id["demo/conditions/large-order-pinned-2025"].version == "2025.1"  # pinned
    assert by_id["demo/conditions/large-order-2026"].version == "2026.1"


def test_passing_suite_exits_0_and_lists_every_fixture(cli: Invoke, fixtures: Path) -> None:
    result = cli("fixtures")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("PASS ") == len(SAMPLES)
    assert f"{len(SAMPLES)} fixtures: {len(SAMPLES)} passed, 0 failed" in result.stdout


def test_default_path_is_fixtures(cli: Invoke, fixtures: Path) -> None:
    assert cli().exit_code == 0


def test_wrong_decision_fails_with_a_readable_diff(cli: Invoke, fixtures: Path) -> None:
    broken = add_fixture(fixtures, DATA / "broken" / "wrong-decision.yaml")
    result = cli("fixtures")
    assert result.exit_code == 1
    out = result.stdout
    assert "FAIL  demo/broken/wrong-decision" in out
    assert f"fixtures/demo/broken/wrong-decision.yaml:{line_of(broken, 'decision:')}" in out
    assert "-   approve\n" in out and "+   deny\n" in out
    assert "-   condition-large   (did not fire)" in out
    assert "actual: deny under demo 2026.1" in out


def test_rules_exact_requires_exactly_the_listed_rules(store: PolicyStore, fixtures: Path) -> None:
    path = add_fixture(fixtures, DATA / "broken" / "extra-rule.yaml")
    fixture_list, _ = load_fixtures(discover([path]))
    [result] = run_fixtures(store, fixture_list, "python")
    assert result.status == FAIL
    [mismatch] = result.mismatches
    assert mismatch.key == "rules" and mismatch.removed == ()
    assert set(mismatch.added) == set(result.decision.rules) - {"deny-embargo"}  # type: ignore[union-attr]
    assert result.line == line_of(path, "rules:")

    path.write_text(path.read_text().replace("rules_exact: true", "rules_exact: false"))
    fixture_list, _ = load_fixtures(discover([path]))
    assert run_fixtures(store, fixture_list, "python")[0].status == PASS


@pytest.mark.parametrize("pattern,expected", [
    ("end-users", {"deny-restricted-party", "request-end-user-type"}),
    ("demo/surveillance/deny-*", {"deny-intrusion-embargoed"}),
    ("*pinned*", {"large-order-pinned-2025"}),
])
def test_select_by_substring_or_glob(store: PolicyStore, fixtures: Path, pattern: str,
                                     expected: set[str]) -> None:
    report = run(store, [fixtures], RunOptions("python", select=(pattern,)))
    assert {r.fixture.source.path.stem for r in report.results} == expected


def test_select_on_the_command_line(cli: Invoke, fixtures: Path) -> None:
    result = cli("fixtures", "-k", "end-users", "-k", "*pinned*")
    assert result.exit_code == 0
    assert result.stdout.count("PASS ") == 3


def test_zero_selected_fails_unless_allowed(cli: Invoke, fixtures: Path) -> None:
    result = cli("fixtures", "-k", "no-such-fixture")
    assert result.exit_code == 1
    assert "no fixture selected" in result.stderr
    assert cli("fixtures", "-k", "no-such-fixture", "--no-fail-on-empty").exit_code == 0


def test_misspelt_expect_is_invalid_exit_2_after_running_the_valid_ones(
        cli: Invoke, fixtures: Path) -> None:
    broken = add_fixture(fixtures, DATA / "broken" / "misspelt-expect.yaml")
    result = cli("fixtures")
    assert result.exit_code == 2
    line = line_of(broken, "expcet:")
    assert f"fixtures/demo/broken/misspelt-expect.yaml:{line}:1: error[schema]" in result.stdout
    assert "`expcet`" in result.stdout or "'expcet' was unexpected" in result.stdout
    assert result.stdout.count("PASS ") == len(SAMPLES)


def test_invalid_fixture_wins_over_failures(cli: Invoke, fixtures: Path) -> None:
    add_fixture(fixtures, DATA / "broken" / "misspelt-expect.yaml")
    add_fixture(fixtures, DATA / "broken" / "wrong-decision.yaml")
    assert cli("fixtures").exit_code == 2


def test_case_contract_violation_makes_the_fixture_invalid(cli: Invoke, fixtures: Path) -> None:
    path = fixtures / "demo" / "end-users" / "deny-restricted-party.yaml"
    path.write_text(path.read_text().replace('destination: "NO"', "destination: norway"))
    result = cli("fixtures")
    assert result.exit_code == 2
    assert f"deny-restricted-party.yaml:{line_of(path, 'destination:')}:" in result.stdout


def test_duplicate_item_ids_make_the_fixture_invalid(cli: Invoke, fixtures: Path) -> None:
    path = fixtures / "demo" / "end-users" / "deny-restricted-party.yaml"
    text = path.read_text()
    item = "    - {id: i1, category: general_it, value: 1000}\n"
    path.write_text(text.replace(item, item + item))
    result = cli("fixtures")
    assert result.exit_code == 2
    assert "duplicate item id" in result.stdout


def test_bad_regular_expression_is_reported_at_its_line(cli: Invoke, fixtures: Path) -> None:
    path = fixtures / "demo" / "conditions" / "large-order-2026.yaml"
    path.write_text(path.read_text().replace("'value 200,000'", "'value (200'"))
    result = cli("fixtures")
    assert result.exit_code == 2
    line = line_of(path, "message_matches:")
    assert f"large-order-2026.yaml:{line}:" in result.stdout
    assert "error[fixture-regex]" in result.stdout


def test_policy_is_the_first_folder_under_fixtures(cli: Invoke, fixtures: Path) -> None:
    add_fixture(fixtures, DATA / "demo" / "end-users" / "deny-restricted-party.yaml",
                folder="other-policy/misc")
    result = cli("fixtures")
    assert result.exit_code == 2
    assert "unknown policy `other-policy`" in result.stdout
    assert "help: known policies: demo; put fixtures under fixtures/<policy-id>/" in result.stdout


def test_message_matches_fails_when_no_message_matches(cli: Invoke, fixtures: Path) -> None:
    path = fixtures / "demo" / "conditions" / "large-order-2026.yaml"
    path.write_text(path.read_text().replace("'value 200,000'", "'value 300,000'"))
    result = cli("fixtures")
    assert result.exit_code == 1
    assert f"large-order-2026.yaml:{line_of(path, 'message_matches:')}" in result.stdout


def test_missing_modeline_is_only_a_warning(cli: Invoke, fixtures: Path) -> None:
    path = fixtures / "demo" / "end-users" / "deny-restricted-party.yaml"
    path.write_text(path.read_text().split("\n", 1)[1])
    result = cli("fixtures")
    assert result.exit_code == 0
    assert "warning[fixture-modeline]" in result.stdout


def test_output_writes_the_report_and_prints_the_summary(cli: Invoke, fixtures: Path,
                                                          tmp_path: Path) -> None:
    add_fixture(fixtures, DATA / "broken" / "wrong-decision.yaml")
    result = cli("fixtures", "--format", "junit", "--output", "reports/fixtures.xml")
    assert result.exit_code == 1
    assert (tmp_path / "reports" / "fixtures.xml").read_text().startswith("<?xml")
    assert "FAIL  demo/broken/wrong-decision" in result.stdout
    assert "PASS " not in result.stdout  # the summary leaves out passing fixtures
    assert "fixtures: " in result.stdout


def test_force_needs_update(cli: Invoke, fixtures: Path) -> None:
    assert cli("fixtures", "--force").exit_code == 2


# ---------------------------------------------------------------- coverage


def test_coverage_counts_the_rules_fired_per_version(store: PolicyStore, fixtures: Path) -> None:
    report = run(store, [fixtures], RunOptions("python", coverage=True))
    assert report.coverage is not None
    for cov in report.coverage:
        cp = store.get(cov.version, "demo")
        assert cov.rules == tuple(r.id for r in cp.rules)
        results = [r for r in report.results if r.version == cov.version]
        fired = {rule for r in results for rule in r.decision.rules}  # type: ignore[union-attr]
        assert set(cov.covered) == fired & set(cov.rules)
        assert set(cov.uncovered) == set(cov.rules) - fired
        assert cov.fixtures == len(results)
        assert cov.percent == pytest.approx(100 * len(cov.covered) / len(cov.rules))
        for rule, ids in cov.fired.items():
            assert all(rule in next(r for r in results if r.fixture.test_id == i)
                       .decision.rules for i in ids)  # type: ignore[union-attr]
    assert "info-unclassified" in report.coverage[1].uncovered


def test_min_coverage_fails_and_names_the_uncovered_rules(cli: Invoke, fixtures: Path) -> None:
    result = cli("fixtures", "--min-coverage", "100")
    assert result.exit_code == 1
    assert "below 100%: never fired: " in result.stdout
    assert "info-unclassified" in result.stdout.split("below 100%")[-1]
    assert cli("fixtures", "--min-coverage", "0").exit_code == 0


def test_full_coverage_passes_and_drafts_are_not_enforced(
        tmp_path: Path, fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    full = demo_store(tmp_path / "p2", draft=True)
    full.versions["demo"].pop("2025.1")
    monkeypatch.setattr("engine.cli.test.load_store", lambda policy_dir: full)
    path = fixtures / "demo" / "surveillance" / "unclassified.yaml"
    path.write_text(
        "# yaml-language-server: $schema=../../schemas/fixture.schema.json\n"
        "description: an item without category or control entry must be classified first\n"
        "case: {case_id: U-1, submitted: '2026-05-01', destination: 'NO',\n"
        "       items: [{id: i1, value: 10}], end_user: {type: private_company}}\n"
        "expect: {decision: request_information, rules: [info-unclassified]}\n")
    args = ["test", "--backend", "python", "fixtures", "-k", "*2026*",
            "-k", "surveillance", "-k", "end-users", "--min-coverage", "100"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stdout
    assert "demo 2026.1 (released): 7/7 rules fired (100.0%)" in result.stdout
    assert "demo 2027.1 (draft): 0/7 rules fired" in result.stdout


# ---------------------------------------------------------------- update


def test_update_rewrites_only_failing_fixtures_and_keeps_comments(
        cli: Invoke, fixtures: Path) -> None:
    broken = add_fixture(fixtures, DATA / "broken" / "wrong-decision.yaml")
    before = {p: p.read_bytes() for p in fixtures.rglob("*.yaml") if p != broken}
    old = broken.read_text()
    result = cli("fixtures", "--update")
    assert result.exit_code == 0, result.stdout
    assert "updated fixtures/demo/broken/wrong-decision.yaml" in result.stdout
    assert {p: p.read_bytes() for p in before} == before  # passing fixtures untouched
    new = broken.read_text()
    head = old[:old.index("expect:")]
    assert new.startswith(head)  # comments and `case:` formatting kept byte for byte
    assert "# Deliberately wrong" in new
    assert "decision: deny" in new and "rules: [deny-restricted]" in new
    assert cli("fixtures").exit_code == 0  # the rewritten fixture now passes


def test_update_keeps_settings_and_drops_a_stale_message_matches(
        cli: Invoke, fixtures: Path) -> None:
    path = fixtures / "demo" / "surveillance" / "deny-intrusion-embargoed.yaml"
    path.write_text(path.read_text().replace("decision: deny", "decision: refer")
                    .replace("embargoed Embargoland", "no such text"))
    result = cli("fixtures", "--update")
    assert "dropped message_matches `no such text`" in result.stdout
    text = path.read_text()
    assert "message_matches" not in text and "decision: deny" in text
    assert "# the embargo rule decides" in text  # the comment above expect: stays

    path = fixtures / "demo" / "surveillance" / "refer-intrusion-high-risk.yaml"
    path.write_text(path.read_text().replace("decision: refer", "decision: deny"))
    cli("fixtures", "--update")
    assert "rules_exact: true" in path.read_text()
    assert "missing_assurances: []" in path.read_text()


def test_force_rewrites_passing_fixtures_too(cli: Invoke, fixtures: Path) -> None:
    path = fixtures / "demo" / "surveillance" / "deny-intrusion-embargoed.yaml"
    before = path.read_text()
    assert "rules: [deny-embargo]\n" in before  # a subset: passes
    cli("fixtures", "--update")
    assert path.read_text() == before
    cli("fixtures", "--update", "--force")
    assert path.read_text() == before  # rules are not widened unless asked
    result = cli("fixtures", "--update", "--force", "--update-rules")
    assert result.exit_code == 0
    after = path.read_text()
    assert "rules: [assure-surveillance, deny-embargo]" in after
    assert "message_matches: embargoed Embargoland" in after
    second = cli("fixtures", "--update", "--force")
    assert "updated" not in second.stdout  # already current: nothing rewritten


def test_update_leaves_invalid_fixtures_alone(cli: Invoke, fixtures: Path) -> None:
    broken = add_fixture(fixtures, DATA / "broken" / "misspelt-expect.yaml")
    before = broken.read_bytes()
    assert cli("fixtures", "--update").exit_code == 2
    assert broken.read_bytes() == before


# ---------------------------------------------------------------- end to end


def test_both_backends_pass_the_samples(store: PolicyStore, fixtures: Path) -> None:
    for backend in ("durable", "python"):
        report = run(store, [fixtures], RunOptions(backend))
        assert {r.status for r in report.results} == {PASS}, backend


def test_end_to_end_with_the_shipped_policies(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixtures made from the examples by --update pass under both backends afterwards."""
    root = Path(__file__).resolve().parent.parent
    folder = tmp_path / "fixtures" / "echri-baseline" / "examples"
    folder.mkdir(parents=True)
    for example in sorted((root / "examples").glob("*.json"))[:4]:
        case = example.read_text(encoding="utf-8")
        (folder / f"{example.stem}.yaml").write_text(
            "# yaml-language-server: $schema=../../../schemas/fixture.schema.json\n"
            f"# made from examples/{example.name}\n"
            f"description: example {example.stem}\ncase: {' '.join(case.split())}\n"
            "expect:\n  decision: deny\n  rules: [no-such-rule]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    policies = ["--policy-dir", str(root / "policies")]
    runner = CliRunner()
    first = runner.invoke(main, ["test", *policies, "--update"])
    assert first.exit_code == 0, first.output
    assert first.stdout.count("updated fixtures/echri-baseline/examples/") == 4
    for backend in ("durable", "python"):
        again = runner.invoke(main, ["test", *policies, "--backend", backend, "--coverage"])
        assert again.exit_code == 0, again.output
        assert "echri-baseline 2026.1 (released):" in again.stdout
        assert "# made from examples/" in (folder / next(folder.iterdir()).name).read_text()
