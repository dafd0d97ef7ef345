"""Seeded generator of realistic licence cases, for benchmarks and differential tests.

The mix follows what a licensing authority sees: three quarters are commercial applications
(general IT and information-security items for companies, mostly to low- and elevated-risk
destinations), a quarter are security-sector ones (surveillance and crime-control items for
police, intelligence or state telecoms, more often to high-risk destinations). Cases have one
to five items (mostly one or two), end users rarely have red flags, some fields are missing
or null, and about 2% of cases carry an unknown id (a typo). For a version with
implicated-party entries, about 30% of cases give a foreign party the name or an alias of an
entry (other case, punctuation or full width, or a letter short) with the entry's country,
another or none, from a stream of its own: a version without entries gets the cases it
always got. Every case follows `schemas/case.schema.json`; the same seed gives the same cases.
On request (`generate_cases(window=…, crowded=…)`, the differential tests) the cases are
submitted in another period (to select one version by date) and a share of them carries 1
to 10 consignees and intermediaries each, from a stream of its own.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from engine.model import ITEM_KINDS, PAYERS, PAYMENT_METHODS

if TYPE_CHECKING:
    from engine.compiler import CompiledPolicy

FIRST_DAY, LAST_DAY = date(2025, 1, 1), date(2026, 12, 31)
UNKNOWN_RATE = 0.003  # per id field: about 2% of cases carry an unknown id
MISSING_RATE = 0.03
ITEM_COUNTS = (1, 2, 3, 4, 5)
ITEM_COUNT_WEIGHTS = (45, 25, 15, 10, 5)
MAX_PARTIES = 10  # consignees and intermediaries of a crowded case (the contract allows more)


@dataclass(frozen=True)
class Mix:
    """Weights of one kind of application; ids a policy lacks are skipped, others get `rest`."""

    share: float
    bands: Mapping[str, float]
    categories: Mapping[str, float]
    other_categories: float
    end_user_types: Mapping[str, float]
    purposes: Mapping[str, float]
    rest: float = 1.0


COMMERCIAL = Mix(
    share=0.75,
    bands={"low": 55, "elevated": 30, "high": 12, "embargoed": 1},
    categories={"general_it": 55, "information_security": 35, "torture_goods": 0.02},
    other_categories=0.6,
    end_user_types={"private_company": 50, "private_telecom": 12, "academic": 10,
                    "reseller": 8, "ngo": 3, "other_government": 5, "state_telecom": 4},
    purposes={"network_security": 40, "network_management": 25, "research": 10, "resale": 5,
              "other": 3},
)
SECURITY = Mix(
    share=0.25,
    bands={"low": 30, "elevated": 30, "high": 30, "embargoed": 6},
    categories={"general_it": 5, "information_security": 10, "torture_goods": 0.3},
    other_categories=8,
    end_user_types={"law_enforcement": 35, "other_government": 15, "intelligence_service": 10,
                    "military": 8, "state_telecom": 10, "private_telecom": 8, "reseller": 6},
    purposes={"criminal_investigation": 30, "lawful_interception": 20, "public_safety": 15,
              "national_security": 10, "border_control": 8, "network_management": 5},
)
MIXES = (COMMERCIAL, SECURITY)
_WORDS = ("secure", "network", "analytics", "platform", "appliance", "sensor", "server",
          "gateway", "suite", "module", "toolkit", "router")
_NAMES = ("Nordic", "Atlas", "Meridian", "Helios", "Vector", "Orbit", "Summit", "Kestrel")
_CURRENCIES = ("EUR", "EUR", "USD", "USD", "GBP", "CHF", "CNY", "RUB", "AED")


@dataclass(frozen=True)
class _Profile:
    """Sorted vocabularies (and, for a compiled policy, bands and category entries)."""

    bands: Mapping[str, Sequence[str]]  # band → destination codes
    destinations: Sequence[str]
    categories: Sequence[str]
    entries: Mapping[str, Sequence[str]]  # category → control entries ("" → all entries)
    vocab: Mapping[str, Sequence[str]]
    # implicated-party entries of the version: (name and aliases as written, country)
    implicated: Sequence[tuple[tuple[str, ...], str | None]] = ()

    @classmethod
    def build(cls, source: CompiledPolicy | Mapping[str, Collection[str]]) -> _Profile:
        vocab_src = source if isinstance(source, Mapping) else source.vocab
        vocab = {k: sorted(v) for k, v in vocab_src.items()}
        destinations = vocab.get("destinations") or ["NO"]
        bands: dict[str, list[str]] = {}
        entries: dict[str, list[str]] = {"": vocab.get("control_entries", [])}
        table = getattr(source, "destinations", None)
        if table:
            for code in destinations:
                bands.setdefault(table[code].band, []).append(code)
        else:
            bands[""] = list(destinations)
        control_map = getattr(source, "control_map", None) or {}
        for entry, category in sorted(control_map.items()):
            entries.setdefault(category, []).append(entry)
        listed = getattr(getattr(source, "policy", None), "implicated", None) or {}
        implicated = [((e.name, *e.aliases), e.country) for _, e in sorted(listed.items())]
        return cls(bands, destinations, vocab.get("categories", []), entries, vocab,
                   implicated)


def _weighted(rng: random.Random, values: Sequence[str], weights: Mapping[str, float],
              rest: float) -> str:
    return rng.choices(values, [weights.get(v, rest) for v in values])[0]


class _CaseMaker:
    # opt-in (generate_cases): another submission window, and crowded cases
    first, last = FIRST_DAY, LAST_DAY
    crowded = 0.0
    crowding: random.Random | None = None

    def __init__(self, profile: _Profile, rng: random.Random,
                 extra: random.Random | None = None, named: random.Random | None = None,
                 grounds: random.Random | None = None):
        self.p = profile
        self.rng = rng
        # contract-2 parties draw from their own stream, so the v1 part of every generated
        # case (and every figure measured on it) stays what it was
        self.extra = extra or random.Random(0)
        # names of implicated parties too: a version without entries gets the same cases
        self.named = named or random.Random(1)
        # catch-all grounds too (data/catch_all/grounds.csv), so earlier corpora stay
        self.grounds = grounds or random.Random(2)
        self.mix = COMMERCIAL

    def maybe(self, rate: float = MISSING_RATE) -> bool:
        return self.rng.random() < rate

    def vocab_id(self, name: str, weights: Mapping[str, float] | None = None) -> str | None:
        """A vocabulary id, sometimes a misspelt one; None when the vocabulary is empty."""
        values = self.p.vocab.get(name) or []
        if not values:
            return None
        value = _weighted(self.rng, values, weights or {}, self.mix.rest)
        return self.typo(value, values) if self.maybe(UNKNOWN_RATE) else value

    def typo(self, value: str, known: Collection[str]) -> str:
        for candidate in (value[:-1], value + "x", "x" + value):
            if candidate and candidate not in known:
                return candidate
        return value

    def country(self, band: str | None = None) -> str:
        if self.maybe(UNKNOWN_RATE):
            return next(c for c in ("QZ", "XX", "ZZ", "QQ") if c not in self.p.destinations)
        bands = self.p.bands
        if band is None:
            band = _weighted(self.rng, sorted(bands), self.mix.bands, self.mix.rest)
        return self.rng.choice(bands.get(band) or list(self.p.destinations))

    def amount(self, low: float, high: float) -> int | float | None:
        if self.maybe():
            return None
        value = 10 ** self.rng.uniform(low, high)
        return round(value, 2) if self.rng.random() < 0.3 else int(value)

    def item(self, n: int) -> dict[str, Any]:
        rng, p = self.rng, self.p
        item: dict[str, Any] = {"id": f"I-{n}"}
        if not self.maybe():
            item["description"] = " ".join(rng.sample(_WORDS, 2)).capitalize()
        category = _weighted(rng, p.categories, self.mix.categories,
                             self.mix.other_categories) if p.categories else None
        roll = rng.random()  # 60% category, 25% entries, 7% both, 3% other entries, 5% neither
        both = 0.85 <= roll < 0.92
        if category is not None and (roll < 0.6 or both):
            item["category"] = self.typo(category, p.categories) \
                if self.maybe(UNKNOWN_RATE) else category
        if 0.6 <= roll < 0.95:
            pool = p.entries.get("") if both or roll >= 0.92 else p.entries.get(category or "")
            pool = pool or p.entries.get("") or []
            if pool:
                count = min(len(pool), rng.choice((1, 1, 2)))
                item["control_entries"] = [self.entry(e) for e in rng.sample(pool, count)]
        quantity = self.amount(0, 2.5)
        if quantity is not None:
            item["quantity"] = quantity
        value = self.amount(2, 7)
        item["value"] = value  # None (null) is allowed and means missing
        return item

    def entry(self, entry: str) -> str:
        """Control entries as applicants write them: case variants and sub-paragraphs."""
        roll = self.rng.random()
        if roll < 0.1:
            return entry.lower()
        if roll < 0.2:
            return entry + ".1"
        if roll < 0.22:
            return "9Z999"  # not on any list
        return entry

    def case(self, n: int, prefix: str) -> dict[str, Any]:
        rng = self.rng
        self.mix = rng.choices(MIXES, [m.share for m in MIXES])[0]
        destination = self.country()
        days = (self.last - self.first).days
        case: dict[str, Any] = {
            "case_id": f"{prefix}-{n:07d}",
            "submitted": (self.first + timedelta(days=rng.randint(0, days))).isoformat(),
            "destination": destination,
            "items": [self.item(i + 1) for i in
                      range(rng.choices(ITEM_COUNTS, ITEM_COUNT_WEIGHTS)[0])],
        }
        if not self.maybe(0.02):
            case["exporter"] = self.exporter()
        if not self.maybe(0.03):
            case["end_user"] = self.end_user(destination)
        if not self.maybe():
            purpose = None if self.maybe() else self.vocab_id("end_use_purposes",
                                                               self.mix.purposes)
            case["end_use"] = {"purpose": purpose}
            if not self.maybe(0.2):
                case["end_use"]["description"] = "Operation of " + rng.choice(_WORDS) + "s"
        roll = rng.random()
        if roll < 0.2:
            case["intermediaries"] = [self.intermediary() for _ in range(rng.randint(1, 2))]
        elif roll < 0.3:
            case["intermediaries"] = []
        self.parties(case)
        self.crowd(case)
        self.implicated(case)
        self.catch_all(case)
        if not self.maybe(0.1):
            pool = self.p.vocab.get("assurances") or []
            chosen = [a for a in pool if rng.random() < 0.3]
            if chosen and self.maybe(UNKNOWN_RATE):
                chosen[0] = self.typo(chosen[0], pool)
            case["assurances"] = chosen
        return case

    def catch_all(self, case: dict[str, Any]) -> None:
        """Catch-all grounds on a few items (one in 25), now and then one that is no ground."""
        rng, pool = self.grounds, self.p.vocab.get("catch_all_grounds") or []
        for item in case["items"]:
            if pool and rng.random() < 0.04:
                chosen = rng.sample(pool, rng.choice((1, 1, 2)))
                if rng.random() < UNKNOWN_RATE:
                    chosen[0] = chosen[0] + "x"
                item["catch_all"] = chosen

    def crowd(self, case: dict[str, Any]) -> None:
        """With `crowded` > 0, that share of cases gets 1 to MAX_PARTIES consignees and
        intermediaries each (from a stream of its own; nothing is drawn otherwise)."""
        rng = self.crowding
        if rng is None or rng.random() >= self.crowded:
            return
        saved, self.rng = self.rng, rng  # country() and vocab_id() draw from self.rng
        try:
            case["consignees"] = [{"name": f"{rng.choice(_NAMES)} Logistics {k}",
                                   "country": self.country()}
                                  for k in range(rng.randint(1, MAX_PARTIES))]
            case["intermediaries"] = [self.intermediary()
                                      for _ in range(rng.randint(1, MAX_PARTIES))]
        finally:
            self.rng = saved

    def exporter(self) -> dict[str, Any]:
        rng = self.rng
        exporter: dict[str, Any] = {"name": f"{rng.choice(_NAMES)} Systems",
                                    "country": self.country("low")}
        if not self.maybe(0.1):
            exporter["due_diligence"] = {
                "hrdd_policy": None if self.maybe() else rng.random() < 0.8,
                "transaction_assessment": None if self.maybe() else rng.random() < 0.7}
        return exporter

    def end_user(self, destination: str) -> dict[str, Any]:
        rng = self.rng
        user: dict[str, Any] = {"name": None if self.maybe() else f"{rng.choice(_NAMES)} Ltd"}
        roll = rng.random()
        if roll < 0.85:
            user["country"] = destination
        elif roll < 0.95:
            user["country"] = self.country()
        if not self.maybe():
            user["type"] = self.vocab_id("end_user_types", self.mix.end_user_types)
        flags = self.p.vocab.get("red_flags") or []
        if flags and rng.random() < 0.15:
            user["flags"] = rng.sample(flags, min(len(flags), rng.choice((1, 1, 2))))
            if self.maybe(UNKNOWN_RATE):
                user["flags"][0] = self.typo(user["flags"][0], flags)
        else:
            user["flags"] = []
        return user

    def parties(self, case: dict[str, Any]) -> None:
        """Consignees (0 to 10), a purchaser, item kinds and the application facts, from the
        `extra` stream."""
        rng, saved = self.extra, self.rng
        self.rng = rng  # country() and maybe() draw from self.rng
        try:
            roll = rng.random()
            if roll < 0.25:
                count = rng.choice((1, 1, 1, 2, 2, 3, 10))
                case["consignees"] = [{"name": f"{rng.choice(_NAMES)} Logistics",
                                       "country": self.country()} for _ in range(count)]
            if rng.random() < 0.15:
                case["purchaser"] = {"name": f"{rng.choice(_NAMES)} Holdings",
                                     "country": self.country()}
            for item in case["items"]:
                if rng.random() < 0.2:
                    item["kind"] = rng.choice(ITEM_KINDS)
            self.application(case)
        finally:
            self.rng = saved

    def application(self, case: dict[str, Any]) -> None:
        """Payment, re-export, declared total, order reference and the end user's relation
        to the state (contract 2); called by `parties`, so it draws from the `extra` stream."""
        rng = self.rng
        if rng.random() < 0.25:
            case["payment"] = {
                "method": None if self.maybe() else _weighted(
                    rng, PAYMENT_METHODS, {"bank_transfer": 70, "letter_of_credit": 10}, 6),
                "payer": None if self.maybe() else _weighted(
                    rng, PAYERS, {"end_user": 60, "purchaser": 15}, 8),
                "currency": "XBT" if self.maybe(UNKNOWN_RATE) else rng.choice(_CURRENCIES),
                "route_country": None if rng.random() < 0.4 else self.country()}
        if rng.random() < 0.1:
            case["reexport"] = {"original_licence": f"LIC-{rng.randint(1, 999):03d}"}
            if rng.random() < 0.8:
                case["reexport"]["previous_consignee"] = {
                    "name": f"{rng.choice(_NAMES)} Imports", "country": self.country()}
        if rng.random() < 0.25:
            values = [i.get("value") for i in case["items"]]
            total = sum(values) if None not in values else rng.randint(100, 10**6)
            case["declared_total_value"] = total if rng.random() < 0.8 else round(total * 0.5, 2)
        if rng.random() < 0.15:
            case["order_ref"] = f"PO-{rng.randint(1, 40)}"  # a small pool: split orders
        user = case.get("end_user")
        if isinstance(user, dict):
            for key in ("state_owned", "security_service"):
                if rng.random() < 0.25:
                    user[key] = None if self.maybe() else rng.random() < 0.4

    def implicated(self, case: dict[str, Any]) -> None:
        """Sometimes a foreign party carries the name or an alias of an implicated-party
        entry, spelt as applicants do, with the entry's country, another one or none."""
        rng = self.named
        if not self.p.implicated or rng.random() >= 0.3:
            return
        names, country = rng.choice(self.p.implicated)
        party = self.party_slot(case)
        party["name"] = _spelling(rng, rng.choice(names))
        roll = rng.random()
        if roll < 0.5 and country is not None:
            party["country"] = country
        elif roll < 0.75:
            party["country"] = rng.choice(self.p.destinations)
        else:
            party.pop("country", None)

    def party_slot(self, case: dict[str, Any]) -> dict[str, Any]:
        """A party of the case (an existing one, or a new one) to give a listed name."""
        rng = self.named
        role = rng.choice(("end_user", "end_user", "consignees", "intermediaries",
                           "purchaser", "previous_consignee"))
        if role in ("consignees", "intermediaries"):
            found = case.get(role) or []
            case[role] = found
            if not found or rng.random() < 0.5:
                found.append({})
            party: dict[str, Any] = rng.choice(found)
            return party
        if role == "previous_consignee":
            reexport = case.get("reexport") or {"original_licence": "LIC-001"}
            case["reexport"] = reexport
            holder, key = reexport, "previous_consignee"
        else:
            holder, key = case, role
        if not isinstance(holder.get(key), dict):
            holder[key] = {}
        slot: dict[str, Any] = holder[key]
        return slot

    def intermediary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": f"{self.rng.choice(_NAMES)} Trading",
                               "country": self.country()}
        role = self.vocab_id("intermediary_roles")
        if role is not None and not self.maybe():
            out["role"] = role
        return out


