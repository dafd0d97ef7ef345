"""One test per durable-rules trap (/work/shared/reference/durable_rules.md) the adapter avoids.

Each test fails if engine/ruleset/ or engine/backends/durable.py fell into the trap. Parts that
could hang the interpreter (`create_ruleset` loops forever past 512 tests under one node)
run in a subprocess with a timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import durable_rules_engine
import pytest

from engine.api import BackendUnavailable, PolicyStore, evaluate_with
from engine.backends.durable import DurableBackend
from engine.backends.python import PythonBackend
from engine.cases import ItemFacts, NormalizedCase, normalize
from engine.conditions import All, AnyOf, Not
from engine.conditions import Test as IrTest
from engine.generator import generate_cases
from engine.ruleset import atom, compile_rulesets, walk_atoms
from tests._factories import demo, make_rule, random_rules, with_rules
from tests.support import case

ROOT = Path(__file__).resolve().parent.parent
ENGINE_CALLS = {"assert_fact", "start_action_for_state", "complete_and_start_action",
                "retract_fact"}


def _hits(policy: Any, data: dict[str, Any]) -> tuple[dict, dict]:
    norm = normalize(data, policy)
    return DurableBackend(policy).evaluate(norm), PythonBackend(policy).evaluate(norm)


class Recorder:
    """Stands in for the extension module and records which functions are called."""

    def __init__(self, real: Any, fail: dict[str, int] | None = None):
        self.real = real
        self.calls: list[str] = []
        self.fail = dict(fail or {})  # function name → raise on that call number (1-based)

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self.real, name)
        if not callable(fn) or isinstance(fn, type):
            return fn

        def call(*args: Any) -> Any:
            self.calls.append(name)
            if self.fail.get(name) == self.calls.count(name):
                raise durable_rules_engine.error(f"injected failure in {name}")
            return fn(*args)
        return call


def test_events_would_fire_one_rule_so_facts_are_asserted() -> None:
    """§2: `post` fires one rule per event; three matching rules must all fire."""
    policy = with_rules(demo(), [
        make_rule("by-destination", IrTest("destination", "equals", "NO")),
        make_rule("by-type", IrTest("end_user.type", "equals", "private_company")),
        make_rule("by-purpose", IrTest("end_use.purpose", "exists", True))])
    backend = DurableBackend(policy)
    recorder = Recorder(backend._dre)
    backend._dre = recorder
    hits = backend.evaluate(normalize(case(), policy))
    assert set(hits) == {"by-destination", "by-type", "by-purpose"}
    assert set(recorder.calls) == ENGINE_CALLS  # never assert_event / post


def test_cross_type_coercion_cannot_decide_a_case() -> None:
    """§7: the engine compares "9" > 10 as strings (true); types are enforced before it."""
    policy = with_rules(demo(), [make_rule("large", IrTest("item.value", "gt", 10))])
    durable, oracle = _hits(policy, case(items=[{"id": "i1", "value": 9}]))
    assert durable == oracle == {}
    norm = normalize(case(items=[{"id": "i1", "value": 9}]), policy)
    item = norm.items[0]
    bad = NormalizedCase(norm.case_id, norm.submitted, norm.facts,
                         (ItemFacts(item.id, {**item.facts, "item.value": "9"}, item.category),),
                         ())
    with pytest.raises(TypeError, match="item.value"):
        DurableBackend(policy).evaluate(bad)


def test_comparisons_on_missing_fields_follow_the_oracle() -> None:
    """§7: `$neq`/`$gt` on a missing field never match; a negated test must still fire."""
    policy = with_rules(demo(), [
        make_rule("not-large", Not(IrTest("item.value", "gt", 10))),
        make_rule("not-research", Not(IrTest("end_use.purpose", "equals", "research"))),
        make_rule("not-police", IrTest("end_user.type", "not_equals", "law_enforcement"))])
    data = case(items=[{"id": "i1"}], end_use={}, end_user={"flags": []})
    durable, oracle = _hits(policy, data)
    assert durable == oracle == {"not-research": ("i1",), "not-large": ("i1",)}


def test_object_values_never_become_joins() -> None:
    """§7: an object right-hand side is silently read as a join and over-matches."""
    policies = [demo(), with_rules(demo(), random_rules(300, 5))]
    for policy in policies:
        for scope in ("case", "item"):
            for shard in compile_rulesets(policy, scope):
                for rule in shard.values():
                    for a in walk_atoms(rule["all"][0]["m"]):
                        assert type(atom(a)[2]) in (str, int, float, bool), a


def test_or_branches_fire_once_each_but_hits_are_deduplicated() -> None:
    """§2: a rule fires once per true `$or` branch; hits list it once, items once."""
    rule = make_rule("either", AnyOf((IrTest("item.category", "equals", "general_it"),
                                      IrTest("item.value", "gt", 1),
                                      IrTest("destination", "equals", "NO"))))
    policy = with_rules(demo(), [rule])
    data = case(items=[{"id": "i1", "category": "general_it", "value": 5},
                       {"id": "i2", "category": "general_it", "value": 5}])
    durable, oracle = _hits(policy, data)
    assert durable == oracle == {"either": ("i1", "i2")}


def test_engine_exceptions_are_not_swallowed(monkeypatch: Any) -> None:
    """§7: action exceptions are swallowed by the Host; ours propagate and fail closed."""
    policy = demo()
    backend = DurableBackend(policy)
    backend._dre = Recorder(backend._dre, fail={"assert_fact": 1})
    with pytest.raises(durable_rules_engine.error, match="injected"):
        backend.evaluate(normalize(case(), policy))
    backend._dre = Recorder(backend._dre.real, fail={"assert_fact": 1})
    decision = evaluate_with(policy, backend, case())
    assert decision.decision == "refer"
    assert [f.rule for f in decision.findings] == ["engine-error"]


def test_more_than_400_rules_do_not_overflow_the_alpha_stack() -> None:
    """§4: ~400 flat rules in one ruleset give error 303; shards keep every one small."""
    rules = random_rules(900, 17)
    policy = with_rules(demo(), rules)
    durable, python = DurableBackend(policy), PythonBackend(policy)
    assert sum(durable.shard_counts.values()) > 2
    for data in generate_cases(demo(), 150, seed=3):
        norm = normalize(data, policy)
        assert durable.evaluate(norm) == python.evaluate(norm)


def test_512_tests_under_one_node_never_reach_create_ruleset() -> None:
    """§7: 513 distinct tests under one node make create_ruleset loop forever."""
    script = textwrap.dedent("""
        from engine.cases import normalize
        from engine.conditions import Test
        from engine.backends.python import PythonBackend
        from engine.backends.durable import DurableBackend
        from tests._factories import demo, make_rule, with_rules
        from tests.support import case
        values = tuple(f"v{i}" for i in range(599)) + ("private_company",)
        policy = with_rules(demo(), [make_rule("wide-in", Test("end_user.type", "in", values)),
                                     make_rule("wide-not-in", Test("end_user.type", "in", values,
                                                                    True))])
        durable, python = DurableBackend(policy), PythonBackend(policy)
        for kind in ("private_company", "law_enforcement", None):
            norm = normalize(case(end_user={"type": kind, "flags": []}), policy)
            assert durable.evaluate(norm) == python.evaluate(norm), kind
        print("ok", durable.shard_counts)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok")


