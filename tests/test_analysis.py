"""engine/analysis: the SMT encoding agrees with the engine, and the analyses find what
small policies are built to contain (never-firing, shadowed, duplicate rules; a loosening;
a refuted invariant). Every witness is re-decided by the engine inside the analysis."""

from __future__ import annotations

import os
import random
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
import z3
from click.testing import CliRunner

import engine
from engine.analysis.compare import compare
from engine.analysis.derive import world_of
from engine.analysis.encode import concrete_world, encode, outcome_of
from engine.analysis.inputs import UNMAPPED_ENTRY, Inputs
from engine.analysis.invariants import Invariant, check_invariants, load_invariants
from engine.analysis.rules import analyze_rules
from engine.analysis.witness import AnalysisError, verify, write_fixture
from engine.api import PolicyStore
from engine.backends.python import PythonBackend
from engine.cases import normalize
from engine.cli import main
from engine.compiler import CompiledPolicy
from engine.generator import generate_cases
from engine.model import ITEM_KINDS, PAYERS, PAYMENT_METHODS
from engine.schemas import check_data
from tests.support import RULES, compiled

ROOT = Path(__file__).resolve().parent.parent


@cache
def baseline(version: str) -> CompiledPolicy:
    return engine.load(ROOT / "policies").get(version)


# -- the encoding of conditions and decisions against the engine, on concrete facts --------

# `make differential` raises both (ECHRI_SMT_CASES=2000, ECHRI_SMT_POINTS=1000)
SMT_CASES = int(os.environ.get("ECHRI_SMT_CASES", "70"))  # generated cases per version
SMT_POINTS = int(os.environ.get("ECHRI_SMT_POINTS", "40"))  # random points of the space


@pytest.mark.parametrize("version", ["2025.1", "2026.1", "2027.1"])
def test_encoding_decides_generated_cases_as_the_engine(version: str) -> None:
    policy = baseline(version)
    backend = PythonBackend(policy)
    outcomes = set()
    for case in generate_cases(policy, SMT_CASES, seed=14, crowded=0.05):
        norm = normalize(case, policy)
        world, assured = concrete_world(norm)
        smt = outcome_of(encode(policy, world, assured))
        real = engine.api.evaluate_with(policy, backend, case).decision
        assert smt == real, case["case_id"]
        outcomes.add(real)
    assert len(outcomes) >= 3  # the sample reaches several outcomes


# -- the bounded case space: random inputs → witness → engine (both backends) --------------

def _random_inputs(inputs: Inputs, rng: random.Random, party_rate: float = 0.25
                   ) -> list[z3.BoolRef]:
    """Equalities fixing every input variable to a random value the constraints allow
    (`party_rate`: how often each optional party is there)."""
    n = len(inputs.codes)
    pick = lambda hi: rng.randrange(-1, hi)  # noqa: E731
    values: dict[str, int] = {"dest": pick(n) if rng.random() < 0.2 else
                              inputs.codes.index(rng.choice(["NO", "DE", "FR", "JP"])),
                              "n_items": rng.randrange(1, inputs.items + 1)}
    for p in ("eu", "con", "int", "pur", "prev", "route", "exp"):
        values[p] = pick(n) if rng.random() < party_rate else -1
    values.update(eu_type=pick(len(inputs.types)), purpose=pick(len(inputs.purposes)),
                  role=pick(len(inputs.roles)) if values["int"] >= 0 else -1,
                  method=pick(len(PAYMENT_METHODS)), payer=pick(len(PAYERS)),
                  currency=pick(min(len(inputs.currencies), 3)),
                  eu_name_match=pick(len(inputs.names)) if rng.random() < 0.3 else -1,
                  declared=rng.choice([0, 12345, 100000000]))
    bools = {name: rng.random() < (0.05 if name.startswith("flag:") else
                                   0.02 if name.startswith("ground") else
                                   0.9 if name.startswith("assured:") else 0.6)
             for name in inputs.b}
    bools["reexport"] = bools["reexport"] or values["prev"] >= 0 or bools["licence"]
    bools["eu_name"] = bools["eu_name"] or values["eu_name_match"] >= 0
    for t in ("so", "ss", "hrdd", "ta"):
        bools[t] = bools[t] and bools[f"{t}_p"]
    for j in range(inputs.items):
        values[f"cat{j}"] = pick(len(inputs.categories)) if rng.random() < 0.5 else \
            inputs.categories.index("general_it")
        values[f"kind{j}"] = pick(len(ITEM_KINDS)) if rng.random() < 0.3 else -1
        values[f"value{j}"] = rng.choice([0, 150, 99999_99, 100000_00, 100000_01])
        values[f"qty{j}"] = rng.choice([100, 250])
        for e in [*inputs.entries, UNMAPPED_ENTRY]:
            bools[f"entry{j}:{e}"] = rng.random() < 1.5 / len(inputs.entries)
    if inputs.parties > 1:  # more consignees and intermediaries (after the one-party draws)
        _more_parties(inputs, rng, values)
    return [inputs.v[k] == x for k, x in values.items()] + \
        [b if bools[k] else z3.Not(b) for k, b in inputs.b.items()]


