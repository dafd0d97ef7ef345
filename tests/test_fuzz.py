"""The fuzz suite at a small example count (`make fuzz` runs tools/fuzz.py on 100,000 cases).

The same generators as tools/fuzz.py, driven by hypothesis (derandomized, so CI sees the same
examples every run): cases drawn from the case schema, mutations of the fixture cases (the
mutator draws from `st.randoms`, so a counterexample shrinks to fewer, simpler mutations) and
the engine's generator. Every case must be decided without a crash, an engine error, an
invalid decision, a fail-open approval, a disagreement between the backends or a different
decision on a second evaluation; one more control entry or declared category on a classified
item must never make the decision less severe. The last tests check the oracle itself on
decisions made to fail, so that a quiet fuzz run means something.
"""

from __future__ import annotations

import dataclasses
import json
import random
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support import load_tool

ROOT = Path(__file__).resolve().parent.parent


fuzz = load_tool("fuzz")
FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
KNOWN_TIE = ("echri-baseline/prohibitions/spiked-batons-state-police",
             fuzz.Escalation("BT-1", "add-entry", "4A005"))


@cache
def target() -> Any:
    return fuzz.build_target(ROOT / "policies", ROOT / "fixtures")


def problems(probe: Any) -> list[dict]:
    """Every finding of a probe but monotonicity, with an immediate re-run for determinism."""
    t = target()
    first = fuzz.run_all(t, probe.case)
    found = fuzz.check_probe(t, probe, first)
    found += fuzz.rerun_diffs(first, fuzz.run_all(t, probe.case, ("durable",)))
    return [f for f in found if f["class"] != "monotonicity"]


def explain(probe: Any, found: list[dict]) -> str:
    lines = [f"{f['class']}/{f['kind']} {f['version']} {f['backend']}: {f['detail']}"
             for f in found]
    return "\n".join([*lines, f"origin: {probe.origin} {probe.mutations}",
                      f"case: {fuzz.dumps(probe.case)[:2000]}"])


# --------------------------------------------------------------------------- generated cases

@FUZZ
@given(case=st.deferred(lambda: fuzz.schema_strategy(target())))
def test_schema_generated_cases(case: dict[str, Any]) -> None:
    probe = fuzz.Probe("schema", case)
    found = problems(probe)
    assert not found, explain(probe, found)


@settings(FUZZ, max_examples=200)
@given(rng=st.randoms(use_true_random=False))
def test_fixture_mutations(rng: random.Random) -> None:
    probe = fuzz.mutation_probe(target(), rng)
    found = problems(probe)
    assert not found, explain(probe, found)


@settings(FUZZ, max_examples=10)
@given(seed=st.integers(0, 2**31))
def test_engine_generator_cases(seed: int) -> None:
    t = target()
    for case in fuzz.generate_cases(t.policies[t.versions[-1]], 5, seed):
        probe = fuzz.Probe("generator", case)
        found = problems(probe)
        assert not found, explain(probe, found)


BLANKS = [w for w in fuzz.WEIRD if not fuzz.visible(w)]
REQUIRED_TEXT = [("exporter", "name"), ("end_user", "name"), ("end_use", "description")]


@pytest.mark.parametrize("where", REQUIRED_TEXT, ids=".".join)
@pytest.mark.parametrize("blank", BLANKS, ids=[json.dumps(b) for b in BLANKS])
def test_invisible_required_text_counts_as_missing(where: tuple[str, str], blank: str) -> None:
    """The weird-string mutation, exhaustively on an approved case that needs all three."""
    case = fixture("licence_conditions/monitoring-centre-irish-operator")
    case[where[0]][where[1]] = blank
    probe = fuzz.Probe("mutation", case, "monitoring-centre-irish-operator", [f"{where}={blank!r}"])
    found = problems(probe)
    assert not found, explain(probe, found)


def test_fixture_cases() -> None:
    bad = {}
    for name, case in target().fixtures:
        found = problems(fuzz.Probe("fixture", case, name))
        if found:
            bad[name] = [f"{f['class']}/{f['kind']}: {f['detail']}" for f in found]
    assert not bad, json.dumps(bad, indent=1)[:4000]


@pytest.mark.slow
def test_decisions_do_not_depend_on_the_hash_seed() -> None:
    t = target()
    rng = random.Random("hash-seed")
    cases = [c for _, c in t.fixtures] + [fuzz.mutate(t, rng)[1] for _ in range(30)]
    assert fuzz.hash_seed_check(cases, ROOT / "policies", ROOT / "fixtures") == []


# --------------------------------------------------------------------------- monotonicity

@st.composite
def escalated(draw: st.DrawFn) -> tuple[str, Any]:
    t = target()
    name, case = draw(st.sampled_from(t.fixtures))
    options = fuzz.escalations(t, case)
    if not options:
        return name, None
    return name, draw(st.sampled_from(options))


