"""Regime-qualified control entries (`eu_2019_125:II.1`, engine/model.py
`QUALIFIED_ENTRY_REGIMES`): canonical form, prefix matching on dot boundaries, unknown and
unmapped entries, no kind inference, validation of categories.yaml and sanctions.yaml, and
identical decisions on both backends.

The policy is tests/data/minimal's demo version with the overlay files of
tests/data/qualified (categories mapping `eu_2019_125:II` and `eu_2019_125:IV`, rules on
them, sanctions restricting qualified entries); the cases are tests/data/qualified/cases.yaml.
"""

from __future__ import annotations

import atexit
import json
import re
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.api import evaluate_with
from engine.backends.durable import DurableBackend
from engine.backends.python import PythonBackend
from engine.cases import check_case, normalize
from engine.compiler import CompiledPolicy, compile_policy
from engine.conditions import tests as condition_tests
from engine.diagnostics import Diagnostic
from engine.generator import generate_cases
from engine.model import CONTROL_ENTRY, QUALIFIED_ENTRY_REGIMES, build_policy, canonical_entry
from engine.repository import load_version_source
from engine.schemas import python_pattern
from engine.validator import validate_version
from tests._factories import random_rules, with_rules

DATA = Path(__file__).parent / "data"
MINIMAL = DATA / "minimal" / "policies" / "demo" / "2026.1"
OVERLAY = DATA / "qualified"
OVERLAY_FILES = ("categories.yaml", "sanctions.yaml", "rules/main.yaml")
CASES = yaml.safe_load((OVERLAY / "cases.yaml").read_text(encoding="utf-8"))["cases"]
BACKENDS = {"durable": DurableBackend, "python": PythonBackend}


def make_version(root: Path, edits: dict[str, tuple[str, str]] | None = None) -> Path:
    """The minimal version with the overlay files; `edits`: file → (old, new) text."""
    path = root / "demo" / "2026.1"
    shutil.copytree(MINIMAL, path)
    for name in OVERLAY_FILES:
        shutil.copyfile(OVERLAY / name, path / name)
    for name, (old, new) in (edits or {}).items():
        text = (path / name).read_text(encoding="utf-8")
        assert text.count(old) == 1, (name, old)
        (path / name).write_text(text.replace(old, new), encoding="utf-8")
    return path


