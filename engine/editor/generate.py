"""Editor schemas per policy version: the hand-written schemas plus the version's vocabulary.

`schemas/*.schema.json` stay the one source of truth for the shape of every file kind. For
each version, `generate` copies a kind's schema programmatically, embeds the schemas it
refers to (`common`, `case`) under `$defs` so the result is one self-contained file, then
*overlays* the vocabulary at the places that name it: fact names, category / factor /
end-user-type / flag / assurance ids, commitments, sources, licence conditions, definition
refs and rule ids become enums with their titles (`markdownEnumDescriptions`, what
yaml-language-server shows in completion lists and hovers). Conditions are rewritten as
`if`/`then` on their discriminating key (engine/editor/conditions.py).

Policy files get *closed* enums: the validator rejects an unknown id there anyway, so the
schema is never stricter than `echri validate`. Cases (in fixtures) get *open* enums
(`anyOf: [enum, the hand-written type]`): an unknown id in a case is a legitimate input the
engine answers with an `unknown-id` finding, so the schema completes ids without rejecting
others.

Output: `<output>/<policy>/<version>/<kind>.schema.json` (default output
`schemas/generated`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.editor.conditions import condition_schema, enum_schema, test_schema, vocab_ref
from engine.editor.vocabulary import Vocab, vocabularies
from engine.facts import BAND_FACTS
from engine.model import Policy
from engine.schemas import BASE_URI, FILE_KINDS, RULES_KIND, SCHEMA_DIR

FIXTURE_KIND = "fixture"
KINDS = (*FILE_KINDS.values(), RULES_KIND, FIXTURE_KIND)
GENERATED = "generated"

# kind → [(JSON pointer into the bundled schema, vocabulary, closed?)]
_COMMON = "/$defs/_common/$defs"
_CASE = "/$defs/_case"
_RULE = "/properties/rules/items/properties"
_REQ = "/properties/requirements/items/properties"
_CAT = "/properties/categories/items/properties"
_BANDS = "/properties/bands/properties"
_DEST = "/properties/destinations/additionalProperties/properties"
_RESTRICTS = "/$defs/regime/properties/restricts/properties"
_EXPECT = "/properties/expect/properties"
OVERLAYS: dict[str, list[tuple[str, str, bool]]] = {
    RULES_KIND: [(f"{_RULE}/commitments/items", "commitments", True),
                 (f"{_RULE}/require_assurances/items", "assurances", True),
                 (f"{_RULE}/conditions/items", "license_conditions", True)],
    "information": [(f"{_REQ}/field", "facts", True),
                    (f"{_REQ}/commitments/items", "commitments", True)],
    "categories": [(f"{_CAT}/risk", "risk_levels", True),
                   (f"{_CAT}/groups/items", "groups", True)],
    "risk_bands": [(f"{_BANDS}/rules/items/properties/band", "bands", True),
                   (f"{_BANDS}/default", "bands", True)],
    "destinations": [(f"{_DEST}/factors/items/properties/id", "factors", True),
                     (f"{_DEST}/factors/items/properties/source", "sources", True),
                     (f"{_DEST}/freedom_house/properties/source", "sources", True),
                     (f"{_DEST}/inherits_from/properties/code", "destinations", True),
                     (f"{_DEST}/inherits_from/properties/source", "sources", True)],
    "sanctions": [("/$defs/country", "destinations", True),
                  (f"{_RESTRICTS}/categories/items", "categories", True),
                  (f"{_RESTRICTS}/end_uses/items", "end_use_purposes", True),
                  (f"{_RESTRICTS}/end_user_types/items", "end_user_types", True)],
    "implicated_parties": [("/$defs/party/properties/country", "destinations", True)],
    FIXTURE_KIND: [(f"{_CASE}/$defs/country", "destinations", False),
                   (f"{_CASE}/properties/destination", "destinations", False),
                   (f"{_CASE}/properties/items/items/properties/category", "categories", False),
                   (f"{_CASE}/properties/items/items/properties/control_entries/items",
                    "control_entries", False),
                   (f"{_CASE}/properties/end_user/properties/type", "end_user_types", False),
                   (f"{_CASE}/properties/end_user/properties/flags/items", "red_flags", False),
                   (f"{_CASE}/properties/end_use/properties/purpose", "end_use_purposes",
                    False),
                   (f"{_CASE}/properties/intermediaries/items/properties/role",
                    "intermediary_roles", False),
                   (f"{_CASE}/properties/assurances/items", "assurances", False),
                   (f"{_EXPECT}/rules/items", "rules", False),
                   (f"{_EXPECT}/missing_assurances/items", "assurances", False),
                   (f"{_EXPECT}/conditions/items", "license_conditions", False),
                   (f"{_EXPECT}/information_requests/items", "facts", False)],
}
# Where a kind tests conditions: (pointer of a `when`, condition flavour)
WHENS: dict[str, list[tuple[str, str]]] = {
    RULES_KIND: [(f"{_RULE}/when", "condition"),
                 ("/properties/definitions/items/properties/when", "condition")],
    "information": [(f"{_REQ}/when", "condition")],
    "risk_bands": [(f"{_BANDS}/rules/items/properties/when", "band_condition")],
}


class SchemaGenError(Exception):
    """A hand-written schema no longer has a place the generator overlays."""


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text("utf-8"))
    return data


def _doc_name(uri: str) -> str:
    return uri.rsplit("/", 1)[-1].removesuffix(".schema.json")


def _bundle(kind: str) -> dict[str, Any]:
    """The kind's schema with every schema it refers to embedded as `$defs/_<name>`."""
    embedded: dict[str, Any] = {}

    def rewrite(node: Any, owner: str | None) -> Any:
        if isinstance(node, list):
            return [rewrite(v, owner) for v in node]
        if not isinstance(node, dict):
            return node
        out = {k: rewrite(v, owner) for k, v in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str):
            base, _, frag = ref.partition("#")
            name = _doc_name(base) if base else owner
            if name is None or name == kind:
                out["$ref"] = "#" + frag
            else:
                if name not in embedded:
                    embedded[name] = None  # placeholder against cycles
                    doc = _load(name)
                    doc.pop("$id", None)
                    doc.pop("$schema", None)
                    embedded[name] = rewrite(doc, name)
                out["$ref"] = f"#/$defs/_{name}{frag}"
        return out

    root = rewrite(_load(kind), None)
    defs = root.setdefault("$defs", {})
    for name, doc in embedded.items():
        defs[f"_{name}"] = doc
    return dict(root)


