"""Releasing a new version: fixtures under a version, release checks, the README recipe run
verbatim, ids that are never reused, unknown expected rule ids and duplicate case ids.

The small demo policy (tests/support.py) is used throughout, except by the recipe test,
which runs the README's release recipe on a copy of the shipped policies and fixtures.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from engine.api import PolicyStore
from engine.cli import main
from engine.diff import load_spec
from engine.diff.structural import RENAMED, diff_structure
from engine.fixtures import (
    CHANGED,
    ERROR,
    OUTDATED,
    PASS,
    RunOptions,
    discover,
    load_fixtures,
    run,
)
from engine.reporters import REPORTERS
from engine.repository import read_checksums
from engine.validator import validate_report
from engine.versions import VersionError, new_version, release_version
from tests.data.diff.demo import destinations
from tests.support import BASE, RULES, case, compiled, write_version
from tests.test_fixtures_runner import DATA, demo_store
from tests.test_versions import write_fixtures, write_old

ROOT = Path(__file__).resolve().parent.parent
HEAD = "# yaml-language-server: $schema=../../../schemas/fixture.schema.json\n"


def write_fixture(folder: Path, name: str, body: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(HEAD + yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def fixtures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample fixtures as ./fixtures/demo/ of a fresh working directory."""
    shutil.copytree(DATA / "demo", tmp_path / "fixtures" / "demo")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "fixtures"


