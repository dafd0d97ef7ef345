"""The tables as published: counts after suppression, as plain data the renderers format.

A value is an int (shown), `<k` (a count 0 < n < k) or `[c]` (withheld by secondary
suppression, so that a small count cannot be derived from the totals). Each table is
suppressed with its row totals, its column totals and its grand total (engine/stats/
suppress.py). For a table whose rows can share a decision (categories, commitments, rights,
rules) the column sums are not published, but they are modelled as public all the same:
when the rows happen to split the decisions, they equal the published decisions by outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.stats.aggregate import Aggregates, CountTable
from engine.stats.suppress import PRIMARY, SHOWN, Pos, Suppressed, suppress

SECONDARY_MARK = "[c]"
Value = int | str


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    label: str
    cells: tuple[Value, ...]
    total: Value


@dataclass(frozen=True, slots=True)
class Table:
    id: str
    title: str
    row_header: str
    note: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    totals: tuple[Value, ...] | None  # decisions by outcome (single tables only)
    grand: Value | None


@dataclass(frozen=True, slots=True)
class Report:
    k: int
    date_from: str
    date_to: str
    policies: tuple[tuple[str, str, str], ...]
    decisions: Value
    tables: tuple[Table, ...]


def _value(s: Suppressed, pos: Pos, n: int, k: int) -> Value:
    state = s.state.get(pos, SHOWN)
    return n if state == SHOWN else f"<{k}" if state == PRIMARY else SECONDARY_MARK


def publish_table(t: CountTable, k: int) -> Table:
    """One table after suppression; only what may be published is kept."""
    nr, nc = len(t.rows), len(t.columns)
    s = suppress(t.cells, k) if nr else None
    rows: list[Row] = []
    for r in range(nr):
        assert s is not None and s.row_totals is not None
        rows.append(Row(t.rows[r], t.labels[r],
                        tuple(_value(s, (r, c), t.cells[r][c], k) for c in range(nc)),
                        _value(s, (r, nc), s.row_totals[r], k)))
    totals: tuple[Value, ...] | None = None
    grand: Value | None = None
    if t.single:
        if s is None:
            totals, grand = tuple(0 for _ in range(nc)), 0
        else:
            assert s.col_totals is not None and s.grand_total is not None
            totals = tuple(_value(s, (nr, c), s.col_totals[c], k) for c in range(nc))
            grand = _value(s, (nr, nc), s.grand_total, k)
    return Table(t.id, t.title, t.row_header, t.note, t.columns, tuple(rows), totals, grand)


def publish(aggregates: Aggregates, k: int = 5) -> Report:
    """Suppress every table of `aggregates` with threshold `k`."""
    tables = tuple(publish_table(t, k) for t in aggregates.tables)
    first = next((t for t in tables if t.grand is not None), None)
    decisions = first.grand if first is not None and first.grand is not None else \
        (aggregates.decisions if aggregates.decisions == 0 or aggregates.decisions >= k
         else f"<{k}")
    return Report(k, aggregates.date_from, aggregates.date_to, tuple(aggregates.policies),
                  decisions, tables)
