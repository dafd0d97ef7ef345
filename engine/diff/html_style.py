"""The inline stylesheet of the HTML report (system fonts only, print rules included)."""

CSS = """
:root { --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --loose: #b91c1c;
        --tight: #b45309; --reason: #2563eb; --bg: #f9fafb; }
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
footer { margin-top: 40px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line);
         padding-top: 8px; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; } h3 { break-after: avoid; }
  tr, figure, .card { break-inside: avoid; }
  section { break-before: auto; }
  .cards { gap: 6px; } .card { padding: 6px 8px; }
}
"""