def _more_parties(inputs: Inputs, rng: random.Random, values: dict[str, int]) -> None:
    """Parties 2..k of each list: each there (if the one before is) with its own country,
    name and role; countries sorted, as the symmetry breaking of the space requires."""
    n, pick = len(inputs.codes), lambda hi: rng.randrange(-1, hi)
    for names, roles in ((inputs.cons, None), (inputs.ints, inputs.role_vars)):
        for j in range(1, inputs.parties):
            there = values[names[j - 1]] >= 0 and rng.random() < 0.7
            values[names[j]] = rng.randrange(n) if there else -1
            if roles is not None:
                values[roles[j]] = pick(len(inputs.roles)) if there else -1
        codes = sorted(values[x] for x in names if values[x] >= 0)
        for x, code in zip(names, codes, strict=False):
            values[x] = code
        for x in names:
            listed = values[x] >= 0 and rng.random() < 0.3
            values[f"{x}_name_match"] = pick(len(inputs.names)) if listed else -1


@pytest.mark.parametrize("version", ["2027.1"])
def test_random_bounded_cases_decide_as_the_engine(version: str) -> None:
    policy = baseline(version)
    inputs = Inputs([policy], items=2, submitted=policy.policy.effective_from)
    world, assured = world_of(inputs, policy)
    enc = encode(policy, world, assured)
    solver = z3.Solver()
    solver.add(inputs.constraints)
    rng = random.Random(14)
    outcomes = set()
    for k in range(SMT_POINTS):
        solver.push()
        solver.add(_random_inputs(inputs, rng))
        assert solver.check() == z3.sat
        model = solver.model()
        case = inputs.witness(model, f"RAND-{k}")
        claimed = outcome_of(enc, model)
        verify({"V": policy}, case, {"V": claimed})  # raises AnalysisError on disagreement
        outcomes.add(claimed)
        solver.pop()
    assert len(outcomes) >= 3


def test_verify_reports_a_wrong_claim() -> None:
    policy = baseline("2027.1")
    inputs = Inputs([policy], items=1, submitted=policy.policy.effective_from)
    solver = z3.Solver()
    solver.add(inputs.constraints)
    assert solver.check() == z3.sat
    case = inputs.witness(solver.model())
    real = PolicyStore({policy.id: {policy.version: policy}}).evaluate(
        case, policy_version=policy.version, backend="python").decision
    wrong = next(o for o in policy.precedence if o != real)
    with pytest.raises(AnalysisError, match="the model claims"):
        verify({"V": policy}, case, {"V": wrong})


# -- rules: never-firing, shadowed, duplicate ------------------------------------------------

