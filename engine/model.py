"""The policy model: frozen dataclasses built from a schema-valid version source.

`build_policy` trusts the schema (run `engine.validator` first) but never the
cross-references: those are checked by the validator, and an unknown reference in a
built policy is simply absent from the vocabularies, which makes the engine fail closed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pycountry

from engine import catch_all, conditions
from engine.conditions import Node
from engine.repository import VersionSource

OUTCOMES = ("deny", "refer", "request_information", "approve_with_conditions", "approve")
FREEDOM_STATUSES = ("free", "partly_free", "not_free")
# What an item is (case contract 2, `items[].kind`); fixed by the contract, not the policy.
ITEM_KINDS = ("good", "software", "technology", "service")
# Control-list product groups: A systems/equipment, B test equipment, C materials, D software,
# E technology; an entry's group tells its kind when the applicant does not say
ENTRY_KINDS = {"A": "good", "B": "good", "C": "good", "D": "software", "E": "technology"}
# Payment (case contract 2, `payment`): fixed by the contract, like ITEM_KINDS.
PAYMENT_METHODS = ("bank_transfer", "letter_of_credit", "cash", "crypto", "other")
PAYERS = ("end_user", "consignee", "purchaser", "intermediary", "third_party")
CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies)  # ISO 4217
UNKNOWN_BAND = "unknown"
# What an implicated party's match says (engine/implicated.py): on a restricted-party list,
# publicly attributed only, or listed once and removed on or before the case's date.
IMPLICATED_STATUSES = ("designated", "attributed", "delisted")
# match kinds of register screening (engine/registers/screening.py)
SCREENING_KINDS = ("restricted", "implicated", "denied", "near_match")


@dataclass(frozen=True, slots=True)
class Citation:
    source: str
    pinpoint: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    title: str
    publisher: str | None
    url: str | None
    confidence: str
    note: str | None = None

    def cite(self, pinpoint: str | None) -> str:
        return f"{self.title}, {pinpoint}" if pinpoint else self.title


@dataclass(frozen=True, slots=True)
class Term:
    """An entry of a vocabulary (group, factor, red flag, purpose, role, ...)."""

    id: str
    title: str
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ControlEntry:
    entry: str
    regime: str


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    title: str
    description: str
    risk: str
    groups: tuple[str, ...]
    rights_at_risk: tuple[str, ...]
    control_entries: tuple[ControlEntry, ...]
    sources: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class BandRule:
    band: str
    when: Node | None


@dataclass(frozen=True, slots=True)
class Destination:
    code: str
    name: str
    factors: frozenset[str]  # its own factors (inherited ones are added by the compiler)
    freedom_status: str | None
    freedom_score: int | None
    inherits_from: str | None = None  # the sovereign whose factors a territory takes
    # (factor id, "source, as of") of each own factor: the evidence explanations cite
    evidence: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Assurance:
    id: str
    title: str
    description: str
    contents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LicenseCondition:
    id: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Regime:
    """A sanctions regime or restrictive measure (sanctions.yaml; engine/sanctions.py)."""

    id: str
    title: str
    legal_act: Citation
    in_force_from: str
    in_force_until: str | None  # inclusive; None: open-ended
    targets: frozenset[str]
    supply: str  # destination | any_party | end_user
    all_listed_dual_use: bool = False
    categories: frozenset[str] = frozenset()
    control_entries: tuple[str, ...] = ()  # canonical form
    end_uses: frozenset[str] = frozenset()
    end_user_types: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ImplicatedParty:
    """An end user credibly implicated in misuse (implicated_parties.yaml; engine/implicated.py)."""

    id: str
    name: str
    aliases: tuple[str, ...]
    country: str | None  # destination code; None: the entry matches on its names alone
    kind: str  # government_agency | company | unit
    status: str  # designated | attributed
    designation: str | None  # the list and the date of the listing (designated)
    finding: str
    sources: tuple[Citation, ...]
    confidence: str  # V | R | S | ?
    removed: str | None = None  # delisted on that date (the entry stays as history)


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule, or an information requirement turned into one (`request` set)."""

    id: str
    title: str
    description: str
    commitments: tuple[str, ...]
    basis: tuple[Citation, ...]
    when: Node | None  # None when the condition does not parse
    outcome: str | None
    require_assurances: tuple[str, ...]
    conditions: tuple[str, ...]
    message: str
    file: str
    field: str | None = None  # information requirements: the fact that must be present
    request: str | None = None


