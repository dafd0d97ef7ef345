"""The one-step check of policy files (engine/structs.py with the predicates of
engine/validity.py) never says valid when jsonschema finds an error, so `check_document`
gives the same diagnostics with and without it; and it accepts every policy file (else
the schema pass of loading a version is not shortened)."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

import engine.schemas as schemas
from engine.loader import Document, load_yaml_file
from engine.repository import load_version_source
from engine.schemas import check_document, file_kind, struct_check, validator
from engine.validity import Compiler, Unsupported

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = sorted(p.parent for p in (ROOT / "policies").glob("*/*/policy.yaml"))
FIXTURES = sorted((ROOT / "fixtures").rglob("*.yaml"))[::25]
# values that break a type, an enum, a pattern, a bound, a length or a format, or fit one
HOSTILE: list[Any] = [
    None, True, False, 0, 1, -1, 2, 8, 9, 0.5, 1.0, -0.0, 1e300, 2**60, float("nan"),
    float("inf"), "", " ", "x", "X", "a-b", "a_b", "-a", "1a", "a\u200bb", "a\n", "deny",
    "approve", "refer", "V", "A", "2026-01-01", "2026-02-30", "2026", "DE", "de", "ＤＥ",
    "wassenaar", "destination", "end_user.type", "x" * 600, [], [None], ["x", "x"], [1, True],
    [1, 1.0], [[]], {}, {"x": 1}, {"all": []}, {"any": []}, {"not": {"all": []}},
    {"fact": "destination"}, {"fact": "destination", "equals": "DE"},
    {"fact": "destination", "in": ["DE"], "equals": "DE"}, {"ref": "Bad"},
    {"at_least": 9, "of": [{"all": []}]}, {"all": [], "any": [{"all": []}]}]


def _documents() -> list[tuple[str, str, Document]]:
    out = []
    for version in VERSIONS:
        src = load_version_source(version)
        for rel, doc in sorted(src.docs.items()):
            kind = file_kind(rel)
            if kind is not None and doc.ok:
                out.append((f"{version.name}/{rel}", kind, doc))
    for path in FIXTURES:
        out.append((str(path.relative_to(ROOT)), "fixture", load_yaml_file(path)))
    for path in REGISTER_FILES:
        kind = _register_kind(path.name)
        if kind is not None:
            out.append((str(path.relative_to(ROOT)), kind, load_yaml_file(path)))
    return out


def _register_kind(name: str) -> str | None:
    if name == "settings.yaml":
        return "register-settings"
    return next((kind for suffix, kind in REGISTER_KINDS.items() if name.endswith(suffix)),
                None)


REGISTER_FILES = sorted([*(ROOT / "examples" / "registers").glob("*.yaml"),
                         *(ROOT / "tests" / "data" / "registers").rglob("*.yaml")])
REGISTER_KINDS = {".notices.yaml": "register-notices", ".notes.yaml": "register-notes"}
ALL_DOCUMENTS = _documents()
# the files jsonschema accepts (the others: tests/data/registers/invalid/)
DOCUMENTS = [d for d in ALL_DOCUMENTS if validator(d[1]).is_valid(d[2].data)]
IDS = [name for name, _, _ in DOCUMENTS]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*path, i))


def _donors(data: Any) -> dict[str, list[Any]]:
    """The values of the file by the key they are under ("*": list items)."""
    out: dict[str, list[Any]] = {}
    for path in list(_paths(data))[1:]:
        value = data
        for step in path:
            value = value[step]
        out.setdefault(path[-1] if isinstance(path[-1], str) else "*", []).append(value)
    return out


def _mutate(data: Any, rng: random.Random, donors: dict[str, list[Any]]) -> Any:
    """One to three edits: drop or add a key, replace a value (hostile, or one from elsewhere
    in the file: often still valid), duplicate, drop or empty list items, empty a mapping."""
    data = copy.deepcopy(data)
    for _ in range(rng.randint(1, 3)):
        paths = list(_paths(data))[1:]
        if not paths:
            return rng.choice(HOSTILE)
        *head, last = rng.choice(paths)
        parent = data
        for step in head:
            parent = parent[step]
        value = parent[last]
        roll = rng.random()
        if roll < 0.15 and isinstance(parent, dict):
            del parent[last]
        elif roll < 0.25 and isinstance(parent, dict):
            parent[rng.choice([f"{last}x", "extra", "description", "when", "fact", "all"])] = \
                copy.deepcopy(rng.choice(HOSTILE))
        elif roll < 0.35 and isinstance(value, list) and value:
            choice = rng.random()
            if choice < 0.4:
                value.append(copy.deepcopy(rng.choice(value)))
            elif choice < 0.7:
                value.pop(rng.randrange(len(value)))
            else:
                value.clear()
        elif roll < 0.4 and isinstance(value, dict):
            value.clear()
        elif roll < 0.7:  # a value from another place of the same name: often valid
            same = donors.get(last if isinstance(last, str) else "*") or [value]
            parent[last] = copy.deepcopy(rng.choice(same))
        else:
            parent[last] = copy.deepcopy(rng.choice(HOSTILE))
    return data


@pytest.mark.parametrize(("name", "kind", "doc"), DOCUMENTS, ids=IDS)
def test_every_policy_file_takes_the_fast_path(name: str, kind: str, doc: Document) -> None:
    check = struct_check(kind)
    assert check is not None, kind
    assert check.valid(doc.data), name
    assert validator(kind).is_valid(doc.data)


@pytest.mark.parametrize(("name", "kind", "doc"),
                         [d for d in ALL_DOCUMENTS if d not in DOCUMENTS],
                         ids=[d[0] for d in ALL_DOCUMENTS if d not in DOCUMENTS])
def test_an_invalid_file_is_refused(name: str, kind: str, doc: Document,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    check = struct_check(kind)
    assert check is None or not check.valid(doc.data)
    assert _diagnostics(doc, kind, True, monkeypatch) == \
        _diagnostics(doc, kind, False, monkeypatch) != []


def test_the_case_contract_needs_no_predicate() -> None:
    """The hot path's check of a case stays msgspec alone, bounded (engine/cases/contract.py)."""
    check = struct_check("case")
    assert check is not None and check.checks == () and check.bounded


