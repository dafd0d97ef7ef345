"""The fixture suite of the shipped policies, one pytest case per fixture file.

The test id is the fixture's path below `fixtures/`, so a failure names its file; the
assertion message is the same expected-vs-actual diff `echri test` prints.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.fixtures import PASS, discover, load_fixture, run_fixture
from engine.schemas import check_data

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SOURCES = discover([FIXTURES]) if FIXTURES.is_dir() else []


@pytest.fixture(scope="module")
def store() -> engine.PolicyStore:
    return engine.load(ROOT / "policies")


def test_the_suite_is_not_empty() -> None:
    assert len(SOURCES) >= 150


@pytest.mark.parametrize("source", SOURCES, ids=[s.test_id for s in SOURCES])
def test_fixture(store: engine.PolicyStore, source: object) -> None:
    fixture, problems = load_fixture(source)  # type: ignore[arg-type]
    assert fixture is not None and not problems, "\n".join(d.message for d in problems)
    result = run_fixture(store, fixture, "durable")
    assert result.status == PASS, f"{fixture.display}:{result.line}\n{result.diff()}"
    assert result.decision is not None
    assert check_data("decision", result.decision.to_dict()) == []
