"""What changed between two register sets (`echri registers diff OLD_DIR NEW_DIR`).

Entries are compared by id in their register form, per kind: denial notifications and
risk notes by their id (unique in a set), restricted and implicated parties by register and
row id (two imported lists may use the same row ids). An entry is `added`, `removed` or
`changed` (with the fields that differ, old and new value); moving a notice or a note to
another file of the set is not a change. The register files themselves (id, kind, version,
digest) and the screening thresholds are compared too, so a reviewer sees which versions
the decisions screened against the new set will name. Plain data; engine/registers/
report.py renders it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from engine.registers.model import Listed, RegisterSet

KINDS = ("notices", "notes", "restricted", "implicated")
CHANGES = ("added", "removed", "changed")
FAIL_ON = (*CHANGES, "any")


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: Any  # None when absent
    new: Any


@dataclass(frozen=True, slots=True)
class EntryChange:
    kind: str  # one of KINDS
    id: str
    change: str  # added | removed | changed
    register: str  # the register holding the entry (the old one for `removed`)
    label: str  # what the entry concerns, for people: a name, a subject
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class RegisterChange:
    id: str
    change: str  # added | removed | changed (a new version or digest)
    kind: str
    old: Mapping[str, str] | None  # {version, digest}
    new: Mapping[str, str] | None


@dataclass(frozen=True, slots=True)
class RegistersDiff:
    old: str  # the directories as given
    new: str
    registers: tuple[RegisterChange, ...]
    settings: tuple[FieldChange, ...]
    entries: tuple[EntryChange, ...]

    @property
    def empty(self) -> bool:
        return not (self.registers or self.settings or self.entries)

    def count(self, kind: str, change: str) -> int:
        return sum(1 for e in self.entries if e.kind == kind and e.change == change)

    def of(self, change: str) -> tuple[EntryChange, ...]:
        """Entry changes of one kind of change (`any`: every entry change)."""
        return tuple(e for e in self.entries if change in ("any", e.change))

    def to_dict(self) -> dict[str, Any]:
        return {"format": "echri-registers-diff/1", "old": self.old, "new": self.new,
                "summary": {k: {c: self.count(k, c) for c in CHANGES} for k in KINDS},
                "registers": [asdict(r) for r in self.registers],
                "settings": [asdict(s) for s in self.settings],
                "entries": [asdict(e) for e in self.entries]}


def _listed_form(e: Listed) -> dict[str, Any]:
    return {"name": e.name, "aliases": list(e.aliases), "countries": sorted(e.countries),
            "source": e.source, "sanctions": e.sanctions}


Forms = dict[tuple[str, str], tuple[str, str, dict[str, Any]]]  # key → register, label, form


def _forms(rs: RegisterSet, kind: str) -> Forms:
    if kind == "notices":
        return {(n.id, ""): (n.register, " / ".join(p.name for _, p in n.parties()),
                             n.to_dict()) for n in rs.notices}
    if kind == "notes":
        return {(n.id, ""): (n.register, ", ".join(f"{k} {v}" for k, v in
                                                   sorted(n.subject.items())), n.to_dict())
                for n in rs.notes}
    return {(e.id, e.register): (e.register, e.name, _listed_form(e))
            for e in rs.listed if e.kind == kind}


def _fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(k, old.get(k), new.get(k)) for k in sorted({*old, *new})
                 if _canon(old.get(k)) != _canon(new.get(k)))


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _entries(old: RegisterSet, new: RegisterSet) -> Iterable[EntryChange]:
    for kind in KINDS:
        before, after = _forms(old, kind), _forms(new, kind)
        for key in sorted({*before, *after}):
            if key not in before:
                reg, label, _ = after[key]
                yield EntryChange(kind, key[0], "added", reg, label)
            elif key not in after:
                reg, label, _ = before[key]
                yield EntryChange(kind, key[0], "removed", reg, label)
            elif fields := _fields(before[key][2], after[key][2]):
                reg, label, _ = after[key]
                yield EntryChange(kind, key[0], "changed", reg, label, fields)


def _registers(old: RegisterSet, new: RegisterSet) -> Iterable[RegisterChange]:
    before = {r.id: r for r in old.registers}
    after = {r.id: r for r in new.registers}
    for rid in sorted({*before, *after}):
        a, b = before.get(rid), after.get(rid)
        ra = {"version": a.version, "digest": a.digest} if a else None
        rb = {"version": b.version, "digest": b.digest} if b else None
        if a is None or b is None:
            info = b or a
            assert info is not None
            yield RegisterChange(rid, "added" if a is None else "removed", info.kind, ra, rb)
        elif ra != rb or a.kind != b.kind:
            yield RegisterChange(rid, "changed", b.kind, ra, rb)


def diff_registers(old: RegisterSet, new: RegisterSet, old_label: str = "old",
                   new_label: str = "new") -> RegistersDiff:
    """Every register, threshold and entry that differs from `old` to `new`."""
    settings = _fields(asdict(old.settings), asdict(new.settings))
    return RegistersDiff(old_label, new_label, tuple(_registers(old, new)),
                         tuple(FieldChange(f"thresholds.{s.field}", s.old, s.new)
                               for s in settings),
                         tuple(_entries(old, new)))


def tripped(d: RegistersDiff, fail_on: str | None) -> bool:
    """`--fail-on`: entries with that change; `any`: any difference at all (thresholds and
    register versions included)."""
    if fail_on is None:
        return False
    return not d.empty if fail_on == "any" else bool(d.of(fail_on))


def fail_on_lines(d: RegistersDiff, fail_on: str | None, limit: int = 20) -> list[str]:
    """Why `--fail-on` failed: a headline and one line per entry (at most `limit`)."""
    if not tripped(d, fail_on):
        return []
    entries = d.of(fail_on or "any")
    what = "changed" if fail_on == "any" else fail_on
    lines = [f"error[fail-on]: the register sets differ: {len(entries)} entr"
             f"{'y' if len(entries) == 1 else 'ies'} {what} (--fail-on {fail_on})"]
    lines += [f"  {e.kind} {e.id} ({e.register}): {e.change}" for e in entries[:limit]]
    if len(entries) > limit:
        lines.append(f"  … and {len(entries) - limit} more (see the report)")
    return lines
