"""Findings name their evidence: the party, its country and band, the risk factors with
their sources, the regimes and listed entries that made a rule fire (engine/evidence.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import engine
from engine.backends.durable import DurableBackend
from engine.backends.python import PythonBackend
from engine.cases import check_case, normalize
from engine.decision import decide
from engine.explain import render_text
from engine.registers.model import RegisterSet, RiskNote, Settings
from tests._factories import demo, make_rule, with_rules
from tests.support import case
from tests.test_evidence import compiled, territory, write

ROOT = Path(__file__).resolve().parents[1]
DECISION_SCHEMA = json.loads((ROOT / "schemas" / "decision.schema.json").read_text())


def decided(policy: Any, backend: Any = PythonBackend, **changes: Any) -> Any:
    data = case(**changes)
    check_case(data)
    n = normalize(data, policy)
    return decide(policy, n, backend(policy).evaluate(n), backend.name)


def finding(decision: Any, rule: str) -> Any:
    return next(f for f in decision.findings if f.rule == rule)


@pytest.mark.parametrize("backend", [PythonBackend, DurableBackend])
def test_the_party_that_made_a_rule_fire_is_named(backend: Any) -> None:
    policy = with_rules(demo(), [make_rule("deny-embargoed-party", {
        "fact": "parties.bands", "contains": "embargoed"}, "deny")])
    d = decided(policy, backend, consignees=[{"name": "Harbour Ltd", "country": "NO"},
                                             {"name": "Jane Roe", "country": "XA"}])
    assert finding(d, "deny-embargoed-party").evidence == ("consignee 2 in XA (band embargoed)",)
    assert "Evidence: consignee 2 in XA (band embargoed)." in d.explanation
    assert "evidence: consignee 2 in XA" in render_text(d)


def test_parties_are_named_by_role_and_country_never_by_name() -> None:
    policy = with_rules(demo(), [make_rule("refer-misuse", {
        "fact": "intermediaries.factors", "contains": "misuse"})])
    d = decided(policy, intermediaries=[{"name": "Jane Roe", "country": "XB", "role": "broker"}])
    (line,) = finding(d, "refer-misuse").evidence
    assert line == "intermediary (broker) in XB (band high): misuse (src, 2026)"
    assert "Jane" not in json.dumps(d.to_dict()["findings"])


def test_destination_factors_are_cited_with_their_source() -> None:
    policy = with_rules(demo(), [make_rule("refer-embargo", {
        "fact": "destination.factors", "contains": "arms_embargo"})])
    d = decided(policy, destination="XA", end_user={"name": "U", "country": "XA"})
    assert finding(d, "refer-embargo").evidence == (
        "destination XA (Embargoland): arms_embargo (src, 2026)",)


def test_an_inherited_factor_names_the_sovereign(tmp_path: Path) -> None:
    base = compiled(write(tmp_path, XC=territory("XA")))
    policy = with_rules(base, [make_rule("refer-embargo", {
        "fact": "destination.factors", "contains": "arms_embargo"})])
    d = decided(policy, destination="XC", end_user={"name": "U", "country": "XC"})
    (line,) = finding(d, "refer-embargo").evidence
    assert line.startswith("destination XC (Territory): arms_embargo (inherited from XA: src")


def test_only_tests_that_hold_and_make_the_rule_fire_are_evidence() -> None:
    rule = make_rule("refer-either", {"any": [
        {"fact": "consignees.bands", "contains": "embargoed"},
        {"fact": "purchaser.band", "equals": "high"}]})
    policy = with_rules(demo(), [rule])
    d = decided(policy, consignees=[{"country": "XA"}], purchaser={"country": "NO"})
    assert finding(d, "refer-either").evidence == ("consignee in XA (band embargoed)",)


def test_a_negated_test_is_not_evidence() -> None:
    rule = make_rule("refer-unless-embargoed", {"all": [
        {"fact": "end_user.type", "equals": "private_company"},
        {"not": {"fact": "parties.bands", "contains": "embargoed"}}]})
    d = decided(with_rules(demo(), [rule]))
    f = finding(d, "refer-unless-embargoed")
    assert f.evidence == () and "evidence" not in f.to_dict()


def test_evidence_is_in_the_decision_contract() -> None:
    policy = with_rules(demo(), [make_rule("refer-any", {
        "fact": "parties.countries", "contains": "XB"})])
    d = decided(policy, purchaser={"country": "XB"})
    body = d.to_dict()
    jsonschema.validate(body, DECISION_SCHEMA)
    assert body["findings"][0]["evidence"] == ["purchaser in XB (band high)"]


def test_baseline_intermediary_and_regime_evidence() -> None:
    store = engine.load(ROOT / "policies")
    data = {"case_id": "EV-1", "submitted": "2027-02-01", "destination": "DE",
            "end_user": {"type": "distributor", "name": "Reseller GmbH", "country": "DE"},
            "end_use": {"purpose": "lawful_interception", "description": "resale"},
            "intermediaries": [{"role": "freight_forwarder", "country": "NL"},
                               {"role": "broker", "country": "IR"}],
            "items": [{"id": "i1", "control_entries": ["5A001.f.1"]}]}
    d = store.evaluate(data, policy_version="2027.1")
    assert finding(d, "deny-embargoed-intermediary").evidence == (
        "intermediary 2 (broker) in IR (band embargoed)",)
    (regime,) = finding(d, "refer-sanctioned-country-party").evidence
    assert regime.startswith("regime eu-ir-267-2012-art2 (Council Regulation (EU) No 267/2012")
    assert regime.endswith("via an intermediary in IR")
    # the message renders {sanctions} in full already: no second copy as evidence
    assert finding(d, "deny-sanctioned-items").evidence == ()


def test_baseline_destination_evidence_cites_the_report() -> None:
    store = engine.load(ROOT / "policies")
    data = {"case_id": "EV-2", "submitted": "2027-02-01", "destination": "KE",
            "end_user": {"type": "law_enforcement", "name": "Unit", "country": "KE"},
            "end_use": {"purpose": "criminal_investigation", "description": "cases"},
            "items": [{"id": "i1", "control_entries": ["4A005"]}]}
    d = store.evaluate(data, policy_version="2027.1")
    assert finding(d, "refer-spyware-customer-intrusion-software").evidence == (
        "destination KE (Kenya): spyware_customer (amnesty-security-lab, 2023)",)


# --------------------------------------------------------------------------- shared risk notes

def notes_set(*notes: RiskNote) -> RegisterSet:
    return RegisterSet(Settings(), (), notes=notes)


def note(destination: str = "NO", factors: tuple[str, ...] = ("arms_embargo",),
         review_by: str = "2026-12-31", **extra: Any) -> RiskNote:
    return RiskNote("n-1", {"destination": destination}, "XA", "embassy report", "GREEN",
                    review_by, "text", "notes-xa", factors=factors, **extra)


@pytest.mark.parametrize("backend", [PythonBackend, DurableBackend])
def test_a_shared_note_adds_destination_factors_and_raises_the_band(backend: Any) -> None:
    policy = with_rules(demo(), [make_rule("refer-embargo", {
        "fact": "destination.factors", "contains": "arms_embargo"})])
    data = case()
    check_case(data)
    plain = normalize(data, policy)
    assert plain.facts["destination.band"] == "low"
    n = normalize(data, policy, registers=notes_set(note(factors=("arms_embargo", "nope"))))
    assert n.facts["destination.factors"] == {"arms_embargo"}  # unknown factor left out
    assert n.facts["destination.band"] == "embargoed" == n.items[0].facts["destination.band"]
    d = decide(policy, n, backend(policy).evaluate(n), backend.name)
    assert finding(d, "refer-embargo").evidence == (
        "destination NO (Norway): arms_embargo (shared by XA: note n-1, embassy report)",)


@pytest.mark.parametrize("shared", [note(review_by="2026-02-28"), note(revoked="2026-02-01"),
                                    note(destination="BR")])
def test_an_inactive_or_other_destinations_note_adds_nothing(shared: RiskNote) -> None:
    data = case()  # submitted 2026-03-01, destination NO
    check_case(data)
    n = normalize(data, demo(), registers=notes_set(shared))
    assert n.facts["destination.factors"] == frozenset() and n.shared == ()
    assert n.facts["destination.band"] == "low"
