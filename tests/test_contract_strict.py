"""Fail closed under every input: numbers, strings and ids (issue 8), contract and validator.

Cases: non-finite numbers and huge integers, deep nesting, patterns anchored for real (no
`$`-before-newline, ASCII digits), lone surrogates and hidden characters in ids are all
CaseErrors with the JSON path of the value. Policies: non-finite or huge numbers are validator
errors at file:line:col, and `echri validate` compiles and evaluates every valid version on
every backend.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import engine
from engine.backends import BACKENDS
from engine.backends.python import PythonBackend
from engine.cases import CASE_MAX_DEPTH, CaseError, check_case
from engine.cli import main
from engine.compiler import CompiledPolicy
from engine.diagnostics import Diagnostic, format_text
from engine.loader import load_yaml_bytes
from engine.repository import file_checksums, find_version_dirs, write_checksums
from engine.schemas import (
    UNPRINTABLE,
    _registry,
    ecma_pattern,
    python_pattern,
    scan,
)
from engine.validator import validate_paths, validate_report
from tests.support import case

MINIMAL_ROOT = Path(__file__).parent / "data" / "minimal" / "policies"


def case_error(data: Any) -> CaseError:
    with pytest.raises(CaseError) as info:
        check_case(data)
    return info.value


def messages(error: CaseError) -> list[str]:
    return [d.message for d in error.diagnostics]


def with_path(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`data` with `value` at a dotted path such as `items.0.id` (lists by index)."""
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node: Any = data
    for step in parents:
        node = node[step]
    node[last] = value
    return data


def rich_case() -> dict[str, Any]:
    """A valid case with every id-like field present."""
    return case(items=[{"id": "i1", "category": "general_it", "control_entries": ["5A002"],
                        "value": 1000, "quantity": 1, "description": "router"}],
                end_user={"name": "Firm AS", "country": "NO", "type": "private_company",
                          "flags": ["unusual_routing"]},
                intermediaries=[{"name": "Dist", "country": "NO", "role": "distributor"}],
                assurances=["end_use_certificate"])


def test_the_rich_case_is_valid() -> None:
    check_case(rich_case())


# --- 1. non-finite numbers and huge integers ----------------------------------------------

@pytest.mark.parametrize("value,spelling", [
    (float("nan"), "NaN"), (float("inf"), "Infinity"), (float("-inf"), "-Infinity")])
@pytest.mark.parametrize("path", [
    "items.0.quantity", "items.0.value", "case_id", "end_user.name", "end_use.description"])
def test_non_finite_numbers_are_contract_violations(path: str, value: float,
                                                    spelling: str) -> None:
    error = case_error(with_path(rich_case(), path, value))
    shown = re.sub(r"\.(\d+)", r"[\1]", path)
    assert [(d.code, d.message) for d in error.diagnostics] == [
        ("invalid-number", f"at `{shown}`: `{spelling}` is not a finite number")]


def test_nan_quantity_from_json_is_refused_not_approved() -> None:
    text = json.dumps(case(items=[{"id": "i1", "category": "general_it", "quantity": 1}]))
    data = json.loads(text.replace('"quantity": 1', '"quantity": NaN'))
    store = engine.load(MINIMAL_ROOT)
    with pytest.raises(CaseError) as info:
        store.evaluate(data, backend="python")
    assert "at `items[0].quantity`: `NaN` is not a finite number" in messages(info.value)


def test_non_finite_numbers_from_yaml_are_refused() -> None:
    doc = load_yaml_bytes(b"case_id: T-1\nsubmitted: '2026-03-01'\ndestination: 'NO'\n"
                          b"items:\n  - {id: i1, value: .inf, quantity: .nan}\n", "case.yaml")
    assert doc.ok, doc.diagnostics
    assert sorted(messages(case_error(doc.data))) == [
        "at `items[0].quantity`: `NaN` is not a finite number",
        "at `items[0].value`: `Infinity` is not a finite number"]


