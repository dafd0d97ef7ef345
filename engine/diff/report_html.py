"""The HTML report: a printable meeting pack in one self-contained page.

No scripts and no links out: inline CSS (engine/diff/html_style.py, A4 print rules
included) and inline SVG. The order is the reviewers' (issue "Authors' and reviewers'
workflow", meeting pack): a cover with both versions, their digests and effective dates,
the counts and a chart of the changed decisions; a table of contents; then what matters
first — loosened decisions with their causes, rule changes (conditions diffed word by
word), tightened decisions, decisions with the same outcome for other reasons, the overview
(transition matrix, bar charts of the changes by category, band and destination
(html_charts.py), breakdowns), categories, vocabulary and sanctions, the authors' declared
changes and any undeclared ones, and last the destination data, where destinations whose
only change is their Freedom House score share one compact table (html_structure.py).
On paper every page has a running header (policy, both versions, short digests) and
`page X of Y` (html_style.page_css). Output depends only on the report: the same inputs
give byte-identical pages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from engine.diff import fmt, html_charts, html_parts, html_structure
from engine.diff.behavioural import LOOSENED, REASONS, TIGHTENED, BehaviouralDiff, Breakdown
from engine.diff.html_parts import e, table
from engine.diff.html_style import CSS, page_css, running_footer, running_header
from engine.diff.proof import DIRECTIONS as PROOF_DIRECTIONS
from engine.diff.report import DiffReport, VersionInfo, summary
from engine.diff.structural import StructuralDiff
from engine.version import __version__

PART_TITLES = {
    LOOSENED: "Loosened decisions",
    "proof": "Proof over every case",
    "rules": "Rule changes",
    TIGHTENED: "Tightened decisions",
    REASONS: "Same outcome, different reasons",
    "overview": "Decisions overview",
    "policy": "Categories, vocabulary and sanctions",
    "declared": "Declared changes",
    "undeclared": "Undeclared changes",
    "destinations": "Destination data",
}
DIRECTION_NOTES = {
    LOOSENED: "less severe under {new} than under {old}",
    TIGHTENED: "more severe under {new} than under {old}",
    REASONS: "the same outcome under both versions, for other reasons",
}
CASE_HEAD = ("case", "from", "outcome", "rules and other differences", "why", "categories",
             "band")


@dataclass(frozen=True, slots=True)
class Part:
    """One numbered part of the pack: its anchor, what the contents say, its HTML."""

    anchor: str
    count: str
    body: str

    @property
    def title(self) -> str:
        return PART_TITLES[self.anchor]


def _card(value: object, label: str, cls: str = "", href: str = "") -> str:
    inner = f'<div class="value">{e(value)}</div><div>{e(label)}</div>'
    if href:
        inner = f'<a href="#{e(href)}">{inner}</a>'
    classes = f"card {cls}".strip()
    return f'<div class="{classes}">{inner}</div>'


def _rule_counts(s: StructuralDiff) -> dict[str, int]:
    rules = html_structure.section_of(s, html_structure.RULES)
    return {w: rules.count(w) if rules else 0 for w in ("added", "removed", "changed", "renamed")}


def _cards(report: DiffReport) -> str:
    cards = []
    if report.structural is not None:
        counts = _rule_counts(report.structural)
        cards += [_card(counts[w], f"rules {w}", "", "rules")
                  for w in ("added", "removed", "changed", "renamed")
                  if counts[w] or w != "renamed"]
    b = report.behavioural
    if b is not None:
        counts = b.counts
        cards += [_card(counts[LOOSENED], "decisions loosened",
                        LOOSENED if counts[LOOSENED] else "", LOOSENED),
                  _card(counts[TIGHTENED], "decisions tightened", TIGHTENED, TIGHTENED),
                  _card(counts[REASONS], "same outcome, other reasons", REASONS, REASONS),
                  _card(b.total, "cases compared", "", "overview")]
    if report.structural is not None:
        cards.append(_card(len(report.structural.bands), "destination bands moved", "",
                           "destinations"))
    if report.undeclared:
        cards.append(_card(len(report.undeclared), "undeclared changes", "warn", "undeclared"))
    return f'<div class="cards">{"".join(cards)}</div>'


def _version_row(side: str, v: VersionInfo) -> tuple[str, ...]:
    return (f"<b>{side}</b>", f"<code>{e(v.spec)}</code>", e(v.location), e(v.status),
            e(v.effective if v.effective_from else ""), f'<code class="digest">{e(v.digest)}'
            "</code>")


def _cover(report: DiffReport) -> str:
    versions = table(("", "version", "location", "status", "effective", "digest"),
                     [_version_row("old", report.old), _version_row("new", report.new)],
                     "versions")
    items = "".join(f"<li><b>{e(label)}:</b> {e(text)}</li>" for label, text in summary(report))
    sub = (f"Replay for the reviewers of the Subscribing States: which recorded decisions "
           f"{e(report.new.label)} would decide otherwise." if report.mode == "replay" else
           f"Meeting pack for the reviewers of the Subscribing States: what changes from "
           f"{e(report.old.label)} to {e(report.new.label)}, and which decisions it changes.")
    parts = [f'<header><h1>{e(fmt.title(report))}</h1><p class="sub">{sub}</p></header>',
             f'<h2>Summary</h2>{versions}{_cards(report)}<ul class="summary">{items}</ul>']
    b = report.behavioural
    if b is not None and b.changes:
        parts.append('<figure class="chart small"><figcaption>Changed decisions by outcome '
                     "transition (cases of the corpus)</figcaption>"
                     f"{html_parts.transitions_svg(b)}</figure>")
    return f'<section id="summary" class="cover">{"".join(parts)}</section>'


def _contents(parts: Sequence[Part]) -> str:
    items = "".join(f'<li><a href="#{e(p.anchor)}">{e(p.title)}</a> '
                    f'<span class="counts">{e(p.count)}</span></li>' for p in parts)
    return f'<nav id="contents" class="toc"><h2>Contents</h2><ol>{items}</ol></nav>'


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


def _proof_note(report: DiffReport, direction: str) -> str:
    """One line on what the proof says about this direction, linking to the proof part."""
    proof, b = report.proof, report.behavioural
    if proof is None or direction not in PROOF_DIRECTIONS:
        return ""
    note = proof.corpus_note(direction, b.counts[direction] if b else 0)
    warn = f"<br><b>Warning:</b> {e(note)}" if note else ""
    return (f'<p><b>Proof:</b> {e(proof.headline(direction))} '
            f'{e(proof.bounds())} (<a href="#proof">regions and witnesses</a>){warn}</p>')


def _proof(report: DiffReport) -> Part | None:
    """Every region `echri analyze compare` found, per direction, each with its witness."""
    proof = report.proof
    if proof is None:
        return None
    body = [f'<p class="note">From <code>{e(proof.source)}</code>: '
            f"{e(proof.old.name)} → {e(proof.new.name)}, digests "
            f'<code class="digest">{e(proof.old.digest)}</code> → <code class="digest">'
            f"{e(proof.new.digest)}</code> {e(proof.bounds())}.</p>"]
    for direction in PROOF_DIRECTIONS:
        rows = [(e(n), e(r.region), e(r.condition.removeprefix(r.region).lstrip("; ")),
                 f'<code class="digest">{e(json.dumps(r.witness, ensure_ascii=False))}</code>')
                for n, r in enumerate(proof.of(direction), 1)]
        body.append(f"<h3>{e(direction.capitalize())}</h3>"
                    f"<p><b>{e(proof.headline(direction))}</b></p>")
        if rows:
            body.append(table(("#", "region", "in the witness", "witness case"), rows,
                              "regions"))
    counts = ", ".join(f"{len(proof.of(d))} {d}" for d in PROOF_DIRECTIONS)
    return Part("proof", f"{counts} region(s)", "".join(body))


def _cases(report: DiffReport, b: BehaviouralDiff, direction: str) -> Part:
    rows = _case_rows(b, direction, fmt.renames(report))
    old = "the recorded decision" if report.mode == "replay" else report.old.label
    note = DIRECTION_NOTES[direction].format(old=old, new=report.new.label)
    body = _proof_note(report, direction)
    body += f'<p class="note">{len(rows)} case(s) {e(note)}, each with why.</p>'
    body += table(CASE_HEAD, rows, "cases") if rows else ""
    return Part(direction, f"{len(rows)} case(s)", body)


def _breakdown(title: str, key: str, rows: Sequence[Breakdown]) -> str:
    scale = max((r.total for r in rows), default=1)
    body = [(e(r.key), e(r.total), e(r.changed), e(r.loosened), e(r.tightened), e(r.reasons),
             html_parts.bar_svg(r.total, r.loosened, r.tightened, r.reasons, scale))
            for r in rows]
    head = (key, *fmt.BREAKDOWN_HEAD, "share changed")
    return f"<h3>{e(title)}</h3>{table(head, body, 'num breakdown')}"


def _overview(report: DiffReport, b: BehaviouralDiff) -> Part:
    parts = ["<ul class='corpus'>" + "".join(f"<li>{e(c)}</li>" for c in b.corpus) + "</ul>"]
    if b.skipped:
        skipped = [(e(s.origin), e(s.reason)) for s in b.skipped]
        parts.append(f"<h3>Skipped inputs ({len(b.skipped)})</h3>"
                     + table(("input", "reason"), skipped))
    if b.total:
        old = "recorded" if report.mode == "replay" else report.old.label
        parts.append('<h3>Transition matrix</h3><figure class="chart">'
                     + html_parts.matrix_svg(b.outcomes, b.matrix, old, report.new.label)
                     + html_parts.legend_svg()
                     + "<figcaption>Rows: outcome under the old version; columns: outcome under "
                       "the new version. Outcomes are ordered most severe first.</figcaption>"
                       "</figure>")
        parts.append(html_charts.charts_html(b))
        parts += [_breakdown(*breakdown) for breakdown in fmt.breakdowns(b)]
    return Part("overview", f"{b.total} case(s) compared", "".join(parts))


def _structural_parts(report: DiffReport, s: StructuralDiff) -> dict[str, Part]:
    old, new = report.old.label, report.new.label
    rules = html_structure.section_of(s, html_structure.RULES)
    counts = _rule_counts(s)
    out = {"rules": Part("rules", ", ".join(f"{n} {w}" for w, n in counts.items() if n)
                         or "none", html_structure.section_html(rules, old, new)
                         if rules else '<p class="note">No rule changed.</p>')}
    policy = html_structure.policy_sections(s)
    if policy:
        out["policy"] = Part("policy", f"{sum(len(sec.changes) for sec in policy)} element(s)",
                             "".join(html_structure.section_html(sec, old, new)
                                     for sec in policy))
    if html_structure.has_destination_data(s):
        out["destinations"] = Part("destinations", html_structure.destination_counts(s),
                                   html_structure.destinations_html(s, old, new))
    return out


def _declared(report: DiffReport) -> dict[str, Part]:
    out = {}
    if report.declared_changes:
        items = "".join(f"<li>{e(c)}</li>" for c in report.declared_changes)
        out["declared"] = Part("declared", f"{len(report.declared_changes)} line(s)",
                               f'<p class="note">From <code>policy.yaml</code> of '
                               f"{e(report.new.label)}.</p><ul>{items}</ul>")
    if report.undeclared:
        items = "".join(f"<li>{e(u.kind)} <code>{e(u.id)}</code> {e(u.change)}</li>"
                        for u in report.undeclared)
        out["undeclared"] = Part("undeclared", f"{len(report.undeclared)} warning(s)",
                                 f'<p class="note">Warning: structural changes that no line of '
                                 f"<code>changes:</code> in <code>policy.yaml</code> of "
                                 f"{e(report.new.label)} mentions.</p><ul>{items}</ul>")
    return out


def parts(report: DiffReport) -> list[Part]:
    """The numbered parts of the pack, in reading order (only those with content)."""
    found: dict[str, Part] = {}
    b = report.behavioural
    if b is not None:
        found.update({d: _cases(report, b, d) for d in (LOOSENED, TIGHTENED, REASONS)})
        found["overview"] = _overview(report, b)
    if report.structural is not None:
        found.update(_structural_parts(report, report.structural))
    found.update(_declared(report))
    proof = _proof(report)
    if proof is not None:
        found["proof"] = proof
    return [found[anchor] for anchor in PART_TITLES if anchor in found]


def _part_html(number: int, part: Part) -> str:
    return (f'<section id="{e(part.anchor)}"><h2>'
            f'<span class="n">{number}.</span> {e(part.title)} <a class="top noprint" '
            f'href="#contents">contents ↑</a></h2>{part.body}</section>')


def render_html(report: DiffReport) -> str:
    """The whole report as one HTML document (the meeting pack)."""
    found = parts(report)
    body = [_cover(report), _contents(found)]
    body += [_part_html(k, part) for k, part in enumerate(found, start=1)]
    body.append(f"<footer>echri {e(__version__)} · {e(fmt.title(report))} · "
                f"{e(fmt.LEGEND)}</footer>")
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(fmt.title(report))}</title><style>{CSS}"
            f"{page_css(running_header(report), running_footer(report))}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
