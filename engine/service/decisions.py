"""Deciding cases for the HTTP API: parsing, the envelope, the decision log record.

The envelope of POST /v1/decisions is

    {"decision_id": "<UUIDv7>", "contract_version": "1", "case_contract_version": "1"|null,
     "decision": <the decision JSON, byte for byte what `echri evaluate` gives (indent=None)>}

built by concatenation around `Decision.to_json()`, so the decision body is the CLI's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import Receive

from engine.api import BackendUnavailable, VersionSelectionError
from engine.cases import CaseError
from engine.decision import ENGINE_ERROR, Decision
from engine.decisionlog import build_record, uuid7
from engine.loader import RawLine, decode_line, load_json_text
from engine.service.metrics import DECISIONS, ENGINE_ERRORS, ERRORS, LOG_RECORDS
from engine.service.openapi import CONTRACT_VERSION
from engine.service.problems import Problem, ProblemError, diagnostic_errors
from engine.service.state import ServiceState

_BOM = "\ufeff"
# the media types of a case, and of a batch as JSON Lines (both routes read them)
JSON_TYPES = ("application/json",)
JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines")


@dataclass(frozen=True, slots=True)
class Decided:
    decision_id: str
    decision: Decision
    case_contract_version: str | None
    record: dict[str, Any] | None  # the decision-log record to write, when logging


def media_type(headers: Mapping[str, str]) -> str:
    """The request's content type without parameters, lower case (`` when not given)."""
    return headers.get("content-type", "").split(";")[0].strip().lower()


def request_options(query: Mapping[str, str]) -> dict[str, Any]:
    """The policy selection a request's query asks for (`policy`, `policy_version`)."""
    return {"policy_id": query.get("policy") or None,
            "policy_version": query.get("policy_version") or None}


async def read_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The request body, at most `limit` bytes (Problem 413: by its declared length or as
    it arrives); ClientDisconnect when the client goes away before it has all arrived."""
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem("too-large", f"the body is {declared} bytes, over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Problem("too-large", f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """Strict JSON (engine.loader rules) from a request body; Problem 400 otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem("malformed-json", f"invalid UTF-8 byte 0x{raw[exc.start]:02x} at "
                      f"offset {exc.start}", [ProblemError("malformed-json", "",
                                                           "invalid UTF-8")]) from None
    data, problems = load_json_text(text.removeprefix(_BOM), "body")
    if problems:
        p = problems[0]
        where = f" at line {p.line}, column {p.column}" if p.line else ""
        raise Problem("malformed-json", p.message + where,
                      [ProblemError("malformed-json", "", p.message + where)])
    return data


def _contract_version(case: Any) -> str | None:
    value = case.get("contract_version") if isinstance(case, Mapping) else None
    return value if isinstance(value, str) else None


def decide(state: ServiceState, case: Any, options: Mapping[str, Any],
           request_id: str | None, source: str = "service") -> Decided:
    """Decide one parsed case on the calling (event-loop) thread; Problem for client errors."""
    store = state.store
    if store is None:
        raise Problem("not-ready", "the policies are not loaded yet")
    started = time.perf_counter()
    try:
        decision = store.evaluate(case, backend=state.config.backend, **options)
    except CaseError as exc:
        messages = [d.message for d in exc.diagnostics]
        raise Problem("contract-violation", f"{len(messages)} contract violation(s)",
                      diagnostic_errors("contract-violation", messages)) from None
    except VersionSelectionError as exc:
        raise Problem("policy-version", str(exc),
                      [ProblemError(exc.kind, "/submitted", str(exc))]) from None
    except BackendUnavailable as exc:
        raise Problem("backend-unavailable", str(exc)) from None
    latency = (time.perf_counter() - started) * 1000
    decision_id = str(uuid7())
    record = None
    if state.writer is not None and state.masker is not None:
        record = build_record(decision_id=decision_id, case=case,
                              masked_case=state.masker.mask(case, store.listed_names()),
                              masking=state.masker.describe(), decision=decision.to_dict(),
                              latency_ms=latency, source=source, request_id=request_id)
    return Decided(decision_id, decision, _contract_version(case), record)


