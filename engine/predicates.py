"""Predicates over facts: a condition of the rule IR compiled into a Python closure.

Semantics (shared with engine/ruleset/, checked by the differential tests): a fact
absent from the fact mapping is *missing*; every test except `exists` is false on a missing
fact, and `neg` inverts a test after that. Set facts are frozensets and never missing;
`exists` on a set means non-empty.

Below the compiler (band rules) and the evidence of findings: it knows conditions and
operators only. The python backend runs the same semantics compiled into one function per rule
scope (engine/codegen.py); these closures are the reference its tests compare it with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.conditions import All, AnyOf, Node, Not, Test, to_nnf
from engine.operators import OPERATORS

Facts = Mapping[str, Any]
Predicate = Callable[[Facts], bool]


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, frozenset):
        return bool(value)
    return True


def _compile_test(t: Test) -> Predicate:
    fact = t.fact
    if t.op == "exists":
        want = bool(t.arg) != t.neg
        return lambda f: _present(f.get(fact)) == want
    op = OPERATORS[t.op].test
    arg = frozenset(t.arg) if isinstance(t.arg, tuple) else t.arg

    def positive(f: Facts) -> bool:
        value = f.get(fact)
        return value is not None and op(value, arg)

    if t.neg:
        return lambda f: not positive(f)
    return positive


def compile_condition(node: Node) -> Predicate:
    """Compile an NNF condition (a `Not` is normalised first) into a predicate."""
    if isinstance(node, Not):
        return compile_condition(to_nnf(node))
    if isinstance(node, Test):
        return _compile_test(node)
    parts = tuple(compile_condition(c) for c in node.children)
    if isinstance(node, All):
        if not parts:
            return lambda f: True
        return lambda f: all(p(f) for p in parts)
    assert isinstance(node, AnyOf)
    return lambda f: any(p(f) for p in parts)