@dataclass(frozen=True, slots=True)
class Definition:
    """A named, reusable condition; rules use it as `{ref: id}`."""

    id: str
    title: str
    description: str
    when: Node | None  # None when it does not parse (the validator says why)
    file: str


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    version: str
    title: str
    status: str
    effective_from: str
    effective_until: str | None
    precedence: tuple[str, ...]
    default_outcome: str
    commitments: Mapping[str, Term]
    changes: tuple[str, ...]
    sources: Mapping[str, Source]
    risk_levels: tuple[str, ...]
    groups: Mapping[str, Term]
    categories: Mapping[str, Category]
    factors: Mapping[str, Term]
    bands: tuple[str, ...]
    band_rules: tuple[BandRule, ...]
    band_default: str
    destinations: Mapping[str, Destination]
    end_user_types: Mapping[str, Term]
    red_flags: Mapping[str, Term]
    purposes: Mapping[str, Term]
    roles: Mapping[str, Term]
    assurances: Mapping[str, Assurance]
    license_conditions: Mapping[str, LicenseCondition]
    rules: tuple[Rule, ...]  # policy rules then information requirements, in file order
    definitions: Mapping[str, Definition]  # named conditions (`definitions:` in rules files)
    digest: str
    path: str
    sanctions: Mapping[str, Regime] = field(default_factory=dict)  # optional sanctions.yaml
    # optional implicated_parties.yaml: entry id → entry
    implicated: Mapping[str, ImplicatedParty] = field(default_factory=dict)

    @property
    def vocab(self) -> dict[str, frozenset[str]]:
        return vocabularies(self)

    def control_map(self) -> dict[str, str]:
        return {ce.entry: c.id for c in self.categories.values() for ce in c.control_entries}


def vocabularies(p: Policy) -> dict[str, frozenset[str]]:
    """Vocabulary name (as in engine/facts.py) → allowed values."""
    return {
        "destinations": frozenset(p.destinations),
        "bands": frozenset((*p.bands, UNKNOWN_BAND)),
        "factors": frozenset(p.factors),
        "freedom_status": frozenset(FREEDOM_STATUSES),
        "end_user_types": frozenset(p.end_user_types),
        "red_flags": frozenset(p.red_flags),
        "end_use_purposes": frozenset(p.purposes),
        "intermediary_roles": frozenset(p.roles),
        "assurances": frozenset(p.assurances),
        "categories": frozenset(p.categories),
        "groups": frozenset(p.groups),
        "risk_levels": frozenset(p.risk_levels),
        "control_entries": frozenset(p.control_map()),
        "item_kinds": frozenset(ITEM_KINDS),
        "catch_all_grounds": frozenset(catch_all.grounds()),
        "sanctions": frozenset(p.sanctions),
        "implicated_parties": frozenset(p.implicated),
        "implicated_statuses": frozenset(IMPLICATED_STATUSES),
        "screening_kinds": frozenset(SCREENING_KINDS),
        "payment_methods": frozenset(PAYMENT_METHODS),
        "payers": frozenset(PAYERS),
        "currencies": CURRENCIES,
    }


def _data(src: VersionSource, kind: str) -> dict[str, Any]:
    doc = src.one(kind)
    return doc.data if doc is not None and isinstance(doc.data, dict) else {}


