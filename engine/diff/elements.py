"""The elements of a policy version, by kind and stable id, as flat fields for diffing.

Each element is a mapping `field → value` where nested mappings are flattened with dots
(`freedom_house.score`), lists of mappings with ids become the list of their ids plus one
field per member field (`factors[internet_shutdowns].note`), citations become
`source (pinpoint)` strings and conditions their readable form (engine.conditions.render).
Values are strings or tuples of strings, ready to compare and to print.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine import conditions
from engine.repository import VersionSource

Value = str | tuple[str, ...]
Fields = dict[str, Value]
Elements = dict[str, Fields]  # element id → fields
ID_KEYS = ("id", "entry")


@dataclass(frozen=True, slots=True)
class Kind:
    """An element kind: how to extract it and which fields summarise an element."""

    name: str
    title: str
    extract: Callable[[VersionSource], Elements]
    summary: tuple[str, ...] = ()  # shown for added and removed elements (beside the title)
    provenance: re.Pattern[str] | None = None  # fields about where data came from


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Mapping | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def readable_condition(raw: Any) -> str:
    """A YAML condition in the readable form explanations use."""
    node, _ = conditions.parse(raw)
    return conditions.render(node) if node is not None else scalar(raw)


def _citation(c: Any) -> str:
    if isinstance(c, Mapping) and "source" in c:
        return f"{c['source']} ({c['pinpoint']})" if c.get("pinpoint") else str(c["source"])
    return scalar(c)


def _id_key(items: list[Any]) -> str | None:
    for key in ID_KEYS:
        ids = [i.get(key) for i in items if isinstance(i, Mapping)]
        if len(ids) == len(items) and all(isinstance(i, str) for i in ids) \
                and len(set(ids)) == len(ids):
            return key
    return None


def flatten(data: Mapping[str, Any], prefix: str = "") -> Fields:
    """Flat fields of one element (see the module docstring)."""
    out: Fields = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if key == "when":
            out[name] = readable_condition(value)
        elif isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out.update(_flatten_list(name, value))
        else:
            out[name] = scalar(value)
    return out


def _flatten_list(name: str, items: list[Any]) -> Fields:
    key = _id_key(items) if items and all(isinstance(i, Mapping) for i in items) else None
    if key is None:
        return {name: tuple(_citation(i) for i in items)}
    out: Fields = {name: tuple(str(i[key]) for i in items)}
    for item in items:
        rest = {k: v for k, v in item.items() if k != key}
        out.update(flatten(rest, f"{name}[{item[key]}]."))
    return out


def _data(src: VersionSource, kind: str) -> dict[str, Any]:
    doc = src.one(kind)
    return doc.data if doc is not None and isinstance(doc.data, dict) else {}


def by_id(items: Iterable[Any] | None, key: str = "id") -> Elements:
    return {str(i[key]): flatten({k: v for k, v in i.items() if k != key})
            for i in items or () if isinstance(i, Mapping) and key in i}


def metadata(src: VersionSource) -> Elements:
    meta = {k: v for k, v in _data(src, "policy").items() if k not in ("commitments", "changes")}
    fields = flatten(meta)
    if "risk_levels" in _data(src, "categories"):
        fields["risk_levels"] = tuple(map(str, _data(src, "categories")["risk_levels"]))
    bands = _data(src, "risk_bands").get("bands") or {}
    for key in ("order", "default"):
        if key in bands:
            fields[f"bands.{key}"] = flatten({key: bands[key]})[key]
    return {str(meta.get("policy", "policy")): fields}


def control_entries(src: VersionSource) -> Elements:
    from engine.model import canonical_entry

    out: Elements = {}
    for cat in _data(src, "categories").get("categories") or ():
        for entry in cat.get("control_entries") or ():
            out[canonical_entry(str(entry["entry"]))] = {"category": str(cat["id"]),
                                                         "regime": scalar(entry.get("regime"))}
    return out


def band_rules(src: VersionSource) -> Elements:
    rules = (_data(src, "risk_bands").get("bands") or {}).get("rules") or ()
    return {str(r["band"]): flatten({k: v for k, v in r.items() if k != "band"})
            for r in rules if isinstance(r, Mapping) and "band" in r}


def destinations(src: VersionSource) -> Elements:
    table = _data(src, "destinations").get("destinations") or {}
    return {str(code): flatten(d) for code, d in sorted(table.items()) if isinstance(d, Mapping)}


def rules(src: VersionSource) -> Elements:
    out: Elements = {}
    for rel, doc in src.of_kind("rules"):
        data = doc.data if isinstance(doc.data, Mapping) else {}
        for rule in data.get("rules") or ():
            if isinstance(rule, Mapping) and "id" in rule:
                fields = flatten({k: v for k, v in rule.items() if k != "id"})
                out[str(rule["id"])] = {**fields, "file": rel}
    return out


def _list_of(kind: str, key: str) -> Callable[[VersionSource], Elements]:
    return lambda src: by_id(_data(src, kind).get(key) or ())


_PROVENANCE = re.compile(r"^(freedom_house\.(source|as_of)|factors\[[^]]*\]\.(source|as_of|note))$")
_RULE_SUMMARY = ("when", "outcome", "require_assurances", "conditions")

KINDS: tuple[Kind, ...] = (
    Kind("metadata", "Metadata", metadata),
    Kind("commitments", "Commitments", _list_of("policy", "commitments")),
    Kind("sources", "Sources", _list_of("sources", "sources")),
    Kind("groups", "Category groups", _list_of("categories", "groups")),
    Kind("categories", "Categories", _list_of("categories", "categories"),
         summary=("risk", "groups", "control_entries")),
    Kind("control_entries", "Control-entry mapping", control_entries,
         summary=("category", "regime")),
    Kind("factors", "Destination factors", _list_of("risk_bands", "factors")),
    Kind("band_rules", "Risk band rules", band_rules, summary=("when",)),
    Kind("destinations", "Destinations", destinations,
         summary=("name", "freedom_house.status", "freedom_house.score", "factors"),
         provenance=_PROVENANCE),
    Kind("end_user_types", "End-user types", _list_of("end_users", "end_user_types"),
         summary=("government",)),
    Kind("red_flags", "Red flags", _list_of("end_users", "red_flags")),
    Kind("purposes", "End-use purposes", _list_of("end_users", "end_use_purposes")),
    Kind("roles", "Intermediary roles", _list_of("end_users", "intermediary_roles")),
    Kind("assurances", "Assurances", _list_of("assurances", "assurances")),
    Kind("license_conditions", "Licence conditions", _list_of("assurances", "license_conditions"),
         summary=("text",)),
    Kind("information", "Information requirements", _list_of("information", "requirements"),
         summary=("field", "when")),
    Kind("rules", "Rules", rules, summary=_RULE_SUMMARY),
    # sanctions.yaml (optional): a regime added is imposed, one removed is lifted
    Kind("sanctions", "Sanctions regimes", _list_of("sanctions", "regimes"),
         summary=("targets", "supply", "in_force_from", "in_force_until")),
    # implicated_parties.yaml (optional): an entry added is listed; a delisting is `removed`
    Kind("implicated_parties", "Implicated parties", _list_of("implicated_parties", "parties"),
         summary=("country", "status", "designation", "removed")),
)
KINDS_BY_NAME = {k.name: k for k in KINDS}


def extract(src: VersionSource) -> dict[str, Elements]:
    """Every element of a version, by kind name."""
    return {kind.name: kind.extract(src) for kind in KINDS}
