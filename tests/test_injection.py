"""Issue 8, injection: hostile policy, case or fixture text cannot take over an output.

GitHub annotations cannot be forged from a file name, the Markdown diff report posted on
pull requests shows policy text as text (no HTML, links, images or table cells), `echri
explain` prints no terminal control sequences, and a fixture's `message_matches` runs in
linear time (RE2) or is a clear fixture error.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.api import PolicyStore
from engine.cli import main
from engine.compiler import CompiledPolicy
from engine.decision import Decision
from engine.diagnostics import Diagnostic
from engine.diff.bands import BandChange
from engine.diff.behavioural import BehaviouralDiff, Breakdown, CaseChange, CaseKeys
from engine.diff.corpus import Skipped
from engine.diff.report import DiffReport, VersionInfo
from engine.diff.report_markdown import render_markdown
from engine.diff.structural import ElementChange, FieldChange, Section, StructuralDiff
from engine.explain import explanation, render_text, strip_controls
from engine.fixtures import FAIL, RunOptions, RunReport, message_found, run
from engine.fixtures.patterns import PatternError
from engine.markdown import code, escape
from engine.reporters import REPORTERS
from tests.support import case, compiled
from tests.test_fixtures_runner import DATA, demo_store, line_of

# ---------------------------------------------------------------- GitHub annotations

FORGED = "x\n::error file=forged.yaml::pwned"


def test_github_escapes_every_property_of_a_problem() -> None:
    problem = Diagnostic("schema", "50% wrong\nreally", f"a,b:{FORGED}.yaml", 12, 3,
                         help="fix it")
    out = REPORTERS["github"](RunReport((), (problem,)))
    first = out.splitlines()[0]
    assert first == ("::error file=a%2Cb%3Ax%0A%3A%3Aerror file=forged.yaml%3A%3Apwned.yaml,"
                     "line=12,col=3,title=schema::50%25 wrong%0Areally (fix it)")
    assert not any(line.startswith("::error file=forged") for line in out.splitlines())


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fixtures" / "demo").mkdir(parents=True)
    return tmp_path


def test_a_fixture_file_name_cannot_forge_an_annotation(workdir: Path) -> None:
    folder = workdir / "fixtures" / "demo"
    for name in ("wrong-decision", "misspelt-expect"):  # a failure and an invalid file
        shutil.copy(DATA / "broken" / f"{name}.yaml", folder / f"{name}{FORGED}.yaml")
    report = run(demo_store(workdir / "policies"), [Path("fixtures")], RunOptions("python"))
    assert report.count(FAIL) == 1 and report.invalid_files == 1
    lines = REPORTERS["github"](report).splitlines()
    assert not any(line.startswith("::error file=forged") for line in lines)
    annotations = [line for line in lines if line.startswith("::")]
    assert len(annotations) == 2 and len(lines) == 3  # + the counts line
    assert all("file=fixtures/demo/" in a and "%0A%3A%3Aerror file=forged.yaml%3A%3Apwned"
               in a for a in annotations)


# ---------------------------------------------------------------- Markdown diff report

EVIL = ("<img src=x onerror=alert(1)> [click](https://evil.example/a) "
        "![px](http://evil.example/p.png) <https://evil.example/b> www.evil.example "
        "@octocat #12 **bold** | cell &amp;")
LONG = "a long value " * 7


def hostile_report() -> DiffReport:
    """A diff report whose every policy or case text is EVIL."""
    old = VersionInfo("demo 2026.1", "2026.1", "demo@2026.1", "pol/demo/2026.1", "released",
                      "2026-01-01", None, "sha256:" + "a" * 64)
    new = dataclasses.replace(old, label=f"demo {EVIL}", version="2026.2", spec=EVIL,
                              status=EVIL, effective_from=EVIL, digest="sha256:" + "b" * 64)
    fields = (FieldChange("message", "old message", EVIL),
              FieldChange("description", f"{LONG}\n```\n{EVIL}\n", f"{LONG}\n\n{EVIL}"),
              FieldChange("outcomes", added=(EVIL,), removed=("approve_with_conditions",)))
    rules = Section("rules", "Rules", (ElementChange("deny-x", "changed", EVIL, fields),
                                        ElementChange("plain-id", "added", "Large order", ())))
    band = BandChange("BR", EVIL, "low", "high", (EVIL,))
    change = CaseChange(f"C-1``{EVIL}``", f"{EVIL}:1", "approve", "deny", "tightened",
                        (EVIL,), ("deny-x",), (f"conditions: +{EVIL}",), CaseKeys((EVIL,), "low"))
    behaviour = BehaviouralDiff(("deny", "approve"), ((0, 0), (1, 0)), 1, (change,),
                                (Breakdown(EVIL, 1, tightened=1),),
                                (Breakdown("low", 1, tightened=1),),
                                (Skipped("cases:9", EVIL),), (EVIL,))
    return DiffReport("diff", old, new, StructuralDiff((rules,), (band,)), behaviour,
                      (EVIL, f"first line\n\n<img src=y>\n# heading {EVIL}"))


FENCED = re.compile(r"^ *```diff\n.*?^ *```$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)")
TOOL_TAGS = re.compile(r"</?(details|summary|b|code)( open)?>|<br>")
SUMMARY = re.compile(r"^<details( open)?><summary>.*</summary>$", re.MULTILINE)


def outside_code(md: str) -> str:
    """The report without its code blocks and spans, and without the tool's own tags."""
    return TOOL_TAGS.sub("", CODE_SPAN.sub("", FENCED.sub("", md)))


