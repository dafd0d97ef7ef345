"""Compile the rule IR of one scope into durable-rules' JSON ruleset form (pure data).

The durable backend evaluates one *flattened* fact record per case (case rules) or per item
(item rules). Flattening turns every referenced fact into top-level scalar keys, so rules
need neither arrays (`$iany`/`$iall`) nor nested paths, every key is always present (no
comparison ever runs on a missing field) and every right-hand side is a scalar:

    enum   `destination.band`       → `destination__band`: the id, "" when missing
    string `end_user.name`          → `end_user__name__has`: bool (only `exists` applies)
    number `item.value`             → `item__value` (0 when missing) and `item__value__has`
    bool   `exporter.hrdd_policy`   → `exporter__hrdd_policy` (false) and `..__has`
    set    `end_user.flags`         → `end_user__flags__<member>`: bool per referenced member,
                                      `end_user__flags__nonempty` when `exists` is used
    guard                           → `kind`: "case" | "item", tested first by every rule

`DURABLE_TESTS` translates each operator of engine/operators.py with the oracle's semantics
(a test on a missing fact is false, then `neg` inverts it); a number/bool comparison tests
`__has` only when the neutral value would otherwise give the wrong answer. Each IR rule
becomes one durable rule named by its id, or several (`<id>#1`, `<id>#2`, ...) when one
pattern would break an engine limit; an always-true `__always__` rule is added to every
ruleset. Rules are packed into shards (separate rulesets receiving the same record) using a
model of the engine's alpha network, so that no shard can reach the limits measured in
/work/shared/reference/durable_rules.md (§4, §7, §8): 512 tests under one node (hangs
`create_ruleset`), 128 `$or` joins or 256 rule ends under one node (errors 107, 108), the
64-entry alpha stack (error 303 at assert time) and 15 `$and`/`$or` groups per pattern
(error 113).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Union

from engine.conditions import All, Node, Not, Test, to_nnf
from engine.facts import BOOL, ENUM, FACTS, NUMBER, SET, STRING

if TYPE_CHECKING:
    from engine.compiler import CompiledPolicy

Expr = dict[str, Any]
Cond = Union[Expr, bool]  # noqa: UP007 (True / False stand for "always" / "never")

GUARD = "kind"
ALWAYS = "__always__"
RESERVED_KEYS = ("sid", "id", GUARD)  # engine message ids and the scope guard

# Limits (engine limit in brackets, see durable_rules.md)
MAX_GROUPS = 15  # $and/$or groups per pattern: the guard's $and + 14 [exact: 16 → error 113]
MAX_PATTERN_TESTS = 2000  # tests in one pattern [a sanity cap: 5,000 chained tests work]
MAX_SHARD_RULES = 300  # durable rules per ruleset [~400 → error 303 in practice]
MAX_NODE_TESTS = 400  # distinct tests under one alpha node [513 → endless loop]
MAX_NODE_JOINS = 100  # `$or` join nodes under one alpha node [128 → error 107]
MAX_NODE_RULES = 200  # rules ending on one alpha node [256 → error 108]
MAX_STACK = 48  # worst-case alpha stack while matching one record [64 → error 303]
MAX_PROPERTIES = 200  # properties per record, sid/id/kind included [252 → error 302]
MAX_RULE_PARTS = 256  # durable rules one IR rule may be split into
MAX_NUMBER = 1e15


class RulesetError(ValueError):
    """The policy cannot be expressed as durable-rules rulesets within the engine limits."""


# --- keys of the flattened record ------------------------------------------------------------

_SAFE_MEMBER = re.compile(r"[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*\Z")
_SUFFIXES = ("has", "nonempty")


def fact_key(fact: str) -> str:
    return fact.replace(".", "__")


def has_key(fact: str) -> str:
    return fact_key(fact) + "__has"


def nonempty_key(fact: str) -> str:
    return fact_key(fact) + "__nonempty"


def member_key(fact: str, member: str) -> str:
    return fact_key(fact) + "__" + encode_member(member)


def encode_member(member: str) -> str:
    """Injective: safe ids stay as they are, anything else gets a `_` prefix and escapes.

    Escapes: `_` → `__`, `.` → `_dot_`, any other character → `_x<hex>_`. A safe id never
    starts with `_` and never equals a reserved suffix (`has`, `nonempty`), so encoded
    members, safe members and suffixes cannot collide (`decode_member` inverts it).
    """
    if _SAFE_MEMBER.match(member) and member not in _SUFFIXES:
        return member
    out = ["_"]
    for ch in member:
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif ch == "_":
            out.append("__")
        elif ch == ".":
            out.append("_dot_")
        else:
            out.append(f"_x{ord(ch):x}_")
    return "".join(out)


def decode_member(encoded: str) -> str:
    """Inverse of `encode_member` (used by tests to prove it injective)."""
    if not encoded.startswith("_"):
        return encoded
    out, i, s = [], 1, encoded
    while i < len(s):
        if s[i] != "_":
            out.append(s[i])
            i += 1
        elif s.startswith("__", i):
            out.append("_")
            i += 2
        elif s.startswith("_dot_", i):
            out.append(".")
            i += 5
        else:
            end = s.index("_", i + 2)
            out.append(chr(int(s[i + 2:end], 16)))
            i = end + 1
    return "".join(out)


def fnv1a32(name: str) -> int:
    """The engine's 32-bit property-name hash: equal hashes would be the same property."""
    h = 2166136261
    for byte in name.encode("utf-8"):
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h