def _rule(rid: str, when: Any, **effect: Any) -> dict[str, Any]:
    return {"id": rid, "title": rid, "description": "d", "commitments": ["coc-1"],
            "basis": [{"source": "src"}], "when": when, "message": rid, **effect}


ANALYSED_RULES = [
    *RULES,
    # general_it has no group: never fires (a category/group implication the lint misses)
    _rule("never-general-cyber", {"all": [
        {"fact": "item.category", "equals": "general_it"},
        {"fact": "item.groups", "contains": "cyber_surveillance"}]}, outcome="refer"),
    # a value range that is empty
    _rule("never-value-range", {"all": [{"fact": "item.value", "gt": 500},
                                        {"fact": "item.value", "lt": 400}]}, outcome="refer"),
    # refer for intrusion software to XA (embargoed): deny-embargo always fires too
    _rule("refer-intrusion-embargo", {"all": [
        {"fact": "item.category", "equals": "intrusion_software"},
        {"fact": "destination", "equals": "XA"}]}, outcome="refer"),
    # the same condition as deny-restricted, written another way
    _rule("deny-restricted-again",
          {"fact": "end_user.flags", "contains_any": ["restricted_party"]}, outcome="deny"),
]


APPROVAL_RULES = [
    *ANALYSED_RULES,
    # an approval for large general-IT sales: condition-large (approve_with_conditions)
    # always fires with it, so it is outranked, approval-level and changes no decision
    _rule("approve-large-general-it", {"all": [
        {"fact": "item.category", "equals": "general_it"},
        {"fact": "item.value", "gte": 200000}]}, outcome="approve"),
    # a second licence condition for very large surveillance sales: condition-large always
    # fires too (same outcome), and only this rule attaches `audit`
    _rule("cond-very-large-surveillance", {"all": [
        {"fact": "item.groups", "contains": "cyber_surveillance"},
        {"fact": "item.value", "gte": 300000}]}, conditions=["audit"]),
]


def test_rules_finds_never_firing_shadowed_and_duplicates(tmp_path: Path) -> None:
    report = analyze_rules(compiled(tmp_path, rules=ANALYSED_RULES), items=2)
    assert report.never == ["never-general-cyber", "never-value-range"]
    shadowed = {s["rule"]: s for s in report.shadowed}
    assert "refer-intrusion-embargo" in shadowed
    assert shadowed["refer-intrusion-embargo"]["by"] == ["deny-embargo"]
    assert "deny-restricted" in shadowed and "deny-restricted-again" in shadowed
    assert report.duplicates == [("deny-restricted", "deny-restricted-again")]
    assert "refer-high" not in shadowed and "deny-embargo" not in shadowed
    # never-firing and duplicate rules, and a rule nothing of which reaches a decision, are
    # errors; a rule covered by one of its own outcome is a warning (it stays a reason)
    intrusion = shadowed["refer-intrusion-embargo"]
    assert (intrusion["severity"], intrusion["kind"]) == ("error", "outranked")
    assert intrusion["reasons"][0].startswith("outranked: ")
    again = shadowed["deny-restricted-again"]
    assert (again["severity"], again["kind"]) == ("warning", "same-outcome")
    assert report.errors == 2 + 1 + 1 and report.warnings == 2
    assert report.failed() and report.failed(strict=True)


def _files_with(conditions: list[str]) -> dict[str, Any]:
    from tests.support import BASE

    assurances = dict(BASE["assurances.yaml"])
    assurances["license_conditions"] = [*assurances["license_conditions"],
                                        *({"id": c, "title": c, "text": c} for c in conditions)]
    return {"assurances.yaml": assurances}