@pytest.mark.parametrize("path,value", [
    ("items.0.value", 10**400), ("items.0.quantity", -(2**53) - 1), ("case_id", 10**5000),
    ("end_user.flags.0", 2**64)], ids=["1e400", "-2^53-1", "5000-digits", "2^64"])
def test_huge_integers_are_contract_violations(path: str, value: int) -> None:
    error = case_error(with_path(rich_case(), path, value))
    shown = re.sub(r"\.(\d+)", r"[\1]", path)
    assert messages(error) == [
        f"at `{shown}`: integer out of range (more than 2^53 in magnitude)"]


def test_numbers_within_range_are_left_to_the_schema() -> None:
    assert scan(rich_case(), CASE_MAX_DEPTH) == []
    assert scan({"a": [2**53, -(2**53), 1e300, -0.0, True]}, 5) == []


# --- 2. deep nesting ----------------------------------------------------------------------

def nested(depth: int, kind: str = "list") -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


@pytest.mark.parametrize("path", ["end_user.name", "items.0.category", "exporter",
                                  "items.0.control_entries", "end_use"])
@pytest.mark.parametrize("kind", ["list", "dict"])
def test_a_thousand_levels_is_a_case_error_not_a_recursion_error(path: str, kind: str) -> None:
    error = case_error(with_path(rich_case(), path, nested(1000, kind)))
    (only,) = error.diagnostics
    assert only.code == "too-deep"
    assert only.message.startswith(f"nesting deeper than {CASE_MAX_DEPTH} levels at `")
    assert "\n" not in format_text(error.diagnostics)


def test_depth_is_counted_from_the_case_itself() -> None:
    # case (1) → end_user (2) → name: the list at level 3 holds 29 more lists: 32 levels
    error = case_error(with_path(rich_case(), "end_user.name", nested(CASE_MAX_DEPTH - 2)))
    assert [d.code for d in error.diagnostics] == ["schema"]  # just the wrong type
    error = case_error(with_path(rich_case(), "end_user.name", nested(CASE_MAX_DEPTH - 1)))
    assert [d.code for d in error.diagnostics] == ["too-deep"]


def test_a_deep_unknown_key_is_refused_before_the_schema() -> None:
    data = rich_case()
    data["extra"] = nested(5000, "dict")
    assert [d.code for d in case_error(data).diagnostics] == ["too-deep"]


def test_a_million_bad_values_give_a_bounded_list_of_problems() -> None:
    data = rich_case()
    data["extra"] = [float("nan")] * 1_000_000
    assert 1 <= len(case_error(data).diagnostics) <= 20


# --- 3. patterns anchored for real --------------------------------------------------------

@pytest.mark.parametrize("path,value", [
    ("destination", "NO\n"), ("destination", "ＮＯ"), ("exporter.country", "NO\n"),
    ("end_user.country", "BR\n"), ("submitted", "2026-03-01\n"),
    ("submitted", "２０２６-０３-０１"), ("submitted", "2026-03-0١")])
def test_patterns_are_anchored_and_ascii_for_cases(path: str, value: str) -> None:
    error = case_error(with_path(rich_case(), path, value))
    assert all(d.code == "schema" for d in error.diagnostics)
    assert any(f"at `{path}`" in m for m in messages(error))


def test_pattern_messages_quote_the_pattern_as_the_schema_file_writes_it() -> None:
    error = case_error(case(destination="NO\n"))
    assert messages(error) == [
        "at `destination`: `NO\\n` does not match the pattern `^[A-Z]{2}$`"]


@pytest.mark.parametrize("ecma,python", [
    ("^[a-z]+$", r"(?a)^[a-z]+\Z"),
    (r"^\d{4}\.\d+$", r"(?a)^\d{4}\.\d+\Z"),
    ("^[$]x$", r"(?a)^[$]x\Z"),
    (r"^a\$$", r"(?a)^a\$\Z"),
    ("^(a|b$)", r"(?a)^(a|b\Z)"),
    ("^https?://", "(?a)^https?://"),
])
def test_python_pattern(ecma: str, python: str) -> None:
    assert python_pattern(ecma) == python


