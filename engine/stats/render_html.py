"""The published report as one self-contained HTML page: inline CSS, SVG bar charts.

No script, no URL, no external font. Every text goes through `e` (html.escape, quotes
too), as in the HTML meeting pack (engine/diff/html_parts.py). Charts use the Okabe-Ito
palette (safe for colour-blind readers) and carry their numbers and labels as text, so a
grayscale print reads the same; a suppressed count is drawn as an empty outlined bar of
fixed width with its mark (`<5`, `[c]`), never with a length that would reveal it. The CSS
prints on A4 with page numbers.
"""

from __future__ import annotations

from html import escape

from engine.stats.publish import Report, Table, Value
from engine.stats.render_markdown import outcome_title

# Okabe & Ito (2008), "Color Universal Design"
OKABE_ITO = {"approve": "#009E73", "approve_with_conditions": "#56B4E9",
             "request_information": "#F0E442", "refer": "#E69F00", "deny": "#D55E00"}
BAR = "#0072B2"
ROW_H, LABEL_W, BAR_W = 22, 300, 360

CSS = """
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1000px; padding: 24px 32px; color: #111;
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 2px solid #111; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; }
th, td { border: 1px solid #ccc; padding: 4px 7px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 700; border-top: 2px solid #111; }
code { font: 12px ui-monospace, Menlo, Consolas, monospace; }
.note, figcaption { color: #444; font-size: 12.5px; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font: 12px system-ui, Arial, sans-serif; fill: #111; }
@page { size: A4; margin: 16mm 14mm 18mm;
        @bottom-center { content: "page " counter(page) " of " counter(pages); font-size: 9pt; } }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  section { break-inside: auto; } h2 { break-after: avoid; }
  tr, figure { break-inside: avoid; } thead { display: table-header-group; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def e(text: object) -> str:
    return escape(str(text), quote=True)


def _bar(y: int, label: str, value: Value, peak: int, colour: str) -> str:
    short = label if len(label) <= 44 else label[:43] + "\u2026"  # the table has it whole
    text = f'<text x="{LABEL_W - 8}" y="{y + 15}" text-anchor="end">{e(short)}</text>'
    if isinstance(value, int):
        width = round(BAR_W * value / peak) if peak else 0
        return (f'{text}<rect x="{LABEL_W}" y="{y + 3}" width="{width}" height="{ROW_H - 6}" '
                f'fill="{colour}" stroke="#111" stroke-width="0.5"/>'
                f'<text x="{LABEL_W + width + 6}" y="{y + 15}">{value}</text>')
    return (f'{text}<rect x="{LABEL_W}" y="{y + 3}" width="24" height="{ROW_H - 6}" '
            f'fill="none" stroke="#111" stroke-dasharray="3 2"/>'
            f'<text x="{LABEL_W + 30}" y="{y + 15}">{e(value)}</text>')


def bars_svg(title: str, bars: list[tuple[str, Value, str]]) -> str:
    """A horizontal bar chart; each bar labelled with its text and its count."""
    peak = max((v for _, v, _ in bars if isinstance(v, int)), default=0)
    height = ROW_H * len(bars) + 8
    body = "".join(_bar(4 + i * ROW_H, label, value, peak, colour)
                   for i, (label, value, colour) in enumerate(bars))
    return (f'<figure><svg role="img" '
            f'viewBox="0 0 {LABEL_W + BAR_W + 80} {height}" width="{LABEL_W + BAR_W + 80}" '
            f'height="{height}"><title>{e(title)}</title>{body}</svg>'
            f'<figcaption>{e(title)}</figcaption></figure>')


def _table(t: Table) -> str:
    head = "".join([f"<th>{e(t.row_header)}</th>",
                    *(f'<th class="n">{e(outcome_title(c))}</th>' for c in t.columns),
                    '<th class="n">Total</th>'])
    body = []
    for r in t.rows:
        label = f"<code>{e(r.id)}</code> {e(r.label)}" if r.label != r.id and \
            t.id in ("rules", "commitment") else e(r.label)
        cells = "".join(f'<td class="n">{e(v)}</td>' for v in (*r.cells, r.total))
        body.append(f"<tr><td>{label}</td>{cells}</tr>")
    if t.totals is not None and t.grand is not None:
        cells = "".join(f'<td class="n">{e(v)}</td>' for v in (*t.totals, t.grand))
        body.append(f'<tr class="total"><td>All decisions</td>{cells}</tr>')
    chart = bars_svg(f"{t.title}: decisions per row", [(r.label, r.total, BAR) for r in t.rows])
    return (f'<section id="{e(t.id)}"><h2>{e(t.title)}</h2>'
            + (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
               f'<p class="note">{e(t.note)}</p>{chart}' if t.rows else
               "<p>No decision in the period.</p>") + "</section>")


def _outcomes(report: Report) -> str:
    single = next((t for t in report.tables if t.totals is not None), None)
    if single is None or single.totals is None:
        return ""
    bars = [(outcome_title(c), v, OKABE_ITO.get(c, BAR))
            for c, v in zip(single.columns, single.totals, strict=True)]
    return bars_svg("Decisions by outcome", bars)


def render_html(report: Report) -> str:
    """The whole page; the same report gives the same bytes."""
    policies = ", ".join(f"<code>{e(i)} {e(v)}</code>" for i, v, _ in report.policies) or "none"
    k = report.k
    return "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Decisions for the annual meeting of Subscribing States</title>",
        f"<style>{CSS}</style></head><body><header>",
        "<h1>Decisions for the annual meeting of Subscribing States</h1>",
        f"<p>Period: {e(report.date_from)} to {e(report.date_to)} (UTC dates of the "
        f"decisions, inclusive). Decisions: {e(report.decisions)}. Policy versions: "
        f"{policies}.</p>",
        f'<p class="note">Small counts (0 &lt; n &lt; {k}) are shown as {e(f"<{k}")}; [c] '
        "marks a count withheld so that a small count cannot be worked out from the totals. "
        "No case, party or decision is named.</p></header>",
        _outcomes(report),
        *(_table(t) for t in report.tables),
        "</body></html>\n",
    ])
