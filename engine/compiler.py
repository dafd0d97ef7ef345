"""Compile a validated policy version into the rule IR both backends evaluate.

The output is plain data: rules with their condition in negation normal form (see
engine/conditions.py), their scope (`case` or `item`), their effect, and the destination
table with each destination's band already derived by the policy's band rules. `ir()` gives
the JSON form used for snapshots, digests and the durable-rules ruleset.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from engine import conditions
from engine.conditions import Node
from engine.facts import FACTS, is_item_fact
from engine.implicated import CompiledParty, compile_parties
from engine.model import UNKNOWN_BAND, Citation, Policy, Rule
from engine.predicates import compile_condition
from engine.sanctions import CompiledRegime, compile_regimes


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    scope: str  # case | item
    condition: Node  # NNF
    readable: str  # the condition as people read it
    outcome: str  # effective outcome (see DESIGN.md: conditions only → approve_with_conditions)
    title: str
    message: str
    commitments: tuple[str, ...]
    basis: tuple[str, ...]
    require_assurances: tuple[str, ...]
    conditions: tuple[str, ...]
    field: str | None = None
    request: str | None = None


@dataclass(frozen=True, slots=True)
class DestinationInfo:
    code: str
    name: str
    band: str
    factors: frozenset[str]
    freedom_status: str | None
    freedom_score: int | None
    # (factor id, citation) of every factor, inherited ones included: explanations cite them
    evidence: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CompiledPolicy:
    policy: Policy
    rules: tuple[CompiledRule, ...]
    destinations: dict[str, DestinationInfo]
    vocab: dict[str, frozenset[str]]
    control_map: dict[str, str]  # canonical control entry → category id
    sanctions: tuple[CompiledRegime, ...] = ()  # sanctions.yaml, by id (engine/sanctions.py)
    # implicated_parties.yaml, by id (engine/implicated.py)
    implicated: tuple[CompiledParty, ...] = ()

    @property
    def id(self) -> str:
        return self.policy.id

    @property
    def version(self) -> str:
        return self.policy.version

    @property
    def digest(self) -> str:
        return self.policy.digest

    @property
    def precedence(self) -> tuple[str, ...]:
        return self.policy.precedence

    @property
    def default_outcome(self) -> str:
        return self.policy.default_outcome

    @cached_property
    def rule_index(self) -> dict[str, tuple[int, CompiledRule]]:
        """Rule id → (position in the policy, rule): findings keep the policy's order."""
        return {r.id: (i, r) for i, r in enumerate(self.rules)}

    @cached_property
    def rank(self) -> dict[str, int]:
        """Outcome → severity rank (0 = most severe) by the policy's precedence."""
        return {o: i for i, o in enumerate(self.precedence)}

    def rules_of(self, scope: str) -> tuple[CompiledRule, ...]:
        return tuple(r for r in self.rules if r.scope == scope)

    def rule(self, rule_id: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def ir(self) -> dict[str, Any]:
        """The rule IR as JSON data (stable order: rules as written)."""
        out: dict[str, Any] = {
            "policy": {"id": self.id, "version": self.version, "digest": self.digest},
            "precedence": list(self.precedence),
            "default": self.policy.default_outcome,
            "rules": [
                {"id": r.id, "scope": r.scope, "outcome": r.outcome,
                 "require_assurances": list(r.require_assurances),
                 "conditions": list(r.conditions),
                 "when": conditions.to_json(r.condition)}
                for r in self.rules
            ],
        }
        if self.sanctions:  # only versions with a sanctions.yaml: others keep their IR
            out["sanctions"] = [r.ir() for r in self.sanctions]
        if self.implicated:  # likewise only versions with an implicated_parties.yaml
            out["implicated_parties"] = [e.ir() for e in self.implicated]
        return out


def effective_outcome(rule: Rule) -> str:
    if rule.outcome:
        return rule.outcome
    return "approve_with_conditions" if rule.conditions else "approve"


def _basis(policy: Policy, cites: tuple[Citation, ...]) -> tuple[str, ...]:
    out = []
    for c in cites:
        src = policy.sources.get(c.source)
        out.append(src.cite(c.pinpoint) if src else f"{c.source}, {c.pinpoint or ''}".strip(", "))
    return tuple(out)


def compile_rule(policy: Policy, rule: Rule) -> CompiledRule:
    when = rule.when if rule.when is not None else conditions.TRUE
    cond = when
    if rule.field is not None:  # information requirement: fires when the field is missing
        cond = conditions.All((when, conditions.Test(rule.field, "exists", False)))
    nnf = _presence(conditions.to_nnf(cond))
    scope = "item" if any(is_item_fact(f) for f in conditions.facts_used(nnf)) else "case"
    return CompiledRule(
        id=rule.id, scope=scope, condition=nnf, readable=conditions.render(cond),
        outcome=effective_outcome(rule), title=rule.title, message=rule.message,
        commitments=rule.commitments, basis=_basis(policy, rule.basis),
        require_assurances=rule.require_assurances, conditions=rule.conditions,
        field=rule.field, request=rule.request)


def _presence(node: Node) -> Node:
    """`exists` on a set fact with a presence fact becomes a test of that bool fact."""
    if isinstance(node, conditions.Test):
        spec = FACTS.get(node.fact)
        if node.op == "exists" and spec is not None and spec.presence is not None:
            return conditions.Test(spec.presence, "equals", bool(node.arg), node.neg)
        return node
    if isinstance(node, conditions.Not):  # not in NNF; kept total for safety
        return conditions.Not(_presence(node.child))
    children = tuple(_presence(c) for c in node.children)
    return conditions.All(children) if isinstance(node, conditions.All) \
        else conditions.AnyOf(children)


def derive_band(policy: Policy, facts: dict[str, Any]) -> str:
    """The most severe band whose rule matches (order-independent, fail-closed)."""
    matched = {b.band for b in policy.band_rules
               if b.when is not None and compile_condition(conditions.to_nnf(b.when))(facts)}
    for band in policy.bands:
        if band in matched:
            return band
    return policy.band_default


def compile_destinations(policy: Policy) -> dict[str, DestinationInfo]:
    out = {}
    for code, d in sorted(policy.destinations.items()):
        factors = inherited_factors(policy, code)
        facts: dict[str, Any] = {"destination.factors": factors}
        if d.freedom_status is not None:
            facts["destination.freedom_status"] = d.freedom_status
        if d.freedom_score is not None:
            facts["destination.freedom_score"] = d.freedom_score
        out[code] = DestinationInfo(code, d.name, derive_band(policy, facts), factors,
                                    d.freedom_status, d.freedom_score,
                                    inherited_evidence(policy, code))
    return out


def inherits_chain(policy: Policy, code: str) -> list[str]:
    """`code`, the code it inherits from, what that one inherits from, ...; stops at an
    unknown code or where the chain would close a cycle (the validator rejects both)."""
    chain = [code]
    while (d := policy.destinations.get(chain[-1])) is not None and \
            d.inherits_from is not None and d.inherits_from not in chain:
        chain.append(d.inherits_from)
    return chain


def inherited_evidence(policy: Policy, code: str) -> tuple[tuple[str, str], ...]:
    """(factor, citation) of a destination's factors; an inherited one names its sovereign."""
    out: dict[str, str] = {}
    for c in inherits_chain(policy, code):
        if c in policy.destinations:
            for factor, cite in policy.destinations[c].evidence:
                out.setdefault(factor, cite if c == code else f"inherited from {c}: {cite}")
    return tuple(sorted(out.items()))


def inherited_factors(policy: Policy, code: str) -> frozenset[str]:
    """A destination's own factors and those of every code it inherits from."""
    found = [policy.destinations[c].factors for c in inherits_chain(policy, code)
             if c in policy.destinations]
    return frozenset().union(*found)


def unknown_destination(code: str) -> DestinationInfo:
    return DestinationInfo(code, code, UNKNOWN_BAND, frozenset(), None, None)


def compile_policy(policy: Policy) -> CompiledPolicy:
    """Policy model → CompiledPolicy (rule IR + destination table)."""
    return CompiledPolicy(
        policy=policy,
        rules=tuple(compile_rule(policy, r) for r in policy.rules),
        destinations=compile_destinations(policy),
        vocab=policy.vocab,
        control_map=policy.control_map(),
        sanctions=compile_regimes(policy),
        implicated=compile_parties(policy),
    )


def destination_problem(policy: CompiledPolicy, dest: DestinationInfo) -> str | None:
    """Why a destination entry of the compiled table cannot be trusted, or None."""
    if dest.band not in policy.policy.bands:
        return f"destination `{dest.code}` has band {dest.band!r}, not one of the policy's bands"
    if not isinstance(dest.factors, frozenset) or not dest.factors <= policy.vocab["factors"]:
        return f"destination `{dest.code}` has factors {dest.factors!r} outside the vocabulary"
    if dest.freedom_status is not None and dest.freedom_status not in \
            policy.vocab["freedom_status"]:
        return f"destination `{dest.code}` has freedom status {dest.freedom_status!r}"
    score = dest.freedom_score
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)
                              or not 0 <= score <= 100):
        return f"destination `{dest.code}` has freedom score {score!r}"
    return None


def compiled_problems(policy: CompiledPolicy) -> list[str]:
    """Invariants of a compiled version's tables (checked at compile and decision time)."""
    out = [p for d in policy.destinations.values() if (p := destination_problem(policy, d))]
    if set(policy.rank) != set(policy.precedence) or policy.default_outcome not in policy.rank:
        out.append("the outcome precedence does not hold every outcome")
    out.extend(f"control entry `{e}` maps to unknown category `{c}`"
               for e, c in policy.control_map.items() if c not in policy.policy.categories)
    return out

