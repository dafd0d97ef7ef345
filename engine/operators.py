"""The operator registry: what a condition test may do with a fact.

Each operator states which fact types it applies to, what argument it takes and how the
pure-Python backend evaluates it on a *present* value. Missing values are handled once, by
engine/predicates.py: every test except `exists` is false on a missing fact. The durable-rules
translation of each operator lives in engine/ruleset/translate.py (`DURABLE_TESTS`), keyed by
the same names, so both backends cover exactly this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.facts import BOOL, ENUM, NUMBER, SET, STRING

# Argument kinds
SCALAR = "scalar"  # one value of the fact's own type (vocabulary member for enums)
VALUES = "values"  # non-empty list of vocabulary members
MEMBER = "member"  # one vocabulary member of a set fact
FLAG = "flag"  # true / false
NUM = "number"


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    types: frozenset[str]
    arg: str
    test: Callable[[Any, Any], bool]
    text: str  # readable form used by explanations and diffs: "{fact} is {arg}"


def _ops(*ops: Operator) -> dict[str, Operator]:
    return {op.name: op for op in ops}


OPERATORS: dict[str, Operator] = _ops(
    Operator("equals", frozenset({ENUM, BOOL, NUMBER}), SCALAR, lambda v, a: v == a,
             "{fact} is {arg}"),
    Operator("not_equals", frozenset({ENUM, BOOL, NUMBER}), SCALAR, lambda v, a: v != a,
             "{fact} is not {arg}"),
    Operator("in", frozenset({ENUM}), VALUES, lambda v, a: v in a, "{fact} is one of {arg}"),
    Operator("not_in", frozenset({ENUM}), VALUES, lambda v, a: v not in a,
             "{fact} is none of {arg}"),
    Operator("contains", frozenset({SET}), MEMBER, lambda v, a: a in v, "{fact} include {arg}"),
    Operator("contains_any", frozenset({SET}), VALUES, lambda v, a: any(x in v for x in a),
             "{fact} include any of {arg}"),
    Operator("contains_all", frozenset({SET}), VALUES, lambda v, a: all(x in v for x in a),
             "{fact} include all of {arg}"),
    Operator("exists", frozenset({ENUM, BOOL, NUMBER, SET, STRING}), FLAG,
             lambda v, a: True, "{fact} is given"),  # presence is decided by engine/predicates.py
    Operator("lt", frozenset({NUMBER}), NUM, lambda v, a: v < a, "{fact} < {arg}"),
    Operator("lte", frozenset({NUMBER}), NUM, lambda v, a: v <= a, "{fact} ≤ {arg}"),
    Operator("gt", frozenset({NUMBER}), NUM, lambda v, a: v > a, "{fact} > {arg}"),
    Operator("gte", frozenset({NUMBER}), NUM, lambda v, a: v >= a, "{fact} ≥ {arg}"),
)