def test_markdown_diff_shows_policy_and_case_text_as_text() -> None:
    md = render_markdown(hostile_report())
    text = outside_code(md)
    assert "<" not in text  # no HTML from the data, not even inside <summary>
    for linkish in ("http://", "https://", "www.", "@octocat", "#12"):
        assert linkish not in text, linkish
    assert "&amp;amp;" in text  # an entity in the data is shown, not decoded
    assert not any(line.startswith(("<img", "# heading", "```")) for line in md.splitlines())
    # Markdown is parsed outside the HTML blocks of the summaries: no link, image, emphasis
    markdown = outside_code(SUMMARY.sub("", md))
    assert not re.search(r"(?<!\\)[\[\]!*]", markdown.replace("**", "")), markdown
    assert "\\*\\*bold\\*\\*" in markdown


def test_markdown_diff_keeps_table_cells_and_code_spans_closed() -> None:
    md = render_markdown(hostile_report())
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    cells = [len(re.findall(r"(?<!\\)\|", row)) for row in rows]
    heads = [i for i, row in enumerate(rows) if set(row) <= set("|-: ")]
    for head in heads:  # every row of a table has as many cells as its alignment row
        width = cells[head]
        end = next((h - 1 for h in heads if h > head), len(rows))
        assert all(n == width for n in cells[head - 1:end]), md
    assert code("a``b") == "``` a``b ```"
    assert code("line\nbreak") == "`line break`"


def test_markdown_diff_values_cannot_close_their_diff_fence() -> None:
    lines = render_markdown(hostile_report()).splitlines()
    start = lines.index("    ```diff", lines.index("  - `description`:"))
    end = lines.index("    ```", start)
    assert end - start > 3
    assert all(line.startswith(("    - ", "    + ")) for line in lines[start + 1:end])


def test_markdown_diff_keeps_its_own_text_and_readable_ids() -> None:
    md = render_markdown(hostile_report())
    assert md.startswith("### echri diff: demo 2026.1 → demo &lt;img")
    assert "<details><summary><b>Rules</b>: 1 added, 1 changed</summary>" in md
    assert "- **+** `plain-id` Large order" in md
    assert escape("approve_with_conditions, 2025.1 (EU) 2021/821") == \
        "approve_with_conditions, 2025.1 \\(EU\\) 2021/821"


