"""The decision log leaves the names of listed organisations of a register set unmasked
(so a replay of a masked case still screens them), never the names of listed persons."""

from __future__ import annotations

from pathlib import Path

import engine
from engine.decisionlog import Masker
from engine.implicated import normalise_name
from engine.registers.model import Listed, RegisterSet, Settings

ROOT = Path(__file__).resolve().parents[1]


def listed(name: str, schema: str, *aliases: str) -> Listed:
    return Listed(f"id-{schema}", name, aliases, frozenset({"XA"}), "restricted", "r",
                  "test list", "", schema)


def test_organisation_names_are_kept_and_persons_masked() -> None:
    store = engine.load(ROOT / "policies")
    before = store.listed_names()
    store.registers = RegisterSet(Settings(), (), listed=(
        listed("Example Trading LLC", "Company", "Example Trading"),
        listed("Jane Roe", "Person")))
    keep = store.listed_names()
    assert keep is store.listed_names()  # computed once per register set
    assert before < keep and normalise_name("Example Trading") in keep
    assert normalise_name("Jane Roe") not in keep
    case = {"end_user": {"name": "Example Trading LLC"}, "consignees": [{"name": "Jane Roe"}]}
    masked = Masker("hmac", key=b"k").mask(case, keep)
    assert masked["end_user"]["name"] == "Example Trading LLC"
    assert masked["consignees"][0]["name"].startswith("hmac-sha256:")
    store.registers = None
    assert store.listed_names() == before