def generate_cases(source: CompiledPolicy | Mapping[str, Collection[str]], n: int,
                   seed: int = 0, *, window: tuple[date, date] | None = None,
                   crowded: float = 0.0) -> Iterator[dict[str, Any]]:
    """`n` contract-valid cases for a compiled policy (or a vocabulary mapping).

    `window` (first, last day) replaces the submission dates 2025-01-01..2026-12-31, e.g.
    to select one version by date; `crowded` is the share of cases with 1 to MAX_PARTIES
    consignees and intermediaries each. Without them the cases are what they always were.
    """
    maker = _CaseMaker(_Profile.build(source), random.Random(seed),
                       random.Random(f"parties-{seed}"), random.Random(f"implicated-{seed}"),
                       random.Random(f"catch-all-{seed}"))
    if window is not None:
        maker.first, maker.last = window
    if crowded:
        maker.crowded, maker.crowding = crowded, random.Random(f"crowd-{seed}")
    for i in range(n):
        yield maker.case(i + 1, f"GEN-{seed}")


def _spelling(rng: random.Random, name: str) -> str:
    """A listed name as an applicant may write it: as listed, another case, other
    punctuation, full-width forms (all of which still match), or a letter short (a miss)."""
    roll = rng.random()
    if roll < 0.4:
        return name
    if roll < 0.55:
        return name.upper()
    if roll < 0.65:
        return name.lower()
    if roll < 0.8:
        return rng.choice((" - ", "  ", ", ", ".")).join(name.split()) + rng.choice(("", "."))
    if roll < 0.9:  # full-width ASCII: NFKC folds it back
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)
    return name[:-1] if len(name) > 1 else name + "x"
