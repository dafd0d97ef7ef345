"""Reporters of `echri test`: text, JSON, JUnit XML, GitHub annotations, Markdown."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from engine.fixtures import FAIL, PASS, RunOptions, RunReport, run
from engine.reporters import REPORTERS, render_summary, reporter
from tests.test_fixtures_runner import DATA, demo_store, line_of


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """./fixtures/demo/ with the samples, one failing and one invalid fixture."""
    fixtures = tmp_path / "fixtures" / "demo"
    shutil.copytree(DATA / "demo", fixtures)
    (fixtures / "broken").mkdir()
    for name in ("wrong-decision.yaml", "misspelt-expect.yaml"):
        shutil.copy(DATA / "broken" / name, fixtures / "broken" / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def report(workdir: Path) -> RunReport:
    store = demo_store(workdir / "policies")
    return run(store, [Path("fixtures")], RunOptions("python", min_coverage=100))


WRONG = "fixtures/demo/broken/wrong-decision.yaml"
INVALID = "fixtures/demo/broken/misspelt-expect.yaml"


def test_registry_names_every_format_and_suggests_on_typos() -> None:
    assert list(REPORTERS) == ["text", "json", "junit", "github", "markdown"]
    with pytest.raises(KeyError, match="did you mean `junit`"):
        reporter("junt")


def test_every_reporter_renders_the_same_run(report: RunReport) -> None:
    for name, render in REPORTERS.items():
        assert render(report).strip(), name


def test_text_shows_status_diff_problems_and_totals(report: RunReport) -> None:
    text = REPORTERS["text"](report)
    assert f"{WRONG}:{line_of(Path(WRONG), 'decision:')}" in text
    assert "-   approve\n" in text and "+   deny\n" in text
    assert f"{INVALID}:{line_of(Path(INVALID), 'expcet:')}:1: error[schema]" in text
    passed, failed = report.count(PASS), report.count(FAIL)
    assert text.splitlines()[-3] == f"{passed + failed} fixtures: {passed} passed, " \
        f"{failed} failed; 1 invalid file"
    assert "rule coverage of demo 2025.1" in text


def test_summary_leaves_out_passing_fixtures(report: RunReport) -> None:
    summary = render_summary(report)
    assert "PASS" not in summary and "FAIL  demo/broken/wrong-decision" in summary


def test_junit_has_one_testcase_per_fixture_and_a_failure_with_the_diff(
        report: RunReport) -> None:
    root = ET.fromstring(REPORTERS["junit"](report))
    suite = root.find("testsuite")
    assert suite is not None
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    fixture_cases = [c for c in cases if c[0] != "rule-coverage"]
    assert len(fixture_cases) == len(report.results) + report.invalid_files

    wrong = cases[("fixtures/demo/broken", "wrong-decision.yaml")]
    failure = wrong.find("failure")
    assert failure is not None
    assert "expected `approve`, got `deny`" in failure.get("message", "")
    assert "-   approve" in (failure.text or "") and "+   deny" in (failure.text or "")
    location = f"fixtures/demo/broken/wrong-decision.yaml:{line_of(Path(WRONG), 'decision:')}"
    assert (failure.text or "").splitlines()[0] == location

    passing = cases[("fixtures/demo/end-users", "deny-restricted-party.yaml")]
    assert list(passing) == []

    invalid = cases[("fixtures/demo/broken", "misspelt-expect.yaml")].find("error")
    assert invalid is not None and "expcet" in (invalid.text or "")

    coverage = [c for c in cases if c[0] == "rule-coverage"]
    assert len(coverage) == 2  # both released versions, each below 100%
    assert int(suite.get("failures", "0")) == report.count(FAIL) + len(report.below_threshold)
    assert int(suite.get("errors", "0")) == 1
    assert suite.get("tests") == str(len(cases))


def test_github_annotates_the_differing_key_of_each_failure(report: RunReport) -> None:
    lines = REPORTERS["github"](report).splitlines()
    decision_line = line_of(Path(WRONG), "decision:")
    [wrong] = [a for a in lines if a.startswith(f"::error file={WRONG},")]
    assert wrong.startswith(f"::error file={WRONG},line={decision_line},title=fixture ")
    message = wrong.split("::", 2)[2]
    assert "\n" not in message and "decision:%0A-   approve%0A+   deny" in message
    expcet_line = line_of(Path(INVALID), "expcet:")
    assert f"::error file={INVALID},line={expcet_line},col=1,title=schema::" in "\n".join(lines)
    assert any(a.startswith("::error title=rule coverage demo 2025.1::") for a in lines)
    assert not any("deny-restricted-party" in a for a in lines)  # passing: no annotation


def test_github_escapes_properties_and_data() -> None:
    from engine.reporters import _annotation

    line = _annotation({"file": "a,b:c.yaml", "title": "x"}, "50% done\nnext")
    assert line == "::error file=a%2Cb%3Ac.yaml,title=x::50%25 done%0Anext"


def test_markdown_puts_the_summary_table_first_and_folds_failures(report: RunReport) -> None:
    md = REPORTERS["markdown"](report)
    assert md.startswith("## ECHRI policy fixtures\n")
    table = md.index("| Result | Count |")
    coverage = md.index("### Rule coverage")
    failures = md.index("### Failures")
    assert table < coverage < failures < md.index("### Invalid fixtures")
    assert f"| Failed | {report.count(FAIL)} |" in md
    assert md.count("<details>") == report.count(FAIL) + 1  # failures + invalid files
    block = md[failures:].split("</details>")[0]
    assert "<summary>❌ <code>demo/broken/wrong-decision</code>" in block
    assert "```diff\n" in block and "\n-   approve\n+   deny\n" in block
    assert "| demo | 2025.1 | released |" in md


def test_markdown_for_a_clean_run(workdir: Path) -> None:
    shutil.rmtree(workdir / "fixtures" / "demo" / "broken")
    clean = run(demo_store(workdir / "policies"), [Path("fixtures")], RunOptions("python"))
    md = REPORTERS["markdown"](clean)
    assert "✅" in md and "<details>" not in md and "### Failures" not in md


def test_json_report_is_machine_readable(report: RunReport) -> None:
    data = json.loads(REPORTERS["json"](report))
    assert data["summary"] == {"fixtures": len(report.results), "passed": report.count(PASS),
                               "failed": report.count(FAIL), "errors": 0, "invalid_files": 1}
    [wrong] = [r for r in data["results"] if r["file"] == WRONG]
    assert wrong["status"] == "fail"
    assert {"key": "decision", "message": "decision: expected `approve`, got `deny`",
            "expected": ["approve"], "actual": ["deny"]} in wrong["mismatches"]
    assert wrong["decision"]["decision"] == "deny"
    assert {p["file"] for p in data["problems"]} == {INVALID}
    versions = {c["version"]: c for c in data["coverage"]}
    assert set(versions) == {"2025.1", "2026.1"}
    for cov in versions.values():
        assert cov["covered"] + len(cov["uncovered"]) == cov["rules"]
