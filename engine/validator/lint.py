"""Lint checks of one valid version: things that are allowed but almost surely mistakes.

Every check is registered in `LINTS` under the code it reports, with its severity. Lints run
only on a version without errors (a misspelt id would otherwise also show up as an unused
category, say). Conditions are compared in the form both backends evaluate: information
requirements as `all[when, field missing]`, in negation normal form.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from engine import conditions
from engine.conditions import All, AnyOf, Node, Not, Test
from engine.diagnostics import Diagnostic
from engine.loader import Document, JsonPath
from engine.model import Rule
from engine.schemas import file_kind
from engine.validator.context import Context, Entry
from engine.validator.contradictions import contradiction
from engine.validator.xref import MAX_CONJUNCTIONS

WARNING = "warning"
MODELINE = "# yaml-language-server: $schema="


@dataclass(frozen=True, slots=True)
class Hit:
    """What a lint found: where (a JSON path, or a line when `path` is None) and why."""

    doc: Document
    path: JsonPath | None
    message: str
    help: str | None = None
    line: int = 1


@dataclass(frozen=True, slots=True)
class Lint:
    severity: str
    check: Callable[[Context], Iterable[Hit]]
    description: str


def effective(rule: Rule) -> Node:
    """The condition the engine evaluates for a rule or an information requirement."""
    when = rule.when if rule.when is not None else conditions.TRUE
    if rule.field is None:
        return when
    return All((when, Test(rule.field, "exists", False)))


def effect(rule: Rule) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Outcome (explicit or implied by the design's defaults), assurances and conditions."""
    implied = "approve_with_conditions" if rule.conditions else "approve"
    return (rule.outcome or implied, tuple(sorted(rule.require_assurances)),
            tuple(sorted(rule.conditions)))


def where(entry: Entry) -> JsonPath:
    return entry.at("when") if "when" in entry.data else entry.at("id")


def never_fires(ctx: Context) -> Iterator[Hit]:
    """Every DNF conjunction of the rule's condition is contradictory."""
    for rule, entry in ctx.located_rules():
        conjunctions = conditions.dnf(conditions.to_nnf(effective(rule)), MAX_CONJUNCTIONS)
        if conjunctions is None:
            continue
        clashes = [contradiction(c) for c in conjunctions]
        if all(clashes):
            example = " and ".join(conditions.render_test(t) for t in clashes[0] or ()) \
                if clashes else "never"
            yield Hit(entry.doc, where(entry), f"rule `{rule.id}` can never fire: its condition "
                      "is contradictory", f"`{example}` cannot hold")


def _canonical(ir: Any) -> Any:
    """IR with commutative parts ordered, single-child and nested same-kind groups flattened."""
    if "test" in ir:
        test = dict(ir["test"])
        if isinstance(test["arg"], list):
            test["arg"] = sorted(test["arg"], key=str)
        return {"test": test}
    kind = "all" if "all" in ir else "any"
    children: dict[str, Any] = {}
    for child in map(_canonical, ir[kind]):
        for part in child.get(kind, [child]):
            children[json.dumps(part, sort_keys=True)] = part
    if len(children) == 1:
        return next(iter(children.values()))
    return {kind: [children[k] for k in sorted(children)]}


def canonical(node: Node) -> str:
    """Canonical JSON of a condition: equal strings mean the same condition."""
    return json.dumps(_canonical(conditions.to_json(conditions.to_nnf(node))), sort_keys=True)


def same_condition(ctx: Context) -> Iterator[tuple[Rule, Entry, Rule, Entry]]:
    """Pairs (earlier, later) of rules with the same condition."""
    seen: dict[str, list[tuple[Rule, Entry]]] = {}
    for rule, entry in ctx.located_rules():
        key = canonical(effective(rule))
        for first, first_entry in seen.get(key, ()):
            yield first, first_entry, rule, entry
        seen.setdefault(key, []).append((rule, entry))


def conflicting_rules(ctx: Context) -> Iterator[Hit]:
    """Same condition, different explicit outcomes: the less severe one can never decide.

    A rule without `outcome` (only assurances or licence conditions) complements a rule
    with the same condition rather than conflicting with it.
    """
    reported: set[str] = set()
    for first, first_entry, rule, entry in same_condition(ctx):
        if None not in (first.outcome, rule.outcome) and first.outcome != rule.outcome \
                and rule.id not in reported:
            reported.add(rule.id)
            yield Hit(entry.doc, where(entry),
                      f"rule `{rule.id}` has the same condition as rule `{first.id}` "
                      f"({first_entry.line()}) but outcome `{rule.outcome}` instead of "
                      f"`{first.outcome}`",
                      "both always fire together: merge them or make the conditions differ")