def test_shadowed_approval_rules_are_warnings_with_their_reasons(tmp_path: Path) -> None:
    policy = compiled(tmp_path, rules=[r for r in APPROVAL_RULES
                                       if r["id"] in ("condition-large", "assure-surveillance",
                                                      "approve-large-general-it",
                                                      "cond-very-large-surveillance",
                                                      "refer-high", "deny-embargo")],
                      files=_files_with(["audit"]))
    report = analyze_rules(policy, items=1)
    shadowed = {s["rule"]: s for s in report.shadowed}
    assert set(shadowed) == {"approve-large-general-it", "cond-very-large-surveillance"}
    large = shadowed["approve-large-general-it"]
    assert (large["severity"], large["kind"], large["by"]) == ("warning", "outranked",
                                                               ["condition-large"])
    assert [r.split(":")[0] for r in large["reasons"]] == ["approval-level",
                                                           "decision-neutral"]
    very = shadowed["cond-very-large-surveillance"]
    assert (very["severity"], very["kind"], very["effects"]) == ("warning", "same-outcome",
                                                                 ["conditions"])
    assert any(r.startswith("conditions: ") and "`audit`" in r for r in very["reasons"])
    assert report.errors == 0 and report.warnings == 2
    assert not report.failed() and report.failed(strict=True)


def test_cli_rules_exits_1_on_warnings_only_with_strict(tmp_path: Path) -> None:
    from tests.data.diff.demo import destinations
    from tests.support import write_version

    path = write_version(tmp_path, {"destinations.yaml": destinations()},
                         rules=[r for r in APPROVAL_RULES
                                if r["id"] in ("condition-large", "approve-large-general-it")])
    runner = CliRunner()
    result = runner.invoke(main, ["analyze", "rules", str(path), "--items", "1"])
    assert result.exit_code == 0, result.output
    assert "warning[shadowed-rule]: rule `approve-large-general-it` (approve) is shadowed " \
           "by `condition-large`" in result.output
    assert "  note: approval-level: " in result.output
    assert "0 error(s), 1 warning(s) (errors with --strict)" in result.output
    result = runner.invoke(main, ["analyze", "rules", str(path), "--items", "1", "--strict"])
    assert result.exit_code == 1, result.output
    assert "error[shadowed-rule]: rule `approve-large-general-it`" in result.output


def test_rules_of_the_plain_demo_policy(tmp_path: Path) -> None:
    report = analyze_rules(compiled(tmp_path), items=1)
    assert report.never == [] and report.duplicates == []


# -- compare ---------------------------------------------------------------------------------

def test_compare_finds_the_loosening_and_its_witness(tmp_path: Path) -> None:
    old = compiled(tmp_path / "old")
    new = compiled(tmp_path / "new", rules=[r for r in RULES if r["id"] != "deny-embargo"],
                   version="2026.2", effective_from="2026-06-01")
    report = compare(old, new, items=1, max_regions=10)
    loosened = report.of("loosened")
    assert loosened and report.complete["loosened"]
    assert {r.old_outcome for r in loosened} == {"deny"}
    assert all(r.old_rules == ["deny-embargo"] for r in loosened)
    assert all(r.witness["destination"] == "XA" for r in loosened)
    assert report.of("tightened") == [] and report.complete["tightened"]
    for r in loosened:  # re-decided by the engine inside compare, checked again here
        assert r.decisions["OLD"]["decision"] == "deny"
        assert r.decisions["NEW"]["decision"] == r.new_outcome != "deny"


def _in_region(r: Any, other: Any) -> bool:
    """Does `other`'s witness lie in region `r` (its outcomes and causes), by the engine's
    decisions of that witness?"""
    for label, outcome, causes in (("OLD", r.old_outcome, r.old_causes),
                                   ("NEW", r.new_outcome, r.new_causes)):
        decision = other.decisions[label]
        found = {f["rule"] for f in decision["findings"]}
        if decision["missing_assurances"]:
            found.add("missing-assurances")
        if decision["decision"] != outcome or not set(causes) <= found:
            return False
    return True


