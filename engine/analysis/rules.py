"""Rules that never fire, shadowed rules and duplicate rules (`analyze rules`).

Over the bounded case space of engine/analysis/inputs.py:
- *never fires* (error): the rule's condition (for an item rule: on some view of some item)
  is unsatisfiable, including through category/group implications, the destination table
  and numeric ranges;
- *duplicate* (error): two rules with the same effect (outcome, assurances, licence
  conditions, field) that fire on exactly the same cases;
- *shadowed*: whenever the rule fires, another rule fires whose outcome is at least as
  severe by the precedence, so its outcome never decides a case on its own; `by` names a
  single rule that does it alone when there is one. A shadowed rule is an **error** only
  when nothing of it reaches a decision: a strictly more severe rule always fires with it
  (*outranked*), its outcome is not approval-level, and none of its effects is still in
  play. Otherwise it is a **warning** with the reasons it still matters:
  - `same-outcome`: only rules of its own outcome cover it (none strictly more severe is
    needed), so it never changes the outcome but stays a reason, with its legal basis, of
    every decision it fires in;
  - `approval-level`: an approve or approve_with_conditions rule outranked by a more severe
    approval or referral keeps its finding in the decision (the default is usually
    approve: such rules exist to record why a case is approvable);
  - `conditions`: a case exists where the decision is approve_with_conditions and a licence
    condition of the rule is attached by no other rule;
  - `assurances`: a case exists where an assurance only this rule requires is missing and
    that alone raises the decision to request_information;
  - `information request`: a case exists where only this rule asks for its field.
  Each of these is a satisfiable query, so it holds for some case of the space. An
  outranked approval-level rule none of whose effects is in play is also called
  `decision-neutral` (still a warning: its finding and required assurances are listed).
`--strict` (engine/cli/analyze.py) turns the warnings into errors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import z3

from engine.analysis.compare import simplified
from engine.analysis.derive import world_of
from engine.analysis.encode import APPROVALS, INFO, Encoded, encode
from engine.analysis.inputs import Inputs
from engine.analysis.witness import verify_fires
from engine.compiler import CompiledPolicy, CompiledRule

ERROR, WARNING = "error", "warning"


@dataclass
class RulesReport:
    policy: CompiledPolicy
    items: int
    never: list[str] = field(default_factory=list)
    shadowed: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    parties: int = 1

    @property
    def errors(self) -> int:
        return len(self.never) + len(self.duplicates) + \
            sum(1 for s in self.shadowed if s["severity"] == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for s in self.shadowed if s["severity"] == WARNING)

    @property
    def clean(self) -> bool:
        return not (self.never or self.shadowed or self.duplicates)

    def failed(self, strict: bool = False) -> bool:
        """Errors found (with `strict`, warnings too)."""
        return bool(self.errors or (strict and self.warnings))

    def to_dict(self) -> dict[str, Any]:
        return {"policy": {"id": self.policy.id, "version": self.policy.version},
                "items": self.items, "parties": self.parties, "errors": self.errors,
                "warnings": self.warnings,
                "never_fires": self.never, "shadowed": self.shadowed,
                "duplicates": [list(p) for p in self.duplicates],
                "seconds": round(self.seconds, 2)}


def _effect(r: CompiledRule) -> tuple[Any, ...]:
    return (r.outcome, tuple(sorted(r.require_assurances)), tuple(sorted(r.conditions)),
            r.field)


class _Queries:
    """The solver over one version's encoding, with the questions asked of a rule."""

    def __init__(self, policy: CompiledPolicy, items: int, parties: int = 1):
        self.p = policy
        inputs = Inputs([policy], items=items, submitted=policy.policy.effective_from,
                        parties=parties)
        self.inputs = inputs
        world, self.assured = world_of(inputs, policy)
        self.enc: Encoded = encode(policy, world, self.assured)
        self.fired = self.enc.fired
        self.incomplete = z3.Or([z3.And(i.exists, i.unclassified) for i in world.items]
                                + [world.dest_missing])
        self.solver = z3.Solver()
        self.solver.add(inputs.constraints)

    def sat(self, *extra: z3.BoolRef) -> bool:
        self.solver.push()
        self.solver.add(*extra)
        result = self.solver.check() == z3.sat
        self.solver.pop()
        return result

    def any_fired(self, rules: list[CompiledRule]) -> z3.BoolRef:
        return z3.Or([self.fired[s.id] for s in rules] or [z3.BoolVal(False)])

    def others(self, r: CompiledRule, keep: Any) -> list[CompiledRule]:
        return [s for s in self.p.rules if s.id != r.id and keep(s)]

    def conditions_in_play(self, r: CompiledRule) -> bool:
        alone = [z3.Not(self.any_fired(self.others(r, lambda s, c=c: c in s.conditions)))
                 for c in r.conditions]
        return bool(alone) and "approve_with_conditions" in self.p.rank and self.sat(
            self.fired[r.id], self.enc.outcome_is("approve_with_conditions"), z3.Or(alone))

    def assurances_in_play(self, r: CompiledRule) -> bool:
        info = self.p.rank[INFO]
        if not r.require_assurances or self.p.rank[r.outcome] <= info:
            return False  # a decision at request_information or above is not raised
        missing_alone = z3.Or([z3.And(z3.Not(self.assured.get(a, z3.BoolVal(False))),
                                      z3.Not(self.any_fired(self.others(
                                          r, lambda s, a=a: a in s.require_assurances))))
                               for a in r.require_assurances])
        other_missing = [z3.And(self.fired[s.id], z3.Not(self.assured.get(b, z3.BoolVal(False))))
                         for s in self.others(r, lambda s: True) for b in s.require_assurances]
        severe = self.others(r, lambda s: self.p.rank[s.outcome] <= info or s.field is not None)
        b = self.enc.builtins
        quiet = [z3.Not(self.any_fired(severe)), z3.Not(z3.Or(other_missing or
                                                              [z3.BoolVal(False)])),
                 z3.Not(b["unknown-id"]), z3.Not(b["category-conflict"]),
                 z3.Not(b["unmapped-entry"]), z3.Not(self.incomplete)]
        return self.sat(self.fired[r.id], missing_alone, *quiet)

    def request_in_play(self, r: CompiledRule) -> bool:
        if r.field is None:
            return False
        same = self.others(r, lambda s: s.field == r.field)
        return self.sat(self.fired[r.id], z3.Not(self.any_fired(same)))


