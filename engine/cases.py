"""Check a licence case against the case contract and turn it into facts.

Two kinds of problems, kept apart on purpose:
- *input errors* (`CaseError`): the case does not follow `schemas/case.schema.json` (wrong
  structure or types, unknown keys, duplicate item ids). No decision is made (exit 2).
- *unknown ids*: well-formed values that are not in the policy's vocabularies (a misspelt
  flag, an unlisted destination). They become an `unknown-id` finding, the value is treated as
  missing, and the decision fails closed.

The facts produced are exactly those of engine/facts.py, with Python types the backends rely
on (str, bool, int/float rounded to 2 decimals, frozenset), so type coercion inside
durable-rules can never decide a case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.diagnostics import Diagnostic, DiagnosticError, suggest
from engine.model import UNKNOWN_BAND, canonical_entry
from engine.schemas import check_data, is_valid_fast

if TYPE_CHECKING:
    from engine.compiler import CompiledPolicy


class CaseError(DiagnosticError):
    """The case breaks the input contract; every problem is listed with its JSON path."""


@dataclass(frozen=True, slots=True)
class UnknownId:
    field: str
    value: str
    help: str | None
    items: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemFacts:
    id: str
    facts: dict[str, Any]  # case facts + item facts
    category: str | None


@dataclass(frozen=True, slots=True)
class NormalizedCase:
    case_id: str
    submitted: str
    facts: dict[str, Any]  # case facts
    items: tuple[ItemFacts, ...]
    unknown: tuple[UnknownId, ...]

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.items)

    @property
    def unclassified(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.items if i.category is None)


def check_case(data: Any, source: str | None = None) -> None:
    """Raise CaseError listing every contract violation of `data`."""
    problems = [] if is_valid_fast("case", data) else check_data("case", data, source)
    if not problems and isinstance(data, dict):
        seen: set[str] = set()
        for i, item in enumerate(data.get("items", ())):
            if item["id"] in seen:
                problems.append(Diagnostic("schema", f"at `items[{i}].id`: duplicate item id "
                                           f"`{item['id']}`", source))
            seen.add(item["id"])
    if problems:
        raise CaseError(problems)


def _amount(value: Any) -> int | float | None:
    if value is None:
        return None
    rounded = round(float(value), 2)
    return int(rounded) if rounded.is_integer() else rounded


def _obj(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


class _Normalizer:
    def __init__(self, policy: CompiledPolicy, data: Mapping[str, Any]):
        self.p = policy
        self.data = data
        self.unknown: list[UnknownId] = []
        self.item_ids = tuple(str(i["id"]) for i in data["items"])

    def vocab_id(self, field: str, value: Any, vocab: str, items: Iterable[str] = ()) -> str | None:
        if value is None:
            return None
        known = self.p.vocab[vocab]
        if value in known:
            return str(value)
        self.unknown.append(UnknownId(field, str(value), suggest(str(value), known), tuple(items)))
        return None

    def vocab_set(self, field: str, values: Any, vocab: str) -> frozenset[str]:
        out = {self.vocab_id(field, v, vocab) for v in values or ()}
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
            f["destination.factors"] = frozenset()
        else:
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
        self.put(f, "end_use.description", _text(end_use.get("description")))
        self.intermediaries(f, d.get("intermediaries") or ())
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
        self.put(f, "end_user.name", _text(eu.get("name")))
        country = self.vocab_id("end_user.country", eu.get("country"), "destinations")
        if country is not None and dest in self.p.destinations:  # unknown when dest is
            f["end_user.in_destination"] = country == dest

    def intermediaries(self, f: dict[str, Any], entries: Iterable[Mapping[str, Any]]) -> None:
        entries = list(entries)
        f["intermediaries.count"] = len(entries)
        roles, bands = set(), set()
        for e in entries:
            role = self.vocab_id("intermediaries.role", e.get("role"), "intermediary_roles")
            if role:
                roles.add(role)
            code = e.get("country")
            if code is not None:
                dest = self.p.destinations.get(code)
                if dest is None:
                    self.vocab_id("intermediaries.country", code, "destinations")
                bands.add(dest.band if dest else UNKNOWN_BAND)
        f["intermediaries.roles"] = frozenset(roles)
        f["intermediaries.bands"] = frozenset(bands)

    def exporter(self, f: dict[str, Any], ex: Mapping[str, Any]) -> None:
        self.put(f, "exporter.name", _text(ex.get("name")))
        self.put(f, "exporter.country",
                 self.vocab_id("exporter.country", ex.get("country"), "destinations"))
        dd = _obj(ex, "due_diligence")
        self.put(f, "exporter.hrdd_policy", dd.get("hrdd_policy"))
        self.put(f, "exporter.transaction_assessment", dd.get("transaction_assessment"))

    @staticmethod
    def put(f: dict[str, Any], name: str, value: Any) -> None:
        if value is not None:
            f[name] = value

    def classify(self, item: Mapping[str, Any]) -> tuple[str | None, frozenset[str]]:
        """Category of an item and the mapped control entries (see DESIGN.md)."""
        candidates: set[str] = set()
        entries: set[str] = set()
        for raw in item.get("control_entries") or ():
            entry = canonical_entry(raw)
            mapped = self.match_entry(entry)
            if mapped is not None:
                entries.add(mapped)
                candidates.add(self.p.control_map[mapped])
        explicit = self.vocab_id(f"items[{item['id']}].category", item.get("category"),
                                 "categories", items=(str(item["id"]),))
        if explicit is not None:
            candidates.add(explicit)
        if not candidates:
            return None, frozenset(entries)
        return max(sorted(candidates), key=self.risk_rank), frozenset(entries)

    def match_entry(self, entry: str) -> str | None:
        parts = entry.split(".")
        for n in range(len(parts), 0, -1):
            prefix = ".".join(parts[:n])
            if prefix in self.p.control_map:
                return prefix
        return None

    def risk_rank(self, category: str) -> int:
        levels = self.p.policy.risk_levels
        risk = self.p.policy.categories[category].risk
        # ties keep the first of the sorted ids: max() returns the first maximal element
        return levels.index(risk) if risk in levels else len(levels)

    def item_facts(self, item: Mapping[str, Any], case: dict[str, Any]) -> ItemFacts:
        category, entries = self.classify(item)
        f = dict(case)
        f["item.classified"] = category is not None
        f["item.control_entries"] = entries
        if category is not None:
            cat = self.p.policy.categories[category]
            f["item.category"] = category
            f["item.groups"] = frozenset(cat.groups)
            f["item.risk"] = cat.risk
        else:
            f["item.groups"] = frozenset()
        self.put(f, "item.value", _amount(item.get("value")))
        self.put(f, "item.quantity", _amount(item.get("quantity")))
        self.put(f, "item.description", _text(item.get("description")))
        return ItemFacts(str(item["id"]), f, category)


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    return None


def normalize(data: Mapping[str, Any], policy: CompiledPolicy) -> NormalizedCase:
    """Facts of a contract-valid case under one compiled policy version."""
    n = _Normalizer(policy, data)
    case = n.case_facts()
    items = tuple(n.item_facts(item, case) for item in data["items"])
    values = [i.facts.get("item.value") for i in items]
    if all(v is not None for v in values):
        total = _amount(sum(values))
        case["case.total_value"] = total
    case["case.categories"] = frozenset(i.category for i in items if i.category)
    for i in items:  # case facts computed from items are visible to item rules too
        i.facts["case.categories"] = case["case.categories"]
        if "case.total_value" in case:
            i.facts["case.total_value"] = case["case.total_value"]
    return NormalizedCase(str(data["case_id"]), str(data["submitted"]), case, items,
                          tuple(n.unknown))
