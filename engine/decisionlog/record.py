"""A decision-log record, its canonical form and its hash.

The writer adds `format`, `stream`, `seq`, `prev` and `hash`; `build_record` makes the
rest. `hash` is `sha256:` + the SHA-256 of the record without `hash`, serialised with sorted
keys, no whitespace and ASCII escapes (so the hash does not depend on how the line was
encoded). `prev` is the `hash` of the previous record of the same stream (GENESIS first).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

FORMAT = "echri-decision-log/1"
GENESIS = "sha256:" + "0" * 64


def canonical(value: Any) -> bytes:
    """Sorted keys, no whitespace, ASCII only: the bytes digests are computed on."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True,
                      separators=(",", ":")).encode("ascii")


def case_digest(case: Any) -> str:
    """`sha256:<hex>` of the case as received (before masking), canonical form."""
    return "sha256:" + hashlib.sha256(canonical(case)).hexdigest()


def record_hash(record: Mapping[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return "sha256:" + hashlib.sha256(canonical(body)).hexdigest()


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
    try:
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return json.dumps(record, ensure_ascii=True, separators=(",", ":")).encode() + b"\n"