def _at(schema: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
    """Parent object and key of a JSON pointer that must exist."""
    parts = pointer.strip("/").split("/")
    node: Any = schema
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            raise SchemaGenError(f"the schema has no `{pointer}` (at `{part}`)")
        node = node[part]
    if not isinstance(node, dict) or parts[-1] not in node:
        raise SchemaGenError(f"the schema has no `{pointer}`")
    return node, parts[-1]


def _restrict(schema: dict[str, Any], pointer: str, vocab: str, closed: bool) -> None:
    parent, key = _at(schema, pointer)
    original = parent[key]
    description = original.get("description") if isinstance(original, dict) else None
    new: dict[str, Any] = ({"allOf": [original, vocab_ref(vocab)]} if closed
                           else {"anyOf": [vocab_ref(vocab), original]})
    if description:
        new["description"] = description
    parent[key] = new


def _used_vocabs(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/vocab_"):
            found.add(ref.removeprefix("#/$defs/vocab_"))
        for v in node.values():
            _used_vocabs(v, found)
    elif isinstance(node, list):
        for v in node:
            _used_vocabs(v, found)
    return found


def kind_schema(kind: str, policy: Policy, vocabs: dict[str, Vocab]) -> dict[str, Any]:
    """The editor schema of one file kind for one version."""
    schema = _bundle(kind)
    defs = schema["$defs"]
    schema["$id"] = f"{BASE_URI}{GENERATED}/{policy.id}/{policy.version}/{kind}.schema.json"
    schema["description"] = (
        f"{schema.get('description', schema.get('title', kind))} — generated for "
        f"{policy.id}@{policy.version} by `echri schema generate` from "
        f"schemas/{kind}.schema.json and the version's vocabulary; do not edit")
    common = defs.get("_common", {}).get("$defs", {})
    if "citation" in common:
        _restrict(schema, f"{_COMMON}/citation/properties/source", "sources", True)
    if kind in WHENS:
        for name in ("condition", "test", "band_condition", "band_test"):
            if name in defs:
                raise SchemaGenError(f"`{kind}` already defines `$defs/{name}`")
        defs["condition"] = condition_schema(True)
        defs["test"] = test_schema(vocabs["facts"])
        defs["band_condition"] = condition_schema(
            False, "#/$defs/band_condition", "#/$defs/band_test")
        defs["band_test"] = test_schema(vocabs["facts"], list(BAND_FACTS))
        common["condition"] = {"$ref": "#/$defs/condition"}
        common["test"] = {"$ref": "#/$defs/test"}
    for pointer, flavour in WHENS.get(kind, ()):
        parent, key = _at(schema, pointer)
        parent[key] = {"$ref": f"#/$defs/{flavour}"}
    for pointer, vocab, closed in OVERLAYS.get(kind, ()):
        _restrict(schema, pointer, vocab, closed)
    reachable = _used_vocabs(schema, set())
    for name in sorted(reachable):
        defs[f"vocab_{name}"] = enum_schema(vocabs[name])
    return schema


def render(schema: dict[str, Any]) -> str:
    """The file text of a generated schema (stable, so `--check` can compare)."""
    return json.dumps(schema, indent=1, ensure_ascii=False) + "\n"


def schema_path(output: Path, policy: Policy, kind: str) -> Path:
    return output / policy.id / policy.version / f"{kind}.schema.json"


def version_schemas(policy: Policy) -> dict[str, str]:
    """Kind → rendered editor schema, for every kind, of one version."""
    vocabs = vocabularies(policy)
    return {kind: render(kind_schema(kind, policy, vocabs))
            for kind in KINDS}


@dataclass(frozen=True, slots=True)
class SchemaReport:
    written: tuple[Path, ...] = ()
    stale: tuple[Path, ...] = ()  # differ from what would be generated, or missing / extra


def generate(policies: Iterable[Policy], output: Path, *, check: bool = False) -> SchemaReport:
    """Write (or with `check`, compare) the editor schemas of every version."""
    written: list[Path] = []
    stale: list[Path] = []
    for policy in policies:
        texts = {schema_path(output, policy, k): t for k, t in version_schemas(policy).items()}
        directory = output / policy.id / policy.version
        extra = sorted(p for p in directory.glob("*.schema.json") if p not in texts) \
            if directory.is_dir() else []
        for path, text in texts.items():
            current = path.read_text("utf-8") if path.is_file() else None
            if current == text:
                continue
            if check:
                stale.append(path)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                written.append(path)
        if check:
            stale.extend(extra)
        else:
            for path in extra:
                path.unlink()
                written.append(path)
    return SchemaReport(tuple(written), tuple(stale))
