"""Small-cell suppression of a count table with its totals, primary and secondary.

A table is a grid of counts with, optionally, its row totals and its column totals (and the
grand total when it has both). Every count and every total is an *entry*; each row and
each column is a *line*: the sum of its cells equals its total. A published table must not
let anyone work out a count 0 < n < k.

1. Primary suppression: every entry (cell or total) with 0 < n < k.
2. Secondary suppression, repeated to a fixpoint:
   a. a line with exactly one suppressed entry gives it away by subtraction, so the
      smallest unsuppressed entry of that line is suppressed as well (cells before totals,
      non-zero before zero, then by position);
   b. two lines can still pin a cell between them (a suppressed cell that is the only link
      between two groups of suppressed cells): the published entries are solved as a
      linear system (exact rational elimination) and, while some suppressed entry is
      determined by it, the smallest unsuppressed entry in one of its lines is suppressed.
   So no suppressed entry is determined by the published ones and the table's linear
   relations. Zeros are published as 0 (they are not small cells).

What it does not protect against: bounds from non-negativity (a suppressed cell is known
to lie in an interval, as in any cell-suppression method) and relations between different
tables other than the shared outcome totals (engine/stats/aggregate.py keeps each published
table self-contained: see docs/DESIGN.md, "Meeting statistics").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

SHOWN, PRIMARY, SECONDARY = "shown", "primary", "secondary"
Pos = tuple[int, int]  # (row, col); row == nrows is the totals row, col == ncols the totals column


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A table after suppression: the state of every entry (SHOWN, PRIMARY, SECONDARY)."""

    cells: tuple[tuple[int, ...], ...]
    row_totals: tuple[int, ...] | None
    col_totals: tuple[int, ...] | None
    grand_total: int | None
    state: dict[Pos, str]

    def is_suppressed(self, pos: Pos) -> bool:
        return self.state.get(pos, SHOWN) != SHOWN


class _Grid:
    def __init__(self, cells: Sequence[Sequence[int]], with_row_totals: bool,
                 with_col_totals: bool):
        self.nr, self.nc = len(cells), len(cells[0]) if cells else 0
        self.value: dict[Pos, int] = {(r, c): int(v) for r, row in enumerate(cells)
                                      for c, v in enumerate(row)}
        self.lines: list[tuple[Pos, list[Pos]]] = []  # (total entry, cells it sums)
        if with_row_totals:
            for r in range(self.nr):
                self.value[(r, self.nc)] = sum(cells[r])
                self.lines.append(((r, self.nc), [(r, c) for c in range(self.nc)]))
        if with_col_totals:
            for c in range(self.nc):
                self.value[(self.nr, c)] = sum(row[c] for row in cells)
                self.lines.append(((self.nr, c), [(r, c) for r in range(self.nr)]))
        if with_row_totals and with_col_totals:
            grand = (self.nr, self.nc)
            self.value[grand] = sum(map(sum, cells))
            self.lines.append((grand, [(self.nr, c) for c in range(self.nc)]))
            self.lines.append((grand, [(r, self.nc) for r in range(self.nr)]))

    def is_total(self, pos: Pos) -> bool:
        return pos[0] == self.nr or pos[1] == self.nc

    def rank(self, pos: Pos) -> tuple[int, int, int, Pos]:
        """Which entry to suppress first: cells, non-zero, smallest, then by position."""
        v = self.value[pos]
        return (int(self.is_total(pos)), int(v == 0), v, pos)


def _complement(grid: _Grid, hidden: set[Pos], candidates: list[Pos]) -> Pos | None:
    free = [p for p in candidates if p not in hidden]
    return min(free, key=grid.rank) if free else None


def _single_lines(grid: _Grid, hidden: set[Pos]) -> bool:
    """Step 2a over every line once; True when something was added."""
    added = False
    for total, cells in grid.lines:
        line = [*cells, total]
        if sum(p in hidden for p in line) == 1:
            pick = _complement(grid, hidden, line)
            if pick is not None:
                hidden.add(pick)
                added = True
    return added


def determined(lines: Sequence[tuple[Pos, Sequence[Pos]]], hidden: set[Pos]) -> list[Pos]:
    """The hidden entries whose value follows from the lines and the shown entries."""
    unknowns = sorted(hidden)
    index = {p: i for i, p in enumerate(unknowns)}
    rows: list[list[Fraction]] = []
    for total, cells in lines:
        coeffs = [Fraction(0)] * len(unknowns)
        for p, sign in [*((c, 1) for c in cells), (total, -1)]:
            if p in index:
                coeffs[index[p]] += sign
        if any(coeffs):
            rows.append(coeffs)
    pivots = _rref(rows, len(unknowns))
    free = [j for j in range(len(unknowns)) if j not in pivots]
    return [unknowns[j] for j, r in pivots.items() if all(rows[r][f] == 0 for f in free)]


def _rref(rows: list[list[Fraction]], width: int) -> dict[int, int]:
    """Reduce `rows` in place; the pivot column → its row."""
    pivots: dict[int, int] = {}
    r = 0
    for col in range(width):
        pick = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if pick is None:
            continue
        rows[r], rows[pick] = rows[pick], rows[r]
        lead = rows[r][col]
        rows[r] = [x / lead for x in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots[col] = r
        r += 1
        if r == len(rows):
            break
    return pivots


def _linked(grid: _Grid, hidden: set[Pos]) -> bool:
    """Step 2b: suppress one more entry when a hidden one is determined; True if added."""
    exposed = determined(grid.lines, hidden)
    if not exposed:
        return False
    target = exposed[0]
    near = [p for total, cells in grid.lines if target in (total, *cells)
            for p in (*cells, total)]
    pick = _complement(grid, hidden, near) or _complement(grid, hidden, sorted(grid.value))
    if pick is None:
        return False
    hidden.add(pick)
    return True


def suppress(cells: Sequence[Sequence[int]], k: int = 5, *, row_totals: bool = True,
             col_totals: bool = True) -> Suppressed:
    """Primary and secondary suppression of `cells` and of the totals it publishes."""
    if k < 1:
        raise ValueError("k must be at least 1")
    grid = _Grid(cells, row_totals, col_totals)
    primary = {p for p, v in grid.value.items() if 0 < v < k}
    hidden = set(primary)
    while _single_lines(grid, hidden) or _linked(grid, hidden):
        pass
    state = {p: PRIMARY if p in primary else SECONDARY if p in hidden else SHOWN
             for p in grid.value}
    nr, nc = grid.nr, grid.nc
    return Suppressed(
        tuple(tuple(int(v) for v in row) for row in cells),
        tuple(grid.value[(r, nc)] for r in range(nr)) if row_totals else None,
        tuple(grid.value[(nr, c)] for c in range(nc)) if col_totals else None,
        grid.value[(nr, nc)] if row_totals and col_totals else None,
        state)


def table_lines(nrows: int, ncols: int, row_totals: bool,
                col_totals: bool) -> list[tuple[Pos, list[Pos]]]:
    """The linear relations a published table of this shape has (for checks and tests)."""
    return _Grid([[0] * ncols for _ in range(nrows)], row_totals, col_totals).lines
