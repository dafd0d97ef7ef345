"""Sanctions and restrictive measures as data: compile sanctions.yaml, evaluate it per case.

A regime (engine/model.py `Regime`) applies to an item of a case when it is in force on the
case's `submitted` date, the case has the link to a target country its `supply` names, and
it restricts the item (or its end use). The result is three facts (engine/facts.py):

- `sanctions.targets` (case): regimes in force whose targets include the destination or
  the country of any foreign party, whatever the item and the end use;
- `item.sanctions` (item, per view): regimes in force, linked by their `supply` and
  covering the view's category / the item's control entries and the case's end use;
- `case.sanctions` (case): the union of `item.sanctions` over every view of every item.

Everything here is plain data and plain functions over facts, so both backends see the same
sets (they are ordinary set facts, flattened like any other by engine/ruleset/).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.memo import ByIdentity
from engine.model import Policy

SUPPLY = ("destination", "any_party", "end_user")


@dataclass(frozen=True, slots=True)
class CompiledRegime:
    id: str
    title: str
    legal_act: str  # the citation as people read it: "<source title>, <pinpoint>"
    in_force_from: str
    in_force_until: str | None
    targets: frozenset[str]
    supply: str
    all_listed_dual_use: bool
    categories: frozenset[str]
    control_entries: tuple[str, ...]
    end_uses: frozenset[str]
    end_user_types: frozenset[str]

    def in_force(self, day: str) -> bool:
        """In force on `day` (ISO date; `in_force_until` is inclusive)."""
        return self.in_force_from <= day and (self.in_force_until is None
                                               or day <= self.in_force_until)

    def linked(self, case: Mapping[str, Any]) -> bool:
        """The case has the link to a target country that `supply` names."""
        return bool(self.targets & _link_countries(self.supply, case))

    def covers_item(self, classified: bool, category: str | None,
                    entries: Iterable[str]) -> bool:
        """Item criteria: any of them matches; none given: every item. An item view gives
        whether the item is classified, its category (None when it has none) and the item's
        well-formed control entries."""
        if not (self.all_listed_dual_use or self.categories or self.control_entries):
            return True
        if self.all_listed_dual_use and classified:
            return True
        if category in self.categories:
            return True
        return any(_entry_covers(r, e) for r in self.control_entries for e in entries)

    def covers_end_use(self, case: Mapping[str, Any]) -> bool:
        """End-use criteria: any of them matches; none given: every end use."""
        if not (self.end_uses or self.end_user_types):
            return True
        return case.get("end_use.purpose") in self.end_uses or \
            case.get("end_user.type") in self.end_user_types

    def ir(self) -> dict[str, Any]:
        return {"id": self.id, "in_force_from": self.in_force_from,
                "in_force_until": self.in_force_until, "targets": sorted(self.targets),
                "supply": self.supply,
                "restricts": {"all_listed_dual_use": self.all_listed_dual_use,
                              "categories": sorted(self.categories),
                              "control_entries": list(self.control_entries),
                              "end_uses": sorted(self.end_uses),
                              "end_user_types": sorted(self.end_user_types)}}


def _link_countries(supply: str, case: Mapping[str, Any]) -> frozenset[str]:
    """The countries a regime with this `supply` looks at (known codes only)."""
    dest = case.get("destination")
    if supply == "destination":
        return frozenset((dest,)) if dest else frozenset()
    if supply == "end_user":
        country = case.get("end_user.country")
        return frozenset((country,)) if country else frozenset()
    return _all_countries(case)


def _all_countries(case: Mapping[str, Any]) -> frozenset[str]:
    dest = case.get("destination")
    parties = case.get("parties.countries") or frozenset()
    return frozenset(parties) | ({dest} if dest else set())


def _entry_covers(listed: str, entry: str) -> bool:
    """`5A001` covers `5A001` and `5A001.j.1`, not `5A0011` (dot boundaries)."""
    return entry == listed or entry.startswith(listed + ".")


def compile_regimes(policy: Policy) -> tuple[CompiledRegime, ...]:
    """The version's regimes as plain data, ordered by id."""
    out = []
    for r in sorted(policy.sanctions.values(), key=lambda r: r.id):
        src = policy.sources.get(r.legal_act.source)
        act = src.cite(r.legal_act.pinpoint) if src else \
            ", ".join(p for p in (r.legal_act.source, r.legal_act.pinpoint) if p)
        out.append(CompiledRegime(
            r.id, r.title, act, r.in_force_from, r.in_force_until, r.targets, r.supply,
            r.all_listed_dual_use, r.categories, r.control_entries, r.end_uses,
            r.end_user_types))
    return tuple(out)


