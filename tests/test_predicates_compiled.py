"""The generated scope functions (engine/codegen.py) against the closures (engine/predicates.py).

The closures are the reference semantics; a scope function must give the same rules, in the
same order, and raise where they raise (with the same error), on every operator, missing
facts, negation, empty and nested combinators and odd value types. Policy text must never
become code.
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.backends.python import PythonBackend
from engine.cases import NormalizedCase, normalize
from engine.codegen import MAX_DEPTH, UNROLL_MAX, compile_scope
from engine.conditions import All, AnyOf, Node, Not
from engine.conditions import Test as IrTest
from engine.generator import generate_cases
from engine.operators import OPERATORS
from engine.predicates import compile_condition

ROOT = Path(__file__).resolve().parent.parent
Rules = Sequence[tuple[str, Node]]


class FrozenSub(frozenset[Any]):
    """A frozenset subclass: `exists` treats it as a set (non-empty means given)."""


# values a fact may hold, well-typed or not (the absent fact is tested separately)
VALUES: list[Any] = [
    None, "", "a", "b", "A", 0, 1, -1, 2, 1.0, 1.5, float("nan"), 10**30, True, False,
    frozenset(), frozenset({"a"}), frozenset({"a", "b"}), frozenset({1}), frozenset({"b", 2}),
    FrozenSub(), FrozenSub({"a"}), set(), {"a"}, [], ["a"], ("a",), {"a": 1}, b"a", object(),
]
SCALAR_ARGS: list[Any] = ["a", "b", "", 1, 0, 1.5, True, False, None, float("nan")]
TUPLE_ARGS: list[Any] = [(), ("a",), ("a", "b"), ("b", "c", "a"), (1, "a"), (None,), (True, 1),
                         (*(f"x{i}" for i in range(UNROLL_MAX + 4)), "a")]
FLAG_ARGS: list[Any] = [True, False, 0, 1, "yes"]


def args_for(op: str) -> list[Any]:
    return FLAG_ARGS if op == "exists" else SCALAR_ARGS + TUPLE_ARGS


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """What `fn(*args)` gives: its value, or the error it raises (type and message)."""
    try:
        return ("value", fn(*args))
    except Exception as e:  # the error is the outcome compared
        return ("raises", type(e), str(e))


def reference(rules: Rules, facts: Mapping[str, Any]) -> list[str]:
    """The rules that hold as HEAD's python backend found them: one closure per rule."""
    return [rule_id for rule_id, node in rules if compile_condition(node)(facts)]


