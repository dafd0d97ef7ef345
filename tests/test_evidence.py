"""Destination evidence: counting conditions (`at_least`), evidence metadata (`kind`,
`review_by`) with its lint, and territories inheriting their sovereign's factors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from engine import conditions
from engine.backends.durable import DurableBackend
from engine.backends.python import PythonBackend
from engine.cases import check_case, normalize
from engine.compiler import CompiledPolicy, compile_policy
from engine.diagnostics import Diagnostic
from engine.model import build_policy
from engine.repository import load_version_source
from engine.validator import validate_version
from engine.validator.context import Context
from engine.validator.lint import run_lints
from tests import support
from tests._factories import demo, make_rule, with_rules
from tests.support import case

BACKENDS = [PythonBackend, DurableBackend]
EVIDENCE = ["treaty_body_inquiry", "ohchr_report", "crackdown_killings"]


def factor(fid: str, **extra: Any) -> dict[str, Any]:
    return {"id": fid, "source": "src", "as_of": "2025-11", **extra}


def files(**destinations: dict[str, Any]) -> dict[str, Any]:
    """The demo's risk bands with three evidence factors, two of which make a band high."""
    bands = copy.deepcopy(support.BASE["risk_bands.yaml"])
    bands["factors"] += [{"id": f, "title": f} for f in EVIDENCE]
    bands["bands"]["rules"].append(
        {"band": "high", "when": {"at_least": 2, "of": [
            {"fact": "destination.factors", "contains": f} for f in EVIDENCE]}})
    table = copy.deepcopy(support.BASE["destinations.yaml"])
    table["destinations"].update(destinations)
    return {"risk_bands.yaml": bands, "destinations.yaml": table}


def write(root: Path, rules: list[dict[str, Any]] | None = None, **destinations: Any) -> Path:
    return support.write_version(root, files(**destinations), rules=rules)


def compiled(path: Path) -> CompiledPolicy:
    return compile_policy(build_policy(load_version_source(path)))


def errors(path: Path) -> list[Diagnostic]:
    """Errors, leaving out the demo table's (it lists a few codes, some not ISO ones)."""
    return [d for d in validate_version(load_version_source(path))[1]
            if d.severity == "error" and d.code != "destination-missing"
            and "is not an ISO 3166-1 alpha-2 code" not in d.message]


def lints(path: Path) -> list[Diagnostic]:
    src = load_version_source(path)
    return run_lints(Context(src, build_policy(src)))


def rule(rule_id: str, when: dict[str, Any]) -> dict[str, Any]:
    return {"id": rule_id, "title": rule_id, "description": "d", "commitments": ["coc-1"],
            "basis": [{"source": "src"}], "when": when, "outcome": "refer",
            "message": "{rule.id}"}


# --------------------------------------------------------------------------- at_least

FLAGS = [{"fact": "end_user.flags", "contains": "restricted_party"},
         {"fact": "end_user.flags", "contains": "unusual_routing"},
         {"fact": "payment.method", "equals": "cash"},
         {"not": {"fact": "end_use.purpose", "equals": "network_security"}}]
TWO_OF_FOUR = {"at_least": 2, "of": FLAGS}


def test_at_least_is_rendered_readably() -> None:
    node, problems = conditions.parse(TWO_OF_FOUR)
    assert not problems and node is not None
    assert conditions.render(node) == (
        "at least 2 of (end_user.flags include restricted_party, end_user.flags include "
        "unusual_routing, payment.method is cash, not (end_use.purpose is network_security))")
    assert conditions.render(conditions.Not(node)).startswith("not (at least 2 of (")


@pytest.mark.parametrize("raw, code", [
    ({"at_least": 0, "of": FLAGS}, "at-least"),
    ({"at_least": 5, "of": FLAGS}, "at-least"),
    ({"at_least": 1.5, "of": FLAGS}, "at-least"),
    ({"at_least": 1, "of": FLAGS * 3}, "at-least"),
    ({"at_least": 1, "of": []}, "condition"),
    ({"at_least": 1}, "condition"),
    ({"at_least": 1, "of": FLAGS, "any": []}, "condition"),
])
def test_at_least_is_validated(raw: dict[str, Any], code: str) -> None:
    node, problems = conditions.parse(raw)
    assert node is None and [p.code for p in problems] == [code]


def test_a_bad_count_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, [rule("refer-count", {"at_least": 9, "of": FLAGS})])
    [found] = errors(path)
    assert found.code == "at-least" and found.file.endswith("rules/main.yaml")
    line = (path / "rules" / "main.yaml").read_text(encoding="utf-8").splitlines()[
        (found.line or 0) - 1]
    assert "at_least" in line and "from 1 to 4" in found.message


