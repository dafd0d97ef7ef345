"""Decide the grid of the decision space under both versions and compare cell by cell.

One plain case per cell (see `grid_case`), decided through the public API
(`PolicyStore.evaluate`, the version forced) with the default backend. A cell records the
outcome and the *decisive rule*: the highest-precedence finding whose outcome is the
decision; when missing assurances raised the decision above every finding, the first rule
that requires a missing one; with no finding, no rule (the policy default). A cell of a
category, end-user type or band the version does not have is not decided (`—`).

A changed cell is *stricter* or *looser* by the new version's outcome precedence, or has
the same outcome for another decisive rule (a declared rename, `renamed_from`, is the same
rule); a cell defined on one side only is *added* or *removed*.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from engine.api import DEFAULT_BACKEND, PolicyStore
from engine.compiler import CompiledPolicy
from engine.decision import Decision
from engine.diff import elements
from engine.diff.sources import LoadedVersion
from engine.diff.structural import RENAMED_FROM
from engine.review.axes import UNCLASSIFIED, Axes, BandAxis, build_axes

LOOSER, STRICTER, REASON, ADDED, REMOVED = "looser", "stricter", "reason", "added", "removed"
CHANGES = (LOOSER, STRICTER, REASON, ADDED, REMOVED)  # summary order: loosened first
DEFAULT_PURPOSE, DEFAULT_VALUE, EXPORTER_COUNTRY = "criminal_investigation", 100_000, "SE"
Key = tuple[str, str, str, bool]  # category, end-user type, band, due diligence complete


@dataclass(frozen=True, slots=True)
class Settings:
    """What every grid case has in common (the document states it)."""

    purpose: str = DEFAULT_PURPOSE  # end_use.purpose, an id of both versions
    value: int = DEFAULT_VALUE  # the item's value


@dataclass(frozen=True, slots=True)
class Cell:
    outcome: str | None  # None: the version has no such category, end-user type or band
    rule: str | None = None  # the decisive rule; None with the policy default


@dataclass(frozen=True, slots=True)
class Comparison:
    category: str
    end_user_type: str
    band: str
    complete: bool  # exporter due diligence and assurances complete
    old: Cell
    new: Cell
    change: str | None  # one of CHANGES, None when the cell did not change


@dataclass(frozen=True, slots=True)
class SideInfo:
    spec: str
    id: str
    version: str
    status: str
    effective_from: str
    digest: str


@dataclass(frozen=True)
class DecisionSpace:
    old: SideInfo
    new: SideInfo
    settings: Settings
    submitted: str
    axes: Axes
    cells: tuple[Comparison, ...]
    precedence: tuple[str, ...] = field(default=())

    @cached_property
    def index(self) -> dict[Key, Comparison]:
        return {(c.category, c.end_user_type, c.band, c.complete): c for c in self.cells}

    def changed(self, category: str | None = None) -> list[Comparison]:
        return [c for c in self.cells if c.change is not None
                and (category is None or c.category == category)]

    def counts(self, category: str | None = None) -> Counter[str]:
        return Counter(c.change for c in self.changed(category) if c.change is not None)


def grid_case(category: str, end_user_type: str, destination: str, complete: bool,
              assurances: Iterable[str], settings: Settings, submitted: str) -> dict[str, Any]:
    """The plain case of one cell (contract 1 fields only)."""
    item: dict[str, Any] = {"id": "item-1", "description": f"Grid item ({category})",
                            "quantity": 1, "value": settings.value}
    if category != UNCLASSIFIED:
        item["category"] = category
    return {
        "case_id": f"DS-{category}-{end_user_type}-{destination}-{'dd' if complete else 'no-dd'}",
        "submitted": submitted,
        "exporter": {"name": "Grid Exporter AB", "country": EXPORTER_COUNTRY,
                     "due_diligence": {"hrdd_policy": complete,
                                       "transaction_assessment": complete}},
        "items": [item],
        "destination": destination,
        "end_user": {"name": "Grid end user", "country": destination, "type": end_user_type,
                     "flags": []},
        "end_use": {"purpose": settings.purpose,
                    "description": f"Grid end use ({settings.purpose})"},
        "assurances": sorted(assurances) if complete else [],
    }


def decisive_rule(decision: Decision, policy: CompiledPolicy) -> str | None:
    """The rule that decided: see the module docstring."""
    for f in decision.findings:
        if f.outcome == decision.decision:
            return f.rule
    missing = set(decision.missing_assurances)
    for f in decision.findings:
        entry = policy.rule_index.get(f.rule)
        if entry is not None and missing & set(entry[1].require_assurances):
            return f.rule
    return decision.findings[0].rule if decision.findings else None


Decider = Callable[[str, str, BandAxis, bool], Cell]


def _decider(policy: CompiledPolicy, settings: Settings, submitted: str,
             backend: str) -> Decider:
    store = PolicyStore({policy.id: {policy.version: policy}})
    p = policy.policy
    assurances = tuple(p.assurances)

    def decide(category: str, end_user_type: str, band: BandAxis, complete: bool) -> Cell:
        defined = (category == UNCLASSIFIED or category in p.categories) \
            and end_user_type in p.end_user_types and band.band in p.bands \
            and band.code is not None and band.code in policy.destinations
        if not defined:
            return Cell(None)
        assert band.code is not None
        case = grid_case(category, end_user_type, band.code, complete, assurances, settings,
                         submitted)
        d = store.evaluate(case, policy_version=policy.version, policy_id=policy.id,
                           backend=backend)
        return Cell(d.decision, decisive_rule(d, policy))

    return decide


def classify(old: Cell, new: Cell, precedence: tuple[str, ...],
             renames: Mapping[str, str] | None = None) -> str | None:
    """How a cell changed (one of CHANGES), None when it did not.

    A decisive rule renamed by a declared `renamed_from` (`renames`: new id → old id) is the
    same rule.
    """
    same_rule = old.rule == new.rule or (renames or {}).get(new.rule or "") == old.rule
    if old.outcome == new.outcome and same_rule:
        return None
    if old.outcome is None:
        return ADDED
    if new.outcome is None:
        return REMOVED
    rank: Mapping[str, int] = {o: i for i, o in enumerate(precedence)}
    a, b = rank.get(old.outcome, -1), rank.get(new.outcome, -1)
    return STRICTER if b < a else LOOSER if b > a else REASON


def declared_renames(old: LoadedVersion, new: LoadedVersion) -> dict[str, str]:
    """New rule id → old rule id for each rule that declares `renamed_from` an old rule."""
    old_rules, new_rules = elements.rules(old.source), elements.rules(new.source)
    out = {}
    for rule_id, fields in new_rules.items():
        origin = fields.get(RENAMED_FROM)
        if isinstance(origin, str) and origin in old_rules and origin not in new_rules:
            out[rule_id] = origin
    return out


def _side(lv: LoadedVersion) -> SideInfo:
    p = lv.policy
    return SideInfo(lv.spec, p.id, p.version, p.status, p.effective_from, p.digest)


def check_settings(old: LoadedVersion, new: LoadedVersion, settings: Settings) -> list[str]:
    """Problems with the settings: a purpose a version does not know is an unknown id."""
    return [f"end-use purpose `{settings.purpose}` is not defined in {lv.spec}"
            for lv in (old, new) if settings.purpose not in lv.policy.purposes]


def decision_space(old: LoadedVersion, new: LoadedVersion, settings: Settings | None = None,
                   backend: str = DEFAULT_BACKEND) -> DecisionSpace:
    """Decide every cell under both versions; cases are dated the new version's start."""
    settings = settings or Settings()
    submitted = new.policy.effective_from
    axes = build_axes(old.compiled, new.compiled)
    precedence = new.compiled.precedence
    renames = declared_renames(old, new)
    deciders = [_decider(lv.compiled, settings, submitted, backend) for lv in (old, new)]
    cells = []
    for category in axes.categories:
        for end_user_type in axes.end_user_types:
            for band in axes.bands:
                for complete in (True, False):
                    args = (category.id, end_user_type, band, complete)
                    o, n = deciders[0](*args), deciders[1](*args)
                    cells.append(Comparison(category.id, end_user_type, band.band, complete,
                                            o, n, classify(o, n, precedence, renames)))
    return DecisionSpace(_side(old), _side(new), settings, submitted, axes, tuple(cells),
                         precedence)
