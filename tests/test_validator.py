"""The validator on whole policy sets: validity of the minimal version, set-level checks,
checksums, destinations, lint semantics and the `echri validate` command."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import conditions
from engine.cli import main
from engine.diagnostics import Diagnostic
from engine.repository import (
    file_checksums,
    find_version_dirs,
    load_version_source,
    write_checksums,
)
from engine.validator import LINTS, XREF_CHECKS, validate_paths, validate_version
from engine.validator.contradictions import contradiction
from engine.validator.lint import canonical

DATA = Path(__file__).parent / "data"
MINIMAL_ROOT = DATA / "minimal" / "policies"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the minimal policies root, CHECKSUMS included."""
    dest = tmp_path / "policies"
    shutil.copytree(MINIMAL_ROOT, dest)
    return dest


def version_dir(root: Path, version: str = "2026.1") -> Path:
    return root / "demo" / version


def set_meta(path: Path, **fields: str | None) -> None:
    """Set (or, with None, remove) top-level scalars of a version's policy.yaml."""
    policy = path / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    for key, value in fields.items():
        line = "" if value is None else f'{key}: "{value}"\n'
        text, n = re.subn(rf"^{key}: .*\n", line, text, flags=re.M)
        if n == 0:
            text += line
    policy.write_text(text, encoding="utf-8")


def add_version(root: Path, version: str, **fields: str | None) -> Path:
    path = version_dir(root, version)
    shutil.copytree(version_dir(root), path)
    set_meta(path, version=version, **fields)
    return path


def release(root: Path) -> None:
    """Record the checksums of every version, as `echri version release` would."""
    sums: dict[str, str] = {}
    for path in find_version_dirs(root):
        sums.update(file_checksums(path, root))
    write_checksums(root, sums)


def found(diagnostics: list[Diagnostic], root: Path) -> list[tuple[str, str, int | None]]:
    """(code, file relative to root, line) of each diagnostic."""
    return [(d.code, Path(d.file or "").relative_to(root).as_posix(), d.line) for d in diagnostics]


# --- the minimal version ------------------------------------------------------------------

def test_minimal_policy_is_valid() -> None:
    assert validate_paths([MINIMAL_ROOT]) == []


def test_minimal_version_builds_a_policy() -> None:
    policy, problems = validate_version(load_version_source(version_dir(MINIMAL_ROOT)))
    assert problems == []
    assert policy is not None and policy.id == "demo" and len(policy.rules) == 8


def test_a_version_with_errors_builds_no_policy(root: Path) -> None:
    (version_dir(root) / "end_users.yaml").write_text("red_flags: 3\n", encoding="utf-8")
    policy, problems = validate_version(load_version_source(version_dir(root)))
    assert policy is None and problems and all(d.code == "schema" for d in problems)


def test_a_version_with_warnings_still_builds(root: Path) -> None:
    (version_dir(root) / "rules" / "main.yaml").write_text(
        "rules: []\n", encoding="utf-8")  # no modeline; only requirements test categories
    policy, problems = validate_version(load_version_source(version_dir(root)))
    assert policy is not None
    assert [(d.code, d.severity) for d in problems] == [
        ("unused-category", "warning"),  # general_it (the others: through their group)
        ("missing-modeline", "warning")]
    assert "`general_it`" in problems[0].message


def test_validate_accepts_the_root_a_set_or_a_version(root: Path) -> None:
    for path in (root, root / "demo", version_dir(root)):
        assert validate_paths([path], root) == []


def test_registries_are_explicit() -> None:
    assert {"never-fires", "conflicting-rules", "duplicate-condition", "unused-category",
            "unused-factor", "missing-modeline"} <= set(LINTS)
    assert {lint.severity for lint in LINTS.values()} <= {"error", "warning"}
    assert "conditions" in XREF_CHECKS and "destinations" in XREF_CHECKS


# --- files and metadata -------------------------------------------------------------------

def test_missing_and_unknown_files(root: Path) -> None:
    (version_dir(root) / "assurances.yaml").unlink()
    (version_dir(root) / "notes.yaml").write_text("a: 1\n", encoding="utf-8")
    got = validate_paths([root], checksums=False)
    assert found(got, root) == [("missing-file", "demo/2026.1/assurances.yaml", None),
                                ("unknown-file", "demo/2026.1/notes.yaml", None)]


def test_policy_id_must_match_its_directory(root: Path) -> None:
    shutil.move(root / "demo", root / "other")
    got = validate_paths([root], checksums=False)
    assert found(got, root) == [("version-mismatch", "other/2026.1/policy.yaml", 3)]
    assert "`demo`" in got[0].message and "`other`" in got[0].message


def test_effective_until_before_effective_from(root: Path) -> None:
    set_meta(version_dir(root), effective_until="2025-12-31")
    got = validate_paths([root], checksums=False)
    assert [d.code for d in got] == ["effective-dates"]


