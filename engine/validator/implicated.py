"""Cross-references of implicated_parties.yaml (optional; see engine/implicated.py), run by
xref.

Entry ids are unique (xref `check_duplicate_ids`) and the citations resolve to sources.yaml
(xref `check_sources`), as everywhere else. Here: the country is a destination code, a
designated entry names its designation, only a designated entry can be removed, every name
holds a letter or a digit, and no two entries share a name a party could match both by.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from engine.diagnostics import Diagnostic, suggest
from engine.implicated import normalise_name
from engine.loader import JsonPath
from engine.schemas import printable
from engine.validator.context import Context, Entry

# Codes people write for a country that ISO 3166-1 spells otherwise (EU and UK usage).
COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}


def suggest_country(code: str, known: Collection[str]) -> str | None:
    """`did you mean` for a two-letter code: a usual alias (`UK` → `GB`), the letters
    swapped (`LI` → `IL`), else a close id (difflib cannot rank two-letter codes)."""
    for candidate in (COUNTRY_ALIASES.get(code), code[::-1]):
        if candidate is not None and candidate != code and candidate in known:
            return f"did you mean `{candidate}`?"
    return suggest(code, known)


def parties(ctx: Context) -> list[Entry]:
    return ctx.entries("implicated_parties", "parties")


def _names(entry: Entry) -> Iterator[tuple[JsonPath, str]]:
    """(path, name as written) of the entry's name and aliases."""
    if isinstance(entry.data.get("name"), str):
        yield ("name",), entry.data["name"]
    for i, alias in enumerate(entry.data.get("aliases") or ()):
        if isinstance(alias, str):
            yield ("aliases", i), alias


def _status(entry: Entry, who: str) -> Iterator[Diagnostic]:
    status = entry.data.get("status")
    if status == "designated" and not entry.data.get("designation"):
        yield entry.error(("status",), "missing-designation",
                          f"{who} is designated but gives no `designation`",
                          help="name the list and the date of the listing "
                               "(`US Entity List 2021-11-03`), or use status `attributed`")
    if status == "attributed" and "removed" in entry.data:
        yield entry.error(("removed",), "party-removed",
                          f"{who} is attributed, so it cannot be `removed` from a list",
                          help="only a designated entry is removed (delisted); an attribution "
                               "that no longer holds is deleted or corrected")


def _duplicate_names(entries: list[Entry]) -> Iterator[Diagnostic]:
    """Two entries a party could match both by: a shared name, same or unstated country."""
    seen: dict[str, list[tuple[Entry, str | None]]] = {}
    for entry in entries:
        country = entry.data.get("country")
        mine: set[str] = set()
        for path, written in _names(entry):
            key = normalise_name(written)
            if not key or key in mine:
                continue
            mine.add(key)
            for other, other_country in seen.get(key, ()):
                if country is None or other_country is None or country == other_country:
                    where = f"in {country}" if country == other_country else \
                        "and one of them gives no country"
                    yield entry.error(
                        path, "duplicate-name",
                        f"party `{entry.data.get('id')}`: name `{printable(written)}` is also "
                        f"a name of party `{other.data.get('id')}` (at {other.line()}) {where}",
                        help="a party of a case would match both: merge the entries, or give "
                             "each its own country")
                    break
            seen.setdefault(key, []).append((entry, country))


def check_implicated(ctx: Context) -> Iterator[Diagnostic]:
    """Countries are destination codes, statuses are complete, names are matchable."""
    known = ctx.policy.destinations
    found = parties(ctx)
    for entry in found:
        who = f"party `{entry.data.get('id')}`"
        country = entry.data.get("country")
        if country is not None and country not in known:
            yield entry.error(("country",), "unknown-ref",
                              f"{who} refers to unknown country `{country}`",
                              suggest_country(str(country), known) or
                              "countries are destination codes of destinations.yaml")
        yield from _status(entry, who)
        for path, written in _names(entry):
            if not normalise_name(written):
                yield entry.error(path, "blank-name",
                                  f"{who}: name `{printable(written)}` holds no letter or digit",
                                  help="names are compared by their letters and digits only")
    yield from _duplicate_names(found)