# ---------------------------------------------------------------- explain

CONTROLS = "\x1b[2J\x1b]0;owned\x07\x1b]8;;https://evil.example\x1b\\\x9b31m\x07\x08\x7f\x85"
RESTRICTED = case(end_user={"name": "X", "country": "NO", "type": "private_company",
                            "flags": ["restricted_party"]})


def test_strip_controls_removes_sequences_and_keeps_text_byte_identical() -> None:
    normal = "Ünïcødé ß Ελληνικά 日本語 العربية\ttab\nnew line, 50% (approve) ✓"
    assert strip_controls(normal) == normal
    assert strip_controls(f"a{CONTROLS}b") == "ab"
    assert strip_controls("x\x1b]0;title without terminator") == "x"
    assert strip_controls("\x1bcreset \x1bP1$r\x1b\\done\x00") == "reset done"


@pytest.fixture
def policy(tmp_path: Path) -> CompiledPolicy:
    return compiled(tmp_path / "pol")


def hostile_decision(policy: CompiledPolicy) -> Decision:
    """A denial whose case and policy values all carry terminal control sequences."""
    store = PolicyStore({"demo": {"2026.1": policy}})
    clean = store.evaluate(RESTRICTED, backend="python")
    [finding] = clean.findings
    finding = dataclasses.replace(finding, message=f"restricted {CONTROLS}party Ünï",
                                  items=(f"i{CONTROLS}1",), basis=(f"Source{CONTROLS}",))
    return dataclasses.replace(
        clean, case_id=f"T-{CONTROLS}1", findings=(finding,),
        policy={**clean.policy, "id": f"demo{CONTROLS}"},
        conditions=({"id": f"annual{CONTROLS}_report", "text": f"Report {CONTROLS}yearly."},),
        required_assurances=(f"euc{CONTROLS}",), missing_assurances=(f"euc{CONTROLS}",),
        information_requests=({"field": f"end_user{CONTROLS}.type",
                               "request": f"Give {CONTROLS}it."},),
        explanation=f"stored {CONTROLS}elsewhere")


def assert_clean(text: str) -> None:
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text), repr(text)


def test_decision_explanation_carries_no_control_sequences(policy: CompiledPolicy) -> None:
    text = explanation(hostile_decision(policy), policy)
    assert text == ("Deny under demo 2026.1. Decisive: deny-restricted: restricted party Ünï. "
                    "Licence conditions: annual_report. Only a change in the facts that "
                    "triggered the denial can change it.")


def test_explain_view_strips_every_case_and_policy_value(policy: CompiledPolicy) -> None:
    text = render_text(hostile_decision(policy))
    assert_clean(text)
    assert text.startswith("case T-1: DENY\npolicy demo 2026.1 (sha256:")
    for line in ("stored elsewhere", "  - deny                    deny-restricted [items: i1]",
                 "      restricted party Ünï", "      basis: Source",
                 "required assurances: euc", "missing assurances: euc",
                 "information request [end_user.type]: Give it.",
                 "condition [annual_report]: Report yearly."):
        assert line in text.splitlines(), line