def _classify(q: _Queries, r: CompiledRule, others: list[CompiledRule]) -> dict[str, Any]:
    rank = q.p.rank
    stricter = [s for s in others if rank[s.outcome] < rank[r.outcome]]
    outranked = not q.sat(q.fired[r.id], z3.Not(q.any_fired(stricter)))
    by = [s.id for s in others if not q.sat(q.fired[r.id], z3.Not(q.fired[s.id]))]
    reasons = []
    if not outranked:
        reasons.append(f"same-outcome: where no more severe rule fires with it, another "
                       f"`{r.outcome}` rule does; it never changes the outcome but stays a "
                       f"reason (and legal basis) of the decision")
    elif r.outcome in APPROVALS:
        reasons.append(f"approval-level: a more severe outcome always applies, but the "
                       f"`{r.outcome}` finding stays a reason of the decision")
    effects = []
    if q.conditions_in_play(r):
        effects.append("conditions")
        reasons.append("conditions: licence conditions it alone attaches ("
                       + ", ".join(f"`{c}`" for c in r.conditions) + ")")
    if q.assurances_in_play(r):
        effects.append("require_assurances")
        reasons.append("assurances: a missing assurance it requires ("
                       + ", ".join(f"`{a}`" for a in r.require_assurances)
                       + ") alone raises the decision to request_information")
    if q.request_in_play(r):
        effects.append("field")
        reasons.append(f"information request: it alone asks for `{r.field}`")
    if outranked and r.outcome in APPROVALS and not effects:
        reasons.append("decision-neutral: its outcome, licence conditions and assurances "
                       "never change a decision (a more severe rule always decides); review "
                       "whether it is still needed")
    severity = WARNING if reasons else ERROR
    if not reasons:
        reasons.append(f"outranked: a more severe rule always fires with it and it adds "
                       f"nothing to the decision, so its `{r.outcome}` never applies")
    return {"rule": r.id, "outcome": r.outcome, "severity": severity,
            "kind": "outranked" if outranked else "same-outcome", "by": by,
            "effects": effects, "reasons": reasons}


def analyze_rules(policy: CompiledPolicy, items: int = 2, parties: int = 1) -> RulesReport:
    """Never-firing, shadowed and duplicate rules of one version (cases of 1..`items`
    items, up to `parties` consignees and intermediaries)."""
    start = time.monotonic()
    q = _Queries(policy, items, parties)
    report = RulesReport(policy, items, parties=parties)
    rank = policy.rank
    live = []
    for r in policy.rules:
        if not q.sat(q.fired[r.id]):
            report.never.append(r.id)
        else:
            live.append(r)
    for r in live:
        others = [s for s in live if s.id != r.id and rank[s.outcome] <= rank[r.outcome]]
        if q.sat(q.fired[r.id], z3.Not(q.any_fired(others))):
            continue
        report.shadowed.append(_classify(q, r, others))
    for a_i, a in enumerate(live):
        for b in live[a_i + 1:]:
            if _effect(a) == _effect(b) and not q.sat(q.fired[a.id] != q.fired[b.id]):
                report.duplicates.append((a.id, b.id))
    report.seconds = time.monotonic() - start
    return report


def firing_case(policy: CompiledPolicy, rule: str, items: int = 2, parties: int = 1,
                check: bool = True) -> dict[str, Any] | None:
    """A plain case of the space where `rule` fires (None if it never does), confirmed by
    the engine with both backends (AnalysisError if not)."""
    q = _Queries(policy, items, parties)
    q.solver.add(q.fired[rule])
    if q.solver.check() != z3.sat:
        return None
    case = q.inputs.witness(simplified(q.solver, q.inputs), f"ANALYZE-FIRES-{rule}")
    if check:
        verify_fires(policy, case, rule)
    return case