def count_holding(data: dict[str, Any]) -> int:
    flags = set(data["end_user"].get("flags") or ())
    return (("restricted_party" in flags) + ("unusual_routing" in flags)
            + ((data.get("payment") or {}).get("method") == "cash")
            + (data["end_use"].get("purpose") != "network_security"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_at_least_counts_on_both_backends(backend: Any) -> None:
    policy = with_rules(demo(), [make_rule("count", TWO_OF_FOUR),
                                 make_rule("not-count", {"not": TWO_OF_FOUR}),
                                 make_rule("all-four", {"at_least": 4, "of": FLAGS})])
    engine = backend(policy)
    for flags in ([], ["restricted_party"], ["restricted_party", "unusual_routing"]):
        for payment in (None, {"method": "cash"}):
            for purpose in ("network_security", "criminal_investigation", None):
                data = case(end_user={"name": "U", "country": "NO", "flags": flags},
                            end_use={"purpose": purpose}, payment=payment)
                check_case(data)
                hits = engine.evaluate(normalize(data, policy))
                n = count_holding(data)
                assert ("count" in hits) is (n >= 2) and ("not-count" in hits) is (n < 2)
                assert ("all-four" in hits) is (n == 4)


def test_a_rule_with_at_least_validates_and_compiles_like_the_expansion(tmp_path: Path) -> None:
    counted = compiled(write(tmp_path / "a", [rule("refer-count", TWO_OF_FOUR)]))
    pairs = [{"all": [a, b]} for i, a in enumerate(FLAGS) for b in FLAGS[i + 1:]]
    expanded = compiled(write(tmp_path / "b", [rule("refer-count", {"any": pairs})]))
    assert counted.ir()["rules"] == expanded.ir()["rules"]
    assert not errors(tmp_path / "a" / "demo" / "2026.1")
    assert counted.rules[0].readable.startswith("at least 2 of (")


def test_in_a_rule_the_expansion_counts_towards_the_dnf_limit(tmp_path: Path) -> None:
    eight = [{"fact": "item.value", "gt": n} for n in range(8)]
    fine = write(tmp_path / "a", [rule("refer-two", {"at_least": 2, "of": eight})])  # 28
    assert not errors(fine)
    big = write(tmp_path / "b", [rule("refer-four", {"at_least": 4, "of": eight})])  # 70
    assert [d.code for d in errors(big)] == ["condition-too-complex"]


# --------------------------------------------------------------------------- bands

def test_cumulative_evidence_raises_the_band(tmp_path: Path) -> None:
    policy = compiled(write(
        tmp_path,
        XC={"name": "Onefactorland", "factors": [factor("ohchr_report")]},
        XD={"name": "Twofactorland", "factors": [factor("ohchr_report", kind="ohchr"),
                                                 factor("crackdown_killings",
                                                        kind="crackdown")]}))
    assert policy.destinations["XC"].band == "low"
    assert policy.destinations["XD"].band == "high"


def test_evidence_metadata_is_schema_checked(tmp_path: Path) -> None:
    good = write(tmp_path / "good", XC={"name": "C", "factors": [
        factor("ohchr_report", kind="un_treaty_body", review_by="2027-06-30")]})
    assert not errors(good)
    bad = write(tmp_path / "bad", XC={"name": "C", "factors": [
        factor("ohchr_report", kind="rumour", review_by="soon")]})
    assert {d.code for d in errors(bad)} == {"schema"}


def test_evidence_past_its_review_date_is_a_lint_warning(tmp_path: Path) -> None:
    path = write(tmp_path, XC={"name": "C", "factors": [
        factor("ohchr_report", review_by="2025-12-31"),  # before effective_from 2026-01-01
        factor("crackdown_killings", review_by="2026-01-01")]})
    found = [d for d in lints(path) if d.code == "evidence-review"]
    assert len(found) == 1 and found[0].severity == "warning"
    assert "`ohchr_report` of destination `XC`" in found[0].message
    assert "2025-12-31" in found[0].message and found[0].line is not None


# --------------------------------------------------------------------------- inherits_from

def territory(code: str = "XA", **extra: Any) -> dict[str, Any]:
    return {"name": "Territory", "factors": [factor("ohchr_report")],
            "inherits_from": {"code": code, "source": "src", **extra}}


def test_a_territory_gets_its_sovereigns_factors(tmp_path: Path) -> None:
    policy = compiled(write(tmp_path, XC=territory("XA"), XD=territory("XC")))
    assert policy.destinations["XC"].factors == {"arms_embargo", "ohchr_report"}
    assert policy.destinations["XC"].band == "embargoed"
    assert policy.destinations["XD"].factors == {"arms_embargo", "ohchr_report"}  # transitive
    assert policy.destinations["XA"].factors == {"arms_embargo"}  # not the other way round
    assert not errors(tmp_path / "demo" / "2026.1")


@pytest.mark.parametrize("backend", BACKENDS)
def test_inherited_factors_decide_on_both_backends(tmp_path: Path, backend: Any) -> None:
    base = compiled(write(tmp_path, XC=territory("XA")))
    policy = with_rules(base, [make_rule("embargo", {"fact": "destination.factors",
                                                     "contains": "arms_embargo"})])
    data = case(destination="XC", end_user={"name": "U", "country": "XC"})
    check_case(data)
    assert "embargo" in backend(policy).evaluate(normalize(data, policy))


def test_an_inheritance_cycle_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, XC=territory("XD"), XD=territory("XC"))
    found = [d for d in errors(path) if d.code == "inheritance-cycle"]
    assert len(found) == 1 and "XC → XD → XC" in found[0].message
    compiled(path)  # the compiler stops at the cycle instead of looping


def test_an_unknown_sovereign_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, XC=territory("XQ", as_of="2025"))
    [found] = [d for d in errors(path) if d.code == "unknown-ref"]
    assert "`XQ`" in found.message and found.line is not None


def test_inheritance_cites_a_known_source(tmp_path: Path) -> None:
    table = territory("XA")
    table["inherits_from"]["source"] = "nowhere"
    found = errors(write(tmp_path, XC=table))
    assert any(d.code == "unknown-ref" and "nowhere" in d.message for d in found)
