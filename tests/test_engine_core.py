"""Unit tests of the core pipeline: conditions, operators, normalisation, decisions."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import pytest

import engine
from engine import conditions
from engine.api import PolicyLoadError, PolicyStore, VersionSelectionError, evaluate_with
from engine.backends.python import PythonBackend
from engine.cases import CaseError, check_case, normalize
from engine.compiler import CompiledPolicy
from engine.operators import OPERATORS
from engine.predicates import compile_condition
from tests.support import RULES, case, compiled


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> CompiledPolicy:
    return compiled(tmp_path_factory.mktemp("p"))


def decide(policy: CompiledPolicy, data: dict) -> dict:
    check_case(data)
    return evaluate_with(policy, PythonBackend(policy), data).to_dict()


# --- operators and conditions -------------------------------------------------------------

OPERATOR_CASES = [
    # (op, fact, arg, facts, expected)
    ("equals", "end_user.type", "law_enforcement", {"end_user.type": "law_enforcement"}, True),
    ("equals", "end_user.type", "law_enforcement", {}, False),
    ("not_equals", "end_user.type", "law_enforcement", {"end_user.type": "military"}, True),
    ("not_equals", "end_user.type", "law_enforcement", {}, False),
    ("in", "end_user.type", ("a", "b"), {"end_user.type": "b"}, True),
    ("in", "end_user.type", ("a", "b"), {}, False),
    ("not_in", "end_user.type", ("a", "b"), {"end_user.type": "c"}, True),
    ("not_in", "end_user.type", ("a", "b"), {}, False),
    ("contains", "end_user.flags", "x", {"end_user.flags": frozenset({"x"})}, True),
    ("contains", "end_user.flags", "x", {"end_user.flags": frozenset()}, False),
    ("contains_any", "end_user.flags", ("x", "y"), {"end_user.flags": frozenset({"y"})}, True),
    ("contains_all", "end_user.flags", ("x", "y"), {"end_user.flags": frozenset({"y"})}, False),
    ("contains_all", "end_user.flags", ("x", "y"),
     {"end_user.flags": frozenset({"x", "y", "z"})}, True),
    ("exists", "end_use.purpose", True, {"end_use.purpose": "research"}, True),
    ("exists", "end_use.purpose", True, {}, False),
    ("exists", "end_use.purpose", False, {}, True),
    ("exists", "end_user.flags", True, {"end_user.flags": frozenset()}, False),
    ("lt", "item.value", 10, {"item.value": 9}, True),
    ("lt", "item.value", 10, {}, False),
    ("lte", "item.value", 10, {"item.value": 10}, True),
    ("gt", "item.value", 10, {"item.value": 10}, False),
    ("gte", "item.value", 10, {"item.value": 10.0}, True),
    ("equals", "exporter.hrdd_policy", False, {"exporter.hrdd_policy": False}, True),
    ("equals", "exporter.hrdd_policy", False, {}, False),
]


@pytest.mark.parametrize("op,fact,arg,facts,expected", OPERATOR_CASES)
def test_operator_semantics(op: str, fact: str, arg: object, facts: dict, expected: bool) -> None:
    test = conditions.Test(fact, op, arg)
    assert compile_condition(test)(facts) is expected
    # negation is applied after the missing-fact rule: not(test) is always the opposite
    assert compile_condition(conditions.Test(fact, op, arg, neg=True))(facts) is (not expected)


def test_every_operator_is_covered_by_the_table() -> None:
    assert {c[0] for c in OPERATOR_CASES} == set(OPERATORS)


def test_parse_reports_unknown_fact_operator_and_value_with_suggestions() -> None:
    vocab = {"categories": {"intrusion_software"}}
    _, problems = conditions.parse({"fact": "item.categry", "equals": "x"}, ("when",), vocab)
    assert problems[0].code == "unknown-fact" and "item.category" in (problems[0].help or "")
    _, problems = conditions.parse({"fact": "item.category", "equal": "x"}, ("when",), vocab)
    assert problems[0].code == "unknown-operator" and "`equals`" in (problems[0].help or "")
    _, problems = conditions.parse({"fact": "item.category", "in": ["intrusion_sofware"]},
                                   ("when",), vocab)
    assert problems[0].code == "unknown-ref"
    assert problems[0].path == ("when", "in", 0)
    assert problems[0].help == "did you mean `intrusion_software`?"
    _, problems = conditions.parse({"fact": "item.value", "contains": "x"}, (), vocab)
    assert problems[0].code == "operator-type"
    _, problems = conditions.parse({"fact": "item.value", "gt": "10"}, (), vocab)
    assert problems[0].code == "operator-argument"


def test_nnf_pushes_negation_to_tests_and_render_reads_well() -> None:
    raw = {"not": {"all": [{"fact": "end_user.type", "equals": "military"},
                           {"any": [{"fact": "item.value", "gt": 5},
                                    {"fact": "end_user.flags", "contains": "x"}]}]}}
    node, problems = conditions.parse(raw)
    assert not problems and node is not None
    nnf = conditions.to_nnf(node)
    assert isinstance(nnf, conditions.AnyOf)
    assert all(t.neg for t in conditions.tests(nnf))
    assert conditions.render(node) == (
        "not (end_user.type is military and (item.value > 5 or end_user.flags include x))")
    facts = {"end_user.type": "military", "item.value": 3, "end_user.flags": frozenset()}
    assert compile_condition(nnf)(facts) is compile_condition(node)(facts) is True


def test_dnf_expands_and_bounds() -> None:
    node, _ = conditions.parse({"all": [
        {"any": [{"fact": "item.value", "gt": 1}, {"fact": "item.value", "lt": 0}]},
        {"any": [{"fact": "end_user.type", "equals": "a"},
                 {"fact": "end_user.type", "equals": "b"}]}]})
    assert node is not None
    assert len(conditions.dnf(node) or []) == 4
    assert conditions.dnf(node, limit=3) is None


def test_ir_json_round_trip(policy: CompiledPolicy) -> None:
    for rule in policy.rules:
        assert conditions.from_json(conditions.to_json(rule.condition)) == rule.condition


# --- normalisation ------------------------------------------------------------------------


def test_case_contract_errors_list_every_problem() -> None:
    bad = case(extra_key=1, items=[{"id": "a", "value": "9"}, {"id": "a"}])
    with pytest.raises(CaseError) as err:
        check_case(bad)
    text = " ".join(d.message for d in err.value.diagnostics)
    assert "extra_key" in text and "items[0].value" in text


def test_duplicate_item_ids_are_an_input_error() -> None:
    with pytest.raises(CaseError, match="duplicate item id"):
        check_case(case(items=[{"id": "a"}, {"id": "a"}]))


def test_classification_by_longest_control_entry_prefix(policy: CompiledPolicy) -> None:
    n = normalize(case(items=[{"id": "a", "control_entries": ["5a001.J.1"]},
                              {"id": "b", "control_entries": ["3A001"]}]), policy)
    a, b = n.items
    assert a.category == "network_surveillance"
    assert a.facts["item.control_entries"] == frozenset({"5A001.j"})
    assert b.category is None and b.facts["item.classified"] is False


def test_most_severe_category_wins_when_entries_disagree(policy: CompiledPolicy) -> None:
    n = normalize(case(items=[{"id": "a", "category": "general_it",
                               "control_entries": ["4D004"]}]), policy)
    assert n.items[0].category == "intrusion_software"


def test_unknown_ids_become_missing_facts(policy: CompiledPolicy) -> None:
    n = normalize(case(end_user={"type": "polise", "flags": ["restricted_party", "oops"]},
                       assurances=["end_use_certificat"], destination="ZZ"), policy)
    assert "end_user.type" not in n.facts
    assert n.facts["end_user.flags"] == frozenset({"restricted_party"})
    assert n.facts["destination.band"] == "unknown"
    fields = {u.field for u in n.unknown}
    assert fields == {"end_user.type", "end_user.flags", "assurances", "destination"}


def test_amounts_are_rounded_and_typed(policy: CompiledPolicy) -> None:
    n = normalize(case(items=[{"id": "a", "value": 10.004, "quantity": 2.0}]), policy)
    assert n.items[0].facts["item.value"] == 10 and isinstance(n.items[0].facts["item.value"], int)
    assert n.facts["case.total_value"] == 10


# --- decisions ----------------------------------------------------------------------------


def test_default_outcome_when_nothing_fires(policy: CompiledPolicy) -> None:
    d = decide(policy, case())
    assert d["decision"] == "approve" and d["findings"] == []
    assert "No rule applied" in d["explanation"]


def test_most_severe_outcome_wins_and_findings_name_items(policy: CompiledPolicy) -> None:
    d = decide(policy, case(destination="XA", items=[
        {"id": "spy", "control_entries": ["4A005"]}, {"id": "pc", "category": "general_it"}]))
    assert d["decision"] == "deny"
    deny = next(f for f in d["findings"] if f["rule"] == "deny-embargo")
    assert deny["items"] == ["spy"]
    assert deny["message"] == "Intrusion software to embargoed Embargoland"
    assert deny["basis"] == ["Source, Art. 1"]
    assert [f["outcome"] for f in d["findings"]] == sorted(
        (f["outcome"] for f in d["findings"]), key=policy.precedence.index)


def test_missing_assurance_raises_to_request_information(policy: CompiledPolicy) -> None:
    d = decide(policy, case(items=[{"id": "a", "control_entries": ["5A001.j"], "value": 10}]))
    assert d["decision"] == "request_information"
    assert d["missing_assurances"] == ["end_use_certificate"]
    assert "end_use_certificate" in d["explanation"]
    ok = decide(policy, case(items=[{"id": "a", "control_entries": ["5A001.j"], "value": 10}],
                             assurances=["end_use_certificate"]))
    assert ok["decision"] == "approve" and ok["missing_assurances"] == []


def test_conditions_attach_only_to_conditional_approval(policy: CompiledPolicy) -> None:
    d = decide(policy, case(items=[{"id": "a", "category": "general_it", "value": 250000}]))
    assert d["decision"] == "approve_with_conditions"
    assert [c["id"] for c in d["conditions"]] == ["annual_report"]
    denied = decide(policy, case(items=[{"id": "a", "category": "general_it", "value": 250000}],
                                 end_user={"type": "private_company",
                                           "flags": ["restricted_party"]}))
    assert denied["decision"] == "deny" and denied["conditions"] == []


def test_information_requirement_fires_on_missing_fact(policy: CompiledPolicy) -> None:
    d = decide(policy, case(end_user={"name": "X"}))
    assert d["decision"] == "request_information"
    assert d["information_requests"] == [{"field": "end_user.type",
                                          "request": "Give the end-user type."}]
    assert "info-end-user-type" in {f["rule"] for f in d["findings"]}


def test_unknown_ids_fail_closed(policy: CompiledPolicy) -> None:
    d = decide(policy, case(end_user={"type": "private_company", "flags": ["restricted_partyy"]}))
    assert d["decision"] == "request_information"
    unknown = next(f for f in d["findings"] if f["rule"] == "unknown-id")
    assert "did you mean `restricted_party`?" in unknown["message"]


def test_fail_closed_guard_when_policy_lacks_a_rule(tmp_path: Path) -> None:
    rules = [r for r in RULES if r["id"] != "info-unclassified"]
    p = compiled(tmp_path, rules=rules)
    d = decide(p, case(items=[{"id": "x"}]))  # neither category nor entries
    assert d["decision"] == "request_information"
    assert [f["rule"] for f in d["findings"]] == ["fail-closed"]


def test_exception_during_evaluation_refers_with_engine_error(
        policy: CompiledPolicy, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        name = "python"

        def evaluate(self, case: object) -> dict:
            raise RuntimeError("boom")

    d = evaluate_with(policy, Broken(), case()).to_dict()  # type: ignore[arg-type]
    assert d["decision"] == "refer"
    assert d["findings"][0]["rule"] == "engine-error" and "boom" in d["findings"][0]["message"]
    assert "engine error" in caplog.text


def test_decisions_are_byte_identical(policy: CompiledPolicy) -> None:
    data = case(destination="XB", items=[{"id": "b", "control_entries": ["4A005"]},
                                         {"id": "a", "control_entries": ["5A001.j"]}])
    outs = {evaluate_with(policy, PythonBackend(policy), data).to_json() for _ in range(3)}
    assert len(outs) == 1


def test_custom_precedence_changes_the_decision(tmp_path: Path) -> None:
    p = compiled(tmp_path, outcomes={"precedence": ["refer", "deny", "request_information",
                                                    "approve_with_conditions", "approve"],
                                     "default": "approve"})
    d = decide(p, case(destination="XB", items=[{"id": "a", "control_entries": ["4A005"]}],
                       end_user={"type": "law_enforcement", "flags": ["restricted_party"]}))
    assert d["decision"] == "refer"


def test_band_is_most_severe_matching_rule(policy: CompiledPolicy) -> None:
    assert policy.destinations["XA"].band == "embargoed"
    assert policy.destinations["XB"].band == "high"
    assert policy.destinations["NO"].band == "low"


# --- version selection --------------------------------------------------------------------


def test_version_selection_by_date(tmp_path: Path) -> None:
    old = compiled(tmp_path / "a", version="2025.1", effective_from="2025-01-01",
                   effective_until="2025-12-31")
    new = compiled(tmp_path / "b")
    draft = compiled(tmp_path / "c", version="2027.1", effective_from="2027-01-01",
                     status="draft")
    store = PolicyStore({"demo": {"2025.1": old, "2026.1": new, "2027.1": draft}})
    assert store.in_force("2025-12-31").version == "2025.1"
    assert store.in_force("2026-01-01").version == "2026.1"
    assert store.in_force("2028-06-01").version == "2026.1"  # drafts are never in force
    assert store.get("2027.1").version == "2027.1"
    with pytest.raises(VersionSelectionError, match="no released version"):
        store.in_force("2024-12-31")
    with pytest.raises(VersionSelectionError, match="no version `2030.1`"):
        store.get("2030.1")


def test_a_repeated_unknown_id_is_reported_once(policy: CompiledPolicy) -> None:
    d = decide(policy, case(assurances=["x", "x"]))
    unknown = next(f for f in d["findings"] if f["rule"] == "unknown-id")
    assert unknown["message"].count("`x`") == 1


# --- loading ------------------------------------------------------------------------------

def test_load_leaves_the_garbage_collector_as_it_was(tmp_path: Path) -> None:
    """engine.load pauses cyclic collection per version (engine/api.py) and restores it,
    also when the version is refused."""
    minimal = Path(__file__).parent / "data" / "minimal" / "policies"
    broken = tmp_path / "policies"
    shutil.copytree(minimal, broken)
    next(broken.rglob("policy.yaml")).write_text("policy: [\n", encoding="utf-8")
    assert gc.isenabled()
    engine.load(minimal)
    assert gc.isenabled()
    with pytest.raises(PolicyLoadError):
        engine.load(broken)
    assert gc.isenabled()
    gc.disable()
    try:
        engine.load(minimal)
        assert not gc.isenabled()
    finally:
        gc.enable()
