"""Evaluate a stream of JSON Lines cases, in order, optionally in worker processes.

Each input line yields exactly one output line: the decision JSON, or an error record
`{"line": N, "case_id": ..., "error": ..., "problems": [...]}` for a line that is not a
valid case, so nothing is lost and the output stays aligned with the input. Parallelism uses
processes (fork after loading the policies): the durable-rules extension holds the GIL.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from engine.api import PolicyStore, VersionSelectionError
from engine.cases import CaseError
from engine.loader import load_json_text

CHUNK = 256


@dataclass(frozen=True, slots=True)
class BatchResult:
    line: int
    output: str  # one JSON line (no newline)
    ok: bool


def _error(line: int, case_id: Any, message: str, problems: list[str] | None = None) -> str:
    record: dict[str, Any] = {"line": line, "case_id": case_id, "error": message}
    if problems:
        record["problems"] = problems
    return json.dumps(record, ensure_ascii=False)


def evaluate_line(store: PolicyStore, line_no: int, text: str, options: dict[str, Any]
                  ) -> BatchResult:
    """Evaluate one JSONL line; every failure is an error record, never an exception."""
    data, problems = load_json_text(text, f"line {line_no}")
    if problems:
        return BatchResult(line_no, _error(line_no, None, problems[0].message), False)
    case_id = data.get("case_id") if isinstance(data, dict) else None
    try:
        decision = store.evaluate(data, **options)
    except CaseError as exc:
        msgs = [d.message for d in exc.diagnostics]
        return BatchResult(line_no, _error(line_no, case_id, "invalid case", msgs), False)
    except VersionSelectionError as exc:
        return BatchResult(line_no, _error(line_no, case_id, str(exc)), False)
    return BatchResult(line_no, decision.to_json(), True)


def _numbered(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    for n, line in enumerate(lines, start=1):
        if line.strip():
            yield n, line


_WORKER_STORE: PolicyStore | None = None
_WORKER_OPTIONS: dict[str, Any] = {}


def _work(chunk: list[tuple[int, str]]) -> list[BatchResult]:
    assert _WORKER_STORE is not None
    return [evaluate_line(_WORKER_STORE, n, text, _WORKER_OPTIONS) for n, text in chunk]


def _chunks(pairs: Iterator[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    while chunk := list(islice(pairs, size)):
        yield chunk


def run_batch(store: PolicyStore, lines: Iterable[str], options: dict[str, Any],
              jobs: int = 1) -> Iterator[BatchResult]:
    """Results in input order; `jobs` > 1 forks worker processes sharing the loaded store."""
    pairs = _numbered(lines)
    if jobs <= 1:
        for n, text in pairs:
            yield evaluate_line(store, n, text, options)
        return
    global _WORKER_STORE, _WORKER_OPTIONS
    _WORKER_STORE, _WORKER_OPTIONS = store, options
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(jobs) as pool:
        for results in pool.imap(_work, _chunks(pairs, CHUNK)):
            yield from results
