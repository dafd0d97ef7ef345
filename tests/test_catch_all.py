"""Catch-all grounds (EU 2021/821 Art. 4, 5, 9) declared per item: facts, the built-in
`catch-all-ground` referral, unknown grounds, and that a ground never loosens a decision."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import engine
from engine import catch_all
from engine.backends.durable import DurableBackend
from engine.backends.python import PythonBackend
from engine.cases import CaseError, check_case, normalize
from engine.decision import decide
from engine.generator import generate_cases
from tests._factories import demo, make_rule, with_rules
from tests.support import case

ROOT = Path(__file__).resolve().parents[1]
ART5 = "eu_2021_821:art5.1"


def decided(policy: Any, backend: Any = PythonBackend, **item: Any) -> Any:
    data = case(items=[{"id": "i1", "category": "general_it", "value": 1000, **item},
                       {"id": "i2", "category": "general_it", "value": 10}])
    check_case(data)
    n = normalize(data, policy)
    return decide(policy, n, backend(policy).evaluate(n), backend.name)


def test_the_grounds_table_is_sourced_and_matches_the_contract() -> None:
    table = catch_all.grounds()
    schema = json.loads((ROOT / "schemas/case.schema.json").read_text())
    pattern = schema["properties"]["items"]["items"]["properties"]["catch_all"]["items"][
        "pattern"]
    sources = {s["id"] for s in yaml.safe_load(
        (ROOT / "policies/echri-baseline/2027.1/sources.yaml").read_text())["sources"]}
    assert {"eu_2021_821:art4.1.b", ART5, "eu_2021_821:art5.2"} <= set(table)
    for g in table.values():
        assert re.fullmatch(pattern.rstrip("$").lstrip("^"), g.id), g.id
        assert g.source in sources and g.pinpoint and g.summary and g.confidence in {"V", "R"}


@pytest.mark.parametrize("backend", [PythonBackend, DurableBackend])
def test_a_declared_ground_refers_whatever_the_rules_say(backend: Any) -> None:
    policy = with_rules(demo(), [make_rule("approve-it", {
        "fact": "item.category", "equals": "general_it"}, "approve")])
    plain = decided(policy, backend)
    assert plain.decision == "approve" and catch_all.CATCH_ALL not in plain.rules
    d = decided(policy, backend, catch_all=[ART5])
    f = next(f for f in d.findings if f.rule == catch_all.CATCH_ALL)
    assert d.decision == "refer" and f.outcome == "refer" and f.items == ("i1",)
    assert "Art. 5(1) (non-listed cyber-surveillance items, informed by the competent " \
           "authority)" in f.message


@pytest.mark.parametrize("backend", [PythonBackend, DurableBackend])
def test_rules_see_the_grounds_as_facts(backend: Any) -> None:
    policy = with_rules(demo(), [make_rule("deny-art4-military", {
        "fact": "item.catch_all", "contains": "eu_2021_821:art4.1.b"}, "deny"),
        make_rule("refer-any-ground", {"fact": "case.catch_all", "exists": True})])
    d = decided(policy, backend, catch_all=["eu_2021_821:art4.1.b"])
    assert d.decision == "deny" and {"deny-art4-military", "refer-any-ground"} <= set(d.rules)
    deny = next(f for f in d.findings if f.rule == "deny-art4-military")
    assert deny.items == ("i1",)


def test_facts_per_item_and_for_the_case() -> None:
    data = case(items=[{"id": "a", "category": "general_it", "catch_all": [ART5]},
                       {"id": "b", "category": "general_it"}])
    check_case(data)
    n = normalize(data, demo())
    assert n.items[0].facts["item.catch_all"] == {ART5}
    assert n.items[1].facts["item.catch_all"] == frozenset()
    assert n.facts["case.catch_all"] == {ART5} == n.items[1].facts["case.catch_all"]


def test_an_unknown_ground_is_an_unknown_id_and_still_refers() -> None:
    d = decided(demo(), catch_all=["eu_2021_821:art5.9"])
    assert d.decision == "refer" and {"unknown-id", catch_all.CATCH_ALL} <= set(d.rules)
    unknown = next(f for f in d.findings if f.rule == "unknown-id")
    assert "did you mean `eu_2021_821:art5" in unknown.message and unknown.items == ("i1",)


@pytest.mark.parametrize("bad", [["Art 5"], [ART5, ART5], "eu_2021_821:art5.1", [""]])
def test_a_malformed_ground_is_an_input_error(bad: Any) -> None:
    data = case(items=[{"id": "a", "category": "general_it", "catch_all": bad}])
    with pytest.raises(CaseError):
        check_case(data)


@pytest.mark.parametrize("version", ["2025.1", "2027.1"])
def test_declaring_a_ground_never_makes_a_decision_less_severe(version: str) -> None:
    store = engine.load(ROOT / "policies")
    policy = store.get(version, "echri-baseline")
    rank = policy.rank
    for data in generate_cases(policy, 150, seed=11):
        data["submitted"] = f"{version[:4]}-06-01"
        before = store.evaluate(data, policy_version=version, backend="python")
        grounded = copy.deepcopy(data)
        grounded["items"][0]["catch_all"] = [ART5]
        after = store.evaluate(grounded, policy_version=version, backend="python")
        assert rank[after.decision] <= rank[before.decision], data["case_id"]
        assert rank[after.decision] <= rank["refer"]
