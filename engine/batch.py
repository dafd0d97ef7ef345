"""Evaluate a stream of JSON Lines cases, in order, optionally in worker processes.

Each input line yields exactly one output line, in input order, carrying the input's line
number (1-based) as its first key `line`: the decision JSON with `line` added, or an error
record `{"line": N, "case_id": ..., "error": ..., "problems": [...]}` for a line that is not
a valid case (blank, not UTF-8, too large, not strict JSON, not the case contract), so
nothing is lost and the output stays aligned with the input.

The input is read as bytes and split on LF (CRLF is accepted; a UTF-8 byte order mark is
accepted at the start of line 1), so one bad line never breaks the decoding of the others.
The output is UTF-8 JSON; a record whose strings cannot be encoded (a lone surrogate from a
`\\ud800` escape) is written with ASCII escapes instead.

Parallelism uses processes (fork after loading the policies): the durable-rules extension
holds the GIL. At most a few chunks are in flight, so memory stays bounded on long inputs.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult
from typing import IO, Any

from engine.api import PolicyStore, VersionSelectionError
from engine.cases import CaseError
from engine.decision import Decision
from engine.loader import MAX_LINE_BYTES, RawLine, decode_line, load_json_text, read_lines

log = logging.getLogger("echri")

CHUNK = 256  # lines per task sent to a worker
CHUNK_BYTES = 4 * 1024 * 1024  # ... or fewer when they are long

DECIDED, INVALID, INTERNAL = "decided", "invalid", "internal"


@dataclass(frozen=True, slots=True)
class BatchResult:
    line: int
    output: bytes  # one UTF-8 JSON line (no newline)
    status: str = DECIDED  # decided | invalid (error record) | internal (error record)

    @property
    def ok(self) -> bool:
        return self.status == DECIDED


def _encode(record: dict[str, Any]) -> bytes:
    try:
        return json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: escape it rather than fail
        return json.dumps(record, ensure_ascii=True).encode("ascii")


def _error(line: int, case_id: Any, message: str, problems: list[str] | None = None,
           status: str = INVALID) -> BatchResult:
    record: dict[str, Any] = {"line": line,
                              "case_id": case_id if isinstance(case_id, str) else None,
                              "error": message}
    if problems:
        record["problems"] = problems
    return BatchResult(line, _encode(record), status)


def _decided(line: int, decision: Decision) -> BatchResult:
    text = decision.to_json()  # canonical: '{"case_id":...}'
    try:
        return BatchResult(line, f'{{"line":{line},{text[1:]}'.encode())
    except UnicodeEncodeError:
        record = {"line": line, **decision.to_dict()}
        return BatchResult(line, json.dumps(record, ensure_ascii=True,
                                            separators=(",", ":")).encode("ascii"))


def evaluate_line(store: PolicyStore, raw: RawLine, options: dict[str, Any]) -> BatchResult:
    """Evaluate one JSONL line; every failure is an error record, never an exception."""
    n = raw.number
    text, why = decode_line(raw)
    if text is None:
        return _error(n, None, why)
    if not text.strip():
        return _error(n, None, "blank line: each line must hold one case")
    data, problems = load_json_text(text, f"line {n}")
    if problems:
        where = problems[0].column
        return _error(n, None, problems[0].message + (f" at column {where}" if where else ""))
    case_id = data.get("case_id") if isinstance(data, dict) else None
    try:
        decision = store.evaluate(data, **options)
    except CaseError as exc:
        return _error(n, case_id, "invalid case", [d.message for d in exc.diagnostics])
    except VersionSelectionError as exc:
        return _error(n, case_id, str(exc))
    except Exception as exc:  # one line must not stop the batch; nothing is decided for it
        log.error("internal error on line %d: %s: %s", n, type(exc).__name__, exc)
        return _error(n, case_id, f"internal error: {type(exc).__name__}", status=INTERNAL)
    return _decided(n, decision)


_WORKER_STORE: PolicyStore | None = None
_WORKER_OPTIONS: dict[str, Any] = {}


def _work(chunk: list[RawLine]) -> list[BatchResult]:
    assert _WORKER_STORE is not None
    return [evaluate_line(_WORKER_STORE, raw, _WORKER_OPTIONS) for raw in chunk]


def _chunks(lines: Iterator[RawLine]) -> Iterator[list[RawLine]]:
    chunk: list[RawLine] = []
    size = 0
    for raw in lines:
        chunk.append(raw)
        size += len(raw.data)
        if len(chunk) >= CHUNK or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def run_lines(store: PolicyStore, lines: Iterable[RawLine], options: dict[str, Any],
              jobs: int = 1) -> Iterator[BatchResult]:
    """Results in input order; `jobs` > 1 forks worker processes sharing the loaded store."""
    if jobs <= 1:
        for raw in lines:
            yield evaluate_line(store, raw, options)
        return
    global _WORKER_STORE, _WORKER_OPTIONS
    _WORKER_STORE, _WORKER_OPTIONS = store, options
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(jobs) as pool:
        pending: deque[AsyncResult[list[BatchResult]]] = deque()
        for chunk in _chunks(iter(lines)):
            pending.append(pool.apply_async(_work, (chunk,)))
            if len(pending) > 2 * jobs:
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()


def run_batch(store: PolicyStore, stream: IO[bytes], options: dict[str, Any], jobs: int = 1,
              max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[BatchResult]:
    """One result per line of a binary JSON Lines stream, in input order."""
    return run_lines(store, read_lines(stream, max_line_bytes), options, jobs)
