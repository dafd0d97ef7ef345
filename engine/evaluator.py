"""The pure-Python backend: closures over the rule IR. It is the oracle for durable-rules.

Semantics (shared with engine/ruleset/, checked by the differential tests): a fact
absent from the fact mapping is *missing*; every test except `exists` is false on a missing
fact, and `neg` inverts a test after that. Set facts are frozensets and never missing;
`exists` on a set means non-empty.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from engine.conditions import All, AnyOf, Node, Not, Test, to_nnf
from engine.operators import OPERATORS

if TYPE_CHECKING:
    from engine.cases import NormalizedCase
    from engine.compiler import CompiledPolicy

Facts = Mapping[str, Any]
Predicate = Callable[[Facts], bool]
Hits = dict[str, tuple[str, ...]]  # rule id → keys of the item views it fired for


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, frozenset):
        return bool(value)
    return True


def _compile_test(t: Test) -> Predicate:
    fact = t.fact
    if t.op == "exists":
        want = bool(t.arg) != t.neg
        return lambda f: _present(f.get(fact)) == want
    op = OPERATORS[t.op].test
    arg = frozenset(t.arg) if isinstance(t.arg, tuple) else t.arg

    def positive(f: Facts) -> bool:
        value = f.get(fact)
        return value is not None and op(value, arg)

    if t.neg:
        return lambda f: not positive(f)
    return positive


def compile_condition(node: Node) -> Predicate:
    """Compile an NNF condition (a `Not` is normalised first) into a predicate."""
    if isinstance(node, Not):
        return compile_condition(to_nnf(node))
    if isinstance(node, Test):
        return _compile_test(node)
    parts = tuple(compile_condition(c) for c in node.children)
    if isinstance(node, All):
        if not parts:
            return lambda f: True
        return lambda f: all(p(f) for p in parts)
    assert isinstance(node, AnyOf)
    return lambda f: any(p(f) for p in parts)


class Backend(Protocol):
    name: str

    def evaluate(self, case: NormalizedCase) -> Hits: ...


class PythonBackend:
    """Evaluates case rules on the case facts once, item rules on each item view's facts.

    An item has one view per candidate category (engine/cases.py); a case rule's hits are the
    item ids (= the keys of the primary views).
    """

    name = "python"

    def __init__(self, compiled: CompiledPolicy):
        self.case_rules = [(r.id, compile_condition(r.condition))
                           for r in compiled.rules_of("case")]
        self.item_rules = [(r.id, compile_condition(r.condition))
                           for r in compiled.rules_of("item")]

    def evaluate(self, case: NormalizedCase) -> Hits:
        hits: dict[str, list[str]] = {}
        all_ids = [item.id for item in case.items]
        for rule_id, pred in self.case_rules:
            if pred(case.facts):
                hits[rule_id] = all_ids
        for view in case.views:
            facts = view.facts
            for rule_id, pred in self.item_rules:
                if pred(facts):
                    hits.setdefault(rule_id, []).append(view.key)
        return {k: tuple(v) for k, v in hits.items()}


def _durable(compiled: CompiledPolicy) -> Backend:
    from engine.runtime import DurableBackend  # the only module that imports durable

    return DurableBackend(compiled)


BACKENDS: dict[str, Callable[[CompiledPolicy], Backend]] = {
    "durable": _durable,
    "python": PythonBackend,
}
