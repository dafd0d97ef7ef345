"""`echri diff`: structural and behavioural diff of two versions, text report line by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.api import BackendUnavailable
from engine.cli import main
from engine.diff import (
    Corpus,
    SourceError,
    diff_versions,
    load_fixtures,
    load_pair,
    load_spec,
    read_jsonl,
    render,
    should_fail,
)
from engine.diff.runner import Job, make_side, run
from tests.data.diff.demo import (
    cases,
    destinations,
    old_rules,
    write_cases,
    write_new,
    write_old,
)
from tests.support import write_version

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "policies"


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with pol/demo/2026.1, its draft 2026.2 and cases.jsonl."""
    monkeypatch.chdir(tmp_path)
    write_old(tmp_path / "pol")
    write_new(tmp_path / "pol")
    write_cases(tmp_path / "cases.jsonl", ['{"case_id": "bad"}', "not json"])
    return tmp_path


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def corpus() -> Corpus:
    return read_jsonl([json.dumps(c) for c in cases()], "cases")


def test_text_report_lists_every_known_difference(demo: Path) -> None:
    old_digest = load_spec("demo@2026.1", Path("pol")).policy.digest[:19]
    new_digest = load_spec("demo@2026.2", Path("pol")).policy.digest[:19]
    code, out, _ = cli("diff", "demo@2026.1", "demo@2026.2", "--policy-dir", "pol",
                       "--cases", "cases.jsonl", "--no-fixtures")
    assert code == 0
    assert out.splitlines() == [
        "echri diff: demo 2026.1 → demo 2026.2",
        "old: demo@2026.1 (pol/demo/2026.1), released, effective from 2026-01-01, "
        f"{old_digest}",
        "new: demo@2026.2 (pol/demo/2026.2), draft, effective from 2026-07-01, "
        f"{new_digest}",
        "",
        "SUMMARY",
        "  structural: 4 element(s): metadata 1 changed; destinations 1 changed; rules 1 "
        "removed, 1 changed; 1 destination band(s) moved",
        "  behavioural: 4 case(s) decided under both versions: 1 loosened, 1 tightened, 1 same "
        "outcome with different reasons, 1 unchanged (2 skipped)",
        "  warning: 3 structural change(s) not declared in the `changes:` of demo 2026.2",
        "",
        "UNDECLARED CHANGES (not mentioned in the `changes:` of demo 2026.2)",
        "  warning[undeclared-change]: destinations `BR` changed but no line of `changes:` "
        "mentions it",
        "  warning[undeclared-change]: rules `condition-large` changed but no line of "
        "`changes:` mentions it",
        "  warning[undeclared-change]: rules `deny-restricted` removed but no line of "
        "`changes:` mentions it",
        "",
        "STRUCTURAL CHANGES",
        "(+ added, - removed, ~ changed, > renamed)",
        "",
        "Metadata",
        "  ~ demo: Demo",
        "      version: 2026.1 → 2026.2",
        "      status: released → draft",
        "      effective_from: 2026-01-01 → 2026-07-01",
        "",
        "Destinations",
        "  ~ BR: Brazil",
        "      factors: +misuse",
        "      (+2 provenance change(s): source, as_of, note)",
        "",
        "Rules",
        "  ~ condition-large: Large",
        "      when: item.value ≥ 100000 → item.value ≥ 50000",
        "  - deny-restricted: Restricted",
        "      when: end_user.flags include restricted_party",
        "      outcome: deny",
        "",
        "Derived risk bands",
        "  BR Brazil: low → high (factor added: misuse)",
        "",
        "BEHAVIOURAL CHANGES",
        "corpus: 5 case(s) from cases.jsonl",
        "skipped: cases.jsonl:5: invalid case: missing required key `destination`",
        "skipped: cases.jsonl:6: expecting value",
        "",
        "Transition matrix (rows: old outcome, columns: new outcome)",
        "  2026.1 \\ 2026.2          deny  refer  req_info  approve_cond  approve",
        "  deny                        .      .         .             .        1",
        "  refer                       .      .         .             .        .",
        "  request_information         .      1         1             .        .",
        "  approve_with_conditions     .      .         .             .        .",
        "  approve                     .      .         .             .        1",
        "",
        "Loosened (less severe outcome): 1",
        "  C-restricted (cases.jsonl:1): deny → approve",
        "      only old: deny-restricted",
        "      why: rule removed: deny-restricted (deny)",
        "",
        "Tightened (more severe outcome): 1",
        "  C-brazil (cases.jsonl:2): request_information → refer",
        "      only new: refer-high",
        "      why: now fires, condition unchanged: refer-high: destination.band low → high",
        "      why: band moved: BR Brazil low → high (factor added: misuse)",
        "",
        "Same outcome, different reasons: 1",
        "  C-threshold (cases.jsonl:3): request_information → request_information",
        "      only new: condition-large",
        "      why: condition changed: condition-large: item.value ≥ 100000 → item.value ≥ "
        "50000",
        "",
        "By category",
        "  category              cases  changed  loosened  tightened  reasons",
        "  intrusion_software        1        1         0          1        0",
        "  network_surveillance      1        1         0          0        1",
        "  general_it                2        1         1          0        0",
        "",
        "By destination band",
        "  band  cases  changed  loosened  tightened  reasons",
        "  high      1        1         0          1        0",
        "  low       3        2         1          0        1",
    ]


