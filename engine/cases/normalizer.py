"""A contract-valid case → the facts of one compiled policy version (engine/facts.py).

The facts have the Python types the backends rely on (str, bool, int/float rounded to 2
decimals, frozenset), so type coercion inside durable-rules can never decide a case.
Unknown ids (well-formed values outside the version's vocabularies) are collected, not
raised: they become an `unknown-id` finding and the value counts as missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from engine import implicated, sanctions
from engine.cases.model import (
    Classification,
    CompiledDataError,
    ItemFacts,
    NormalizedCase,
    Party,
    UnknownId,
)
from engine.cases.text import (
    MEMO_LIMIT,
    control_entry,
    entry_kind,
    memo_suggest,
    unique,
    visible_text,
)
from engine.compiler import derive_band, destination_problem
from engine.diagnostics import suggest
from engine.implicated import Match as ImplicatedMatch
from engine.memo import ByIdentity
from engine.model import UNKNOWN_BAND, mapped_prefix
from engine.registers import consult

if TYPE_CHECKING:
    from engine.compiler import CompiledPolicy, DestinationInfo
    from engine.registers.model import RegisterSet


def _amount(value: Any) -> int | float | None:
    if value is None:
        return None
    if type(value) is int and -_EXACT <= value <= _EXACT:  # exact as a float: unchanged
        return value
    rounded = round(float(value), 2)
    return int(rounded) if rounded.is_integer() else rounded


_EXACT = 2 ** 53  # integers up to this magnitude survive the float round trip unchanged
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_NO_IDS: frozenset[str] = frozenset()


def _obj(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return _EMPTY
    # `type is dict` first: an ABC isinstance check costs more than the rest of the lookup
    return value if type(value) is dict or isinstance(value, Mapping) else _EMPTY


# the fact names of a single party and of a list of parties, spelt once
_PARTY_FACTS = {p: (f"{p}.country", f"{p}.band", f"{p}.factors")
                for p in ("end_user", "purchaser", "previous_consignee")}
_LIST_FACTS = {p: (f"{p}.country", f"{p}.count", f"{p}.countries", f"{p}.bands", f"{p}.factors")
               for p in ("consignees", "intermediaries")}


class _PolicyTables:
    """What normalisation derives from a compiled version once, not per case: each
    category's item facts and severity order, and the destination entries already checked
    against the compiled invariants (`trust`)."""

    def __init__(self, policy: CompiledPolicy):
        levels = policy.policy.risk_levels
        self.order: dict[str, tuple[int, str]] = {}  # most severe first, ties by id
        self.blocks: dict[str | None, dict[str, Any]] = {None: {"item.groups": _NO_IDS}}
        for cid, cat in policy.policy.categories.items():
            rank = levels.index(cat.risk) if cat.risk in levels else len(levels)
            self.order[cid] = (-rank, cid)
            self.blocks[cid] = {"item.category": cid, "item.groups": frozenset(cat.groups),
                                "item.risk": cat.risk}
        self.classified: dict[tuple[Any, ...], Classification] = {}  # `classify`
        # id → entry, for the entries `destination_problem` found nothing in under `basis`
        self.trusted: dict[int, DestinationInfo] = {}
        self.basis: tuple[Any, ...] = ()

    def trusted_for(self, policy: CompiledPolicy) -> dict[int, DestinationInfo]:
        """The checked entries, forgotten when what the check reads besides the entry
        changes. Entries are kept by identity: a fault or a test replaces an entry (the
        compiled tables are frozen), and the new object is checked again."""
        basis = (policy.policy.bands, policy.vocab.get("factors"),
                 policy.vocab.get("freedom_status"))
        if basis != self.basis:
            self.trusted, self.basis = {}, basis
        return self.trusted


_tables: ByIdentity[CompiledPolicy, _PolicyTables] = ByIdentity(_PolicyTables, limit=64)


class _Normalizer:
    def __init__(self, policy: CompiledPolicy, data: Mapping[str, Any]):
        self.p = policy
        self.data = data
        self.tables = _tables(policy)
        self.trusted = self.tables.trusted_for(policy)
        self.unknown: list[UnknownId] = []
        # countries, bands and factors of every foreign party (end user, consignees,
        # intermediaries, purchaser): the `parties.*` facts
        self.parties: tuple[set[str], set[str], set[str]] = (set(), set(), set())
        self.implicated: tuple[ImplicatedMatch, ...] = ()
        # every foreign party, walked once: implicated parties, registers, evidence
        self.named = self.profiles(data)
        self.screened = [p.screened for p in self.named]

    def vocab_id(self, field: str, value: Any, vocab: str, items: Iterable[str] = ()) -> str | None:
        if value is None:
            return None
        known = self.p.vocab[vocab]
        if value in known:
            return str(value)
        self.unknown.append(UnknownId(field, str(value), memo_suggest(str(value), known),
                                      tuple(items)))
        return None

    def vocab_set(self, field: str, values: Any, vocab: str) -> frozenset[str]:
        if not values:
            return _NO_IDS
        if type(values) is list and all(type(v) is str for v in values):
            found = frozenset(values)
            if found <= self.p.vocab[vocab]:  # all known: no finding, nothing to drop
                return found
        out = {self.vocab_id(field, v, vocab) for v in values}
        return frozenset(v for v in out if v is not None)

    def case_facts(self) -> dict[str, Any]:
        d = self.data
        f: dict[str, Any] = {}
        code = d["destination"]
        dest = self.p.destinations.get(code)
        if dest is None:
            self.unknown.append(UnknownId("destination", code,
                                          suggest(code, self.p.destinations)))
            f["destination.band"] = UNKNOWN_BAND
            f["destination.factors"] = _NO_IDS
        else:
            self.trust(dest)
            f["destination"] = code
            f["destination.band"] = dest.band
            f["destination.factors"] = dest.factors
            if dest.freedom_status is not None:
                f["destination.freedom_status"] = dest.freedom_status
            if dest.freedom_score is not None:
                f["destination.freedom_score"] = dest.freedom_score
        self.end_user(f, _obj(d, "end_user"), code)
        end_use = _obj(d, "end_use")
        self.put(f, "end_use.purpose",
                 self.vocab_id("end_use.purpose", end_use.get("purpose"), "end_use_purposes"))
        self.put(f, "end_use.description", visible_text(end_use.get("description")))
        self.party_list(f, "consignees", d.get("consignees") or ())
        self.intermediaries(f, d.get("intermediaries") or ())
        self.party(f, "purchaser", _obj(d, "purchaser").get("country"))
        self.application(f, d)
        f["parties.countries"], f["parties.bands"], f["parties.factors"] = (
            frozenset(p) for p in self.parties)
        # end_user.implicated, parties.implicated, implicated.parties (engine/implicated.py)
        self.implicated = implicated.annotate(self.p.implicated, str(d["submitted"]), f,
                                              self.screened)
        f["assurances"] = self.vocab_set("assurances", d.get("assurances"), "assurances")
        self.exporter(f, _obj(d, "exporter"))
        f["case.item_count"] = len(d["items"])
        return f

    def end_user(self, f: dict[str, Any], eu: Mapping[str, Any], dest: str) -> None:
        kind = self.vocab_id("end_user.type", eu.get("type"), "end_user_types")
        if kind is not None:
            f["end_user.type"] = kind
            f["end_user.government"] = bool(
                self.p.policy.end_user_types[kind].extra.get("government", False))
        f["end_user.flags"] = self.vocab_set("end_user.flags", eu.get("flags"), "red_flags")
        self.put(f, "end_user.name", visible_text(eu.get("name")))
        self.put(f, "end_user.state_owned", eu.get("state_owned"))
        self.put(f, "end_user.security_service", eu.get("security_service"))
        country = self.party(f, "end_user", eu.get("country"))
        if country is not None and dest in self.p.destinations:  # unknown when dest is
            f["end_user.in_destination"] = country == dest

    def party(self, f: dict[str, Any], prefix: str, code: Any) -> str | None:
        """`<prefix>.country/.band/.factors` of a single party; it joins the case's parties."""
        country, band_fact, factors_fact = _PARTY_FACTS[prefix]
        known, band, factors = self.country(country, code)
        self.put(f, country, known)
        self.put(f, band_fact, band)
        f[factors_fact] = factors
        self.join(known, band, factors)
        return known

    def country(self, field: str, code: Any) -> tuple[str | None, str | None, frozenset[str]]:
        """A party's country: (known code, band, factors); band `unknown` if the code is."""
        if code is None:
            return None, None, _NO_IDS
        dest = self.p.destinations.get(code)
        if dest is None:
            self.vocab_id(field, code, "destinations")  # an unknown-id finding
            return None, UNKNOWN_BAND, _NO_IDS
        self.trust(dest)
        return dest.code, dest.band, dest.factors

    def join(self, code: str | None, band: str | None, factors: frozenset[str]) -> None:
        """Add one party's country profile to the `parties.*` facts."""
        if code is not None:
            self.parties[0].add(code)
        if band is not None:
            self.parties[1].add(band)
        self.parties[2].update(factors)

    def party_list(self, f: dict[str, Any], prefix: str,
                   entries: Iterable[Mapping[str, Any]]) -> None:
        """`<prefix>.count/.countries/.bands/.factors` of a list of parties."""
        entries = list(entries)
        codes: set[str] = set()
        bands: set[str] = set()
        factors: set[str] = set()
        field, count, countries, bands_fact, factors_fact = _LIST_FACTS[prefix]
        for e in entries:
            known, band, found = self.country(field, e.get("country"))
            self.join(known, band, found)
            if known is not None:
                codes.add(known)
            if band is not None:
                bands.add(band)
            factors.update(found)
        f[count] = len(entries)
        f[countries] = frozenset(codes)
        f[bands_fact] = frozenset(bands)
        f[factors_fact] = frozenset(factors)

    def intermediaries(self, f: dict[str, Any], entries: Iterable[Mapping[str, Any]]) -> None:
        entries = list(entries)
        self.party_list(f, "intermediaries", entries)
        roles = set()
        stated = bool(entries)
        for e in entries:
            role = self.vocab_id("intermediaries.role", e.get("role"), "intermediary_roles")
            if role:
                roles.add(role)
            else:
                stated = False
        f["intermediaries.roles"] = frozenset(roles)
        f["intermediaries.roles_stated"] = stated

    def application(self, f: dict[str, Any], d: Mapping[str, Any]) -> None:
        """Contract 2 application facts: re-export, payment, declared total, order reference.

        The previous consignee of a re-export is a foreign party (it joins `parties.*`); the
        payment's route country is not a party and only gives the `payment.route_*` facts.
        """
        app = _obj(d, "reexport")
        f["case.reexport"] = app is not _EMPTY
        self.put(f, "reexport.original_licence", visible_text(app.get("original_licence")))
        self.party(f, "previous_consignee", _obj(app, "previous_consignee").get("country"))
        pay = _obj(d, "payment")
        self.put(f, "payment.method", pay.get("method"))
        payer = pay.get("payer")
        self.put(f, "payment.payer", payer)
        if payer is not None:
            f["payment.third_party"] = payer == "third_party"
        self.put(f, "payment.currency",
                 self.vocab_id("payment.currency", pay.get("currency"), "currencies"))
        known, band, factors = self.country("payment.route_country", pay.get("route_country"))
        self.put(f, "payment.route_country", known)
        self.put(f, "payment.route_band", band)
        f["payment.route_factors"] = factors
        self.put(f, "case.declared_total_value", _amount(d.get("declared_total_value")))
        self.put(f, "case.order_ref", visible_text(d.get("order_ref")))

    def exporter(self, f: dict[str, Any], ex: Mapping[str, Any]) -> None:
        self.put(f, "exporter.name", visible_text(ex.get("name")))
        self.put(f, "exporter.country",
                 self.vocab_id("exporter.country", ex.get("country"), "destinations"))
        dd = _obj(ex, "due_diligence")
        self.put(f, "exporter.hrdd_policy", dd.get("hrdd_policy"))
        self.put(f, "exporter.transaction_assessment", dd.get("transaction_assessment"))

    def profiles(self, d: Mapping[str, Any]) -> tuple[Party, ...]:
        """Every foreign party (end user, consignees, intermediaries, purchaser, previous
        consignee: the parties of `parties.*`), in contract order, with its country profile
        and name (no findings: the facts pass reports unknown codes)."""
        groups = (("end_user", (_obj(d, "end_user"),)), ("consignee", d.get("consignees") or ()),
                  ("intermediary", d.get("intermediaries") or ()),
                  ("purchaser", (_obj(d, "purchaser"),)),
                  ("previous_consignee", (_obj(_obj(d, "reexport"), "previous_consignee"),)))
        destinations = self.p.destinations
        out = []
        for role, entries in groups:
            given = [e for e in entries if e and (type(e) is dict or isinstance(e, Mapping))]
            for k, e in enumerate(given, 1):
                code = e.get("country")
                dest = destinations.get(code) if isinstance(code, str) else None
                band = dest.band if dest else (None if code is None else UNKNOWN_BAND)
                detail = e.get("role") if role == "intermediary" else None
                out.append(Party(role, k, len(given), dest.code if dest else None, band,
                                 dest.factors if dest else _NO_IDS,
                                 detail if isinstance(detail, str) else None,
                                 visible_text(e.get("name"))))
        return tuple(out)

    def trust(self, dest: DestinationInfo) -> None:
        """A destination entry the decision depends on must satisfy the compiled invariants
        (checked once per entry object and version, `_PolicyTables.trusted_for`)."""
        if self.trusted.get(id(dest)) is dest:
            return
        problem = destination_problem(self.p, dest)
        if problem is not None:  # corrupt compiled data: engine-error, never a decision on it
            raise CompiledDataError(problem)
        self.trusted[id(dest)] = dest

    @staticmethod
    def put(f: dict[str, Any], name: str, value: Any) -> None:
        if value is not None:
            f[name] = value

    def classify(self, item: Mapping[str, Any]) -> Classification:
        """Every candidate category of an item (see DESIGN.md, Classification), memoised
        per version on the declared category and control entries: items repeat a few of
        them, and the result depends on nothing else once no id of it is unknown."""
        try:
            key = (item.get("category"), *(item.get("control_entries") or ()))
            found = self.tables.classified.get(key)
        except TypeError:  # unhashable: not from a contract-valid case, never memoised
            return self.classify_anew(item)
        if found is None:
            before = len(self.unknown)
            found = self.classify_anew(item)
            if len(self.unknown) == before:  # an unknown id is reported every time
                memo = self.tables.classified
                if len(memo) >= MEMO_LIMIT:
                    memo.clear()
                memo[key] = found
        return found

    def classify_anew(self, item: Mapping[str, Any]) -> Classification:
        item_id = str(item["id"])
        mapped: dict[str, str] = {}  # mapped prefix → category, in the order given
        given: list[str] = []
        unmapped: list[str] = []
        for raw in item.get("control_entries") or ():
            entry = control_entry(raw)
            if entry is None:
                self.unknown.append(UnknownId(
                    f"items[{item_id}].control_entries", str(raw),
                    "not a control-list entry: expected a form such as `5A001.j` or "
                    "`eu_2019_125:II.1`",
                    (item_id,)))
                continue
            given.append(entry)
            prefix = mapped_prefix(self.p.control_map, entry)
            if prefix is None:
                unmapped.append(entry)
            else:
                mapped[prefix] = self.p.control_map[prefix]
        declared = self.vocab_id(f"items[{item_id}].category", item.get("category"),
                                 "categories", items=(item_id,))
        candidates = set(mapped.values())
        if declared is not None:
            candidates.add(declared)
        # most severe first, ties by id: the first candidate is the item's primary category
        ordered = tuple(sorted(candidates, key=self.tables.order.__getitem__)) \
            if len(candidates) > 1 else tuple(candidates)
        conflict = declared is not None and bool(mapped) and declared not in mapped.values()
        return Classification(ordered, declared if conflict else None,
                              frozenset(mapped), unique(given), unique(unmapped))

    def item_draft(self, item: Mapping[str, Any]) -> _Draft:
        """An item's classification and own facts; its views are built once the case-scope
        facts computed from every item are known (`normalize`)."""
        c = self.classify(item)
        own: dict[str, Any] = {"item.classified": bool(c.categories),
                               "item.control_entries": c.mapped}
        self.put(own, "item.kind", item.get("kind") or entry_kind(c.given))
        self.put(own, "item.value", _amount(item.get("value")))
        self.put(own, "item.quantity", _amount(item.get("quantity")))
        self.put(own, "item.description", visible_text(item.get("description")))
        item_id = str(item["id"])
        declared = item.get("catch_all")
        grounds = unique(map(str, declared)) if declared else ()
        own["item.catch_all"] = frozenset(
            g for g in grounds if self.vocab_id("items.catch_all", g, "catch_all_grounds",
                                                (item_id,))) if grounds else _NO_IDS
        return _Draft(item_id, c, own, grounds)


