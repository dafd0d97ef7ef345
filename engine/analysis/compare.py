"""Is NEW at least as strict as OLD for every case of the bounded space? (`analyze compare`)

One set of case inputs (engine/analysis/inputs.py) is decided under both versions; a case
*loosens* when NEW's outcome is less severe than OLD's by NEW's precedence, *tightens* when
it is more severe. Regions are enumerated by blocking, up to `max_regions` per direction.

A region is generalised before it is blocked, so that one cause is reported once and
regions that differ only in what else fired are one region. It is named by both outcomes
and one *cause* on the side that explains the change: for a loosening, a finding of OLD's
deciding outcome (a rule of that outcome; for request_information also a built-in
finding, a missing assurance or a rule asking for information) that NEW does not have with
that outcome in the witness, the rule that no longer decides; for a tightening, NEW's
finding that now decides. No cause when nothing fired (the default). The region is every
case with both outcomes where the cause fires, whatever else fires, and the whole of it is
blocked before the next region is searched. So region k holds the cases of its condition
outside regions 1..k-1: regions are pairwise disjoint, and no two have the same condition.
Each region carries a witness case inside it that the engine re-decides with both backends
(engine/analysis/witness.py `verify`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import z3

from engine.analysis.derive import world_of
from engine.analysis.encode import INFO, Encoded, encode, outcome_of
from engine.analysis.inputs import Inputs
from engine.analysis.witness import AnalysisError, decisive, summary, verify
from engine.compiler import CompiledPolicy


@dataclass
class Region:
    direction: str  # loosened | tightened
    old_outcome: str
    new_outcome: str
    old_rules: list[str]  # the witness's findings with the deciding outcome, OLD
    new_rules: list[str]
    witness: dict[str, Any]
    features: dict[str, Any]
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    old_causes: list[str] = field(default_factory=list)  # what defines the region, OLD
    new_causes: list[str] = field(default_factory=list)

    def key(self) -> tuple[str, tuple[str, ...], str, tuple[str, ...]]:
        """What defines the region (distinct for every region of one compare)."""
        return (self.old_outcome, tuple(self.old_causes), self.new_outcome,
                tuple(self.new_causes))

    def region(self) -> str:
        """The region as a condition over the two decisions."""
        def side(label: str, outcome: str, causes: list[str]) -> str:
            return f"{label} {outcome}" + (f" with {', '.join(causes)}" if causes else "")
        return (f"{side('OLD', self.old_outcome, self.old_causes)} → "
                f"{side('NEW', self.new_outcome, self.new_causes)}")

    def condition(self) -> str:
        f = self.features
        band = f["band"] if f.get("old_band", f["band"]) == f["band"] else \
            f"{f['old_band']} → {f['band']}"
        return (f"{self.region()}; in the witness OLD by {', '.join(self.old_rules)}, NEW by "
                f"{', '.join(self.new_rules)}; items {', '.join(f['items'])}, destination "
                f"{f['destination']} ({band}), end user {f['end_user_type']}")

    def to_dict(self) -> dict[str, Any]:
        return {"direction": self.direction, "old_outcome": self.old_outcome,
                "new_outcome": self.new_outcome, "old_causes": self.old_causes,
                "new_causes": self.new_causes, "old_rules": self.old_rules,
                "new_rules": self.new_rules, "region": self.region(),
                "condition": self.condition(), "features": self.features,
                "witness": self.witness}


@dataclass
class CompareReport:
    old: CompiledPolicy
    new: CompiledPolicy
    items: int
    regions: list[Region]
    complete: dict[str, bool]  # direction → every region found (not cut by max_regions)
    seconds: float
    max_regions: int = 20
    parties: int = 1

    def of(self, direction: str) -> list[Region]:
        return [r for r in self.regions if r.direction == direction]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (`analyze compare --format json`), which `echri diff --proof` reads:
        both versions with their digests, the bounds, per direction whether every region was
        found, and the regions with their witnesses."""
        side = lambda p: {"id": p.id, "version": p.version, "digest": p.digest}  # noqa: E731
        return {"old": f"{self.old.id}@{self.old.version}",
                "new": f"{self.new.id}@{self.new.version}",
                "versions": {"old": side(self.old), "new": side(self.new)},
                "items": self.items, "parties": self.parties,
                "max_regions": self.max_regions,
                "submitted": self.new.policy.effective_from, "complete": self.complete,
                "seconds": round(self.seconds, 2),
                "regions": [r.to_dict() for r in self.regions]}


