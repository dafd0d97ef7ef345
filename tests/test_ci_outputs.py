"""What CI consumes: `--fail-on` reasons, every `echri test` format from one run, JUnit that
validates against the Jenkins and Ant XSDs, the shipped workflow, undeclared changes and
`--update` that keeps the file."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from engine.cli import main
from engine.diff import diff_versions, fail_on_lines, load_pair, read_jsonl, render
from engine.fixtures import PASS, RunOptions, run
from engine.reporters import REPORTERS
from tests.data.diff.demo import cases, write_cases, write_new, write_old
from tests.test_fixtures_runner import DATA, add_fixture, demo_store

ROOT = Path(__file__).resolve().parent.parent
XSDS = sorted((Path(__file__).parent / "data" / "junit").glob("*.xsd"))
WORKFLOW = ROOT / ".github" / "workflows" / "policy.yml"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


# ---------------------------------------------------------------- diff --fail-on


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_old(tmp_path / "pol")
    write_new(tmp_path / "pol")
    write_cases(tmp_path / "cases.jsonl")
    return tmp_path


DIFF = ("diff", "demo@2026.1", "demo@2026.2", "--policy-dir", "pol", "--cases", "cases.jsonl",
        "--no-fixtures", "--backend", "python")


def test_fail_on_says_which_cases_tripped_it_and_why(demo: Path) -> None:
    result = invoke(*DIFF, "--fail-on", "loosened")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error[fail-on]: 1 decision(s) loosened (--fail-on loosened)",
        "  C-restricted (cases.jsonl:1): deny → approve: rule removed: deny-restricted (deny)",
    ]
    assert "error[fail-on]" not in result.stdout


def test_fail_on_is_quiet_when_it_does_not_trip(demo: Path) -> None:
    (demo / "tight.jsonl").write_text(json.dumps(cases()[1]) + "\n")
    args = [a if a != "cases.jsonl" else "tight.jsonl" for a in DIFF]
    result = invoke(*args, "--fail-on", "loosened")
    assert result.exit_code == 0 and result.stderr == ""


def test_fail_on_lines_are_capped_with_a_count(demo: Path) -> None:
    many = [json.dumps(dict(c, case_id=f"{c['case_id']}-{i}")) for i in range(30)
            for c in cases()]
    report = diff_versions(*load_pair("demo@2026.1", "demo@2026.2", Path("pol")),
                           read_jsonl(many, "many"), backend="python")
    lines = fail_on_lines(report, "any")
    assert lines[0] == "error[fail-on]: 90 decision(s) changed (--fail-on any)"
    assert len(lines) == 1 + 20 + 1 and lines[-1] == "  … and 70 more (see the report)"
    assert all(" → " in line and ": " in line for line in lines[1:-1])
    assert fail_on_lines(report, None) == []


# ---------------------------------------------------------------- echri test --format


@pytest.fixture
def fixture_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """./fixtures/demo/ with the samples and one failing fixture; the demo store."""
    shutil.copytree(DATA / "demo", tmp_path / "fixtures" / "demo")
    add_fixture(tmp_path / "fixtures", DATA / "broken" / "wrong-decision.yaml")
    store = demo_store(tmp_path / "policies")
    monkeypatch.setattr("engine.cli.test.load_store", lambda policy_dir: store)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_format_from_one_run(fixture_dir: Path) -> None:
    result = invoke("test", "fixtures", "--backend", "python", "--coverage",
                    "--format", "junit:reports/junit.xml", "--format", "json:reports/r.json",
                    "--format", "markdown:reports/fixtures.md", "--format", "github")
    assert result.exit_code == 1, result.output
    reports = fixture_dir / "reports"
    assert (reports / "junit.xml").read_text().startswith("<?xml")
    assert json.loads((reports / "r.json").read_text())["summary"]["failed"] == 1
    assert "wrong-decision" in (reports / "fixtures.md").read_text()
    assert result.stdout.startswith("::error file=fixtures/demo/broken/wrong-decision.yaml")


def test_one_format_to_a_file_prints_the_summary(fixture_dir: Path) -> None:
    result = invoke("test", "fixtures", "--backend", "python", "--format", "junit:out/j.xml")
    assert result.exit_code == 1
    assert (fixture_dir / "out" / "j.xml").is_file()
    assert "FAIL  demo/broken/wrong-decision" in result.stdout


@pytest.mark.parametrize("args", [
    ("--format", "text", "--format", "json"),
    ("--format", "junit:a.xml", "--output", "b.xml"),
    ("--format", "junt:a.xml"),
    ("--format", "junit:"),
])
def test_format_usage_errors(fixture_dir: Path, args: tuple[str, ...]) -> None:
    result = invoke("test", "fixtures", "--backend", "python", *args)
    assert result.exit_code == 2, result.output
    if "junt:a.xml" in args:
        assert "did you mean `junit`" in result.stderr


# ---------------------------------------------------------------- JUnit XSDs


def _validate(xml: str) -> None:
    xmlschema = pytest.importorskip("xmlschema")
    assert len(XSDS) == 2
    for xsd in XSDS:
        xmlschema.XMLSchema(str(xsd)).validate(xml)


def test_junit_validates_against_jenkins_and_ant_schemas(fixture_dir: Path) -> None:
    add_fixture(fixture_dir / "fixtures", DATA / "broken" / "misspelt-expect.yaml")
    store = demo_store(fixture_dir / "policies2")
    report = run(store, [Path("fixtures")], RunOptions("python", min_coverage=100))
    assert {r.status for r in report.results} > {PASS} and report.diagnostics
    xml = REPORTERS["junit"](report)
    _validate(xml)
    suite = ET.fromstring(xml).find("testsuite")
    assert suite is not None and float(suite.get("time", "-1")) > 0
    times = [float(c.get("time", "-1")) for c in suite.iter("testcase")]
    assert times and all(t >= 0 for t in times)  # fast fixtures may round to 0.000


def test_junit_of_the_shipped_fixtures_validates(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "junit.xml"
    result = invoke("test", "fixtures", "-k", "licence_conditions", "--format", f"junit:{out}")
    assert result.exit_code == 0, result.output
    _validate(out.read_text())


# ---------------------------------------------------------------- the shipped workflow


def _steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert "pull_request" in workflow[True]  # `on:` is YAML 1.1's true
    return list(workflow["jobs"]["policy"]["steps"])


def _commands(tool: str) -> list[list[str]]:
    out = []
    for step in _steps():
        lines = str(step.get("run", "")).replace("\\\n", " ").splitlines()
        script = " ".join(re.sub(r"\s+#\s.*$", "", line) for line in lines)
        for part in script.split(";"):
            words = shlex.split(part) if tool in part else []
            if tool in words:
                out.append(words[words.index(tool):])
    return out


def test_workflow_validates_tests_once_and_diffs_with_fail_on() -> None:
    assert any(c[:2] == ["echri", "validate"] for c in _commands("echri"))
    tests = [c for c in _commands("echri") if c[:2] == ["echri", "test"]]
    assert len(tests) == 1, "every report format comes from one `echri test` run"
    formats = [tests[0][i + 1] for i, w in enumerate(tests[0]) if w == "--format"]
    assert {f.split(":")[0] for f in formats} >= {"junit", "github", "markdown"}
    diffs = [c for c in _commands("echri") if c[:2] == ["echri", "diff"]]
    assert diffs and all("--fail-on" in c and c[c.index("--fail-on") + 1] == "loosened"
                         and "markdown" in c for c in diffs)
    steps = _steps()
    comment = next(s for s in steps if "sticky-pull-request-comment" in str(s.get("uses")))
    assert comment["with"]["path"] == "reports/policy-diff.md"
    junit = next(s for s in steps if "action-junit-report" in str(s.get("uses")))
    assert f"junit:{junit['with']['report_paths']}" in formats


def test_the_workflow_test_command_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (command,) = [c for c in _commands("echri") if c[:2] == ["echri", "test"]]
    args = [a.replace("reports/", f"{tmp_path}/reports/") for a in command[2:]]
    monkeypatch.chdir(ROOT)
    result = invoke("test", *args, "-k", "licence_conditions", "--backend", "python")
    assert result.exit_code in (0, 1), result.output  # 1: -k leaves rules uncovered
    assert (tmp_path / "reports" / "fixtures.xml").is_file()
    assert (tmp_path / "reports" / "fixtures.md").is_file()


# ---------------------------------------------------------------- undeclared changes


def test_mentions_matches_whole_ids_only() -> None:
    from engine.diff.declared import mentions

    assert mentions(["New category location_tracking."], "location_tracking")
    assert mentions(["(deny-x): removed"], "deny-x")
    assert not mentions(["deny-x-y is new"], "deny-x")
    assert not mentions(["refer-deny-x is new"], "deny-x")
    assert mentions(["see rules/main.yaml"], "rules/main.yaml")


def test_undeclared_changes_warn_and_strict_fails(demo: Path) -> None:
    write_new(demo / "pol", version="2026.3",
              changes=["Removed deny-restricted.", "Brazil gets the misuse factor "
                       "(destinations.yaml)."])
    args = ("diff", "demo@2026.1", "demo@2026.3", "--policy-dir", "pol", "--no-fixtures")
    result = invoke(*args)
    assert result.exit_code == 0 and result.stderr == ""
    assert "warning[undeclared-change]: rules `condition-large` changed" in result.stdout
    assert "deny-restricted` removed" not in result.stdout and "`BR`" not in result.stdout
    report = diff_versions(*load_pair("demo@2026.1", "demo@2026.3", Path("pol")))
    assert [(u.kind, u.id, u.change) for u in report.undeclared] == [
        ("Rules", "condition-large", "changed")]
    assert json.loads(render(report, "json"))["undeclared"] == [
        {"kind": "Rules", "id": "condition-large", "change": "changed"}]
    markdown = render(report, "markdown")
    assert "structural change(s) not declared" in markdown
    assert "- Rules `condition-large` changed" in markdown
    html = render(report, "html")
    assert re.search(r'<section id="undeclared">.*<code>condition-large</code> changed', html)
    strict = invoke(*args, "--strict")
    assert strict.exit_code == 1
    assert strict.stderr.splitlines() == [
        "error[undeclared-change]: rules `condition-large` changed but no line of `changes:` "
        "mentions it"]


def test_a_rules_file_declares_its_rules(demo: Path) -> None:
    write_new(demo / "pol", version="2026.3", changes=["Rules in rules/main.yaml revised",
                                                       "BR: misuse"])
    report = diff_versions(*load_pair("demo@2026.1", "demo@2026.3", Path("pol")))
    assert report.undeclared == ()


def test_shipped_2026_1_declares_every_structural_change() -> None:
    report = diff_versions(*load_pair("echri-baseline@2025.1", "echri-baseline@2026.1",
                                      ROOT / "policies"))
    assert report.structural is not None and report.structural.count > 20
    assert report.undeclared == ()


# ---------------------------------------------------------------- --update


COMMENTED = """\
# yaml-language-server: $schema=../../../schemas/fixture.schema.json
description: intrusion software to an embargoed destination   # one line
case:
  case_id: FX-UPD-1
  submitted: "2026-03-01"
  exporter: {name: Exporter GmbH, country: "NO"}
  items:
    - {id: i1, category: intrusion_software, value: 5000}
  destination: XA
  end_user: {name: Agency, country: XA, type: law_enforcement, flags: []}
  assurances: [end_use_certificate]
