"""The canonical decision JSON: orjson's compact form is byte for byte json.dumps's (the
stored decision digests and every decision log depend on it), odd strings included."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

import engine
from engine.decision import Decision
from engine.generator import generate_cases

ROOT = Path(__file__).resolve().parent.parent
ODD = ["plain", "é ü ß", "中文", "😀", "\u2028\u2029", "\x7f", "\x00\x1f\x1b[31m", '"\\/',
       "\t\n\r\b\f", "\ufeff", "\U0010ffff", "a" * 300]


def _dumps(decision: Decision) -> str:
    return json.dumps(decision.to_dict(), ensure_ascii=False, separators=(",", ":"))


@pytest.fixture(scope="module")
def decisions() -> list[Decision]:
    store = engine.load(ROOT / "policies")
    out = []
    for version in ("2026.1", "2027.1"):
        policy = store.get(version)
        for data in generate_cases(policy, 200, seed=9, crowded=0.3):
            out.append(store.evaluate(data, policy_version=version, backend="python"))
    return out


def test_to_json_is_json_dumps(decisions: list[Decision]) -> None:
    assert all(d.to_json() == _dumps(d) for d in decisions)


def test_odd_strings_are_written_as_json_dumps_writes_them(decisions: list[Decision]) -> None:
    rng = random.Random(4)
    for d in decisions[:100]:
        text = "".join(rng.choice(ODD) for _ in range(3))
        odd = replace(d, case_id=text, explanation=text + d.explanation)
        assert odd.to_json() == _dumps(odd)


def test_a_lone_surrogate_falls_back_to_json(decisions: list[Decision]) -> None:
    odd = replace(decisions[0], case_id="x\ud800y")
    assert odd.to_json() == _dumps(odd)  # json keeps it as is; the writers escape it


def test_a_non_string_mapping_value_falls_back_to_json(decisions: list[Decision]) -> None:
    odd = replace(decisions[0], policy={**decisions[0].policy, "weight": 1e-07})
    assert odd.to_json() == _dumps(odd) and '"weight":1e-07' in odd.to_json()
