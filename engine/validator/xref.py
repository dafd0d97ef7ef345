"""Cross-reference checks of one schema-valid version: every id used is defined, once.

Each check is a small function over the `Context` registered in `XREF_CHECKS`; all report
errors at the file:line:col of the offending value, with a `did you mean` help when a
defined id is close. Conditions are parsed again here with the policy's vocabularies, so an
id argument (category, factor, band, ...) is checked against what the version defines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any

import pycountry

from engine import conditions
from engine.conditions import Node
from engine.decision import BUILTIN_FINDINGS
from engine.diagnostics import Diagnostic, suggest
from engine.facts import BAND_FACTS, FACTS, TEMPLATE_EXTRAS
from engine.loader import JsonPath
from engine.model import UNKNOWN_BAND, canonical_entry, raw_definitions
from engine.validator.context import Context, Entry, entries
from engine.validator.entries import check_entry_grammar
from engine.validator.evidence import check_inheritance
from engine.validator.implicated import check_implicated
from engine.validator.sanctions import check_sanctions

Check = Callable[[Context], Iterable[Diagnostic]]

# The durable-rules backend compiles each DNF conjunction of a rule to one ruleset entry.
MAX_CONJUNCTIONS = 64
EXTRA_DESTINATIONS = frozenset({"XK"})  # Kosovo: no ISO code, user-assigned and widely used
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

# Vocabulary label → (file kind, path of its list of entries).
VOCABULARIES: dict[str, tuple[str, JsonPath]] = {
    "commitment": ("policy", ("commitments",)),
    "source": ("sources", ("sources",)),
    "group": ("categories", ("groups",)),
    "category": ("categories", ("categories",)),
    "factor": ("risk_bands", ("factors",)),
    "end-user type": ("end_users", ("end_user_types",)),
    "red flag": ("end_users", ("red_flags",)),
    "end-use purpose": ("end_users", ("end_use_purposes",)),
    "intermediary role": ("end_users", ("intermediary_roles",)),
    "assurance": ("assurances", ("assurances",)),
    "licence condition": ("assurances", ("license_conditions",)),
    "sanctions regime": ("sanctions", ("regimes",)),
    "implicated party": ("implicated_parties", ("parties",)),
}


def unknown(entry: Entry, sub: JsonPath, value: Any, known: Collection[str], label: str,
            owner: str) -> Iterator[Diagnostic]:
    """An `unknown-ref` error at `entry`/`sub` unless `value` is one of `known`."""
    if value not in known:
        yield entry.error(sub, "unknown-ref", f"{owner} refers to unknown {label} `{value}`",
                          suggest(str(value), known))


def unknown_in_list(entry: Entry, key: str, known: Collection[str], label: str,
                    owner: str) -> Iterator[Diagnostic]:
    for i, value in enumerate(entry.data.get(key) or ()):
        yield from unknown(entry, (key, i), value, known, label, owner)


def check_version_dir(ctx: Context) -> Iterator[Diagnostic]:
    """policy.yaml names the directories it lives in: <policy-id>/<version>/."""
    doc = ctx.doc("policy")
    if doc is None:
        return
    expected = {"policy": ctx.src.path.parent.name, "version": ctx.src.path.name}
    for key, want in expected.items():
        if doc.data.get(key) != want:
            yield doc.diagnostic(
                (key,), "version-mismatch",
                f"`{key}` is `{doc.data.get(key)}` but the directory is named `{want}`",
                help="a version lives in <policy-id>/<version>/: rename one of them")


def check_dates(ctx: Context) -> Iterator[Diagnostic]:
    p, doc = ctx.policy, ctx.doc("policy")
    if doc is not None and p.effective_until is not None and p.effective_until < p.effective_from:
        yield doc.diagnostic(("effective_until",), "effective-dates",
                             f"`effective_until` {p.effective_until} is before `effective_from` "
                             f"{p.effective_from}")


def duplicates(label: str, items: Iterable[Entry]) -> Iterator[Diagnostic]:
    first: dict[Any, Entry] = {}
    for entry in items:
        key = entry.data.get("id")
        if key in first:
            yield entry.error(("id",), "duplicate-id",
                              f"duplicate {label} id `{key}` (first defined at "
                              f"{first[key].line()})",
                              help=f"{label} ids must be unique within a version")
        else:
            first[key] = entry


def check_duplicate_ids(ctx: Context) -> Iterator[Diagnostic]:
    """Ids are unique within each vocabulary; rule ids across rules and requirements."""
    for label, (kind, path) in VOCABULARIES.items():
        yield from duplicates(label, ctx.entries(kind, *path))
    yield from duplicates("rule", ctx.rule_entries())
    yield from duplicates("named condition", ctx.entries("rules", "definitions"))


def check_reserved_ids(ctx: Context) -> Iterator[Diagnostic]:
    for entry in ctx.rule_entries():
        if entry.data.get("id") in BUILTIN_FINDINGS:
            yield entry.error(("id",), "reserved-id",
                              f"{entry.owner()} uses the id of a built-in finding",
                              help="reserved ids: " + ", ".join(f"`{i}`" for i in BUILTIN_FINDINGS))


def _source_refs(data: Any, path: JsonPath, who: str) -> Iterator[tuple[JsonPath, str, str]]:
    """Every `source:` value (citations, destination factors, Freedom House data)."""
    if isinstance(data, dict):
        if len(path) == 2 and path[0] == "destinations":
            who = f"destination `{path[1]}`"
        elif isinstance(data.get("id"), str) and path[:1] != ("destinations",):
            who = f"`{data['id']}`"
        if isinstance(data.get("source"), str):
            yield (*path, "source"), data["source"], who
        for key, value in data.items():
            yield from _source_refs(value, (*path, key), who)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _source_refs(value, (*path, i), who)


def check_sources(ctx: Context) -> Iterator[Diagnostic]:
    """Every cited source is defined in sources.yaml."""
    known = ctx.policy.sources
    for rel, doc in sorted(ctx.src.docs.items()):
        if rel == "sources.yaml":
            continue
        for path, value, who in _source_refs(doc.data, (), "citation"):
            if value not in known:
                yield doc.diagnostic(path, "unknown-ref", f"{who} cites unknown source `{value}`",
                                     suggest(value, known))


def check_categories(ctx: Context) -> Iterator[Diagnostic]:
    p = ctx.policy
    for entry in ctx.entries("categories", "categories"):
        who = f"category `{entry.data['id']}`"
        yield from unknown(entry, ("risk",), entry.data["risk"], p.risk_levels, "risk level", who)
        yield from unknown_in_list(entry, "groups", p.groups, "group", who)


def check_control_entries(ctx: Context) -> Iterator[Diagnostic]:
    """A control entry classifies into exactly one category."""
    seen: dict[str, tuple[str, Entry]] = {}
    for category in ctx.entries("categories", "categories"):
        cid = category.data["id"]
        for ce in entries(category.doc, category.at("control_entries")):
            key = canonical_entry(ce.data["entry"])
            if key not in seen:
                seen[key] = (cid, ce)
            elif seen[key][0] != cid:
                yield ce.error(("entry",), "control-entry-conflict",
                               f"control entry `{key}` of category `{cid}` is already mapped to "
                               f"category `{seen[key][0]}` at {seen[key][1].line()}",
                               help="map each entry to one category, or map narrower "
                                    "sub-entries (`5A001.j`) to different categories")


def check_bands(ctx: Context) -> Iterator[Diagnostic]:
    """Band rules and the default name bands of `bands.order`."""
    doc, order = ctx.doc("risk_bands"), ctx.policy.bands
    if doc is None:
        return
    for entry in entries(doc, ("bands", "rules")):
        yield from unknown(entry, ("band",), entry.data["band"], order, "band", "band rule")
    if UNKNOWN_BAND in order:
        yield doc.diagnostic(("bands", "order", order.index(UNKNOWN_BAND)), "reserved-id",
                             f"band `{UNKNOWN_BAND}` is reserved for unknown destinations",
                             help="choose another name for this band")
    default = doc.data["bands"]["default"]
    if default not in order:
        yield doc.diagnostic(("bands", "default"), "unknown-ref",
                             f"default band refers to unknown band `{default}`",
                             suggest(default, order))


def check_destinations(ctx: Context) -> Iterator[Diagnostic]:
    """Every ISO 3166-1 alpha-2 code has an entry; no other code does (but XK)."""
    doc = ctx.doc("destinations")
    if doc is None:
        return
    given = doc.data["destinations"]
    iso = {c.alpha_2 for c in pycountry.countries}
    missing = sorted(iso - set(given))
    if missing:
        yield doc.diagnostic(("destinations",), "destination-missing",
                             f"{len(missing)} ISO 3166-1 codes have no destination entry: "
                             + ", ".join(missing),
                             help="add an entry (name and factors) for each code", key=True)
    for code in given:
        if code not in iso | EXTRA_DESTINATIONS:
            yield doc.diagnostic(("destinations", code), "unknown-ref",
                                 f"`{code}` is not an ISO 3166-1 alpha-2 code", key=True,
                                 help="destinations are ISO 3166-1 alpha-2 codes, plus `XK`")


def check_destination_factors(ctx: Context) -> Iterator[Diagnostic]:
    doc, known = ctx.doc("destinations"), ctx.policy.factors
    for code in doc.data["destinations"] if doc is not None else ():
        for entry in entries(doc, ("destinations", code, "factors")):
            yield from unknown(entry, ("id",), entry.data["id"], known, "factor",
                               f"destination `{code}`")


def check_rule_refs(ctx: Context) -> Iterator[Diagnostic]:
    """Commitments, assurances and licence conditions named by rules and requirements."""
    p = ctx.policy
    for entry in ctx.rule_entries():
        who = entry.owner()
        yield from unknown_in_list(entry, "commitments", p.commitments, "commitment", who)
        yield from unknown_in_list(entry, "require_assurances", p.assurances, "assurance", who)
        yield from unknown_in_list(entry, "conditions", p.license_conditions,
                                   "licence condition", who)


def condition(entry: Entry, ctx: Context, allowed: Collection[str] | None = None,
              definitions: Mapping[str, Node | None] | None = None) -> Iterator[Diagnostic]:
    """Problems of one `when`, with ids checked against the policy's vocabularies."""
    who = entry.owner()
    node, problems = conditions.parse(entry.data["when"], entry.at("when"), ctx.policy.vocab,
                                      allowed, definitions)
    for p in problems:
        yield entry.doc.diagnostic(p.path, p.code, f"{who}: {p.message}", p.help)
    if allowed is None and node is not None and \
            conditions.dnf(conditions.to_nnf(node), MAX_CONJUNCTIONS) is None:
        yield entry.error(("when",), "condition-too-complex",
                          f"{who}: the condition expands to more than {MAX_CONJUNCTIONS} "
                          "conjunctions (disjunctive normal form)",
                          help="split the rule, or factor common tests out of nested `any`")


