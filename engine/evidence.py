"""Evidence of a finding: which party, country profile, regime or listed entry made it fire.

A rule tests aggregate facts (`intermediaries.bands contains embargoed`); a licensing
officer needs to know *which* intermediary, in which country, on what source. For a fired
rule this module walks the condition, keeps the positive tests that hold on the facts the
rule fired on, and names what satisfies each one:

- a party fact (`end_user.*`, `consignees.*`, `intermediaries.*`, `purchaser.*`,
  `previous_consignee.*`, `parties.*`): every party whose own country profile satisfies the
  test, by role, position and country, and the matched risk factors with their sources;
- a destination fact: the destination, its band or Freedom House status, or the matched
  factors with their sources;
- sanctions, implicated-party and payment-route facts: the regimes with their legal act and
  link, the matched entries with their basis, the route country.

Parties are named by role, position and country, never by name: a natural person's name
must not reach a decision through its evidence (the decision log masks names in the case
only). Plain functions over plain data; the predicates of engine/predicates.py (the python
backend's) decide what holds, so the evidence agrees with both backends by construction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from engine import implicated, sanctions
from engine.conditions import AnyOf, Node, Not, Test, to_nnf
from engine.memo import ByIdentity
from engine.predicates import Predicate, compile_condition

if TYPE_CHECKING:
    from engine.cases import ItemView, NormalizedCase, Party
    from engine.compiler import CompiledPolicy, CompiledRule

ROLE_LABELS = {"end_user": "end user", "consignee": "consignee",
               "intermediary": "intermediary", "purchaser": "purchaser",
               "previous_consignee": "previous consignee"}
EVERY_ROLE = tuple(ROLE_LABELS)

# fact → (the roles whose parties it aggregates, the profile attribute, aggregated as a set)
PARTY_FACTS: dict[str, tuple[tuple[str, ...], str, bool]] = {
    **{f"end_user.{a}": (("end_user",), a, False) for a in ("country", "band")},
    **{f"purchaser.{a}": (("purchaser",), a, False) for a in ("country", "band")},
    **{f"previous_consignee.{a}": (("previous_consignee",), a, False)
       for a in ("country", "band")},
    **{f"{prefix}.{fact}": (roles, attr, True)
       for prefix, roles in (("consignees", ("consignee",)),
                             ("intermediaries", ("intermediary",)), ("parties", EVERY_ROLE))
       for fact, attr in (("countries", "country"), ("bands", "band"))},
    **{f"{prefix}.factors": (roles, "factors", False)
       for prefix, roles in (("end_user", ("end_user",)), ("purchaser", ("purchaser",)),
                             ("previous_consignee", ("previous_consignee",)),
                             ("consignees", ("consignee",)),
                             ("intermediaries", ("intermediary",)), ("parties", EVERY_ROLE))},
    "intermediaries.roles": (("intermediary",), "detail", True),
}
SANCTIONS_FACTS = frozenset({"sanctions.targets", "item.sanctions", "case.sanctions"})
IMPLICATED_FACTS = frozenset({"end_user.implicated", "parties.implicated",
                              "implicated.parties"})
DESTINATION_FACTS = frozenset({"destination.band", "destination.factors",
                               "destination.freedom_status", "destination.freedom_score"})
ROUTE_FACTS = frozenset({"payment.route_country", "payment.route_band",
                         "payment.route_factors"})
EVIDENCE_FACTS = frozenset(PARTY_FACTS) | SANCTIONS_FACTS | IMPLICATED_FACTS | \
    DESTINATION_FACTS | ROUTE_FACTS


@dataclass(frozen=True, slots=True)
class _Plan:
    """The part of a rule's NNF condition that can name evidence, compiled once: a leaf
    test, or a conjunction / disjunction of the sub-plans of its cited children (each with
    the predicate of the child it stands for, to tell which disjuncts hold)."""

    test: Test | None
    any: bool
    children: tuple[tuple[_Plan, Predicate], ...]


def _plan(node: Node) -> _Plan | None:
    """None when the condition tests no fact this module names evidence for."""
    if isinstance(node, Not):
        node = to_nnf(node)
    if isinstance(node, Test):
        positive = not node.neg and not (node.op == "exists" and not node.arg)
        return _Plan(node, False, ()) if positive and node.fact in EVIDENCE_FACTS else None
    if isinstance(node, Not):  # no Not survives to_nnf
        return None
    children = tuple((sub, compile_condition(c)) for c in node.children
                     if (sub := _plan(c)) is not None)
    return _Plan(None, isinstance(node, AnyOf), children) if children else None


# a rule's plan, made once per compiled rule
plan_of: ByIdentity[CompiledRule, _Plan | None] = ByIdentity(
    lambda rule: _plan(rule.condition), limit=20_000)


def held_tests(plan: _Plan, facts: Mapping[str, Any]) -> Iterator[Test]:
    """The cited positive tests that make a condition hold, given that it holds on `facts`:
    every cited child of a conjunction, the cited children of a disjunction that hold."""
    if plan.test is not None:
        yield plan.test
        return
    for child, holds in plan.children:
        if not plan.any or holds(facts):
            yield from held_tests(child, facts)


def collect(policy: CompiledPolicy, rule: CompiledRule, case: NormalizedCase,
            views: tuple[ItemView, ...]) -> tuple[str, ...]:
    """The evidence lines of one finding (empty when its rule tests no such fact); `views`
    are those the rule fired for, so its condition holds on each (on the case facts for a
    case rule)."""
    plan = plan_of(rule)
    if plan is None:
        return ()
    scopes = [v.facts for v in views] if rule.scope == "item" else [case.facts]
    shown = _shown(rule.message)
    out: dict[str, None] = {}
    for facts in scopes:
        for test in held_tests(plan, facts):
            if test.fact in shown:
                continue
            for line in _describe(policy, case, test, facts):
                out.setdefault(line, None)
    return tuple(out)


@lru_cache(maxsize=1024)
def _shown(message: str) -> frozenset[str]:
    """Facts whose evidence the message already gives in full (`{sanctions}` names each
    regime with its act and link, `{implicated}` each listed party with its basis)."""
    return (SANCTIONS_FACTS if "{sanctions}" in message else frozenset()) | \
        (IMPLICATED_FACTS if "{implicated}" in message else frozenset())


def _describe(policy: CompiledPolicy, case: NormalizedCase, test: Test,
              facts: Mapping[str, Any]) -> list[str]:
    if test.fact in PARTY_FACTS:
        return _parties(policy, case, test)
    if test.fact in DESTINATION_FACTS:
        return [_destination(policy, case, test, facts)]
    if test.fact in SANCTIONS_FACTS:
        return _regimes(policy, _matched(test, facts.get(test.fact) or frozenset()), facts)
    if test.fact in IMPLICATED_FACTS:
        return [f"listed: {implicated.describe(policy.implicated, case.implicated)}"]
    if test.fact in ROUTE_FACTS:
        code = facts.get("payment.route_country")
        factors = _factors(policy, code, _matched(test, facts.get(test.fact)), ())
        return [f"payment routed via {code} (band {facts.get('payment.route_band')}){factors}"]
    return []


def _regimes(policy: CompiledPolicy, ids: frozenset[str],
             facts: Mapping[str, Any]) -> list[str]:
    """`regime eu-833-2014-art2 (Council Regulation ...), via the consignee in RU` per id."""
    by_id = {r.id: r for r in policy.sanctions}
    out = []
    for i in sorted(ids):
        r = by_id.get(i)
        via = sanctions.links(r, facts) if r is not None else []
        act = f" ({r.legal_act})" if r is not None else ""
        out.append(f"regime {i}{act}" + (f", via {', '.join(via)}" if via else ""))
    return out


def _matched(test: Test, value: Any) -> frozenset[str]:
    """The members of a set value that the test names (all of them for `exists`)."""
    if not isinstance(value, frozenset):
        return frozenset()
    if test.op == "contains":
        return value & {test.arg}
    if test.op in ("contains_any", "contains_all"):
        return value & frozenset(test.arg)
    return value


def _parties(policy: CompiledPolicy, case: NormalizedCase, test: Test) -> list[str]:
    roles, attr, as_set = PARTY_FACTS[test.fact]
    out = []
    for party in case.parties:
        if party.role not in roles:
            continue
        value = getattr(party, attr)
        if value is None:
            continue
        single = {test.fact: frozenset({value}) if as_set else value}
        if not _test_predicate(test)(single):
            continue
        matched = _matched(test, value) if attr == "factors" else frozenset()
        out.append(_party(party) + _factors(policy, party.country, matched, ()))
    return out


# the predicate of one test, for the profile of one party (a few tests per policy)
_test_predicate = lru_cache(maxsize=4096)(compile_condition)


def _party(party: Party) -> str:
    who = ROLE_LABELS[party.role] + (f" {party.position}" if party.count > 1 else "")
    if party.detail:
        who += f" ({party.detail})"
    where = f"in {party.country}" if party.country else "in an unknown country"
    return f"{who} {where} (band {party.band})"


def _factors(policy: CompiledPolicy, code: Any, factors: frozenset[str],
             shared: tuple[tuple[str, str], ...]) -> str:
    """`: internet_shutdowns (access-now-keepiton, 2024), ...` for the matched factors; a
    factor a shared risk note added cites the note (`shared by XA: note ...`)."""
    if not factors:
        return ""
    dest = policy.destinations.get(code) if isinstance(code, str) else None
    cites = (dict(dest.evidence) if dest else {}) | {
        f: cite for f, cite in shared if not dest or f not in dest.factors}
    return ": " + ", ".join(f"{f} ({cites[f]})" if cites.get(f) else f for f in sorted(factors))


def _destination(policy: CompiledPolicy, case: NormalizedCase, test: Test,
                 facts: Mapping[str, Any]) -> str:
    code = facts.get("destination")
    dest = policy.destinations.get(code) if isinstance(code, str) else None
    if dest is None:
        return f"destination {code or 'not given'} (band {facts.get('destination.band')})"
    head = f"destination {dest.code} ({dest.name})"
    factors = facts.get("destination.factors") or frozenset()  # shared ones included
    if test.fact == "destination.factors":
        return head + _factors(policy, dest.code, _matched(test, factors), case.shared)
    if test.fact == "destination.band":
        shared = sorted(f for f, _ in case.shared)
        return f"{head}: band {facts.get('destination.band')}" + (
            f" from {', '.join(sorted(factors))}" if factors else "") + (
            f" (shared by risk notes: {', '.join(shared)})" if shared else "")
    score = f", score {dest.freedom_score}" if dest.freedom_score is not None else ""
    return f"{head}: Freedom House {dest.freedom_status or 'not rated'}{score}"
