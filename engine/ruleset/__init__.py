"""Compile the rule IR of one scope into durable-rules' JSON ruleset form (pure data).

The durable backend evaluates one *flattened* fact record per case (case rules) or per item
(item rules). Flattening turns every referenced fact into top-level scalar keys, so rules
need neither arrays (`$iany`/`$iall`) nor nested paths, every key but a false flag is always
present (no comparison ever runs on a missing field) and every right-hand side is a scalar.
A flag (a bool key below) is in the record only when true, and a test of false is `$nex`
(translate.py `flag`): the engine matches every property of a record against the tests of
each node it visits, and most flags are false, so a record of about 25 properties instead
of 64 costs the engine about 40 % less.

    enum   `destination.band`       → `destination__band`: the id, "" when missing
    string `end_user.name`          → `end_user__name__has`: bool (only `exists` applies)
    number `item.value`             → `item__value` (0 when missing) and `item__value__has`
    bool   `exporter.hrdd_policy`   → `exporter__hrdd_policy` (true only) and `..__has`
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
`create_ruleset`), 128 `$or` joins and `$nex` tests or 256 rule ends under one node
(errors 107, 108), the 64-entry alpha stack (error 303 at assert time) and 15
`$and`/`$or` groups per pattern (error 113).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.facts import BOOL, ENUM, FACTS, NUMBER, SET, STRING
from engine.ruleset.alpha import AlphaNetwork, pattern_problem
from engine.ruleset.keys import (
    KeySpec,
    decode_member,
    encode_member,
    fact_key,
    fnv1a32,
    has_key,
    member_key,
    nonempty_key,
)
from engine.ruleset.limits import (
    ALWAYS,
    GUARD,
    MAX_GROUPS,
    MAX_PROPERTIES,
    MAX_SHARD_RULES,
    MAX_STACK,
    RESERVED_KEYS,
    Cond,
    Expr,
    RulesetError,
)
from engine.ruleset.patterns import _order, atom, count_groups, guarded, is_group, walk_atoms
from engine.ruleset.record import Flattener
from engine.ruleset.split import _shard, split
from engine.ruleset.translate import DURABLE_TESTS, _ids, _spec, and_, or_, translate

if TYPE_CHECKING:
    from engine.compiler import CompiledPolicy

__all__ = [
    "ALWAYS",
    "DURABLE_TESTS",
    "GUARD",
    "MAX_GROUPS",
    "MAX_SHARD_RULES",
    "MAX_STACK",
    "AlphaNetwork",
    "Flattener",
    "KeySpec",
    "RulesetError",
    "ScopeRuleset",
    "and_",
    "atom",
    "compile_rulesets",
    "compile_scope",
    "count_groups",
    "decode_member",
    "encode_member",
    "fnv1a32",
    "guarded",
    "or_",
    "pattern_problem",
    "record_keys",
    "split",
    "translate",
    "walk_atoms",
]


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
