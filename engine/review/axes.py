"""The axes of the decision space: categories, end-user types, bands and their destinations.

Each axis is the union of both versions, in the new version's order with the values only
the old version has after it; a value missing from one version is marked, and its cells
show `—` on that side. Categories end with `unclassified` (an item with no category).

A band is represented by one real destination: the destinations in that band under the new
version, those with a Freedom House rating first (an unrated destination is placed in a
band by the fail-closed band rule, not by its human-rights record), then with the fewest
factors, ties by code; the first of them that is in the same band under the old version
too. When none is, the first one represents the band and the band is marked as moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.compiler import CompiledPolicy, DestinationInfo

UNCLASSIFIED = "unclassified"


@dataclass(frozen=True, slots=True)
class CategoryAxis:
    id: str  # a category id, or UNCLASSIFIED
    title: str
    in_old: bool
    in_new: bool


@dataclass(frozen=True, slots=True)
class BandAxis:
    band: str
    code: str | None  # the representative destination; None when the band has none
    name: str
    factors: tuple[str, ...]  # the representative's factors (inherited ones included)
    freedom: str  # Freedom House status and score, or `not rated`
    old_band: str | None  # the representative's band under the old version
    in_old: bool
    in_new: bool

    @property
    def moved(self) -> bool:
        """The representative is in another band under the old version."""
        return self.in_old and self.in_new and self.code is not None \
            and self.old_band != self.band


@dataclass(frozen=True, slots=True)
class Axes:
    categories: tuple[CategoryAxis, ...]
    end_user_types: tuple[str, ...]
    types_old: frozenset[str]
    types_new: frozenset[str]
    bands: tuple[BandAxis, ...]


def _union(new: Iterable[str], old: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*new, *old]))


def _categories(old: CompiledPolicy, new: CompiledPolicy) -> tuple[CategoryAxis, ...]:
    oc, nc = old.policy.categories, new.policy.categories
    out = [CategoryAxis(c, (nc.get(c) or oc[c]).title, c in oc, c in nc)
           for c in _union(nc, oc)]
    out.append(CategoryAxis(UNCLASSIFIED, "Unclassified item: no category, no control entry",
                            True, True))
    return tuple(out)


def _freedom(d: DestinationInfo) -> str:
    if d.freedom_status is None:
        return "not rated"
    return f"{d.freedom_status} {d.freedom_score}" if d.freedom_score is not None \
        else d.freedom_status


def _candidates(policy: CompiledPolicy, band: str) -> list[DestinationInfo]:
    return sorted((d for d in policy.destinations.values() if d.band == band),
                  key=lambda d: (d.freedom_status is None, len(d.factors), d.code))


def _band(band: str, old: CompiledPolicy, new: CompiledPolicy) -> BandAxis:
    in_old, in_new = band in old.policy.bands, band in new.policy.bands
    side, other = (new, old) if in_new else (old, new)
    candidates = _candidates(side, band)

    def band_in(policy: CompiledPolicy, code: str) -> str | None:
        d = policy.destinations.get(code)
        return d.band if d else None

    stable = [d for d in candidates if band_in(other, d.code) == band]
    if not candidates:
        return BandAxis(band, None, "", (), "", None, in_old, in_new)
    pick = (stable or candidates)[0]
    old_band = band_in(old, pick.code)
    return BandAxis(band, pick.code, pick.name, tuple(sorted(pick.factors)), _freedom(pick),
                    old_band, in_old, in_new)


def build_axes(old: CompiledPolicy, new: CompiledPolicy) -> Axes:
    """The axes of the decision space of `old` → `new`."""
    ot, nt = old.policy.end_user_types, new.policy.end_user_types
    bands = _union(new.policy.bands, old.policy.bands)
    return Axes(_categories(old, new), _union(nt, ot), frozenset(ot), frozenset(nt),
                tuple(_band(b, old, new) for b in bands))
