"""Every decision of the fixtures and of 2,000 generated cases per released version is
byte-identical to the stored digests (engine/digests.py, tests/data/decision_digests.json):
work on the engine's hot path cannot change a decision without saying so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.api import PolicyStore, load
from engine.digests import Corpus, digest, fixtures, generated

ROOT = Path(__file__).resolve().parent.parent
STORED = json.loads((ROOT / "tests" / "data" / "decision_digests.json").read_text())
HOW = "a decision changed: if that is meant, run `python tools/decision_digests.py --write`"


@pytest.fixture(scope="module")
def store() -> PolicyStore:
    return load(ROOT / "policies")


def test_fixture_decisions_are_unchanged(store: PolicyStore) -> None:
    assert digest(store, fixtures(ROOT / "fixtures")) == STORED["fixtures"], HOW


@pytest.mark.parametrize("version", ["2025.1", "2026.1", "2027.1"])
def test_generated_decisions_are_unchanged(store: PolicyStore, version: str) -> None:
    corpus = generated(store, version, 2000)
    assert digest(store, corpus) == STORED[corpus.name], HOW


def test_a_changed_decision_changes_the_digest(store: PolicyStore) -> None:
    cases = list(generated(store, "2027.1", 5).cases)
    moved = [(dict(cases[0][0], destination="IR"), *cases[0][1:]), *cases[1:]]
    assert digest(store, Corpus("a", iter(cases))) != digest(store, Corpus("b", iter(moved)))
    again = list(generated(store, "2027.1", 5).cases)
    assert digest(store, Corpus("a", iter(cases))) == digest(store, Corpus("c", iter(again)))
