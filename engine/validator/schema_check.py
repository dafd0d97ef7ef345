"""First pass over a version: the loader's problems, missing files, values no check can use
(non-finite numbers, integers beyond ±2^53, lone surrogates) and JSON Schema errors.

Conditions are checked by the condition parser before the schema sees them: jsonschema's
`oneOf` over condition forms can only say that nothing matched, while the parser names the
unknown operator or fact and suggests a fix. A condition the parser rejects is masked (as
`{all: []}`) for the schema pass so each problem is reported once.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from engine import conditions
from engine.diagnostics import Diagnostic
from engine.loader import MAX_DEPTH, Document, JsonPath
from engine.repository import VersionSource
from engine.schemas import FILE_KINDS, OPTIONAL_FILES, check_document, file_kind, scan
from engine.validator.context import CONDITION_LISTS, entries

_MASK: dict[str, Any] = {"all": []}


def check_source(src: VersionSource) -> list[Diagnostic]:
    """Every load and schema problem of the files of one version."""
    out = [*src.diagnostics, *missing_files(src)]
    for rel, doc in sorted(src.docs.items()):
        kind = file_kind(rel)
        if kind is not None:
            out.extend(check_file(doc, kind))
    return out


def missing_files(src: VersionSource) -> list[Diagnostic]:
    """A version needs every single-file kind but the optional ones (rules/ may be empty)."""
    needed = [name for name in FILE_KINDS if name not in OPTIONAL_FILES]
    return [Diagnostic("missing-file", f"version `{src.path.name}` has no `{name}`",
                       f"{src.display}/{name}",
                       help="a version holds " + ", ".join(needed) + " and rules/*.yaml")
            for name in needed if name not in src.docs]


def check_file(doc: Document, kind: str) -> list[Diagnostic]:
    """Loader problems of one file, else its value, condition and schema problems."""
    if not doc.ok:
        return list(doc.diagnostics)
    flaws = value_problems(doc)
    if flaws:
        return [*doc.diagnostics, *flaws]
    problems, bad = condition_problems(doc, kind)
    checked = replace(doc, data=_masked(doc.data, bad)) if bad else doc
    return [*doc.diagnostics, *problems, *check_document(checked, kind)]


def value_problems(doc: Document) -> list[Diagnostic]:
    """Values no later check can use: `.inf`/`.nan`, integers beyond ±2^53, lone surrogates.

    A threshold of `.inf` is schema-valid (a number) but no backend can evaluate it, and NaN
    makes every comparison false. The loader already bounds the nesting depth.
    """
    return [doc.diagnostic(f.path, f.code, f.message, help=_VALUE_HELP.get(f.code))
            for f in scan(doc.data, MAX_DEPTH + 1, yaml=True)]


_VALUE_HELP = {"invalid-number": "numbers in a policy must be finite and within ±2^53",
               "invalid-unicode": "write the character itself, or a valid surrogate pair"}


def condition_problems(doc: Document, kind: str) -> tuple[list[Diagnostic], list[JsonPath]]:
    """Structural problems of each condition of the file, and the paths of the bad ones."""
    list_path = CONDITION_LISTS.get(kind)
    if list_path is None:
        return [], []
    out: list[Diagnostic] = []
    bad: list[JsonPath] = []
    named = entries(doc, ("definitions",)) if kind == "rules" else []
    for entry in [*entries(doc, list_path), *named]:
        if "when" not in entry.data:
            continue
        # structure only: references are resolved by the cross-reference checks
        _, problems = conditions.parse(entry.data["when"], entry.at("when"),
                                       definitions=conditions.ANY_DEFINITION)
        if problems:
            bad.append(entry.at("when"))
            out.extend(doc.diagnostic(p.path, p.code, f"{entry.owner()}: {p.message}", p.help)
                       for p in problems)
    return out, bad


def _masked(data: Any, paths: list[JsonPath]) -> Any:
    masked = copy.deepcopy(data)
    for path in paths:
        parent = masked
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = dict(_MASK)
    return masked
