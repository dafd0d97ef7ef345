"""implicated_parties.yaml of 2027.1 is generated from the reference table, and up to date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TOOLS = REPO_ROOT / "tools"
sys.path.insert(0, str(TOOLS))
import build_implicated_parties as build  # noqa: E402


def test_generated_file_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(TOOLS / "build_implicated_parties.py"),
         "--version", "2027.1", "--check"],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr + \
        "\nrun: python tools/build_implicated_parties.py --version 2027.1"


@pytest.mark.parametrize(("cell", "expected"), [
    ("NSO Group Technologies Ltd [R]", ["NSO Group Technologies Ltd"]),
    ("Saito Tech Ltd [R]; other corporate names per Citizen Lab 2021 [R]", ["Saito Tech Ltd"]),
    ("CRA (Iran; affiliated with ICT ministry)", ["CRA"]),
    ("police digital forensics laboratory; security agents executing warrants", []),
    ("-", []),
    ("Hikvision; Hikvision", ["Hikvision"]),
])
def test_aliases_keep_names_and_drop_descriptions(cell: str, expected: list[str]) -> None:
    assert build.aliases(cell) == expected


def row(**overrides: str) -> dict[str, str]:
    base = {"name": "Example Agency", "aliases": "", "country": "XX", "kind": "company",
            "what": "finding", "designation": "none", "year": "2024", "confidence": "V / R (x)",
            "source": "report"}
    return {**base, **overrides}


def test_status_follows_the_designation() -> None:
    taken: set[str] = set()
    assert build.build_entry(row(), taken)["status"] == "attributed"
    listed = build.build_entry(row(name="Listed Co", designation="US Entity List 2021-11-03"),
                               taken)
    assert listed["status"] == "designated" and listed["designation"] == "US Entity List 2021-11-03"
    delisted = build.build_entry(
        row(name="Gone Co", designation="listed 2024-02-27; removed 2024-10-21"), taken)
    assert delisted["removed"] == "2024-10-21"


def test_ids_are_unique_and_short() -> None:
    taken: set[str] = set()
    first = build.build_entry(row(), taken)["id"]
    second = build.build_entry(row(), taken)["id"]
    assert (first, second) == ("example-agency", "example-agency-2")
    long_name = build.build_entry(row(name="A Very Long Name Of A Public Security Bureau Somewhere",
                                      aliases="ABC PSB"), taken)
    assert long_name["id"] == "abc-psb"
    assert build.build_entry(row(confidence="? (unclear)"), taken)["confidence"] == "?"
