"""Cross-references of sanctions.yaml (optional; see engine/sanctions.py), run by xref.

The lint for a regime that ended before the version takes effect is `regime-expired` in
engine/validator/lint.py.

Every id a regime names is defined by the version: target countries (destinations.yaml),
categories, control entries (of the control-list grammar, ECCN-style or regime-qualified as
`eu_2019_125:II`, and equal to, a prefix of or an extension of an entry the version maps),
end-use purposes and end-user types. The legal act's source is checked with every other
citation (xref `check_sources`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from engine.diagnostics import Diagnostic, suggest
from engine.model import canonical_entry
from engine.validator.context import Context, Entry
from engine.validator.entries import invalid_entry


def regimes(ctx: Context) -> list[Entry]:
    return ctx.entries("sanctions", "regimes")


def _unknown_in_list(entry: Entry, key: str, known: Collection[str], label: str,
                     who: str, fallback: str | None = None) -> Iterator[Diagnostic]:
    for i, value in enumerate(entry.data.get(key) or ()):
        if value not in known:
            yield entry.error((key, i), "unknown-ref",
                              f"{who} refers to unknown {label} `{value}`",
                              suggest(str(value), known) or fallback)


def _related(entry: str, mapped: frozenset[str]) -> bool:
    """`entry` is a mapped entry, a dot-prefix of one, or an extension of one."""
    return any(entry == m or m.startswith(entry + ".") or entry.startswith(m + ".")
               for m in mapped)


def _control_entries(entry: Entry, ctx: Context, who: str) -> Iterator[Diagnostic]:
    mapped = frozenset(ctx.policy.control_map())
    for i, raw in enumerate((entry.data.get("restricts") or {}).get("control_entries") or ()):
        value = canonical_entry(str(raw))
        path = ("restricts", "control_entries", i)
        problem = invalid_entry(entry, path, raw, who)
        if problem is not None:
            yield problem
        elif not _related(value, mapped):
            yield entry.error(path, "unknown-ref",
                              f"{who} refers to unknown control entry `{value}`",
                              suggest(value, mapped) or
                              "list entries that categories.yaml maps, or their prefixes")


def check_sanctions(ctx: Context) -> Iterator[Diagnostic]:
    """Targets, restricted categories, entries, purposes and end-user types are defined."""
    p = ctx.policy
    for entry in regimes(ctx):
        who = f"regime `{entry.data.get('id')}`"
        yield from _unknown_in_list(entry, "targets", p.destinations, "country", who,
                                    "targets are destination codes of destinations.yaml")
        what = entry.data.get("restricts") or {}
        sub = Entry(entry.doc, entry.at("restricts"), what)
        yield from _unknown_in_list(sub, "categories", p.categories, "category", who)
        yield from _unknown_in_list(sub, "end_uses", p.purposes, "end-use purpose", who)
        yield from _unknown_in_list(sub, "end_user_types", p.end_user_types,
                                    "end-user type", who)
        yield from _control_entries(entry, ctx, who)
        start, end = entry.data.get("in_force_from"), entry.data.get("in_force_until")
        if isinstance(start, str) and isinstance(end, str) and end < start:
            yield entry.error(("in_force_until",), "regime-dates",
                              f"{who}: `in_force_until` {end} is before `in_force_from` "
                              f"{start}")