def _diagnostics(doc: Document, kind: str, fast: bool, monkeypatch: pytest.MonkeyPatch
                 ) -> list[Any]:
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(schemas, "struct_check", lambda kind: None)
        return check_document(doc, kind)


@pytest.mark.parametrize(("name", "kind", "doc"), DOCUMENTS, ids=IDS)
def test_mutations_never_pass_what_jsonschema_refuses(
        name: str, kind: str, doc: Document, monkeypatch: pytest.MonkeyPatch) -> None:
    check = struct_check(kind)
    assert check is not None
    rng = random.Random(name)
    donors = _donors(doc.data)
    full = validator(kind)
    small = _shrunk(doc.data)
    if not full.is_valid(small):
        small = doc.data
    accepted = refused = 0
    for i in range(34):
        data = _mutate(doc.data if i < 4 else small, rng, donors)
        fast = check.valid(data)
        valid = full.is_valid(data)
        assert valid or not fast, (name, data)
        accepted += fast
        refused += not valid
        if i < 4:  # the diagnostics themselves, with and without the fast path
            mutated = Document(doc.path, data, doc.marks, doc.key_marks)
            assert _diagnostics(mutated, kind, True, monkeypatch) == \
                _diagnostics(mutated, kind, False, monkeypatch)
    assert refused and accepted  # the mutations both broke and kept the schema


def _shrunk(data: Any) -> Any:
    """At most six items of each list and six keys of each mapping (of twenty or more:
    the destination table), so that jsonschema answers each mutation quickly."""
    if isinstance(data, list):
        return [_shrunk(v) for v in data[:6]]
    if isinstance(data, dict):
        keys = list(data)[:6] if len(data) >= 20 else list(data)
        return {k: _shrunk(data[k]) for k in keys}
    return data


