"""Contract 2 application facts: payment, re-export, declared total value, order reference
and the end user's relation to the state, as facts both backends decide identically."""

from __future__ import annotations

import random
from typing import Any

import pytest

from engine.api import evaluate_with
from engine.backends.durable import DurableBackend
from engine.backends.python import PythonBackend
from engine.cases import CaseError, check_case, normalize
from engine.generator import _CaseMaker, _Profile, generate_cases
from tests._factories import demo, make_rule, random_rules, with_rules
from tests.support import case

APPLICATION_FACTS = [
    "payment.method", "payment.payer", "payment.third_party", "payment.currency",
    "payment.route_country", "payment.route_band", "payment.route_factors", "case.reexport",
    "reexport.original_licence", "previous_consignee.country", "previous_consignee.band",
    "previous_consignee.factors", "case.declared_total_value", "case.value_mismatch",
    "case.order_ref", "end_user.state_owned", "end_user.security_service",
    "parties.countries", "parties.bands", "parties.factors", "case.total_value"]
BACKENDS = [PythonBackend, DurableBackend]


def normalized(**changes: Any) -> Any:
    data = case(**changes)
    check_case(data)
    return normalize(data, demo())


def facts(**changes: Any) -> dict[str, Any]:
    return normalized(**changes).facts


def test_a_v1_case_is_valid_and_carries_only_neutral_application_facts() -> None:
    f = facts()
    assert f["case.reexport"] is False
    assert f["previous_consignee.factors"] == frozenset()
    assert f["payment.route_factors"] == frozenset()
    for name in ("payment.method", "payment.third_party", "payment.route_band",
                 "case.declared_total_value", "case.value_mismatch", "case.order_ref",
                 "end_user.state_owned", "reexport.original_licence"):
        assert name not in f, name


def test_payment_facts() -> None:
    f = facts(payment={"method": "cash", "payer": "third_party", "currency": "USD",
                       "route_country": "XA"})
    assert (f["payment.method"], f["payment.payer"], f["payment.currency"]) == \
        ("cash", "third_party", "USD")
    assert f["payment.third_party"] is True
    assert (f["payment.route_country"], f["payment.route_band"]) == ("XA", "embargoed")
    assert f["payment.route_factors"] == {"arms_embargo"}
    assert "XA" not in f["parties.countries"]  # the route is not a party
    assert facts(payment={"payer": "end_user"})["payment.third_party"] is False


def test_an_unknown_currency_or_route_country_fails_closed() -> None:
    n = normalized(payment={"currency": "XBT", "route_country": "QQ"})
    assert {("payment.currency", "XBT"), ("payment.route_country", "QQ")} <= \
        {(u.field, u.value) for u in n.unknown}
    assert "payment.currency" not in n.facts and n.facts["payment.route_band"] == "unknown"


@pytest.mark.parametrize("payment", [{"method": "cheque"}, {"currency": "usd"},
                                     {"payer": "bank"}, {"route": "XA"}])
def test_payment_contract(payment: dict[str, Any]) -> None:
    with pytest.raises(CaseError):
        check_case(case(payment=payment))


def test_a_reexport_brings_the_previous_consignee_into_the_parties() -> None:
    f = facts(reexport={"original_licence": "DE-2024-117",
                        "previous_consignee": {"name": "Old Co", "country": "XB"}})
    assert f["case.reexport"] is True and f["reexport.original_licence"] == "DE-2024-117"
    assert (f["previous_consignee.country"], f["previous_consignee.band"]) == ("XB", "high")
    assert "XB" in f["parties.countries"] and "misuse" in f["parties.factors"]
    assert facts(reexport={})["case.reexport"] is True


def test_declared_total_and_its_mismatch_with_the_items() -> None:
    items = [{"id": "a", "category": "general_it", "value": 600.004},
             {"id": "b", "category": "general_it", "value": 400}]
    agree = normalized(items=items, declared_total_value=1000)
    assert agree.facts["case.declared_total_value"] == 1000
    assert agree.facts["case.value_mismatch"] is False
    differ = normalized(items=items, declared_total_value=1500)
    assert differ.facts["case.value_mismatch"] is True
    assert all(v.facts["case.value_mismatch"] is True for v in differ.views)  # item rules see it
    unknown = normalized(items=[{"id": "a", "category": "general_it"}], declared_total_value=5)
    assert "case.value_mismatch" not in unknown.facts  # no item total to compare with