@dataclass(frozen=True, slots=True)
class KeySpec:
    key: str
    kind: str  # value | has | nonempty | member
    fact: str
    member: str | None = None


# --- operator translations -------------------------------------------------------------------

def and_(parts: Iterable[Cond]) -> Cond:
    out: list[Expr] = []
    for p in parts:
        if p is False:
            return False
        if p is True:
            continue
        assert isinstance(p, dict)
        for q in p.get("$and", [p]):
            if q not in out:
                out.append(q)
    return True if not out else out[0] if len(out) == 1 else {"$and": out}


def or_(parts: Iterable[Cond]) -> Cond:
    out: list[Expr] = []
    for p in parts:
        if p is True:
            return True
        if p is False:
            continue
        assert isinstance(p, dict)
        for q in p.get("$or", [p]):
            if q not in out:
                out.append(q)
    return False if not out else out[0] if len(out) == 1 else {"$or": out}


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


def _compare(op: str, test: Test) -> Expr:
    """Number/bool comparison guarded by presence: `k__has` and `op(k, arg)`."""
    key, arg = fact_key(test.fact), _scalar(test)
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
            return cmp if _OPS[_COMPLEMENT[op]](default, arg) else or_([{has: False}, cmp])
        cmp = _compare(op, test)
        return and_([{has: True}, cmp]) if _OPS[op](default, arg) else cmp
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
        return (negated if test.neg else combine)({k: want} for k in keys)
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
        return {nonempty_key(test.fact): want}
    return {has_key(test.fact): want}


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


# --- expression helpers -----------------------------------------------------------------------

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



# --- a model of the engine's alpha network -----------------------------------------------------

class _Alpha:
    __slots__ = ("joins", "rules", "tests")

    def __init__(self) -> None:
        self.tests: dict[tuple[str, str, str], _Alpha] = {}
        self.joins: list[_Alpha] = []
        self.rules = 0