def both(rules: Rules, facts: Mapping[str, Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    generated = outcome(compile_scope, rules)
    if generated[0] == "value":
        generated = outcome(generated[1].evaluate, facts)
    return outcome(reference, rules, facts), generated


# --- every operator, argument and value ---------------------------------------------------

@pytest.mark.parametrize("op", sorted(OPERATORS))
@pytest.mark.parametrize("neg", [False, True])
def test_every_operator_on_every_value(op: str, neg: bool) -> None:
    for arg in args_for(op):
        rules = [("r", IrTest("x", op, arg, neg))]
        for facts in [{}, *({"x": v} for v in VALUES)]:
            expected, got = both(rules, facts)
            assert got == expected, (op, arg, neg, facts)


def test_the_grid_covers_raising_and_holding() -> None:
    # the comparison above is worth something only if the grid both fires and raises
    seen = set()
    for op, arg, value in product(sorted(OPERATORS), SCALAR_ARGS + TUPLE_ARGS, VALUES):
        got = outcome(reference, [("r", IrTest("x", op, arg))], {"x": value})
        seen.add(got[0] if got[0] == "raises" else bool(got[1]))
    assert seen == {True, False, "raises"}


def test_a_missing_fact_fails_every_test_but_exists_and_negation_inverts_after() -> None:
    for op in sorted(OPERATORS):
        for neg in (False, True):
            # `exists: false` is the one test that holds on a missing fact
            arg = False if op == "exists" else ("a",) if OPERATORS[op].arg == "values" else "a"
            rules = [("r", IrTest("x", op, arg, neg))]
            want = (op == "exists") != neg
            assert compile_scope(rules).evaluate({}) == (["r"] if want else []), (op, neg)
            assert compile_scope(rules).evaluate({"x": None}) == (["r"] if want else [])


def test_empty_combinators_and_not() -> None:
    t = IrTest("x", "equals", "a")
    rules: Rules = [("always", All(())), ("never", AnyOf(())), ("not-never", Not(AnyOf(()))),
             ("not-always", Not(All(()))), ("not-x", Not(t)), ("not-not-x", Not(Not(t))),
             ("nested-not", All((Not(AnyOf((t, Not(t)))),)))]
    for facts in ({}, {"x": "a"}, {"x": "b"}):
        assert compile_scope(rules).evaluate(facts) == reference(rules, facts)
    assert compile_scope(rules).evaluate({"x": "a"}) == ["always", "not-never", "not-not-x"]


# --- random nested conditions on shared facts ----------------------------------------------

FACT_NAMES = ["x", "y", "z"]


def leaf_st() -> st.SearchStrategy[Node]:
    op = st.sampled_from(sorted(OPERATORS))
    return st.builds(lambda o, fact, arg, neg, flag: IrTest(fact, o, flag if o == "exists"
                                                          else arg, neg),
                     op, st.sampled_from(FACT_NAMES),
                     st.sampled_from(["a", "b", 1, 2, 1.5, True, *TUPLE_ARGS[1:5]]),
                     st.booleans(), st.sampled_from([True, False]))


def condition_st() -> st.SearchStrategy[Node]:
    return st.recursive(leaf_st(), lambda kids: st.one_of(
        st.lists(kids, max_size=4).map(lambda c: All(tuple(c))),
        st.lists(kids, max_size=4).map(lambda c: AnyOf(tuple(c))),
        kids.map(Not)), max_leaves=12)


# well-typed values mostly, so that rules hold often and the fetch paths all run
FACT_VALUES = st.sampled_from([None, "a", "b", 1, 2, 1.5, True, False, frozenset(),
                               frozenset({"a"}), frozenset({"a", "b"}), frozenset({"c"})])
FACTS_ST = st.dictionaries(st.sampled_from(FACT_NAMES), FACT_VALUES)


class CountingDict(dict[str, Any]):
    """Counts `get` per key: a scope function fetches each fact at most once a call."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.gets: dict[str, int] = {}

    def get(self, key: Any, default: Any = None) -> Any:
        self.gets[key] = self.gets.get(key, 0) + 1
        return super().get(key, default)


@settings(max_examples=400, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(conds=st.lists(condition_st(), min_size=1, max_size=8),
       facts=st.lists(FACTS_ST, min_size=1, max_size=4))
def test_random_scopes_agree_with_the_closures(conds: list[Node],
                                               facts: list[dict[str, Any]]) -> None:
    rules = [(f"r{i}", c) for i, c in enumerate(conds)]
    scope = compile_scope(rules).evaluate
    for f in facts:
        counted = CountingDict(f)
        assert outcome(scope, counted) == outcome(reference, rules, f), f
        assert all(n == 1 for n in counted.gets.values()), counted.gets


def test_a_fact_fetched_on_one_branch_only_is_fetched_later() -> None:
    # y is read only when x holds; the second rule needs y either way
    x, y = IrTest("x", "equals", "a"), IrTest("y", "equals", "b")
    rules: Rules = [("r1", All((x, y))), ("r2", AnyOf((y, x))), ("r3", All((Not(x), y)))]
    for facts in ({}, {"x": "a"}, {"y": "b"}, {"x": "a", "y": "b"}, {"x": "c", "y": "b"}):
        assert compile_scope(rules).evaluate(facts) == reference(rules, facts), facts


def test_deep_rules_keep_their_closure_and_agree() -> None:
    def nested(n: int) -> Node:
        node: Node = IrTest("x", "equals", "a")
        for i in range(n):
            node = All((node, IrTest("y", "gt", i))) if i % 2 else AnyOf((IrTest("y", "lt", -i),
                                                                         node))
        return node

    shallow, deep = nested(MAX_DEPTH - 1), nested(MAX_DEPTH + 8)
    rules = [("shallow", shallow), ("deep", deep)]
    scope = compile_scope(rules)
    assert sum(name.startswith("P") for name in scope.namespace) == 1  # the deep one
    for facts in ({}, {"x": "a", "y": 100}, {"x": "a", "y": 3}, {"y": -100}, {"y": "s"}):
        assert outcome(scope.evaluate, facts) == outcome(reference, rules, facts)


def test_an_unknown_operator_fails_when_compiled() -> None:
    with pytest.raises(KeyError):
        compile_condition(IrTest("x", "contain", "a"))
    with pytest.raises(KeyError):
        compile_scope([("r", IrTest("x", "contain", "a"))])


# --- policy text never becomes code ---------------------------------------------------------

HOSTILE = ["x'); __import__('os').system('touch {marker}') #",
           'x"""\n__import__("os").system("touch {marker}")\n"""', "a\nb", "\\", "{v} {a}",
           "f.get", "U", "v0", "K0", "__builtins__", "') or True or ('", "True"]
GENERATED_NAME = re.compile(r"[vFKROP]\d+|f|g|a|out|_eval|U|ISI|FS|get|append")


def test_hostile_fact_names_arguments_and_rule_ids_are_data(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = [text.replace("{marker}", str(marker)) for text in HOSTILE]
    rules: list[tuple[str, Node]] = []
    for i, text in enumerate(hostile):
        rules.append((text, IrTest(text, "equals", text)))
        rules.append((f"{text}-in-{i}", IrTest(text, "in", (text, "other"))))
        rules.append((f"{text}-contains-{i}", IrTest("tags", "contains", text, neg=True)))
    scope = compile_scope(rules)
    names = {tok.string for tok in tokenize.generate_tokens(io.StringIO(scope.source).readline)
             if tok.type == tokenize.NAME}
    strings = [tok for tok in tokenize.generate_tokens(io.StringIO(scope.source).readline)
               if tok.type == tokenize.STRING]
    assert not strings
    assert all(keyword.iskeyword(n) or GENERATED_NAME.fullmatch(n) for n in names), names
    assert scope.namespace["__builtins__"] == {}
    facts = {text: text for text in hostile} | {"tags": frozenset({hostile[0]})}
    fired = scope.evaluate(facts)
    assert fired == reference(rules, facts)
    assert fired[:2] == [hostile[0], f"{hostile[0]}-in-0"]
    assert f"{hostile[0]}-contains-0" not in fired
    assert not marker.exists()


def test_generated_code_has_no_builtins() -> None:
    scope = compile_scope([("r", IrTest("x", "exists", True))])
    # ISI is bound explicitly; a name the generator did not bind would not resolve
    namespace = dict(scope.namespace)
    exec("def probe():\n    return len\n", namespace)  # our own text
    with pytest.raises(NameError):
        namespace["probe"]()


# --- the backend on the shipped policies -------------------------------------------------

class ClosureBackend:
    """HEAD's python backend: one closure per rule, evaluated rule by rule."""

    def __init__(self, compiled: Any):
        self.case_rules = [(r.id, r.condition) for r in compiled.rules_of("case")]
        self.item_rules = [(r.id, r.condition) for r in compiled.rules_of("item")]

    def evaluate(self, case: NormalizedCase) -> dict[str, tuple[str, ...]]:
        hits: dict[str, list[str]] = {}
        all_ids = [item.id for item in case.items]
        for rule_id in reference(self.case_rules, case.facts):
            hits[rule_id] = all_ids
        for view in case.views:
            for rule_id in reference(self.item_rules, view.facts):
                hits.setdefault(rule_id, []).append(view.key)
        return {k: tuple(v) for k, v in hits.items()}


@lru_cache(maxsize=1)
def shipped() -> engine.PolicyStore:
    return engine.load(ROOT / "policies")


@pytest.mark.parametrize("version", ["2025.1", "2026.1", "2027.1"])
def test_backend_hits_equal_the_closures_on_generated_cases(version: str) -> None:
    policy = shipped().get(version)
    new, old = PythonBackend(policy), ClosureBackend(policy)
    fired = 0
    for data in generate_cases(policy, 300, seed=7, crowded=0.05):
        case = normalize(data, policy)
        hits = new.evaluate(case)
        assert list(hits.items()) == list(old.evaluate(case).items()), data["case_id"]
        fired += len(hits)
    assert fired > 300  # rules do fire: the comparison is not of empty hits