class _Draft(NamedTuple):  # a tuple: built per item, dataclass init costs more
    id: str
    c: Classification
    own: dict[str, Any]  # the item facts every view of the item shares
    grounds: tuple[str, ...]  # catch-all grounds as declared

    def finish(self, case: dict[str, Any], blocks: Mapping[str | None, Mapping[str, Any]],
               late: Mapping[str, Any], sanctioned: Iterable[frozenset[str]],
               tail: Mapping[str, Any]) -> ItemFacts:
        """The item with one facts dict per candidate category, keys in the order facts
        are added: case, item, category, then the case facts computed from every item."""
        views = []
        for category, item_sanctions in zip(self.c.categories or (None,), sanctioned, strict=True):
            f = case.copy()
            f.update(self.own)
            f.update(blocks[category])
            f.update(late)
            f["item.sanctions"] = item_sanctions
            f.update(tail)
            views.append(f)
        c = self.c
        return ItemFacts(self.id, views[0], c.categories[0] if c.categories else None,
                         c.categories, tuple(views), c.given, c.unmapped, c.conflict,
                         self.grounds)


def normalize(data: Mapping[str, Any], policy: CompiledPolicy,
              registers: RegisterSet | None = None) -> NormalizedCase:
    """Facts of a contract-valid case under one compiled policy version (and a register
    set to screen the parties against, engine/registers/)."""
    n = _Normalizer(policy, data)
    case = n.case_facts()
    submitted = str(data["submitted"])
    # factors that active risk notes of the register set add to the destination
    shared = consult.shared_factors(registers, submitted[:10], case.get("destination"),
                                    policy.vocab["factors"])
    if shared:
        _share(policy, case, shared)
    drafts = [n.item_draft(item) for item in data["items"]]
    # case facts computed from items, visible to item rules too (`late`, `tail`)
    late = {"case.categories": frozenset(c for d in drafts for c in d.c.categories),
            "case.catch_all": frozenset(g for d in drafts for g in d.own["item.catch_all"]),
            **_totals(case, [d.own.get("item.value") for d in drafts])}
    # sanctions.targets, item.sanctions per view, case.sanctions (engine/sanctions.py)
    targets, eligible = sanctions.case_scope(policy.sanctions, submitted, case)
    sanctioned = [[sanctions.item_sanctions(eligible, bool(d.c.categories), category,
                                            d.c.given)
                   for category in d.c.categories or (None,)] for d in drafts]
    # end_user.screening, parties.screening, screening.notices (engine/registers/consult.py)
    screening: dict[str, Any] = {}
    screened = consult.annotate(registers, submitted, screening, n.screened)
    tail = {"sanctions.targets": targets,
            "case.sanctions": frozenset().union(*(s for per in sanctioned for s in per)),
            **screening}
    # each view built in one go, in the order its facts were always added (`finish`)
    items = tuple(d.finish(case, n.tables.blocks, late, per, tail)
                  for d, per in zip(drafts, sanctioned, strict=True))
    _add_late(case, late, tail)
    return NormalizedCase(str(data["case_id"]), submitted, case, items,
                          tuple(n.unknown), implicated=n.implicated, screening=screened,
                          parties=n.named, shared=shared)