def duplicate_condition(ctx: Context) -> Iterator[Hit]:
    """Same condition and same effect: one of the two rules is redundant."""
    reported: set[str] = set()
    for first, first_entry, rule, entry in same_condition(ctx):
        if effect(first) == effect(rule) and rule.id not in reported:
            reported.add(rule.id)
            yield Hit(entry.doc, where(entry),
                      f"rule `{rule.id}` repeats the condition and effect of rule `{first.id}` "
                      f"({first_entry.line()})", "remove one of them")


def _arguments(nodes: Iterable[Node | None], facts: set[str]) -> set[Any]:
    out: set[Any] = set()
    for node in nodes:
        for t in conditions.tests(node) if node is not None else ():
            if t.fact in facts and t.op != "exists":
                out.update(t.arg if isinstance(t.arg, tuple) else (t.arg,))
    return out


def unused_category(ctx: Context) -> Iterator[Hit]:
    """No rule or requirement tests the category, its groups, risk level or entries."""
    p = ctx.policy
    when = [effective(r) for r in p.rules]
    cats = _arguments(when, {"item.category", "case.categories"})
    groups = _arguments(when, {"item.groups"})
    risks = _arguments(when, {"item.risk"})
    entries = _arguments(when, {"item.control_entries"})
    for entry in ctx.entries("categories", "categories"):
        c = p.categories[entry.data["id"]]
        if c.id in cats or set(c.groups) & groups or c.risk in risks or \
                {ce.entry for ce in c.control_entries} & entries:
            continue
        yield Hit(entry.doc, entry.at("id"), f"category `{c.id}` is not used by any rule",
                  "test it with `item.category`, `case.categories`, `item.groups` or "
                  "`item.risk`, or remove it")


def unused_factor(ctx: Context) -> Iterator[Hit]:
    """No rule nor band rule tests the destination factor."""
    p = ctx.policy
    nodes = [r.when for r in p.rules] + [b.when for b in p.band_rules]
    used = _arguments(nodes, {"destination.factors"})
    for entry in ctx.entries("risk_bands", "factors"):
        if entry.data["id"] not in used:
            yield Hit(entry.doc, entry.at("id"),
                      f"factor `{entry.data['id']}` is not used by any rule or band rule",
                      "test it with `destination.factors`, or remove it")


def modeline(text: str) -> tuple[int, str] | None:
    """Line number and schema of the modeline in the leading comment block, if any."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(MODELINE):
            return number, line[len(MODELINE):].strip()
        if line.strip() and not line.startswith("#"):
            return None
    return None


def missing_modeline(ctx: Context) -> Iterator[Hit]:
    """Editors validate a file only when its leading comments name its schema."""
    for rel, doc in sorted(ctx.src.docs.items()):
        if modeline(doc.text) is None:
            yield Hit(doc, None, f"`{rel}` does not start with a `{MODELINE}` modeline",
                      f"add `{MODELINE}<relative path>/schemas/{file_kind(rel)}.schema.json` "
                      "as the first line so editors check the file")


def wrong_modeline(ctx: Context) -> Iterator[Hit]:
    """The modeline names the schema of the file's kind."""
    for rel, doc in sorted(ctx.src.docs.items()):
        found = modeline(doc.text)
        want = f"{file_kind(rel)}.schema.json"
        if found is not None and found[1].rsplit("/", 1)[-1] != want:
            yield Hit(doc, None, f"the modeline of `{rel}` names `{found[1]}`, not `{want}`",
                      line=found[0])


def _needs_absent_factor(conj: tuple[Test, ...], absent: frozenset[str]) -> str | None:
    """A factor no destination has that this conjunction requires, if any."""
    for t in conj:
        if t.fact != "destination.factors" or t.neg:
            continue
        needed = {t.arg} if t.op == "contains" else set(t.arg) if t.op == "contains_all" \
            else set(t.arg) if t.op == "contains_any" and set(t.arg) <= absent else set()
        hit = sorted(needed & absent)
        if hit:
            return hit[0]
    return None