def _condition_nodes(cond: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(cond, dict):
        return
    yield cond
    for key in ("all", "any", "of"):
        for sub in cond[key] if isinstance(cond.get(key), list) else ():
            yield from _condition_nodes(sub)
    yield from _condition_nodes(cond.get("not"))


def _alone(data: Any, path: tuple[Any, ...]) -> Any:
    """A copy of the file where every list on `path` keeps only the item on the path (one
    condition for jsonschema to check per edit, not every condition of the file)."""
    if not path:
        return copy.deepcopy(data)
    step, rest = path[0], path[1:]
    if isinstance(data, list):
        return [_alone(data[step], rest)]
    return {k: _alone(v, rest) if k == step else copy.deepcopy(v) for k, v in data.items()}


def _condition_documents(data: Any, kind: str, rng: random.Random
                         ) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(a valid file reduced to one condition, a node of that condition), for ten conditions
    of the file."""
    whens = [p for p in _paths(data) if p and p[-1] == "when"]
    assert whens
    for path in rng.sample(whens, min(len(whens), 10)):
        alone = _alone(data, path)
        if validator(kind).is_valid(alone):
            when = alone
            for step in path:
                when = when[0 if isinstance(when, list) else step]
            yield alone, rng.choice(list(_condition_nodes(when)))


CONDITION_EDITS: list[tuple[str, Any]] = [
    ("drop", None), ("fact", "Bad"), ("fact", 1), ("equals", [1]), ("in", []), ("in", "DE"),
    ("exists", "yes"), ("lt", "1"), ("gte", True), ("all", {}), ("any", []), ("not", []),
    ("at_least", 0), ("at_least", 1.5), ("of", []), ("ref", "Bad_id"), ("extra", 1),
    ("equals", 1.5), ("contains_any", ["x"]), ("all", [])]


@pytest.mark.parametrize(("name", "kind", "doc"),
                         [d for d in DOCUMENTS if d[1] in ("rules", "risk_bands", "information")],
                         ids=[d[0] for d in DOCUMENTS if d[1] in ("rules", "risk_bands",
                                                                  "information")])
def test_every_condition_form_broken_in_place(name: str, kind: str, doc: Document) -> None:
    """Each edit, one at a time, on a node of ten conditions of the file: the predicate of
    the condition schema agrees with jsonschema both ways."""
    check = struct_check(kind)
    assert check is not None
    full = validator(kind)
    edited = 0
    for data, node in _condition_documents(doc.data, kind, random.Random(name)):
        saved = dict(node)
        for key, value in CONDITION_EDITS:
            if key == "drop":
                node.pop(next(iter(node)), None)
            else:
                node[key] = copy.deepcopy(value)
            assert check.valid(data) == full.is_valid(data), (name, saved, key, value)
            node.clear()
            node.update(saved)
            edited += 1
    assert edited


SCHEMAS: list[Any] = [
    True, False, {}, {"type": "integer"}, {"type": ["string", "null"]}, {"type": "number"},
    {"enum": ["a", "b"]}, {"enum": [1, True, None, [1], {"a": 1}]}, {"const": 1},
    {"const": [1.0, False]}, {"minimum": 0, "exclusiveMaximum": 1}, {"maximum": 8},
    {"exclusiveMinimum": 0.5}, {"minLength": 2, "maxLength": 3}, {"pattern": "(?a)^[a-z]+\\Z"},
    {"format": "date"}, {"type": "string", "format": "date"},
    {"items": {"type": "string"}, "minItems": 1, "maxItems": 2}, {"uniqueItems": True},
    {"items": False}, {"required": ["a"], "properties": {"a": {"type": "integer"}}},
    {"additionalProperties": False, "properties": {"a": True}},
    {"additionalProperties": {"type": "string"}, "properties": {"a": {"type": "integer"}}},
    {"propertyNames": {"pattern": "^[A-Z]{2}\\Z"}}, {"minProperties": 1, "maxProperties": 1},
    {"dependentRequired": {"a": ["b"]}}, {"allOf": [{"minimum": 1}, {"type": "integer"}]},
    {"anyOf": [{"required": ["a"]}, {"required": ["b"]}]},
    {"oneOf": [{"type": "integer"}, {"minimum": 2}]}, {"not": {"type": "string"}},
    {"oneOf": [{"required": ["a"], "maxProperties": 1}, {"required": ["b"]}]}]
VALUES: list[Any] = [
    *HOSTILE, 3, 2.5, "ab", "abc", "abcd", "AB", {"a": 1}, {"b": 1}, {"a": 1, "b": 2},
    {"a": "x", "c": "y"}, {"a": 1, "c": 2}, {"AB": 1}, {1: "x"}, ["a"], ["a", "b", "c"],
    [1, 1], [{"a": 1}, {"a": 1.0}], [True, 1], "2024-02-29", "2023-02-29", "٢٠٢٤-٠١-٠١"]


@pytest.mark.parametrize("schema", SCHEMAS, ids=str)
def test_each_keyword_means_what_jsonschema_means(schema: Any) -> None:
    predicate = Compiler().compile(schema)
    full = Draft202012Validator(schema, format_checker=FormatChecker())
    for value in VALUES:
        assert predicate(value) == full.is_valid(value), (schema, value)


@pytest.mark.parametrize("schema", [
    {"patternProperties": {"^a": {}}}, {"prefixItems": [{}]}, {"if": {}, "then": {}},
    {"unevaluatedProperties": False}, {"format": "email"}, {"$ref": "#/$defs/x"},
    {"$ref": "https://echri.example.org/schemas/common.schema.json#/$defs/id"},
    {"multipleOf": 2}, {"contains": {}}, {"type": "thing"}])
def test_what_it_cannot_express_is_unsupported(schema: Any) -> None:
    with pytest.raises(Unsupported):
        Compiler().compile(schema)  # no resolver: no `$ref` either