async def write_log(state: ServiceState, decided: Decided) -> None:
    """Append the record before the decision is given; Problem 503 when that fails.

    The log thread writes it (engine/decisionlog/committer.py); this returns once it is
    written, and with fsync `always` after the fsync that covers it (group commit).
    """
    await write_logs(state, [decided])


async def write_logs(state: ServiceState, decided: list[Decided]) -> None:
    """`write_log` for several decisions at once (a batch): one wait, shared fsyncs."""
    committer = state.committer  # there is one whenever there is a decision log
    records = [d.record for d in decided if d.record is not None]
    if not records or committer is None:
        return
    try:
        if len(records) == 1:  # one request: a future written at once is awaited without a
            await committer.submit(records[0])  # loop iteration, which gather would take
        else:
            outcomes = await asyncio.gather(*[committer.submit(r) for r in records],
                                            return_exceptions=True)
            failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
            if failed is not None:
                raise failed
    except OSError as exc:
        raise Problem("decision-log-unavailable", f"decision log: {exc}") from None
    LOG_RECORDS.inc(len(records))


def count(decided: Decided) -> None:
    d = decided.decision
    DECISIONS.labels(d.decision, d.policy.get("id", ""), d.policy.get("version", "")).inc()
    if ENGINE_ERROR in d.rules:
        ENGINE_ERRORS.inc()


def decision_text(decision: Decision) -> str:
    text = decision.to_json()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # valid JSON either way (as the CLI does)
        return json.dumps(decision.to_dict(), ensure_ascii=True, separators=(",", ":"))
    return text


def envelope(decided: Decided) -> str:
    head = json.dumps({"decision_id": decided.decision_id, "contract_version": CONTRACT_VERSION,
                       "case_contract_version": decided.case_contract_version})
    return f'{head[:-1]}, "decision": {decision_text(decided.decision)}}}'


def batch_items(raw: bytes, jsonl: bool) -> list[tuple[int, Any, Problem | None]]:
    """(line, parsed case or None, problem) per case of a batch body."""
    if not jsonl:
        data = parse_json(raw)
        if not isinstance(data, list):
            raise Problem("invalid-request", "a JSON batch must be an array of cases",
                          [ProblemError("invalid-request", "", "not an array")])
        return [(i, case, None) for i, case in enumerate(data, start=1)]
    out: list[tuple[int, Any, Problem | None]] = []
    for raw_line in _lines(raw):
        text, why = decode_line(raw_line)
        if text is None or not text.strip():
            problem = Problem("malformed-json", why or "blank line: each line must hold one case")
            out.append((raw_line.number, None, problem))
            continue
        try:
            out.append((raw_line.number, parse_json(text.encode("utf-8")),
                        None))
        except Problem as problem:
            out.append((raw_line.number, None, problem))
    return out


def _lines(raw: bytes) -> Iterator[RawLine]:
    parts = raw.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    for n, part in enumerate(parts, start=1):
        yield RawLine(n, part[:-1] if part.endswith(b"\r") else part)


def batch_error(line: int, case: Any, problem: Problem) -> dict[str, Any]:
    ERRORS.labels(problem.code).inc()
    case_id = case.get("case_id") if isinstance(case, Mapping) else None
    return {"line": line, "case_id": case_id if isinstance(case_id, str) else None,
            "error": ProblemError(problem.code, "", problem.detail).to_dict(),
            "problems": [e.to_dict() for e in problem.errors]}


def batch_result(line: int, decided: Decided) -> str:
    head = json.dumps({"line": line, "decision_id": decided.decision_id,
                       "case_contract_version": decided.case_contract_version})
    return f'{head[:-1]}, "decision": {decision_text(decided.decision)}}}'