class AlphaNetwork:
    """What `create_ruleset` builds from patterns (rete.c `createAlpha`/`findAlpha`).

    A test is shared with an identical test under the same parent; `$and` chains its
    children; `$or` hangs every branch under the parent and links each branch end to a new,
    unshared join node. When a record is asserted the engine walks this graph depth first
    with a 64-entry stack, pushing every matching test child and every join node, so the
    worst case is bounded per node by: joins + one per key tested by equality + every other
    comparison (`stack_bound`).
    """

    def __init__(self) -> None:
        self.root = _Alpha()
        self.rules = 0
        self._undo: list[tuple[str, _Alpha, Any]] = []

    def add(self, pattern: Expr) -> None:
        end = self._insert(pattern, self.root)
        end.rules += 1
        self.rules += 1
        self._undo.append(("rule", end, None))

    def _insert(self, expr: Expr, parent: _Alpha) -> _Alpha:
        if "$and" in expr:
            node = parent
            for child in expr["$and"]:
                node = self._insert(child, node)
            return node
        if "$or" in expr:
            join = _Alpha()
            for child in expr["$or"]:
                end = self._insert(child, parent)
                end.joins.append(join)
                self._undo.append(("join", end, None))
            return join
        name, key, rhs = atom(expr)
        test = (name, key, json.dumps(rhs))
        found = parent.tests.get(test)
        if found is None:
            found = parent.tests[test] = _Alpha()
            self._undo.append(("test", parent, test))
        return found

    def mark(self) -> int:
        return len(self._undo)

    def rollback(self, mark: int) -> None:
        while len(self._undo) > mark:
            kind, node, test = self._undo.pop()
            if kind == "test":
                del node.tests[test]
            elif kind == "join":
                node.joins.pop()
            else:
                node.rules -= 1
                self.rules -= 1

    def problem(self) -> str | None:
        """The first engine limit this network would reach, or None."""
        if self.rules > MAX_SHARD_RULES:
            return f"more than {MAX_SHARD_RULES} rules in one ruleset"
        bound, found = self._analyse()
        if found:
            return found[0]
        if bound > MAX_STACK:
            return f"matching could need {bound} alpha stack entries (limit {MAX_STACK})"
        return None

    def stack_bound(self) -> int:
        return self._analyse()[0]

    def _analyse(self) -> tuple[int, list[str]]:
        """Worst-case stack (post-order over the graph, iterative: chains can be long)."""
        memo: dict[int, int] = {}
        seen: set[int] = set()
        found: list[str] = []
        todo: list[tuple[_Alpha, bool]] = [(self.root, False)]
        while todo:
            node, expanded = todo.pop()
            children = [*node.tests.values(), *node.joins]
            if not expanded:
                if id(node) in seen:  # joins have several parents: expand once
                    continue
                seen.add(id(node))
                todo.append((node, True))
                todo.extend((c, False) for c in children if id(c) not in seen)
                continue
            found.extend(_node_problems(node))
            result = 0
            if children:
                by_key: dict[str, list[tuple[str, Any]]] = {}
                for op, key, rhs in node.tests:
                    by_key.setdefault(key, []).append((op, json.loads(rhs)))
                k = len(node.joins) + sum(_max_true(t) for t in by_key.values())
                result = max(k, k - 1 + max(memo[id(c)] for c in children))
            memo[id(node)] = result
        return memo[id(self.root)], found


def _node_problems(node: _Alpha) -> list[str]:
    out = []
    if len(node.tests) > MAX_NODE_TESTS:
        out.append(f"{len(node.tests)} distinct tests under one node (limit {MAX_NODE_TESTS})")
    if len(node.joins) > MAX_NODE_JOINS:
        out.append(f"{len(node.joins)} `$or` joins under one node (limit {MAX_NODE_JOINS})")
    if node.rules > MAX_NODE_RULES:
        out.append(f"{node.rules} rules end on one node (limit {MAX_NODE_RULES})")
    return out


def _max_true(tests: list[tuple[str, Any]]) -> int:
    """Most tests on one key that a single value can pass (a key has one type)."""
    values = [rhs for _, rhs in tests]
    if all(type(v) in (int, float) for v in values):
        points = sorted(set(values))
        candidates: list[Any] = [points[0] - 1, points[-1] + 1, *points,
                                 *((a + b) / 2 for a, b in pairwise(points))]
    else:
        candidates = [*values, object()]  # a value equal to none of them
    return max(sum(1 for op, rhs in tests if _holds(op, v, rhs)) for v in candidates)


def _holds(op: str, value: Any, rhs: Any) -> bool:
    try:
        return _OPS[op](value, rhs)
    except TypeError:  # an ordering on mixed types cannot hold
        return False


