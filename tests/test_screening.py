"""Screening names against registers: the labelled set, normalisation, country weight."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from engine.registers import load
from engine.registers.screening import name_key, name_keys, screen

DATA = Path(__file__).parent / "data" / "registers"


def _pairs() -> list[dict[str, str]]:
    with open(DATA / "name_pairs.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def _predict(query: str, country: str) -> str:
    rs = load(DATA / "names")
    found = screen(rs, "2026-06-01", [("end_user", query, country.upper() or None)])
    top = found[0] if found else None
    return top.ref if top is not None and top.kind != "near_match" else ""


def test_labelled_set_precision_and_recall() -> None:
    pairs = _pairs()
    assert len(pairs) >= 40 and any(not p["expected"] for p in pairs)
    tp = fp = fn = 0
    for p in pairs:
        got = _predict(p["query"], p["country"])
        if got and got == p["expected"]:
            tp += 1
        elif got:
            fp += 1
        if p["expected"] and got != p["expected"]:
            fn += 1
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.95, (precision, recall)
    assert recall >= 0.95, (precision, recall)


@pytest.mark.parametrize(("name", "key"), [
    ("Example Trading S.A.", "example trading"),
    ("OOO «Пример Трейдинг»", "primer treiding"),
    ("ŞAHİN ELEKTRONİK A.Ş.", "sahin elektronik"),
    ("GmbH", "gmbh"),  # only legal-form words: kept, never blank
    ("  ", ""),
])
def test_name_key(name: str, key: str) -> None:
    assert name_key(name) == key


def test_german_spelling_is_a_second_key() -> None:
    assert name_keys("Müller AG") == ("muller", "mueller")


def test_country_weighs_but_never_hides() -> None:
    rs = load(DATA / "names")
    other = screen(rs, "2026-06-01", [("end_user", "Fictional Dynamics Ltd", "XC")])
    assert [(m.ref, m.kind) for m in other] == [("e06", "near_match")]
    assert "country XC not XB" in other[0].why
    unstated = screen(rs, "2026-06-01", [("end_user", "Fictional Dynamics Ltd", None)])
    assert [(m.ref, m.kind, m.score) for m in unstated] == [("e06", "restricted", 100.0)]


def test_a_match_says_why() -> None:
    rs = load(DATA / "names")
    (m,) = screen(rs, "2026-06-01", [("consignee", "Exampel Trading LLC", "XA")])
    assert (m.role, m.ref, m.kind, m.register) == ("consignee", "e01", "restricted", "names")
    assert m.why.startswith("`exampel trading` ~ `example trading`")
    assert 92 <= m.score < 100
