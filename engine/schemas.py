"""JSON Schemas of every file kind and of the case/decision contracts.

Schemas live in `schemas/` at the repository root (editors use them through the
`yaml-language-server` modeline). Errors are reported at the line and column of the YAML
value they concern, best match first (jsonschema's relevance heuristic digs into
`oneOf`/`anyOf` to the branch that nearly matched).

The schema files speak ECMA-262 regular expressions (what editors run), where `$` is the end
of the string and `\\d` is `[0-9]`. Python's `re`, used by jsonschema and msgspec, lets
`$` match before a final newline and `\\d` match any Unicode digit, so every `pattern` is
rewritten for Python when the schemas are loaded (`python_pattern`).

Some values no schema check can be trusted with: NaN and infinities (every comparison with NaN
is false, so `minimum` passes), integers beyond ±2^53, lone surrogates (they cannot be encoded)
and very deep nesting (jsonschema's error rendering recurses). `scan` finds them in one
iterative walk, before any schema runs.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match, relevance
from referencing import Registry, Resource

from engine.diagnostics import Diagnostic, suggest
from engine.loader import Document, JsonPath
from engine.structs import StructCheck, Unsupported
from engine.structs import build as build_struct_check
from engine.validity import Compiler

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
BASE_URI = "https://echri.example.org/schemas/"

# File name (relative to a version directory) → schema kind.
FILE_KINDS = {
    "policy.yaml": "policy",
    "sources.yaml": "sources",
    "categories.yaml": "categories",
    "risk_bands.yaml": "risk_bands",
    "destinations.yaml": "destinations",
    "end_users.yaml": "end_users",
    "assurances.yaml": "assurances",
    "information.yaml": "information",
    "sanctions.yaml": "sanctions",
    "implicated_parties.yaml": "implicated_parties",
}
# File kinds a version may leave out (a version without sanctions.yaml has no regimes, one
# without implicated_parties.yaml no implicated parties).
OPTIONAL_FILES = frozenset({"sanctions.yaml", "implicated_parties.yaml"})
RULES_KIND = "rules"


def file_kind(relpath: str) -> str | None:
    """Kind of a policy file from its path relative to the version directory."""
    if relpath.startswith("rules/") and relpath.endswith((".yaml", ".yml")):
        return RULES_KIND
    return FILE_KINDS.get(relpath)


def python_pattern(pattern: str) -> str:
    """An ECMA-262 `pattern` rewritten so that Python's `re` gives it the same meaning.

    `(?a)` makes `\\d`, `\\w`, `\\s` and `\\b` ASCII, as in ECMA; a `$` outside a character
    class becomes `\\Z`, the end of the string (Python's `$` also matches before a final `\\n`).
    """
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "$":
            ch = r"\Z"
        out.append(ch)
        i += 1
    return "(?a)" + "".join(out)


# Python form → the pattern as written in the schema file (what messages quote).
_ECMA_PATTERNS: dict[str, str] = {}
# Keywords whose value is data, not a schema: never rewritten.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples", "title", "description",
                            "$comment"})
# Keywords whose value maps names to schemas.
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions",
                          "dependentSchemas"})


def _python_form(pattern: str) -> str:
    rewritten = python_pattern(pattern)
    _ECMA_PATTERNS[rewritten] = pattern
    return rewritten


def _for_python(schema: Any) -> Any:
    """A copy of a schema with every `pattern` (and `patternProperties` key) for Python."""
    if isinstance(schema, list):
        return [_for_python(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DATA_KEYWORDS:
            out[key] = value
        elif key == "pattern" and isinstance(value, str):
            out[key] = _python_form(value)
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            rename = _python_form if key == "patternProperties" else str
            out[key] = {rename(name): _for_python(sub) for name, sub in value.items()}
        else:
            out[key] = _for_python(value)
    return out


def ecma_pattern(pattern: str) -> str:
    """The pattern as the schema file writes it, for a pattern rewritten at load time."""
    return _ECMA_PATTERNS.get(pattern, pattern)


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.schema.json")):
        contents = _for_python(json.loads(path.read_text(encoding="utf-8")))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


@cache
def validator(kind: str) -> Draft202012Validator:
    uri = f"{BASE_URI}{kind}.schema.json"
    schema = _bundle(_registry().contents(uri), uri)
    return Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker())


def _bundle(schema: Any, base: str, seen: tuple[str, ...] = ()) -> Any:
    """`schema` with every plain `{"$ref": ...}` to a definition (in its own file or in
    another schema file) replaced by that definition; a recursive one stays, made absolute.

    Resolving references made up about half the time of validating a policy version
    (referencing's lookups, URL joins); the errors and their data paths are the same.
    """
    if isinstance(schema, list):
        return [_bundle(s, base, seen) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _bundle_map(value, base, seen) if key in _SCHEMA_MAPS else
           value if key in _DATA_KEYWORDS else _bundle(value, base, seen)
           for key, value in schema.items() if key != "$ref"}
    ref = schema.get("$ref")
    if isinstance(ref, str):
        uri, _, pointer = urljoin(base, ref).partition("#")
        name = pointer.removeprefix("/$defs/")
        target = f"{uri}#{pointer}"
        defs = _registry().contents(uri).get("$defs", {}) if uri in _schema_uris() else {}
        # beside a reference, annotations (a description) constrain nothing: inlined too
        if set(out) <= _DATA_KEYWORDS and name != pointer and "/" not in name and \
                name in defs and target not in seen:
            inlined = _bundle(defs[name], uri, (*seen, target))
            return {**out, **inlined} if isinstance(inlined, dict) else inlined
        out = {"$ref": target, **out}  # kept (recursive, or with siblings): absolute
    return out


def _bundle_map(schemas: Any, base: str, seen: tuple[str, ...]) -> Any:
    """A `properties`-like map: its keys are names (`title` too), its values schemas."""
    if not isinstance(schemas, dict):
        return _bundle(schemas, base, seen)
    return {name: _bundle(sub, base, seen) for name, sub in schemas.items()}


@cache
def _schema_uris() -> frozenset[str]:
    return frozenset(uri for uri in _registry())


@cache
def struct_check(kind: str) -> StructCheck | None:
    """The one-step check of a schema (engine/structs.py: msgspec types, and predicates of
    engine/validity.py for what they cannot express), None if it cannot express it."""
    try:
        return build_struct_check(validator(kind).schema, Compiler(_resolve))
    except Unsupported:
        return None


def _resolve(ref: str) -> Any:
    """The schema an absolute `$ref` of a bundled schema names (a schema file, or one of its
    `$defs`), bundled in turn: the references left in it are absolute too."""
    uri, _, pointer = ref.partition("#")
    if uri not in _schema_uris():
        raise Unsupported(f"$ref {ref}")
    contents = _registry().contents(uri)
    name = pointer.removeprefix("/$defs/")
    if pointer and (name == pointer or "/" in name or name not in contents.get("$defs", {})):
        raise Unsupported(f"$ref {ref}")
    target = contents["$defs"][name] if pointer else contents
    return _bundle(target, uri, (f"{uri}#{pointer}",))


def is_valid_fast(kind: str, data: Any) -> bool:
    """Whether `data` is valid, without diagnostics: the one-step check where it can
    express the schema (every contract schema the hot paths check), else jsonschema."""
    check = struct_check(kind)
    return check.valid(data) if check is not None else validator(kind).is_valid(data)


# I-JSON (RFC 7493): integers beyond ±2^53 do not survive a trip through a float.
MAX_SAFE_INTEGER = 2**53
MAX_FLAWS = 20  # a walk stops after this many: a list of a million NaNs is one problem
# Shown escaped in messages, which must stay one printable line that encodes as UTF-8:
# C0/C1 controls, format, zero-width and other invisible characters, lone surrogates.
UNPRINTABLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\xad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    r"\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164"
    r"\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\ud800-\udfff]")
_JSON_SPELLING = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_YAML_SPELLING = {"nan": ".nan", "inf": ".inf", "-inf": "-.inf"}


@dataclass(frozen=True, slots=True)
class Flaw:
    """A value found by `scan`: where it is, a diagnostic code and a one-line message."""

    path: JsonPath
    code: str
    message: str


def printable(text: str) -> str:
    """`text` with every invisible, control or unencodable character escaped (`\\u200b`)."""
    if text.isascii() and text.isprintable():
        return text
    return UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def json_path(path: JsonPath) -> str:
    """`items[0].id`: a path as messages show it."""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return printable(text.lstrip("."))


def _value_flaw(value: Any, yaml: bool) -> tuple[str, str] | None:
    """(code, problem) for a scalar no schema can be trusted with, else None."""
    if isinstance(value, str):
        if value.isascii():
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            shown = printable(value if len(value) <= 40 else value[:37] + "...")
            return "invalid-unicode", f"invalid Unicode (lone surrogate) in `{shown}`"
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        spelling = (_YAML_SPELLING if yaml else _JSON_SPELLING)[repr(value)]
        return "invalid-number", f"`{spelling}` is not a finite number"
    if isinstance(value, int) and not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return "invalid-number", "integer out of range (more than 2^53 in magnitude)"
    return None


def scan(data: Any, max_depth: int, *, yaml: bool = False) -> list[Flaw]:
    """Non-finite numbers, integers beyond ±2^53, lone surrogates (in values and keys) and
    containers nested deeper than `max_depth` levels, found without recursion.

    `yaml` spells infinities as YAML does (`.inf`) instead of as Python's json (`Infinity`).
    """
    if not isinstance(data, dict | list | tuple):
        flaw = _flaw((), data, yaml)
        return [flaw] if flaw else []
    flaws: list[Flaw] = []
    stack: list[tuple[Any, int, JsonPath]] = [(data, 1, ())]
    push = stack.append
    while stack and len(flaws) < MAX_FLAWS:
        node, depth, path = stack.pop()
        if depth > max_depth:
            flaws.append(Flaw(path, "too-deep", f"nesting deeper than {max_depth} levels at "
                                                f"`{json_path(path)}`"))
            continue
        depth += 1
        if isinstance(node, dict):
            for key in node:
                if (type(key) is not str or not key.isascii()) and \
                        (flaw := _flaw((*path, key), key, yaml)):
                    flaws.append(flaw)
            pairs: Iterable[tuple[Any, Any]] = node.items()
        else:
            pairs = enumerate(node)
        for key, value in pairs:  # the common cases first, answered without a call
            kind = type(value)
            if (kind is str and value.isascii()) or value is None or kind is bool:
                continue
            if kind is dict or kind is list or isinstance(value, dict | list | tuple):
                push((value, depth, (*path, key)))
            elif flaw := _flaw((*path, key), value, yaml):
                flaws.append(flaw)
    return flaws[:MAX_FLAWS]


def _flaw(path: JsonPath, value: Any, yaml: bool) -> Flaw | None:
    found = _value_flaw(value, yaml)
    if found is None:
        return None
    where = f"at `{json_path(path)}`: " if path else ""
    return Flaw(path, found[0], where + found[1])


_JSON_TYPES = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
               int: "a number", float: "a number", type(None): "null"}
_SCHEMA_TYPES = {"object": "a mapping", "array": "a list", "string": "a string",
                 "integer": "an integer", "number": "a number", "boolean": "a boolean",
                 "null": "null"}
_REQUIRED = re.compile(r"^'(.+)' is a required property$")


def _where(error: ValidationError) -> str:
    path = json_path(tuple(error.absolute_path))
    return f"at `{path}`: " if path else ""


def _short(value: Any) -> str:
    """User input in backticks, or its type when it is too long to quote on one line."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = printable(text)
    return f"`{text}`" if len(text) <= 40 else _JSON_TYPES.get(type(value), "the value")


@cache
def _hidden_character_patterns() -> frozenset[str]:
    """The (Python) patterns of every `$defs/no_hidden_characters` of the schemas."""
    found = set()
    for uri in _registry():
        rule = _registry().contents(uri).get("$defs", {}).get("no_hidden_characters")
        if isinstance(rule, dict) and isinstance(rule.get("pattern"), str):
            found.add(rule["pattern"])
    return frozenset(found)


def _hidden_character(error: ValidationError) -> str | None:
    """For an id that breaks `$defs/no_hidden_characters`: its first hidden character."""
    if error.validator != "pattern" or not isinstance(error.instance, str) or \
            error.validator_value not in _hidden_character_patterns():
        return None
    found = UNPRINTABLE.search(error.instance)
    return f"U+{ord(found.group()):04X}" if found else "a hidden character"


def _extra_keys(error: ValidationError) -> list[str]:
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    return [str(k) for k in error.instance if k not in error.schema.get("properties", {})]


def _required_alternatives(error: ValidationError) -> list[str]:
    """For `anyOf`/`oneOf` branches that only require keys: the keys (else [])."""
    branches = error.validator_value if error.validator in ("anyOf", "oneOf") else None
    if not isinstance(branches, list) or not all(
            isinstance(b, dict) and set(b) == {"required"} for b in branches):
        return []
    return [k for b in branches for k in b["required"]]


def _missing_keys(error: ValidationError) -> list[str]:
    if error.validator == "required":
        found = _REQUIRED.match(error.message)
        return [found.group(1)] if found else []
    return _required_alternatives(error)


def _explain(error: ValidationError) -> tuple[str, str | None]:
    """jsonschema's message rewritten in the diagnostics style, and a help line."""
    validator, instance = error.validator, error.instance
    if validator == "additionalProperties" and _extra_keys(error):
        key = _extra_keys(error)[0]
        known = error.schema.get("properties", {})
        return f"unknown key `{printable(key)}`", suggest(key, known)
    if validator == "required" and _missing_keys(error):
        return f"missing required key `{_missing_keys(error)[0]}`", None
    if _required_alternatives(error):
        keys = ", ".join(f"`{k}`" for k in _required_alternatives(error))
        return f"needs at least one of {keys}", None
    if validator == "type":
        wanted = error.validator_value
        names = " or ".join(_SCHEMA_TYPES.get(str(w), str(w)) for w in
                            (wanted if isinstance(wanted, list) else [wanted]))
        return f"expected {names}, got {_JSON_TYPES.get(type(instance), 'a value')}", None
    if validator == "enum":
        allowed = ", ".join(f"`{v}`" for v in error.validator_value)
        return f"{_short(instance)} is not one of {allowed}", suggest(
            str(instance), map(str, error.validator_value))
    hidden = _hidden_character(error)
    if hidden is not None:
        return (f"{_short(instance)} contains the control or invisible character {hidden}",
                "ids may not contain control, format or zero-width characters")
    if validator == "pattern":
        pattern = ecma_pattern(str(error.validator_value))
        return f"{_short(instance)} does not match the pattern `{pattern}`", None
    if validator in ("minItems", "maxItems") and isinstance(instance, list):
        bound = "at least" if validator == "minItems" else "at most"
        return f"needs {bound} {error.validator_value} items, got {len(instance)}", None
    if validator == "uniqueItems" and isinstance(instance, list):
        repeated = next((v for i, v in enumerate(instance) if v in instance[:i]), None)
        return f"{_short(repeated)} is listed twice: items must be unique", None
    if validator in ("oneOf", "anyOf"):
        return f"{_short(instance)} does not match any of the allowed forms", None
    message = error.message
    if repr(instance) in message and len(repr(instance)) > 40:
        message = message.replace(repr(instance), _short(instance))
    return printable(message[:1].lower() + message[1:200]), None


def _describe(error: ValidationError) -> str:
    return _where(error) + _explain(error)[0]


def _misspelt(errors: list[ValidationError]) -> set[int]:
    """Indexes of `required` errors caused by a misspelt key already reported as unknown."""
    typos: dict[tuple[Any, ...], set[str]] = {}
    for e in errors:
        names = e.schema.get("properties", {}) if isinstance(e.schema, dict) else {}
        for key in _extra_keys(e):
            close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.75)
            typos.setdefault(tuple(e.absolute_path), set()).update(close)
    return {i for i, e in enumerate(errors)
            if set(_missing_keys(e)) & typos.get(tuple(e.absolute_path), set())}


def best_errors(kind: str, data: Any) -> list[ValidationError]:
    """Schema errors, each reduced to its most relevant cause, best first."""
    errors = sorted(validator(kind).iter_errors(data), key=relevance)
    return [best_match([e]) or e for e in errors]


def check_document(doc: Document, kind: str) -> list[Diagnostic]:
    """Validate a loaded YAML document against its schema; diagnostics carry line:col.

    A document the one-step check accepts has no schema error (that check never accepts
    what jsonschema refuses): jsonschema runs only to list the problems of the others."""
    check = struct_check(kind)
    if check is not None and check.valid(doc.data):
        return []
    errors = best_errors(kind, doc.data)
    skip = _misspelt(errors)
    out = []
    for i, error in enumerate(errors):
        if i in skip:
            continue
        path = tuple(error.absolute_path)
        key = error.validator in ("additionalProperties", "propertyNames")
        extra = _extra_keys(error)
        if extra:
            path = (*path, extra[0])
        message, help = _explain(error)
        out.append(doc.diagnostic(path, "schema", _where(error) + message, help=help, key=key))
    return out


def check_data(kind: str, data: Any, file: str | None = None) -> list[Diagnostic]:
    """Validate plain data (a case, a decision); locations are JSON paths in the message."""
    out = []
    for error in best_errors(kind, data):
        message, help = _explain(error)
        out.append(Diagnostic("schema", _where(error) + message, file, help=help))
    return out