def test_a_version_against_itself_is_empty(demo: Path) -> None:
    old, new = load_pair("demo@2026.1", "demo@2026.1", Path("pol"))
    report = diff_versions(old, new, corpus())
    assert report.structural is not None and report.structural.empty
    assert report.behavioural is not None and report.behavioural.total == 4
    assert report.behavioural.empty and report.empty
    assert report.declared_changes == ()
    text = render(report, "text")
    assert "STRUCTURAL CHANGES" not in text
    assert "no changes" in text and "4 case(s) decided under both versions: no decision " \
        "changed" in text


def test_shipped_version_against_itself_is_empty() -> None:
    old, new = load_pair("echri-baseline@2026.1", "echri-baseline@2026.1", SHIPPED)
    report = diff_versions(old, new, read_jsonl(_examples(), "examples"))
    assert report.empty


def _examples() -> list[str]:
    return [json.dumps(json.loads(p.read_text())) for p in sorted((ROOT / "examples")
                                                                  .glob("*.json"))]


def test_shipped_versions_show_their_declared_changes() -> None:
    old, new = load_pair("echri-baseline@2025.1", "echri-baseline@2026.1", SHIPPED)
    report = diff_versions(old, new, read_jsonl(_examples(), "examples"))
    assert report.structural is not None
    sections = {s.kind: s for s in report.structural.sections}
    rules = {c.id: c for c in sections["rules"].changes}
    assert rules["refer-surveillance-resale-chain"].old_id == "refer-reseller-surveillance"
    assert "approve-assured-surveillance-subscriber" in rules
    assert rules["approve-assured-surveillance-subscriber"].change == "removed"
    assert any(b.code == "IT" and b.new == "high" for b in report.structural.bands)
    assert report.declared_changes == new.policy.changes
    for fmt in ("text", "json", "markdown", "html"):
        assert "refer-surveillance-resale-chain" in render(report, fmt)


def test_exact_rename_is_one_change(tmp_path: Path) -> None:
    rules = [dict(r, id="deny-restricted-party") if r["id"] == "deny-restricted" else r
             for r in old_rules()]
    write_old(tmp_path)
    write_version(tmp_path, files={"destinations.yaml": destinations()}, rules=rules,
                  version="2026.3")
    old, new = load_pair("demo@2026.1", "demo@2026.3", tmp_path)
    report = diff_versions(old, new)
    assert report.structural is not None
    (section,) = [s for s in report.structural.sections if s.kind == "rules"]
    (change,) = section.changes
    assert (change.change, change.old_id, change.id) == ("renamed", "deny-restricted",
                                                         "deny-restricted-party")
    assert change.note == "same condition and effect" and change.fields == ()
    assert report.behavioural is None


def test_likely_rename_keeps_its_field_changes(tmp_path: Path) -> None:
    rules = old_rules()
    for r in rules:
        if r["id"] == "refer-high":
            r["id"] = "refer-high-risk"
            r["when"] = {"all": [{"fact": "destination.band", "equals": "high"},
                                 {"fact": "item.category", "in": ["intrusion_software"]},
                                 {"fact": "end_user.type", "equals": "law_enforcement"}]}
    write_old(tmp_path)
    write_version(tmp_path, files={"destinations.yaml": destinations()}, rules=rules,
                  version="2026.3")
    report = diff_versions(*load_pair("demo@2026.1", "demo@2026.3", tmp_path))
    assert report.structural is not None
    (change,) = report.structural.sections[-1].changes
    assert change.change == "renamed" and change.old_id == "refer-high"
    assert change.note == "likely rename: same effect, similar condition"
    assert [f.field for f in change.fields] == ["when"]


def test_fail_on(demo: Path) -> None:
    base = ("diff", "demo@2026.1", "demo@2026.2", "--policy-dir", "pol", "--cases",
            "cases.jsonl", "--no-fixtures")
    assert cli(*base, "--fail-on", "loosened")[0] == 1
    assert cli(*base, "--fail-on", "tightened")[0] == 1
    assert cli(*base, "--fail-on", "any")[0] == 1
    same = ("diff", "demo@2026.1", "demo@2026.1", "--policy-dir", "pol", "--cases",
            "cases.jsonl", "--no-fixtures")
    assert cli(*same, "--fail-on", "any")[0] == 0