def _new_rank(old: Encoded, new: CompiledPolicy) -> z3.ArithRef:
    """OLD's outcome as a rank of NEW's precedence (the order cases are compared by)."""
    out: z3.ArithRef = z3.IntVal(len(new.precedence))
    for o in old.policy.precedence:
        if o in new.rank:
            out = z3.If(old.rank == old.policy.rank[o], z3.IntVal(new.rank[o]), out)
    return out


BUILTIN_CAUSES = ("unknown-id", "category-conflict", "unmapped-entry", "missing-assurances",
                  "fail-closed")


def causes(enc: Encoded, outcome: str) -> dict[str, z3.BoolRef]:
    """The findings that can give `outcome` on one side, by name: rules of that outcome and,
    for request_information, the built-in findings and the rules asking for information."""
    out = {r.id: enc.fired[r.id] for r in enc.policy.rules if r.outcome == outcome}
    if outcome == INFO:
        out.update({b: enc.builtins[b] for b in BUILTIN_CAUSES})
        out.update({r.id: enc.fired[r.id] for r in enc.policy.rules if r.field is not None})
    return out


def _true(model: z3.ModelRef, x: z3.BoolRef) -> bool:
    return z3.is_true(model.eval(x, model_completion=True))


def cause(side: Encoded, other: Encoded, model: z3.ModelRef, outcome: str
          ) -> list[tuple[str, z3.BoolRef]]:
    """The cause a region is named by on one side: of the findings with the deciding
    outcome in the model, the first (rules in policy order, then built-ins) that the other
    version does not have with that outcome in the same case; none when nothing fired."""
    found = [(name, x) for name, x in causes(side, outcome).items() if _true(model, x)]
    there = causes(other, outcome) if outcome in other.policy.rank else {}
    lost = [(name, x) for name, x in found if name not in there or not _true(model, there[name])]
    return (lost or found)[:1]


def generalise(model: z3.ModelRef, direction: str, old: Encoded, new: Encoded
               ) -> tuple[list[str], list[str], z3.BoolRef]:
    """The region of a model: both outcomes and the cause on the side that explains the
    change (OLD's for a loosening: what no longer decides; NEW's for a tightening: what
    decides now). Causes on the other side are irrelevant to the change and not fixed."""
    o, n = outcome_of(old, model), outcome_of(new, model)
    picked = cause(old, new, model, o) if direction == "loosened" else \
        cause(new, old, model, n)
    names = [name for name, _ in picked]
    region = z3.And([old.outcome_is(o), new.outcome_is(n)] + [x for _, x in picked])
    return (names, [], region) if direction == "loosened" else ([], names, region)


def simplified(solver: z3.Solver, inputs: Inputs) -> z3.ModelRef:
    """A model of the solver's constraints (just checked sat) that keeps as many plain-case
    literals as it can (greedy, one check each): witnesses read like ordinary applications."""
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
            check: bool = True, parties: int = 1) -> CompareReport:
    """Every loosening and tightening region (bounded by `max_regions` per direction);
    cases of 1..`items` items and up to `parties` consignees and intermediaries."""
    start = time.monotonic()
    inputs = Inputs([old, new], items=items, submitted=new.policy.effective_from,
                    parties=parties)
    w_old, a_old = world_of(inputs, old)
    w_new, a_new = world_of(inputs, new)
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
            found = solver.model()
            o, n = outcome_of(e_old, found), outcome_of(e_new, found)
            c_old, c_new, block = generalise(found, direction, e_old, e_new)
            solver.push()
            solver.add(block)  # the witness stays inside the region it stands for
            if solver.check() != z3.sat:  # the case found is in it, by construction
                raise AnalysisError(f"region of `{o}` → `{n}` has no case ({direction})")
            model = simplified(solver, inputs)
            solver.pop()
            case = inputs.witness(model, f"ANALYZE-{direction[:5].upper()}-{len(regions) + 1}")
            region = Region(direction, o, n, decisive(e_old, model, o),
                            decisive(e_new, model, n), case,
                            {**summary(new, case), "old_band": summary(old, case)["band"]},
                            old_causes=c_old, new_causes=c_new)
            if check:
                region.decisions = verify(policies, case, {"OLD": o, "NEW": n})
            regions.append(region)
            solver.add(z3.Not(block))
    return CompareReport(old, new, items, regions, complete, time.monotonic() - start,
                         max_regions, parties)