def test_echri_explain_prints_no_control_sequences(policy: CompiledPolicy, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    store = PolicyStore({"demo": {"2026.1": policy}})
    hostile = hostile_decision(policy)
    monkeypatch.setattr("engine.cli.evaluate.load_store", lambda policy_dir: store)
    monkeypatch.setattr(PolicyStore, "evaluate", lambda self, *args, **kwargs: hostile)
    path = tmp_path / "case.json"
    path.write_text(json.dumps(RESTRICTED), encoding="utf-8")
    result = CliRunner().invoke(main, ["explain", str(path), "--backend", "python"])
    assert result.exit_code == 0, result.output
    assert_clean(result.stdout)
    assert result.stdout.startswith("case T-1: DENY\n")


def test_plain_explanations_are_unchanged(policy: CompiledPolicy) -> None:
    store = PolicyStore({"demo": {"2026.1": policy}})
    plain = case(case_id="T-ü", items=[{"id": "项目-ß", "value": 1, "quantity": 1}])
    decision = store.evaluate(plain, backend="python")
    assert decision.explanation == \
        "Request information under demo 2026.1. Decisive: info-unclassified: classify 项目-ß."
    assert render_text(decision).startswith("case T-ü: REQUEST_INFORMATION\n")


# ---------------------------------------------------------------- message_matches

CATASTROPHIC = "^(.+)+NOPE$"  # exponential under Python's backtracking re


def some_decision(store: PolicyStore) -> Decision:
    return store.evaluate(case(), backend="python")


def test_catastrophic_pattern_returns_a_non_match(policy: CompiledPolicy) -> None:
    # under Python's re this takes far longer than any test run; RE2 is linear
    store = PolicyStore({"demo": {"2026.1": policy}})
    decision = dataclasses.replace(some_decision(store), explanation="a" * 100_000)
    assert message_found(CATASTROPHIC, decision) is False
    assert message_found("^a+$", decision) is True


def write_fixture(folder: Path, name: str, pattern: str) -> Path:
    source = (DATA / "demo" / "conditions" / "large-order-2026.yaml").read_text()
    path = folder / "fixtures" / "demo" / name
    path.write_text(source.replace("'value 200,000'", json.dumps(pattern)), encoding="utf-8")
    return path


def test_a_catastrophic_fixture_pattern_fails_without_hanging(workdir: Path) -> None:
    write_fixture(workdir, "slow.yaml", CATASTROPHIC)
    report = run(demo_store(workdir / "policies"), [Path("fixtures")], RunOptions("python"))
    [result] = report.results
    assert result.status == FAIL
    assert [m.key for m in result.mismatches] == ["message_matches"]


@pytest.mark.parametrize("pattern", [r"(value) \1", r"(?=value)value", r"(?<!x)value"])
def test_a_pattern_re2_cannot_compile_is_a_fixture_error(workdir: Path, pattern: str) -> None:
    path = write_fixture(workdir, "unsupported.yaml", pattern)
    store = demo_store(workdir / "policies")
    report = run(store, [Path("fixtures")], RunOptions("python"))
    # rejected when the fixture file is loaded, before anything runs
    assert not report.results
    [diag] = [d for d in report.diagnostics if d.code == "fixture-regex"]
    assert diag.file == "fixtures/demo/unsupported.yaml" and f"`{pattern}`" in diag.message
    assert diag.line == line_of(path, "message_matches:")
    text = REPORTERS["text"](report)
    assert f"fixtures/demo/unsupported.yaml:{diag.line}" in text and pattern in text
    with pytest.raises(PatternError):
        message_found(pattern, some_decision(store))


def test_an_unsupported_pattern_exits_2_with_a_clear_message(
        workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fixture(workdir, "unsupported.yaml", r"(value) \1")
    store = demo_store(workdir / "policies")
    monkeypatch.setattr("engine.cli.test.load_store", lambda policy_dir: store)
    result = CliRunner().invoke(main, ["test", "--backend", "python", "fixtures"])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "error[fixture-regex]: `message_matches` pattern `(value) \\1` is not supported" \
        in result.stdout
    assert "Traceback" not in result.output


def test_validator_github_annotations_escape_every_property() -> None:
    from engine.diagnostics import Diagnostic, format_github

    forged = Diagnostic("schema", "bad\n::error::forged", "rules/a\n::error file=x::b.yaml",
                        3, 4)
    out = format_github([forged])
    assert out.count("\n") == 0 and out.startswith("::error file=rules/a%0A%3A%3Aerror")
    assert "file=x%3A%3Ab.yaml" in out
