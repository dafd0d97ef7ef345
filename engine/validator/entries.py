"""Control entries of categories.yaml: the control-list grammar and the entry's regime.

An entry is ECCN-style (`5A001.j`, Wassenaar / EU Annex I / US CCL numbering) or qualified by
a regime with its own numbering (`eu_2019_125:II.1`, engine/model.py
`QUALIFIED_ENTRY_REGIMES`). The schema admits any `<regime>:<entry>` shape; the grammar of
each regime is checked here (`invalid-entry`), so the registry is its one definition. A
qualified entry's regime prefix and its `regime` field must agree, and a regime of the
registry takes only entries qualified by it (`entry-regime`). Sanctions regimes check their
`restricts.control_entries` with `invalid_entry` too (engine/validator/sanctions.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.diagnostics import Diagnostic, suggest
from engine.loader import JsonPath
from engine.model import CONTROL_ENTRY, QUALIFIED_ENTRY_REGIMES, canonical_entry, entry_regime
from engine.validator.context import Context, Entry, entries

ENTRY_FORMS = "expected a form such as `5A001.j` or `eu_2019_125:II.1` (ASCII)"


def invalid_entry(entry: Entry, path: JsonPath, raw: object, who: str) -> Diagnostic | None:
    """An `invalid-entry` error when `raw` is not of the control-list grammar, else None."""
    value = canonical_entry(str(raw))
    if CONTROL_ENTRY.fullmatch(value):
        return None
    regime = entry_regime(value)
    if regime is not None and regime not in QUALIFIED_ENTRY_REGIMES:
        return entry.error(path, "invalid-entry",
                           f"{who}: `{raw}` names unknown entry regime `{regime}`",
                           suggest(regime, QUALIFIED_ENTRY_REGIMES) or ENTRY_FORMS)
    return entry.error(path, "invalid-entry", f"{who}: `{raw}` is not a control-list entry",
                       help=ENTRY_FORMS)


def _regime_mismatch(ce: Entry, who: str) -> Diagnostic | None:
    entry, regime = canonical_entry(str(ce.data["entry"])), str(ce.data["regime"])
    prefix = entry_regime(entry)
    if prefix is not None and prefix != regime:
        return ce.error(("regime",), "entry-regime",
                        f"{who}: control entry `{entry}` is qualified by regime `{prefix}` "
                        f"but its regime is `{regime}`",
                        help=f"set `regime: {prefix}`")
    if prefix is None and regime in QUALIFIED_ENTRY_REGIMES:
        return ce.error(("entry",), "entry-regime",
                        f"{who}: control entry `{entry}` of regime `{regime}` is not "
                        f"qualified by it",
                        help=f"write the entries of `{regime}` as `{regime}:<entry>`")
    return None


def check_entry_grammar(ctx: Context) -> Iterator[Diagnostic]:
    """Each mapped entry is of the control-list grammar and agrees with its regime."""
    for category in ctx.entries("categories", "categories"):
        who = f"category `{category.data['id']}`"
        for ce in entries(category.doc, category.at("control_entries")):
            problem = invalid_entry(ce, ("entry",), ce.data["entry"], who)
            if problem is None:
                problem = _regime_mismatch(ce, who)
            if problem is not None:
                yield problem