def test_fail_on_loosened_ignores_tightening(demo: Path) -> None:
    write_cases(demo / "tight.jsonl")
    lines = (demo / "tight.jsonl").read_text().splitlines()
    (demo / "tight.jsonl").write_text(lines[1] + "\n")  # C-brazil only: tightened
    args = ("diff", "demo@2026.1", "demo@2026.2", "--policy-dir", "pol", "--cases",
            "tight.jsonl", "--no-fixtures", "--fail-on")
    assert cli(*args, "loosened")[0] == 0
    assert cli(*args, "tightened")[0] == 1


@pytest.mark.parametrize("args", [
    ("diff", "demo@2026.1"),
    ("diff", "demo@2026.1", "demo@2026.2", "--format", "pdf"),
    ("diff", "demo@2026.1", "demo@2026.2", "--fail-on", "looser"),
    ("diff", "demo@2026.1", "demo@9999.1", "--policy-dir", "pol"),
    ("diff", "demo@2026.1", "nowhere/at/all", "--policy-dir", "pol"),
    ("diff", "git:", "demo@2026.1", "--policy-dir", "pol"),
    ("diff", "demo@2026.1", "demo@2026.2", "--policy-dir", "pol", "--cases", "missing.jsonl"),
    ("replay", "--policy", "demo@2026.2"),
])
def test_usage_errors_exit_2(demo: Path, args: tuple[str, ...]) -> None:
    code, out, err = cli(*args)
    assert code == 2, (out, err)


def test_invalid_version_lists_its_problems(demo: Path) -> None:
    (demo / "pol" / "demo" / "2026.2" / "rules" / "main.yaml").write_text("rules: [oops]\n")
    code, _, err = cli("diff", "demo@2026.1", "demo@2026.2", "--policy-dir", "pol")
    assert code == 2
    assert "rules/main.yaml" in err and "error[invalid-version]" in err


def test_output_file_and_json(demo: Path) -> None:
    code, _, err = cli("diff", "demo@2026.1", "demo@2026.2", "--policy-dir", "pol", "--cases",
                       "cases.jsonl", "--no-fixtures", "--format", "json", "-o", "r.json")
    assert code == 0 and "wrote r.json" in err
    data = json.loads((demo / "r.json").read_text())
    assert data["behavioural"]["counts"] == {"loosened": 1, "tightened": 1, "reasons": 1}
    assert data["summary"]["structural"].startswith("4 element(s)")
    fields = data["structural"]["sections"][1]["changes"][0]["fields"]
    assert {f["field"] for f in fields if f["provenance"]} == {
        "factors[misuse].source", "factors[misuse].as_of"}


def test_fixtures_are_the_default_corpus(demo: Path) -> None:
    folder = demo / "fixtures" / "demo" / "theme"
    folder.mkdir(parents=True)
    (folder / "one.yaml").write_text(json.dumps({"description": "d", "case": cases()[0],
                                                 "expect": {"decision": "deny"}}))
    (folder / "broken.yaml").write_text("just: text\n")
    loaded = load_fixtures(demo / "fixtures", "demo")
    assert [c.case["case_id"] for c in loaded.cases] == ["C-restricted"]
    assert [s.origin for s in loaded.skipped] == ["fixtures/demo/theme/broken.yaml"]
    code, out, _ = cli("diff", "demo@2026.1", "demo@2026.2", "--policy-dir", "pol",
                       "--fail-on", "loosened")
    assert code == 1
    assert "corpus: 1 fixture(s) under fixtures/demo/" in out


def test_parallel_run_gives_the_same_result_in_order(demo: Path) -> None:
    old, new = load_pair("demo@2026.1", "demo@2026.2", Path("pol"))
    job = Job(make_side(new.compiled), make_side(old.compiled))
    many = read_jsonl([json.dumps(dict(c, case_id=f"{c['case_id']}-{i}"))
                       for i in range(300) for c in cases()], "many").cases
    one, two = run(job, many, jobs=1), run(job, many, jobs=2)
    assert one.total == two.total == 1200
    assert one.changes == two.changes and one.matrix == two.matrix
    assert one.by_band == two.by_band


def test_should_fail_without_cases_is_false(demo: Path) -> None:
    report = diff_versions(*load_pair("demo@2026.1", "demo@2026.2", Path("pol")))
    assert report.behavioural is None
    assert not should_fail(report, "any")


def test_source_errors_name_the_spec(demo: Path) -> None:
    with pytest.raises(SourceError, match=r"no policy\.yaml"):
        load_spec("pol/demo", Path("pol"))
    with pytest.raises(SourceError, match="names a revision but no version"):
        load_spec("git:HEAD", Path("pol"))


def test_both_backends_give_the_same_report(demo: Path) -> None:
    old, new = load_pair("demo@2026.1", "demo@2026.2", Path("pol"))
    try:
        durable = diff_versions(old, new, corpus(), backend="durable")
    except BackendUnavailable:
        pytest.skip("durable-rules is not available here")
    python = diff_versions(old, new, corpus(), backend="python")
    assert render(durable, "json") == render(python, "json")
