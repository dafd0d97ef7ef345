"""Sanctions and restrictive measures as data (sanctions.yaml, engine/sanctions.py): the
facts `item.sanctions`, `case.sanctions` and `sanctions.targets`, their validation, their
rendering in messages and in the structural diff, identical on both backends."""

from __future__ import annotations

import random
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from engine.api import PolicyStore
from engine.backends.durable import DurableBackend
from engine.backends.python import PythonBackend
from engine.cases import check_case, normalize
from engine.compiler import CompiledPolicy, compile_policy
from engine.diff.elements import KINDS_BY_NAME, extract
from engine.diff.structural import diff_elements
from engine.generator import generate_cases
from engine.model import build_policy
from engine.repository import load_version_source
from tests.support import RULES, case, validate_written, write_version

REGIMES: list[dict[str, Any]] = [
    {"id": "demo-xa-dual-use", "title": "Embargoland dual-use ban",
     "legal_act": {"source": "src", "pinpoint": "Art. 2"},
     "in_force_from": "2026-02-01", "targets": ["XA"],
     "restricts": {"all_listed_dual_use": True}, "supply": "any_party"},
    {"id": "demo-xb-investigation", "title": "Misuseland surveillance for investigations",
     "legal_act": {"source": "src"}, "in_force_from": "2025-01-01",
     "in_force_until": "2026-12-31", "targets": ["XB"],
     "restricts": {"categories": ["network_surveillance"],
                   "end_uses": ["criminal_investigation"]},
     "supply": "destination"},
    {"id": "demo-xb-intrusion-users", "title": "Misuseland intrusion software to police",
     "legal_act": {"source": "src"}, "in_force_from": "2025-01-01", "targets": ["XB"],
     "restricts": {"control_entries": ["4A005", "4D004"],
                   "end_user_types": ["law_enforcement"]},
     "supply": "end_user"},
]

SANCTION_RULES: list[dict[str, Any]] = [
    {"id": "deny-sanctioned-item", "title": "Sanctioned item", "description": "d",
     "commitments": ["coc-1"], "basis": [{"source": "src"}],
     "when": {"fact": "item.sanctions", "exists": True}, "outcome": "deny",
     "message": "{items} restricted by {item.sanctions}: {sanctions}"},
    {"id": "refer-sanctions-target", "title": "Target country", "description": "d",
     "commitments": ["coc-1"], "basis": [{"source": "src"}],
     "when": {"fact": "sanctions.targets", "exists": True}, "outcome": "refer",
     "message": "a party is in a target of {sanctions.targets}"},
    {"id": "refer-case-sanctions", "title": "Case sanctions", "description": "d",
     "commitments": ["coc-1"], "basis": [{"source": "src"}],
     "when": {"fact": "case.sanctions", "contains": "demo-xa-dual-use"}, "outcome": "refer",
     "message": "case under {sanctions}"},
]



def sanctions_file(regimes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"sanctions.yaml": {"regimes": regimes}}


@cache
def policy() -> CompiledPolicy:
    root = Path(tempfile.mkdtemp(prefix="echri-sanctions-"))
    path = write_version(root, sanctions_file(REGIMES), RULES + SANCTION_RULES)
    return compile_policy(build_policy(load_version_source(path)))


def norm(**changes: Any) -> Any:
    data = case(**changes)
    check_case(data)
    return normalize(data, policy())


SURVEILLANCE = [{"id": "i1", "control_entries": ["5A001.j"], "value": 1000, "quantity": 1}]


def test_listed_item_consigned_via_a_sanctioned_country() -> None:
    n = norm(items=SURVEILLANCE, consignees=[{"name": "C", "country": "XA"}])
    assert n.facts["sanctions.targets"] == {"demo-xa-dual-use"}
    assert n.views[0].facts["item.sanctions"] == {"demo-xa-dual-use"}
    assert n.facts["case.sanctions"] == {"demo-xa-dual-use"}
    assert n.views[0].facts["sanctions.targets"] == {"demo-xa-dual-use"}


