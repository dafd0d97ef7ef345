"""Is NEW at least as strict as OLD for every case of the bounded space? (`analyze compare`)

One set of case inputs (engine/analysis/inputs.py) is decided under both versions; a case
*loosens* when NEW's outcome is less severe than OLD's by NEW's precedence, *tightens* when
it is more severe. Regions are enumerated by blocking: a region is (OLD outcome, NEW outcome,
the decisive rules on each side); once found, the solver is asked for a case outside every
region found so far, up to `max_regions` per direction. Each region carries a witness case
that the engine re-decides with both backends (engine/analysis/witness.py `verify`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import z3

from engine.analysis.encode import Encoded, encode, outcome_of
from engine.analysis.inputs import Inputs
from engine.analysis.witness import decisive, summary, verify
from engine.compiler import CompiledPolicy


@dataclass
class Region:
    direction: str  # loosened | tightened
    old_outcome: str
    new_outcome: str
    old_rules: list[str]
    new_rules: list[str]
    witness: dict[str, Any]
    features: dict[str, Any]
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def condition(self) -> str:
        f = self.features
        band = f["band"] if f.get("old_band", f["band"]) == f["band"] else \
            f"{f['old_band']} → {f['band']}"
        return (f"OLD {self.old_outcome} by {', '.join(self.old_rules)} → NEW "
                f"{self.new_outcome} by {', '.join(self.new_rules)}; items "
                f"{', '.join(f['items'])}, destination {f['destination']} ({band}), "
                f"end user {f['end_user_type']}")

    def to_dict(self) -> dict[str, Any]:
        return {"direction": self.direction, "old_outcome": self.old_outcome,
                "new_outcome": self.new_outcome, "old_rules": self.old_rules,
                "new_rules": self.new_rules, "condition": self.condition(),
                "features": self.features, "witness": self.witness}


@dataclass
class CompareReport:
    old: CompiledPolicy
    new: CompiledPolicy
    items: int
    regions: list[Region]
    complete: dict[str, bool]  # direction → every region found (not cut by max_regions)
    seconds: float

    def of(self, direction: str) -> list[Region]:
        return [r for r in self.regions if r.direction == direction]


def _new_rank(old: Encoded, new: CompiledPolicy) -> z3.ArithRef:
    """OLD's outcome as a rank of NEW's precedence (the order cases are compared by)."""
    out: z3.ArithRef = z3.IntVal(len(new.precedence))
    for o in old.policy.precedence:
        if o in new.rank:
            out = z3.If(old.rank == old.policy.rank[o], z3.IntVal(new.rank[o]), out)
    return out


def _signature(enc: Encoded, model: z3.ModelRef, outcome: str) -> z3.BoolRef:
    """The region of a model on one side: its outcome and which rules of that outcome fired."""
    parts = [enc.outcome_is(outcome)]
    for r in enc.policy.rules:
        if r.outcome == outcome:
            x = enc.fired[r.id]
            parts.append(x if z3.is_true(model.eval(x, model_completion=True)) else z3.Not(x))
    return z3.And(parts)


def simplified(solver: z3.Solver, inputs: Inputs) -> z3.ModelRef:
    """A model of the solver's constraints that keeps as many plain-case literals as it can
    (greedy, one check each): witnesses read like ordinary applications."""
    model = solver.model()
    solver.push()
    for literal in inputs.simpler():
        solver.push()
        solver.add(literal)
        if solver.check() == z3.sat:
            model = solver.model()
            solver.pop()
            solver.add(literal)
        else:
            solver.pop()
    solver.pop()
    return model


def compare(old: CompiledPolicy, new: CompiledPolicy, items: int = 2,
            max_regions: int = 20, directions: tuple[str, ...] = ("loosened", "tightened"),
            check: bool = True) -> CompareReport:
    """Every loosening and tightening region (bounded by `max_regions` per direction)."""
    start = time.monotonic()
    inputs = Inputs([old, new], items=items, submitted=new.policy.effective_from)
    w_old, a_old = inputs.world(old)
    w_new, a_new = inputs.world(new)
    e_old, e_new = encode(old, w_old, a_old), encode(new, w_new, a_new)
    old_rank = _new_rank(e_old, new)
    policies = {"OLD": old, "NEW": new}
    regions: list[Region] = []
    complete: dict[str, bool] = {}
    for direction in directions:
        solver = z3.Solver()
        solver.add(inputs.constraints)
        solver.add(e_new.rank > old_rank if direction == "loosened" else e_new.rank < old_rank)
        complete[direction] = True
        while True:
            if solver.check() != z3.sat:
                break
            if len([r for r in regions if r.direction == direction]) >= max_regions:
                complete[direction] = False
                break
            model = simplified(solver, inputs)
            o, n = outcome_of(e_old, model), outcome_of(e_new, model)
            case = inputs.witness(model, f"ANALYZE-{direction[:5].upper()}-{len(regions) + 1}")
            region = Region(direction, o, n, decisive(e_old, model, o),
                            decisive(e_new, model, n), case,
                            {**summary(new, case), "old_band": summary(old, case)["band"]})
            if check:
                region.decisions = verify(policies, case, {"OLD": o, "NEW": n})
            regions.append(region)
            solver.add(z3.Not(z3.And(_signature(e_old, model, o), _signature(e_new, model, n))))
    return CompareReport(old, new, items, regions, complete, time.monotonic() - start)
