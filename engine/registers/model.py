"""Registers as plain data: denial notifications, listed parties, shared risk notes.

A register set is loaded from a `registers/` folder (engine/registers/loader.py) and is
independent of policy versions: the same set screens cases under every version, and the
decision names it in its provenance (`registers`: id, kind, version, digest of each file).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from engine.implicated import normalise_name

TLP = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")  # least to most restricted
DEFAULT_VALIDITY_YEARS = 3  # Wassenaar and EU practice for denial notifications
MATCH_KINDS = ("restricted", "implicated", "denied", "near_match")
# FollowTheMoney schemas of listed organisations (OpenSanctions `schema` column): their
# names are public and are left unmasked in the decision log; a `Person` never is
ORGANISATION_SCHEMAS = frozenset({"Organization", "Company", "LegalEntity", "PublicBody"})


def add_years(day: str, years: int) -> str:
    """`day` (YYYY-MM-DD) plus whole years; 29 February becomes 28 February."""
    d = dt.date.fromisoformat(day)
    try:
        return d.replace(year=d.year + years).isoformat()
    except ValueError:
        return d.replace(year=d.year + years, day=28).isoformat()


@dataclass(frozen=True, slots=True)
class NamedParty:
    name: str
    aliases: tuple[str, ...] = ()
    country: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.aliases:
            out["aliases"] = list(self.aliases)
        if self.country:
            out["country"] = self.country
        return out


@dataclass(frozen=True, slots=True)
class Notice:
    """One denial notified by a Subscribing State."""

    id: str
    notifying_state: str
    date_of_denial: str
    destination: str
    ground: str
    contact_point: str
    tlp: str
    register: str
    validity_years: int = DEFAULT_VALIDITY_YEARS
    end_user: NamedParty | None = None
    consignees: tuple[NamedParty, ...] = ()
    categories: tuple[str, ...] = ()
    control_entries: tuple[str, ...] = ()
    revoked: str | None = None
    consultation: dict[str, str] | None = None

    @property
    def expires(self) -> str:
        """First day the notice no longer applies."""
        return add_years(self.date_of_denial, self.validity_years)

    def active_on(self, day: str) -> bool:
        """Denied on or before `day`, not expired and not revoked on `day`."""
        if self.revoked is not None and self.revoked <= day:
            return False
        return self.date_of_denial <= day < self.expires

    def parties(self) -> tuple[tuple[str, NamedParty], ...]:
        out = [("end_user", self.end_user)] if self.end_user else []
        return (*out, *(("consignee", c) for c in self.consignees))

    def to_dict(self) -> dict[str, Any]:
        """The register form (schemas/register-notices.schema.json)."""
        out: dict[str, Any] = {"id": self.id, "notifying_state": self.notifying_state,
                               "date_of_denial": self.date_of_denial}
        if self.validity_years != DEFAULT_VALIDITY_YEARS:
            out["validity_years"] = self.validity_years
        out["destination"] = self.destination
        if self.end_user:
            out["end_user"] = self.end_user.to_dict()
        if self.consignees:
            out["consignees"] = [c.to_dict() for c in self.consignees]
        items: dict[str, Any] = {}
        if self.categories:
            items["categories"] = list(self.categories)
        if self.control_entries:
            items["control_entries"] = list(self.control_entries)
        out["items"] = items
        out.update(ground=self.ground, contact_point=self.contact_point, tlp=self.tlp)
        if self.revoked:
            out["revoked"] = self.revoked
        if self.consultation:
            out["consultation"] = dict(self.consultation)
        return out


@dataclass(frozen=True, slots=True)
class Listed:
    """A restricted or implicated party (an OpenSanctions `targets.simple.csv` row)."""

    id: str
    name: str
    aliases: tuple[str, ...]
    countries: frozenset[str]
    kind: str  # restricted | implicated
    register: str
    source: str  # dataset / source the row comes from
    sanctions: str = ""
    schema: str = ""  # the FollowTheMoney schema of the row: Company, Person, ...


@dataclass(frozen=True, slots=True)
class RiskNote:
    """A destination, end-user or technology note shared by a Subscribing State."""

    id: str
    subject: dict[str, str]
    shared_by: str
    source: str
    tlp: str
    review_by: str  # the last day the note applies unless it is reviewed
    text: str
    register: str
    revoked: str | None = None
    factors: tuple[str, ...] = ()  # destination factors the note adds while active

    def active_on(self, day: str) -> bool:
        """Not past its review date and not revoked on `day`."""
        if self.revoked is not None and self.revoked <= day:
            return False
        return day <= self.review_by

    def to_dict(self) -> dict[str, Any]:
        """The register form (schemas/register-notes.schema.json)."""
        out: dict[str, Any] = {"id": self.id, "subject": dict(self.subject),
                               "shared_by": self.shared_by, "source": self.source,
                               "tlp": self.tlp, "review_by": self.review_by,
                               "text": self.text}
        if self.factors:
            out["factors"] = list(self.factors)
        if self.revoked:
            out["revoked"] = self.revoked
        return out


@dataclass(frozen=True, slots=True)
class RegisterInfo:
    """Provenance of one register file."""

    id: str
    kind: str  # denial_notifications | restricted | implicated | risk_notes
    version: str
    digest: str  # sha256:<hex> of the file's bytes
    file: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "kind": self.kind, "version": self.version,
                "digest": self.digest}


@dataclass(frozen=True, slots=True)
class Settings:
    match: float = 92.0
    review: float = 80.0
    country_penalty: float = 10.0


@dataclass(frozen=True, slots=True)
class RegisterSet:
    settings: Settings
    registers: tuple[RegisterInfo, ...]
    notices: tuple[Notice, ...] = ()
    listed: tuple[Listed, ...] = ()
    notes: tuple[RiskNote, ...] = ()
    _index: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # derived once per set: organisation names, provenance, notes by destination, the
    # result of a case with no match (consult.py); the screening index is `_index`
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def organisation_names(self) -> frozenset[str]:
        """Normalised names and aliases of the listed entries that are organisations (not
        persons): public names the decision log leaves unmasked (engine/api.py)."""
        if "organisations" not in self._cache:
            self._cache["organisations"] = frozenset(
                normalise_name(n) for e in self.listed if e.schema in ORGANISATION_SCHEMAS
                for n in (e.name, *e.aliases))
        names: frozenset[str] = self._cache["organisations"]
        return names

    def notes_on(self, destination: str) -> tuple[RiskNote, ...]:
        """The risk notes whose subject is the destination, by id (grouped once per set:
        every case asks for its destination's)."""
        if "notes" not in self._cache:
            grouped: dict[str, list[RiskNote]] = {}
            for n in sorted(self.notes, key=lambda n: n.id):
                if "destination" in n.subject:
                    grouped.setdefault(n.subject["destination"], []).append(n)
            self._cache["notes"] = {d: tuple(ns) for d, ns in grouped.items()}
        notes: tuple[RiskNote, ...] = self._cache["notes"].get(destination, ())
        return notes

    def provenance(self) -> tuple[dict[str, str], ...]:
        """Id, kind, version and digest of every register file (built once per set; the
        decisions that carry it copy it into their JSON)."""
        if "provenance" not in self._cache:
            self._cache["provenance"] = tuple(r.to_dict() for r in self.registers)
        cached: tuple[dict[str, str], ...] = self._cache["provenance"]
        return cached
