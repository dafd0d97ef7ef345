"""The structural parts of the HTML meeting pack, grouped the way reviewers read them.

The sections of a structural diff (engine/diff/structural.py, in `KINDS` order) are split
into three groups: the rule changes (report_html puts them right after the loosened
decisions), the rest of the policy (categories, vocabulary, sanctions, assurances,
information requirements, metadata) and, last, the destination data (band moves, destination
factors, band rules and destinations). A destination whose only substantive change is its
Freedom House score, with no band move, is a *score-only* change: they share one compact
table at the very end instead of a row each, which used to bury everything else.
"""

from __future__ import annotations

import dataclasses

from engine.diff import fmt, html_parts
from engine.diff.html_parts import e
from engine.diff.structural import CHANGED, ElementChange, FieldChange, Section, StructuralDiff

RULES = "rules"
DESTINATION_KINDS = ("factors", "band_rules", "destinations")
# the rest of the policy, most consequential first; kinds not listed follow in KINDS order
POLICY_ORDER = ("categories", "groups", "control_entries", "sanctions", "end_user_types",
                "red_flags", "purposes", "roles", "assurances", "license_conditions",
                "information", "commitments", "sources", "metadata")
SCORE = "freedom_house.score"
SCORE_COLUMNS = 3  # score-only destinations per row of the compact table


def section_of(s: StructuralDiff, kind: str) -> Section | None:
    return next((sec for sec in s.sections if sec.kind == kind), None)


def policy_sections(s: StructuralDiff) -> list[Section]:
    """The sections that are neither rules nor destination data, in POLICY_ORDER."""
    rest = [sec for sec in s.sections if sec.kind != RULES and sec.kind not in DESTINATION_KINDS]
    rank = {kind: i for i, kind in enumerate(POLICY_ORDER)}
    return sorted(rest, key=lambda sec: rank.get(sec.kind, len(rank)))  # stable: KINDS order


def score_only(c: ElementChange, moved: frozenset[str]) -> bool:
    """True when only the destination's Freedom House score changed and its band did not."""
    fields = c.substantive
    return c.change == CHANGED and c.id not in moved and bool(fields) \
        and all(f.field == SCORE for f in fields)


def split_destinations(section: Section, moved: frozenset[str]
                       ) -> tuple[Section, tuple[ElementChange, ...]]:
    """The destinations section without its score-only changes, and those changes."""
    scores = tuple(c for c in section.changes if score_only(c, moved))
    rest = tuple(c for c in section.changes if not score_only(c, moved))
    return dataclasses.replace(section, changes=rest), scores


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
    head = (f'<td rowspan="{len(fields)}" class="el"><span class="badge {e(c.change)}">'
            f'{e(c.change)}</span> <code>{e(fmt.name(c))}</code>{title}{extra}</td>')
    rows = []
    for k, f in enumerate(fields):
        old, new = _values(f, c)
        cells = f'<td class="f"><code>{e(f.field)}</code></td><td class="old">{old}</td>' \
                f'<td class="new">{new}</td>'
        rows.append(f"<tr>{head if k == 0 else ''}{cells}</tr>")
    return rows


def section_html(section: Section, old: str, new: str, title: str | None = None,
                 hidden_note: str = "changed only in provenance (source, as_of, note)") -> str:
    """One element kind: a heading with counts and old and new values side by side."""
    shown, hidden = fmt.shown_changes(section)
    counts = ", ".join(f"{section.count(w)} {w}" for w in ("added", "removed", "changed",
                                                           "renamed") if section.count(w))
    more = f'<p class="note">{hidden} more {e(hidden_note)}</p>' if hidden else ""
    heading = (f'<h3 id="kind-{e(section.kind)}">{e(title or section.title)} '
               f'<span class="counts">{e(counts)}</span></h3>')
    if not shown:
        return heading + more
    # one tbody per element keeps its rows together on paper
    bodies = "".join("<tbody>" + "".join(_element_rows(c)) + "</tbody>" for c in shown)
    return (f'{heading}<table class="side"><thead><tr><th>element</th><th>field</th>'
            f"<th>{e(old)}</th><th>{e(new)}</th></tr></thead>{bodies}</table>{more}")


def bands_html(s: StructuralDiff) -> str:
    rows = [(f"<code>{e(b.code)}</code>", e(b.name), f'<span class="band {e(b.old)}">{e(b.old)}'
             f'</span>', f'<span class="band {e(b.new)}">{e(b.new)}</span>', e("; ".join(b.causes)))
            for b in s.bands]
    return '<h3 id="bands">Derived risk bands</h3>' + html_parts.table(
        ("code", "destination", "old band", "new band", "causes"), rows, "bands")


def _score(c: ElementChange) -> tuple[str, str, str]:
    f = next(f for f in c.substantive if f.field == SCORE)
    old, new = f.old or "–", f.new or "–"
    try:
        delta = int(new) - int(old)
    except ValueError:
        return old, new, ""
    return old, new, f"+{delta}" if delta > 0 else f"−{-delta}" if delta < 0 else "±0"


def scores_html(changes: tuple[ElementChange, ...], old: str, new: str) -> str:
    """The score-only destination changes, SCORE_COLUMNS to a row."""
    cells = []
    for c in changes:
        before, after, delta = _score(c)
        cells += [f"<code>{e(c.id)}</code>", e(c.title),
                  f'{e(before)} → {e(after)} <span class="delta">{e(delta)}</span>']
    width = 3 * SCORE_COLUMNS
    cells += [""] * (-len(cells) % width)
    rows = [cells[i:i + width] for i in range(0, len(cells), width)]
    head = ("code", "destination", "score") * SCORE_COLUMNS
    return (f'<h3 id="score-only">Freedom House score only <span class="counts">'
            f"{len(changes)} destination(s)</span></h3><p class=\"note\">Destinations whose "
            f"only change from {e(old)} to {e(new)} is their Freedom House score (a new "
            "edition), without a band move or a factor change.</p>"
            + html_parts.table(head, rows, "scores"))


def destinations_html(s: StructuralDiff, old: str, new: str) -> str:
    """Band moves, then factors and band rules, destinations, and score-only changes last."""
    parts = [bands_html(s)] if s.bands else []
    moved = frozenset(b.code for b in s.bands)
    scores: tuple[ElementChange, ...] = ()
    for kind in DESTINATION_KINDS:
        section = section_of(s, kind)
        if section is None:
            continue
        if kind == "destinations":
            section, scores = split_destinations(section, moved)
            if section.changes:
                parts.append(section_html(section, old, new,
                                          "Destinations: factors, status and other changes"))
            continue
        parts.append(section_html(section, old, new))
    if scores:
        parts.append(scores_html(scores, old, new))
    return "".join(parts)


def destination_counts(s: StructuralDiff) -> str:
    """What the contents say about the destination data."""
    section = section_of(s, "destinations")
    rest, scores = split_destinations(section, frozenset(b.code for b in s.bands)) \
        if section else (None, ())
    shown = len(fmt.shown_changes(rest)[0]) if rest else 0
    return (f"{len(s.bands)} band move(s), {shown} destination(s) with other changes, "
            f"{len(scores)} with a new score only")


def has_destination_data(s: StructuralDiff) -> bool:
    return bool(s.bands) or any(section_of(s, kind) for kind in DESTINATION_KINDS)
