"""JSON Schemas of every file kind and of the case/decision contracts.

Schemas live in `schemas/` at the repository root (editors use them through the
`yaml-language-server` modeline). Errors are reported at the line and column of the YAML
value they concern, best match first (jsonschema's relevance heuristic digs into
`oneOf`/`anyOf` to the branch that nearly matched).
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match, relevance
from referencing import Registry, Resource

from engine.diagnostics import Diagnostic, suggest
from engine.loader import Document

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
}
RULES_KIND = "rules"


def file_kind(relpath: str) -> str | None:
    """Kind of a policy file from its path relative to the version directory."""
    if relpath.startswith("rules/") and relpath.endswith((".yaml", ".yml")):
        return RULES_KIND
    return FILE_KINDS.get(relpath)


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


@cache
def validator(kind: str) -> Draft202012Validator:
    schema = _registry().contents(f"{BASE_URI}{kind}.schema.json")
    return Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker())


@cache
def fast_validator(kind: str) -> Callable[[Any], Any]:
    """A code-generated validator (fastjsonschema) for the hot path of case evaluation.

    It only answers valid / invalid quickly; on invalid input the full jsonschema
    validator runs to list every problem. The contract schemas use nothing beyond
    draft-07 features, so fastjsonschema reads them as draft-07.
    """
    schema = copy.deepcopy(validator(kind).schema)
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return fastjsonschema.compile(schema)


def is_valid_fast(kind: str, data: Any) -> bool:
    try:
        fast_validator(kind)(data)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


_JSON_TYPES = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
               int: "a number", float: "a number", type(None): "null"}
_SCHEMA_TYPES = {"object": "a mapping", "array": "a list", "string": "a string",
                 "integer": "an integer", "number": "a number", "boolean": "a boolean",
                 "null": "null"}
_REQUIRED = re.compile(r"^'(.+)' is a required property$")


def _where(error: ValidationError) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"at `{path.lstrip('.')}`: " if path else ""


def _short(value: Any) -> str:
    """User input in backticks, or its type when it is too long to quote on one line."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return f"`{text}`" if len(text) <= 40 else _JSON_TYPES.get(type(value), "the value")


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
        return f"unknown key `{key}`", suggest(key, error.schema.get("properties", {}))
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
    if validator == "pattern":
        return f"{_short(instance)} does not match the pattern `{error.validator_value}`", None
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
    return message[:1].lower() + message[1:200], None


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
    """Validate a loaded YAML document against its schema; diagnostics carry line:col."""
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
    return [Diagnostic("schema", _describe(e), file) for e in best_errors(kind, data)]
