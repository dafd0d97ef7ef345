"""Two small, valid versions of a demo policy that differ in known ways (for diff tests).

`old` is tests/support.py's demo policy with a complete destination table (the validator
wants every ISO 3166-1 code); `new` (a draft) removes the rule `deny-restricted`, lowers the
threshold of `condition-large` from 100,000 to 50,000 and adds the factor `misuse` to
Brazil, which moves Brazil from the low to the high band.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pycountry

from engine.diff import diff_versions, load_pair, read_jsonl
from engine.diff.report import DiffReport
from tests.support import RULES, case, write_version

SPECIAL = {
    "NO": {"name": "Norway", "factors": [],
           "freedom_house": {"status": "free", "score": 98, "source": "src", "as_of": "2026"}},
    "BR": {"name": "Brazil", "factors": [],
           "freedom_house": {"status": "free", "score": 72, "source": "src", "as_of": "2026"}},
    "KP": {"name": "Embargoland", "factors": [{"id": "arms_embargo", "source": "src",
                                               "as_of": "2026"}]},
    "BY": {"name": "Misuseland", "factors": [{"id": "misuse", "source": "src", "as_of": "2026"}],
           "freedom_house": {"status": "partly_free", "score": 50, "source": "src",
                             "as_of": "2026"}},
}


def destinations(**changes: dict[str, Any]) -> dict[str, Any]:
    table: dict[str, Any] = {c.alpha_2: {"name": c.name, "factors": []}
                             for c in pycountry.countries}
    table["XK"] = {"name": "Kosovo", "factors": []}
    table.update(copy.deepcopy(SPECIAL))
    table.update(changes)
    return {"destinations": dict(sorted(table.items()))}


def old_rules() -> list[dict[str, Any]]:
    return copy.deepcopy(RULES)


def new_rules() -> list[dict[str, Any]]:
    rules = [r for r in old_rules() if r["id"] != "deny-restricted"]
    for r in rules:
        if r["id"] == "condition-large":
            r["when"] = {"fact": "item.value", "gte": 50000}
    return rules


def write_old(root: Path) -> Path:
    return write_version(root, files={"destinations.yaml": destinations()}, rules=old_rules())


def write_new(root: Path, **meta: Any) -> Path:
    brazil = copy.deepcopy(SPECIAL["BR"])
    brazil["factors"] = [{"id": "misuse", "source": "src", "as_of": "2026"}]
    meta = {"version": "2026.2", "status": "draft", "effective_from": "2026-07-01", **meta}
    return write_version(root, files={"destinations.yaml": destinations(BR=brazil)},
                         rules=new_rules(), **meta)


def cases() -> list[dict[str, Any]]:
    """One case per kind of change, plus one that does not change."""
    surveillance = {"id": "i1", "category": "network_surveillance", "value": 60000}
    return [
        case(case_id="C-restricted", end_user={"name": "X", "country": "NO",
                                                "type": "private_company",
                                                "flags": ["restricted_party"]}),
        case(case_id="C-brazil", destination="BR",
             items=[{"id": "i1", "category": "intrusion_software", "value": 1000}],
             end_user={"name": "Y", "country": "BR", "type": "law_enforcement", "flags": []}),
        case(case_id="C-threshold", items=[surveillance]),
        case(case_id="C-plain"),
    ]


def write_cases(path: Path, extra: Sequence[str] = ()) -> Path:
    lines = [json.dumps(c) for c in cases()] + list(extra)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def report(root: Path) -> DiffReport:
    """The diff report of demo 2026.1 → 2026.2 written under `root` (run from `root`), on
    the demo cases: the small report the HTML and PDF tests print."""
    write_old(root / "pol")
    write_new(root / "pol")
    old, new = load_pair("demo@2026.1", "demo@2026.2", Path("pol"))
    return diff_versions(old, new, read_jsonl([json.dumps(c) for c in cases()], "cases"))