def test_near_miss_consignee_elsewhere() -> None:
    n = norm(items=SURVEILLANCE, consignees=[{"name": "C", "country": "NO"}])
    assert n.facts["sanctions.targets"] == frozenset()
    assert n.views[0].facts["item.sanctions"] == frozenset()


def test_near_miss_unlisted_item() -> None:
    # an unclassified item is not a listed dual-use item (the case fails closed anyway)
    n = norm(items=[{"id": "i1", "value": 1, "quantity": 1}],
             consignees=[{"country": "XA"}])
    assert n.facts["sanctions.targets"] == {"demo-xa-dual-use"}
    assert n.views[0].facts["item.sanctions"] == frozenset()


def test_regime_not_yet_in_force() -> None:
    n = norm(items=SURVEILLANCE, consignees=[{"country": "XA"}], submitted="2026-01-31")
    assert n.facts["sanctions.targets"] == frozenset()
    assert n.views[0].facts["item.sanctions"] == frozenset()
    assert norm(items=SURVEILLANCE, consignees=[{"country": "XA"}],
                submitted="2026-02-01").views[0].facts["item.sanctions"] == {"demo-xa-dual-use"}


def test_regime_no_longer_in_force() -> None:
    eu = {"name": "P", "country": "XB", "type": "private_company"}
    on = {"purpose": "criminal_investigation"}
    last = norm(items=SURVEILLANCE, destination="XB", end_user=eu, end_use=on,
                submitted="2026-12-31")
    assert last.views[0].facts["item.sanctions"] == {"demo-xb-investigation"}
    after = norm(items=SURVEILLANCE, destination="XB", end_user=eu, end_use=on,
                 submitted="2027-01-01")
    assert after.views[0].facts["item.sanctions"] == frozenset()


def test_end_use_restriction_and_near_miss() -> None:
    eu = {"name": "P", "country": "XB", "type": "private_company"}
    hit = norm(items=SURVEILLANCE, destination="XB", end_user=eu,
               end_use={"purpose": "criminal_investigation"})
    assert hit.views[0].facts["item.sanctions"] == {"demo-xb-investigation"}
    miss = norm(items=SURVEILLANCE, destination="XB", end_user=eu,
                end_use={"purpose": "network_security"})
    assert miss.views[0].facts["item.sanctions"] == frozenset()
    assert miss.facts["sanctions.targets"] == {"demo-xb-investigation",
                                               "demo-xb-intrusion-users"}
    # supply: destination — an end user in XB with the destination elsewhere is a near miss
    elsewhere = norm(items=SURVEILLANCE, destination="NO", end_user=eu,
                     end_use={"purpose": "criminal_investigation"})
    assert elsewhere.views[0].facts["item.sanctions"] == frozenset()


def test_end_user_type_and_control_entry_prefix() -> None:
    police = {"name": "P", "country": "XB", "type": "law_enforcement"}
    items = [{"id": "i1", "control_entries": ["4A005.a"], "value": 1, "quantity": 1}]
    hit = norm(items=items, destination="NO", end_user=police)
    assert hit.views[0].facts["item.sanctions"] == {"demo-xb-intrusion-users"}
    company = {"name": "P", "country": "XB", "type": "private_company"}
    assert norm(items=items, destination="NO", end_user=company) \
        .views[0].facts["item.sanctions"] == frozenset()
    assert norm(items=items, destination="XB", end_user={**police, "country": "NO"}) \
        .views[0].facts["item.sanctions"] == frozenset()


def test_each_view_gets_the_regimes_of_its_category() -> None:
    # one item, two candidate categories: only the network_surveillance view is covered
    items = [{"id": "i1", "category": "intrusion_software", "control_entries": ["5A001.j"],
              "value": 1, "quantity": 1}]
    eu = {"name": "P", "country": "XB", "type": "private_company"}
    n = norm(items=items, destination="XB", end_user=eu,
             end_use={"purpose": "criminal_investigation"})
    by_category = {v.category: v.facts["item.sanctions"] for v in n.views}
    assert by_category == {"intrusion_software": frozenset(),
                           "network_surveillance": {"demo-xb-investigation"}}
    assert n.facts["case.sanctions"] == {"demo-xb-investigation"}


