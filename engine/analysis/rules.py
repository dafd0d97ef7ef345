"""Rules that never fire, shadowed rules and duplicate rules (`analyze rules`).

Over the bounded case space of engine/analysis/inputs.py:
- *never fires*: the rule's condition (for an item rule: on some view of some item) is
  unsatisfiable, including through category/group implications, the destination table and
  numeric ranges;
- *shadowed*: whenever the rule fires, another rule fires whose outcome is at least as
  severe by the precedence, so its outcome never decides a case on its own (its required
  assurances, licence conditions or information request may still matter: reported as
  `effects`); `by` names a single rule that does it alone when there is one;
- *duplicate*: two rules with the same effect (outcome, assurances, licence conditions,
  field) that fire on exactly the same cases.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import z3

from engine.analysis.encode import fires
from engine.analysis.inputs import Inputs
from engine.compiler import CompiledPolicy, CompiledRule


@dataclass
class RulesReport:
    policy: CompiledPolicy
    items: int
    never: list[str] = field(default_factory=list)
    shadowed: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not (self.never or self.shadowed or self.duplicates)

    def to_dict(self) -> dict[str, Any]:
        return {"policy": {"id": self.policy.id, "version": self.policy.version},
                "items": self.items, "never_fires": self.never, "shadowed": self.shadowed,
                "duplicates": [list(p) for p in self.duplicates],
                "seconds": round(self.seconds, 2)}


def _effect(r: CompiledRule) -> tuple[Any, ...]:
    return (r.outcome, tuple(sorted(r.require_assurances)), tuple(sorted(r.conditions)),
            r.field)


def analyze_rules(policy: CompiledPolicy, items: int = 2) -> RulesReport:
    """Never-firing, shadowed and duplicate rules of one version."""
    start = time.monotonic()
    inputs = Inputs([policy], items=items, submitted=policy.policy.effective_from)
    world, _ = inputs.world(policy)
    fired = {r.id: fires(policy, world, r) for r in policy.rules}
    solver = z3.Solver()
    solver.add(inputs.constraints)
    report = RulesReport(policy, items)
    rank = policy.rank

    def sat(*extra: z3.BoolRef) -> z3.ModelRef | None:
        solver.push()
        solver.add(*extra)
        result = solver.model() if solver.check() == z3.sat else None
        solver.pop()
        return result

    live = []
    for r in policy.rules:
        if sat(fired[r.id]) is None:
            report.never.append(r.id)
        else:
            live.append(r)
    for r in live:
        others = [s for s in live if s.id != r.id and rank[s.outcome] <= rank[r.outcome]]
        if sat(fired[r.id], z3.Not(z3.Or([fired[s.id] for s in others] or
                                          [z3.BoolVal(False)]))) is not None:
            continue
        by = [s.id for s in others if sat(fired[r.id], z3.Not(fired[s.id])) is None]
        effects = [e for e, on in (("require_assurances", r.require_assurances),
                                   ("conditions", r.conditions), ("field", r.field)) if on]
        report.shadowed.append({"rule": r.id, "outcome": r.outcome, "by": by,
                                "effects": effects})
    for a_i, a in enumerate(live):
        for b in live[a_i + 1:]:
            if _effect(a) == _effect(b) and sat(fired[a.id] != fired[b.id]) is None:
                report.duplicates.append((a.id, b.id))
    report.seconds = time.monotonic() - start
    return report