def assert_distinct_regions(report: Any) -> None:
    """Each region is named by a condition no other has, and no witness lies in a region
    found before its own (regions are disjoint by construction)."""
    for direction in ("loosened", "tightened"):
        regions = report.of(direction)
        keys = [r.key() for r in regions]
        assert len(set(keys)) == len(keys), keys
        assert len({r.region() for r in regions}) == len(regions)
        for j, later in enumerate(regions):
            assert _in_region(later, later), later.condition()
            for earlier in regions[:j]:
                assert not _in_region(earlier, later), (earlier.region(), later.condition())
        # a loosening is named by what no longer decides under OLD, a tightening by what
        # decides under NEW; the other side's co-firing rules do not split a region
        assert all(not r.new_causes for r in regions if direction == "loosened")
        assert all(not r.old_causes for r in regions if direction == "tightened")


def test_compare_regions_are_distinct(tmp_path: Path) -> None:
    old = compiled(tmp_path / "old", rules=[*RULES, _rule("refer-routing-high", {"all": [
        {"fact": "end_user.flags", "contains": "unusual_routing"},
        {"fact": "destination.band", "equals": "high"}]}, outcome="refer")])
    new = compiled(tmp_path / "new", rules=[r for r in RULES if r["id"] != "deny-restricted"],
                   version="2026.2", effective_from="2026-06-01")
    report = compare(old, new, items=1, max_regions=12)
    assert report.complete["loosened"] and len(report.of("loosened")) >= 3
    assert {r.old_causes[0] for r in report.of("loosened")} == {"deny-restricted",
                                                                 "refer-routing-high"}
    assert_distinct_regions(report)


@pytest.mark.analysis
def test_compare_2026_to_2027_regions_are_distinct() -> None:
    report = compare(baseline("2026.1"), baseline("2027.1"), items=2, max_regions=20)
    assert report.of("loosened") and report.of("tightened")
    assert_distinct_regions(report)


@pytest.mark.analysis
def test_rules_of_2027_shadowed_are_warnings() -> None:
    report = analyze_rules(baseline("2027.1"), items=2)
    assert report.never == [] and report.duplicates == [] and report.errors == 0
    shadowed = {s["rule"]: s for s in report.shadowed}
    assert all(s["severity"] == "warning" for s in shadowed.values())
    assert {r for r, s in shadowed.items() if "conditions" in s["effects"]} == {
        "cond-post-shipment-verification", "cond-misuse-notification",
        "cond-training-scope-limited", "cond-audit-logging"}
    # outranked whenever it fires (refer-high-band-surveillance): nothing it does changes a
    # decision, which the warning says
    neutral = shadowed["assure-surveillance-high"]["reasons"]
    assert any(r.startswith("decision-neutral: ") for r in neutral)
    assert shadowed["deny-eu-internal-repression-ban"]["kind"] == "same-outcome"


def test_compare_a_version_with_itself_proves_no_change(tmp_path: Path) -> None:
    policy = compiled(tmp_path)
    report = compare(policy, policy, items=2)
    assert report.regions == [] and all(report.complete.values())


def test_compare_witnesses_as_fixtures(tmp_path: Path) -> None:
    old = compiled(tmp_path / "old")
    new = compiled(tmp_path / "new", rules=[r for r in RULES if r["id"] != "deny-embargo"],
                   version="2026.2", effective_from="2026-06-01")
    report = compare(old, new, items=1, max_regions=2)
    out = tmp_path / "fx"
    for n, r in enumerate(report.regions, 1):
        write_fixture(out, f"loosened-{n}", r.witness, new, r.decisions["NEW"], "witness")
    written = sorted(out.glob("*.yaml"))
    assert len(written) == len(report.regions) > 0
    for path in written:  # the fixture format (schemas/fixture.schema.json)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert check_data("fixture", data) == []
        assert data["expect"]["decision"] != "deny"


