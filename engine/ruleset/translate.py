"""Operator translations: IR conditions → durable-rules expressions (`DURABLE_TESTS`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from engine.conditions import All, Node, Not, Test, to_nnf
from engine.facts import BOOL, ENUM, FACTS, SET
from engine.ruleset.keys import fact_key, has_key, member_key, nonempty_key
from engine.ruleset.limits import MAX_NUMBER, Cond, Expr, RulesetError


def _combine(parts: Iterable[Cond], key: str, absorbing: bool) -> Cond:
    """Flatten nested `key` groups, drop neutral constants and duplicates.

    `absorbing` is the constant that decides the whole group (False for $and, True for $or);
    its negation is the neutral element, and an empty group is that neutral element.
    """
    out: list[Expr] = []
    for p in parts:
        if p is absorbing:
            return absorbing
        if p is (not absorbing):
            continue
        assert isinstance(p, dict)
        for q in p.get(key, [p]):
            if q not in out:
                out.append(q)
    return (not absorbing) if not out else out[0] if len(out) == 1 else {key: out}


def and_(parts: Iterable[Cond]) -> Cond:
    return _combine(parts, "$and", False)


def or_(parts: Iterable[Cond]) -> Cond:
    return _combine(parts, "$or", True)


def _scalar(test: Test) -> str | int | float | bool:
    ftype = _spec(test).type
    arg = test.arg
    if ftype == ENUM:
        return _id(test, arg)
    if ftype == BOOL:
        if not isinstance(arg, bool):
            raise RulesetError(f"`{test.fact}` {test.op}: expected true or false, got `{arg!r}`")
        return arg
    return _number(test, arg)


def _id(test: Test, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise RulesetError(f"`{test.fact}` {test.op}: expected a non-empty id, got `{value!r}`")
    return value


def _ids(test: Test) -> list[str]:
    values = test.arg if isinstance(test.arg, tuple | list) else (test.arg,)
    if not values:
        raise RulesetError(f"`{test.fact}` {test.op}: the list of values is empty")
    return [_id(test, v) for v in dict.fromkeys(values)]


def _number(test: Test, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RulesetError(f"`{test.fact}` {test.op}: expected a number, got `{value!r}`")
    if not math.isfinite(value) or abs(value) >= MAX_NUMBER:
        raise RulesetError(f"`{test.fact}` {test.op}: `{value!r}` is out of range")
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        if "e" in repr(value):  # the engine's parser rejects exponents (error 204)
            raise RulesetError(f"`{test.fact}` {test.op}: `{value!r}` is too small")
    return value


def _spec(test: Test) -> Any:
    spec = FACTS.get(test.fact)
    if spec is None:
        raise RulesetError(f"unknown fact `{test.fact}`")
    return spec


def flag(key: str, value: bool) -> Expr:
    """A boolean key is `value`. The record holds a flag only when it is true
    (engine/ruleset/record.py): the engine matches every property of a record against the
    tests of each node it visits, so leaving the false ones out saves about 40 % of its
    time. False is therefore `$nex` (the key is not in the record), never `{key: false}`."""
    return {key: True} if value else {"$nex": {key: 1}}


def _compare(op: str, test: Test) -> Expr:
    """Number/bool comparison guarded by presence: `k__has` and `op(k, arg)`."""
    key, arg = fact_key(test.fact), _scalar(test)
    if isinstance(arg, bool):
        if op not in ("$eq", "$neq"):
            raise RulesetError(f"`{test.fact}` {test.op}: a bool has no order")
        return flag(key, arg == (op == "$eq"))
    return {key: arg} if op == "$eq" else {op: {key: arg}}


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda v, r: v == r, "$neq": lambda v, r: v != r, "$lt": lambda v, r: v < r,
    "$lte": lambda v, r: v <= r, "$gt": lambda v, r: v > r, "$gte": lambda v, r: v >= r}
_COMPLEMENT = {"$eq": "$neq", "$neq": "$eq", "$lt": "$gte", "$gte": "$lt", "$gt": "$lte",
               "$lte": "$gt"}


def _guarded(op: str) -> Callable[[Test], Cond]:
    """present and op  /  negated: missing or not op (numbers are never NaN).

    A missing number or bool is flattened to 0 / false with `__has` false. When the
    comparison already gives the right answer at that default, the `__has` test is left
    out: `gt 10` is just `$gt 10` (0 > 10 is false), its negation just `$lte 10`. That is
    exactly equivalent and saves a group per test (15 groups per pattern at most).
    """
    def translate(test: Test) -> Cond:
        has = has_key(test.fact)
        default = False if _spec(test).type == BOOL else 0
        arg = _scalar(test)
        if test.neg:
            cmp = _compare(_COMPLEMENT[op], test)
            return cmp if _OPS[_COMPLEMENT[op]](default, arg) else or_([flag(has, False), cmp])
        cmp = _compare(op, test)
        return and_([flag(has, True), cmp]) if _OPS[op](default, arg) else cmp
    return translate


def _equality(negated_op: bool) -> Callable[[Test], Cond]:
    """equals / not_equals. Enums are "" when missing and vocabulary ids are never ""."""
    numeric = _guarded("$neq" if negated_op else "$eq")

    def translate(test: Test) -> Cond:
        if _spec(test).type != ENUM:
            return numeric(test)
        key, value = fact_key(test.fact), _scalar(test)
        if not negated_op:
            return {"$neq": {key: value}} if test.neg else {key: value}
        if test.neg:  # missing or equal
            return or_([{key: ""}, {key: value}])
        return and_([{"$neq": {key: ""}}, {"$neq": {key: value}}])
    return translate


def _in(test: Test) -> Cond:
    key = fact_key(test.fact)
    if test.neg:
        return and_({"$neq": {key: v}} for v in _ids(test))
    return or_({key: v} for v in _ids(test))


def _not_in(test: Test) -> Cond:
    key = fact_key(test.fact)
    if test.neg:  # missing or one of them
        return or_([{key: ""}, *({key: v} for v in _ids(test))])
    return and_([{"$neq": {key: ""}}, *({"$neq": {key: v}} for v in _ids(test))])


def _members(combine: Callable[[Iterable[Cond]], Cond],
             negated: Callable[[Iterable[Cond]], Cond]) -> Callable[[Test], Cond]:
    """contains / contains_any / contains_all over the member booleans (sets never miss)."""
    def translate(test: Test) -> Cond:
        want = not test.neg
        keys = [member_key(test.fact, m) for m in _ids(test)]
        return (negated if test.neg else combine)(flag(k, want) for k in keys)
    return translate


def _exists(test: Test) -> Cond:
    if not isinstance(test.arg, bool):
        raise RulesetError(f"`{test.fact}` exists: expected true or false, got `{test.arg!r}`")
    want = test.arg != test.neg
    ftype = _spec(test).type
    if ftype == ENUM:
        key = fact_key(test.fact)
        return {"$neq": {key: ""}} if want else {key: ""}
    if ftype == SET:
        return flag(nonempty_key(test.fact), want)
    return flag(has_key(test.fact), want)


DURABLE_TESTS: dict[str, Callable[[Test], Cond]] = {
    "equals": _equality(negated_op=False),
    "not_equals": _equality(negated_op=True),
    "in": _in,
    "not_in": _not_in,
    "contains": _members(and_, or_),
    "contains_any": _members(or_, and_),
    "contains_all": _members(and_, or_),
    "exists": _exists,
    "lt": _guarded("$lt"),
    "lte": _guarded("$lte"),
    "gt": _guarded("$gt"),
    "gte": _guarded("$gte"),
}


def translate(node: Node) -> Cond:
    """IR condition → durable expression (True/False for always/never)."""
    if isinstance(node, Not):
        return translate(to_nnf(node))
    if isinstance(node, Test):
        fn = DURABLE_TESTS.get(node.op)
        if fn is None:
            raise RulesetError(f"operator `{node.op}` has no durable-rules translation")
        return fn(node)
    parts = [translate(c) for c in node.children]
    return and_(parts) if isinstance(node, All) else or_(parts)