expect:
  # what the reviewers agreed on
  decision: refer        # wrong on purpose: the embargo denies
  rules:
    - deny-embargo       # the decisive rule
    - refer-high
  message_matches: "embargoed"
# trailing comment
"""


def _updated(fixture_dir: Path, *flags: str) -> tuple[Result, str]:
    path = fixture_dir / "fixtures" / "demo" / "surveillance" / "commented.yaml"
    path.write_text(COMMENTED)
    result = invoke("test", "fixtures", "--backend", "python", "-k", "commented", "--update",
                    *flags)
    return result, path.read_text()


def test_update_keeps_comments_and_formatting_of_the_expect_block(fixture_dir: Path) -> None:
    result, text = _updated(fixture_dir)
    assert result.exit_code == 0, result.output
    head = COMMENTED[:COMMENTED.index("expect:")]
    assert text.startswith(head)  # the rest of the file byte for byte
    assert text[len(head):] == (
        "expect:\n"
        "  # what the reviewers agreed on\n"
        "  decision: deny         # wrong on purpose: the embargo denies\n"  # same column
        "  rules:\n"
        "    - deny-embargo       # the decisive rule\n"
        '  message_matches: "embargoed"\n'
        "# trailing comment\n")
    assert "dropped from rules: `refer-high` (they do not fire)" in result.stdout


def test_update_does_not_widen_rules_unless_asked(fixture_dir: Path) -> None:
    _, narrow = _updated(fixture_dir)
    assert "assure-surveillance" not in narrow  # it fires, but was never asserted
    result, wide = _updated(fixture_dir, "--update-rules")
    assert result.exit_code == 0, result.output
    assert "    - deny-embargo       # the decisive rule\n" in wide
    assert "assure-surveillance" in wide and "refer-high" not in wide
    assert invoke("test", "fixtures", "--backend", "python", "-k", "commented").exit_code == 0


def test_update_rules_needs_update(fixture_dir: Path) -> None:
    assert invoke("test", "fixtures", "--update-rules").exit_code == 2
