"""msgspec types built from a JSON Schema: the one-step validity check of the hot path.

`msgspec.convert` walks a case in C and answers valid / invalid several times faster than
the code fastjsonschema generates. The types are derived from the same schema file (one
source of truth) and only for the subset of JSON Schema whose meaning they keep exactly:
`type`, `enum`, `properties` / `required` / `additionalProperties: false`, string lengths and
`pattern`, number bounds, array `items` and lengths, `allOf` that merges constraints, and
`oneOf` / `anyOf` of branches of distinct JSON types. `uniqueItems` and `format: date`, which
msgspec cannot express, are checked afterwards on the paths that have them. A schema with
anything else is `Unsupported` and the caller asks jsonschema; an invalid value is
always answered again by jsonschema, which lists the problems, so the types only need to
never accept what the schema refuses (tests/test_structs.py checks both directions on
generated and mutated cases).

Built with a `Compiler` (engine/validity.py), a schema msgspec cannot express is checked in
two parts instead of being `Unsupported`: at the smallest node msgspec cannot express, the
keywords that hold on their own (`_APART`: `oneOf`, `minProperties`, `$ref`...) are compiled
into a predicate run on the values at that path after the conversion, and msgspec checks
the rest of the node; a node whose rest it cannot express either is all predicate (`Any` for
msgspec). Every JSON Schema keyword is a separate condition on the value (none of those
moved apart reads a sibling), so the two parts together accept exactly what the node does.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

import msgspec

from engine.validity import ANNOTATIONS, Compiler, Predicate, Unsupported, is_date

_BY_TYPE = {"string": {"minLength", "maxLength", "pattern", "format"},
            "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"},
            "array": {"items", "minItems", "maxItems", "uniqueItems"},
            "object": {"properties", "required", "additionalProperties"}}
_BY_TYPE["integer"] = _BY_TYPE["number"]
_KNOWN = frozenset({"type", "enum", "allOf", "oneOf", "anyOf", *itertools.chain(
    *_BY_TYPE.values())})
_FORMATS = {"date"}
# Keywords a predicate checks apart from the msgspec type of their node: each is a condition
# on the value alone (no other keyword reads them, they read no sibling).
_APART = frozenset({"oneOf", "anyOf", "allOf", "not", "$ref", "enum", "const",
                    "propertyNames", "minProperties", "maxProperties", "dependentRequired"})
_NAMES = itertools.count()

Path = tuple[str, ...]  # property names, and "*" for every element of an array
__all__ = ["StructCheck", "Unsupported", "build", "encodes_as_utf8"]


@dataclass(frozen=True)
class StructCheck:
    """A compiled check: `valid(data)` is True only if the schema accepts `data`."""

    type: Any
    unique: tuple[Path, ...]  # arrays whose items must be distinct
    dates: tuple[Path, ...]  # strings of `format: date`
    # every value the type accepts is a string, boolean, null, a number within ±2^53, or
    # an array / object nested at most `depth` levels (no open object, no untyped value)
    bounded: bool
    depth: int
    # predicates (engine/validity.py) for what msgspec cannot express, by path
    checks: tuple[tuple[Path, Predicate], ...] = ()

    def valid(self, data: Any) -> bool:
        try:
            msgspec.convert(data, self.type, strict=True)
        except Exception:  # ValidationError; UnicodeEncodeError on a lone surrogate
            return False
        if not (all(_distinct(v) for p in self.unique for v in _at(data, p)) and all(
                not isinstance(v, str) or is_date(v) for p in self.dates for v in _at(data, p))):
            return False
        try:
            return all(check(v) for p, check in self.checks for v in _at(data, p))
        except Exception:  # RecursionError on absurd nesting: jsonschema answers
            return False


def build(schema: dict[str, Any], predicates: Compiler | None = None) -> StructCheck:
    """The check for a schema whose references are already inlined (engine/schemas.py);
    with `predicates`, what msgspec cannot express is checked by predicates it compiles."""
    b = _Builder(predicates)
    kind = b.node(schema, ())
    return StructCheck(kind, tuple(b.unique), tuple(b.dates), b.bounded, b.depth,
                       tuple(b.checks))


MAX_SAFE = 2**53


class _Builder:
    def __init__(self, predicates: Compiler | None = None) -> None:
        self.unique: list[Path] = []
        self.dates: list[Path] = []
        self.checks: list[tuple[Path, Predicate]] = []
        self.bounded = True
        self.depth = 0
        self.predicates = predicates

    def node(self, schema: Any, path: Path) -> Any:
        if self.predicates is None:
            return self.typed_node(schema, path)
        saved = (len(self.unique), len(self.dates), len(self.checks), self.bounded, self.depth)
        try:
            return self.typed_node(schema, path)
        except Unsupported:
            self._restore(saved)
        apart = {k: v for k, v in schema.items() if k in _APART} \
            if isinstance(schema, dict) else {}
        if apart:
            try:
                kind = self.typed_node({k: v for k, v in schema.items() if k not in apart},
                                       path)
                self.checks.append((path, self.predicates.compile(apart)))
                return kind
            except Unsupported:
                self._restore(saved)
        self.checks.append((path, self.predicates.compile(schema)))
        self.bounded = False
        return Any

    def _restore(self, saved: tuple[int, int, int, bool, int]) -> None:
        """Forget what a node msgspec could not express registered while it was tried."""
        del self.unique[saved[0]:], self.dates[saved[1]:], self.checks[saved[2]:]
        self.bounded, self.depth = saved[3], saved[4]

    def typed_node(self, schema: Any, path: Path) -> Any:
        if schema is True or schema == {}:
            self.bounded = False
            return Any
        if not isinstance(schema, dict):
            raise Unsupported(f"schema at {path}: {schema!r}")
        schema = _merged(schema, path)
        unknown = set(schema) - _KNOWN - ANNOTATIONS
        if unknown:
            raise Unsupported(f"keyword(s) {sorted(unknown)} at {path}")
        if "enum" in schema:
            return _enum(schema, path)
        branches = schema.get("oneOf") or schema.get("anyOf")
        if branches is not None:
            if "type" in schema or ("oneOf" in schema and "anyOf" in schema):
                raise Unsupported(f"oneOf/anyOf beside other types at {path}")
            return self.union(branches, path)
        types = schema.get("type")
        if types is None:
            raise Unsupported(f"no type at {path}")
        types = [types] if isinstance(types, str) else list(types)
        return _union_of([self.typed(t, schema, path) for t in types], path)

    def union(self, branches: list[Any], path: Path) -> Any:
        kinds: set[str] = set()
        out = []
        for branch in branches:
            if not isinstance(branch, dict):
                raise Unsupported(f"oneOf branch at {path}")
            found = branch.get("type")
            found = {found} if isinstance(found, str) else set(found or ())
            if not found or found & kinds or "enum" in branch:
                raise Unsupported(f"oneOf branches of overlapping types at {path}")
            kinds |= found
            out.append(self.node(branch, path))
        return _union_of(out, path)

    def typed(self, kind: str, schema: dict[str, Any], path: Path) -> Any:
        self.depth = max(self.depth, len(path))  # containers above a value at `path`
        if kind == "null":
            return None
        if kind == "boolean":
            return bool
        if kind == "string":
            fmt = schema.get("format")
            if fmt is not None:
                if fmt not in _FORMATS:
                    raise Unsupported(f"format `{fmt}` at {path}")
                self.dates.append(path)
            return _meta(str, min_length=schema.get("minLength"),
                         max_length=schema.get("maxLength"), pattern=schema.get("pattern"))
        if kind in ("number", "integer"):
            return self.number(kind, schema)
        if kind == "array":
            if schema.get("uniqueItems"):
                self.unique.append(path)
            item = self.node(schema.get("items", {}), (*path, "*"))
            return _meta(list[item], min_length=schema.get("minItems"),  # type: ignore[valid-type]
                         max_length=schema.get("maxItems"))
        if kind == "object":
            return self.struct(schema, path)
        raise Unsupported(f"type `{kind}` at {path}")

    def number(self, kind: str, schema: dict[str, Any]) -> Any:
        bounds = {"ge": schema.get("minimum"), "le": schema.get("maximum"),
                  "gt": schema.get("exclusiveMinimum"), "lt": schema.get("exclusiveMaximum")}
        low = bounds["ge"] if bounds["ge"] is not None else bounds["gt"]
        high = bounds["le"] if bounds["le"] is not None else bounds["lt"]
        if low is None or high is None or not -MAX_SAFE <= low <= high <= MAX_SAFE:
            self.bounded = False
        ints = _meta(int, **{k: _int_bound(k, v) for k, v in bounds.items()})
        return ints if kind == "integer" else Union[ints, _meta(float, **bounds)]  # noqa: UP007

    def struct(self, schema: dict[str, Any], path: Path) -> Any:
        extra = schema.get("additionalProperties", True)
        if extra not in (True, False):
            raise Unsupported(f"additionalProperties schema at {path}")
        props = schema.get("properties", {})
        required = set(schema.get("required", ()))
        if required - set(props):
            raise Unsupported(f"required property without a schema at {path}")
        if extra:
            self.bounded = False
        if not props and extra:
            return dict[str, Any]
        fields: list[Any] = []
        rename = {}
        for i, (name, sub) in enumerate(props.items()):
            field = f"f{i}"  # property names need not be identifiers
            rename[field] = name
            kind = self.node(sub, (*path, name))
            fields.append((field, kind) if name in required else (field, kind, msgspec.UNSET))
        return msgspec.defstruct(f"S{next(_NAMES)}", fields, rename=rename, kw_only=True,
                                 forbid_unknown_fields=not extra)


def _merged(schema: dict[str, Any], path: Path) -> dict[str, Any]:
    """`allOf` folded into the schema when its parts constrain different keywords."""
    parts = schema.get("allOf")
    if parts is None:
        return schema
    out = {k: v for k, v in schema.items() if k != "allOf"}
    for part in parts:
        if not isinstance(part, dict):
            raise Unsupported(f"allOf part at {path}")
        part = _merged(part, path)
        # `additionalProperties` sees only the `properties` beside it: not to be merged
        if "additionalProperties" in part or ("additionalProperties" in out and
                                              "properties" in part):
            raise Unsupported(f"allOf part with additionalProperties at {path}")
        for key, value in part.items():
            if key in ANNOTATIONS:
                continue
            if key in out and out[key] != value:
                raise Unsupported(f"allOf repeats `{key}` at {path}")
            out[key] = value
    return out


def _enum(schema: dict[str, Any], path: Path) -> Any:
    values = schema["enum"]
    types = schema.get("type", ["string", "null"])
    types = {types} if isinstance(types, str) else set(types)
    # a `type` beside the enum changes nothing when every value has one of its types
    if set(schema) - ANNOTATIONS - {"enum", "type"} or not values or not all(
            ("null" if v is None else "string") in types and (v is None or type(v) is str)
            for v in values):
        raise Unsupported(f"enum beside other keywords, or of non-strings, at {path}")
    return Literal[tuple(values)]


def _union_of(types: list[Any], path: Path) -> Any:
    if len(types) == 1:
        return types[0]
    try:
        return Union[tuple(types)]  # noqa: UP007 (built from a list)
    except TypeError as exc:
        raise Unsupported(f"types at {path}: {exc}") from None


def _int_bound(kind: str, bound: Any) -> Any:
    """An int bound that means the same as the number bound (1e15 → < 10**15)."""
    if bound is None or isinstance(bound, int):
        return bound
    if float(bound).is_integer():
        return int(bound)
    raise Unsupported(f"fractional bound {bound!r} for an integer ({kind})")


def _meta(base: Any, **constraints: Any) -> Any:
    given = {k: v for k, v in constraints.items() if v is not None}
    return Annotated[base, msgspec.Meta(**given)] if given else base


def encodes_as_utf8(data: Any) -> bool:
    """Whether every string (and key) of JSON-shaped `data` encodes as UTF-8 (no lone
    surrogate), answered by msgspec's encoder in C."""
    try:
        msgspec.json.encode(data)
    except Exception:  # a lone surrogate, or a value JSON has no form for: the slow path
        return False
    return True


def _at(data: Any, path: Path) -> list[Any]:
    """The values at `path` in data the types accepted (missing branches give none)."""
    found = [data]
    for step in path:
        nxt: list[Any] = []
        for value in found:
            if step == "*" and isinstance(value, list | tuple):
                nxt.extend(value)
            elif isinstance(value, dict) and step in value:
                nxt.append(value[step])
        found = nxt
    return found


def _distinct(value: Any) -> bool:
    if not isinstance(value, list | tuple):
        return True
    keys = [_frozen(v) for v in value]
    return len(set(keys)) == len(keys)


def _frozen(value: Any) -> Any:
    """A hashable form with JSON equality: `true` differs from `1`, `1` equals `1.0`."""
    if isinstance(value, dict):
        return ("object", frozenset((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("array", tuple(_frozen(v) for v in value))
    return (type(value) is bool, value)
