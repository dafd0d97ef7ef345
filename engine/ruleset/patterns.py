"""Expression helpers: atoms, groups, canonical order and the scope-guarded pattern."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from engine.ruleset.limits import GUARD, Cond, Expr


def atom(expr: Expr) -> tuple[str, str, Any]:
    """(operator, key, right-hand side) of a test such as {k: v} or {"$gt": {k: v}}."""
    ((name, value),) = expr.items()
    if name.startswith("$"):
        ((key, rhs),) = value.items()
        return name, key, rhs
    return "$eq", name, value


def is_group(expr: Expr) -> bool:
    return "$and" in expr or "$or" in expr


def walk_atoms(expr: Expr) -> Iterable[Expr]:
    if is_group(expr):
        for child in expr.get("$and") or expr["$or"]:
            yield from walk_atoms(child)
    else:
        yield expr


def count_groups(expr: Expr) -> int:
    if not is_group(expr):
        return 0
    return 1 + sum(count_groups(c) for c in expr.get("$and") or expr["$or"])


def _order(expr: Expr, freq: Mapping[str, int]) -> Expr:
    """Canonical order: tests on frequent keys first, so rules share alpha nodes."""
    if not is_group(expr):
        return expr
    op = "$and" if "$and" in expr else "$or"
    kids = [_order(c, freq) for c in expr[op]]

    def rank(e: Expr) -> tuple[Any, ...]:
        if is_group(e):
            return (1, 0, json.dumps(e, sort_keys=True))
        name, key, rhs = atom(e)
        return (0, -freq.get(key, 0), key, name, json.dumps(rhs))
    return {op: sorted(kids, key=rank)}


def guarded(scope: str, cond: Cond) -> Expr:
    """The pattern expression of a rule: the scope guard first, then the condition."""
    guard: Expr = {GUARD: scope}
    if cond is True:
        return guard
    assert isinstance(cond, dict)
    return {"$and": [guard, *cond.get("$and", [cond])]}