def pattern_problem(pattern: Expr) -> str | None:
    """Why one rule pattern cannot be created (alone, next to `__always__`), or None."""
    groups = count_groups(pattern)
    if groups > MAX_GROUPS:
        return f"{groups} `$and`/`$or` groups in one pattern (limit {MAX_GROUPS})"
    n = sum(1 for _ in walk_atoms(pattern))
    if n > MAX_PATTERN_TESTS:
        return f"{n} tests in one pattern (limit {MAX_PATTERN_TESTS})"
    net = AlphaNetwork()
    net.add({GUARD: "x"})
    net.add(pattern)
    return net.problem()


# --- splitting and sharding ----------------------------------------------------------------------

def _fits(cond: Cond, scope: str) -> bool:
    return pattern_problem(guarded(scope, cond)) is None


def split(cond: Expr, scope: str) -> list[Expr]:
    """Parts of `cond` whose disjunction is `cond`, each small enough for one durable rule.

    A disjunction is cut into chunks; a conjunction is distributed over its largest
    disjunction (A and (B or C or D) → A and (B or C), A and D), recursively.
    """
    if _fits(cond, scope):
        return [cond]
    if "$or" in cond:
        pieces = [p for child in cond["$or"] for p in split(child, scope)]
        return _pack(pieces, or_, scope)
    if "$and" in cond:
        kids = cond["$and"]
        ors = [i for i, k in enumerate(kids) if "$or" in k]
        if ors:  # too many groups: distribute a short one; too wide: cut the widest
            grouped = count_groups(guarded(scope, cond)) > MAX_GROUPS
            i = max(ors, key=lambda j: (-len(kids[j]["$or"]), count_groups(kids[j]))
                    if grouped else (len(kids[j]["$or"]), 0))
            rest = kids[:i] + kids[i + 1:]
            return _pack(kids[i]["$or"], lambda chunk: and_([*rest, or_(chunk)]), scope)
    problem = pattern_problem(guarded(scope, cond))
    raise RulesetError(f"a condition cannot be split to fit durable-rules: {problem}")


def _pack(items: Sequence[Expr], build: Callable[[list[Expr]], Cond],
          scope: str) -> list[Expr]:
    """Greedy chunks of `items` (largest first-fit, found by bisection) built into parts."""
    out: list[Expr] = []
    i = 0
    while i < len(items):
        if len(out) > MAX_RULE_PARTS:
            raise RulesetError(f"a condition would need more than {MAX_RULE_PARTS} durable "
                               "rules: simplify it (fewer alternatives inside `all`)")
        first = build([items[i]])
        assert isinstance(first, dict)
        if not _fits(first, scope):
            out.extend(split(first, scope))
            i += 1
            continue
        lo, hi = 1, len(items) - i
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if _fits(build(list(items[i:i + mid])), scope):
                lo = mid
            else:
                hi = mid - 1
        part = build(list(items[i:i + lo]))
        assert isinstance(part, dict)
        out.append(part)
        i += lo
    return out


def _shard(pieces: Sequence[tuple[str, Expr]], scope: str) -> list[list[tuple[str, Expr]]]:
    """First-fit packing of patterns into rulesets that stay within every limit."""
    always: Expr = {GUARD: scope}
    shards: list[tuple[AlphaNetwork, list[tuple[str, Expr]]]] = []
    for name, pattern in pieces:
        for net, members in shards:
            mark = net.mark()
            net.add(pattern)
            if net.problem() is None:
                members.append((name, pattern))
                break
            net.rollback(mark)
        else:
            net = AlphaNetwork()
            net.add(always)
            net.add(pattern)
            problem = net.problem()
            if problem is not None:
                raise RulesetError(f"durable rule `{name}` does not fit in a ruleset: {problem}")
            shards.append((net, [(name, pattern)]))
    return [members for _, members in shards]


# --- compiling a scope ---------------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z0-9_.:-]+\Z")
_KIND_ORDER = {"value": 0, "has": 1, "nonempty": 2, "member": 3}
_FACT_ORDER = {name: i for i, name in enumerate(FACTS)}


