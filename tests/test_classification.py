"""Classification never loosens a decision: an item is decided under every candidate category.

Cases are built on the shipped baseline policy (both released versions, both backends), from
an application that is approved as it stands; each test adds a control entry or a declared
category and checks that the rules of the added category apply.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest

import engine
from engine.decision import Decision
from tests.support import baseline_case

VERSIONS = ("2025.1", "2026.1")
BACKENDS = ("durable", "python")


@cache
def store() -> engine.PolicyStore:
    return engine.load("policies")


def base(**changes: Any) -> dict[str, Any]:
    return baseline_case(case_id="CLS-1", **changes)


def decide(case: dict[str, Any], version: str, backend: str = "durable") -> Decision:
    return store().evaluate(case, policy_version=version, backend=backend)


def with_item(**item: Any) -> dict[str, Any]:
    case = base()
    case["items"] = [{"id": "a", "description": "device", "quantity": 1, "value": 1000, **item}]
    return case


def rank(version: str, outcome: str) -> int:
    return store().get(version).rank[outcome]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_torture_goods_with_an_intrusion_entry_are_still_denied(version: str,
                                                               backend: str) -> None:
    d = decide(with_item(category="torture_goods", control_entries=["4A005"]), version, backend)
    assert d.decision == "deny"
    assert "deny-torture-goods" in d.rules


@pytest.mark.parametrize("version", VERSIONS)
def test_entries_of_two_categories_apply_the_rules_of_both(version: str) -> None:
    d = decide(with_item(control_entries=["0A981", "4A005"]), version)
    assert d.decision == "deny" and "deny-torture-goods" in d.rules
    only_intrusion = decide(with_item(control_entries=["4A005"]), version)
    assert "deny-torture-goods" not in only_intrusion.rules


@pytest.mark.parametrize("version", VERSIONS)
def test_interception_referral_survives_an_extra_forensics_entry(version: str) -> None:
    case = with_item(category="mobile_interception")
    case["end_user"] = {"name": "Festival Security AS", "country": "NO",
                        "type": "private_company"}
    alone = decide(case, version)
    case["items"][0]["control_entries"] = ["5A004.b"]
    both = decide(case, version)
    assert set(alone.rules) - {"category-conflict"} <= set(both.rules)
    assert rank(version, both.decision) <= rank(version, alone.decision)
    assert "refer-interception-to-private-party" in both.rules


@pytest.mark.parametrize("version", VERSIONS)
def test_declared_category_that_disagrees_with_the_entries_is_a_finding(version: str) -> None:
    d = decide(with_item(category="torture_goods", control_entries=["4A005"]), version)
    conflict = next(f for f in d.findings if f.rule == "category-conflict")
    assert "`torture_goods`" in conflict.message and "`intrusion_software`" in conflict.message
    assert conflict.items == ("a",) and conflict.outcome == "request_information"
    agreeing = decide(with_item(category="intrusion_software", control_entries=["4A005"]),
                      version)
    assert "category-conflict" not in agreeing.rules


@pytest.mark.parametrize("version", VERSIONS)
def test_conflict_alone_withholds_approval(version: str) -> None:
    approved = decide(base(), version)
    assert approved.decision == "approve"
    case = base()
    case["items"][0]["control_entries"] = ["5A002"]  # network security: not general IT
    d = decide(case, version)
    assert "category-conflict" in d.rules
    assert d.decision not in ("approve", "approve_with_conditions")


@pytest.mark.parametrize("version", VERSIONS)
def test_unmapped_well_formed_entry_is_named_and_withholds_approval(version: str) -> None:
    case = base()
    case["items"][0]["control_entries"] = ["5A992.c"]
    d = decide(case, version)
    finding = next(f for f in d.findings if f.rule == "unmapped-entry")
    assert "5A992.c" in finding.message and finding.items == ("a",)
    assert d.decision == "request_information"


# A zero-width or control character in an entry breaks the case contract instead (CaseError,
# tests/test_contract_strict.py).
@pytest.mark.parametrize("entry", ["5А001.j", "ZZ", "4a00"])
def test_malformed_entry_is_an_unknown_id(entry: str) -> None:
    d = decide(with_item(control_entries=[entry]), "2026.1")
    unknown = next(f for f in d.findings if f.rule == "unknown-id")
    assert "control_entries" in unknown.message
    assert d.decision not in ("approve", "approve_with_conditions")


def test_full_width_entry_is_folded_to_the_ascii_entry() -> None:
    full = decide(with_item(control_entries=["５Ａ００１．ｊ"]), "2026.1")
    ascii_ = decide(with_item(control_entries=["5A001.j"]), "2026.1")
    assert full.to_dict()["findings"] == ascii_.to_dict()["findings"]


def test_unclassified_item_message_lists_the_entries_given() -> None:
    d = decide(with_item(control_entries=["5A992.c"]), "2026.1")
    msg = next(f.message for f in d.findings if f.rule == "request-info-unclassified-item")
    assert "5A992.c" in msg and "none" not in msg


def test_multi_item_messages_keep_each_value_with_its_item() -> None:
    case = base(destination="KE")
    case["end_user"] = {"name": "National Police Service", "country": "KE",
                        "type": "law_enforcement"}
    case["items"] = [
        {"id": "f", "category": "digital_forensics", "description": "kit", "value": 1_000_000},
        {"id": "m", "category": "mobile_interception", "description": "unit", "value": 300_000},
    ]
    d = decide(case, "2026.1")
    cats = store().get("2026.1").policy.categories
    forensics, interception = cats["digital_forensics"].title, cats["mobile_interception"].title
    finding = next(f for f in d.findings if f.rule == "cond-annual-end-use-report")
    assert finding.items == ("f", "m")
    parts = finding.message.split("; ")
    assert len(parts) == 2
    assert forensics in parts[0] and "1,000,000" in parts[0] and interception not in parts[0]
    assert interception in parts[1] and "300,000" in parts[1] and forensics not in parts[1]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_intermediary_must_state_its_role(version: str) -> None:
    case = base(intermediaries=[{"name": "A", "country": "DK", "role": "distributor"},
                                {"name": "B", "country": "DK"}])
    d = decide(case, version)
    assert "info-intermediary-roles" in d.rules
    case["intermediaries"][1]["role"] = "distributor"
    assert "info-intermediary-roles" not in decide(case, version).rules


@pytest.mark.parametrize("version", VERSIONS)
def test_both_backends_agree_on_multi_category_items(version: str) -> None:
    cases = [with_item(category="torture_goods", control_entries=["4A005", "5A001.j"]),
             with_item(control_entries=["0A981", "4A005", "5A992"]),
             with_item(category="general_it", control_entries=["3A981", "5A004.b"])]
    for case in cases:
        a = decide(copy.deepcopy(case), version, "durable").to_dict()
        b = decide(copy.deepcopy(case), version, "python").to_dict()
        a.pop("engine"), b.pop("engine")
        assert a == b


@pytest.mark.parametrize("item", [
    {"category": "intrusion_sofware"},  # a misspelt category
    {"control_entries": ["not an entry!"]},  # not of the control-list grammar
    {"category": "intrusion_software", "control_entries": ["5A001.j", "bogus entry"]},
])
def test_an_unknown_id_is_reported_every_time_the_same_item_comes_again(
        item: dict[str, Any]) -> None:
    """Classification is remembered per version for items that repeat, but only when
    nothing in them is unknown: the same misspelling in the next case is reported again."""
    for n in range(3):
        case = with_item(**item)
        case["case_id"] = f"CLS-REPEAT-{n}"
        decision = decide(case, "2026.1")
        assert "unknown-id" in decision.rules, (n, decision.rules)


def test_a_remembered_classification_is_the_same_for_another_item_id() -> None:
    first = with_item(category="intrusion_software", control_entries=["5A001.j"])
    second = copy.deepcopy(first)
    second["items"][0]["id"] = "other"
    a, b = decide(first, "2026.1"), decide(second, "2026.1")
    assert a.decision == b.decision and a.rules == b.rules
    assert [f.items for f in b.findings] == [("other",) * len(f.items) for f in a.findings]
