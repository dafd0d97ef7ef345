"""Decision-log records for `echri evaluate --batch --log DIR` (the service's format).

Each decided line is logged before its output line is written; error records are not
logged (nothing was decided). The record's `request_id` is `FILE:LINE` of the input and
`latency_ms` is null (lines may be decided in worker processes).

When the input is a regular file, up to `GROUP` results are held back and their records
written with one `os.write` and (fsync `always`) one fsync before their output lines: a
group commit, as the service's. From a pipe or a terminal each line is logged and given on
its own, since a caller may wait for one answer before it sends the next case.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from typing import IO, Any

from engine.api import PolicyStore
from engine.batch import BatchResult, run_lines
from engine.decisionlog.ids import uuid7
from engine.decisionlog.masking import Masker
from engine.decisionlog.record import build_record
from engine.decisionlog.writer import LogWriter, Prepared
from engine.loader import MAX_LINE_BYTES, RawLine, decode_line, load_json_text, read_lines

GROUP = 256  # results held back, at most, for one write and one fsync (regular files)


def _regular_file(stream: IO[bytes]) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):  # no file descriptor: treat it as a pipe
        return False


class BatchLogger:
    def __init__(self, writer: LogWriter, masker: Masker, name: str):
        self.writer, self.masker, self.name = writer, masker, name
        self._raw: dict[int, RawLine] = {}
        self._listed: frozenset[str] = frozenset()  # PolicyStore.listed_names of the run

    def _tap(self, lines: Iterator[RawLine]) -> Iterator[RawLine]:
        for raw in lines:
            self._raw[raw.number] = raw
            yield raw

    def _prepare(self, result: BatchResult) -> Prepared | None:
        raw = self._raw.pop(result.line, None)
        if not result.ok or raw is None:
            return None
        text, _ = decode_line(raw)
        case, _ = load_json_text(text or "", f"line {raw.number}")
        decision: dict[str, Any] = json.loads(result.output)
        decision.pop("line", None)
        return self.writer.prepare(build_record(
            decision_id=str(uuid7()), case=case,
            masked_case=self.masker.mask(case, self._listed),
            masking=self.masker.describe(), decision=decision, latency_ms=None,
            source="batch", request_id=f"{self.name}:{raw.number}"))

    def _commit(self, prepared: list[Prepared]) -> None:
        """Write prepared records (one `os.write`) and sync them; raises LogWriteError."""
        if not prepared:
            return
        ticket, errors = self.writer.write_prepared(prepared)
        failed = next((e for e in errors if e is not None), None)
        if failed is not None:
            raise failed
        self.writer.sync(ticket)

    def run(self, store: PolicyStore, stream: IO[bytes], options: dict[str, Any], jobs: int = 1,
            max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[BatchResult]:
        """engine.batch.run_batch, logging each decided line before it is yielded."""
        self._listed = store.listed_names()
        lines = self._tap(read_lines(stream, max_line_bytes))
        group = GROUP if _regular_file(stream) else 1
        held: list[BatchResult] = []
        prepared: list[Prepared] = []
        for result in run_lines(store, lines, options, jobs):
            record = self._prepare(result)
            if record is not None:
                prepared.append(record)
            held.append(result)
            if len(held) >= group:
                self._commit(prepared)
                yield from held
                held, prepared = [], []
        self._commit(prepared)
        yield from held

    def close(self) -> None:
        self.writer.close()