@dataclass(frozen=True)
class ScopeRuleset:
    """The durable rulesets (shards) of one scope and how to build their fact record."""

    scope: str
    shards: tuple[dict[str, Any], ...]  # create_ruleset JSON: {rule name: {"all": [...]}}
    rule_of: Mapping[str, str]  # durable rule name → IR rule id (`__always__` excluded)
    keys: tuple[KeySpec, ...]  # flattened keys, in record order

    def flattener(self, extra: Mapping[str, Any] | None = None) -> Flattener:
        return Flattener(self.keys, self.scope, extra)

    def compact(self) -> ScopeRuleset:
        """The same rulesets with short keys (`k0`, `k1`, ...) for the engine.

        The readable keys are the documented form; the engine parses and hashes every key
        of every record and returns the whole record with each fired rule, so short keys
        make a record about three times smaller and the engine about 30% faster.
        """
        alias = {spec.key: f"k{i}" for i, spec in enumerate(self.keys)}
        _check_hashes(alias.values())

        def rename(expr: Expr) -> Expr:
            if is_group(expr):
                op = "$and" if "$and" in expr else "$or"
                return {op: [rename(e) for e in expr[op]]}
            name, key, rhs = atom(expr)
            key = alias.get(key, key)
            return {key: rhs} if name == "$eq" else {name: {key: rhs}}

        shards = tuple({name: {"all": [{"m": rename(p["m"])} for p in rule["all"]]}
                        for name, rule in shard.items()} for shard in self.shards)
        keys = tuple(KeySpec(alias[s.key], s.kind, s.fact, s.member) for s in self.keys)
        return ScopeRuleset(self.scope, shards, self.rule_of, keys)


def compile_scope(compiled: CompiledPolicy, scope: str) -> ScopeRuleset:
    """Rules of one scope → durable rulesets, name map and record layout."""
    rules = compiled.rules_of(scope)
    translated = [(r.id, translate(r.condition)) for r in rules]
    freq = Counter(atom(a)[1] for _, c in translated if isinstance(c, dict)
                   for a in walk_atoms(c))
    pieces: list[tuple[str, Expr]] = []
    rule_of: dict[str, str] = {}
    for rule_id, cond in translated:
        if not _NAME.match(rule_id) or rule_id == ALWAYS:
            raise RulesetError(f"rule id `{rule_id}` cannot name a durable rule")
        if cond is False:  # never fires: nothing to evaluate
            continue
        parts: list[Cond] = [True] if cond is True else \
            [_order(p, freq) for p in split(_order(cond, freq), scope)]
        for k, part in enumerate(parts, start=1):
            name = rule_id if len(parts) == 1 else f"{rule_id}#{k}"
            rule_of[name] = rule_id
            pieces.append((name, guarded(scope, part)))
    if not pieces:
        return ScopeRuleset(scope, (), {}, ())
    shards = tuple(
        {**{name: {"all": [{"m": p}]} for name, p in members},
         ALWAYS: {"all": [{"m": {GUARD: scope}}]}}
        for members in _shard(pieces, scope))
    keys = record_keys(rules, (p for _, p in pieces))
    return ScopeRuleset(scope, shards, rule_of, keys)


def compile_rulesets(compiled: CompiledPolicy, scope: str) -> list[dict[str, Any]]:
    """The durable rulesets (one per shard) of a policy's `scope` rules."""
    return list(compile_scope(compiled, scope).shards)


def _candidates(rules: Iterable[Any]) -> dict[str, KeySpec]:
    from engine.conditions import tests

    out: dict[str, KeySpec] = {}

    def put(spec: KeySpec) -> None:
        other = out.setdefault(spec.key, spec)
        if other != spec or spec.key in RESERVED_KEYS:
            raise RulesetError(f"flattened key `{spec.key}` is ambiguous ({spec} / {other})")

    for rule in rules:
        for t in tests(rule.condition):
            ftype = _spec(t).type
            if ftype in (ENUM, NUMBER, BOOL):
                put(KeySpec(fact_key(t.fact), "value", t.fact))
            if ftype in (NUMBER, BOOL, STRING):
                put(KeySpec(has_key(t.fact), "has", t.fact))
            if ftype == SET:
                put(KeySpec(nonempty_key(t.fact), "nonempty", t.fact))
                if t.op != "exists":
                    for m in _ids(t):
                        put(KeySpec(member_key(t.fact, m), "member", t.fact, m))
    return out


