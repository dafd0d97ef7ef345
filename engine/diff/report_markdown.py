"""The Markdown report, for a pull-request comment: summary first, details collapsed.

GitHub renders `<details>` blocks with Markdown inside when a blank line follows the
`<summary>`. Long lists are cut (at most MAX_ITEMS entries per block, fewer when needed)
to keep the comment under GitHub's 65,536-character limit; the HTML report lists
everything, the JSON report also every provenance change.

The comment is posted on pull requests, so every text that comes from policy or case data
goes through engine/markdown.py's `escape`, `escape_html` or `code`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from engine.diff import fmt
from engine.diff.behavioural import (
    DIRECTION_TITLES,
    DIRECTIONS,
    LOOSENED,
    BehaviouralDiff,
    Breakdown,
)
from engine.diff.proof import DIRECTIONS as PROOF_DIRECTIONS
from engine.diff.report import DiffReport, summary
from engine.diff.structural import ElementChange, FieldChange, Section, StructuralDiff
from engine.markdown import code, details, escape, escape_html, table

MAX_ITEMS = 60
COMMENT_LIMIT = 60_000  # characters, with a margin under GitHub's 65,536
def _more(total: int, limit: int) -> list[str]:
    return ["", f"_… and {total - limit} more (see `--format html` or `json`)_"] \
        if total > limit else []


def _field(f: FieldChange, c: ElementChange) -> list[str]:
    if fmt.is_long(f) and not fmt.one_side(f):
        # every line of the values starts with `-` or `+`, so none can close the fence
        old, new = ((v or "").splitlines() or [""] for v in (f.old, f.new))
        return [f"  - {code(f.field)}:", "    ```diff", *(f"    - {v}" for v in old),
                *(f"    + {v}" for v in new), "    ```"]
    return [f"  - {code(f.field)}: {code(fmt.full_value_text(f, c))}"]


def _element(c: ElementChange) -> list[str]:
    title = f" {escape(fmt.label(c))}" if fmt.label(c) else ""
    note = f" _({c.note})_" if c.note else ""
    lines = [f"- **{fmt.SYMBOLS[c.change]}** {code(fmt.name(c))}{title}{note}"]
    for f in c.substantive:
        lines += _field(f, c)
    more = fmt.provenance_note(c)
    return lines + ([f"  - _{more}_"] if more else [])


def _section(section: Section, limit: int) -> list[str]:
    shown, hidden = fmt.shown_changes(section)
    counts = ", ".join(f"{section.count(w)} {w}" for w in ("added", "removed", "changed",
                                                           "renamed") if section.count(w))
    body = [line for c in shown[:limit] for line in _element(c)] + _more(len(shown), limit)
    if hidden:
        body += ["", f"_{hidden} more changed only in provenance (source, as_of, note)_"]
    return details(f"<b>{section.title}</b>: {counts}", body)


def _structural(s: StructuralDiff, limit: int) -> list[str]:
    lines = ["#### Structural changes", "", f"_{fmt.LEGEND}_", ""]
    for section in s.sections:
        lines += _section(section, limit)
    if s.bands:
        rows = [tuple(escape(v) for v in (b.code, b.name, b.old, b.new, "; ".join(b.causes)))
                for b in s.bands]
        lines += details(f"<b>Derived risk bands</b>: {len(s.bands)} destination(s) moved",
                         table(("code", "destination", "old band", "new band", "causes"),
                               rows, right=9))
    return lines


def _matrix(b: BehaviouralDiff) -> list[str]:
    head = ("old \\ new", *(code(o) for o in b.outcomes))
    rows = [(code(o), *(str(n) if n else "·" for n in counts))
            for o, counts in zip(b.outcomes, b.matrix, strict=True)]
    return ["#### Transition matrix", "", *table(head, rows), ""]


def _cases(b: BehaviouralDiff, direction: str, renamed: dict[tuple[str, str], str],
           limit: int) -> list[str]:
    changes = b.of(direction)
    if not changes:
        return []
    rows = []
    for c in changes[:limit]:
        reasons = [f"{label}: {escape(rules)}"
                   for label, rules in fmt.rule_changes(c.only_old, c.only_new, renamed)]
        rows.append((code(c.case_id), code(c.origin), f"{code(c.old)} → {code(c.new)}",
                     "<br>".join([*reasons, *(escape(d) for d in c.details)]) or "·",
                     "<br>".join(escape(cause) for cause in fmt.causes(c))))
    body = table(("case", "from", "outcome", "rules and other differences", "why"), rows,
                 right=9)
    return details(f"<b>{DIRECTION_TITLES[direction]}</b>: {len(changes)}",
                   body + _more(len(changes), limit), open_=direction == LOOSENED)


def _proof(report: DiffReport, direction: str, limit: int) -> list[str]:
    """What `echri analyze compare` proved about one direction, and its regions."""
    proof = report.proof
    if proof is None or direction not in PROOF_DIRECTIONS:
        return []
    b = report.behavioural
    lines = [f"> **Proof, {direction}:** {proof.headline(direction)} {proof.bounds()}, "
             f"from {code(proof.source)}"]
    note = proof.corpus_note(direction, b.counts[direction] if b else 0)
    if note:
        lines.append(f"> [!WARNING]\n> {note}")
    lines.append("")
    regions = proof.of(direction)
    if regions:
        body = [line for n, r in enumerate(regions[:limit], 1) for line in (
            f"{n}. {escape(r.condition)}",
            f"   witness: {code(json.dumps(r.witness, ensure_ascii=False))}")]
        found = "Proven" if proof.complete.get(direction) else "Found"
        lines += details(f"<b>{found} {direction} regions</b>: {len(regions)}",
                         body + _more(len(regions), limit))
    return lines


def _breakdown(title: str, key: str, rows: Sequence[Breakdown]) -> list[str]:
    head = (key, *fmt.BREAKDOWN_HEAD)
    body = [tuple(escape(v) for v in fmt.breakdown_row(r)) for r in rows]
    return details(f"<b>{title}</b>", table(head, body))


def _behavioural(report: DiffReport, b: BehaviouralDiff, limit: int) -> list[str]:
    lines = ["#### Behavioural changes", "", *(f"- corpus: {escape(c)}" for c in b.corpus)]
    if b.skipped:
        lines += [f"- skipped: {len(b.skipped)}", ""]
        lines += details("Skipped inputs", [f"- {code(s.origin)}: {escape(s.reason)}"
                                            for s in b.skipped[:limit]])
    lines.append("")
    if not b.total:
        return lines + [line for d in PROOF_DIRECTIONS for line in _proof(report, d, limit)]
    lines += _matrix(b)
    renamed = fmt.renames(report)
    for direction in DIRECTIONS:
        lines += _proof(report, direction, limit) + _cases(b, direction, renamed, limit)
    return lines + [line for bd in fmt.breakdowns(b) for line in _breakdown(*bd)]


def _header(report: DiffReport) -> list[str]:
    rows = [(side, code(v.spec) + (f"<br>{code(v.location)}" if v.location != v.spec else ""),
             escape(v.status), escape(v.effective) if v.effective_from else "",
             code(v.digest[:19]) if v.digest else "")
            for side, v in (("old", report.old), ("new", report.new))]
    lines = [f"### {escape(fmt.title(report))}", ""]
    lines += [f"**{label.capitalize()}:** {text}  " for label, text in summary(report)]
    b = report.behavioural
    if b is not None and b.counts[LOOSENED]:
        lines += ["", f"> [!WARNING]\n> {b.counts[LOOSENED]} decision(s) would be less severe"]
    lines += ["", *table(("", "version", "status", "effective", "digest"), rows, right=9), ""]
    return lines


def render_markdown(report: DiffReport) -> str:
    """GitHub-flavoured Markdown for a pull-request comment (cut to fit one comment)."""
    limit = MAX_ITEMS
    text = _markdown(report, limit)
    while len(text) > COMMENT_LIMIT and limit > 1:
        limit //= 2
        text = _markdown(report, limit)
    return text


def _markdown(report: DiffReport, limit: int) -> str:
    lines = _header(report)
    if report.declared_changes:
        lines += details(f"Declared changes ({escape_html(report.new.label)}, "
                         "<code>policy.yaml</code>)",
                         [f"- {escape(c)}" for c in report.declared_changes])
    if report.undeclared:
        body = [f"- {escape(u.kind)} {code(u.id)} {u.change}" for u in report.undeclared[:limit]]
        lines += details(f"<b>Warning</b>: {len(report.undeclared)} structural change(s) not "
                         f"declared in the <code>changes:</code> of "
                         f"{escape_html(report.new.label)}",
                         body + _more(len(report.undeclared), limit), open_=True)
    if report.behavioural is not None:
        lines += _behavioural(report, report.behavioural, limit)
    elif report.proof is not None:
        lines += ["#### Proof", ""]
        lines += [line for d in PROOF_DIRECTIONS for line in _proof(report, d, limit)]
    if report.structural is not None and not report.structural.empty:
        lines += _structural(report.structural, limit)
    return "\n".join(lines).rstrip() + "\n"
