"""The inline stylesheet of the HTML report (system fonts only, A4 print rules included).

On paper (`@page`, `@media print`): A4 with margins, a running header in the top margin
(`page_css`: the policy, both versions and their short digests, from the report) and
`page X of Y` in the bottom margin, as CSS page-margin boxes (Chromium 131 and later),
the cover and contents on their own page, table heads repeated on every page, rows, figures
and cards kept whole, headings kept with what follows, the on-screen links hidden and the
remaining (internal) links printed as plain text. Colours survive print and the charts
carry their numbers as text, so a grayscale copy stays readable. Text that reaches the
stylesheet (the running header) goes through `css_string`, never raw.
"""

from __future__ import annotations

import string

from engine.diff.report import DiffReport, VersionInfo

# characters a CSS string keeps as they are; every other one becomes a hex escape, so no
# text can end the string, the rule or the <style> element (`"`, `\\`, `<`, newlines)
_CSS_SAFE = frozenset(string.ascii_letters + string.digits + " .,:;_-@()+=#")
_BOX = "font: 7.5pt system-ui, sans-serif; color: #4b5563;"


def css_string(text: str) -> str:
    """`text` as a double-quoted CSS string; control characters are dropped."""
    out = []
    for ch in text:
        if ch in _CSS_SAFE:
            out.append(ch)
        elif ch.isprintable():
            out.append(f"\\{ord(ch):x} ")  # the space ends the escape and is consumed
    return '"' + "".join(out) + '"'


def _side(v: VersionInfo, policy: str) -> str:
    if v.status == "recorded":
        return f"recorded decisions ({v.location})"
    version = v.version if v.label == f"{policy} {v.version}" else v.label
    return f"{version} ({v.digest[:19]})" if v.digest else version


def running_footer(report: DiffReport) -> str:
    """What the bottom margin of every printed page says, left of `page X of Y`."""
    what = "replay" if report.mode == "replay" else "meeting pack"
    return f"echri {what} · {report.old.label} → {report.new.label}"


def running_header(report: DiffReport) -> str:
    """What the top margin of every printed page says: the policy, both versions and
    their short digests (`sha256:` and 12 hex digits)."""
    new = report.new
    policy = new.label.removesuffix(f" {new.version}")
    return f"{policy}: {_side(report.old, policy)} → {_side(new, policy)}"


def page_css(header: str, footer: str) -> str:
    """The `@page` rule: A4, `header` at the top left of every page, `footer` at the
    bottom left and `page X of Y` at the bottom right."""
    return ("@page { size: A4; margin: 16mm 12mm 16mm;\n"
            f"  @top-left {{ content: {css_string(header)}; {_BOX} }}\n"
            f"  @bottom-left {{ content: {css_string(footer)}; {_BOX} }}\n"
            '  @bottom-right { content: "page " counter(page) " of " counter(pages); '
            f"{_BOX} }} }}\n")