def test_released_style_versions_have_empty_sanctions_facts() -> None:
    root = Path(tempfile.mkdtemp(prefix="echri-nosanctions-"))
    plain = compile_policy(build_policy(load_version_source(write_version(root))))
    assert plain.sanctions == () and "sanctions" not in plain.ir()
    data = case(consignees=[{"country": "XA"}])
    check_case(data)
    n = normalize(data, plain)
    assert n.facts["sanctions.targets"] == frozenset()
    assert n.views[0].facts["item.sanctions"] == frozenset()


def test_decision_names_the_regime() -> None:
    store = PolicyStore({"demo": {"2026.1": policy()}})
    data = case(items=SURVEILLANCE, consignees=[{"name": "C", "country": "XA"}])
    decision = store.evaluate(data, policy_version="2026.1", self_check=True)
    assert decision.decision == "deny" and decision.backend == "durable+python"
    messages = {f.rule: f.message for f in decision.findings}
    assert messages["deny-sanctioned-item"] == (
        "i1 restricted by demo-xa-dual-use: demo-xa-dual-use (Embargoland dual-use ban; "
        "Source, Art. 2; via a consignee in XA)")
    assert messages["refer-sanctions-target"] == "a party is in a target of demo-xa-dual-use"
    assert messages["refer-case-sanctions"].startswith("case under demo-xa-dual-use (")


def _cases() -> list[dict[str, Any]]:
    rng = random.Random(7)
    out = list(generate_cases(policy(), 150, seed=11))
    countries = ["NO", "BR", "XA", "XB"]
    purposes = ["network_security", "criminal_investigation"]
    entries = [["5A001.j"], ["4A005.a"], ["4D004", "5A001.j.1"], []]
    for k in range(150):
        data = case(case_id=f"S-{k}", destination=rng.choice(countries),
                    submitted=rng.choice(["2025-06-01", "2026-01-31", "2026-03-01",
                                          "2027-01-01"]),
                    end_user={"name": "U", "country": rng.choice(countries),
                              "type": rng.choice(["law_enforcement", "private_company"])},
                    end_use={"purpose": rng.choice(purposes)},
                    consignees=[{"country": rng.choice(countries)}
                                for _ in range(rng.randint(0, 3))],
                    items=[{"id": f"i{j}", "control_entries": rng.choice(entries),
                            "category": rng.choice(["intrusion_software", "general_it",
                                                    None]),
                            "value": 10, "quantity": 1} for j in range(rng.randint(1, 3))])
        for item in data["items"]:
            if item["category"] is None:
                del item["category"]
        out.append(data)
    return out


def test_both_backends_decide_identically() -> None:
    compiled = policy()
    python, durable = PythonBackend(compiled), DurableBackend(compiled)
    fired = set()
    for data in _cases():
        check_case(data)
        n = normalize(data, compiled)
        hits = python.evaluate(n)
        assert durable.evaluate(n) == hits, data["case_id"]
        fired |= set(hits)
    assert {"deny-sanctioned-item", "refer-sanctions-target", "refer-case-sanctions"} <= fired


def _validate(tmp_path: Path, regimes: list[dict[str, Any]],
              rules: list[dict[str, Any]] | None = None) -> list[Any]:
    path = write_version(tmp_path, sanctions_file(regimes),
                         RULES + SANCTION_RULES if rules is None else rules)
    return validate_written(path)


def test_valid_sanctions_file_validates(tmp_path: Path) -> None:
    found = _validate(tmp_path, REGIMES)
    assert [d for d in found if d.severity == "error"] == []
    assert not any(d.file.endswith("sanctions.yaml") for d in found), found