def record_keys(rules: Iterable[Any], patterns: Iterable[Expr]) -> tuple[KeySpec, ...]:
    """The keys the patterns test, checked for collisions and the property limit."""
    candidates = _candidates(rules)
    used: dict[str, KeySpec] = {}
    for pattern in patterns:
        for a in walk_atoms(pattern):
            _, key, rhs = atom(a)
            if isinstance(rhs, dict | list) or rhs is None:
                raise RulesetError(f"non-scalar right-hand side for `{key}`: {rhs!r}")
            if key == GUARD:
                continue
            if key not in candidates:
                raise RulesetError(f"internal error: pattern tests unknown key `{key}`")
            used[key] = candidates[key]
    keys = tuple(sorted(used.values(), key=lambda s: (_FACT_ORDER[s.fact], _KIND_ORDER[s.kind],
                                                      s.member or "")))
    if len(keys) + len(RESERVED_KEYS) > MAX_PROPERTIES:
        raise RulesetError(f"the rules test {len(keys)} flattened facts; durable-rules takes at "
                           f"most {MAX_PROPERTIES - len(RESERVED_KEYS)} in one record: "
                           "test fewer set members in one scope")
    _check_hashes(s.key for s in keys)
    return keys


def _check_hashes(keys: Iterable[str]) -> None:
    """Keys with equal engine hashes would be read as one property: refuse them."""
    hashes: dict[int, str] = {}
    for name in (*RESERVED_KEYS, *keys):
        clash = hashes.setdefault(fnv1a32(name), name)
        if clash != name:
            raise RulesetError(f"flattened keys `{clash}` and `{name}` have the same engine "
                               "hash and would be confused")


# --- the flattened record ----------------------------------------------------------------------