def _add_late(case: dict[str, Any], late: Mapping[str, Any], tail: Mapping[str, Any]) -> None:
    """The case facts computed from items join the case facts in the order they always
    did (totals first; the item views have them after the categories)."""
    for name in ("case.total_value", "case.value_mismatch", "case.categories",
                 "case.catch_all"):
        if name in late:
            case[name] = late[name]
    case.update(tail)


def _totals(case: Mapping[str, Any], values: list[Any]) -> dict[str, Any]:
    """`case.total_value` when every item states a value, and `case.value_mismatch` when
    the case declares a total too."""
    if not all(v is not None for v in values):
        return {}
    total = _amount(sum(values))
    out: dict[str, Any] = {"case.total_value": total}
    declared = case.get("case.declared_total_value")
    if declared is not None:  # both rounded to cents: equal when they agree to the cent
        out["case.value_mismatch"] = declared != total
    return out


def _share(policy: CompiledPolicy, case: dict[str, Any],
           shared: tuple[tuple[str, str], ...]) -> None:
    """Shared factors join the destination's; the band is derived again and never falls
    below the version's own band for the destination (a band rule may test an absence)."""
    factors = case["destination.factors"] | {f for f, _ in shared}
    facts = {k: case[k] for k in ("destination.freedom_status", "destination.freedom_score")
             if k in case} | {"destination.factors": factors}
    band, bands = derive_band(policy.policy, facts), policy.policy.bands
    case["destination.factors"] = factors
    if band in bands and case["destination.band"] in bands and \
            bands.index(band) < bands.index(case["destination.band"]):
        case["destination.band"] = band
