"""The published report as Markdown (GitHub tables); policy text goes through `escape`."""

from __future__ import annotations

from engine.markdown import code, escape, table
from engine.stats.publish import SECONDARY_MARK, Report, Table, Value

OUTCOME_TITLES = {"approve": "Approve", "approve_with_conditions": "Approve with conditions",
                  "request_information": "Request information", "refer": "Refer",
                  "deny": "Deny"}


def outcome_title(outcome: str) -> str:
    return OUTCOME_TITLES.get(outcome, outcome)


def _v(value: Value) -> str:
    """A count; `<5` is no HTML tag in Markdown, `[c]` is escaped so it is no link."""
    return "\\[c\\]" if value == SECONDARY_MARK else str(value)


def _label(t: Table, row_id: str, label: str) -> str:
    if t.id in ("rules", "commitment") and label != row_id:
        return f"{code(row_id)} {escape(label)}"
    return escape(label)


def _table(t: Table) -> list[str]:
    head = [escape(t.row_header), *(outcome_title(c) for c in t.columns), "Total"]
    rows = [[_label(t, r.id, r.label), *map(_v, r.cells), _v(r.total)] for r in t.rows]
    if t.totals is not None and t.grand is not None:
        rows.append(["**All decisions**", *map(_v, t.totals), _v(t.grand)])
    out = [f"## {escape(t.title)}", ""]
    if not t.rows:
        return [*out, "No decision in the period.", ""]
    return [*out, *table(head, rows), "", f"_{escape(t.note)}_", ""]


def render_markdown(report: Report) -> str:
    """The whole report; the same report gives the same bytes."""
    policies = ", ".join(f"{code(i)} {code(v)}" for i, v, _ in report.policies) or "none"
    lines = [
        "# Decisions for the annual meeting of Subscribing States", "",
        f"- Period: {escape(report.date_from)} to {escape(report.date_to)} (UTC dates of the "
        "decisions, inclusive)",
        f"- Decisions: {_v(report.decisions)}",
        f"- Policy versions: {policies}",
        f"- Small counts (0 < n < {report.k}) are shown as `<{report.k}`; `[c]` marks a "
        "count withheld so that a small count cannot be worked out from the totals. "
        "No case, party or decision is named.", "",
    ]
    for t in report.tables:
        lines += _table(t)
    return "\n".join(lines).rstrip("\n") + "\n"
