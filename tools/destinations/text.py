"""Date and note helpers: capping dates at a snapshot, dropping later-dated note items."""

from __future__ import annotations

import re


def cap(as_of: str, snapshot: str) -> str:
    """The earlier of two YYYY[-MM] dates (string order works for equal precision)."""
    return as_of if as_of[: len(snapshot)] <= snapshot else snapshot


def month(date: str) -> str:
    """'2026-07-08' -> '2026-07'."""
    return date[:7]


#: A calendar year, not the number part of an act ("2017/2074") or a UNSCR ("UNSCR 2127").
_YEAR = re.compile(r"(?<![\d/])(19[4-9]\d|20[0-3]\d)(?!\d)")


def years_in(text: str) -> list[int]:
    """The calendar years mentioned in *text*."""
    return [int(y) for y in _YEAR.findall(text)]


_PARENTHESIS = re.compile(r"\s*\((?:[^()]|\([^()]*\))*\)")
_ITEM_YEAR = re.compile(r"\((19[4-9]\d|20[0-3]\d)\)")


def drop_after(text: str, year: int) -> str:
    """Remove list items and remarks of *text* that mention a year after *year*.

    Used for older snapshots: "UNSCR 2127 (2013); UNSCR 2789 (2025)" -> "UNSCR 2127 (2013)",
    "Decision 2013/255/CFSP (amended by (CFSP) 2025/1096)" -> "Decision 2013/255/CFSP".
    """

    def later(part: str) -> bool:
        return any(y > year for y in years_in(part))

    def keep(item: str) -> str | None:
        if any(int(y) > year for y in _ITEM_YEAR.findall(item)):
            return None  # the item itself is dated after the snapshot
        item = _PARENTHESIS.sub(lambda m: "" if later(m.group(0)) else m.group(0), item)
        return None if later(item) else item

    segments = []
    for segment in text.split("; "):
        items = [kept for item in segment.split(", ") if (kept := keep(item)) is not None]
        if items:
            segments.append(", ".join(items))
    return "; ".join(segments)
