"""Rule IR and decision combination as SMT formulas (z3), over an abstract *world*.

A world gives, for one compiled version, z3 expressions for every fact test the IR can
make: `present(fact)`, `eq(fact, value)` (enum and bool facts, presence included),
`member(fact, value)` (set facts) and `cmp(fact, op, number)` (number facts, presence
included), for the case scope and for every item view. engine/analysis/inputs.py builds the
symbolic world of a bounded case space; `ConcreteWorld` here builds one from a normalised
case (constants), which the differential test uses to check this module against the engine.

The combination follows engine/decision.py `decide` exactly: the most severe finding
outcome by the version's precedence (the default when nothing fired), built-in findings
(unknown-id, category-conflict, unmapped-entry at request_information; catch-all-ground at
refer, for a world that can declare a ground), missing assurances and information
requests raise it to at least request_information, and an approval of a case with an
unclassified item or an unknown destination fails closed to request_information.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import z3

from engine.compiler import CompiledPolicy, CompiledRule
from engine.conditions import All, AnyOf, Node, Not, Test, to_nnf
from engine.facts import BOOL, ENUM, FACTS, NUMBER, SET, STRING

APPROVALS = ("approve", "approve_with_conditions")
INFO = "request_information"
CATCH_ALL_OUTCOME = "refer"  # engine/decision.py BUILTIN_FINDINGS["catch-all-ground"]


class FactView(Protocol):
    def present(self, fact: str) -> z3.BoolRef: ...
    def eq(self, fact: str, value: Any) -> z3.BoolRef: ...
    def member(self, fact: str, value: str) -> z3.BoolRef: ...
    def cmp(self, fact: str, op: str, number: float) -> z3.BoolRef: ...


@dataclass
class View:
    active: z3.BoolRef  # the item exists and has this candidate (or is unclassified)
    facts: FactView


@dataclass
class Item:
    exists: z3.BoolRef
    views: list[View]
    unclassified: z3.BoolRef
    conflict: z3.BoolRef
    unmapped: z3.BoolRef


@dataclass
class World:
    case: FactView
    items: list[Item]
    unknown: z3.BoolRef  # some unknown-id finding
    dest_missing: z3.BoolRef
    # some item declares a catch-all ground (the `catch-all-ground` finding, refer); None:
    # no case of the world declares one (the bounded space of engine/analysis/inputs.py)
    catch_all: z3.BoolRef | None = None


@dataclass
class Encoded:
    """A version's decision over a world: outcome rank (its own precedence) and firings."""

    policy: CompiledPolicy
    rank: z3.ArithRef
    fired: dict[str, z3.BoolRef]
    builtins: dict[str, z3.BoolRef]

    def outcome_is(self, outcome: str) -> z3.BoolRef:
        return self.rank == self.policy.rank[outcome]

    def outcome_in(self, outcomes: Sequence[str]) -> z3.BoolRef:
        return z3.Or([self.outcome_is(o) for o in outcomes if o in self.policy.rank])


def vocab_of(policy: CompiledPolicy, fact: str) -> list[str]:
    spec = FACTS[fact]
    return sorted(policy.vocab.get(spec.vocab, ())) if spec.vocab else []


def test(policy: CompiledPolicy, view: FactView, t: Test) -> z3.BoolRef:
    """One IR test; `neg` inverts after the missing-handling, as engine/predicates.py."""
    spec = FACTS[t.fact]
    f, op, arg = t.fact, t.op, t.arg
    args = list(arg) if isinstance(arg, tuple) else [arg]
    out: z3.BoolRef
    if op == "exists":
        out = view.present(f) == z3.BoolVal(bool(arg))
    elif spec.type == NUMBER and op in ("equals", "not_equals", "lt", "lte", "gt", "gte"):
        if op == "not_equals":
            out = z3.And(view.present(f), z3.Not(view.cmp(f, "equals", arg)))
        else:
            out = view.cmp(f, op, arg)
    elif op == "equals":
        out = view.eq(f, arg)
    elif op == "not_equals":
        out = z3.And(view.present(f), z3.Not(view.eq(f, arg)))
    elif op == "in":
        out = z3.Or([view.eq(f, v) for v in args])
    elif op == "not_in":
        out = z3.And(view.present(f), z3.Not(z3.Or([view.eq(f, v) for v in args])))
    elif op in ("contains", "contains_any"):
        out = z3.Or([view.member(f, v) for v in args])
    elif op == "contains_all":
        out = z3.And([view.member(f, v) for v in args])
    else:  # the validator admits no other operator
        raise ValueError(f"operator `{op}` on `{f}` ({spec.type}) cannot be encoded")
    return z3.Not(out) if t.neg else out


def condition(policy: CompiledPolicy, view: FactView, node: Node) -> z3.BoolRef:
    """An NNF condition (a `Not` is normalised first) as a formula over the view."""
    if isinstance(node, Not):
        return condition(policy, view, to_nnf(node))
    if isinstance(node, Test):
        return test(policy, view, node)
    parts = [condition(policy, view, c) for c in node.children]
    if isinstance(node, All):
        return z3.And(parts) if parts else z3.BoolVal(True)
    assert isinstance(node, AnyOf)
    return z3.Or(parts) if parts else z3.BoolVal(False)


