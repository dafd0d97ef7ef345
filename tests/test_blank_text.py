"""Free text that shows nothing counts as missing wherever the contract says "present"."""

from __future__ import annotations

import pytest

import engine
from tests.support import baseline_case

BLANKS = ["", "   ", "\u200b", "\ufeff", "\u2060\u200b ", "\t\n", "\u3000", "\x00", " \x7f ",
          "\u3164", "\u115f\u1160", "\uffa0", "\u0301", " \u20dd ", "\u2800"]


def case(name: str) -> dict:
    data = baseline_case(case_id="B-1")
    data["exporter"]["name"] = name
    return data


@pytest.fixture(scope="module")
def store() -> engine.PolicyStore:
    return engine.load("policies")


def test_a_visible_name_is_present(store: engine.PolicyStore) -> None:
    assert store.evaluate(case("Exporter AB")).decision == "approve"


@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("backend", ["durable", "python"])
def test_an_invisible_name_is_missing(store: engine.PolicyStore, blank: str,
                                      backend: str) -> None:
    try:
        d = store.evaluate(case(blank), backend=backend)
    except engine.CaseError:
        return  # refused by the contract: nothing approved either
    assert d.decision == "request_information"
    assert "exporter.name" in {r["field"] for r in d.to_dict()["information_requests"]}