def case_scope(regimes: tuple[CompiledRegime, ...], submitted: str,
               case: Mapping[str, Any]) -> tuple[frozenset[str], tuple[CompiledRegime, ...]]:
    """(`sanctions.targets`, the regimes that may restrict an item of the case).

    The supply link and the end use depend on the case only: decided once, not per view.
    """
    if not regimes:  # most versions have no sanctions.yaml
        return _NONE, ()
    active = _in_force(regimes, submitted[:10])
    everyone = _all_countries(case)
    looked_at = {"any_party": everyone}  # supply → the countries `linked` looks at, once
    eligible = []
    for r in active:
        if r.supply not in looked_at:
            looked_at[r.supply] = _link_countries(r.supply, case)
        if r.targets & looked_at[r.supply] and r.covers_end_use(case):
            eligible.append(r)
    return frozenset(r.id for r in active if r.targets & everyone), tuple(eligible)


def _in_force(regimes: tuple[CompiledRegime, ...], day: str) -> tuple[CompiledRegime, ...]:
    """The regimes in force on `day`, memoised per regime table and day (cases of a day
    share them)."""
    memo = _by_day(regimes)
    found = memo.get(day)
    if found is None:
        if len(memo) >= 4096:  # bounded whatever the dates
            memo.clear()
        found = memo[day] = tuple(r for r in regimes if r.in_force(day))
    return found


_by_day: ByIdentity[tuple[CompiledRegime, ...], dict[str, tuple[CompiledRegime, ...]]] = \
    ByIdentity(lambda _: {}, limit=64)


def item_sanctions(eligible: tuple[CompiledRegime, ...], classified: bool,
                   category: str | None, entries: tuple[str, ...]) -> frozenset[str]:
    """`item.sanctions` of one item view, from the regimes `case_scope` found eligible."""
    if not eligible:
        return _NONE
    return frozenset(r.id for r in eligible if r.covers_item(classified, category, entries))


_NONE: frozenset[str] = frozenset()


# Which party of a case sits in a country, in the order an officer reads them.
_PARTIES = (("destination", "the destination"), ("end_user.country", "the end user"),
            ("consignees.countries", "a consignee"), ("intermediaries.countries",
                                                      "an intermediary"),
            ("purchaser.country", "the purchaser"),
            ("previous_consignee.country", "the previous consignee"))


def links(regime: CompiledRegime, case: Mapping[str, Any]) -> list[str]:
    """The parties that link a case to the regime's targets: `the consignee in RU`."""
    looked_at = _link_countries(regime.supply, case)
    out = []
    for fact, who in _PARTIES:
        value = case.get(fact)
        codes = sorted(value) if isinstance(value, frozenset) else [value] if value else []
        for code in codes:
            if code in regime.targets and code in looked_at:
                out.append(f"{who} in {code}")
    return out


def describe(regimes: Iterable[CompiledRegime], ids: Iterable[str],
             case: Mapping[str, Any] | None = None) -> str:
    """`id (title; legal act; via the consignee in RU)` of each regime in `ids`, by id.

    `none` when empty; the links are named when the case facts are given.
    """
    by_id = {r.id: r for r in regimes}
    parts = []
    for i in sorted(set(ids)):
        r = by_id.get(i)
        if r is None:
            parts.append(i)
            continue
        via = links(r, case) if case is not None else []
        tail = f"; via {', '.join(via)}" if via else ""
        parts.append(f"{i} ({r.title}; {r.legal_act}{tail})")
    return ", ".join(parts) or "none"