def named_conditions(ctx: Context) -> tuple[dict[str, Node | None], list[Diagnostic]]:
    """The version's named conditions, parsed with the vocabularies, and their problems."""
    raw = raw_definitions(ctx.src)
    nodes, problems = conditions.parse_definitions({k: (v[0], v[1]) for k, v in raw.items()},
                                                   ctx.policy.vocab)
    out = [raw[name][2].diagnostic(p.path, p.code, f"named condition `{name}`: {p.message}",
                                   p.help)
           for name, found in problems.items() for p in found]
    return nodes, out


def check_conditions(ctx: Context) -> Iterator[Diagnostic]:
    definitions, problems = named_conditions(ctx)
    yield from problems
    for entry in ctx.rule_entries():
        if "when" in entry.data:
            yield from condition(entry, ctx, definitions=definitions)
    for entry in entries(ctx.doc("risk_bands"), ("bands", "rules")):
        yield from condition(entry, ctx, BAND_FACTS)


def check_fields(ctx: Context) -> Iterator[Diagnostic]:
    """An information requirement asks for a known fact."""
    for entry in ctx.entries("information", "requirements"):
        name = entry.data["field"]
        if name not in FACTS:
            yield entry.error(("field",), "unknown-fact",
                              f"{entry.owner()} asks for unknown fact `{name}`",
                              suggest(name, FACTS))


