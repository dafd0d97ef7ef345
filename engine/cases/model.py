"""What a normalised case is: items, views, parties and the unknown ids (plain data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from engine.diagnostics import DiagnosticError
from engine.implicated import Match as ImplicatedMatch
from engine.registers import consult

# Separates an item id from a view number in view keys; the case contract bans control
# characters in ids, so a key can never equal another item's id.
VIEW_SEP = "\x1f"


class CompiledDataError(RuntimeError):
    """The compiled tables of a version break an invariant (a bug or corruption)."""


class CaseError(DiagnosticError):
    """The case breaks the input contract; every problem is listed with its JSON path."""


@dataclass(frozen=True, slots=True)
class UnknownId:
    field: str
    value: str
    help: str | None
    items: tuple[str, ...] = ()


class Classification(NamedTuple):  # a tuple: built per item, dataclass init costs more
    categories: tuple[str, ...]  # every candidate category, most severe first
    conflict: str | None  # the declared category when the control entries map elsewhere
    mapped: frozenset[str]  # mapped control-entry prefixes (the `item.control_entries` fact)
    given: tuple[str, ...]  # well-formed entries as given, canonical form
    unmapped: tuple[str, ...]  # well-formed entries the policy does not map


@dataclass(frozen=True, slots=True)
class ItemFacts:
    id: str
    facts: dict[str, Any]  # case facts + item facts of the primary view
    category: str | None  # primary (most severe) candidate; None when unclassified
    categories: tuple[str, ...] = ()  # every candidate category, most severe first
    views: tuple[dict[str, Any], ...] = ()  # the facts under each candidate category
    given_entries: tuple[str, ...] = ()
    unmapped_entries: tuple[str, ...] = ()
    conflict: str | None = None
    catch_all: tuple[str, ...] = ()  # catch-all grounds as declared, known or not


@dataclass(frozen=True, slots=True)
class ItemView:
    """An item under one candidate category: item rules are evaluated once per view."""

    key: str  # unique in the case: the item id for the primary view
    item: str
    category: str | None
    facts: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Party:
    """One foreign party as the case names it: its country profile (what a finding's
    evidence cites, engine/evidence.py) and its visible name (what the implicated-party
    list and the registers screen; evidence never shows it)."""

    role: str  # end_user, consignee, intermediary, purchaser, previous_consignee
    position: int  # 1-based among the parties of its role (consignees, intermediaries)
    count: int  # parties of that role in the case
    country: str | None  # a known country code, or None (not given or unknown)
    band: str | None  # None when no country is given; `unknown` for an unknown code
    factors: frozenset[str]
    detail: str | None = None  # the intermediary's stated role
    name: str | None = None  # visible name (engine/cases/text.py `visible_text`), None when blank

    @property
    def screened(self) -> tuple[str, str | None, str | None]:
        """(role, name, known country): what name matching takes (an unknown country code
        counts as not given, so the name alone decides)."""
        return self.role, self.name, self.country


@dataclass(frozen=True, slots=True)
class NormalizedCase:
    case_id: str
    submitted: str
    facts: dict[str, Any]  # case facts
    items: tuple[ItemFacts, ...]
    unknown: tuple[UnknownId, ...]
    views: tuple[ItemView, ...] = ()
    # the parties that match implicated-party entries (for `{implicated}` in messages)
    implicated: tuple[ImplicatedMatch, ...] = ()
    # register screening (engine/registers/consult.py): None without registers
    screening: consult.Screening | None = None
    parties: tuple[Party, ...] = ()  # the foreign parties' profiles (engine/evidence.py)
    # (factor, citation) of the destination factors shared risk notes add (registers)
    shared: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.views:  # built by hand (tests, tools): one view per item as given
            object.__setattr__(self, "views", _views(self.items))

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.items)

    @property
    def unclassified(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.items if i.category is None)


def _views(items: tuple[ItemFacts, ...]) -> tuple[ItemView, ...]:
    """One view per (item, candidate category); keys are unique (item ids are)."""
    out: list[ItemView] = []
    for item in items:
        for k, facts in enumerate(item.views or (item.facts,)):
            key = item.id if k == 0 else f"{item.id}{VIEW_SEP}{k}"
            category = item.categories[k] if item.categories else item.category
            out.append(ItemView(key, item.id, category, facts))
    if len({v.key for v in out}) != len(out):  # ids cannot hold VIEW_SEP (case contract)
        raise ValueError("item view keys are not unique")
    return tuple(out)