# --- set-level checks ---------------------------------------------------------------------

@pytest.mark.parametrize(("until", "start"), [
    (None, "2027-01-01"),           # runs until the next version starts
    ("2026-12-31", "2027-01-01"),   # effective_until is inclusive
])
def test_consecutive_versions_are_fine(root: Path, until: str | None, start: str) -> None:
    set_meta(version_dir(root), effective_until=until)
    add_version(root, "2027.1", effective_from=start, effective_until=None)
    assert validate_paths([root], checksums=False) == []


@pytest.mark.parametrize(("until", "start"), [
    ("2027-01-01", "2027-01-01"),   # one shared day
    ("2027-06-30", "2027-01-01"),
    (None, "2026-01-01"),           # same start
])
def test_overlapping_released_versions(root: Path, until: str | None, start: str) -> None:
    set_meta(version_dir(root), effective_until=until)
    add_version(root, "2027.1", effective_from=start, effective_until=None)
    got = validate_paths([root], checksums=False)
    assert [(c, f) for c, f, _ in found(got, root)] == [
        ("version-overlap", "demo/2027.1/policy.yaml")]
    assert "2026.1" in got[0].message


def test_gap_between_released_versions(root: Path) -> None:
    set_meta(version_dir(root), effective_until="2026-11-30")
    add_version(root, "2027.1", effective_from="2027-01-01", effective_until=None)
    got = validate_paths([root], checksums=False)
    assert [(c, f) for c, f, _ in found(got, root)] == [("version-gap", "demo/2026.1/policy.yaml")]
    assert "from 2026-12-01 to 2026-12-31" in got[0].message
    assert got[0].line == (version_dir(root) / "policy.yaml").read_text().splitlines().index(
        'effective_until: "2026-11-30"') + 1


def test_drafts_are_exempt_from_the_timeline(root: Path) -> None:
    set_meta(version_dir(root), effective_until="2026-03-31")
    add_version(root, "2026.2", status="draft", effective_from="2026-02-01",
                effective_until=None)
    add_version(root, "2027.1", effective_from="2026-04-01", effective_until=None)
    assert validate_paths([root], checksums=False) == []


def test_two_versions_with_one_version_string(root: Path) -> None:
    copy = add_version(root, "2027.1", effective_from="2027-01-01")
    set_meta(copy, version="2026.1", status="draft")
    got = validate_paths([root], checksums=False)
    assert sorted((c, f) for c, f, _ in found(got, root)) == [
        ("duplicate-version", "demo/2027.1/policy.yaml"),
        ("version-mismatch", "demo/2027.1/policy.yaml")]


# --- checksums ----------------------------------------------------------------------------

def test_checksums_of_an_unchanged_release_pass(root: Path) -> None:
    assert validate_paths([root]) == []


def test_changed_file_of_a_released_version(root: Path) -> None:
    rules = version_dir(root) / "rules" / "main.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + "# a comment changes the bytes\n",
                     encoding="utf-8")
    got = validate_paths([root])
    assert found(got, root) == [("checksum-mismatch", "demo/2026.1/rules/main.yaml", None)]
    assert "`rules/main.yaml`" in got[0].message and "immutable" in got[0].message
    assert got[0].help is not None and "new version" in got[0].help


def test_added_and_removed_files_of_a_released_version(root: Path) -> None:
    shutil.move(version_dir(root) / "rules" / "main.yaml", version_dir(root) / "rules" / "x.yaml")
    got = [d for d in validate_paths([root]) if d.code == "checksum-mismatch"]
    assert [(d.file, "removed" in d.message, "added" in d.message) for d in got] == [
        (str(version_dir(root) / "rules" / "main.yaml"), True, False),
        (str(version_dir(root) / "rules" / "x.yaml"), False, True)]


def test_released_version_without_checksums(root: Path) -> None:
    (root / "CHECKSUMS").unlink()
    got = validate_paths([root])
    assert found(got, root) == [("checksum-missing", "demo/2026.1/policy.yaml", 6)]
    assert got[0].help == "run `echri version release`"


def test_drafts_need_no_checksums(root: Path) -> None:
    (root / "CHECKSUMS").unlink()
    set_meta(version_dir(root), status="draft")
    assert validate_paths([root]) == []