# text colours: darker tones of the charts' Okabe-Ito hues (engine/diff/html_charts.py)
CSS = """
:root { --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --loose: #a63c00;
        --tight: #0063a0; --reason: #9c3f79; --link: #1d4ed8; --bg: #f9fafb; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1240px; padding: 24px 32px 48px; color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; background: #fff; }
header h1 { font-size: 24px; margin: 0 0 8px; }
h2 { font-size: 19px; margin: 32px 0 12px; padding-bottom: 4px;
     border-bottom: 2px solid var(--ink); }
h3 { font-size: 15px; margin: 22px 0 8px; }
h3 .counts { font-weight: normal; color: var(--muted); font-size: 13px; margin-left: 6px; }
h3.loosened { color: var(--loose); } h3.tightened { color: var(--tight); }
h3.reasons { color: var(--reason); }
code { font: 12.5px/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
table.num td:not(:first-child):not(:last-child),
table.num th:not(:first-child):not(:last-child) { text-align: right;
  font-variant-numeric: tabular-nums; }
table.versions td:first-child { width: 48px; }
table.cases { table-layout: fixed; }
table.cases td { overflow-wrap: anywhere; }
table.cases th:nth-child(1) { width: 12%; } table.cases th:nth-child(2) { width: 14%; }
table.cases th:nth-child(3) { width: 12%; } table.cases th:nth-child(4) { width: 19%; }
table.cases th:nth-child(5) { width: 24%; } table.cases th:nth-child(6) { width: 11%; }
table.cases th:nth-child(7) { width: 8%; }
table.cases td:nth-child(2) { font-size: 12px; color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0 16px; }
.card { flex: 1 1 150px; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px;
        background: var(--bg); }
.card .value { font-size: 26px; font-weight: 700; }
.card.loosened { border-color: var(--loose); color: var(--loose); }
.card.tightened .value { color: var(--tight); } .card.reasons .value { color: var(--reason); }
ul.summary { padding-left: 18px; }
ul.why { margin: 0; padding-left: 14px; }
figure.chart { margin: 8px 0 16px; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
           fill: var(--ink); }
svg text.num { font-weight: 700; font-size: 14px; }
svg text.axis { fill: var(--muted); }
figcaption, .note { color: var(--muted); font-size: 12.5px; }
table.side td.el { width: 26%; } table.side td.f { width: 16%; }
table.side td.old, table.side td.new { width: 29%; word-break: break-word; }
table.side td.old { background: #fef2f2; } table.side td.new { background: #f0fdf4; }
.el .t { margin-top: 3px; }
del { background: #fecaca; text-decoration: line-through; color: #7f1d1d; }
ins { background: #bbf7d0; text-decoration: none; color: #14532d; }
.absent { color: var(--muted); font-style: italic; }
.badge { display: inline-block; font-size: 11px; font-weight: 700; text-transform: uppercase;
         border-radius: 4px; padding: 1px 6px; color: #fff; background: var(--muted); }
.badge.added { background: #15803d; } .badge.removed { background: var(--loose); }
.badge.changed { background: #4b5563; } .badge.renamed { background: #7c3aed; }
.band { border-radius: 4px; padding: 1px 6px; background: var(--line); }
.band.embargoed { background: #111827; color: #fff; } .band.high { background: #fecaca; }
.band.elevated { background: #fde68a; } .band.low { background: #d1fae5; }
.lbl { color: var(--muted); }
header .sub { color: var(--muted); margin: 0 0 12px; }
h2 .n { color: var(--muted); margin-right: 2px; }
h2 a.top { float: right; font-size: 12px; font-weight: normal; color: var(--muted); }
a { color: var(--link); }
.card a { color: inherit; text-decoration: none; display: block; }
.card.warn { border-color: var(--tight); }
code.digest { word-break: break-all; font-size: 11.5px; }
nav.toc ol { columns: 2; column-gap: 32px; padding-left: 22px; }
nav.toc li { margin: 2px 0; break-inside: avoid; }
figure.small svg { max-width: 640px; }
figure.directions svg { max-width: 680px; }
svg text.count { fill: var(--ink); } svg text.label { fill: var(--ink); }
.key { margin: 14px 0 0; }
svg rect.bar + text { fill: var(--ink); }
table.scores { font-size: 12.5px; }
table.scores td, table.scores th { padding: 2px 6px; }
table.scores td:nth-child(3n+1) { border-left: 2px solid #d1d5db; }
.delta { color: var(--muted); font-variant-numeric: tabular-nums; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line);
         padding-top: 8px; }
@media print {
  body { max-width: none; padding: 0; font-size: 9pt; line-height: 1.35; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  h2 { margin-top: 18px; }
  thead { display: table-header-group; } tfoot { display: table-footer-group; }
  tr, table.side tbody, figure, .card, nav.toc li, ul.why li { break-inside: avoid;
                                                               page-break-inside: avoid; }
  nav.toc { break-after: page; page-break-after: always; }
  .noprint { display: none !important; }
  a, a:visited { color: inherit; text-decoration: none; }
  header h1 { font-size: 17pt; } h2 { font-size: 13pt; } h3 { font-size: 10.5pt; }
  code { font-size: 7.5pt; } code.digest { font-size: 7pt; }
  table { font-size: 7.5pt; margin: 4px 0 8px; } th, td { padding: 2px 4px; }
  table.cases td:nth-child(2) { font-size: 7pt; }
  table.scores { font-size: 7.5pt; }
  ul.why { padding-left: 10px; }
  .note, figcaption, footer, h3 .counts, nav.toc .counts { font-size: 7.5pt; }
  .badge { font-size: 6.5pt; }
  .cards { gap: 6px; } .card { padding: 6px 8px; } .card .value { font-size: 18pt; }
  figure.chart svg { max-width: 100%; }
  footer { margin-top: 16px; }
}
"""
