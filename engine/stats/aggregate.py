"""Counts of logged decisions for the annual meeting: read, verify, select, classify, count.

Only a log whose every stream verifies is counted (engine/decisionlog `verify_log`); a torn
last line is skipped with a warning, as the other readers do. A decision counts once, even
when a log is given twice (by `decision_id`). What each decision contributes:

- its outcome (`decision.decision`) and, from its findings, the rules that fired and the
  commitments they implement (`findings[].rule`, `findings[].commitments`);
- from the recorded (masked) case decided again under the recorded policy version, found
  in the repository by id and version and checked against the recorded digest: the
  destination band and each item's category (the primary, most severe, candidate: the
  classification the decision used) and the rights at risk of those categories. Masking
  keeps every fact classification uses, so the masked case classifies as the original.
  A decision whose version is not in the repository (or whose digest differs) counts as
  `unknown` band and category, with no rights at risk, and a warning says how many;
- the UN M49 region of the recorded destination (data/regions/m49.csv; `unknown` for a code
  M49 does not list), whatever the version.

The time of a decision is the record's `time` (UTC date); periods are inclusive.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.api import PolicyStore
from engine.cases import normalize
from engine.compiler import CompiledPolicy
from engine.decisionlog import read_log, verify_log
from engine.model import OUTCOMES
from engine.stats.regions import region_of

UNKNOWN, UNCLASSIFIED = "unknown", "unclassified"


class StatsError(Exception):
    """The log cannot be counted (unreadable, or a chain that does not verify)."""

    def __init__(self, message: str, problems: Iterable[str] = ()):
        super().__init__(message)
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which decisions count: a period of UTC dates (inclusive) and a policy id."""

    date_from: str | None = None
    date_to: str | None = None
    policy_id: str | None = None

    def admits(self, record: Mapping[str, Any]) -> bool:
        day = str(record.get("time", ""))[:10]
        if self.date_from is not None and day < self.date_from:
            return False
        if self.date_to is not None and day > self.date_to:
            return False
        policy = record.get("policy") or {}
        return self.policy_id is None or policy.get("id") == self.policy_id


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one decision adds to the tables (no id, no name, no text of the case)."""

    day: str
    policy: tuple[str, str, str]  # id, version, digest
    outcome: str
    band: str
    region: str  # UN M49 region of the destination (engine/stats/regions.py)
    categories: frozenset[str]
    rights: frozenset[str]
    commitments: frozenset[str]
    rules: frozenset[str]
    rule_titles: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class CountTable:
    """Rows × outcomes. `single` tables count each decision in exactly one row, so their
    column totals are the decisions by outcome; other rows can share a decision."""

    id: str
    title: str
    row_header: str
    rows: tuple[str, ...]
    labels: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[tuple[int, ...], ...]
    single: bool
    note: str = ""


@dataclass(slots=True)
class Aggregates:
    date_from: str
    date_to: str
    policies: list[tuple[str, str, str]]
    decisions: int
    tables: list[CountTable]
    warnings: list[str] = field(default_factory=list)


def read_verified(directories: Iterable[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """The records of every verified log, each decision once, and the warnings."""
    records: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    for directory in directories:
        if not directory.is_dir():
            raise StatsError(f"{directory}: not a directory")
        try:
            report = verify_log(directory)
            if not report.ok:
                raise StatsError(f"{directory}: the decision log does not verify "
                                 "(`echri log verify` lists the problems)", report.errors)
            warnings.extend(f"{w} (skipped)" for w in report.warnings)
            for entry in read_log(directory):
                if entry.record is not None:
                    records.setdefault(str(entry.record.get("decision_id")), entry.record)
        except OSError as exc:
            raise StatsError(f"{directory}: cannot read the decision log: "
                             f"{exc.strerror or exc}") from exc
    return list(records.values()), warnings


def _policy(store: PolicyStore | None, recorded: Mapping[str, Any]) -> CompiledPolicy | None:
    if store is None:
        return None
    found = store.versions.get(str(recorded.get("id")), {}).get(str(recorded.get("version")))
    return found if found is not None and found.digest == recorded.get("digest") else None


def _classified(case: Any, policy: CompiledPolicy | None) -> tuple[str, frozenset[str]] | None:
    """The destination band and the item categories, or None when they cannot be known."""
    if policy is None or not isinstance(case, Mapping):
        return None
    try:
        facts = normalize(case, policy)
    except Exception:  # a case the engine failed on (engine-error) classifies as unknown
        return None
    band = str(facts.facts.get("destination.band") or UNKNOWN)
    return band, frozenset(i.category or UNCLASSIFIED for i in facts.items)


def contribution(record: Mapping[str, Any], store: PolicyStore | None) -> tuple[Contribution,
                                                                             bool]:
    """The record's contribution, and whether its policy version was found."""
    decision = record.get("decision") or {}
    recorded = record.get("policy") or {}
    policy = _policy(store, recorded)
    classified = _classified(record.get("case"), policy)
    band, categories = classified or (UNKNOWN, frozenset({UNKNOWN}))
    rights: frozenset[str] = frozenset()
    if policy is not None:
        cats = policy.policy.categories
        rights = frozenset(r for c in categories if c in cats for r in cats[c].rights_at_risk)
    findings = [f for f in decision.get("findings") or () if isinstance(f, Mapping)]
    titles = {str(f.get("rule")): str(f.get("title", "")) for f in findings}
    if policy is not None:
        titles.update({r.id: r.title for r in policy.policy.rules if r.id in titles})
    return Contribution(
        str(record.get("time", ""))[:10],
        (str(recorded.get("id")), str(recorded.get("version")), str(recorded.get("digest"))),
        str(decision.get("decision") or UNKNOWN), band,
        region_of((record.get("case") or {}).get("destination")
                  if isinstance(record.get("case"), Mapping) else None), categories, rights,
        frozenset(str(c) for f in findings for c in f.get("commitments") or ()),
        frozenset(titles), titles), policy is not None


