"""Behavioural diff: how the decisions on a corpus of cases change between two versions.

Each case is decided under both versions (engine/diff/runner.py) or, for a replay, under
the new version only and compared with the decision recorded earlier. A changed case is
*tightened* when the new outcome is more severe by the new version's precedence,
*loosened* when it is less severe, and *reasons* when the outcome is the same but the
findings, licence conditions, required assurances or information requests differ.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from engine.diff.corpus import Recorded, Skipped

LOOSENED, TIGHTENED, REASONS = "loosened", "tightened", "reasons"
DIRECTIONS = (LOOSENED, TIGHTENED, REASONS)
DIRECTION_TITLES = {
    LOOSENED: "Loosened (less severe outcome)",
    TIGHTENED: "Tightened (more severe outcome)",
    REASONS: "Same outcome, different reasons",
}
UNCLASSIFIED = "unclassified"
UNKNOWN = "unknown"  # a case without a destination code (the breakdown by destination)


@dataclass(frozen=True, slots=True)
class CaseKeys:
    """What a case is broken down by (under the new version)."""

    categories: tuple[str, ...]
    band: str
    destination: str = ""  # the destination code as given in the case


@dataclass(frozen=True, slots=True)
class CaseChange:
    case_id: str
    origin: str
    old: str  # outcome
    new: str
    direction: str
    only_old: tuple[str, ...]  # rules that fired only under the old version
    only_new: tuple[str, ...]
    details: tuple[str, ...]  # other differences: conditions, assurances, requests
    keys: CaseKeys
    causes: tuple[str, ...] = ()  # why it changed (engine/diff/causes.py), never empty


@dataclass(frozen=True, slots=True)
class Breakdown:
    key: str
    total: int
    loosened: int = 0
    tightened: int = 0
    reasons: int = 0
    title: str = ""  # what the key names (a destination's name), when it is not the key

    @property
    def changed(self) -> int:
        return self.loosened + self.tightened + self.reasons


@dataclass(frozen=True)
class BehaviouralDiff:
    outcomes: tuple[str, ...]  # axes of the matrix, most severe first
    matrix: tuple[tuple[int, ...], ...]  # [old][new] counts
    total: int
    changes: tuple[CaseChange, ...]
    by_category: tuple[Breakdown, ...]
    by_band: tuple[Breakdown, ...]
    skipped: tuple[Skipped, ...]
    corpus: tuple[str, ...]
    old_versions: tuple[str, ...] = ()  # replay: versions that made the recorded decisions
    by_destination: tuple[Breakdown, ...] = ()  # in code order

    def of(self, direction: str) -> tuple[CaseChange, ...]:
        return tuple(c for c in self.changes if c.direction == direction)

    @property
    def counts(self) -> dict[str, int]:
        return {d: len(self.of(d)) for d in DIRECTIONS}

    @property
    def empty(self) -> bool:
        return not self.changes


def _rank(outcome: str, precedence: tuple[str, ...]) -> int:
    return precedence.index(outcome) if outcome in precedence else len(precedence)


def _delta(label: str, old: frozenset[str], new: frozenset[str]) -> list[str]:
    if old == new:
        return []
    parts = [f"+{v}" for v in sorted(new - old)] + [f"−{v}" for v in sorted(old - new)]
    return [f"{label}: {' '.join(parts)}"]


def compare(old: Recorded, new: Recorded, precedence: tuple[str, ...]) -> str | None:
    """Direction of the change from `old` to `new`, None when nothing changed."""
    if old.outcome != new.outcome:
        older, newer = _rank(old.outcome, precedence), _rank(new.outcome, precedence)
        return TIGHTENED if newer < older else LOOSENED
    same = (old.rules, old.conditions, old.assurances, old.requests) == \
        (new.rules, new.conditions, new.assurances, new.requests)
    return None if same else REASONS


def case_change(case_id: str, origin: str, old: Recorded, new: Recorded, direction: str,
                keys: CaseKeys, causes: tuple[str, ...] = ()) -> CaseChange:
    details = (_delta("conditions", old.conditions, new.conditions)
               + _delta("required assurances", old.assurances, new.assurances)
               + _delta("information requests", old.requests, new.requests))
    return CaseChange(case_id, origin, old.outcome, new.outcome, direction,
                      tuple(sorted(old.rules - new.rules)), tuple(sorted(new.rules - old.rules)),
                      tuple(details), keys, causes)


@dataclass
class Tally:
    """Counts accumulated over (a chunk of) the corpus; chunks merge in input order."""

    matrix: Counter[tuple[str, str]] = field(default_factory=Counter)
    total: int = 0
    changes: list[CaseChange] = field(default_factory=list)
    by_category: dict[str, Counter[str]] = field(default_factory=dict)
    by_band: dict[str, Counter[str]] = field(default_factory=dict)
    by_destination: dict[str, Counter[str]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    old_versions: Counter[str] = field(default_factory=Counter)

    def add(self, case_id: str, origin: str, old: Recorded, new: Recorded, keys: CaseKeys,
            precedence: tuple[str, ...],
            explain: Callable[[], tuple[str, ...]] | None = None) -> None:
        self.total += 1
        self.matrix[(old.outcome, new.outcome)] += 1
        if old.version:
            self.old_versions[old.version] += 1
        direction = compare(old, new, precedence)
        if direction is not None:
            causes = explain() if explain is not None else ()
            self.changes.append(case_change(case_id, origin, old, new, direction, keys, causes))
        for key in keys.categories:
            _count(self.by_category, key, direction)
        _count(self.by_band, keys.band, direction)
        _count(self.by_destination, keys.destination or UNKNOWN, direction)

    def merge(self, other: Tally) -> None:
        self.matrix.update(other.matrix)
        self.total += other.total
        self.changes += other.changes
        self.skipped += other.skipped
        self.old_versions.update(other.old_versions)
        for mine, theirs in ((self.by_category, other.by_category),
                             (self.by_band, other.by_band),
                             (self.by_destination, other.by_destination)):
            for key, counts in theirs.items():
                mine.setdefault(key, Counter()).update(counts)


def _count(table: dict[str, Counter[str]], key: str, direction: str | None) -> None:
    counts = table.setdefault(key, Counter())
    counts["total"] += 1
    if direction is not None:
        counts[direction] += 1


def _breakdown(table: dict[str, Counter[str]], order: tuple[str, ...],
               titles: Mapping[str, str] | None = None) -> tuple[Breakdown, ...]:
    keys = [k for k in order if k in table] + sorted(k for k in table if k not in order)
    return tuple(Breakdown(k, table[k]["total"], table[k][LOOSENED], table[k][TIGHTENED],
                           table[k][REASONS], (titles or {}).get(k, "")) for k in keys)


def finish(tally: Tally, precedence: tuple[str, ...], categories: tuple[str, ...],
           bands: tuple[str, ...], corpus: tuple[str, ...],
           destinations: Mapping[str, str] | None = None) -> BehaviouralDiff:
    """Turn the accumulated counts into the report's plain data (`destinations`: the
    name of each destination code, for the breakdown by destination)."""
    seen = {o for pair in tally.matrix for o in pair}
    outcomes = tuple(precedence) + tuple(sorted(seen - set(precedence)))
    matrix = tuple(tuple(tally.matrix[(a, b)] for b in outcomes) for a in outcomes)
    return BehaviouralDiff(
        outcomes=outcomes, matrix=matrix, total=tally.total, changes=tuple(tally.changes),
        by_category=_breakdown(tally.by_category, (*categories, UNCLASSIFIED)),
        by_band=_breakdown(tally.by_band, bands), skipped=tuple(tally.skipped),
        corpus=corpus, old_versions=tuple(sorted(tally.old_versions)),
        by_destination=_breakdown(tally.by_destination, (), destinations))
