"""`summarise_hits` (what `diff` and `replay` decide with) gives what the full decision gives.

The diff compares a decision's outcome, finding rules, attached conditions, required
assurances and requested fields; `summarise_hits` computes them without messages, evidence
and the explanation. It must agree with `decide` on every fixture (with its register set),
on generated cases of every released version (crowded ones included) and on cases drawn
from the vocabularies with unknown ids, missing fields and odd values.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import engine
from engine.api import PolicyStore
from engine.backends.python import PythonBackend
from engine.cases import CaseError, check_case, normalize
from engine.compiler import CompiledPolicy
from engine.decision import decide, summarise_hits
from engine.diff.corpus import Recorded
from engine.diff.runner import from_summary, summarise
from engine.fixtures.load import discover, load_fixtures
from engine.fixtures.run import fixture_registers
from engine.generator import generate_cases
from engine.registers.model import RegisterSet
from tests.support import RULES, case, compiled
from tests.test_differential import case_strategy

ROOT = Path(__file__).resolve().parent.parent
PER_VERSION = 700


@cache
def store() -> PolicyStore:
    return engine.load(ROOT / "policies")


_BACKENDS: dict[tuple[str, str, str], PythonBackend] = {}


def backend(policy: CompiledPolicy) -> PythonBackend:
    key = (policy.id, policy.version, policy.digest)
    if key not in _BACKENDS:
        _BACKENDS[key] = PythonBackend(policy)
    return _BACKENDS[key]


def versions() -> list[CompiledPolicy]:
    (by_version,) = store().versions.values()
    return sorted(by_version.values(), key=lambda p: p.policy.effective_from)


def agree(policy: CompiledPolicy, case: dict[str, Any],
          registers: RegisterSet | None = None) -> Recorded:
    """The summary of the case under `policy`, after checking it against the decision's."""
    n = normalize(case, policy, registers)
    hits = backend(policy).evaluate(n)
    full = summarise(decide(policy, n, hits, "python"))
    quick = from_summary(summarise_hits(policy, n, hits))
    assert quick == full, case.get("case_id")
    return quick


def test_every_fixture() -> None:
    fixtures, problems = load_fixtures(discover([ROOT / "fixtures"]))
    assert fixtures and not problems
    st = store()
    outcomes: set[str] = set()
    builtin = set()
    for f in fixtures:
        registers, problem = fixture_registers(f)
        assert problem is None, f.display
        try:
            check_case(f.case)
            policy = st.select(f.case, f.policy_version, f.policy_id)
        except (CaseError, engine.api.VersionSelectionError):
            continue  # a fixture of an input error: nothing is decided
        recorded = agree(policy, f.case, registers)
        outcomes.add(recorded.outcome)
        builtin |= {r for r in recorded.rules if r in engine.decision.BUILTIN_FINDINGS}
    # the fixtures reach every outcome and the built-in findings the summary computes itself
    assert outcomes == set(versions()[-1].precedence)
    assert {"unknown-id", "category-conflict", "no-undercut-consultation", "screening-match",
            "screening-review", "catch-all-ground"} <= builtin, builtin


def test_generated_cases_of_every_version() -> None:
    pols = versions()
    for policy, nxt in zip(pols, [*pols[1:], None], strict=True):
        first = date.fromisoformat(policy.policy.effective_from)
        last = date.fromisoformat(nxt.policy.effective_from) - timedelta(days=1) \
            if nxt is not None else first + timedelta(days=364)
        for data in generate_cases(policy, PER_VERSION, seed=7, window=(first, last),
                                   crowded=0.05):
            agree(policy, data)


def test_the_fail_closed_guard(tmp_path: Path) -> None:
    """A policy without a rule for unclassified items: the guard withholds the approval."""
    policy = compiled(tmp_path, rules=[r for r in RULES if r["id"] != "info-unclassified"])
    recorded = agree(policy, case(items=[{"id": "x"}]))  # neither category nor entries
    assert (recorded.outcome, recorded.rules) == ("request_information",
                                                  frozenset({"fail-closed"}))


@pytest.mark.parametrize("index", [0, -1])
@settings(max_examples=150, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=case_strategy(versions()[-1]))
def test_cases_with_odd_values(index: int, data: dict[str, Any]) -> None:
    try:
        check_case(data)
    except CaseError:
        return
    agree(versions()[index], data)
