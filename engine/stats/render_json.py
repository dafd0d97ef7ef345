"""The published report as JSON: sorted keys, two-space indent, no time but the period."""

from __future__ import annotations

import json
from typing import Any

from engine.stats.publish import SECONDARY_MARK, Report, Table

FORMAT = "echri-stats/1"


def _table(t: Table) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": t.id, "title": t.title, "row_header": t.row_header, "note": t.note,
        "columns": list(t.columns),
        "rows": [{"id": r.id, "label": r.label, "total": r.total,
                  "cells": dict(zip(t.columns, r.cells, strict=True))} for r in t.rows],
    }
    if t.totals is not None:
        out["totals"] = {"cells": dict(zip(t.columns, t.totals, strict=True)),
                         "total": t.grand}
    return out


def to_data(report: Report) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "period": {"from": report.date_from, "to": report.date_to},
        "policies": [{"id": i, "version": v, "digest": d} for i, v, d in report.policies],
        "decisions": report.decisions,
        "suppression": {"k": report.k, "small": f"<{report.k}", "secondary": SECONDARY_MARK},
        "tables": [_table(t) for t in report.tables],
    }


def render_json(report: Report) -> str:
    """Deterministic JSON (sorted keys, ASCII escapes) ending with a newline."""
    return json.dumps(to_data(report), sort_keys=True, indent=2, ensure_ascii=True) + "\n"