def test_explicit_root_for_checksums(root: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert [d.code for d in validate_paths([version_dir(root)], elsewhere)] == [
        "checksum-missing"]
    assert validate_paths([version_dir(root)], root) == []


# --- destinations -------------------------------------------------------------------------

def test_destination_coverage_and_unknown_codes(root: Path) -> None:
    path = version_dir(root) / "destinations.yaml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"  ZW:\n    name: .*\n    factors: \[\]\n", "", text)
    text = text.replace("  ZM:\n", "  QQ:\n    name: Nowhere\n    factors: []\n  ZM:\n")
    path.write_text(text, encoding="utf-8")
    got = validate_paths([root], checksums=False)
    assert [d.code for d in got] == ["destination-missing", "unknown-ref"]
    assert got[0].message.endswith(": ZW") and got[0].line == 4
    assert "`QQ`" in got[1].message


def test_unknown_factor_of_a_destination(root: Path) -> None:
    path = version_dir(root) / "destinations.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("id: misuse,", "id: misuze,"),
                    encoding="utf-8")
    got = validate_paths([root], checksums=False)
    assert [(d.code, d.help) for d in got] == [("unknown-ref", "did you mean `misuse`?")]


# --- lint semantics -----------------------------------------------------------------------

def t(fact: str, op: str, arg: object, neg: bool = False) -> conditions.Test:
    return conditions.Test(fact, op, tuple(arg) if isinstance(arg, list) else arg, neg)


CONTRADICTORY = [
    [t("end_user.type", "equals", "a"), t("end_user.type", "equals", "b")],
    [t("end_user.type", "equals", "a"), t("end_user.type", "not_equals", "a")],
    [t("end_user.type", "in", ["a", "b"]), t("end_user.type", "equals", "c")],
    [t("end_user.type", "in", ["a", "b"]), t("end_user.type", "not_in", ["a", "b"])],
    [t("end_use.purpose", "exists", True), t("end_use.purpose", "exists", False)],
    [t("end_user.type", "equals", "a"), t("end_user.type", "equals", "a", neg=True)],
    [t("item.value", "gt", 10), t("item.value", "lt", 5)],
    [t("item.value", "gte", 5), t("item.value", "lt", 5)],
    [t("end_user.flags", "contains", "x"), t("end_user.flags", "contains", "x", neg=True)],
    [t("end_user.flags", "contains_all", ["x", "y"]), t("end_user.flags", "contains", "y", True)],
    [t("end_user.flags", "exists", False), t("end_user.flags", "contains_any", ["x", "y"])],
    [t("item.classified", "equals", True), t("item.classified", "equals", False)],
    [t("end_user.name", "exists", True), t("end_user.name", "exists", True, neg=True)],
]
SATISFIABLE = [
    [t("end_user.type", "equals", "a", neg=True), t("end_user.type", "equals", "b", neg=True)],
    [t("end_user.type", "equals", "a", neg=True), t("end_user.type", "exists", False)],
    [t("end_user.type", "in", ["a", "b"]), t("end_user.type", "equals", "a")],
    [t("item.value", "gte", 5), t("item.value", "lte", 5)],
    [t("item.value", "gt", 5), t("item.value", "lt", 6), t("item.value", "not_equals", 5.5)],
    [t("end_user.flags", "contains", "x"), t("end_user.flags", "contains", "y", neg=True)],
    [t("end_user.type", "equals", "a"), t("end_user.flags", "contains", "a", neg=True)],
    [t("item.value", "gt", 10), t("item.quantity", "lt", 5)],
]


@pytest.mark.parametrize("conjunction", CONTRADICTORY)
def test_contradictions_are_found(conjunction: list[conditions.Test]) -> None:
    assert contradiction(conjunction) is not None


@pytest.mark.parametrize("conjunction", SATISFIABLE)
def test_satisfiable_conjunctions_are_not_contradictions(
        conjunction: list[conditions.Test]) -> None:
    assert contradiction(conjunction) is None


def parsed(raw: dict) -> conditions.Node:
    node, problems = conditions.parse(raw)
    assert node is not None, problems
    return node


def test_canonical_condition_ignores_order_and_nesting() -> None:
    a = parsed({"all": [{"fact": "item.value", "gt": 1},
                        {"fact": "end_user.type", "in": ["x", "y"]}]})
    b = parsed({"all": [{"all": [{"fact": "end_user.type", "in": ["y", "x"]}]},
                        {"fact": "item.value", "gt": 1}]})
    c = parsed({"any": [{"fact": "item.value", "gt": 1},
                        {"fact": "end_user.type", "in": ["x", "y"]}]})
    d = parsed({"not": {"any": [{"not": {"fact": "item.value", "gt": 1}},
                                {"not": {"fact": "end_user.type", "in": ["x", "y"]}}]}})
    assert canonical(a) == canonical(b) == canonical(d)
    assert canonical(a) != canonical(c)


