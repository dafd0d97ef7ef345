"""End users credibly implicated in misuse, as data: compile implicated_parties.yaml, match
the foreign parties of a case against it.

An entry (engine/model.py `ImplicatedParty`) is designated (on a legal restricted-party list)
or attributed (a credible public attribution, no designation). A party of a case matches an
entry when its normalised name equals the entry's normalised name or one of its aliases
(`normalise_name`) and, when both give a country, the countries are equal: a name match with
another stated country does not match, a party without a (known) country matches on its
name alone, so an unstated country can never hide a listed party. A designated entry
`removed` on or before the case's `submitted` date matches as `delisted`: a rule may still
refer it, but a rule that denies designated parties no longer sees it as designated.

The result is three set facts (engine/facts.py): `end_user.implicated` and
`parties.implicated` (the statuses of the entries the end user, resp. any foreign party,
matches) and `implicated.parties` (the entry ids); the matches themselves stay on the
normalised case for the `{implicated}` message placeholder. Everything here is plain data
and plain functions, so both backends see the same sets (flattened like any other set).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from engine.memo import ByIdentity
from engine.model import Policy

# How messages name a party of each role, in the order an officer reads them.
ROLES = {"end_user": "the end user", "consignee": "a consignee",
         "intermediary": "an intermediary", "purchaser": "the purchaser",
         "previous_consignee": "the previous consignee"}


def normalise_name(text: str) -> str:
    """NFKC, casefold, every run of non-alphanumeric characters → one space, stripped.

    `Hangzhou Hikvision Digital Technology Co., Ltd.` → `hangzhou hikvision digital
    technology co ltd`; a name with no letter or digit normalises to ``.
    """
    if text.isascii():  # NFKC changes no ASCII text, casefold is lower: the common case
        return " ".join(_ASCII_WORD.findall(text.lower()))
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in folded).split())


_ASCII_WORD = re.compile("[a-z0-9]+")  # the ASCII characters `str.isalnum` accepts, lowered


@dataclass(frozen=True, slots=True)
class CompiledParty:
    id: str
    name: str
    names: frozenset[str]  # the normalised name and aliases
    country: str | None
    status: str  # designated | attributed
    designation: str | None
    source: str  # title of the first cited source (what an attribution rests on)
    confidence: str
    removed: str | None

    def status_on(self, day: str) -> str:
        """`delisted` for a designated entry removed on or before `day`, else the status."""
        if self.status == "designated" and self.removed is not None and self.removed <= day:
            return "delisted"
        return self.status

    def matches(self, name: str, country: str | None) -> bool:
        """`name` is normalised; countries only decide when both are known."""
        return name in self.names and (country is None or self.country is None
                                       or country == self.country)

    def ir(self) -> dict[str, Any]:
        return {"id": self.id, "names": sorted(self.names), "country": self.country,
                "status": self.status, "removed": self.removed}


@dataclass(frozen=True, slots=True)
class Match:
    """One party of a case that matches one entry."""

    role: str  # a key of ROLES
    party: str  # entry id
    status: str  # designated | attributed | delisted


def compile_parties(policy: Policy) -> tuple[CompiledParty, ...]:
    """The version's entries as plain data, ordered by id."""
    out = []
    for e in sorted(policy.implicated.values(), key=lambda e: e.id):
        first = e.sources[0].source if e.sources else ""
        src = policy.sources.get(first)
        names = frozenset(n for n in map(normalise_name, (e.name, *e.aliases)) if n)
        out.append(CompiledParty(e.id, e.name, names, e.country, e.status, e.designation,
                                 src.title if src else first, e.confidence, e.removed))
    return tuple(out)


def _index_by_name(entries: tuple[CompiledParty, ...]) -> dict[str, tuple[CompiledParty, ...]]:
    """The entries by normalised name and alias, in entry order."""
    index: dict[str, list[CompiledParty]] = {}
    for e in entries:
        for n in sorted(e.names):
            index.setdefault(n, []).append(e)
    return {k: tuple(v) for k, v in index.items()}


# built once per compiled entry table
_by_name: ByIdentity[tuple[CompiledParty, ...], dict[str, tuple[CompiledParty, ...]]] = \
    ByIdentity(_index_by_name, limit=64)


def match(entries: Iterable[CompiledParty], day: str,
          parties: Iterable[tuple[str, str | None, str | None]]) -> tuple[Match, ...]:
    """The matches of (role, name, known country) parties, in party then entry order."""
    by_name = _by_name(tuple(entries))
    out: dict[Match, None] = {}
    for role, name, country in parties:
        key = normalise_name(name) if name else ""
        if not key:
            continue
        for e in by_name.get(key, ()):
            if e.matches(key, country):
                out[Match(role, e.id, e.status_on(day))] = None
    return tuple(out)


def annotate(entries: tuple[CompiledParty, ...], submitted: str,
             case: MutableMapping[str, Any],
             parties: Iterable[tuple[str, str | None, str | None]]) -> tuple[Match, ...]:
    """Set the three implicated facts on the case facts; return the matches."""
    found = match(entries, submitted[:10], parties) if entries else ()
    if not found:  # the common case: three empty sets
        case["end_user.implicated"] = case["parties.implicated"] = \
            case["implicated.parties"] = frozenset()
        return found
    case["end_user.implicated"] = frozenset(m.status for m in found if m.role == "end_user")
    case["parties.implicated"] = frozenset(m.status for m in found)
    case["implicated.parties"] = frozenset(m.party for m in found)
    return found


def describe(entries: Iterable[CompiledParty], found: Iterable[Match]) -> str:
    """`the end user Hikvision (designated: US Entity List 2019-10-09; V)` per match, joined
    with `; `; `none` when there is none."""
    by_id: Mapping[str, CompiledParty] = {e.id: e for e in entries}
    parts = []
    for m in found:
        who = ROLES.get(m.role, m.role)
        e = by_id.get(m.party)
        if e is None:
            parts.append(f"{who} {m.party} ({m.status})")
            continue
        basis = e.designation if e.status == "designated" and e.designation else e.source
        parts.append(f"{who} {e.name} ({m.status}: {basis}; {e.confidence})")
    return "; ".join(dict.fromkeys(parts)) or "none"
