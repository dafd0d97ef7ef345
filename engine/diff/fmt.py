"""Wording shared by the text, Markdown and HTML reports (same facts, same words)."""

from __future__ import annotations

from engine.diff.behavioural import BehaviouralDiff, Breakdown, CaseChange
from engine.diff.causes import NO_CAUSE
from engine.diff.report import DiffReport, VersionInfo
from engine.diff.structural import ADDED, REMOVED, RENAMED, ElementChange, FieldChange, Section

ABSENT = "(absent)"
LONG = 72  # values longer than this are shown old and new on their own lines
SYMBOLS = {"added": "+", "removed": "-", "changed": "~", "renamed": ">"}
LEGEND = "+ added, - removed, ~ changed, > renamed"
SHORT = {"request_information": "req_info", "approve_with_conditions": "approve_cond"}
BREAKDOWN_HEAD = ("cases", "changed", "loosened", "tightened", "reasons")


def breakdowns(b: BehaviouralDiff) -> tuple[tuple[str, str, tuple[Breakdown, ...]], ...]:
    """(title, key column, rows) of every breakdown, in report order."""
    return (("By category", "category", b.by_category),
            ("By destination band", "band", b.by_band))


def title(report: DiffReport) -> str:
    verb = "replay" if report.mode == "replay" else "diff"
    return f"echri {verb}: {report.old.label} → {report.new.label}"


def describe(v: VersionInfo) -> str:
    if v.status == "recorded":
        return f"{v.spec or 'recorded decisions'} (decided by {v.location})"
    where = v.spec if v.spec == v.location else f"{v.spec} ({v.location})"
    return f"{where}, {v.status}, effective {v.effective}, {v.digest[:19]}"


def name(c: ElementChange) -> str:
    """The element's id (renames: `old → new`)."""
    return f"{c.old_id} → {c.id}" if c.change == RENAMED else c.id


def label(c: ElementChange) -> str:
    """The element's title when it has one beside its id."""
    return c.title if c.title and c.title != c.id else ""


def heading(c: ElementChange) -> str:
    """`id: title (note)`, without the change symbol."""
    extra = f" ({c.note})" if c.note else ""
    return f"{name(c)}{': ' + label(c) if label(c) else ''}{extra}"


def one_side(f: FieldChange) -> bool:
    return f.old is None or f.new is None


def is_long(f: FieldChange) -> bool:
    return not (f.added or f.removed) and max(len(f.old or ""), len(f.new or "")) > LONG


def value_text(f: FieldChange) -> str:
    """A field change on one line: `old → new`, `+a −b`, or the value of an added element."""
    if f.added or f.removed:
        return " ".join([f"+{v}" for v in f.added] + [f"−{v}" for v in f.removed])
    if f.old is None and f.new is not None:
        return f.new
    if f.new is None and f.old is not None:
        return f.old
    return f"{f.old} → {f.new}"


def full_value_text(f: FieldChange, element: ElementChange) -> str:
    """Like value_text, but a field that only one side of a changed element has says so."""
    if element.change in (ADDED, REMOVED) or not one_side(f) or f.added or f.removed:
        return value_text(f)
    old, new = (ABSENT if v is None else v for v in (f.old, f.new))
    return f"{old} → {new}"


def shown_changes(section: Section) -> tuple[list[ElementChange], int]:
    """Element changes worth listing, and how many changed only in provenance fields."""
    shown, hidden = [], 0
    for c in section.changes:
        if c.substantive or c.change in (ADDED, REMOVED, RENAMED):
            shown.append(c)
        else:
            hidden += 1
    return shown, hidden


def provenance_note(c: ElementChange) -> str | None:
    n = len(c.fields) - len(c.substantive)
    return f"+{n} provenance change(s): source, as_of, note" if n else None


def renames(report: DiffReport) -> dict[tuple[str, str], str]:
    """(old id, new id) of every renamed rule, to label rule changes of cases."""
    if report.structural is None:
        return {}
    return {(c.old_id, c.id): c.note for s in report.structural.sections for c in s.changes
            if c.change == RENAMED and c.old_id}


def rule_changes(only_old: tuple[str, ...], only_new: tuple[str, ...],
                 renamed: dict[tuple[str, str], str]) -> list[tuple[str, str]]:
    """(label, rule ids) lines for the rules that fired on one side only; renames paired."""
    pairs = [(a, b) for a in only_old for b in only_new if (a, b) in renamed]
    old = [r for r in only_old if all(r != a for a, _ in pairs)]
    new = [r for r in only_new if all(r != b for _, b in pairs)]
    out = [("only old", ", ".join(old))] if old else []
    out += [("only new", ", ".join(new))] if new else []
    out += [("renamed", ", ".join(f"{a} → {b}" for a, b in pairs))] if pairs else []
    return out


def short(outcome: str) -> str:
    return SHORT.get(outcome, outcome)


def breakdown_row(b: Breakdown) -> tuple[str, ...]:
    return (b.key, str(b.total), str(b.changed), str(b.loosened), str(b.tightened),
            str(b.reasons))


def causes(c: CaseChange) -> tuple[str, ...]:
    """Why the case changed: never empty, never a blank line (engine/diff/causes.py)."""
    found = tuple(text for text in c.causes if text.strip())
    return found or (f"{NO_CAUSE}: no cause was computed for this case",)