def test_rules_completing_each_other_do_not_conflict(root: Path) -> None:
    (version_dir(root) / "rules" / "extra.yaml").write_text("""\
# yaml-language-server: $schema=../../../../schemas/rules.schema.json
rules:
  - id: refer-law-enforcement
    title: Law enforcement
    description: Law enforcement end users are reviewed.
    commitments: [coc-1]
    basis: [{source: demo-law}]
    when: {fact: end_user.type, equals: law_enforcement}
    outcome: refer
    message: "{end_user.type}"
  - id: assure-law-enforcement
    title: Law enforcement assurances
    description: Law enforcement end users give an end-use certificate.
    commitments: [coc-4]
    basis: [{source: demo-law}]
    when: {fact: end_user.type, equals: law_enforcement}
    require_assurances: [end_use_certificate]
    message: "{end_user.type}"
""", encoding="utf-8")
    assert validate_paths([root], checksums=False) == []


# --- the command line ---------------------------------------------------------------------

def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", *args])
    return result.exit_code, result.output


def break_a_rule(root: Path) -> Path:
    rules = version_dir(root) / "rules" / "main.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace(
        "equals: network_surveillance", "equals: network_survelliance"), encoding="utf-8")
    release(root)
    return rules


def test_cli_clean(root: Path) -> None:
    code, out = run(str(root))
    assert code == 0
    assert out.strip() == "ok: 1 version, 9 files, no problems"


def test_cli_problems_in_text(root: Path) -> None:
    rules = break_a_rule(root)
    code, out = run(str(root))
    lines = out.strip().splitlines()
    assert code == 1
    assert lines[0].startswith(f"{rules}:")
    assert "error[unknown-ref]: rule `refer-misuse-network`: `network_survelliance`" in lines[0]
    assert lines[1] == "  help: did you mean `network_surveillance`?"
    assert lines[-1] == "1 error, 0 warnings in 1 file (checked 1 version, 9 files)"


def test_cli_github_format(root: Path) -> None:
    rules = break_a_rule(root)
    code, out = run(str(root), "--format", "github")
    line = (rules.read_text(encoding="utf-8").splitlines()
            .index("        - {fact: item.category, equals: network_survelliance}") + 1)
    assert code == 1
    assert out.strip().splitlines() == [
        f"::error file={rules},line={line},col=41,title=unknown-ref::rule `refer-misuse-network`: "
        "`network_survelliance` is not a known value of `item.category` "
        "(did you mean `network_surveillance`?)"]


def test_cli_json_format(root: Path) -> None:
    break_a_rule(root)
    code, out = run(str(root), "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert data["count"] == 1 and data["problems"][0]["code"] == "unknown-ref"


def test_cli_warnings_fail_and_no_lint_skips_them(root: Path) -> None:
    never = (DATA / "invalid" / "never-fires.yaml").read_text(encoding="utf-8")
    (version_dir(root) / "rules" / "extra.yaml").write_text(never, encoding="utf-8")
    release(root)
    code, out = run(str(root))
    assert code == 1 and "warning[never-fires]" in out
    assert out.strip().endswith("0 errors, 1 warning in 1 file (checked 1 version, 10 files)")
    assert run(str(root), "--no-lint") == (0, "ok: 1 version, 10 files, no problems\n")


def test_cli_usage_errors(tmp_path: Path) -> None:
    code, out = run(str(tmp_path / "absent"))
    assert code == 2 and "does not exist" in out
    code, out = run(str(tmp_path))
    assert code == 2 and "no policy version" in out
    code, _ = run(str(tmp_path), "--format", "xml")
    assert code == 2


def test_a_condition_that_is_never_true_never_fires(root: Path) -> None:
    rules = version_dir(root) / "rules" / "main.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace(
        "when: {fact: end_user.flags, contains: restricted_party}",
        "when: {not: {all: []}}"), encoding="utf-8")
    got = validate_paths([root], checksums=False)
    assert [(d.code, d.message) for d in got] == [
        ("never-fires", "rule `deny-restricted-party` can never fire: its condition is "
                        "contradictory")]


def test_destination_citations_name_the_destination(root: Path) -> None:
    path = version_dir(root) / "destinations.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "{id: arms_embargo, source: demo-law,", "{id: arms_embargo, source: demo-lax,"),
        encoding="utf-8")
    got = validate_paths([root], checksums=False)
    assert [(d.code, d.message) for d in got] == [
        ("unknown-ref", "destination `KP` cites unknown source `demo-lax`")]


@pytest.mark.parametrize("precedence", [
    "[deny, deny, refer, request_information, approve]",   # a repeated outcome
    "[deny, refer, request_information, approve]",         # one missing
    "[deny, refer, request_information, approve_with_conditions, aprove]",
])
def test_outcome_precedence_is_a_permutation_of_the_outcomes(root: Path, precedence: str) -> None:
    policy = version_dir(root) / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    policy.write_text(re.sub(r"precedence: \[.*\]", f"precedence: {precedence}", text),
                      encoding="utf-8")
    got = validate_paths([root], checksums=False)
    assert [(d.code, d.line) for d in got] == [("schema", 9)]
