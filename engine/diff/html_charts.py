"""Bar charts of the changed decisions for the HTML meeting pack, as inline SVG.

The charts count what the breakdown tables count (engine/diff/behavioural.py: the same
replayed or re-decided corpus): loosened and tightened decisions by item category, by
destination band and, ranked, by destination (the `TOP_DESTINATIONS` with most changes).
Colours are from the Okabe-Ito palette, which stays distinct under the common colour-vision
deficiencies; loosened and tightened also differ in lightness (a grayscale copy tells them
apart) and in outline (tightened bars are drawn with a dashed edge), and every bar has its
counts written beside it, so no reading depends on colour. No script, no URL: only SVG
elements and text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from engine.diff.behavioural import LOOSENED, REASONS, TIGHTENED, BehaviouralDiff, Breakdown

# Okabe-Ito: vermillion, sky blue, reddish purple (grayscale 112, 164, 142 of 255)
PALETTE = {LOOSENED: "#D55E00", TIGHTENED: "#56B4E9", REASONS: "#CC79A7"}
OUTLINE = {LOOSENED: "", TIGHTENED: ' stroke="#1f4e6b" stroke-width="1" stroke-dasharray="3 2"',
           REASONS: ""}
TOP_DESTINATIONS = 15
LABEL_W, BAR_W, TEXT_W, ROW_H = 210, 260, 210, 20
LABEL_CHARS = 32  # longer labels are cut (the full label is the bar's tooltip)


@dataclass(frozen=True, slots=True)
class ChartRow:
    """One bar: what it counts, its loosened and tightened decisions, and the cases."""

    label: str
    loosened: int
    tightened: int
    total: int

    @property
    def changed(self) -> int:
        return self.loosened + self.tightened


def _label(b: Breakdown) -> str:
    return f"{b.title} ({b.key})" if b.title and b.title != b.key else b.key


def chart_rows(rows: Sequence[Breakdown], limit: int | None = None
               ) -> tuple[list[ChartRow], int]:
    """The rows with a loosened or tightened decision (in table order, or with `limit` the
    `limit` with most of them, loosened first, then by key) and how many were left off."""
    found = [ChartRow(_label(r), r.loosened, r.tightened, r.total) for r in rows
             if r.loosened or r.tightened]
    if limit is None:
        return found, 0
    ranked = sorted(found, key=lambda r: (-r.changed, -r.loosened, r.label))
    return ranked[:limit], max(len(ranked) - limit, 0)


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"


def _segment(direction: str, x: float, y: int, width: float, n: int, label: str) -> str:
    return (f'<rect x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{ROW_H - 7}" '
            f'fill="{PALETTE[direction]}"{OUTLINE[direction]} class="bar {direction}">'
            f"<title>{escape(label)}: {n} {direction}</title></rect>")


def _counts(r: ChartRow) -> str:
    parts = [f"{n} {d}" for d, n in ((LOOSENED, r.loosened), (TIGHTENED, r.tightened)) if n]
    return f"{', '.join(parts)} of {r.total}"


def direction_svg(rows: Sequence[ChartRow], what: str) -> str:
    """Horizontal stacked bars, loosened then tightened, scaled to the longest bar."""
    peak = max((r.changed for r in rows), default=1) or 1
    width, height = LABEL_W + BAR_W + TEXT_W, len(rows) * ROW_H + 4
    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'role="img" class="directions" aria-label="{escape(what)}">']
    for k, r in enumerate(rows):
        y = k * ROW_H + 2
        parts.append(f'<text x="{LABEL_W - 8}" y="{y + 14}" text-anchor="end" class="label">'
                     f"{escape(_short(r.label))}<title>{escape(r.label)}</title></text>")
        x = float(LABEL_W)
        for direction, n in ((LOOSENED, r.loosened), (TIGHTENED, r.tightened)):
            if n:
                w = max(BAR_W * n / peak, 2.0)
                parts.append(_segment(direction, x, y, w, n, r.label))
                x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 14}" class="count">'
                     f"{escape(_counts(r))}</text>")
    return "".join(parts) + "</svg>"


def legend_svg() -> str:
    """The key of the direction charts (colour, outline and word)."""
    items = ((LOOSENED, "loosened (less severe)"), (TIGHTENED, "tightened (more severe)"))
    parts = ['<svg viewBox="0 0 420 22" width="420" height="22" class="legend">']
    for k, (direction, text) in enumerate(items):
        x = k * 210
        parts.append(f'<rect x="{x + 1}" y="4" width="15" height="14" '
                     f'fill="{PALETTE[direction]}"{OUTLINE[direction]}/>'
                     f'<text x="{x + 22}" y="16">{escape(text)}</text>')
    return "".join(parts) + "</svg>"


def _figure(caption: str, rows: list[ChartRow], more: int, what: str) -> str:
    if not rows:
        return ""
    tail = f" {more} more ranked lower not shown." if more else ""
    return (f'<figure class="chart directions">{direction_svg(rows, what)}'
            f"<figcaption>{escape(caption)}.{escape(tail)}</figcaption></figure>")


def charts(b: BehaviouralDiff) -> list[tuple[str, str, str]]:
    """(anchor, heading, figure HTML) of each chart with something to show."""
    by_category, _ = chart_rows(b.by_category)
    by_band, _ = chart_rows(b.by_band)
    by_destination, more = chart_rows(b.by_destination, TOP_DESTINATIONS)
    found = [
        ("chart-category", "Changed decisions by category", _figure(
            "Loosened and tightened decisions per item category (a case with items of "
            "several categories counts under each), of the cases with that category",
            by_category, 0, "changed decisions by category")),
        ("chart-band", "Changed decisions by destination band", _figure(
            "Loosened and tightened decisions per destination band (under the new "
            "version), of the cases in that band", by_band, 0,
            "changed decisions by destination band")),
        ("chart-destination",
         f"Destinations with most changed decisions (top {TOP_DESTINATIONS})", _figure(
            "Loosened and tightened decisions per destination, most first, of the cases "
            "for that destination", by_destination, more,
            "changed decisions by destination")),
    ]
    return [(anchor, title, figure) for anchor, title, figure in found if figure]


def charts_html(b: BehaviouralDiff) -> str:
    """Every chart with its heading, and the key once; empty when nothing loosened or
    tightened."""
    found = charts(b)
    if not found:
        return ""
    return (f'<div class="key">{legend_svg()}</div>'
            + "".join(f'<h3 id="{anchor}">{escape(title)}</h3>{figure}'
                      for anchor, title, figure in found))
