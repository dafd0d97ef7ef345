"""Pieces of the HTML report: escaping, tables, the charts, bars and word-level diffs.

Everything is inline (SVG elements and `<del>`/`<ins>` spans) so the report stays one
self-contained file. Every text from a policy or a case goes through `e` (or `escape`).
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from html import escape

from engine.diff import fmt
from engine.diff.behavioural import DIRECTIONS, LOOSENED, REASONS, TIGHTENED, BehaviouralDiff
from engine.diff.html_charts import OUTLINE, PALETTE

CELL_W, CELL_H, LABEL_W, HEAD_H = 96, 40, 190, 58
# Okabe-Ito vermillion and sky blue (engine/diff/html_charts.py), gray for the diagonal
COLOURS = {"same": (75, 85, 99), "loosened": (213, 94, 0), "tightened": (86, 180, 233)}
INK_ON_DARK = {"same": True, "loosened": True, "tightened": False}  # white numbers or not
# changed outcomes get strong colours so that they stand out from the unchanged diagonal
ALPHAS = {"same": (0.10, 0.45), "loosened": (0.55, 1.0), "tightened": (0.55, 1.0)}
_WORDS = re.compile(r"\s+|[^\s]+")


DIRECTION_COLOURS = PALETTE
BAR_LABEL_W, BAR_W, BAR_H = 230, 220, 20


def e(text: object) -> str:
    """`text` escaped for HTML content and attribute values."""
    return escape(str(text))


def table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """A table whose head and cells are already HTML (the head repeats on every page)."""
    ths = "".join(f"<th>{h}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{ths}</tr></thead><tbody>{trs}</tbody></table>'


def _kind(row: int, col: int) -> str:
    if row == col:
        return "same"
    return "loosened" if col > row else "tightened"  # outcomes are most severe first


def _cell(x: int, y: int, n: int, peak: int, kind: str) -> str:
    r, g, b = COLOURS[kind]
    low, high = ALPHAS[kind]
    alpha = 0.0 if n == 0 else low + (high - low) * math.log1p(n) / math.log1p(max(peak, 1))
    fill = f"rgba({r},{g},{b},{alpha:.2f})" if n else "#ffffff"
    ink = "#ffffff" if alpha > 0.6 and INK_ON_DARK[kind] else "#111827"
    text = str(n) if n else "·"
    return (f'<rect x="{x}" y="{y}" width="{CELL_W - 4}" height="{CELL_H - 4}" rx="4" '
            f'fill="{fill}" stroke="#d1d5db" class="cell {kind}"><title>{n}</title></rect>'
            f'<text x="{x + (CELL_W - 4) // 2}" y="{y + CELL_H // 2 + 2}" fill="{ink}" '
            f'text-anchor="middle" class="num">{text}</text>')


def matrix_svg(outcomes: tuple[str, ...], matrix: tuple[tuple[int, ...], ...],
               old: str, new: str) -> str:
    """The transition matrix as a heat map: rows old outcome, columns new outcome."""
    n = len(outcomes)
    width, height = LABEL_W + n * CELL_W + 8, HEAD_H + n * CELL_H + 8
    peak = max((v for row in matrix for v in row), default=0)
    parts = [f'<svg viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" class="matrix" '
             f'aria-label="transition matrix: rows {escape(old)}, columns {escape(new)}">',
             f'<text x="4" y="16" class="axis">rows: {escape(old)} ↓</text>',
             f'<text x="{LABEL_W}" y="16" class="axis">columns: {escape(new)} →</text>']
    for j, outcome in enumerate(outcomes):
        x = LABEL_W + j * CELL_W + (CELL_W - 4) // 2
        parts.append(f'<text x="{x}" y="{HEAD_H - 12}" text-anchor="middle" class="head">'
                     f'{escape(fmt.short(outcome))}</text>')
    for i, outcome in enumerate(outcomes):
        y = HEAD_H + i * CELL_H
        parts.append(f'<text x="{LABEL_W - 10}" y="{y + CELL_H // 2 + 2}" text-anchor="end" '
                     f'class="head">{escape(outcome)}</text>')
        parts += [_cell(LABEL_W + j * CELL_W, y, matrix[i][j], peak, _kind(i, j))
                  for j in range(n)]
    return "".join(parts) + "</svg>"


def legend_svg() -> str:
    items = (("same", "unchanged outcome"), ("loosened", "loosened (less severe)"),
             ("tightened", "tightened (more severe)"))
    parts = ['<svg viewBox="0 0 560 22" width="560" '
             'height="22" class="legend">']
    for k, (kind, text) in enumerate(items):
        r, g, b = COLOURS[kind]
        x = k * 190
        parts.append(f'<rect x="{x}" y="3" width="16" height="16" rx="3" fill="rgb({r},{g},{b})"/>'
                     f'<text x="{x + 22}" y="16">{escape(text)}</text>')
    return "".join(parts) + "</svg>"


def bar_svg(total: int, loosened: int, tightened: int, reasons: int, scale: int) -> str:
    """A horizontal bar: the share of changed cases by direction, scaled to `scale` cases."""
    width = 220
    parts = [f'<svg viewBox="0 0 {width} 14" width="{width}" '
             'height="14" class="bar">',
             f'<rect x="0" y="2" width="{width * total / max(scale, 1):.1f}" height="10" '
             'fill="#e5e7eb"/>']
    x = 0.0
    for count, colour in ((loosened, PALETTE[LOOSENED]), (tightened, PALETTE[TIGHTENED]),
                          (reasons, PALETTE[REASONS])):
        w = width * count / max(scale, 1)
        if w:
            parts.append(f'<rect x="{x:.1f}" y="2" width="{w:.1f}" height="10" fill="{colour}"/>')
        x += w
    return "".join(parts) + "</svg>"


def word_diff(old: str, new: str) -> tuple[str, str]:
    """HTML of `old` with removed words in <del> and `new` with added words in <ins>."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    left, right = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        old_part, new_part = escape("".join(a[i1:i2])), escape("".join(b[j1:j2]))
        if op == "equal":
            left.append(old_part)
            right.append(new_part)
            continue
        if old_part:
            left.append(f"<del>{old_part}</del>")
        if new_part:
            right.append(f"<ins>{new_part}</ins>")
    return "".join(left), "".join(right)