@settings(FUZZ, max_examples=150)
@given(probe=escalated())
@example(probe=KNOWN_TIE)  # torture goods that also list 4A005 (a critical tie)
def test_escalation_never_lowers_the_decision(probe: tuple[str, Any]) -> None:
    name, esc = probe
    t = target()
    index = next(i for i, (n, _) in enumerate(t.fixtures) if n == name)
    base = t.fixtures[index][1]
    if esc is None:
        return
    found = fuzz.monotonic(t, base, esc, fuzz.run_all(t, base), fuzz.run_all(t, esc.apply(base)))
    assert not found, "\n".join(f"{name} {f['version']} {f['backend']}: {f['detail']}"
                                for f in found)


# --------------------------------------------------------------------------- the oracle

def decided(case: dict[str, Any], version: str = "2026.1") -> Any:
    return target().store.evaluate(case, policy_version=version, backend="python")


def fixture(name: str) -> dict[str, Any]:
    return json.loads(json.dumps(dict(target().fixtures)[f"echri-baseline/{name}"]))


def as_approval(decision: Any) -> Any:
    return dataclasses.replace(decision, decision="approve", findings=())


def open_kinds(case: dict[str, Any], decision: Any, version: str = "2026.1") -> list[str]:
    t = target()
    return [k for k, _ in fuzz.fail_open(case, decision, t.policies[version],
                                         t.requirements[version])]


def test_oracle_flags_an_approval_despite_an_unknown_destination() -> None:
    case = fixture("unknown_ids/destination-zz")
    kinds = open_kinds(case, as_approval(decided(case)))
    assert "unknown-id:destinations" in kinds
    assert "unreported-unknown-id:destinations" in kinds


def test_oracle_flags_an_approval_without_a_readable_required_name() -> None:
    case = fixture("unknown_ids/destination-zz")
    case["destination"] = case["end_user"]["country"] = "NL"
    case["exporter"]["name"] = "\u200b\ufeff"
    assert "missing-fact:exporter.name" in open_kinds(case, as_approval(decided(case)))


def test_oracle_flags_a_look_alike_control_entry() -> None:
    t = target()
    cp = t.policies["2026.1"]
    case = fixture("unknown_ids/destination-zz")
    case["items"][0]["control_entries"] = ["4\u0410005"]  # Cyrillic A: reads as 4A005
    assert fuzz.lookalike_entries(case, cp), "4А005 on a general_it item must be suspicious"
    case["items"][0]["control_entries"] = ["\uff14\uff21\uff10\uff10\uff15"]  # full width
    assert not fuzz.lookalike_entries(case, cp), "NFKC forms are plain spellings"


def test_oracle_flags_non_finite_numbers_and_disagreements() -> None:
    assert fuzz.non_finite({"items": [{"value": float("nan")}]}) == ["items[0].value=nan"]
    case = fixture("unknown_ids/destination-zz")
    d = decided(case)
    assert fuzz.disagreement("2026.1", d, dataclasses.replace(d, backend="durable")) == []
    other = dataclasses.replace(d, decision="deny", backend="durable")
    assert fuzz.disagreement("2026.1", other, d)[0]["kind"] == "outcome"
    assert fuzz.rerun_diffs({("v", "durable"): d}, {("v", "durable"): other})


def test_oracle_flags_a_lowered_decision() -> None:
    t = target()
    name, esc = KNOWN_TIE
    base = dict(t.fixtures)[name]
    before = {(v, b): decided(base, v) for v in t.versions for b in ("python",)}
    after = {k: dataclasses.replace(d, decision="approve_with_conditions")
             for k, d in before.items()}
    found = fuzz.monotonic(t, base, esc, before, after)
    # one finding per released version the fuzzer targets
    assert [f["kind"] for f in found] == \
        ["add-entry:deny->approve_with_conditions"] * len(t.versions)
    assert len(t.versions) >= 2


def test_oracle_counts_exceptions_but_contract_violations_as_crashes() -> None:
    t = target()
    case = fixture("unknown_ids/destination-zz")
    assert fuzz.classify_one(t, case, "2026.1", "python", fuzz.engine.CaseError([])) == []
    found = fuzz.classify_one(t, case, "2026.1", "python", KeyError("x"))
    assert found[0]["class"] == "crash"


def test_schema_preprocessing_resolves_refs_and_widens_id_slots() -> None:
    schema = fuzz.case_schema(target())
    assert "$ref" not in json.dumps(schema)
    dest = schema["properties"]["destination"]
    assert "GB" in dest["anyOf"][0]["enum"]


@pytest.mark.parametrize("value", [[{"x": 1}], {"a": [[[[1]]]]}])
def test_portable_round_trips(value: Any) -> None:
    for seed in range(6):  # depths 5 to 2000: compared through `dumps` (== would recurse)
        deep = fuzz.Mutator(random.Random(seed), None).nested(value)
        text = fuzz.dumps(deep)
        assert fuzz.dumps(fuzz.restore(json.loads(text))) == text
