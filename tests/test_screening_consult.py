"""What consult derives from a register set per case gives what the plain computation gives:
the screening facts and result (the shared result of a case with no match), and the factors
shared risk notes add (the notes grouped by destination once per set)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from engine.registers import consult, load
from engine.registers.model import RegisterSet, RiskNote, Settings
from engine.registers.screening import ScreenMatch, screen

DATA = Path(__file__).parent / "data" / "registers"
DAY = "2026-06-01"


@pytest.fixture(scope="module")
def labelled() -> RegisterSet:
    return load(DATA / "names")


def _plain_facts(found: tuple[ScreenMatch, ...]) -> dict[str, frozenset[str]]:
    return {"end_user.screening": frozenset(m.kind for m in found if m.role == "end_user"),
            "parties.screening": frozenset(m.kind for m in found),
            "screening.notices": frozenset(m.ref for m in found if m.kind == "denied")}


@pytest.mark.parametrize("parties", [
    [("end_user", "Nobody In Particular", "NO"), ("consignee", "Unrelated Works", None)],
    [("end_user", "Fictional Dynamics Ltd", "XC"), ("consignee", "Exampel Trading LLC", "XA")],
    [("end_user", None, None)],
    [],
])
def test_annotate_sets_the_plain_facts(labelled: RegisterSet,
                                       parties: list[tuple[str, str | None, str | None]]) -> None:
    case: dict[str, Any] = {}
    result = consult.annotate(labelled, f"{DAY}T10:00:00Z", case, parties)
    found = screen(labelled, DAY, parties)
    assert case == _plain_facts(found)
    assert list(case) == list(consult.FACT_NAMES)  # in the order the facts were always set
    assert result is not None
    assert (result.matches, result.provenance) == (found, labelled.provenance())


def test_a_case_without_matches_shares_the_sets_result(labelled: RegisterSet) -> None:
    quiet = [("end_user", "Nobody In Particular", "NO")]
    first = consult.annotate(labelled, DAY, {}, quiet)
    assert first is not None and first.matches == ()
    assert consult.annotate(labelled, DAY, {}, quiet) is first  # built once per set
    other = load(DATA / "names")
    assert consult.annotate(other, DAY, {}, quiet) is not first  # and per set
    matched = consult.annotate(labelled, DAY, {}, [("end_user", "Exampel Trading LLC", "XA")])
    assert matched is not None and matched.matches and matched is not first


def test_without_registers_the_facts_are_empty() -> None:
    case: dict[str, Any] = {}
    assert consult.annotate(None, DAY, case, [("end_user", "Exampel Trading LLC", "XA")]) is None
    assert case == dict.fromkeys(consult.FACT_NAMES, frozenset())


def _plain_shared(rs: RegisterSet, day: str, destination: Any,
                  known: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """shared_factors as it was: every note, sorted by id, for every case."""
    if not isinstance(destination, str):
        return ()
    out: dict[str, str] = {}
    for n in sorted(rs.notes, key=lambda n: n.id):
        if n.subject.get("destination") == destination and n.active_on(day):
            for f in n.factors:
                if f in known:
                    out.setdefault(f, f"shared by {n.shared_by}: note {n.id}, {n.source}")
    return tuple(sorted(out.items()))


def _notes(rng: random.Random, n: int) -> tuple[RiskNote, ...]:
    """Notes on a few destinations (and on end users), out of id order, some revoked or
    past review, adding overlapping factors: the first note by id must be cited."""
    out = []
    for i in rng.sample(range(n), n):
        subject = ({"destination": rng.choice(("XA", "XB", "XC"))} if rng.random() < 0.8
                   else {"end_user": "Someone"})
        out.append(RiskNote(
            f"note-{i:02d}", subject, rng.choice(("AA", "BB")), f"src {i}", "GREEN",
            rng.choice(("2026-03-01", "2026-12-31")), "text", "notes",
            revoked=rng.choice((None, None, "2026-05-01", "2026-07-01")),
            factors=tuple(rng.sample(("f1", "f2", "f3", "f4"), rng.randint(0, 3)))))
    return tuple(out)


def test_shared_factors_are_the_plain_ones() -> None:
    rng = random.Random(7)
    for _ in range(20):
        rs = RegisterSet(Settings(), (), notes=_notes(rng, rng.randint(0, 12)))
        for day in ("2026-02-01", "2026-06-01", "2026-08-01", "2027-01-01"):
            for destination in ("XA", "XB", "XC", "XD", None, 7):
                for known in (frozenset({"f1", "f2", "f3", "f4"}), frozenset({"f2"})):
                    assert consult.shared_factors(rs, day, destination, known) == \
                        _plain_shared(rs, day, destination, known), (day, destination)
