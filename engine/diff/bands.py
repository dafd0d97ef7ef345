"""Destinations whose derived risk band moved between two versions, and why.

A band is derived from a destination's factors and Freedom House status and score by the
version's band rules (engine.compiler.derive_band). Every input that changed is a candidate
cause: an added or removed factor, the status, the score, the band rules themselves. A
candidate is reported as a cause when undoing it alone changes the derived band; when no
single change does (several act together) all of them are reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import conditions
from engine.compiler import CompiledPolicy, DestinationInfo, derive_band
from engine.model import Policy


@dataclass(frozen=True, slots=True)
class BandChange:
    code: str
    name: str
    old: str
    new: str
    causes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Inputs:
    factors: frozenset[str]
    status: str | None
    score: int | None

    def facts(self) -> dict[str, Any]:
        out: dict[str, Any] = {"destination.factors": self.factors}
        if self.status is not None:
            out["destination.freedom_status"] = self.status
        if self.score is not None:
            out["destination.freedom_score"] = self.score
        return out


def band_spec(policy: Policy) -> tuple[object, ...]:
    """Everything that decides bands, as comparable data."""
    rules = tuple((r.band, conditions.to_json(r.when) if r.when else None)
                  for r in policy.band_rules)
    return policy.bands, rules, policy.band_default


def _inputs(d: DestinationInfo) -> _Inputs:
    return _Inputs(d.factors, d.freedom_status, d.freedom_score)


def _candidates(a: DestinationInfo, b: DestinationInfo, new: Policy, old: Policy,
                rules_changed: bool) -> list[tuple[str, Policy, _Inputs]]:
    """(cause, policy, inputs with that change undone) for every input that changed."""
    now = _inputs(b)
    out = []
    for f in sorted(b.factors - a.factors):
        out.append((f"factor added: {f}", new, _Inputs(now.factors - {f}, now.status, now.score)))
    for f in sorted(a.factors - b.factors):
        out.append((f"factor removed: {f}", new,
                    _Inputs(now.factors | {f}, now.status, now.score)))
    if a.freedom_status != b.freedom_status:
        out.append((f"freedom status: {a.freedom_status} → {b.freedom_status}", new,
                    _Inputs(now.factors, a.freedom_status, now.score)))
    if a.freedom_score != b.freedom_score:
        out.append((f"freedom score: {a.freedom_score} → {b.freedom_score}", new,
                    _Inputs(now.factors, now.status, a.freedom_score)))
    if rules_changed:
        out.append(("band rules changed", old, now))
    return out


def causes(a: DestinationInfo, b: DestinationInfo, old: Policy, new: Policy) -> tuple[str, ...]:
    """The changed inputs that moved destination `b` out of band `a.band`."""
    found = _candidates(a, b, new, old, band_spec(old) != band_spec(new))
    decisive = [label for label, policy, undone in found
                if derive_band(policy, undone.facts()) != b.band]
    return tuple(decisive or [label for label, _, _ in found])


def band_changes(old: CompiledPolicy, new: CompiledPolicy) -> tuple[BandChange, ...]:
    """Destinations present in both versions whose derived band differs."""
    out = []
    for code in sorted(old.destinations.keys() & new.destinations.keys()):
        a, b = old.destinations[code], new.destinations[code]
        if a.band != b.band:
            out.append(BandChange(code, b.name, a.band, b.band,
                                  causes(a, b, old.policy, new.policy)))
    return tuple(out)