def test_sessions_are_never_created_per_case_nor_deleted(monkeypatch: Any) -> None:
    """§3, §8: per-case sessions leak or crash (`delete_state`); one session "0" is reused."""
    def refuse(*args: Any) -> None:
        raise AssertionError("delete_state must never be called")

    monkeypatch.setattr(durable_rules_engine, "delete_state", refuse)
    policy = demo()
    backend = DurableBackend(policy)
    recorder = Recorder(durable_rules_engine)
    backend._dre = recorder
    for data in generate_cases(policy, 2000, seed=5):
        backend.evaluate(normalize(data, policy))
    assert set(recorder.calls) == ENGINE_CALLS
    for scope in backend._scopes.values():
        for shard in scope.shards:
            assert json.loads(durable_rules_engine.get_state(shard.handle, "0"))["sid"] == "0"
            with pytest.raises(durable_rules_engine.error, match="309"):
                durable_rules_engine.get_state(shard.handle, "1")


def test_facts_are_retracted_so_state_does_not_grow() -> None:
    """§3: facts left in the session accumulate, slow down and collide (MessageObserved)."""
    policy = demo()
    backend = DurableBackend(policy)
    norm = normalize(case(), policy)
    first = backend.evaluate(norm)
    assert backend.evaluate(norm) == first  # same fact id again: no rc=2 (observed)
    for scope in backend._scopes.values():
        for shard in scope.shards:
            assert json.loads(durable_rules_engine.get_facts(shard.handle, "0")) == []


