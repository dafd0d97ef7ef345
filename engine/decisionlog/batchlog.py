"""Decision-log records for `echri evaluate --batch --log DIR` (the service's format).

Each decided line is logged before its output line is written; error records are not
logged (nothing was decided). The record's `request_id` is `FILE:LINE` of the input and
`latency_ms` is null (lines may be decided in worker processes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from engine.api import PolicyStore
from engine.batch import BatchResult, run_lines
from engine.decisionlog.ids import uuid7
from engine.decisionlog.masking import Masker
from engine.decisionlog.record import build_record
from engine.decisionlog.writer import LogWriter
from engine.loader import MAX_LINE_BYTES, RawLine, decode_line, load_json_text, read_lines


class BatchLogger:
    def __init__(self, writer: LogWriter, masker: Masker, name: str):
        self.writer, self.masker, self.name = writer, masker, name
        self._raw: dict[int, RawLine] = {}
        self._listed: frozenset[str] = frozenset()  # PolicyStore.listed_names of the run

    def _tap(self, lines: Iterator[RawLine]) -> Iterator[RawLine]:
        for raw in lines:
            self._raw[raw.number] = raw
            yield raw

    def log(self, result: BatchResult) -> None:
        raw = self._raw.pop(result.line, None)
        if not result.ok or raw is None:
            return
        text, _ = decode_line(raw)
        case, _ = load_json_text(text or "", f"line {raw.number}")
        decision: dict[str, Any] = json.loads(result.output)
        decision.pop("line", None)
        self.writer.append(build_record(
            decision_id=str(uuid7()), case=case,
            masked_case=self.masker.mask(case, self._listed),
            masking=self.masker.describe(), decision=decision, latency_ms=None,
            source="batch", request_id=f"{self.name}:{raw.number}"))

    def run(self, store: PolicyStore, stream: IO[bytes], options: dict[str, Any], jobs: int = 1,
            max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[BatchResult]:
        """engine.batch.run_batch, logging each decided line before it is yielded."""
        self._listed = store.listed_names()
        lines = self._tap(read_lines(stream, max_line_bytes))
        for result in run_lines(store, lines, options, jobs):
            self.log(result)
            yield result

    def close(self) -> None:
        self.writer.close()