def unreachable_factor(ctx: Context) -> Iterator[Hit]:
    """Every DNF conjunction requires a destination factor that no destination has."""
    present = frozenset().union(*(d.factors for d in ctx.policy.destinations.values()))
    absent = frozenset(ctx.policy.factors) - present
    if not absent:
        return
    for rule, entry in ctx.located_rules():
        conjunctions = conditions.dnf(conditions.to_nnf(effective(rule)), MAX_CONJUNCTIONS)
        if not conjunctions:
            continue
        needs = [_needs_absent_factor(c, absent) for c in conjunctions]
        if all(needs):
            yield Hit(entry.doc, where(entry), f"rule `{rule.id}` can never fire: it needs "
                      f"destination factor `{needs[0]}`, which no destination has",
                      "assign the factor in destinations.yaml or drop the rule")


def _names(node: Node | None) -> Iterator[str]:
    """The named conditions a condition uses (directly or through another one)."""
    if isinstance(node, All) and node.name is not None:
        yield node.name
    if isinstance(node, Not):
        yield from _names(node.child)
    elif isinstance(node, All | AnyOf):
        for child in node.children:
            yield from _names(child)


def unused_definition(ctx: Context) -> Iterator[Hit]:
    """A named condition no rule or information requirement uses."""
    used = {n for rule in ctx.policy.rules for n in _names(rule.when)}
    for entry in ctx.entries("rules", "definitions"):
        if entry.data.get("id") not in used:
            yield Hit(entry.doc, entry.at("id"), f"named condition `{entry.data.get('id')}` "
                      "is not used by any rule", "use it with `{ref: <id>}` or remove it")


def evidence_review(ctx: Context) -> Iterator[Hit]:
    """Evidence for a destination factor whose `review_by` is before the version takes
    effect: the version relies on evidence nobody has looked at again."""
    start, doc = ctx.policy.effective_from, ctx.doc("destinations")
    if doc is None:
        return
    for code, d in doc.data["destinations"].items():
        for i, factor in enumerate(d.get("factors") or ()):
            due = factor.get("review_by")
            if isinstance(due, str) and due < start:
                yield Hit(doc, ("destinations", code, "factors", i, "review_by"),
                          f"evidence for factor `{factor.get('id')}` of destination `{code}` "
                          f"was due for review on {due}, before the version takes effect "
                          f"({start})", "check the source again and update `as_of` and "
                          "`review_by`, or remove the factor")


def regime_expired(ctx: Context) -> Iterator[Hit]:
    """A sanctions regime whose `in_force_until` is before the version takes effect."""
    start = ctx.policy.effective_from
    for entry in ctx.entries("sanctions", "regimes"):
        until = entry.data.get("in_force_until")
        if isinstance(until, str) and until < start:
            yield Hit(entry.doc, entry.at("in_force_until"),
                      f"regime `{entry.data.get('id')}` ended on {until}, before the version "
                      f"takes effect ({start}): it can never apply",
                      "remove the lifted regime, or correct `in_force_until`")


LINTS: dict[str, Lint] = {
    "unreachable-factor": Lint(WARNING, unreachable_factor,
                               "a rule that needs a factor no destination has"),
    "never-fires": Lint(WARNING, never_fires, "a rule whose condition can never hold"),
    "conflicting-rules": Lint(WARNING, conflicting_rules,
                              "two rules with one condition and different outcomes"),
    "duplicate-condition": Lint(WARNING, duplicate_condition,
                                "two rules with one condition and the same effect"),
    "unused-category": Lint(WARNING, unused_category, "a category no rule tests"),
    "unused-definition": Lint(WARNING, unused_definition, "a named condition no rule uses"),
    "unused-factor": Lint(WARNING, unused_factor, "a destination factor nothing tests"),
    "missing-modeline": Lint(WARNING, missing_modeline, "a file without a schema modeline"),
    "wrong-modeline": Lint(WARNING, wrong_modeline, "a modeline naming another file's schema"),
    "evidence-review": Lint(WARNING, evidence_review,
                            "destination evidence past its review date"),
    "regime-expired": Lint(WARNING, regime_expired,
                           "a sanctions regime that ended before the version takes effect"),
}


def to_diagnostic(code: str, lint: Lint, hit: Hit) -> Diagnostic:
    if hit.path is None:
        return Diagnostic(code, hit.message, hit.doc.path, hit.line, 1, lint.severity, hit.help)
    return hit.doc.diagnostic(hit.path, code, hit.message, hit.help, severity=lint.severity)


def run_lints(ctx: Context) -> list[Diagnostic]:
    """Run every registered lint check."""
    return [to_diagnostic(code, lint, hit)
            for code, lint in LINTS.items() for hit in lint.check(ctx)]