def test_an_error_leaves_no_fact_and_no_locked_session_behind() -> None:
    """§8: after a failure mid-dispatch the fact is retracted and the session still fires."""
    policy = demo()
    backend = DurableBackend(policy)
    norm = normalize(case(destination="XA", items=[
        {"id": "i1", "category": "intrusion_software", "value": 200000}]), policy)
    expected = backend.evaluate(norm)
    backend._dre = Recorder(backend._dre, fail={"complete_and_start_action": 1})
    with pytest.raises(durable_rules_engine.error):
        backend.evaluate(norm)
    for scope in backend._scopes.values():
        for shard in scope.shards:
            assert json.loads(durable_rules_engine.get_facts(shard.handle, "0")) == []
    assert backend.evaluate(norm) == expected


def test_use_from_another_thread_is_refused() -> None:
    """§5: the extension holds the GIL and a shared session gives wrong results."""
    policy = demo()
    backend = DurableBackend(policy)
    norm = normalize(case(), policy)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            backend.evaluate(norm)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)
    assert "thread" in str(errors[0]) and "process" in str(errors[0])


def test_missing_extension_names_the_python_backend(monkeypatch: Any) -> None:
    """§0: CPython 3.13 cannot import the extension; the error must say what to do."""
    monkeypatch.setitem(sys.modules, "durable_rules_engine", None)
    store = PolicyStore({demo().id: {demo().version: demo()}})
    with pytest.raises(BackendUnavailable, match="--backend python"):
        store.backend(demo(), "durable")


def test_rules_of_missing_tests_only_never_match_the_state_fact() -> None:
    """§3: a rule of `$nex` tests only matches the session's state fact (endless loop)."""
    rule = make_rule("no-type", IrTest("end_user.type", "exists", False))
    policy = with_rules(demo(), [rule])
    for shard in compile_rulesets(policy, "case"):
        assert '"$nex"' not in json.dumps(shard)
    durable, oracle = _hits(policy, case(end_user={"flags": []}))
    assert durable == oracle == {"no-type": ("i1",)}
    assert _hits(policy, case())[0] == {}


def test_no_host_threads_are_started() -> None:
    """§0, §5: a `durable.engine.Host` runs timer threads that dispatch actions."""
    before = threading.active_count()
    backend = DurableBackend(demo())
    backend.evaluate(normalize(case(), demo()))
    assert threading.active_count() == before
    assert "durable.lang" not in sys.modules and "durable.engine" not in sys.modules


def test_many_groups_in_one_rule_compile_and_evaluate() -> None:
    """§7: 15 `$or` groups inside an `$and` give error 113 at create_ruleset."""
    groups = tuple(AnyOf((IrTest("end_user.flags", "contains", "restricted_party", i % 2 == 0),
                          IrTest("item.value", "gt", i))) for i in range(20))
    policy = with_rules(demo(), [make_rule("many", All(groups))])
    for values in (1, 15, 30):
        data = case(items=[{"id": "i1", "value": values}])
        durable, oracle = _hits(policy, data)
        assert durable == oracle


def test_floats_are_never_written_with_exponents() -> None:
    """§7: `json.dumps` writes 1e-05 / 1e+20, which the engine's parser rejects (204)."""
    policy = with_rules(demo(), [make_rule("tiny", IrTest("item.value", "gt", 0.01))])
    durable, oracle = _hits(policy, case(items=[{"id": "i1", "value": 0.02}]))
    assert durable == oracle == {"tiny": ("i1",)}
    norm = normalize(case(items=[{"id": "i1", "value": 1}]), policy)
    item = norm.items[0]
    bad = NormalizedCase(norm.case_id, norm.submitted, norm.facts,
                         (ItemFacts(item.id, {**item.facts, "item.value": 1e-05}, None),), ())
    with pytest.raises(ValueError, match="exponent"):
        DurableBackend(policy).evaluate(bad)