def invoke(store: PolicyStore, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setattr("engine.cli.test.load_store", lambda policy_dir: store)
    return CliRunner().invoke(main, ["test", "--backend", "python", *args])


def lowered_threshold_store(root: Path) -> PolicyStore:
    """demo 2025.1, 2026.1 and a draft 2027.1 whose `condition-large` starts at 500."""
    store = demo_store(root)
    rules = copy.deepcopy(RULES)
    next(r for r in rules if r["id"] == "condition-large")["when"] = \
        {"fact": "item.value", "gte": 500}
    store.versions["demo"]["2027.1"] = compiled(root / "draft", version="2027.1",
                                                status="draft", effective_from="2027-01-01",
                                                rules=rules)
    return store


# ---------------------------------------------------------------- 1. --policy-version


def test_policy_version_runs_every_unpinned_fixture_under_it(
        tmp_path: Path, fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = demo_store(tmp_path / "policies", draft=True)
    report = run(store, [fixtures], RunOptions("python", policy_version="2027.1"))
    by_id = {r.fixture.test_id: r for r in report.results}
    pinned = by_id["demo/conditions/large-order-pinned-2025"]
    assert (pinned.version, pinned.how) == ("2025.1", "pinned")  # stays pinned
    others = [r for r in report.results if r is not pinned]
    assert {r.version for r in others} == {"2027.1"}
    assert {r.how for r in others} == {"carried"}
    assert by_id["demo/conditions/large-order-2026"].carried.by_date == "2026.1"  # type: ignore[union-attr]
    # written for 2025.1, already different under 2026.1: reported, not a failure
    old = by_id["demo/conditions/large-order-2025"]
    assert old.status == OUTDATED and "written for 2025.1, already differs under 2026.1" \
        in old.summary()
    assert {r.status for r in others if r is not old} == {PASS}

    result = invoke(store, monkeypatch, "fixtures", "--policy-version", "2027.1",
                    "--coverage", "--min-coverage", "100", "-k", "*2026*", "-k", "surveillance",
                    "-k", "end-users", "-k", "pinned")
    out = result.stdout
    assert "(demo 2027.1, its date selects 2026.1)" in out
    assert "(demo 2025.1, pinned)" in out
    assert "ran under --policy-version 2027.1" in out
    assert "  demo 2025.1: 1 fixture (1 pinned)" in out
    # --min-coverage applies to the forced version (a draft), not to 2025.1 or 2026.1
    assert "rule coverage of demo 2027.1 is" in out and "rule coverage of demo 2026.1" not in out
    assert result.exit_code == 1  # info-unclassified is never fired by the samples


def test_policy_version_must_exist(tmp_path: Path, fixtures: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke(demo_store(tmp_path / "p"), monkeypatch, "--policy-version", "2030.1")
    assert result.exit_code == 2 and "no policy has version `2030.1`" in result.output


def test_a_fixture_the_version_changes_is_a_reviewable_change(
        tmp_path: Path, fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = lowered_threshold_store(tmp_path / "policies")
    report = run(store, [fixtures], RunOptions("python", policy_version="2027.1"))
    changed = {r.fixture.test_id: r for r in report.results if r.status == CHANGED}
    assert sorted(changed) == ["demo/end-users/deny-restricted-party",  # rules_exact ones
                               "demo/surveillance/approve-general-it-norway",
                               "demo/surveillance/refer-intrusion-high-risk"]
    assert changed["demo/surveillance/approve-general-it-norway"].summary() == (
        "under 2027.1 the decision is approve_with_conditions, expected approve; rules: "
        "`condition-large` fired, not expected (rules +condition-large)")
    result = invoke(store, monkeypatch, "fixtures", "--policy-version", "2027.1",
                    "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["summary"]["changed"] == 3 and data["policy_version"] == "2027.1"
    row = next(r for r in data["results"] if r["id"].endswith("approve-general-it-norway"))
    assert (row["how"], row["by_date"]) == ("carried", "2026.1")
    assert row["change"].startswith("under 2027.1 the decision is approve_with_conditions")
    # --update leaves a carried fixture alone and says how to fix it
    text = (fixtures / "demo/surveillance/approve-general-it-norway.yaml").read_text()
    result = invoke(store, monkeypatch, "fixtures", "--policy-version", "2027.1", "--update")
    assert "not rewritten: it ran under 2027.1 (--policy-version), its date selects 2026.1: " \
           "pin it (`policy_version: \"2026.1\"`)" in result.stdout
    assert (fixtures / "demo/surveillance/approve-general-it-norway.yaml").read_text() == text
    # the plain run is unaffected: by date the fixture runs under 2026.1 and passes
    assert invoke(store, monkeypatch, "fixtures").exit_code == 0


# ---------------------------------------------------------------- 2. release


@pytest.fixture
def policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pol/demo/2026.1 (released), a draft 2027.1 copied from it, fixtures of 2026 dates."""
    monkeypatch.chdir(tmp_path)
    write_old(tmp_path / "pol")
    new_version(tmp_path / "pol", "2027.1", "demo@2026.1", "2027-01-01")
    write_fixtures(tmp_path)
    return tmp_path / "pol"


def test_release_runs_the_fixtures_of_earlier_dates_under_the_draft(policies: Path) -> None:
    result = release_version(policies, "demo@2027.1", Path("fixtures"), backend="python")
    assert "6 fixture(s) passed, 6 under 2027.1, rule coverage 100%" in result.notes
    assert "6 of them written for earlier versions (carried forward), 0 for 2027.1; " \
           "0 pinned to other versions" in result.notes
    assert yaml.safe_load((policies / "demo/2027.1/policy.yaml").read_text())["status"] == \
        "released"
    assert any(rel.startswith("demo/2027.1/") for rel in read_checksums(policies))


def test_release_blocks_on_a_changed_fixture_unless_accepted(policies: Path) -> None:
    rules = policies / "demo/2027.1/rules/main.yaml"
    rules.write_text(rules.read_text().replace("gte: 100000", "gte: 500"))
    write_fixture(Path("fixtures/demo/rules"), "small", {
        "description": "a small order is approved without conditions",
        "case": case(case_id="small", submitted="2026-08-01"),
        "expect": {"decision": "approve", "rules": [], "rules_exact": True}})
    with pytest.raises(VersionError) as exc:
        release_version(policies, "demo@2027.1", Path("fixtures"), backend="python")
    [problem] = exc.value.diagnostics
    assert problem.code == "fixture-changed" and problem.file == "fixtures/demo/rules/small.yaml"
    assert problem.message == ("fixture `demo/rules/small`: under 2027.1 the decision is "
                               "approve_with_conditions, expected approve; rules: "
                               "`condition-large` fired, not expected (rules +condition-large)")
    assert "policy_version: \"2026.1\"" in (problem.help or "")
    assert "--accept-changes" in (problem.help or "")
    assert yaml.safe_load((policies / "demo/2027.1/policy.yaml").read_text())["status"] == \
        "draft"
    code = CliRunner().invoke(main, ["version", "release", "demo@2027.1", "--backend", "python",
                                     "--policy-dir", str(policies), "--accept-changes"])
    assert code.exit_code == 0, code.output
    assert "accepted change: fixture `demo/rules/small`: under 2027.1" in code.stdout


def test_release_keeps_pinned_fixtures_pinned(policies: Path) -> None:
    data = case(destination="KP", case_id="pin",
                items=[{"id": "i1", "category": "network_surveillance"}],
                end_user={"name": "A", "country": "KP", "type": "law_enforcement", "flags": []})
    write_fixture(Path("fixtures/demo/pinned"), "pinned", {
        "description": "pinned to 2026.1", "policy_version": "2026.1", "case": data,
        "expect": {"decision": "deny", "rules": ["deny-embargo"]}})
    result = release_version(policies, "demo@2027.1", Path("fixtures"), backend="python")
    assert "7 fixture(s) passed, 6 under 2027.1, rule coverage 100%" in result.notes
    assert any(n.endswith("; 1 pinned to other versions") for n in result.notes)


# ---------------------------------------------------------------- 3. the README recipe


def recipe() -> str:
    """The shell block that follows `<!-- release-recipe -->` in README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- release-recipe -->\n```sh\n(.*?)\n```\n", text, re.S)
    assert match, "README.md has no ```sh block after <!-- release-recipe -->"
    return match.group(1)


def test_the_readme_release_recipe_works_verbatim(tmp_path: Path) -> None:
    for name in ("policies", "fixtures", "examples/registers"):  # register fixtures name it
        shutil.copytree(ROOT / name, tmp_path / name)
    before = {p: p.read_bytes() for p in (tmp_path / "policies/echri-baseline").rglob("*")
              if p.is_file()}
    # `echri` of this virtualenv (.venv/bin), running the engine of this checkout
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent),
                                                  os.environ.get("PATH", "")]),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    assert (Path(sys.executable).parent / "echri").is_file()
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", recipe()], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "rule coverage 100%" in done.stdout and "released policies/echri-baseline/2028.1" \
        in done.stdout
    assert {p: p.read_bytes() for p in before} == before  # released versions untouched
    draft = tmp_path / "policies/echri-baseline/2028.1"
    meta = yaml.safe_load((draft / "policy.yaml").read_text())
    assert meta["status"] == "released" and meta["changes"]
    sums = read_checksums(tmp_path / "policies")
    assert sorted(k for k in sums if k.startswith("echri-baseline/2028.1/")) == sorted(
        p.relative_to(tmp_path / "policies").as_posix() for p in draft.rglob("*.yaml"))
    assert "equals: state_telecom}]" in (draft / "rules/embargoes.yaml").read_text()


# ---------------------------------------------------------------- 4. ids are never reused


def write_timeline(root: Path, *versions: dict[str, Any]) -> Path:
    """demo versions 2025.1 (released), 2026.1 (released), 2027.1 (draft), each overridable:
    `rules`, `categories` (list), `red_flags` (list)."""
    meta = [{"version": "2025.1", "effective_from": "2025-01-01",
             "effective_until": "2025-12-31"},
            {"version": "2026.1", "effective_from": "2026-01-01"},
            {"version": "2027.1", "effective_from": "2027-01-01", "status": "draft"}]
    for base, spec in zip(meta, versions, strict=False):
        files: dict[str, Any] = {"destinations.yaml": destinations()}
        if "categories" in spec:
            files["categories.yaml"] = {**BASE["categories.yaml"],
                                        "categories": spec["categories"]}
        if "red_flags" in spec:
            files["end_users.yaml"] = {**BASE["end_users.yaml"], "red_flags": spec["red_flags"]}
        write_version(root, files=files, rules=spec.get("rules"), **base)
    return root


def errors(root: Path) -> list[Any]:
    report = validate_report([root / "demo"], root, checksums=False)
    return [d for d in report.diagnostics if d.severity == "error"]


def without(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [copy.deepcopy(i) for i in items if i["id"] != key]


def test_an_id_retired_in_an_earlier_version_cannot_come_back(tmp_path: Path) -> None:
    cats, flags = BASE["categories.yaml"]["categories"], BASE["end_users.yaml"]["red_flags"]
    dropped = {"rules": without(RULES, "deny-restricted"),
               "categories": without(cats, "general_it"),
               "red_flags": [f for f in flags if f["id"] != "unusual_routing"]}
    write_timeline(tmp_path, {}, dropped, {})
    found = errors(tmp_path)
    messages = sorted(d.message for d in found)
    assert messages == [
        "category `general_it` was retired in 2026.1 and cannot come back in 2027.1 with "
        "another meaning",
        "red flag `unusual_routing` was retired in 2026.1 and cannot come back in 2027.1 with "
        "another meaning",
        "rule `deny-restricted` was retired in 2026.1 and cannot come back in 2027.1 with "
        "another meaning"]
    assert {d.code for d in found} == {"id-reused"}
    rule = next(d for d in found if d.message.startswith("rule"))
    assert rule.file is not None and rule.file.endswith("demo/2027.1/rules/main.yaml")
    assert rule.line is not None and "ids are never reused" in (rule.help or "")
    lines = (tmp_path / "demo/2027.1/rules/main.yaml").read_text().splitlines()
    assert "deny-restricted" in lines[rule.line - 1]


def test_an_id_present_in_every_version_since_it_appeared_is_fine(tmp_path: Path) -> None:
    added_later = [*without(RULES, "deny-restricted")]
    write_timeline(tmp_path, {"rules": added_later}, {}, {})  # new in 2026.1, then kept
    assert errors(tmp_path) == []


def renamed_rules(new_id: str, old_id: str = "deny-restricted") -> list[dict[str, Any]]:
    rules = copy.deepcopy(RULES)
    rule = next(r for r in rules if r["id"] == old_id)
    rule["id"], rule["renamed_from"] = new_id, old_id
    rule["title"] = "Restricted party"
    return rules


def test_a_declared_rename_validates_and_the_diff_shows_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cats = copy.deepcopy(BASE["categories.yaml"]["categories"])
    cats[2].update(id="general_computing", renamed_from="general_it")
    renamed = {"rules": renamed_rules("deny-restricted-party"), "categories": cats}
    write_timeline(tmp_path, {}, renamed, renamed)  # 2027.1 keeps the declaration: history
    assert errors(tmp_path) == []
    monkeypatch.chdir(tmp_path)
    diff = diff_structure(load_spec("demo@2025.1", Path(".")), load_spec("demo@2026.1", Path(".")))
    sections = {s.kind: s for s in diff.sections}
    [rule] = sections["rules"].changes
    assert (rule.change, rule.old_id, rule.id) == (RENAMED, "deny-restricted",
                                                   "deny-restricted-party")
    assert rule.note == "declared rename (`renamed_from`)"
    assert [f.field for f in rule.fields] == ["title"]  # renamed_from itself is not a change
    category = next(c for c in sections["categories"].changes if c.id == "general_computing")
    assert (category.change, category.old_id) == (RENAMED, "general_it")
    assert not any(c.id == "general_it" for c in sections["categories"].changes)


def test_a_rename_must_name_an_id_of_the_preceding_version_that_is_gone(tmp_path: Path) -> None:
    wrong = renamed_rules("deny-restricted-party")
    next(r for r in wrong if r["id"] == "deny-restricted-party")["renamed_from"] = \
        "deny-restrictd"
    kept = [*RULES, renamed_rules("deny-restricted-party")[-2]]
    write_timeline(tmp_path, {}, {"rules": wrong}, {"rules": kept})
    found = errors(tmp_path)
    assert {d.code for d in found} == {"renamed-from", "id-reused"}
    [typo] = [d for d in found if "2026.1" in (d.file or "") and d.code == "renamed-from"]
    assert typo.message == ("rule `deny-restricted-party` is declared renamed from "
                            "`deny-restrictd`, which is not a rule of 2025.1")
    assert typo.help == "did you mean `deny-restricted`?"
    # 2027.1 brings `deny-restricted` back (it was dropped, not renamed, in 2026.1)
    assert any(d.code == "id-reused" and "2027.1" in (d.file or "") for d in found)


def test_a_rename_whose_old_id_is_still_there_is_an_error(tmp_path: Path) -> None:
    both = [*RULES, renamed_rules("deny-restricted-party")[-2]]
    write_timeline(tmp_path, {}, {"rules": both})
    [problem] = errors(tmp_path)
    assert problem.message == ("rule `deny-restricted-party` is declared renamed from "
                               "`deny-restricted`, but `deny-restricted` is still a rule of "
                               "2026.1")


# ---------------------------------------------------------------- 5. fixture checks


def test_an_unknown_expected_rule_id_is_an_error_with_a_suggestion(
        tmp_path: Path, fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = demo_store(tmp_path / "policies")
    path = fixtures / "demo/end-users/deny-restricted-party.yaml"
    path.write_text(path.read_text().replace("rules: [deny-restricted]",
                                             "rules: [deny-restricted-party]"))
    report = run(store, [path], RunOptions("python"))
    [result] = report.results
    assert result.status == ERROR and result.error is not None
    assert result.error.code == "unknown-rule"
    assert result.error.message == ("unknown rule id `deny-restricted-party` in expect.rules: "
                                    "demo 2026.1 has no such rule")
    assert result.error.help == "did you mean `deny-restricted`?"
    text = REPORTERS["text"](report)
    assert "error[unknown-rule]" in text and "did not fire" not in text
    cli = invoke(store, monkeypatch, str(path))
    assert cli.exit_code == 2
    assert f"{path.relative_to(fixtures.parent)}:" in cli.stdout


def test_duplicate_case_ids_are_reported_with_both_files(
        tmp_path: Path, fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_ = fixtures / "demo/end-users/deny-restricted-party-copy.yaml"
    shutil.copy(fixtures / "demo/end-users/deny-restricted-party.yaml", copy_)
    _, problems = load_fixtures(discover([fixtures]))
    [warning] = [d for d in problems if d.code == "duplicate-case-id"]
    assert warning.severity == "warning"
    assert warning.file == "fixtures/demo/end-users/deny-restricted-party.yaml"
    assert warning.message == ("case id `FX-DENY-2` is also used by "
                               "`fixtures/demo/end-users/deny-restricted-party-copy.yaml`")
    lines = Path(warning.file).read_text().splitlines()
    assert warning.line is not None and "case_id: FX-DENY-2" in lines[warning.line - 1]
    result = invoke(demo_store(tmp_path / "policies"), monkeypatch, "fixtures")
    assert result.exit_code == 0  # a warning, not a failure
    assert "warning[duplicate-case-id]" in result.stdout
