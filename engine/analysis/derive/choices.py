"""Choices among destination codes and vocabularies as one version sees them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import z3

from engine.analysis.inputs import Inputs
from engine.compiler import CompiledPolicy
from engine.model import UNKNOWN_BAND


class Choices:
    """Choices among destination codes and vocabularies as one version sees them, over
    the shared inputs (what the case and item facts build on)."""

    def __init__(self, inputs: Inputs, policy: CompiledPolicy):
        self.i, self.p = inputs, policy
        self.day = inputs.submitted[:10]
        self.regimes = [r for r in policy.sanctions if r.in_force(self.day)]
        self.memo: dict[Any, z3.BoolRef] = {}

    # -- country choices ---------------------------------------------------------------
    def is_code(self, var: str, codes: Any) -> z3.BoolRef:
        key = (var, frozenset(codes))
        if key not in self.memo:
            idx = [k for k, c in enumerate(self.i.codes) if c in codes]
            x = self.i.v[var]
            self.memo[key] = z3.Or([x == k for k in idx]) if idx else z3.BoolVal(False)
        return self.memo[key]

    def known(self, var: str) -> z3.BoolRef:
        return self.is_code(var, self.p.destinations)

    def unknown_code(self, var: str) -> z3.BoolRef:
        """A code the version does not know (the destination's -1 is such a code)."""
        x = self.i.v[var]
        low = -1 if var == "dest" else 0
        return z3.And(x >= low, z3.Not(self.known(var)))

    def band_is(self, var: str, band: str) -> z3.BoolRef:
        codes = {c for c, d in self.p.destinations.items() if d.band == band}
        out = self.is_code(var, codes)
        if band == UNKNOWN_BAND:
            out = z3.Or(out, self.unknown_code(var))
        return out

    def has_factor(self, var: str, factor: str) -> z3.BoolRef:
        return self.is_code(var, {c for c, d in self.p.destinations.items()
                                  if factor in d.factors})

    @property
    def party_vars(self) -> tuple[str, ...]:
        """Every named party's country variable (engine/analysis/inputs.py `named`)."""
        return self.i.party_vars

    # -- per-version enum choices --------------------------------------------------------
    def choice_eq(self, var: str, values: Sequence[str], value: Any, vocab: str) -> z3.BoolRef:
        if value not in self.p.vocab.get(vocab, ()) or value not in values:
            return z3.BoolVal(False)
        return self.i.v[var] == values.index(value)

    def choice_present(self, var: str, values: Sequence[str], vocab: str) -> z3.BoolRef:
        known = self.p.vocab.get(vocab, ())
        x = self.i.v[var]
        return z3.Or([x == k for k, v in enumerate(values) if v in known] or [z3.BoolVal(False)])

    def choice_unknown(self, var: str, values: Sequence[str], vocab: str) -> z3.BoolRef:
        known = self.p.vocab.get(vocab, ())
        x = self.i.v[var]
        return z3.Or([x == k for k, v in enumerate(values) if v not in known]
                     or [z3.BoolVal(False)])
