"""The durable backend (engine/backends/durable.py) on the demo policy and synthetic rules."""

from __future__ import annotations

import json
from typing import Any

import durable_rules_engine
import pytest

from engine.api import evaluate_with
from engine.backends import BACKENDS
from engine.backends.durable import DurableBackend, DurableError
from engine.backends.python import PythonBackend
from engine.cases import check_case, normalize
from engine.conditions import Test as IrTest
from engine.generator import generate_cases
from engine.ruleset import ALWAYS, GUARD, MAX_STACK, AlphaNetwork
from tests._factories import demo, make_rule, random_policy, with_rules
from tests.support import case


def _both(policy: Any, data: dict[str, Any]) -> tuple[dict, dict]:
    norm = normalize(data, policy)
    return PythonBackend(policy).evaluate(norm), DurableBackend(policy).evaluate(norm)


def test_registry_builds_the_durable_backend() -> None:
    backend = BACKENDS["durable"](demo())
    assert isinstance(backend, DurableBackend) and backend.name == "durable"
    assert backend.shard_counts == {"case": 1, "item": 1}


def test_item_and_case_hits_name_their_items() -> None:
    data = case(destination="XA", end_user={"type": "law_enforcement",
                                            "flags": ["restricted_party"]},
                items=[{"id": "a", "category": "intrusion_software", "value": 200000},
                       {"id": "b", "category": "general_it", "value": 10},
                       {"id": "c", "control_entries": ["5a001.J.2"]}])
    oracle, durable = _both(demo(), data)
    assert durable == oracle
    assert durable["deny-embargo"] == ("a", "c")
    assert durable["deny-restricted"] == ("a", "b", "c")  # a case rule concerns every item
    assert durable["condition-large"] == ("a",)
    assert list(durable) == [r.id for r in demo().rules if r.id in durable]


def test_decisions_match_the_python_backend_on_generated_cases() -> None:
    policy = random_policy(150, 7)
    durable, python = DurableBackend(policy), PythonBackend(policy)
    for data in generate_cases(policy, 300, seed=11):
        check_case(data)
        a = evaluate_with(policy, durable, data).to_dict()
        b = evaluate_with(policy, python, data).to_dict()
        assert a.pop("engine") == {"version": b["engine"]["version"], "backend": "durable"}
        b.pop("engine")
        assert a == b, data["case_id"]


def test_a_scope_without_rules_is_skipped() -> None:
    policy = with_rules(demo(), [make_rule("only", IrTest("destination", "equals", "NO"))])
    backend = DurableBackend(policy)
    assert backend.shard_counts == {"case": 1}
    assert backend.evaluate(normalize(case(), policy)) == {"only": ("i1",)}


def test_a_policy_without_rules_gives_no_hits() -> None:
    policy = with_rules(demo(), [])
    assert DurableBackend(policy).evaluate(normalize(case(), policy)) == {}


def test_a_session_that_stopped_firing_is_detected_and_rebuilt(monkeypatch: Any) -> None:
    policy = demo()
    backend = DurableBackend(policy)
    norm = normalize(case(), policy)
    expected = backend.evaluate(norm)
    real = durable_rules_engine.start_action_for_state
    monkeypatch.setattr(backend._dre, "start_action_for_state", lambda h, s: None)
    with pytest.raises(DurableError, match="did not fire"):
        backend.evaluate(norm)
    monkeypatch.setattr(backend._dre, "start_action_for_state", real)
    assert backend.evaluate(norm) == expected  # the poisoned shard got a new handle


def test_stack_model_predicts_error_303() -> None:
    """The alpha-stack bound used for sharding is what makes the engine fail (error 303)."""
    def ruleset(n: int) -> dict[str, Any]:
        rules = {f"r{i}": {"all": [{"m": {"$and": [{GUARD: "case"}, {f"k{i}": True}]}}]}
                 for i in range(n)}
        rules[ALWAYS] = {"all": [{"m": {GUARD: "case"}}]}
        return rules

    record = json.dumps({"sid": "0", "id": "c", GUARD: "case", **{f"k{i}": True
                                                                   for i in range(70)}})
    for n, fails in ((64, False), (65, True)):
        net = AlphaNetwork()
        for rule in ruleset(n).values():
            net.add(rule["all"][0]["m"])
        assert net.stack_bound() == n and (net.stack_bound() > MAX_STACK)
        error = _engine_error(f"stack-model-{n}", ruleset(n), record)
        assert (error is not None and "303" in error) if fails else error is None


def _engine_error(name: str, rules: dict[str, Any], record: str) -> str | None:
    """The engine's error creating the ruleset or matching `record`, or None."""
    try:
        handle = durable_rules_engine.create_ruleset(name, json.dumps(rules))
    except durable_rules_engine.error as exc:
        return str(exc)
    try:
        _, state = durable_rules_engine.assert_fact(handle, record)
        result = durable_rules_engine.start_action_for_state(handle, state)
        message = result[1] if result else None
        while message:
            message = durable_rules_engine.complete_and_start_action(handle, state)
        return None
    except durable_rules_engine.error as exc:
        return str(exc)
    finally:
        durable_rules_engine.retract_fact(handle, '{"sid":"0","id":"c"}')


def test_nex_tests_count_on_the_stack_and_with_the_joins() -> None:
    """A false flag is tested with `$nex` (the record leaves it out). The engine pushes every
    `$nex` test whose key a record lacks on the alpha stack (error 303 past 64), and keeps
    `$nex` tests in the same list as the `$or` joins of a node (error 107 past 128): the
    model sharding relies on counts both."""
    always = {ALWAYS: {"all": [{"m": {GUARD: "case"}}]}}
    record = json.dumps({"sid": "0", "id": "c", GUARD: "case", "x": 1})
    for n, fails in ((64, False), (65, True)):
        rules = {f"r{i}": {"all": [{"m": {"$and": [{GUARD: "case"}, {"$nex": {f"k{i}": 1}}]}}]}
                 for i in range(n)} | always
        net = AlphaNetwork()
        for rule in rules.values():
            net.add(rule["all"][0]["m"])
        assert net.stack_bound() == n
        error = _engine_error(f"nex-stack-{n}", rules, record)
        assert (error is not None and "303" in error) if fails else error is None

    def listed(nex: int, joins: int) -> dict[str, Any]:
        """`nex` `$nex` tests and `joins` `$or` joins under the node `x == 1`."""
        rules = {f"r{i}": {"all": [{"m": {"$and": [{GUARD: "case"}, {"x": 1},
                                                    {"$nex": {f"k{i}": 1}}]}}]}
                 for i in range(nex)}
        rules |= {f"j{j}": {"all": [{"m": {"$and": [{GUARD: "case"},
                                                     {"$or": [{"x": 1}, {f"b{j}": 2}]}]}}]}
                  for j in range(joins)}
        return rules | always

    other = json.dumps({"sid": "0", "id": "c", GUARD: "case", "x": 2})  # only creation fails
    for nex, joins in ((100, 28), (100, 29)):
        error = _engine_error(f"nex-list-{nex}-{joins}", listed(nex, joins), other)
        assert (error is not None and "107" in error) if joins == 29 else error is None
    for nex, joins, problem in ((100, 0, False), (99, 2, True), (101, 0, True)):
        net = AlphaNetwork()
        for rule in listed(nex, joins).values():
            net.add(rule["all"][0]["m"])
        found = net.problem()
        assert (found is not None and "`$nex` tests under one node" in found) == problem, found