@cache
def policy_dir() -> Path:
    root = Path(tempfile.mkdtemp(prefix="echri-qualified-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return make_version(root)


@cache
def policy() -> CompiledPolicy:
    return compile_policy(build_policy(load_version_source(policy_dir())))


def case_of(spec: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"id": "a", "description": "device", "quantity": 1, "value": 1000,
                            "control_entries": spec["entries"]}
    if "kind" in spec:
        item["kind"] = spec["kind"]
    data = {
        "case_id": f"Q-{spec['id']}", "submitted": "2026-03-01",
        "exporter": {"name": "Exporter GmbH", "country": "NO",
                     "due_diligence": {"hrdd_policy": True, "transaction_assessment": True}},
        "items": [item], "destination": spec.get("destination", "NO"),
        "end_user": {"name": "Firm AS", "country": "NO", "type": "private_company"},
        "end_use": {"purpose": "network_security", "description": "use"},
        "assurances": [],
    }
    check_case(data)
    return data


# -- grammar and canonical form --------------------------------------------------------------

@pytest.mark.parametrize(("raw", "canonical", "valid"), [
    ("EU_2019_125:ii.1", "eu_2019_125:II.1", True),
    ("eu_2019_125:iii.2.1", "eu_2019_125:III.2.1", True),
    ("Eu_2019_125:Iv", "eu_2019_125:IV", True),
    (" eu_2019_125:II.1 ", "eu_2019_125:II.1", True),
    ("ｅｕ＿２０１９＿１２５：Ⅳ．３", "eu_2019_125:IV.3", True),
    ("eu_2019_125:V.1", "eu_2019_125:V.1", False),
    ("eu_2019_125:I", "eu_2019_125:I", False),
    ("eu_2019_125:IIII", "eu_2019_125:IIII", False),
    ("eu_2019_125:II.a", "eu_2019_125:II.a", False),
    ("eu_2019_125:II.١", "eu_2019_125:II.١", False),  # Arabic-Indic digit one
    ("eu_2019_125:ІІ.1", "eu_2019_125:ІІ.1", False),  # Cyrillic І
    ("eu_2019_125:ıı.1", "eu_2019_125:ıı.1", False),  # dotless ı: not upper-cased to I
    ("eu_2019_125:II.", "eu_2019_125:II.", False),
    ("eu_2019_125:", "eu_2019_125:", False),
    ("eu_2019_125:5A001", "eu_2019_125:5A001", False),
    ("wassenaar:5A001", "wassenaar:5A001", False),
    ("5A001:II", "5a001:II", False),
    # ECCN-style entries exactly as before
    ("５ａ００１.J", "5A001.j", True),
    ("ear99", "EAR99", True),
    ("5А001.j", "5А001.j", False),  # Cyrillic А
])
def test_canonical_form_and_grammar(raw: str, canonical: str, valid: bool) -> None:
    assert canonical_entry(raw) == canonical
    assert bool(CONTROL_ENTRY.fullmatch(canonical_entry(raw))) is valid


# -- classification, facts and decisions -----------------------------------------------------

@pytest.mark.parametrize("spec", CASES, ids=[c["id"] for c in CASES])
def test_case_facts(spec: dict[str, Any]) -> None:
    expect = spec["expect"]
    norm = normalize(case_of(spec), policy())
    item = norm.items[0]
    assert list(item.given_entries) == expect.get("given", [])
    assert list(item.unmapped_entries) == expect.get("unmapped", [])
    assert list(item.categories) == expect.get("categories", [])
    assert item.facts["item.control_entries"] == frozenset(expect.get("mapped", []))
    assert item.facts.get("item.kind") == expect.get("kind")
    assert item.facts["item.sanctions"] == frozenset(expect.get("sanctions", []))
    assert [u.value for u in norm.unknown] == expect.get("unknown", [])


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("spec", CASES, ids=[c["id"] for c in CASES])
def test_case_decision(spec: dict[str, Any], backend: str) -> None:
    d = evaluate_with(policy(), BACKENDS[backend](policy()), case_of(spec))
    assert set(d.rules) == set(spec["expect"]["rules"]), d.rules
    assert d.decision == spec["expect"]["decision"]


@pytest.mark.parametrize("spec", CASES, ids=[c["id"] for c in CASES])
def test_backends_decide_identically(spec: dict[str, Any]) -> None:
    p = policy()
    data = case_of(spec)
    norm = normalize(data, p)
    assert DurableBackend(p).evaluate(norm) == PythonBackend(p).evaluate(norm)
    a = evaluate_with(p, DurableBackend(p), data).to_dict()
    b = evaluate_with(p, PythonBackend(p), data).to_dict()
    assert (a.pop("engine")["backend"], b.pop("engine")["backend"]) == ("durable", "python")
    assert a == b


def test_unmapped_entry_finding_names_the_qualified_entry() -> None:
    spec = next(c for c in CASES if c["id"] == "annex-iii-is-not-annex-ii")
    d = evaluate_with(policy(), PythonBackend(policy()), case_of(spec))
    finding = next(f for f in d.findings if f.rule == "unmapped-entry")
    assert "eu_2019_125:III.2.1" in finding.message


def test_messages_render_the_qualified_entries_as_given() -> None:
    spec = next(c for c in CASES if c["id"] == "canonical-form")
    for backend in BACKENDS.values():
        d = evaluate_with(policy(), backend(policy()), case_of(spec))
        finding = next(f for f in d.findings if f.rule == "deny-torture-goods")
        assert "eu_2019_125:II.1" in finding.message


def test_generated_cases_draw_qualified_entries_and_agree_on_both_backends() -> None:
    p = policy()
    durable, python = DurableBackend(p), PythonBackend(p)
    drawn = set()
    for data in generate_cases(p, 300, seed=7):
        check_case(data)
        for item in data["items"]:
            drawn.update(e for e in item.get("control_entries") or () if ":" in e)
        norm = normalize(data, p)
        assert durable.evaluate(norm) == python.evaluate(norm), data["case_id"]
    assert {canonical_entry(e).split(".")[0] for e in drawn} == {"eu_2019_125:II",
                                                                 "eu_2019_125:IV"}


ITEM_FACTS = ["item.control_entries", "item.kind", "item.category", "item.sanctions",
              "item.classified", "destination"]


def test_random_rules_on_qualified_entries_agree_on_both_backends() -> None:
    base = policy()
    rules = random_rules(60, 11, vocab=base.vocab, prefix="q", facts=ITEM_FACTS)
    members = {r.id: {m for t in condition_tests(r.condition)
                      if t.fact == "item.control_entries"
                      for m in (t.arg if isinstance(t.arg, tuple) else (t.arg,))}
               for r in rules}
    assert {"eu_2019_125:II", "eu_2019_125:IV"} <= set().union(*members.values())
    qualified = {rid for rid, ms in members.items() if any(":" in str(m) for m in ms)}
    p = with_rules(base, [*base.rules, *rules])
    durable, python = DurableBackend(p), PythonBackend(p)
    fired = set()
    for data in [*(case_of(c) for c in CASES), *generate_cases(p, 200, seed=3)]:
        norm = normalize(data, p)
        hits = python.evaluate(norm)
        assert durable.evaluate(norm) == hits, data["case_id"]
        fired.update(hits)
    assert len(fired) > 20 and fired & qualified


# -- validation ------------------------------------------------------------------------------

def diagnostics(tmp_path: Path, edits: dict[str, tuple[str, str]] | None = None
                ) -> list[Diagnostic]:
    _, found = validate_version(load_version_source(make_version(tmp_path, edits)))
    return [d for d in found if d.severity == "error"]


def in_categories(found: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics of categories.yaml (an unmapped `eu_2019_125:IV` also leaves the
    `eu_2019_125:IV.1` ban of sanctions.yaml without a mapped entry)."""
    return [d for d in found if d.file.endswith("categories.yaml")]


def location(path: Path, needle: str, at: str) -> tuple[int, int]:
    """1-based line and column of `at` on the line holding `needle`."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return n, line.index(at, line.index(needle)) + 1
    raise AssertionError(needle)


def test_the_overlay_policy_validates(tmp_path: Path) -> None:
    assert diagnostics(tmp_path) == []


REGIME_LINE = '{entry: "eu_2019_125:IV", regime: eu_2019_125}'


@pytest.mark.parametrize(("new", "at", "needle"), [
    ('{entry: "eu_2019_125:IV", regime: wassenaar}', "wassenaar",
     "control entry `eu_2019_125:IV` is qualified by regime `eu_2019_125` but its regime "
     "is `wassenaar`"),
    ('{entry: "EU_2019_125:iv", regime: us_ccl}', "us_ccl",
     "control entry `eu_2019_125:IV` is qualified by regime `eu_2019_125` but its regime "
     "is `us_ccl`"),
    ("{entry: 0A982, regime: eu_2019_125}", "0A982",
     "control entry `0A982` of regime `eu_2019_125` is not qualified by it"),
])
def test_entry_regime_mismatch_is_an_error_at_its_location(tmp_path: Path, new: str, at: str,
                                                          needle: str) -> None:
    found = in_categories(diagnostics(tmp_path, {"categories.yaml": (REGIME_LINE, new)}))
    assert [d.code for d in found] == ["entry-regime"], found
    d = found[0]
    assert needle in d.message and "category `capital_punishment_goods`" in d.message
    assert d.file.endswith("categories.yaml")
    assert (d.line, d.column) == location(tmp_path / "demo/2026.1/categories.yaml", new, at)


@pytest.mark.parametrize(("entry", "needle", "help_text"), [
    ("eu_2019_125:V", "`eu_2019_125:V` is not a control-list entry", "eu_2019_125:II.1"),
    ("eu_2019_125:IV.a", "`eu_2019_125:IV.a` is not a control-list entry", "5A001.j"),
    ("eu_2019_152:IV", "names unknown entry regime `eu_2019_152`", "eu_2019_125"),
])
def test_mapped_entry_off_the_grammar_is_invalid_entry(tmp_path: Path, entry: str,
                                                      needle: str, help_text: str) -> None:
    new = f'{{entry: "{entry}", regime: eu_2019_125}}'
    found = in_categories(diagnostics(tmp_path, {"categories.yaml": (REGIME_LINE, new)}))
    assert [d.code for d in found] == ["invalid-entry"], found
    d = found[0]
    assert needle in d.message and d.help is not None and help_text in d.help
    assert (d.line, d.column) == location(tmp_path / "demo/2026.1/categories.yaml", new,
                                          f'"{entry}"')


def test_non_ascii_mapped_entry_is_refused_by_the_schema(tmp_path: Path) -> None:
    new = '{entry: "eu_2019_125:ІV", regime: eu_2019_125}'  # Cyrillic І
    found = in_categories(diagnostics(tmp_path, {"categories.yaml": (REGIME_LINE, new)}))
    assert [d.code for d in found] == ["schema"], found


def test_categories_schema_pattern_admits_qualified_entries_and_keeps_eccns() -> None:
    schema = json.loads((Path(__file__).parent.parent / "schemas" /
                         "categories.schema.json").read_text(encoding="utf-8"))
    item = schema["properties"]["categories"]["items"]["properties"]["control_entries"]
    pattern = re.compile(python_pattern(item["items"]["properties"]["entry"]["pattern"]))
    for ok in ("5A001.j", "5a001", "eu_2019_125:II", "eu_2019_125:III.2.1"):
        assert pattern.search(ok), ok
    for bad in ("5A001.J", "eu_2019_125:", "eu_2019_125:II.", "eu_2019_125:II\n",
                "eu 2019:II", "eu_2019_125:ІІ"):
        assert not pattern.search(bad), bad
    # every qualified regime can be named as a mapping's `regime`
    assert set(QUALIFIED_ENTRY_REGIMES) <= set(item["items"]["properties"]["regime"]["enum"])


@pytest.mark.parametrize(("entry", "code", "needle"), [
    ("eu_2019_125:III", "unknown-ref", "unknown control entry `eu_2019_125:III`"),
    ("eu_2019_125:V.1", "invalid-entry", "`eu_2019_125:V.1` is not a control-list entry"),
    ("eu_2019_125:II.b", "invalid-entry", "`eu_2019_125:II.b` is not a control-list entry"),
])
def test_sanctions_restricts_with_a_bad_qualified_entry(tmp_path: Path, entry: str, code: str,
                                                        needle: str) -> None:
    old = 'control_entries: ["eu_2019_125:II"]'
    new = f'control_entries: ["{entry}"]'
    found = diagnostics(tmp_path, {"sanctions.yaml": (old, new)})
    assert [d.code for d in found] == [code], found
    d = found[0]
    assert needle in d.message and d.file.endswith("sanctions.yaml")
    assert (d.line, d.column) == location(tmp_path / "demo/2026.1/sanctions.yaml", new,
                                          f'"{entry}"')