def test_cli_compare_same_version_and_check_refuted(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["analyze", "compare", "echri-baseline@2026.1",
                                  "echri-baseline@2026.1", "--items", "1",
                                  "--fail-on", "loosened", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert "proven: no case is loosened" in result.output
    invariants = tmp_path / "inv.yaml"
    invariants.write_text(yaml.safe_dump({"invariants": [
        {"id": "never-approve-general-it", "title": "t",
         "when": {"fact": "item.category", "equals": "general_it"}, "outcomes": ["deny"]}]}))
    result = runner.invoke(main, ["analyze", "check", "echri-baseline@2026.1", "--items", "1",
                                  "--invariants", str(invariants), "--format", "json"])
    assert result.exit_code == 1, result.output
    assert '"status": "refuted"' in result.output
    result = runner.invoke(main, ["analyze", "rules", "echri-baseline@2099.1"])
    assert result.exit_code == 2


# -- invariants ------------------------------------------------------------------------------

def test_invariants_proven_and_refuted(tmp_path: Path) -> None:
    policy = compiled(tmp_path)
    proven = Invariant("cyber-embargo", "t", {"all": [
        {"fact": "item.groups", "contains": "cyber_surveillance"},
        {"fact": "destination.band", "equals": "embargoed"}]}, ("deny", "refer",
                                                                "request_information"))
    refuted = Invariant("general-it-never-approved", "t",
                        {"fact": "item.category", "equals": "general_it"}, ("deny",))
    results, _ = check_invariants(policy, [proven, refuted], items=2)
    assert [r.status for r in results] == ["proven", "refuted"]
    cx = results[1]
    assert cx.counterexample is not None and cx.outcome != "deny"
    decision = PolicyStore({policy.id: {policy.version: policy}}).evaluate(
        cx.counterexample, policy_version=policy.version, backend="durable")
    assert decision.decision == cx.outcome


def test_every_named_party_can_be_a_listed_one() -> None:
    """The bounded space lets a consignee, intermediary, purchaser or previous consignee
    give a listed name, not only the end user: the claim that such a case is approved is
    refuted by a witness the engine denies (deny-designated-party applies to any party)."""
    other = Invariant("other-party-listed", "t", {"all": [
        {"fact": "parties.implicated", "contains": "designated"},
        {"not": {"fact": "end_user.implicated", "contains": "designated"}}]}, ("approve",))
    policy = baseline("2027.1")
    (result,), _ = check_invariants(policy, [other], items=1)
    assert result.status == "refuted" and result.outcome == "deny"
    cx = result.counterexample
    assert cx is not None and "deny-designated-party" in result.rules
    listed = {n for e in policy.implicated for n in e.names}
    parties = [*(cx.get("consignees") or []), *(cx.get("intermediaries") or []),
               cx.get("purchaser") or {}, (cx.get("reexport") or {}).get("previous_consignee")
               or {}]
    assert any(p.get("name") in listed for p in parties)


def test_shipped_invariants_hold_for_2027() -> None:
    invariants = load_invariants(ROOT / "analysis" / "invariants.yaml")
    results, _ = check_invariants(baseline("2027.1"), invariants, items=2)
    assert {r.invariant.id: r.status for r in results} == {
        i.id: "proven" for i in invariants}


@pytest.mark.analysis
def test_compare_gives_the_same_regions_under_any_hash_seed(tmp_path: Path) -> None:
    """A proof is reproducible: the formulas are built in a fixed order, never in the
    iteration order of a set (which changes with PYTHONHASHSEED)."""
    import json
    import subprocess
    import sys

    outputs = []
    for seed in ("0", "1"):
        out = tmp_path / f"proof-{seed}.json"
        subprocess.run([sys.executable, "-m", "engine", "analyze", "compare",
                        "echri-baseline@2026.1", "echri-baseline@2027.1", "--max-regions", "3",
                        "--format", "json", "-o", str(out)], cwd=ROOT, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True)
        proof = json.loads(out.read_text(encoding="utf-8"))
        proof.pop("seconds")
        outputs.append(proof)
    assert outputs[0] == outputs[1]
