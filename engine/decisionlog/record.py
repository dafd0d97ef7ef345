"""A decision-log record, its canonical form and its hash.

The writer adds `format`, `stream`, `seq`, `prev` and `hash`; `build_record` makes the
rest. `hash` is `sha256:` + the SHA-256 of the record without `hash`, serialised with sorted
keys, no whitespace and ASCII escapes (so the hash does not depend on how the line was
encoded). `prev` is the `hash` of the previous record of the same stream (GENESIS first).

Both forms are json.dumps's output, byte for byte (existing logs and `echri log verify`
depend on it): orjson produces them, several times faster, whenever its output provably is
that (`_fast`), and json.dumps does otherwise (tests/test_decisionlog_encoding.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import orjson

FORMAT = "echri-decision-log/1"
GENESIS = "sha256:" + "0" * 64


def _floats_alike(value: Any) -> bool:
    """Whether orjson writes every float in `value` as json.dumps does: not NaN or an
    infinity (orjson writes `null`) and not one json.dumps writes with an exponent
    (|x| >= 1e16 or < 1e-4, which orjson writes as `1e16`, `1e-7` or `0.00001`)."""
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str or kind is int:  # most of a record: tested first
            continue
        if kind is dict or isinstance(item, dict):
            extend(item.values())
        elif kind is list or kind is tuple or isinstance(item, (list, tuple)):
            extend(item)
        elif isinstance(item, float) and not (item == 0.0 or 1e-4 <= abs(item) < 1e16):
            return False  # NaN fails every comparison
    return True


def _fast(value: Any, option: int, ascii_only: bool, alike: bool | None = None) -> bytes | None:
    """orjson's bytes for `value` when they are json.dumps's, else None.

    The differences, each caught: floats (`_floats_alike`, or `alike` when the caller
    has checked); non-string keys, integers beyond 64 bits and lone surrogates (orjson
    raises); non-ASCII text and DEL (kept raw by orjson, escaped by ensure_ascii).
    """
    if not (_floats_alike(value) if alike is None else alike):
        return None
    try:
        out = orjson.dumps(value, option=option)
    except (TypeError, orjson.JSONEncodeError):
        return None
    if ascii_only and not out.isascii():
        return _ascii_escaped(out)
    if ascii_only and b"\x7f" in out:
        return None
    return out


def _ascii_escaped(out: bytes) -> bytes | None:
    """orjson's UTF-8 output with its non-ASCII characters escaped as json.dumps escapes
    them (`\\u00e9`), or None. Python's backslashreplace writes `\\xe9`, `\\u20ac` and
    `\\U0001f600`; the first becomes `\\u00e9`, which is only safe when no escaped
    backslash (`\\\\`, which could precede an `x`) is in the output, and the last would need a
    surrogate pair: those, and DEL, go to json.dumps."""
    if b"\\\\" in out or b"\x7f" in out:
        return None
    escaped = out.decode("utf-8").encode("ascii", "backslashreplace")
    if b"\\U" in escaped:
        return None
    return escaped.replace(b"\\x", b"\\u00")


def canonical(value: Any) -> bytes:
    """Sorted keys, no whitespace, ASCII only: the bytes digests are computed on."""
    fast = _fast(value, orjson.OPT_SORT_KEYS, ascii_only=True)
    if fast is not None:
        return fast
    return json.dumps(value, sort_keys=True, ensure_ascii=True,
                      separators=(",", ":")).encode("ascii")


def case_digest(case: Any) -> str:
    """`sha256:<hex>` of the case as received (before masking), canonical form."""
    return "sha256:" + hashlib.sha256(canonical(case)).hexdigest()


def record_hash(record: Mapping[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return "sha256:" + hashlib.sha256(canonical(body)).hexdigest()


def seal(record: dict[str, Any]) -> bytes:
    """Add `hash` to a record that has everything else; its line (`encode_line`). The
    writer's hot path: the floats are checked once for both encodings."""
    alike = _floats_alike(record)
    body = _fast(record, orjson.OPT_SORT_KEYS, ascii_only=True, alike=alike)
    record["hash"] = "sha256:" + hashlib.sha256(body).hexdigest() if body is not None \
        else record_hash(record)
    line = _fast(record, orjson.OPT_APPEND_NEWLINE, ascii_only=False, alike=alike)
    return line if line is not None else encode_line(record)


def utc_now(now: float | None = None) -> str:
    """UTC time with microseconds, `2026-03-01T12:00:00.123456Z`."""
    moment = dt.datetime.now(dt.UTC) if now is None else dt.datetime.fromtimestamp(now, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_record(*, decision_id: str, case: Any, masked_case: Any, masking: Mapping[str, Any],
                 decision: Mapping[str, Any], latency_ms: float | None, source: str,
                 request_id: str | None = None, time: str | None = None) -> dict[str, Any]:
    """Everything the writer logs for one decision (`decision` is Decision.to_dict())."""
    contract = case.get("contract_version") if isinstance(case, Mapping) else None
    return {
        "decision_id": decision_id,
        "time": time or utc_now(),
        "source": source,
        "request_id": request_id,
        "case_id": decision.get("case_id"),
        "case_digest": case_digest(case),
        "case_contract_version": contract if isinstance(contract, str) else None,
        "case": masked_case,
        "masking": dict(masking),
        "policy": dict(decision.get("policy") or {}),
        "engine": dict(decision.get("engine") or {}),
        "latency_ms": None if latency_ms is None else round(latency_ms, 3),
        "decision": dict(decision),
    }


def encode_line(record: Mapping[str, Any]) -> bytes:
    """One UTF-8 JSON line with its LF (ASCII escapes if a string cannot be UTF-8)."""
    fast = _fast(record, orjson.OPT_APPEND_NEWLINE, ascii_only=False)
    if fast is not None:
        return fast
    try:
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return json.dumps(record, ensure_ascii=True, separators=(",", ":")).encode() + b"\n"
