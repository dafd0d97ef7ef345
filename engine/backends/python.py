"""The pure-Python backend: the rule IR compiled into one Python function per scope
(engine/codegen.py, with the semantics of engine/predicates.py). It is the oracle for
durable-rules; both give the same hits (tests/test_differential.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.backends.base import Hits
from engine.codegen import compile_scope

if TYPE_CHECKING:
    from engine.cases import NormalizedCase
    from engine.compiler import CompiledPolicy


class PythonBackend:
    """Evaluates case rules on the case facts once, item rules on each item view's facts.

    An item has one view per candidate category (engine/cases/); a case rule's hits are the
    item ids (= the keys of the primary views).
    """

    name = "python"

    def __init__(self, compiled: CompiledPolicy):
        self.case_rules = compile_scope([(r.id, r.condition) for r in compiled.rules_of("case")],
                                        "case").evaluate
        self.item_rules = compile_scope([(r.id, r.condition) for r in compiled.rules_of("item")],
                                        "item").evaluate

    def evaluate(self, case: NormalizedCase) -> Hits:
        # hits in the order decisions rely on: case rules in rule order, then item rules in
        # the order they first fire (views in order, rules in rule order within a view)
        hits: dict[str, list[str]] = {}
        fired = self.case_rules(case.facts)
        if fired:
            all_ids = [item.id for item in case.items]
            for rule_id in fired:
                hits[rule_id] = all_ids
        item_rules = self.item_rules
        for view in case.views:
            key = view.key
            for rule_id in item_rules(view.facts):
                hits.setdefault(rule_id, []).append(key)
        return {k: tuple(v) for k, v in hits.items()}
