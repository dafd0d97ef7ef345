"""Yes/no validity predicates compiled from a JSON Schema: the part of the one-step check
(engine/structs.py) that msgspec types cannot express, such as `oneOf` over objects told
apart by their keys (conditions), `minProperties` or a recursive `$ref`.

A predicate answers only valid / invalid, as jsonschema's `is_valid` would, and never
builds an error; invalid documents go to jsonschema for their diagnostics. Each keyword
below is written after jsonschema's own (`jsonschema/_keywords.py`, draft 2020-12: a
keyword that constrains one JSON type says nothing about a value of another type), with
its `equal` and `uniq` for `enum`, `const` and `uniqueItems` and the same `format: date`
check. Only the keywords listed in `_KEYWORDS` are compiled: any other (`patternProperties`,
`prefixItems`, `if`, `unevaluatedProperties`, another format, a relative `$ref`...) makes
the schema `Unsupported`, and the caller asks jsonschema (tests/test_policy_fast_check.py
compares the two on every policy file and mutations of them).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from typing import Any

from jsonschema import FormatChecker
from jsonschema._utils import equal, uniq

Predicate = Callable[[Any], bool]
Resolve = Callable[[str], Any]  # an absolute `$ref` → the schema it names (refs absolute)


class Unsupported(ValueError):
    """The schema uses a keyword the one-step check cannot express exactly."""


# Keywords that describe and do not constrain.
ANNOTATIONS = frozenset({"description", "title", "$comment", "default", "examples", "$id",
                         "$schema", "$defs"})
_OBJECT = frozenset({"properties", "required", "additionalProperties", "propertyNames",
                     "minProperties", "maxProperties", "dependentRequired"})
_ARRAY = frozenset({"items", "minItems", "maxItems", "uniqueItems"})
_STRING = frozenset({"minLength", "maxLength", "pattern", "format"})
_NUMBER = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_KEYWORDS = frozenset({"type", "enum", "const", "allOf", "anyOf", "oneOf", "not", "$ref",
                       *_OBJECT, *_ARRAY, *_STRING, *_NUMBER})
_DATES = FormatChecker(["date"])  # the date check jsonschema applies


def is_date(text: str) -> bool:
    """`format: date` as jsonschema checks it."""
    return _DATES.conforms(text, "date")


def _is_number(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, numbers.Number)


# jsonschema's draft 2020-12 type checker (an integer may be a float with no fraction)
TYPES: dict[str, Predicate] = {
    "array": lambda x: isinstance(x, list),
    "boolean": lambda x: isinstance(x, bool),
    "integer": lambda x: not isinstance(x, bool) and (
        isinstance(x, int) or (isinstance(x, float) and x.is_integer())),
    "null": lambda x: x is None,
    "number": _is_number,
    "object": lambda x: isinstance(x, dict),
    "string": lambda x: isinstance(x, str),
}


def _true(x: Any) -> bool:
    return True


def _false(x: Any) -> bool:
    return False


def _all(checks: list[Predicate]) -> Predicate:
    checks = [c for c in checks if c is not _true]
    if not checks:
        return _true
    if len(checks) == 1:
        return checks[0]
    found = tuple(checks)

    def every(x: Any) -> bool:
        return all(c(x) for c in found)
    return every


class Compiler:
    """Compiles schemas into predicates; `$ref`s are resolved once (recursion allowed)."""

    def __init__(self, resolve: Resolve | None = None) -> None:
        self.resolve = resolve
        self.refs: dict[str, Predicate] = {}

    def compile(self, schema: Any) -> Predicate:
        if schema is True:
            return _true
        if schema is False:
            return _false
        if not isinstance(schema, dict):
            raise Unsupported(f"schema {schema!r}")
        unknown = set(schema) - _KEYWORDS - ANNOTATIONS
        if unknown:
            raise Unsupported(f"keyword(s) {sorted(unknown)}")
        # every keyword holds on its own (none of these reads a sibling but
        # additionalProperties, which reads `properties`): the cheap ones are tried first
        return _all([self._type(schema), self._values(schema), _string(schema),
                     _number(schema), self._object(schema), self._array(schema),
                     *self._applicators(schema)])

    def _type(self, schema: dict[str, Any]) -> Predicate:
        if "type" not in schema:
            return _true
        names = schema["type"]
        names = [names] if isinstance(names, str) else list(names)
        if not names or not all(isinstance(n, str) and n in TYPES for n in names):
            raise Unsupported(f"type {names!r}")
        tests = tuple(TYPES[n] for n in names)
        if len(tests) == 1:
            return tests[0]
        return lambda x: any(t(x) for t in tests)

    def _values(self, schema: dict[str, Any]) -> Predicate:
        checks: list[Predicate] = []
        if "enum" in schema:
            values = list(schema["enum"])
            if all(type(v) is str for v in values):
                # equal(str, x) is `==`, false for any x that is not a string
                names = frozenset(values)
                checks.append(lambda x: isinstance(x, str) and x in names)
            else:
                checks.append(lambda x: any(equal(v, x) for v in values))
        if "const" in schema:
            const = schema["const"]
            checks.append(lambda x: equal(x, const))
        return _all(checks)

    def _object(self, schema: dict[str, Any]) -> Predicate:
        if not _OBJECT & set(schema):
            return _true
        props = {name: self.compile(sub) for name, sub in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        extra = schema.get("additionalProperties", True)
        others: Predicate | None = self.compile(extra)
        if others is _true:
            others = None
        names = self.compile(schema["propertyNames"]) if "propertyNames" in schema else None
        low = schema.get("minProperties", 0)
        high = schema.get("maxProperties")
        needs = tuple((k, tuple(v)) for k, v in schema.get("dependentRequired", {}).items())

        def check(x: Any) -> bool:
            if not isinstance(x, dict):
                return True
            if len(x) < low or (high is not None and len(x) > high):
                return False
            for key in required:
                if key not in x:
                    return False
            for key, value in x.items():
                sub = props.get(key)
                if sub is not None:
                    if not sub(value):
                        return False
                elif others is not None and not others(value):  # not in `properties`
                    return False
                if names is not None and not names(key):
                    return False
            return all(all(k in x for k in keys) for key, keys in needs if key in x)
        return check

    def _array(self, schema: dict[str, Any]) -> Predicate:
        if not _ARRAY & set(schema):
            return _true
        item = self.compile(schema.get("items", True))
        low = schema.get("minItems", 0)
        high = schema.get("maxItems")
        unique = bool(schema.get("uniqueItems"))

        def check(x: Any) -> bool:
            if not isinstance(x, list):
                return True
            if len(x) < low or (high is not None and len(x) > high):
                return False
            if item is not _true and not all(item(v) for v in x):
                return False
            return not unique or uniq(x)
        return check

    def _applicators(self, schema: dict[str, Any]) -> list[Predicate]:
        out: list[Predicate] = []
        if "allOf" in schema:
            out.append(_all([self.compile(s) for s in schema["allOf"]]))
        if "anyOf" in schema:
            anyof = tuple(self.compile(s) for s in schema["anyOf"])
            out.append(lambda x: any(b(x) for b in anyof))
        if "oneOf" in schema:
            out.append(_one_of(tuple(self.compile(s) for s in schema["oneOf"])))
        if "not" in schema:
            negated = self.compile(schema["not"])
            out.append(lambda x: not negated(x))
        if "$ref" in schema:
            out.append(self.ref(schema["$ref"]))
        return out

    def ref(self, uri: Any) -> Predicate:
        """The predicate of the schema at `uri`, compiled once; a recursive one through a
        cell filled when its compilation ends."""
        if not isinstance(uri, str) or "://" not in uri or self.resolve is None:
            raise Unsupported(f"$ref {uri!r}")
        if uri not in self.refs:
            cell: list[Predicate] = []
            self.refs[uri] = lambda x: cell[0](x)
            cell.append(self.compile(self.resolve(uri)))
            self.refs[uri] = cell[0]
        return self.refs[uri]


def _one_of(branches: tuple[Predicate, ...]) -> Predicate:
    def check(x: Any) -> bool:
        found = False
        for branch in branches:
            if branch(x):
                if found:
                    return False
                found = True
        return found
    return check


def _string(schema: dict[str, Any]) -> Predicate:
    if not _STRING & set(schema):
        return _true
    low = schema.get("minLength", 0)
    high = schema.get("maxLength")
    search = re.compile(schema["pattern"]).search if "pattern" in schema else None
    fmt = schema.get("format")
    if fmt not in (None, "date"):
        raise Unsupported(f"format `{fmt}`")

    def check(x: Any) -> bool:
        if not isinstance(x, str):
            return True  # a date format says nothing about other types either
        if len(x) < low or (high is not None and len(x) > high):
            return False
        if search is not None and not search(x):
            return False
        return fmt is None or is_date(x)
    return check


def _number(schema: dict[str, Any]) -> Predicate:
    if not _NUMBER & set(schema):
        return _true
    ge, le = schema.get("minimum"), schema.get("maximum")
    gt, lt = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")

    def check(x: Any) -> bool:  # the comparisons jsonschema makes (NaN passes them all)
        if not _is_number(x):
            return True
        return not ((ge is not None and x < ge) or (le is not None and x > le) or
                    (gt is not None and x <= gt) or (lt is not None and x >= lt))
    return check
