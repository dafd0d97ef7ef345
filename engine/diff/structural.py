"""Structural diff: added, removed and changed elements of two versions, by kind and id.

Elements are compared field by field (engine/diff/elements.py). A rule or category that
declares `renamed_from: <old id>` in place of a removed one is reported once, as a declared
rename with its field changes. Among the other rules, a removed rule whose condition and
effect reappear under a new id is reported once, as a rename; a removed rule whose effect
reappears with a very similar condition is reported as a *likely* rename with its field
changes. Destinations whose derived band moves are listed with their causes
(engine/diff/bands.py).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from engine import conditions
from engine.compiler import CompiledPolicy, CompiledRule
from engine.diff.bands import BandChange, band_changes
from engine.diff.elements import KINDS, Elements, Fields, Kind, Value, extract
from engine.diff.sources import LoadedVersion

ADDED, REMOVED, CHANGED, RENAMED = "added", "removed", "changed", "renamed"
SIMILAR = 0.6  # share of identical tests above which a changed condition is a likely rename
RENAMED_FROM = "renamed_from"  # the declaration of a rename (engine/validator/retired.py)
RENAMEABLE = ("rules", "categories")  # element kinds that may declare `renamed_from`


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: str | None = None  # None: the field is absent on that side
    new: str | None = None
    added: tuple[str, ...] = ()  # list fields: members added and removed
    removed: tuple[str, ...] = ()
    provenance: bool = False  # where the data came from (source, as_of, note), not what it says


@dataclass(frozen=True, slots=True)
class ElementChange:
    id: str
    change: str  # added | removed | changed | renamed
    title: str
    fields: tuple[FieldChange, ...]
    old_id: str | None = None  # renamed: the id in the old version
    note: str = ""

    @property
    def substantive(self) -> tuple[FieldChange, ...]:
        return tuple(f for f in self.fields if not f.provenance)


@dataclass(frozen=True, slots=True)
class Section:
    kind: str
    title: str
    changes: tuple[ElementChange, ...]

    def count(self, change: str) -> int:
        return sum(1 for c in self.changes if c.change == change)


@dataclass(frozen=True, slots=True)
class StructuralDiff:
    sections: tuple[Section, ...]  # only kinds with changes, in KINDS order
    bands: tuple[BandChange, ...]

    @property
    def empty(self) -> bool:
        return not self.sections and not self.bands

    @property
    def count(self) -> int:
        return sum(len(s.changes) for s in self.sections)


def _joined(value: Value | None) -> str | None:
    """A value as printed: lists in brackets."""
    if value is None:
        return None
    return f"[{', '.join(value)}]" if isinstance(value, tuple) else value


def field_change(name: str, old: Value | None, new: Value | None, kind: Kind) -> FieldChange:
    prov = bool(kind.provenance and kind.provenance.match(name))
    if isinstance(old, tuple) and isinstance(new, tuple):
        added = tuple(v for v in new if v not in old)
        removed = tuple(v for v in old if v not in new)
        return FieldChange(name, _joined(old), _joined(new), added, removed, prov)
    return FieldChange(name, _joined(old), _joined(new), provenance=prov)


def diff_fields(old: Fields, new: Fields, kind: Kind) -> tuple[FieldChange, ...]:
    names = list(old) + [n for n in new if n not in old]
    return tuple(field_change(n, old.get(n), new.get(n), kind) for n in names
                 if old.get(n) != new.get(n))


def _summary(fields: Fields, kind: Kind, side: str) -> tuple[FieldChange, ...]:
    out = []
    for name in kind.summary:
        if name in fields:
            value = _joined(fields[name])
            out.append(FieldChange(name, value if side == "old" else None,
                                   value if side == "new" else None))
    return tuple(out)


def _title(fields: Fields, fallback: str) -> str:
    value = fields.get("title") or fields.get("name") or fallback
    return value if isinstance(value, str) else fallback


def diff_elements(old: Elements, new: Elements, kind: Kind) -> list[ElementChange]:
    """Added, removed and changed elements of one kind, in the order of the new version."""
    out: list[ElementChange] = []
    for key in [*new, *(k for k in old if k not in new)]:
        if key not in old:
            out.append(ElementChange(key, ADDED, _title(new[key], key),
                                     _summary(new[key], kind, "new")))
        elif key not in new:
            out.append(ElementChange(key, REMOVED, _title(old[key], key),
                                     _summary(old[key], kind, "old")))
        elif old[key] != new[key]:
            out.append(ElementChange(key, CHANGED, _title(new[key], key),
                                     diff_fields(old[key], new[key], kind)))
    return out


def _effect(rule: CompiledRule) -> tuple[object, ...]:
    return (rule.outcome, tuple(sorted(rule.require_assurances)), tuple(sorted(rule.conditions)),
            rule.field)


def _similarity(a: CompiledRule, b: CompiledRule) -> float:
    left = {conditions.render_test(t) for t in conditions.tests(a.condition)}
    right = {conditions.render_test(t) for t in conditions.tests(b.condition)}
    jaccard = len(left & right) / len(left | right) if left | right else 1.0
    return max(jaccard, difflib.SequenceMatcher(None, a.readable, b.readable).ratio() - 0.2)


def _rename_candidates(old: CompiledPolicy, new: CompiledPolicy, removed: list[str],
                       added: list[str]) -> list[tuple[float, str, str]]:
    found = []
    for rid in removed:
        a = old.rule(rid)
        for nid in added:
            b = new.rule(nid)
            if a is None or b is None or _effect(a) != _effect(b):
                continue
            same = conditions.to_json(a.condition) == conditions.to_json(b.condition)
            score = 2.0 if same else _similarity(a, b)
            if score >= SIMILAR:
                found.append((score, rid, nid))
    return sorted(found, key=lambda f: (-f[0], f[1], f[2]))


def detect_renames(changes: list[ElementChange], old: CompiledPolicy, new: CompiledPolicy,
                   old_el: Elements, new_el: Elements, kind: Kind) -> list[ElementChange]:
    """Replace matching removed/added rule pairs by one `renamed` change."""
    removed = [c.id for c in changes if c.change == REMOVED]
    added = [c.id for c in changes if c.change == ADDED]
    pairs: dict[str, tuple[str, float]] = {}
    used: set[str] = set()
    for score, rid, nid in _rename_candidates(old, new, removed, added):
        if rid not in used and nid not in pairs:
            pairs[nid] = (rid, score)
            used.add(rid)
    out = []
    for c in changes:
        if c.id in used and c.change == REMOVED:
            continue
        if c.id in pairs:
            rid, score = pairs[c.id]
            note = "same condition and effect" if score >= 2.0 else \
                "likely rename: same effect, similar condition"
            c = ElementChange(c.id, RENAMED, c.title,
                              diff_fields(old_el[rid], new_el[c.id], kind), rid, note)
        out.append(c)
    return out


def _declaration_dropped(fields: Fields) -> Fields:
    return {k: v for k, v in fields.items() if k != RENAMED_FROM}


def declared_renames(changes: list[ElementChange], old_el: Elements, new_el: Elements,
                     kind: Kind) -> list[ElementChange]:
    """Replace each added element whose `renamed_from` names a removed one by one `renamed`
    change (with the field changes between the two, the declaration itself left out)."""
    removed = {c.id for c in changes if c.change == REMOVED}
    pairs: dict[str, str] = {}
    for c in changes:
        old_id = new_el[c.id].get(RENAMED_FROM) if c.change == ADDED else None
        if isinstance(old_id, str) and old_id in removed and old_id not in pairs.values():
            pairs[c.id] = old_id
    out = []
    for c in changes:
        if c.change == REMOVED and c.id in pairs.values():
            continue
        if c.id in pairs:
            old_id = pairs[c.id]
            fields = diff_fields(_declaration_dropped(old_el[old_id]),
                                 _declaration_dropped(new_el[c.id]), kind)
            c = ElementChange(c.id, RENAMED, c.title, fields, old_id,
                              "declared rename (`renamed_from`)")
        out.append(c)
    return out


def diff_structure(old_version: LoadedVersion, new_version: LoadedVersion) -> StructuralDiff:
    """Compare the elements of two versions and the bands they derive for destinations."""
    old_src, new_src = extract(old_version.source), extract(new_version.source)
    old, new = old_version.compiled, new_version.compiled
    sections = []
    for kind in KINDS:
        changes = diff_elements(old_src[kind.name], new_src[kind.name], kind)
        if kind.name in RENAMEABLE:
            changes = declared_renames(changes, old_src[kind.name], new_src[kind.name], kind)
        if kind.name == "rules":
            changes = detect_renames(changes, old, new, old_src[kind.name],
                                     new_src[kind.name], kind)
        if changes:
            sections.append(Section(kind.name, kind.title, tuple(changes)))
    return StructuralDiff(tuple(sections), band_changes(old, new))