@pytest.mark.parametrize("text,matches", [
    ("2026.1", True), ("2026.1\n", False), ("２０２６.１", False), ("2026.1\r", False)])
def test_rewritten_pattern_has_the_ecma_meaning(text: str, matches: bool) -> None:
    assert bool(re.search(python_pattern(r"^\d{4}\.\d+$"), text)) is matches


def schema_patterns(node: Any) -> list[str]:
    if isinstance(node, list):
        return [p for n in node for p in schema_patterns(n)]
    if not isinstance(node, dict):
        return []
    found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
    found += [k for k in node.get("patternProperties", {})]
    return found + [p for k, v in node.items() if k not in ("enum", "const")
                    for p in schema_patterns(v)]


def test_every_loaded_schema_pattern_is_rewritten() -> None:
    schemas = Path(__file__).parent.parent / "schemas"
    patterns = [p for f in sorted(schemas.glob("*.schema.json"))
                for p in schema_patterns(_registry().contents(
                    json.loads(f.read_text(encoding="utf-8"))["$id"]))]
    assert len(patterns) > 15
    for pattern in patterns:
        assert pattern.startswith("(?a)"), pattern
        assert not re.search(r"(?<!\\)\$", pattern), pattern
        assert ecma_pattern(pattern) != pattern
        re.compile(pattern)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the minimal policies root."""
    dest = tmp_path / "policies"
    shutil.copytree(MINIMAL_ROOT, dest)
    return dest


def version_file(root: Path, name: str) -> Path:
    return root / "demo" / "2026.1" / name


def edit(root: Path, name: str, old: str, new: str) -> Path:
    path = version_file(root, name)
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def problems(root: Path) -> list[Diagnostic]:
    return validate_paths([root], checksums=False)


def test_rule_id_with_a_trailing_newline_is_a_validator_error(root: Path) -> None:
    rules = edit(root, "rules/main.yaml", "id: deny-embargo", 'id: "deny-embargo\\n"')
    found = problems(root)
    assert [(d.code, d.file, d.line) for d in found] == [
        ("schema", str(rules), line_of(rules, "deny-embargo"))]
    assert "`deny-embargo\\n` does not match the pattern" in found[0].message


def test_full_width_version_is_a_validator_error(root: Path) -> None:
    policy = edit(root, "policy.yaml", 'version: "2026.1"', 'version: "２０２６.１"')
    found = [d for d in problems(root) if d.code == "schema"]
    assert [(d.file, d.line) for d in found] == [(str(policy), line_of(policy, "version:"))]
    assert found[0].message == (
        "at `version`: `２０２６.１` does not match the pattern `^\\d{4}\\.\\d+$`")


def test_full_width_partial_date_is_a_validator_error(root: Path) -> None:
    dests = edit(root, "destinations.yaml", 'as_of: "2026-01"', 'as_of: "２０２６-01"')
    found = problems(root)
    assert [(d.code, d.file) for d in found] == [("schema", str(dests))]
    assert "`２０２６-01` does not match the pattern" in found[0].message


# --- 4. lone surrogates -------------------------------------------------------------------

@pytest.mark.parametrize("path", ["items.0.id", "end_user.name", "items.0.description",
                                  "case_id", "end_user.flags.0"])
def test_lone_surrogates_are_case_errors_that_encode(path: str) -> None:
    error = case_error(with_path(rich_case(), path, "ab\ud800c"))
    shown = re.sub(r"\.(\d+)", r"[\1]", path)
    assert messages(error) == [
        f"at `{shown}`: invalid Unicode (lone surrogate) in `ab\\ud800c`"]
    format_text(error.diagnostics).encode("utf-8")
    str(error).encode("utf-8")


def test_lone_surrogate_from_json_text() -> None:
    data = json.loads(json.dumps(case()).replace('"id": "i1"', '"id": "\\udc00"'))
    assert messages(case_error(data)) == [
        "at `items[0].id`: invalid Unicode (lone surrogate) in `\\udc00`"]


def test_lone_surrogate_in_a_key_is_reported_escaped() -> None:
    data = rich_case()
    data["exporter"]["x\udfff"] = "y"
    error = case_error(data)
    assert messages(error) == [
        "at `exporter.x\\udfff`: invalid Unicode (lone surrogate) in `x\\udfff`"]
    format_text(error.diagnostics).encode("utf-8")


def test_valid_surrogate_pairs_and_non_ascii_text_are_fine() -> None:
    check_case(with_path(rich_case(), "end_user.name", "Ørsted 😀 株式会社"))


# --- 5. hidden characters in ids ----------------------------------------------------------

ID_PATHS = ["case_id", "items.0.id", "items.0.category", "items.0.control_entries.0",
            "end_user.type", "end_user.flags.0", "end_use.purpose", "intermediaries.0.role",
            "assurances.0"]
HIDDEN = ["\x00", "\t", "\n", "\x1f", "\x7f", "\x85", "\u200b", "\u200e", "\u202e",
          "\u2060", "\ufeff"]


@pytest.mark.parametrize("char", HIDDEN)
@pytest.mark.parametrize("path", ID_PATHS)
def test_ids_may_not_hold_control_or_invisible_characters(path: str, char: str) -> None:
    data = rich_case()
    node: Any = data
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    for step in parents:
        node = node[step]
    node[last] = f"{node[last]}{char}"
    error = case_error(data)
    shown = re.sub(r"\.(\d+)", r"[\1]", path)
    (only,) = error.diagnostics
    assert only.code == "schema"
    assert only.message.startswith(f"at `{shown}`: `")
    assert only.message.endswith(f"contains the control or invisible character "
                                 f"U+{ord(char):04X}")
    assert only.help == "ids may not contain control, format or zero-width characters"
    assert all(ch.isprintable() for ch in format_text(error.diagnostics).replace("\n", ""))


@pytest.mark.parametrize("path", ["end_user.name", "items.0.description", "exporter.name",
                                  "end_use.description", "intermediaries.0.name"])
def test_free_text_may_hold_newlines_tabs_and_joiners(path: str) -> None:
    check_case(with_path(rich_case(), path, "Line one\n\tline two 👩\u200d💻"))


def test_the_schema_rule_and_the_message_escapes_agree() -> None:
    rule = _registry().contents("https://echri.example.org/schemas/case.schema.json")
    pattern = re.compile(rule["$defs"]["no_hidden_characters"]["pattern"])
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        assert (pattern.search(ch) is None) == bool(UNPRINTABLE.search(ch)), f"U+{code:04X}"


# --- 6. policy numbers are finite, and every valid version runs on every backend -----------

@pytest.mark.parametrize("name,old,new,spelling", [
    ("rules/main.yaml", "gte: 100000}", "gte: .inf}", ".inf"),
    ("rules/main.yaml", "gte: 100000}", "gte: -.Inf}", "-.inf"),
    ("rules/main.yaml", "gte: 100000}", "gte: .NaN}", ".nan"),
    ("destinations.yaml", "score: 8,", "score: .nan,", ".nan"),
    ("risk_bands.yaml", "- {fact: destination.freedom_status, equals: not_free}",
     "- {fact: destination.freedom_score, lt: .inf}", ".inf"),
])
def test_non_finite_policy_numbers_are_validator_errors(root: Path, name: str, old: str,
                                                        new: str, spelling: str) -> None:
    path = edit(root, name, old, new)
    found = problems(root)
    line = line_of(path, new.split(",")[0].strip("- {}"))
    assert [(d.code, d.file, d.line) for d in found] == [("invalid-number", str(path), line)]
    assert found[0].column is not None
    assert found[0].message.endswith(f": `{spelling}` is not a finite number")
    assert found[0].message.startswith("at `")


def test_huge_policy_integers_are_validator_errors(root: Path) -> None:
    rules = edit(root, "rules/main.yaml", "gte: 100000}", f"gte: {10**30}}}")
    found = problems(root)
    assert [(d.code, d.file, d.line) for d in found] == [
        ("invalid-number", str(rules), line_of(rules, str(10**30)))]
    assert "integer out of range" in found[0].message


def release(root: Path) -> None:
    sums: dict[str, str] = {}
    for path in find_version_dirs(root):
        sums.update(file_checksums(path, root))
    write_checksums(root, sums)


def run_validate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", *args])
    return result.exit_code, result.output


def test_infinite_threshold_fails_echri_validate(root: Path) -> None:
    edit(root, "rules/main.yaml", "gte: 100000}", "gte: .inf}")
    release(root)
    code, out = run_validate(str(root))
    assert code == 1
    assert "error[invalid-number]" in out and "`.inf` is not a finite number" in out


def test_validate_compiles_and_evaluates_on_both_backends(root: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("durable_rules_engine")
    evaluated: list[tuple[str, str, tuple[str, ...]]] = []
    for name, build in list(BACKENDS.items()):
        def recording(compiled: CompiledPolicy, build: Any = build) -> Any:
            backend = build(compiled)
            inner = backend.evaluate

            def evaluate(case: Any) -> Any:
                evaluated.append((backend.name, case.facts["destination"], case.item_ids))
                return inner(case)
            backend.evaluate = evaluate
            return backend
        monkeypatch.setitem(BACKENDS, name, recording)
    code, out = run_validate(str(root))
    assert (code, out.strip()) == (0, "ok: 1 version, 9 files, no problems")
    first = next(iter(engine.load(root).get("2026.1").policy.destinations))
    assert sorted(evaluated) == [("durable", first, ("item-1",)), ("python", first, ("item-1",))]


def test_a_value_the_durable_backend_cannot_run_is_a_compile_backend_error(root: Path) -> None:
    pytest.importorskip("durable_rules_engine")
    edit(root, "rules/main.yaml", "gte: 100000}", "gte: 2000000000000000}")  # < 2^53
    release(root)
    assert validate_paths([root]) == []  # the validator proper accepts it
    code, out = run_validate(str(root))
    assert code == 1
    policy = version_file(root, "policy.yaml")
    assert f"{policy}: error[compile-backend]: version `2026.1` of `demo` cannot be " \
           "compiled for the `durable` backend: RulesetError:" in out
    assert "1 error, 0 warnings" in out


class _Exploding(PythonBackend):
    name = "exploding"

    def evaluate(self, case: Any) -> Any:
        raise ZeroDivisionError("boom")


def _unimportable(compiled: CompiledPolicy) -> Any:
    raise ImportError("No module named 'durable_rules_engine'")


def test_an_exception_on_the_smoke_case_is_a_diagnostic(root: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "exploding", _Exploding)
    report = validate_report([root], backends=True)
    assert [(d.code, d.file) for d in report.diagnostics] == [
        ("compile-backend", str(version_file(root, "policy.yaml")))]
    assert report.diagnostics[0].message == (
        "version `2026.1` of `demo` cannot be evaluated by the `exploding` backend: "
        "ZeroDivisionError: boom")


def test_an_unimportable_backend_is_skipped_with_a_note(root: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "durable", _unimportable)
    code, out = run_validate(str(root))
    assert code == 0
    assert out.splitlines() == [
        "note: the `durable` backend cannot be imported here (No module named "
        "'durable_rules_engine'): `demo` 2026.1 was not compiled for it",
        "ok: 1 version, 9 files, no problems"]


def test_validate_report_checks_no_backend_unless_asked(root: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "exploding", _Exploding)
    assert validate_report([root]).diagnostics == ()
