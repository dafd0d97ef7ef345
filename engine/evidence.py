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

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from engine import implicated, sanctions
from engine.conditions import AnyOf, Node, Not, Test, to_nnf
from engine.memo import ByIdentity
from engine.predicates import Predicate, compile_condition

if TYPE_CHECKING:
    from engine.cases import ItemView, NormalizedCase, Party
    from engine.compiler import CompiledPolicy, CompiledRule, DestinationInfo
    from engine.sanctions import CompiledRegime

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


def _plan(node: Node, shown: frozenset[str] = frozenset()) -> _Plan | None:
    """None when the condition tests no fact this module names evidence for (other than
    the `shown` facts, whose evidence the message gives)."""
    if isinstance(node, Not):
        node = to_nnf(node)
    if isinstance(node, Test):
        positive = not node.neg and not (node.op == "exists" and not node.arg)
        cited = positive and node.fact in EVIDENCE_FACTS and node.fact not in shown
        return _Plan(node, False, ()) if cited else None
    if isinstance(node, Not):  # no Not survives to_nnf
        return None
    children = tuple((sub, compile_condition(c)) for c in node.children
                     if (sub := _plan(c, shown)) is not None)
    return _Plan(None, isinstance(node, AnyOf), children) if children else None


@dataclass(frozen=True, slots=True)
class _Cited:
    """A rule's plan without the facts its message shows; `fixed` lists its tests when no
    disjunction decides which of them hold (most rules), so they are walked once."""

    plan: _Plan
    fixed: tuple[Test, ...] | None


def _cited(rule: CompiledRule) -> _Cited | None:
    # a shown fact is left out of the plan rather than skipped per case: a disjunct that
    # cites only shown facts yields nothing, so its predicate need not run either
    plan = _plan(rule.condition, _shown(rule.message))
    if plan is None:
        return None
    return _Cited(plan, None if _disjunctive(plan) else tuple(held_tests(plan, {})))


def _disjunctive(plan: _Plan) -> bool:
    return plan.any or any(_disjunctive(child) for child, _ in plan.children)


# a rule's plan, made once per compiled rule
plan_of: ByIdentity[CompiledRule, _Cited | None] = ByIdentity(_cited, limit=20_000)


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
    cited = plan_of(rule)
    if cited is None:
        return ()
    out: dict[str, None] = {}
    # a party or listed-entry line depends on the case only: described once for all views
    by_case: dict[int, list[str]] = {}
    for facts in [v.facts for v in views] if rule.scope == "item" else (case.facts,):
        tests = cited.fixed if cited.fixed is not None else held_tests(cited.plan, facts)
        for test in tests:
            describe = _DESCRIBERS.get(test.fact)
            if describe is None:
                continue
            if describe in _CASE_ONLY:
                lines = by_case.get(id(test))
                if lines is None:
                    lines = by_case[id(test)] = describe(policy, case, test, facts)
            else:
                lines = describe(policy, case, test, facts)
            for line in lines:
                out[line] = None
    return tuple(out)


@lru_cache(maxsize=1024)
def _shown(message: str) -> frozenset[str]:
    """Facts whose evidence the message already gives in full (`{sanctions}` names each
    regime with its act and link, `{implicated}` each listed party with its basis)."""
    return (SANCTIONS_FACTS if "{sanctions}" in message else frozenset()) | \
        (IMPLICATED_FACTS if "{implicated}" in message else frozenset())


_Describer = Callable[["CompiledPolicy", "NormalizedCase", Test, Mapping[str, Any]], list[str]]


def _describe_parties(policy: CompiledPolicy, case: NormalizedCase, test: Test,
                      facts: Mapping[str, Any]) -> list[str]:
    return _parties(policy, case, test)


def _describe_destination(policy: CompiledPolicy, case: NormalizedCase, test: Test,
                          facts: Mapping[str, Any]) -> list[str]:
    return [_destination(policy, case, test, facts)]


def _describe_regimes(policy: CompiledPolicy, case: NormalizedCase, test: Test,
                      facts: Mapping[str, Any]) -> list[str]:
    return _regimes(policy, _matched(test, facts.get(test.fact) or frozenset()), facts)


def _describe_implicated(policy: CompiledPolicy, case: NormalizedCase, test: Test,
                         facts: Mapping[str, Any]) -> list[str]:
    return [f"listed: {implicated.describe(policy.implicated, case.implicated)}"]


def _describe_route(policy: CompiledPolicy, case: NormalizedCase, test: Test,
                    facts: Mapping[str, Any]) -> list[str]:
    code = facts.get("payment.route_country")
    factors = _factors(policy, code, _matched(test, facts.get(test.fact)), ())
    return [f"payment routed via {code} (band {facts.get('payment.route_band')}){factors}"]


# fact → how its evidence is described; the first of these read the case only
_DESCRIBERS: dict[str, _Describer] = {
    **dict.fromkeys(PARTY_FACTS, _describe_parties),
    **dict.fromkeys(IMPLICATED_FACTS, _describe_implicated),
    **dict.fromkeys(DESTINATION_FACTS, _describe_destination),
    **dict.fromkeys(SANCTIONS_FACTS, _describe_regimes),
    **dict.fromkeys(ROUTE_FACTS, _describe_route),
}
_CASE_ONLY = frozenset({_describe_parties, _describe_implicated})


def _regimes(policy: CompiledPolicy, ids: frozenset[str],
             facts: Mapping[str, Any]) -> list[str]:
    """`regime eu-833-2014-art2 (Council Regulation ...), via the consignee in RU` per id."""
    by_id = _regimes_by_id(policy.sanctions)
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
    holds = _party_test(test)
    out = []
    for party in case.parties:
        if party.role not in roles:
            continue
        value = getattr(party, attr)
        if value is None or not holds(value, as_set):
            continue
        matched = _matched(test, value) if attr == "factors" else frozenset()
        out.append(_party(party) + _factors(policy, party.country, matched, ()))
    return out


class _PartyTest:
    """Whether one party's profile value satisfies a test, remembered per value: parties
    share a few countries, bands and factor sets, and the predicate is pure."""

    def __init__(self, test: Test):
        self._holds = compile_condition(test)
        self._fact = test.fact
        self._seen: dict[tuple[Any, bool], bool] = {}

    def __call__(self, value: Any, as_set: bool) -> bool:
        found = self._seen.get((value, as_set))
        if found is None:
            if len(self._seen) >= 4096:
                self._seen.clear()
            single = {self._fact: frozenset({value}) if as_set else value}
            found = self._seen[(value, as_set)] = bool(self._holds(single))
        return found


# one per test of a compiled rule (a few per policy)
_party_test: ByIdentity[Test, _PartyTest] = ByIdentity(_PartyTest, limit=20_000)
# regimes by id, once per compiled sanctions table
_regimes_by_id: ByIdentity[tuple[CompiledRegime, ...], dict[str, CompiledRegime]] = \
    ByIdentity(lambda regimes: {r.id: r for r in regimes}, limit=1_000)


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
    cites = _citations(dest) if dest else {}
    if shared:
        cites = cites | {f: cite for f, cite in shared if not dest or f not in dest.factors}
    return ": " + ", ".join(f"{f} ({cites[f]})" if cites.get(f) else f for f in sorted(factors))


# a destination's factor citations by factor, once per destination entry (read only)
_citations: ByIdentity[DestinationInfo, dict[str, str]] = ByIdentity(
    lambda dest: dict(dest.evidence), limit=20_000)


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
