"""engine/analysis with more than one consignee and intermediary (`--parties K`): rules
that need two such parties fire only in the larger space, their witnesses have the parties
and the engine fires the rule; random points of the K = 2 space decide as the engine; the
default K = 1 is the one-party space, formula for formula."""

from __future__ import annotations

import random
from pathlib import Path

import z3
from click.testing import CliRunner

from engine.analysis.compare import compare
from engine.analysis.derive import world_of
from engine.analysis.encode import encode, outcome_of
from engine.analysis.inputs import Inputs
from engine.analysis.invariants import Invariant, check_invariants
from engine.analysis.rules import analyze_rules, firing_case
from engine.analysis.witness import verify
from engine.cli import main
from tests.support import RULES, compiled, write_version
from tests.test_analysis import SMT_POINTS, _random_inputs, _rule, baseline

# rules no case of one consignee and one intermediary fires
PARTY_RULES = [
    _rule("refer-several-consignees", {"fact": "consignees.count", "gt": 1}, outcome="refer"),
    _rule("refer-intermediaries-in-two-countries", {
        "fact": "intermediaries.countries", "contains_all": ["BR", "XA"]}, outcome="refer"),
    _rule("refer-every-intermediary-has-a-role", {"all": [
        {"fact": "intermediaries.count", "gte": 2},
        {"fact": "intermediaries.roles", "exists": True}]}, outcome="refer"),
]
NEED_TWO = [r["id"] for r in PARTY_RULES]


def test_rules_needing_two_parties_fire_only_with_parties_2(tmp_path: Path) -> None:
    policy = compiled(tmp_path, rules=[*RULES, *PARTY_RULES])
    assert analyze_rules(policy, items=1).never == NEED_TWO
    report = analyze_rules(policy, items=1, parties=2)
    assert report.never == [] and report.parties == 2
    for rule in NEED_TWO:  # firing_case re-decides the witness with both backends
        assert firing_case(policy, rule, items=1) is None
        case = firing_case(policy, rule, items=1, parties=2)
        assert case is not None
        if rule == "refer-several-consignees":
            assert len(case["consignees"]) == 2
            continue
        inter = case["intermediaries"]
        assert len(inter) == 2
        if rule == "refer-intermediaries-in-two-countries":
            assert sorted(i["country"] for i in inter) == ["BR", "XA"]
        else:  # every intermediary states a (known) role
            assert all(i.get("role") == "distributor" for i in inter)


def test_cli_parties_option(tmp_path: Path) -> None:
    from tests.data.diff.demo import destinations

    path = write_version(tmp_path, {"destinations.yaml": destinations()},
                         rules=[*RULES, PARTY_RULES[0]])
    runner = CliRunner()
    result = runner.invoke(main, ["analyze", "rules", str(path), "--items", "1"])
    assert result.exit_code == 1, result.output
    assert "error[never-fires]: rule `refer-several-consignees` never fires" in result.output
    assert "consignees" not in result.output.splitlines()[0]
    result = runner.invoke(main, ["analyze", "rules", str(path), "--items", "1",
                                  "--parties", "2"])
    assert "never-fires" not in result.output, result.output
    assert "up to 2 consignees and 2 intermediaries" in result.output.splitlines()[0]


def test_compare_finds_a_region_only_with_two_consignees(tmp_path: Path) -> None:
    old = compiled(tmp_path / "old")
    new = compiled(tmp_path / "new", rules=[*RULES, PARTY_RULES[0]], version="2026.2",
                   effective_from="2026-06-01")
    one = compare(old, new, items=1, max_regions=5)
    assert one.regions == [] and all(one.complete.values())
    two = compare(old, new, items=1, max_regions=5, parties=2)  # witnesses engine-checked
    tightened = two.of("tightened")
    assert tightened and two.complete["tightened"] and two.of("loosened") == []
    assert {c for r in tightened for c in r.new_causes} == {"refer-several-consignees"}
    assert all(len(r.witness["consignees"]) == 2 for r in tightened)
    assert two.to_dict()["parties"] == 2 and one.to_dict()["parties"] == 1


def test_invariant_refuted_only_with_two_consignees(tmp_path: Path) -> None:
    """Two consignees in different countries are out of the one-party space, so a claim
    about them is vacuously proven at K = 1 and refuted at K = 2 (by the engine)."""
    policy = compiled(tmp_path)
    inv = Invariant("two-consignee-countries-refused", "t", {
        "fact": "consignees.countries", "contains_all": ["NO", "XB"]}, ("deny",))
    (one,), _ = check_invariants(policy, [inv], items=1)
    (two,), _ = check_invariants(policy, [inv], items=1, parties=2)
    assert one.status == "proven" and two.status == "refuted"
    assert two.counterexample is not None
    assert sorted(c["country"] for c in two.counterexample["consignees"]) == ["NO", "XB"]


def test_random_points_with_two_parties_decide_as_the_engine() -> None:
    policy = baseline("2027.1")
    inputs = Inputs([policy], items=1, submitted=policy.policy.effective_from, parties=2)
    world, assured = world_of(inputs, policy)
    enc = encode(policy, world, assured)
    solver = z3.Solver()
    solver.add(inputs.constraints)
    rng = random.Random(14)
    crowded = 0
    for k in range(max(8, SMT_POINTS // 5)):  # 8 in `make test`, 200 in `make differential`
        solver.push()
        solver.add(_random_inputs(inputs, rng, party_rate=0.6))
        assert solver.check() == z3.sat
        model = solver.model()
        case = inputs.witness(model, f"RAND2-{k}")
        crowded += max(len(case.get("consignees") or ()),
                       len(case.get("intermediaries") or ())) > 1
        verify({"V": policy}, case, {"V": outcome_of(enc, model)})  # both backends
        solver.pop()
    assert crowded >= 2  # the sample has cases of more than one party of a list


def test_default_is_the_one_party_space() -> None:
    """`parties=1` declares exactly the variables and constraints of the one-party space
    (no `con1`, `int1`…), so every earlier result stands."""
    policy = baseline("2027.1")
    one = Inputs([policy], items=1, submitted=policy.policy.effective_from)
    explicit = Inputs([policy], items=1, submitted=policy.policy.effective_from, parties=1)
    assert one.cons == ("con",) and one.ints == ("int",) and one.role_vars == ("role",)
    assert [c.sexpr() for c in one.constraints] == [c.sexpr() for c in explicit.constraints]
    assert not any(name[-1].isdigit() for name in one.v if name.startswith(("con", "int")))
    two = Inputs([policy], items=1, submitted=policy.policy.effective_from, parties=2)
    assert set(two.v) - set(one.v) == {"con1", "int1", "role1", "con1_name_match",
                                       "int1_name_match"}


def test_a_proof_states_its_party_bound() -> None:
    """`echri diff --proof` says the bound when it is not the default; a proof without
    `parties` (made before the option) is one of one consignee and one intermediary."""
    from engine.diff.proof import proof_from_data

    side = {"id": "p", "version": "1", "digest": "sha256:0"}
    data = {"versions": {"old": side, "new": side}, "items": 2, "submitted": "2027-01-01",
            "complete": {"loosened": True, "tightened": True}, "regions": []}
    before = proof_from_data(data, "proof.json")
    assert before.parties == 1
    assert before.bounds() == ("(over every case of 1..2 item(s) submitted on 2027-01-01; "
                               "bounds in README, Proofs)")
    two = proof_from_data({**data, "parties": 2}, "proof.json")
    assert "1..2 item(s), up to 2 consignees and 2 intermediaries, submitted" in two.bounds()
