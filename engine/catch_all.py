"""Catch-all grounds: the legal bases on which a non-listed item still needs an authorisation.

An item that is on no control list can still need an export authorisation: under Regulation
(EU) 2021/821 Art. 4 (weapons of mass destruction, military end use in an embargoed
country, parts of illegally exported military items), Art. 5 (cyber-surveillance items for
internal repression or serious human-rights violations: the authority informed the exporter,
the exporter is aware, or national law on grounds for suspecting) and Art. 9 (national
measures). A case declares them per item (`items[].catch_all`, contract 2); the table of
grounds is part of the case contract and lives in `data/catch_all/grounds.csv` with sources.

The facts `item.catch_all` (the known grounds of the item) and `case.catch_all` (of any item)
let a rule react to a ground; whatever the rules say, a declared ground makes the decision at
least `refer` (the built-in finding `catch-all-ground`, engine/decision.py): the authority
has already found, or been told, that the item may serve the uses the provision names, so
an approval is a licensing officer's decision and never the engine's.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

GROUNDS_FILE = Path(__file__).resolve().parent.parent / "data" / "catch_all" / "grounds.csv"
CATCH_ALL = "catch-all-ground"


@dataclass(frozen=True, slots=True)
class Ground:
    id: str
    source: str
    pinpoint: str
    items: str
    trigger: str
    summary: str
    confidence: str

    def cite(self, act: str) -> str:
        """`<act>, Art. 5(1) (non-listed cyber-surveillance items, informed by the competent
        authority)`; `act` cites the source (the version's title of it, engine/decision.py)."""
        return f"{act} ({self.items}, {self.trigger})"


@cache
def grounds() -> dict[str, Ground]:
    """The grounds table, by id (read once; a broken table is an import-time error of the
    engine, caught by `make test`, never a silent empty vocabulary)."""
    with GROUNDS_FILE.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = {r["id"]: Ground(r["id"], r["source"], r["pinpoint"], r["items"], r["trigger"],
                           r["summary"], r["confidence"]) for r in rows}
    if len(out) != len(rows) or not out:
        raise ValueError(f"{GROUNDS_FILE}: empty or duplicate ground ids")
    return out