def _cites(raw: Any) -> tuple[Citation, ...]:
    return tuple(Citation(c["source"], c.get("pinpoint")) for c in raw or () if isinstance(c, dict))


def _terms(raw: Any, *extra: str) -> dict[str, Term]:
    out = {}
    for t in raw or ():
        if isinstance(t, dict) and "id" in t:
            out[t["id"]] = Term(t["id"], str(t.get("title", t["id"])), t.get("description", ""),
                                {k: t[k] for k in extra if k in t})
    return out


def _cond(raw: Any, definitions: Mapping[str, Node | None] | None = None) -> Node | None:
    if raw is None:
        return conditions.TRUE
    node, _ = conditions.parse(raw, definitions=definitions)
    return node


def _categories(raw: dict[str, Any]) -> dict[str, Category]:
    out = {}
    for c in raw.get("categories", ()):
        out[c["id"]] = Category(
            c["id"], c["title"], c.get("description", ""), c.get("risk", ""),
            tuple(c.get("groups", ())), tuple(c.get("rights_at_risk", ())),
            tuple(ControlEntry(canonical_entry(e["entry"]), e["regime"])
                  for e in c.get("control_entries", ())),
            _cites(c.get("sources")))
    return out


# The control-list grammar (Wassenaar / EU Annex I / US CCL numbering): category digit,
# product-group letter, three digits, then dot-separated sub-paragraphs; or the US
# designation EAR99 (subject to the EAR, not on the CCL). ASCII only.
ECCN_ENTRY = r"[0-9][A-E][0-9]{3}(?:\.[a-z0-9]+)*|EAR99"
# Lists with their own numbering are written regime-qualified, `<regime>:<entry>`; this
# registry maps each such regime (a `regime` of categories.yaml) to the grammar of the part
# after the colon, in canonical form (see `canonical_entry`). The part before the first dot
# is one token, so prefix matching on dot boundaries never confuses `III` with `II`.
# EU anti-torture regulation (EU) 2019/125: Annex II, III or IV, then item numbers.
QUALIFIED_ENTRY_REGIMES: dict[str, str] = {
    "eu_2019_125": r"(?:II|III|IV)(?:\.[0-9]+)*",
}
CONTROL_ENTRY = re.compile(
    "|".join([ECCN_ENTRY, *(f"{re.escape(regime)}:(?:{grammar})"
                            for regime, grammar in QUALIFIED_ENTRY_REGIMES.items())]),
    re.ASCII)
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def canonical_entry(entry: str) -> str:
    """`5a001.J` → `5A001.j`, `EU_2019_125:ii.1` → `eu_2019_125:II.1` (after NFKC).

    ECCN-style entries: ECCN part uppercase, sub-paragraphs lowercase. Qualified entries
    (`regime:entry`): regime lowercase, the part up to the first dot uppercase, the rest
    lowercase, changing ASCII letters only (`str.upper` would turn a dotless `ı` into `I`).
    NFKC folds full-width and compatibility forms (`５Ａ００１` → `5A001`, `Ⅱ` → `II`) but not
    look-alike letters from other scripts (a Cyrillic `А` stays Cyrillic), so the result
    must still be checked against CONTROL_ENTRY.
    """
    text = unicodedata.normalize("NFKC", entry).strip()
    if ":" in text:
        regime, _, rest = text.partition(":")
        head, dot, tail = rest.partition(".")
        return (regime.translate(_ASCII_LOWER) + ":" + head.translate(_ASCII_UPPER)
                + dot + tail.translate(_ASCII_LOWER))
    head, _, rest = text.partition(".")
    return head.upper() + ("." + rest.lower() if rest else "")


def mapped_prefix(control_map: Mapping[str, Any], entry: str) -> str | None:
    """The longest prefix of `entry` on dot boundaries that `control_map` maps (`5A001.j.1`
    → `5A001.j` or `5A001`), or None: how a given control entry is classified (the
    normaliser, the analysis of the bounded space and the diff's causes all read it so)."""
    prefix = entry
    while prefix not in control_map:
        cut = prefix.rfind(".")
        if cut < 0:
            return None
        prefix = prefix[:cut]
    return prefix


