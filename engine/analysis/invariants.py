"""Invariants a policy version must keep, proven or refuted (`analyze check`).

An invariants file is YAML:

    invariants:
      - id: torture-goods-never-approved
        title: Torture goods are never approvable
        versions: ["2025.1", "2026.1", "2027.1"]   # optional: the versions it applies to
        when: {fact: item.category, equals: torture_goods}   # the policy condition language
        outcomes: [deny, refer, request_information]         # outcomes allowed when it holds

`when` is parsed against the version's vocabularies (an unknown id is an error). A `when`
naming item facts holds for a case when some view of some item satisfies it (as an item
rule fires). Proven: no case of the bounded space satisfies `when` and gets another
outcome; refuted: a counterexample case, re-decided by the engine with both backends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
import z3

from engine import conditions
from engine.analysis.compare import simplified
from engine.analysis.derive import world_of
from engine.analysis.encode import condition, encode, outcome_of
from engine.analysis.inputs import Inputs
from engine.analysis.witness import decisive, summary, verify
from engine.compiler import CompiledPolicy
from engine.facts import is_item_fact


class InvariantError(ValueError):
    """The invariants file cannot be used (every problem listed)."""


@dataclass(frozen=True)
class Invariant:
    id: str
    title: str
    when: Any
    outcomes: tuple[str, ...]
    versions: tuple[str, ...] | None = None


@dataclass
class Result:
    invariant: Invariant
    status: str  # proven | refuted | not-applicable
    counterexample: dict[str, Any] | None = None
    outcome: str | None = None
    rules: list[str] = field(default_factory=list)
    features: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.invariant.id, "title": self.invariant.title, "status": self.status,
                "outcome": self.outcome, "rules": self.rules, "features": self.features,
                "counterexample": self.counterexample}


def load_invariants(path: Path) -> list[Invariant]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("invariants"), list):
        raise InvariantError(f"{path}: expected a mapping with an `invariants` list")
    out = []
    for n, raw in enumerate(data["invariants"]):
        if not isinstance(raw, dict) or not {"id", "when", "outcomes"} <= set(raw):
            raise InvariantError(f"{path}: invariant {n + 1} needs `id`, `when`, `outcomes`")
        versions = raw.get("versions")
        out.append(Invariant(str(raw["id"]), str(raw.get("title", raw["id"])), raw["when"],
                             tuple(raw["outcomes"]),
                             tuple(map(str, versions)) if versions else None))
    return out


def check_invariants(policy: CompiledPolicy, invariants: list[Invariant], items: int = 2,
                     verify_witness: bool = True, parties: int = 1
                     ) -> tuple[list[Result], float]:
    """Prove or refute each invariant that applies to `policy` (cases of 1..`items` items,
    up to `parties` consignees and intermediaries)."""
    start = time.monotonic()
    inputs = Inputs([policy], items=items, submitted=policy.policy.effective_from,
                    parties=parties)
    world, assured = world_of(inputs, policy)
    enc = encode(policy, world, assured)
    solver = z3.Solver()
    solver.add(inputs.constraints)
    results = []
    for inv in invariants:
        if inv.versions is not None and policy.version not in inv.versions:
            results.append(Result(inv, "not-applicable"))
            continue
        bad = [o for o in inv.outcomes if o not in policy.rank]
        node, problems = conditions.parse(inv.when, ("when",), policy.vocab)
        if node is None or bad:
            text = "; ".join(p.message for p in problems) or f"unknown outcomes {bad}"
            raise InvariantError(f"invariant `{inv.id}`: {text}")
        nnf = conditions.to_nnf(node)
        if any(is_item_fact(f) for f in conditions.facts_used(nnf)):
            holds = z3.Or([z3.And(i.exists, v.active, condition(policy, v.facts, nnf))
                           for i in world.items for v in i.views])
        else:
            holds = condition(policy, world.case, nnf)
        solver.push()
        solver.add(holds, z3.Not(enc.outcome_in(inv.outcomes)))
        if solver.check() == z3.unsat:
            results.append(Result(inv, "proven"))
        else:
            model = simplified(solver, inputs)
            outcome = outcome_of(enc, model)
            case = inputs.witness(model, f"ANALYZE-{inv.id}")
            if verify_witness:
                verify({"V": policy}, case, {"V": outcome})
            results.append(Result(inv, "refuted", case, outcome,
                                  decisive(enc, model, outcome), summary(policy, case)))
        solver.pop()
    return results, time.monotonic() - start
