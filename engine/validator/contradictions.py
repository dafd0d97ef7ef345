"""Can a conjunction of tests ever hold? (for the `never-fires` lint)

Tests are grouped by fact and each group is tried on a small set of candidate values that
covers every case the tests can tell apart: the values they mention, one value they do not
mention, numbers between and around the constants, and a missing fact. The semantics are
those of the operator registry (engine/operators.py) plus the missing-fact rule of the
design: every test but `exists` is false on a missing fact, and `neg` inverts the result
afterwards. Facts are treated as independent, so a reported contradiction is certain; a
contradiction that needs knowledge linking two facts is not found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import combinations, pairwise
from typing import Any

from engine.conditions import Test
from engine.facts import BOOL, ENUM, FACTS, NUMBER, SET, STRING
from engine.operators import OPERATORS

MISSING: Any = object()
OTHER = "\x00other"  # stands for every vocabulary value the tests do not mention
MAX_SET_VALUES = 10  # beyond this many mentioned members, assume satisfiable


def mentioned(tests: Iterable[Test]) -> list[Any]:
    values: list[Any] = []
    for t in tests:
        if t.op == "exists":
            continue
        for v in t.arg if isinstance(t.arg, tuple) else (t.arg,):
            if v not in values:
                values.append(v)
    return values


def _enum(tests: Sequence[Test]) -> list[Any]:
    return [*mentioned(tests), OTHER, MISSING]


def _bool(tests: Sequence[Test]) -> list[Any]:
    return [True, False, MISSING]


def _string(tests: Sequence[Test]) -> list[Any]:
    return ["text", MISSING]


def _number(tests: Sequence[Test]) -> list[Any]:
    points = sorted(v for v in mentioned(tests) if isinstance(v, int | float))
    if not points:
        return [0, MISSING]
    between = [(a + b) / 2 for a, b in pairwise(points)]
    return [points[0] - 1, *points, *between, points[-1] + 1, MISSING]


def _set(tests: Sequence[Test]) -> list[Any] | None:
    members = [*mentioned(tests), OTHER]
    if len(members) > MAX_SET_VALUES + 1:
        return None
    return [frozenset(c) for n in range(len(members) + 1) for c in combinations(members, n)]


CANDIDATES: dict[str, Callable[[Sequence[Test]], list[Any] | None]] = {
    ENUM: _enum, BOOL: _bool, STRING: _string, NUMBER: _number, SET: _set,
}


def holds(test: Test, value: Any) -> bool:
    """The result of one test on one candidate value (MISSING for a missing fact)."""
    present = value is not MISSING and not (isinstance(value, str | frozenset) and not value)
    if test.op == "exists":
        result = present == test.arg
    elif value is MISSING:
        result = False
    else:
        result = bool(OPERATORS[test.op].test(value, test.arg))
    return result != test.neg


def fact_satisfiable(tests: Sequence[Test]) -> bool:
    """Some value of the (one) fact of `tests` makes all of them true."""
    candidates = CANDIDATES[FACTS[tests[0].fact].type](tests)
    if candidates is None:
        return True
    return any(all(holds(t, v) for t in tests) for v in candidates)


def by_fact(conjunction: Iterable[Test]) -> dict[str, list[Test]]:
    groups: dict[str, list[Test]] = {}
    for test in conjunction:
        groups.setdefault(test.fact, []).append(test)
    return groups


def contradiction(conjunction: Iterable[Test]) -> list[Test] | None:
    """Tests of one fact that cannot hold together, or None when the conjunction can hold."""
    for tests in by_fact(conjunction).values():
        if tests[0].fact in FACTS and not fact_satisfiable(tests):
            return tests
    return None