def _columns(outcomes: Iterable[str]) -> tuple[str, ...]:
    seen = set(outcomes)
    return tuple(o for o in reversed(OUTCOMES)) + tuple(sorted(seen - set(OUTCOMES)))


def _table(id_: str, title: str, header: str, rows: list[tuple[str, str]],
           counts: Counter[tuple[str, str]], columns: tuple[str, ...], single: bool,
           note: str = "") -> CountTable:
    cells = tuple(tuple(counts[(r, c)] for c in columns) for r, _ in rows)
    return CountTable(id_, title, header, tuple(r for r, _ in rows),
                      tuple(label for _, label in rows), columns, cells, single, note)


def aggregate(records: Iterable[Mapping[str, Any]], store: PolicyStore | None,
              selection: Selection = Selection()) -> Aggregates:
    """The meeting tables of the selected records (`store`: the repository's versions)."""
    parts: list[Contribution] = []
    missing = 0
    for record in records:
        if selection.admits(record):
            part, found = contribution(record, store)
            parts.append(part)
            missing += not found
    return build_tables(parts, store, selection, missing)


def _latest(store: PolicyStore | None,
            parts: list[Contribution]) -> list[CompiledPolicy]:
    """The recorded versions found in the repository, newest last (labels come from it)."""
    found = {p.policy for p in parts}
    if store is None:
        return []
    return [cp for pid, version, digest in sorted(found)
            if (cp := store.versions.get(pid, {}).get(version)) is not None
            and cp.digest == digest]


def build_tables(parts: list[Contribution], store: PolicyStore | None,
                 selection: Selection, missing: int = 0) -> Aggregates:
    """Count the contributions into the published tables."""
    columns = _columns(p.outcome for p in parts)
    policies = _latest(store, parts)
    band_order = [b for cp in reversed(policies) for b in cp.policy.bands]
    cat_titles: dict[str, str] = {UNCLASSIFIED: "Unclassified items",
                                  UNKNOWN: "Unknown (policy version not available)"}
    commitment_titles: dict[str, str] = {}
    for cp in policies:  # later versions win
        cat_titles.update({c.id: c.title for c in cp.policy.categories.values()})
        commitment_titles.update({t.id: t.title for t in cp.policy.commitments.values()})
    rule_titles: dict[str, str] = {}
    for p in sorted(parts, key=lambda p: p.policy):
        rule_titles.update(p.rule_titles)

    def rows(keys: Iterable[str], titles: Mapping[str, str],
             order: Iterable[str] = ()) -> list[tuple[str, str]]:
        present = set(keys)
        ordered = list(dict.fromkeys([o for o in order if o in present] + sorted(present)))
        last = [k for k in (UNCLASSIFIED, UNKNOWN) if k in ordered]
        return [(k, titles.get(k, k)) for k in
                [k for k in ordered if k not in last] + last]

    def multi(attr: str) -> Counter[tuple[str, str]]:
        return Counter((key, p.outcome) for p in parts for key in getattr(p, attr))

    bands = Counter((p.band, p.outcome) for p in parts)
    band_keys = list(dict.fromkeys(band_order)) + [b for b, _ in bands]
    tables = [
        _table("band", "Decisions by destination band and outcome", "Destination band",
               rows(band_keys, {UNKNOWN: "unknown"}, band_order), bands, columns, True,
               "Each decision counts once; the totals row is the decisions by outcome."),
        _table("region", "Decisions by destination region (UN M49) and outcome", "Region",
               rows((p.region for p in parts), {UNKNOWN: "unknown"}), Counter(
                   (p.region, p.outcome) for p in parts), columns, True,
               "Each decision counts once, under the region of its destination."),
        _table("category", "Decisions by item category and outcome", "Category",
               rows((k for p in parts for k in p.categories), cat_titles), multi("categories"),
               columns, False, "A decision counts once under each category of its items."),
        _table("commitment", "Decisions by commitment of the rules that fired", "Commitment",
               rows((k for p in parts for k in p.commitments), commitment_titles),
               multi("commitments"), columns, False,
               "A decision counts once under each commitment a finding of it implements."),
        _table("rights", "Decisions by right at risk (of the item categories)", "Right at risk",
               rows((k for p in parts for k in p.rights), {}), multi("rights"), columns, False,
               "A decision counts once under each right at risk of its items' categories."),
        _table("rules", "Human-rights concerns raised: decisions in which each rule fired",
               "Rule", rows((k for p in parts for k in p.rules), rule_titles), multi("rules"),
               columns, False, "A decision counts once under each rule that fired in it."),
    ]
    days = sorted(p.day for p in parts)
    warnings = [f"{missing} decision(s) name a policy version that is not in the repository "
                "(or whose digest differs): their band and categories count as unknown"
                ] if missing else []
    return Aggregates(selection.date_from or (days[0] if days else ""),
                      selection.date_to or (days[-1] if days else ""),
                      sorted({p.policy for p in parts}), len(parts), tables, warnings)