def fires(policy: CompiledPolicy, world: World, rule: CompiledRule) -> z3.BoolRef:
    """The rule fires for the case (a case rule) or for some view of some item."""
    if rule.scope == "case":
        return condition(policy, world.case, rule.condition)
    return z3.Or([z3.And(item.exists, v.active, condition(policy, v.facts, rule.condition))
                  for item in world.items for v in item.views])


def encode(policy: CompiledPolicy, world: World, assured: Mapping[str, z3.BoolRef]
           ) -> Encoded:
    """The decision of `policy` in `world`; `assured[a]`: assurance `a` was provided."""
    fired = {r.id: fires(policy, world, r) for r in policy.rules}
    builtins = {
        "unknown-id": world.unknown,
        "category-conflict": z3.Or([z3.And(i.exists, i.conflict) for i in world.items]),
        "unmapped-entry": z3.Or([z3.And(i.exists, i.unmapped) for i in world.items]),
    }
    by_rank: dict[int, list[z3.BoolRef]] = {}
    for r in policy.rules:
        by_rank.setdefault(policy.rank[r.outcome], []).append(fired[r.id])
    for b in builtins.values():
        by_rank.setdefault(policy.rank[INFO], []).append(b)
    if world.catch_all is not None and CATCH_ALL_OUTCOME in policy.rank:
        builtins["catch-all-ground"] = world.catch_all
        by_rank.setdefault(policy.rank[CATCH_ALL_OUTCOME], []).append(world.catch_all)
    rank: z3.ArithRef = z3.IntVal(policy.rank[policy.default_outcome])
    for level in sorted(by_rank, reverse=True):
        rank = z3.If(z3.Or(by_rank[level]), z3.IntVal(level), rank)
    info = policy.rank[INFO]
    missing = [z3.And(fired[r.id], z3.Not(assured.get(a, z3.BoolVal(False))))
               for r in policy.rules for a in r.require_assurances]
    requests = [fired[r.id] for r in policy.rules if r.field is not None]
    builtins["missing-assurances"] = z3.Or(missing)
    raise_ = z3.Or(missing + requests)
    rank = z3.If(z3.And(raise_, rank > info), z3.IntVal(info), rank)
    approval = z3.Or([rank == policy.rank[o] for o in APPROVALS if o in policy.rank])
    incomplete = z3.Or([z3.And(i.exists, i.unclassified) for i in world.items]
                       + [world.dest_missing])
    builtins["fail-closed"] = z3.And(approval, incomplete)
    rank = z3.If(z3.And(approval, incomplete, rank > info), z3.IntVal(info), rank)
    return Encoded(policy, rank, fired, builtins)


# -- concrete worlds (a normalised case): the differential test of this module ----------


class ConcreteFacts:
    """A FactView over one fact mapping of a normalised case (constants only)."""

    def __init__(self, facts: Mapping[str, Any]):
        self.facts = facts

    def present(self, fact: str) -> z3.BoolRef:
        v = self.facts.get(fact)
        return z3.BoolVal(v is not None and (not isinstance(v, frozenset) or bool(v)))

    def eq(self, fact: str, value: Any) -> z3.BoolRef:
        v = self.facts.get(fact)
        return z3.BoolVal(v is not None and v == value)

    def member(self, fact: str, value: str) -> z3.BoolRef:
        return z3.BoolVal(value in (self.facts.get(fact) or frozenset()))

    def cmp(self, fact: str, op: str, number: float) -> z3.BoolRef:
        v = self.facts.get(fact)
        if v is None:
            return z3.BoolVal(False)
        return z3.BoolVal(compare(op, v, number))


def compare(op: str, left: Any, right: Any) -> bool:
    return {"equals": left == right, "lt": left < right, "lte": left <= right,
            "gt": left > right, "gte": left >= right}[op]


def concrete_world(case: Any) -> tuple[World, dict[str, z3.BoolRef]]:
    """The world of an engine.cases.NormalizedCase, with its assurances."""
    items = []
    for it in case.items:
        views = [View(z3.BoolVal(True), ConcreteFacts(f)) for f in (it.views or (it.facts,))]
        items.append(Item(z3.BoolVal(True), views, z3.BoolVal(it.category is None),
                          z3.BoolVal(it.conflict is not None),
                          z3.BoolVal(bool(it.unmapped_entries))))
    declared = any(getattr(it, "catch_all", ()) for it in case.items)
    world = World(ConcreteFacts(case.facts), items, z3.BoolVal(bool(case.unknown)),
                  z3.BoolVal("destination" not in case.facts), z3.BoolVal(declared))
    assured = {a: z3.BoolVal(True) for a in case.facts.get("assurances", ())}
    return world, assured


def outcome_of(enc: Encoded, model: z3.ModelRef | None = None) -> str:
    """The outcome an encoded decision takes (in a model, or after simplification)."""
    value = model.eval(enc.rank, model_completion=True) if model is not None \
        else z3.simplify(enc.rank)
    return enc.policy.precedence[value.as_long()]


__all__ = ["BOOL", "ENUM", "SET", "STRING", "Encoded", "Item", "View", "World",
           "concrete_world", "condition", "encode", "outcome_of", "vocab_of"]