def transitions(b: BehaviouralDiff) -> list[tuple[str, str, int]]:
    """(label, direction, cases) per outcome transition of the changed cases: loosened
    first, then tightened, then same outcome with other reasons; most cases first."""
    counts = Counter((c.direction, c.old, c.new) for c in b.changes)
    rank = {d: i for i, d in enumerate(DIRECTIONS)}
    ordered = sorted(counts.items(), key=lambda kv: (rank.get(kv[0][0], len(rank)), -kv[1],
                                                     kv[0][1], kv[0][2]))
    return [(f"{fmt.short(old)}: other reasons" if direction == REASONS
             else f"{fmt.short(old)} → {fmt.short(new)}", direction, n)
            for (direction, old, new), n in ordered]


def transitions_svg(b: BehaviouralDiff) -> str:
    """Changed decisions by outcome transition as horizontal bars (count and direction
    written beside each bar, so the chart reads in grayscale too)."""
    rows = transitions(b)
    peak = max((n for _, _, n in rows), default=1)
    width, height = BAR_LABEL_W + BAR_W + 130, len(rows) * BAR_H + 6
    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             'role="img" class="transitions" aria-label="changed decisions by outcome '
             'transition">']
    for k, (label, direction, n) in enumerate(rows):
        y = k * BAR_H + 3
        w = max(BAR_W * n / peak, 2.0)
        colour = DIRECTION_COLOURS.get(direction, "#6b7280")
        parts.append(f'<text x="{BAR_LABEL_W - 8}" y="{y + 13}" text-anchor="end">'
                     f'{escape(label)}</text>'
                     f'<rect x="{BAR_LABEL_W}" y="{y + 2}" width="{w:.1f}" height="{BAR_H - 6}" '
                     f'fill="{colour}"{OUTLINE.get(direction, "")} '
                     f'class="bar {escape(direction)}"/>'
                     f'<text x="{BAR_LABEL_W + w + 6:.1f}" y="{y + 13}">{n} '
                     f'{escape(direction)}</text>')
    return "".join(parts) + "</svg>"