def entry_regime(entry: str) -> str | None:
    """The regime a qualified entry names (`eu_2019_125:II.1` → `eu_2019_125`), else None."""
    regime, colon, _ = entry.partition(":")
    return regime if colon else None


def _regimes(raw: dict[str, Any]) -> dict[str, Regime]:
    """sanctions.yaml (optional): regime id → Regime, first definition wins."""
    out: dict[str, Regime] = {}
    for r in raw.get("regimes") or ():
        if not isinstance(r, dict) or r.get("id") in out:
            continue
        what = r.get("restricts") or {}
        act = r.get("legal_act") or {}
        out[r["id"]] = Regime(
            r["id"], str(r.get("title", r["id"])),
            Citation(str(act.get("source", "")), act.get("pinpoint")),
            str(r.get("in_force_from", "")), r.get("in_force_until"),
            frozenset(r.get("targets", ())), str(r.get("supply", "")),
            what.get("all_listed_dual_use") is True, frozenset(what.get("categories", ())),
            tuple(canonical_entry(e) for e in what.get("control_entries", ())),
            frozenset(what.get("end_uses", ())), frozenset(what.get("end_user_types", ())))
    return out


def _implicated(raw: dict[str, Any]) -> dict[str, ImplicatedParty]:
    """implicated_parties.yaml (optional): entry id → ImplicatedParty, first one wins."""
    out: dict[str, ImplicatedParty] = {}
    for e in raw.get("parties") or ():
        if not isinstance(e, dict) or not isinstance(e.get("id"), str) or e["id"] in out:
            continue
        out[e["id"]] = ImplicatedParty(
            e["id"], str(e.get("name", e["id"])),
            tuple(str(a) for a in e.get("aliases") or ()), e.get("country"),
            str(e.get("kind", "")), str(e.get("status", "")), e.get("designation"),
            str(e.get("finding", "")), _cites(e.get("sources")), str(e.get("confidence", "?")),
            e.get("removed"))
    return out


def _cite(factor: Mapping[str, Any]) -> str:
    """`access-now-keepiton, 2024`: a factor's source and as-of date as explanations cite it."""
    return ", ".join(str(factor[k]) for k in ("source", "as_of") if factor.get(k))


def _destinations(raw: dict[str, Any]) -> dict[str, Destination]:
    out = {}
    for code, d in (raw.get("destinations") or {}).items():
        fh = d.get("freedom_house") or {}
        inherits = d.get("inherits_from") or {}
        out[code] = Destination(code, d.get("name", code),
                                frozenset(f["id"] for f in d.get("factors", ())),
                                fh.get("status"), fh.get("score"), inherits.get("code"),
                                tuple((f["id"], _cite(f)) for f in d.get("factors", ())))
    return out


def raw_definitions(src: VersionSource) -> dict[str, tuple[Any, tuple[str | int, ...], Any]]:
    """Named conditions of a version: id → (raw `when`, its path in the file, document)."""
    out: dict[str, tuple[Any, tuple[str | int, ...], Any]] = {}
    for _rel, doc in src.of_kind("rules"):
        data = doc.data if isinstance(doc.data, dict) else {}
        for i, d in enumerate(data.get("definitions") or ()):
            if isinstance(d, dict) and isinstance(d.get("id"), str) and d["id"] not in out:
                out[d["id"]] = (d.get("when"), ("definitions", i, "when"), doc)
    return out