class Flattener:
    """Builds the record of one scope from a fact mapping (hot path: keys precomputed).

    `flatten` gives the record as a dict, `encode` the same record as JSON text without going
    through a dict and `json.dumps` (about 3x faster). Values must have the Python type of
    their fact (engine/cases.py guarantees it); anything else raises TypeError, so the
    engine's string/number coercions can never decide a case.
    """

    __slots__ = ("_base", "_bools", "_enums", "_head", "_numbers", "_sets", "_strings")

    def __init__(self, keys: Iterable[KeySpec], scope: str,
                 extra: Mapping[str, Any] | None = None):
        self._base: dict[str, Any] = {**(extra or {}), GUARD: scope}
        self._head = json.dumps(self._base, separators=(",", ":"))[:-1]
        slots: dict[str, dict[str, Any]] = {}
        for spec in keys:
            slot = slots.setdefault(spec.fact, {"members": []})
            if spec.kind == "member":
                slot["members"].append((spec.member, spec.key, *_flags(spec.key)))
            else:
                slot[spec.kind] = spec.key
        # per fact: (fact, key, has key, JSON prefix, (false, true) fragments of key / has)
        enums: list[Any] = []
        numbers: list[Any] = []
        bools: list[Any] = []
        strings: list[Any] = []
        sets: list[Any] = []
        for fact, slot in slots.items():
            ftype, key, has = FACTS[fact].type, slot.get("value"), slot.get("has")
            prefix = f",{json.dumps(key)}:" if key else ""
            if ftype == ENUM:
                enums.append((fact, key, prefix, {}))
            elif ftype == NUMBER:
                numbers.append((fact, key, has, prefix, _maybe_flags(has)))
            elif ftype == BOOL:
                bools.append((fact, key, has, _maybe_flags(key), _maybe_flags(has)))
            elif ftype == STRING:
                strings.append((fact, has, _flags(slot["has"])))
            else:
                nonempty = slot.get("nonempty")
                sets.append((fact, nonempty, _maybe_flags(nonempty), tuple(slot["members"])))
        self._enums = tuple(enums)
        self._numbers = tuple(numbers)
        self._bools = tuple(bools)
        self._strings = tuple(strings)
        self._sets = tuple(sets)

    def flatten(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """The record for `facts` (missing facts get their neutral value and `__has` false)."""
        out = dict(self._base)
        get = facts.get
        for fact, key, _, _ in self._enums:
            v = get(fact)
            out[key] = "" if v is None else _enum(fact, v)
        for fact, key, has, _, _ in self._numbers:
            v = get(fact)
            if key is not None:
                out[key] = 0 if v is None else _number_value(fact, v)
            if has is not None:
                out[has] = v is not None
        for fact, key, has, _, _ in self._bools:
            v = get(fact)
            if key is not None:
                out[key] = v is not None and _bool(fact, v)
            if has is not None:
                out[has] = v is not None
        for fact, has, _ in self._strings:
            out[has] = _string(fact, get(fact)) is not None
        for fact, nonempty, _, members in self._sets:
            v = _set(fact, get(fact))
            if nonempty is not None:
                out[nonempty] = bool(v)
            for member, key, _, _ in members:
                out[key] = member in v
        return out

    def encode(self, facts: Mapping[str, Any]) -> str:
        """`json.dumps(self.flatten(facts))`, computed directly from precomputed fragments."""
        get = facts.get
        parts = [self._head]
        add = parts.append
        for fact, _, prefix, cache in self._enums:
            v = get(fact)
            if v is None:
                add(prefix + '""')
            else:
                frag = cache.get(v) if type(v) is str else None
                if frag is None:
                    frag = prefix + json.dumps(_enum(fact, v))
                    if len(cache) < 4096:
                        cache[v] = frag
                add(frag)
        for fact, key, _, prefix, has in self._numbers:
            v = get(fact)
            if key is not None:
                add(prefix + ("0" if v is None else repr(_number_value(fact, v))))
            if has:
                add(has[v is not None])
        for fact, _, _, value, has in self._bools:
            v = get(fact)
            if value:
                add(value[v is not None and _bool(fact, v)])
            if has:
                add(has[v is not None])
        for fact, _, has in self._strings:
            add(has[_string(fact, get(fact)) is not None])
        for fact, _, nonempty, members in self._sets:
            v = _set(fact, get(fact))
            if nonempty:
                add(nonempty[bool(v)])
            for member, _, false, true in members:
                add(true if member in v else false)
        add("}")
        return "".join(parts)


def _flags(key: str) -> tuple[str, str]:
    """The JSON fragments `,"key":false` and `,"key":true`."""
    name = json.dumps(key)
    return (f",{name}:false", f",{name}:true")


def _maybe_flags(key: str | None) -> tuple[str, str] | None:
    return None if key is None else _flags(key)


def _enum(fact: str, v: Any) -> str:
    if type(v) is str and v:
        return v
    raise _type_error(fact, v, "a non-empty id string")


def _number_value(fact: str, v: Any) -> int | float:
    if type(v) is not int and type(v) is not float:
        raise _type_error(fact, v, "an int or float")
    if not -MAX_NUMBER < v < MAX_NUMBER or (v and -1e-4 < v < 1e-4):
        raise ValueError(f"fact `{fact}`: {v!r} cannot be passed to durable-rules "
                         "(finite, |x| < 1e15, no exponent)")
    return v


def _bool(fact: str, v: Any) -> bool:
    if type(v) is bool:
        return v
    raise _type_error(fact, v, "a bool")


def _string(fact: str, v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    raise _type_error(fact, v, "a string")


def _set(fact: str, v: Any) -> frozenset[str] | set[str]:
    if v is None:
        return frozenset()
    if isinstance(v, frozenset | set):
        return v
    raise _type_error(fact, v, "a frozenset")


def _type_error(fact: str, value: Any, expected: str) -> TypeError:
    return TypeError(f"fact `{fact}` must be {expected}, got {type(value).__name__} "
                     f"`{value!r}`")