def check_templates(ctx: Context) -> Iterator[Diagnostic]:
    """Every `{name}` of a message or request is a fact or a template extra."""
    known = {*FACTS, *TEMPLATE_EXTRAS}
    for entry in ctx.rule_entries():
        for key in ("message", "request"):
            for name in PLACEHOLDER.findall(str(entry.data.get(key, ""))):
                if name not in known:
                    yield entry.error((key,), "template-unknown-fact",
                                      f"{entry.owner()}: `{{{name}}}` in the {key} is not a fact",
                                      suggest(name, known) or
                                      "placeholders are facts or " + ", ".join(TEMPLATE_EXTRAS))


XREF_CHECKS: dict[str, Check] = {
    "version-dir": check_version_dir,
    "dates": check_dates,
    "duplicate-ids": check_duplicate_ids,
    "reserved-ids": check_reserved_ids,
    "sources": check_sources,
    "categories": check_categories,
    "control-entries": check_control_entries,
    "entry-grammar": check_entry_grammar,  # engine/validator/entries.py
    "bands": check_bands,
    "destinations": check_destinations,
    "destination-factors": check_destination_factors,
    "destination-inheritance": check_inheritance,  # engine/validator/evidence.py
    "rule-refs": check_rule_refs,
    "conditions": check_conditions,
    "fields": check_fields,
    "templates": check_templates,
    "sanctions": check_sanctions,  # engine/validator/sanctions.py
    "implicated-parties": check_implicated,  # engine/validator/implicated.py
}


def check_references(ctx: Context) -> list[Diagnostic]:
    """Run every cross-reference check."""
    return [d for check in XREF_CHECKS.values() for d in check(ctx)]