def _definitions(src: VersionSource) -> dict[str, Definition]:
    raw = raw_definitions(src)
    nodes, _ = conditions.parse_definitions({k: (v[0], v[1]) for k, v in raw.items()})
    out = {}
    for _rel, doc in src.of_kind("rules"):
        data = doc.data if isinstance(doc.data, dict) else {}
        for d in data.get("definitions") or ():
            if isinstance(d, dict) and d.get("id") in nodes and d["id"] not in out:
                out[d["id"]] = Definition(d["id"], str(d.get("title", d["id"])),
                                          d.get("description", ""), nodes[d["id"]], doc.path)
    return out


def _rules(src: VersionSource, definitions: Mapping[str, Definition]) -> list[Rule]:
    out = []
    defs = {k: d.when for k, d in definitions.items()}

    def cond(raw: Any) -> Node | None:
        return _cond(raw, defs)

    for _rel, doc in src.of_kind("rules"):
        for r in (doc.data or {}).get("rules", ()) if isinstance(doc.data, dict) else ():
            out.append(Rule(
                r["id"], r["title"], r.get("description", ""), tuple(r.get("commitments", ())),
                _cites(r.get("basis")), cond(r.get("when")), r.get("outcome"),
                tuple(r.get("require_assurances", ())), tuple(r.get("conditions", ())),
                r.get("message", ""), doc.path))
    info = src.one("information")
    for q in _data(src, "information").get("requirements", ()):
        out.append(Rule(
            q["id"], q["title"], q.get("description", q["request"]),
            tuple(q.get("commitments", ())), _cites(q.get("basis")), cond(q.get("when")),
            "request_information", (), (), q["request"], info.path if info else "",
            field=q["field"], request=q["request"]))
    return out


def build_policy(src: VersionSource) -> Policy:
    """Build the model of one version from its (schema-valid) source."""
    meta = _data(src, "policy")
    cats = _data(src, "categories")
    bands = _data(src, "risk_bands")
    users = _data(src, "end_users")
    assur = _data(src, "assurances")
    band_spec = bands.get("bands", {})
    outcomes = meta.get("outcomes", {})
    definitions = _definitions(src)
    return Policy(
        id=str(meta.get("policy", "")), version=str(meta.get("version", "")),
        title=meta.get("title", ""), status=meta.get("status", "draft"),
        effective_from=str(meta.get("effective_from", "")),
        effective_until=meta.get("effective_until"),
        precedence=tuple(outcomes.get("precedence", OUTCOMES)),
        default_outcome=outcomes.get("default", "refer"),
        commitments=_terms(meta.get("commitments"), "text"),
        changes=tuple(meta.get("changes", ())),
        sources={s["id"]: Source(s["id"], s["title"], s.get("publisher"), s.get("url"),
                                 s.get("confidence", "?"), s.get("note"))
                 for s in _data(src, "sources").get("sources", ())},
        risk_levels=tuple(cats.get("risk_levels", ())),
        groups=_terms(cats.get("groups")),
        categories=_categories(cats),
        factors=_terms(bands.get("factors")),
        bands=tuple(band_spec.get("order", ())),
        band_rules=tuple(BandRule(b["band"], _cond(b.get("when")))
                         for b in band_spec.get("rules", ())),
        band_default=band_spec.get("default", ""),
        destinations=_destinations(_data(src, "destinations")),
        end_user_types=_terms(users.get("end_user_types"), "government"),
        red_flags=_terms(users.get("red_flags")),
        purposes=_terms(users.get("end_use_purposes")),
        roles=_terms(users.get("intermediary_roles")),
        assurances={a["id"]: Assurance(a["id"], a["title"], a.get("description", ""),
                                       tuple(a.get("contents", ())))
                    for a in assur.get("assurances", ())},
        license_conditions={c["id"]: LicenseCondition(c["id"], c["title"], c["text"])
                            for c in assur.get("license_conditions", ())},
        rules=tuple(_rules(src, definitions)),
        definitions=definitions,
        digest=src.digest(),
        path=src.display,
        sanctions=_regimes(_data(src, "sanctions")),
        implicated=_implicated(_data(src, "implicated_parties")),
    )