def test_order_ref_and_the_end_users_relation_to_the_state() -> None:
    f = facts(order_ref="PO-77", end_user={"name": "State Telecom", "country": "NO",
                                           "type": "private_company", "state_owned": True,
                                           "security_service": False})
    assert f["case.order_ref"] == "PO-77"
    assert (f["end_user.state_owned"], f["end_user.security_service"]) == (True, False)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rules_on_application_facts(backend: Any) -> None:
    rules = [
        make_rule("refer-cash", {"fact": "payment.method", "in": ["cash", "crypto"]}),
        make_rule("refer-third-party", {"fact": "payment.third_party", "equals": True}),
        make_rule("refer-reexport-risky", {"all": [
            {"fact": "case.reexport", "equals": True},
            {"fact": "previous_consignee.band", "in": ["high", "embargoed"]}]}),
        make_rule("info-mismatch", {"fact": "case.value_mismatch", "equals": True},
                  "request_information"),
        make_rule("refer-split", {"fact": "case.order_ref", "exists": True}),
        make_rule("refer-state-security", {"any": [
            {"fact": "end_user.state_owned", "equals": True},
            {"fact": "end_user.security_service", "equals": True}]}),
        make_rule("refer-route", {"fact": "payment.route_factors", "contains": "arms_embargo"}),
    ]
    policy = with_rules(demo(), rules)
    data = case(payment={"method": "cash", "payer": "third_party", "route_country": "XA"},
                reexport={"previous_consignee": {"country": "XB"}},
                declared_total_value=5, order_ref="PO-1",
                end_user={"name": "U", "country": "NO", "type": "private_company",
                          "security_service": True})
    check_case(data)
    assert set(backend(policy).evaluate(normalize(data, policy))) == {r.id for r in rules}
    plain = case()
    check_case(plain)
    assert backend(policy).evaluate(normalize(plain, policy)) == {}


def test_decisions_agree_and_render_the_new_facts() -> None:
    rule = make_rule("refer-cash", {"fact": "payment.method", "equals": "cash"},
                     message="paid in {payment.method} via {payment.route_country}, "
                             "declared {case.declared_total_value}")
    policy = with_rules(demo(), [rule])
    data = case(payment={"method": "cash", "route_country": "XB"},
                declared_total_value=1234567)
    check_case(data)
    a = evaluate_with(policy, DurableBackend(policy), data).to_dict()
    b = evaluate_with(policy, PythonBackend(policy), data).to_dict()
    a.pop("engine"), b.pop("engine")
    assert a == b
    assert a["findings"][0]["message"] == "paid in cash via XB, declared 1,234,567"


def test_generated_cases_carry_application_facts() -> None:
    cases = list(generate_cases(demo(), 400, seed=3))
    for key in ("payment", "reexport", "declared_total_value", "order_ref"):
        assert any(key in c for c in cases), key
    assert any("state_owned" in (c.get("end_user") or {}) for c in cases)
    for c in cases:
        check_case(c)


def v1_part(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k not in CONTRACT_2}
    out["items"] = [{k: v for k, v in i.items() if k != "kind"} for i in data["items"]]
    if isinstance(data.get("end_user"), dict):
        out["end_user"] = {k: v for k, v in data["end_user"].items()
                           if k not in ("state_owned", "security_service")}
    return out


CONTRACT_2 = ("consignees", "purchaser", "payment", "reexport", "declared_total_value",
              "order_ref")


def test_contract_2_fields_do_not_change_the_v1_part_of_generated_cases() -> None:
    def make(extra: str) -> list[dict[str, Any]]:
        maker = _CaseMaker(_Profile.build(demo()), random.Random(9), random.Random(extra))
        return [maker.case(i, "G") for i in range(200)]

    a, b = make("one"), make("two")
    assert [v1_part(c) for c in a] == [v1_part(c) for c in b]
    assert a != b


def test_backends_agree_on_random_application_rules() -> None:
    policy = with_rules(demo(), random_rules(60, seed=13, facts=APPLICATION_FACTS))
    durable, python = DurableBackend(policy), PythonBackend(policy)
    fired: set[str] = set()
    for data in generate_cases(policy, 600, seed=8):
        check_case(data)
        norm = normalize(data, policy)
        hits = durable.evaluate(norm)
        assert hits == python.evaluate(norm), data["case_id"]
        fired.update(hits)
    assert len(fired) > 30  # the generated cases exercise most of the rules
