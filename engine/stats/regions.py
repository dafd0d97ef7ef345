"""The UN M49 region of a destination (data/regions/m49.csv), for the meeting tables."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

M49_FILE = Path(__file__).resolve().parents[2] / "data" / "regions" / "m49.csv"
UNKNOWN = "unknown"


@cache
def regions() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code → M49 region name (Africa, Americas, Asia, Europe, Oceania)."""
    with M49_FILE.open(encoding="utf-8", newline="") as fh:
        return {row["iso2"]: row["region"] for row in csv.DictReader(fh)}


def region_of(code: object) -> str:
    """The region of a destination code; `unknown` for a code M49 does not list."""
    return regions().get(code, UNKNOWN) if isinstance(code, str) else UNKNOWN