@pytest.mark.parametrize(("change", "code", "needle", "suggestion"), [
    ({"targets": ["XC"]}, "unknown-ref", "unknown country `XC`", "destinations.yaml"),
    ({"restricts": {"categories": ["network_surveilance"]}}, "unknown-ref",
     "unknown category `network_surveilance`", "network_surveillance"),
    ({"restricts": {"control_entries": ["4A006"]}}, "unknown-ref",
     "unknown control entry `4A006`", "4A005"),
    ({"restricts": {"control_entries": ["4A00"]}}, "invalid-entry",
     "`4A00` is not a control-list entry", None),
    ({"restricts": {"end_uses": ["criminal_investigations"]}}, "unknown-ref",
     "unknown end-use purpose `criminal_investigations`", "criminal_investigation"),
    ({"restricts": {"end_user_types": ["law_enforcment"]}}, "unknown-ref",
     "unknown end-user type `law_enforcment`", "law_enforcement"),
    ({"legal_act": {"source": "srcs"}}, "unknown-ref", "cites unknown source `srcs`", "src"),
    ({"in_force_until": "2025-12-31", "in_force_from": "2026-02-01"}, "regime-dates",
     "is before `in_force_from`", None),
    ({"supply": "transit"}, "schema", "", None),
])
def test_cross_references(tmp_path: Path, change: dict[str, Any], code: str, needle: str,
                          suggestion: str | None) -> None:
    found = _validate(tmp_path, [{**REGIMES[0], **change}, *REGIMES[1:]])
    hits = [d for d in found if d.code == code and needle in d.message]
    assert hits, found
    d = hits[0]
    assert d.file.endswith("sanctions.yaml") and d.line > 1 and d.column >= 1
    if suggestion is not None:
        assert d.help is not None and suggestion in d.help


def test_duplicate_regime_id(tmp_path: Path) -> None:
    found = _validate(tmp_path, [*REGIMES, REGIMES[0]])
    assert any(d.code == "duplicate-id" and "sanctions regime" in d.message for d in found)


def test_lint_regime_ended_before_the_version(tmp_path: Path) -> None:
    lifted = {**REGIMES[0], "id": "demo-lifted", "in_force_from": "2024-01-01",
              "in_force_until": "2025-12-31"}
    found = _validate(tmp_path, [*REGIMES, lifted])
    hits = [d for d in found if d.code == "regime-expired"]
    assert len(hits) == 1 and hits[0].severity == "warning"
    assert "`demo-lifted` ended on 2025-12-31" in hits[0].message


def test_unknown_regime_in_a_condition(tmp_path: Path) -> None:
    rule = {**SANCTION_RULES[2], "when": {"fact": "case.sanctions",
                                          "contains": "demo-xa-dualuse"}}
    found = _validate(tmp_path, REGIMES, [*RULES, rule])
    assert any("demo-xa-dualuse" in d.message and d.help and "demo-xa-dual-use" in d.help
               for d in found), found


def test_structural_diff_shows_regimes_imposed_and_lifted(tmp_path: Path) -> None:
    old = load_version_source(write_version(tmp_path / "a", sanctions_file(REGIMES[:2])))
    new = load_version_source(write_version(tmp_path / "b", sanctions_file(REGIMES[1:])))
    kind = KINDS_BY_NAME["sanctions"]
    changes = {c.id: c.change for c in
               diff_elements(extract(old)["sanctions"], extract(new)["sanctions"], kind)}
    assert changes == {"demo-xa-dual-use": "removed", "demo-xb-intrusion-users": "added"}


@pytest.mark.parametrize("version", ["2025.1", "2026.1"])
def test_released_versions_have_no_regimes(version: str) -> None:
    path = Path(__file__).parent.parent / "policies" / "echri-baseline" / version
    assert not (path / "sanctions.yaml").exists()
    compiled = compile_policy(build_policy(load_version_source(path)))
    assert compiled.sanctions == () and "sanctions" not in compiled.ir()


def test_the_link_names_every_party_in_a_target() -> None:
    store = PolicyStore({"demo": {"2026.1": policy()}})
    data = case(items=SURVEILLANCE, consignees=[{"country": "NO"}, {"country": "XA"}],
                purchaser={"country": "XA"})
    decision = store.evaluate(data, policy_version="2026.1")
    message = next(f.message for f in decision.findings if f.rule == "refer-case-sanctions")
    assert message.endswith("via a consignee in XA, the purchaser in XA)")

