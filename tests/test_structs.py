"""The msgspec check of the case contract (engine/structs.py) never accepts what the schema
refuses, and accepts the valid cases the engine sees (else the fast path is never taken)."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.cases import CaseError, check_case
from engine.generator import generate_cases
from engine.schemas import check_data, struct_check
from engine.structs import Unsupported, build

POLICIES = Path(__file__).resolve().parent.parent / "policies"
HOSTILE: list[Any] = [
    1, "x", None, [], {}, True, False, -5.5, 0, 2**60, 2**53, float("nan"), float("inf"),
    "2020-13-45", "2024-02-30", "2024-02-29", "\ud800", "a\udfffb", "ab\u200b", "DE", "de",
    "ＤＥ", 1e15, 1e15 - 1, 999999999999999.9, ["x", "x"], [1, True], [1, 1.0], (1, 2),
    {"\ud800": 1}, "", " ", "x" * 501, 1.0, -0.0, "service", "good", "2",
    ["eu_2021_821:art4.1.a", "eu_2021_821:art4.1.a"], "٢٠٢٤-٠١-٠١"]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*path, i))
    return out


def _mutated(case: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    data = copy.deepcopy(case)
    for _ in range(rng.randint(1, 3)):
        *head, last = rng.choice(_paths(data)[1:])
        parent = data
        for k in head:
            parent = parent[k]
        if rng.random() < 0.2 and isinstance(parent, dict):
            del parent[last]
        elif rng.random() < 0.2 and isinstance(parent, dict):
            parent[f"{last}x"] = 1
        else:
            parent[last] = copy.deepcopy(rng.choice(HOSTILE))
    return data


@pytest.fixture(scope="module")
def store() -> engine.PolicyStore:
    return engine.load(POLICIES)


@pytest.fixture(scope="module")
def cases(store: engine.PolicyStore) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for version in ("2025.1", "2026.1", "2027.1"):
        out += generate_cases(store.get(version), 150, seed=5, crowded=0.3)
    return out


def test_the_case_schema_has_a_bounded_check() -> None:
    check = struct_check("case")
    assert check is not None and check.bounded and check.depth <= 32
    assert ("items", "*", "catch_all") in check.unique and ("submitted",) in check.dates


def test_generated_cases_take_the_fast_path(cases: list[dict[str, Any]]) -> None:
    check = struct_check("case")
    assert check is not None
    assert all(check.valid(c) for c in cases)


def test_never_accepts_what_the_schema_refuses(cases: list[dict[str, Any]]) -> None:
    check = struct_check("case")
    assert check is not None
    rng = random.Random(3)
    refused = 0
    for case in cases * 4:
        data = _mutated(case, rng)
        full = check_data("case", data)
        if check.valid(data):
            assert not full, (data, full)
        refused += bool(full)
    assert refused > len(cases)  # the mutations did break the contract, often


@pytest.mark.parametrize(("path", "value"), [
    (("items", 0, "value"), True), (("items", 0, "value"), float("nan")),
    (("items", 0, "value"), 1e15), (("items", 0, "catch_all"), ["a:b", "a:b"]),
    (("submitted",), "2024-02-30"), (("destination",), "de"), (("end_user", "flags"), ["a\x00"]),
    (("extra",), 1), (("items", 0, "kind"), "thing"), (("contract_version",), "3")])
def test_refuses_each_broken_keyword(cases: list[dict[str, Any]], path: tuple[Any, ...],
                                     value: Any) -> None:
    check = struct_check("case")
    assert check is not None
    data = copy.deepcopy(cases[0])
    data.setdefault("end_user", {})
    parent = data
    for k in path[:-1]:
        parent = parent[k]
    parent[path[-1]] = value
    assert not check.valid(data)
    with pytest.raises(CaseError):  # the slow path refuses it too (NaN: `scan` does)
        check_case(data)


def test_a_lone_surrogate_still_gets_its_diagnostic(cases: list[dict[str, Any]]) -> None:
    data = copy.deepcopy(cases[0])
    data["end_user"] = {"name": "Acme \ud800"}
    with pytest.raises(CaseError) as err:
        check_case(data)
    assert [d.code for d in err.value.diagnostics] == ["invalid-unicode"]


@pytest.mark.parametrize("schema", [
    {"type": "object", "propertyNames": {"pattern": "^a"}},
    {"type": "object", "additionalProperties": {"type": "string"}},
    {"const": 1}, {"type": "string", "format": "email"},
    {"oneOf": [{"type": "string"}, {"type": "string", "minLength": 2}]},
    {"type": "integer", "minimum": 0.5},
    {"allOf": [{"pattern": "^a"}, {"pattern": "b$"}], "type": "string"},
    {"type": "object", "properties": {"a": {"type": "string"}},
     "allOf": [{"additionalProperties": False}]},
    {"enum": [1, 2]}])
def test_what_msgspec_cannot_express_is_unsupported(schema: dict[str, Any]) -> None:
    with pytest.raises(Unsupported):
        build(schema)


def test_open_objects_and_unbounded_numbers_are_not_bounded() -> None:
    assert not build({"type": "object"}).bounded
    assert not build({"type": "number"}).bounded
    assert build({"type": "object", "additionalProperties": False,
                  "properties": {"n": {"type": "number", "minimum": 0,
                                       "maximum": 10}}}).bounded
