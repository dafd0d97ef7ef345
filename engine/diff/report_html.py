"""The HTML report: one self-contained page (inline CSS and SVG, no scripts, no links out).

Summary cards first, then the behavioural diff (transition matrix chart, changed cases by
direction, breakdowns with bars), the authors' declared changes and the structural changes
with old and new values side by side (word-level highlighting for long text). `@media print`
turns it into a clean paper report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from engine.diff import fmt, html_parts
from engine.diff.behavioural import DIRECTION_TITLES, DIRECTIONS, BehaviouralDiff, Breakdown
from engine.diff.html_style import CSS
from engine.diff.report import DiffReport, summary
from engine.diff.structural import ElementChange, FieldChange, Section, StructuralDiff
from engine.version import __version__


def e(text: object) -> str:
    return escape(str(text))


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """A table whose cells are already HTML."""
    ths = "".join(f"<th>{h}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{ths}</tr></thead><tbody>{trs}</tbody></table>'


def _card(value: object, label: str, cls: str = "") -> str:
    return f'<div class="card {cls}"><div class="value">{e(value)}</div><div>{e(label)}</div></div>'


def _cards(report: DiffReport) -> str:
    cards = []
    if report.structural is not None:
        cards.append(_card(report.structural.count, "elements changed"))
        cards.append(_card(len(report.structural.bands), "destination bands moved"))
    b = report.behavioural
    if b is not None:
        counts = b.counts
        cards += [_card(b.total, "cases compared"),
                  _card(counts["loosened"], "loosened", "loosened" if counts["loosened"] else ""),
                  _card(counts["tightened"], "tightened", "tightened"),
                  _card(counts["reasons"], "same outcome, other reasons", "reasons")]
    return f'<div class="cards">{"".join(cards)}</div>'


def _versions(report: DiffReport) -> str:
    rows = [(f"<b>{side}</b>", f"<code>{e(v.spec)}</code>", e(v.location), e(v.status),
             e(v.effective if v.effective_from else ""), f"<code>{e(v.digest[:19])}</code>")
            for side, v in (("old", report.old), ("new", report.new))]
    return _table(("", "version", "location", "status", "effective", "digest"), rows, "versions")


def _summary(report: DiffReport) -> str:
    items = "".join(f"<li><b>{e(label)}:</b> {e(text)}</li>" for label, text in summary(report))
    return (f'<section id="summary"><h2>Summary</h2>{_cards(report)}<ul class="summary">{items}'
            f"</ul>{_versions(report)}</section>")


def _case_rows(b: BehaviouralDiff, direction: str, renamed: dict[tuple[str, str], str]
               ) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for c in b.of(direction):
        reasons = [f'<span class="lbl">{e(label)}:</span> {e(rules)}'
                   for label, rules in fmt.rule_changes(c.only_old, c.only_new, renamed)]
        reasons += [e(d) for d in c.details]
        rows.append((f"<code>{e(c.case_id)}</code>", e(c.origin),
                     f'<span class="o">{e(c.old)}</span> → <span class="o">{e(c.new)}</span>',
                     "<br>".join(reasons) or "·",
                     '<ul class="why">' + "".join(f"<li>{e(cause)}</li>"
                                                  for cause in fmt.causes(c)) + "</ul>",
                     e(", ".join(c.keys.categories)), e(c.keys.band)))
    return rows


def _breakdown(title: str, key: str, rows: Sequence[Breakdown]) -> str:
    scale = max((r.total for r in rows), default=1)
    body = [(e(r.key), e(r.total), e(r.changed), e(r.loosened), e(r.tightened), e(r.reasons),
             html_parts.bar_svg(r.total, r.loosened, r.tightened, r.reasons, scale))
            for r in rows]
    head = (key, *fmt.BREAKDOWN_HEAD, "share changed")
    return f"<h3>{e(title)}</h3>{_table(head, body, 'num breakdown')}"


def _behavioural(report: DiffReport, b: BehaviouralDiff) -> str:
    parts = ['<section id="behaviour"><h2>Behavioural changes</h2>',
             "<ul class='corpus'>" + "".join(f"<li>{e(c)}</li>" for c in b.corpus) + "</ul>"]
    if b.skipped:
        skipped = [(e(s.origin), e(s.reason)) for s in b.skipped]
        parts.append(f"<h3>Skipped inputs ({len(b.skipped)})</h3>"
                     + _table(("input", "reason"), skipped))
    if b.total:
        old = "recorded" if report.mode == "replay" else report.old.label
        parts.append('<h3>Transition matrix</h3><figure class="chart">'
                     + html_parts.matrix_svg(b.outcomes, b.matrix, old, report.new.label)
                     + html_parts.legend_svg()
                     + "<figcaption>Rows: outcome under the old version; columns: outcome under "
                       "the new version. Outcomes are ordered most severe first.</figcaption>"
                       "</figure>")
        renamed = fmt.renames(report)
        for direction in DIRECTIONS:
            rows = _case_rows(b, direction, renamed)
            parts.append(f'<h3 class="{direction}">{e(DIRECTION_TITLES[direction])}: '
                         f"{len(rows)}</h3>")
            if rows:
                parts.append(_table(("case", "from", "outcome", "rules and other differences",
                                     "why", "categories", "band"), rows, "cases"))
        parts += [_breakdown(*breakdown) for breakdown in fmt.breakdowns(b)]
    return "".join(parts) + "</section>"


def _values(f: FieldChange, c: ElementChange) -> tuple[str, str]:
    if f.added or f.removed:
        added = " ".join(f"<ins>+{e(v)}</ins>" for v in f.added)
        removed = " ".join(f"<del>−{e(v)}</del>" for v in f.removed)
        return removed or "", added or ""
    if f.old is not None and f.new is not None:
        return html_parts.word_diff(f.old, f.new)
    absent = '<span class="absent">(absent)</span>' if c.change not in ("added", "removed") \
        else ""
    return (e(f.old) if f.old is not None else absent, e(f.new) if f.new is not None else absent)


def _element_rows(c: ElementChange) -> list[str]:
    fields = c.substantive or (FieldChange("(fields)", "", ""),)
    note = fmt.provenance_note(c)
    title = f'<div class="t">{e(fmt.label(c))}</div>' if fmt.label(c) else ""
    extra = f'<div class="note">{e(c.note)}</div>' if c.note else ""
    extra += f'<div class="note">{e(note)}</div>' if note else ""
    head = (f'<td rowspan="{len(fields)}" class="el"><span class="badge {c.change}">'
            f'{e(c.change)}</span> <code>{e(fmt.name(c))}</code>{title}{extra}</td>')
    rows = []
    for k, f in enumerate(fields):
        old, new = _values(f, c)
        cells = f'<td class="f"><code>{e(f.field)}</code></td><td class="old">{old}</td>' \
                f'<td class="new">{new}</td>'
        rows.append(f"<tr>{head if k == 0 else ''}{cells}</tr>")
    return rows


def _section(section: Section, old: str, new: str) -> str:
    shown, hidden = fmt.shown_changes(section)
    counts = ", ".join(f"{section.count(w)} {w}" for w in ("added", "removed", "changed",
                                                           "renamed") if section.count(w))
    rows = "".join(r for c in shown for r in _element_rows(c))
    more = f'<p class="note">{hidden} more changed only in provenance (source, as_of, note)</p>' \
        if hidden else ""
    return (f'<h3>{e(section.title)} <span class="counts">{e(counts)}</span></h3>'
            f'<table class="side"><thead><tr><th>element</th><th>field</th><th>{e(old)}</th>'
            f"<th>{e(new)}</th></tr></thead><tbody>{rows}</tbody></table>{more}")


def _bands(s: StructuralDiff) -> str:
    rows = [(f"<code>{e(b.code)}</code>", e(b.name), f'<span class="band {e(b.old)}">{e(b.old)}'
             f'</span>', f'<span class="band {e(b.new)}">{e(b.new)}</span>', e("; ".join(b.causes)))
            for b in s.bands]
    return "<h3>Derived risk bands</h3>" + _table(
        ("code", "destination", "old band", "new band", "causes"), rows, "bands")


def _structural(report: DiffReport, s: StructuralDiff) -> str:
    parts = ['<section id="structure"><h2>Structural changes</h2>']
    parts += [_section(sec, report.old.label, report.new.label) for sec in s.sections]
    if s.bands:
        parts.append(_bands(s))
    return "".join(parts) + "</section>"


def render_html(report: DiffReport) -> str:
    """The whole report as one HTML document."""
    body = [f"<header><h1>{e(fmt.title(report))}</h1></header>", _summary(report)]
    if report.declared_changes:
        items = "".join(f"<li>{e(c)}</li>" for c in report.declared_changes)
        body.append(f'<section id="declared"><h2>Declared changes</h2><p class="note">From '
                    f"<code>policy.yaml</code> of {e(report.new.label)}.</p><ul>{items}</ul>"
                    "</section>")
    if report.undeclared:
        items = "".join(f"<li>{e(u.kind)} <code>{e(u.id)}</code> {e(u.change)}</li>"
                        for u in report.undeclared)
        body.append(f'<section id="undeclared"><h2>Undeclared changes</h2><p class="note">'
                    f"Warning: structural changes that no line of <code>changes:</code> in "
                    f"<code>policy.yaml</code> of {e(report.new.label)} mentions.</p>"
                    f"<ul>{items}</ul></section>")
    if report.behavioural is not None:
        body.append(_behavioural(report, report.behavioural))
    if report.structural is not None and not report.structural.empty:
        body.append(_structural(report, report.structural))
    body.append(f"<footer>echri {e(__version__)} · {e(fmt.LEGEND)}</footer>")
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(fmt.title(report))}</title><style>{CSS}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
