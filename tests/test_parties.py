"""Contract 2: every party has a country and a risk profile (end user, consignees,
intermediaries, purchaser), as facts both backends decide identically."""

from __future__ import annotations

from typing import Any

import pytest

from engine.backends.durable import DurableBackend
from engine.backends.python import PythonBackend
from engine.cases import check_case, normalize
from engine.generator import generate_cases
from tests._factories import demo, make_rule, random_rules, with_rules
from tests.support import case

PARTY_FACTS = ["end_user.country", "end_user.band", "end_user.factors", "consignees.count",
               "consignees.countries", "consignees.bands", "consignees.factors",
               "purchaser.country", "purchaser.band", "purchaser.factors",
               "intermediaries.countries", "intermediaries.factors", "parties.countries",
               "parties.bands", "parties.factors", "item.kind"]


def facts(**changes: Any) -> dict[str, Any]:
    data = case(**changes)
    check_case(data)
    return normalize(data, demo()).facts


def test_each_party_has_its_country_profile() -> None:
    f = facts(consignees=[{"name": "C", "country": "XA"}], purchaser={"country": "XB"},
              intermediaries=[{"country": "NO", "role": "distributor"}])
    assert f["consignees.countries"] == {"XA"} and f["consignees.bands"] == {"embargoed"}
    assert f["consignees.factors"] == {"arms_embargo"} and f["consignees.count"] == 1
    assert f["purchaser.country"] == "XB" and f["purchaser.factors"] == {"misuse"}
    assert f["intermediaries.countries"] == {"NO"}
    assert f["end_user.country"] == "NO" and f["end_user.band"] == "low"
    assert f["parties.countries"] == {"NO", "XA", "XB"}
    assert f["parties.factors"] == {"arms_embargo", "misuse"}


def test_a_v1_case_has_only_the_end_users_profile() -> None:
    f = facts()
    assert f["parties.countries"] == {"NO"} and f["consignees.count"] == 0
    assert f["consignees.bands"] == frozenset() and "purchaser.country" not in f


def test_an_unknown_party_country_fails_closed() -> None:
    data = case(consignees=[{"name": "C", "country": "QQ"}])
    check_case(data)
    n = normalize(data, demo())
    assert ("consignees.country", "QQ") in {(u.field, u.value) for u in n.unknown}
    assert "unknown" in n.facts["consignees.bands"] and "unknown" in n.facts["parties.bands"]


@pytest.mark.parametrize("backend", [PythonBackend, DurableBackend])
def test_any_party_in_an_embargoed_country(backend: Any) -> None:
    rule = make_rule("deny-embargoed-party", {"fact": "parties.bands",
                                              "contains": "embargoed"}, "deny")
    policy = with_rules(demo(), [rule])
    engine = backend(policy)
    for consignee, fired in (("XA", True), ("NO", False)):
        data = case(consignees=[{"country": consignee}])
        check_case(data)
        hits = engine.evaluate(normalize(data, policy))
        assert ("deny-embargoed-party" in hits) is fired


def test_end_user_outside_the_destination() -> None:
    rule = make_rule("refer-elsewhere", {"fact": "end_user.in_destination", "equals": False})
    policy = with_rules(demo(), [rule])
    data = case(end_user={"name": "U", "country": "XB", "type": "private_company"})
    check_case(data)
    assert "refer-elsewhere" in PythonBackend(policy).evaluate(normalize(data, policy))


def test_generated_cases_carry_up_to_ten_consignees() -> None:
    cases = list(generate_cases(demo(), 400, seed=3))
    counts = {len(c.get("consignees") or ()) for c in cases}
    assert 10 in counts and 0 in counts and any("purchaser" in c for c in cases)


def test_backends_agree_on_random_party_rules() -> None:
    policy = with_rules(demo(), random_rules(60, seed=11, facts=PARTY_FACTS))
    durable, python = DurableBackend(policy), PythonBackend(policy)
    for data in generate_cases(policy, 600, seed=5):
        check_case(data)
        norm = normalize(data, policy)
        assert durable.evaluate(norm) == python.evaluate(norm), data["case_id"]


def item_kinds(items: list[dict[str, Any]]) -> list[Any]:
    data = case(items=items)
    check_case(data)
    return [i.facts.get("item.kind") for i in normalize(data, demo()).items]


def test_item_kind_is_declared_or_read_off_the_entries() -> None:
    assert item_kinds([{"id": "s", "category": "intrusion_software", "kind": "service"},
                       {"id": "d", "control_entries": ["4D004"]},
                       {"id": "a", "control_entries": ["4A005"]},
                       {"id": "m", "control_entries": ["4A005", "4D004"]},
                       {"id": "n"}]) == ["service", "software", "good", None, None]


@pytest.mark.parametrize("backend", [PythonBackend, DurableBackend])
def test_a_rule_on_services(backend: Any) -> None:
    rule = make_rule("refer-service", {"all": [{"fact": "item.kind", "equals": "service"},
                                               {"fact": "item.groups",
                                                "contains": "cyber_surveillance"}]})
    policy = with_rules(demo(), [rule])
    data = case(items=[{"id": "saas", "category": "intrusion_software", "kind": "service"},
                       {"id": "box", "category": "intrusion_software", "kind": "good"}])
    check_case(data)
    assert backend(policy).evaluate(normalize(data, policy)) == {"refer-service": ("saas",)}
