"""The pure-Python backend: closures over the rule IR (engine/predicates.py). It is the
oracle for durable-rules; both give the same hits (tests/test_differential.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.backends.base import Hits
from engine.predicates import compile_condition

if TYPE_CHECKING:
    from engine.cases import NormalizedCase
    from engine.compiler import CompiledPolicy


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
