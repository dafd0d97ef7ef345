"""Screening results as facts and built-in findings (no-undercut consultation, review).

`annotate` screens the foreign parties of a normalised case and sets the three screening
facts (engine/facts.py): `end_user.screening`, `parties.screening` (match kinds) and
`screening.notices` (ids of the active denial notices a party matches). Without registers
the facts are empty sets, so every policy version decides as before.

`findings` gives the built-in findings (engine/decision.py `BUILTIN_FINDINGS`), as plain
(id, message) pairs so that this module stays below the decision step:
- `no-undercut-consultation` (refer): an essentially identical transaction to one another
  Subscribing State denied within validity: same destination, overlapping categories or
  control entries, the end user or a consignee matching a party of the notice; unless the
  notice records a consultation outcome.
- `screening-match` (refer): a party matches a restricted or implicated entry, or a party
  of an active denial notice outside an identical transaction.
- `screening-review` (request_information): a near match, for an officer to confirm.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

from engine.implicated import ROLES  # how a party's role reads in a message
from engine.registers.model import Notice, RegisterSet
from engine.registers.screening import ScreenMatch, screen

NO_UNDERCUT, SCREENING_MATCH, SCREENING_REVIEW = (
    "no-undercut-consultation", "screening-match", "screening-review")
FACT_NAMES = ("end_user.screening", "parties.screening", "screening.notices")


@dataclass(frozen=True, slots=True)
class Screening:
    matches: tuple[ScreenMatch, ...]
    provenance: tuple[dict[str, str], ...]


_EMPTY_FACTS: dict[str, frozenset[str]] = dict.fromkeys(FACT_NAMES, frozenset())


def empty_facts(case: MutableMapping[str, Any]) -> None:
    case.update(_EMPTY_FACTS)


def annotate(rs: RegisterSet | None, submitted: str, case: MutableMapping[str, Any],
             parties: Iterable[tuple[str, str | None, str | None]]) -> Screening | None:
    """Set the screening facts on the case facts; the result (None without registers)."""
    if rs is None:
        empty_facts(case)
        return None
    found = screen(rs, submitted[:10], parties)
    if not found:  # the usual case: the facts are empty, the result only names the set
        empty_facts(case)
        return _unmatched(rs)
    case["end_user.screening"] = frozenset(m.kind for m in found if m.role == "end_user")
    case["parties.screening"] = frozenset(m.kind for m in found)
    case["screening.notices"] = frozenset(m.ref for m in found if m.kind == "denied")
    return Screening(found, rs.provenance())


def _unmatched(rs: RegisterSet) -> Screening:
    """The result of a case none of whose parties matches: one per register set (it is
    immutable and the same for every such case)."""
    cached: Screening | None = rs._cache.get("unmatched")
    if cached is None:
        cached = rs._cache["unmatched"] = Screening((), rs.provenance())
    return cached


def shared_factors(rs: RegisterSet | None, day: str, destination: Any,
                   known: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """(factor, citation) of the factors active risk notes add to the destination, for the
    factors the version knows; the first note (by id) that adds a factor is cited."""
    if rs is None or not isinstance(destination, str):
        return ()
    out: dict[str, str] = {}
    for n in rs.notes_on(destination):
        if n.active_on(day):
            for f in n.factors:
                if f in known:
                    out.setdefault(f, f"shared by {n.shared_by}: note {n.id}, {n.source}")
    return tuple(sorted(out.items()))


def _overlap(a: str, b: str) -> bool:
    """Same entry, or one is a sub-paragraph of the other (on dot boundaries)."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def identical(n: Notice, destination: str | None, categories: frozenset[str],
              entries: frozenset[str]) -> bool:
    """Same destination and overlapping categories or control entries."""
    if destination != n.destination:
        return False
    if categories & set(n.categories):
        return True
    return any(_overlap(e, g) for e in n.control_entries for g in entries)


def _who(m: ScreenMatch) -> str:
    return f"{ROLES.get(m.role, m.role)} `{m.party}`"


def findings(result: Screening | None, destination: str | None, categories: frozenset[str],
             entries: frozenset[str]) -> list[tuple[str, str]]:
    """(built-in finding id, message) pairs, at most one per id, in id order."""
    if result is None or not result.matches:
        return []
    consult: dict[str, list[str]] = {}
    listed, review = [], []
    for m in result.matches:
        n = m.notice
        if m.kind == "near_match":
            review.append(f"{_who(m)} resembles {m.entry} ({m.of}, {m.register} {m.ref}; "
                          f"score {m.score:g}: {m.why})")
        elif n is not None and m.role in ("end_user", "consignee") \
                and identical(n, destination, categories, entries):
            if n.consultation is None:
                consult.setdefault(n.id, []).append(f"{_who(m)} matches {m.entry} "
                                                    f"(score {m.score:g})")
        elif n is None or n.consultation is None:
            listed.append(f"{_who(m)} matches {m.entry} ({m.of}, {m.register} {m.ref}: "
                          f"{m.source}; score {m.score:g})")
    out = []
    notices = {m.notice.id: m.notice for m in result.matches if m.notice is not None}
    if consult:
        parts = []
        for nid in sorted(consult):
            n = notices[nid]
            parts.append(f"notice {nid} of {n.notifying_state} ({n.date_of_denial}, "
                         f"{n.ground}): {'; '.join(dict.fromkeys(consult[nid]))}; consult "
                         f"{n.contact_point}")
        out.append((NO_UNDERCUT, "an essentially identical transaction was denied by another "
                    "Subscribing State: " + " | ".join(parts)
                    + ": consult the notifying state before deciding"))
    if listed:
        out.append((SCREENING_MATCH, "; ".join(dict.fromkeys(listed))))
    if review:
        out.append((SCREENING_REVIEW, "; ".join(dict.fromkeys(review))
                    + ": confirm or rule out the match"))
    return sorted(out)
