"""The plain-text report: summary first, then structural and behavioural details."""

from __future__ import annotations

import json
from collections.abc import Sequence

from engine.diff import fmt
from engine.diff.behavioural import DIRECTION_TITLES, DIRECTIONS, BehaviouralDiff, Breakdown
from engine.diff.proof import DIRECTIONS as PROOF_DIRECTIONS
from engine.diff.report import DiffReport, summary
from engine.diff.structural import ElementChange, Section, StructuralDiff

INDENT = "  "


def _field_lines(c: ElementChange) -> list[str]:
    lines = []
    for f in c.substantive:
        if fmt.is_long(f) and not fmt.one_side(f):
            lines += [f"      {f.field}:", f"        - {f.old}", f"        + {f.new}"]
        else:
            lines.append(f"      {f.field}: {fmt.full_value_text(f, c)}")
    note = fmt.provenance_note(c)
    return lines + ([f"      ({note})"] if note else [])


def _section(section: Section) -> list[str]:
    shown, hidden = fmt.shown_changes(section)
    lines = [section.title]
    for c in shown:
        lines.append(f"  {fmt.SYMBOLS[c.change]} {fmt.heading(c)}")
        lines += _field_lines(c)
    if hidden:
        lines.append(f"  ({hidden} more changed only in provenance: source, as_of, note)")
    return lines


def _structural(s: StructuralDiff) -> list[str]:
    lines = ["", "STRUCTURAL CHANGES", f"({fmt.LEGEND})"]
    for section in s.sections:
        lines += ["", *_section(section)]
    if s.bands:
        lines += ["", "Derived risk bands"]
        lines += [f"  {b.code} {b.name}: {b.old} → {b.new} ({'; '.join(b.causes)})"
                  for b in s.bands]
    return lines


def table(rows: Sequence[Sequence[str]], indent: str = INDENT) -> list[str]:
    """Left-aligned first column, right-aligned numbers."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:],
                                                                          strict=True)]
        out.append((indent + "  ".join(cells)).rstrip())
    return out


def _matrix(b: BehaviouralDiff, old: str, new: str) -> list[str]:
    rows = [[f"{old} \\ {new}", *map(fmt.short, b.outcomes)]]
    for name, counts in zip(b.outcomes, b.matrix, strict=True):
        rows.append([name, *(str(n) if n else "." for n in counts)])
    return ["", "Transition matrix (rows: old outcome, columns: new outcome)", *table(rows)]


def _proof_lines(report: DiffReport, direction: str) -> list[str]:
    """What `echri analyze compare` proved about one direction, each region with its witness."""
    proof = report.proof
    if proof is None or direction not in PROOF_DIRECTIONS:
        return []
    b = report.behavioural
    lines = [f"  proof: {proof.headline(direction)} {proof.bounds()}, from {proof.source}"]
    note = proof.corpus_note(direction, b.counts[direction] if b else 0)
    lines += [f"  warning[proof-bounds]: {note}"] if note else []
    for n, r in enumerate(proof.of(direction), 1):
        lines += [f"    {n}. {r.condition}",
                  f"       witness: {json.dumps(r.witness, ensure_ascii=False)}"]
    return lines


def _change_lines(report: DiffReport, b: BehaviouralDiff, direction: str,
                  renamed: dict[tuple[str, str], str]) -> list[str]:
    changes = b.of(direction)
    lines = ["", f"{DIRECTION_TITLES[direction]}: {len(changes)}", *_proof_lines(report,
                                                                                 direction)]
    for c in changes:
        lines.append(f"  {c.case_id} ({c.origin}): {c.old} → {c.new}")
        lines += [f"      {label}: {rules}"
                  for label, rules in fmt.rule_changes(c.only_old, c.only_new, renamed)]
        lines += [f"      {d}" for d in c.details]
        lines += [f"      why: {cause}" for cause in fmt.causes(c)]
    return lines


def _breakdown(title: str, key: str, rows: Sequence[Breakdown]) -> list[str]:
    if not rows:
        return []
    head = (key, *fmt.BREAKDOWN_HEAD)
    return ["", title, *table([head, *(fmt.breakdown_row(r) for r in rows)])]


def _behavioural(report: DiffReport, b: BehaviouralDiff) -> list[str]:
    lines = ["", "BEHAVIOURAL CHANGES", *(f"corpus: {c}" for c in b.corpus)]
    lines += [f"skipped: {s.origin}: {s.reason}" for s in b.skipped]
    if not b.total:
        return lines + _proof(report)
    lines += _matrix(b, report.old.version, report.new.version)
    renamed = fmt.renames(report)
    for direction in DIRECTIONS:
        lines += _change_lines(report, b, direction, renamed)
    return lines + [line for bd in fmt.breakdowns(b) for line in _breakdown(*bd)]


def _proof(report: DiffReport) -> list[str]:
    """The proof on its own (no decisions were compared)."""
    if report.proof is None:
        return []
    lines = ["", "PROOF (echri analyze compare)"]
    for direction in PROOF_DIRECTIONS:
        lines += ["", f"{DIRECTION_TITLES[direction]}", *_proof_lines(report, direction)]
    return lines


def render_text(report: DiffReport) -> str:
    """The report for a terminal or a log (no colours, no wrapping)."""
    lines = [fmt.title(report), f"old: {fmt.describe(report.old)}",
             f"new: {fmt.describe(report.new)}", "", "SUMMARY"]
    lines += [f"  {label}: {text}" for label, text in summary(report)]
    if report.declared_changes:
        lines += ["", f"DECLARED CHANGES ({report.new.label}, policy.yaml `changes`)"]
        lines += [f"  - {c}" for c in report.declared_changes]
    if report.undeclared:
        lines += ["", f"UNDECLARED CHANGES (not mentioned in the `changes:` of {report.new.label})"]
        lines += [f"  warning[undeclared-change]: {u.message()}" for u in report.undeclared]
    if report.structural is not None and not report.structural.empty:
        lines += _structural(report.structural)
    if report.behavioural is not None:
        lines += _behavioural(report, report.behavioural)
    else:
        lines += _proof(report)
    return "\n".join(lines) + "\n"
