"""The case contract (`schemas/case.schema.json`): `check_case` lists every violation."""

from __future__ import annotations

from typing import Any

from engine.cases.model import CaseError
from engine.diagnostics import Diagnostic
from engine.schemas import check_data, is_valid_fast, scan, struct_check
from engine.structs import encodes_as_utf8

CASE_MAX_DEPTH = 32  # the case schema nests 4 levels: anything deeper is refused up front


def check_case(data: Any, source: str | None = None) -> None:
    """Raise CaseError listing every contract violation of `data`.

    The common valid case is answered by the msgspec types of the contract (engine/structs.py)
    in one step. Any other goes the long way: one iterative walk refuses what no schema check
    can be trusted with (nesting deeper than CASE_MAX_DEPTH, NaN and infinities, integers
    beyond ±2^53, lone surrogates) at their JSON paths, then jsonschema lists the contract
    problems, and the check fails closed if it finds none.
    """
    problems: list[Diagnostic] = []
    if not _valid_bounded(data):
        flaws = scan(data, CASE_MAX_DEPTH)
        if flaws:
            raise CaseError([Diagnostic(f.code, f.message, source) for f in flaws])
        if not is_valid_fast("case", data):
            problems = check_data("case", data, source) or [Diagnostic(
                "schema", "the case breaks the input contract (the fast schema check rejected "
                "it, the full one found no reason)", source)]
    if not problems and isinstance(data, dict):
        seen: set[str] = set()
        for i, item in enumerate(data.get("items", ())):
            if item["id"] in seen:
                problems.append(Diagnostic("schema", f"at `items[{i}].id`: duplicate item id "
                                           f"`{item['id']}`", source))
            seen.add(item["id"])
    if problems:
        raise CaseError(problems)


def _valid_bounded(data: Any) -> bool:
    """A case the msgspec types accept, when they admit only values `scan` has nothing to
    say about (finite numbers within ±2^53, nesting ≤ CASE_MAX_DEPTH, no open object)
    but lone surrogates, and it has none of those: the walk of `scan` is not needed."""
    check = struct_check("case")
    return check is not None and check.bounded and check.depth <= CASE_MAX_DEPTH and \
        check.valid(data) and encodes_as_utf8(data)
