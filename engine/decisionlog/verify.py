"""Check the hash chain of every stream of a decision log.

Per stream: `seq` runs 1, 2, 3, ... without gap; each `prev` is the previous record's
`hash` (GENESIS first); each `hash` is the record's own; `stream` names the stream and
file indexes run 1, 2, 3, .... So an edited record (its hash), a removed one (a seq gap
and a broken `prev`), reordered ones and a removed file are all found. A torn last line is
reported but is not a failure. What a chain alone cannot show: the removal of a stream's
last records or of a whole stream; compare the heads (`echri log verify` prints them) with
a copy kept elsewhere for that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from engine.decisionlog.reader import TORN, LogEntry, log_files, read_log
from engine.decisionlog.record import FORMAT, GENESIS, record_hash


@dataclass(slots=True)
class StreamState:
    stream: str
    records: int = 0
    seq: int = 0
    head: str = GENESIS
    index: int = 0


@dataclass(slots=True)
class VerifyReport:
    streams: dict[str, StreamState] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # "FILE:LINE: message"
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def records(self) -> int:
        return sum(s.records for s in self.streams.values())


def _check(entry: LogEntry, state: StreamState, report: VerifyReport) -> None:
    record = entry.record
    assert record is not None
    problems = []
    if record.get("format") != FORMAT:
        problems.append(f"unknown format `{record.get('format')}`")
    if record.get("stream") != entry.stream:
        problems.append(f"record of stream `{record.get('stream')}` in a file of `{entry.stream}`")
    if record.get("hash") != record_hash(record):
        problems.append("the record's hash does not match its content (edited)")
    seq = record.get("seq")
    if seq != state.seq + 1:
        problems.append(f"seq {seq} follows seq {state.seq} (a record is missing or moved)")
    if record.get("prev") != state.head:
        problems.append("`prev` is not the previous record's hash (removed or reordered)")
    report.errors.extend(f"{entry.origin}: {p}" for p in problems)
    state.records += 1
    state.seq = seq if isinstance(seq, int) else state.seq + 1
    state.head = str(record.get("hash"))


def verify_entries(entries: Iterable[LogEntry], report: VerifyReport) -> None:
    for entry in entries:
        state = report.streams.setdefault(entry.stream, StreamState(entry.stream))
        if entry.index != state.index:
            if entry.index != state.index + 1:
                report.errors.append(f"{entry.origin}: file {entry.index} of the stream "
                                     f"follows file {state.index} (a file is missing)")
            state.index = entry.index
        if entry.record is None:
            target = report.warnings if entry.kind == TORN else report.errors
            target.append(f"{entry.origin}: {entry.problem}")
            continue
        _check(entry, state, report)


def verify_log(directory: Path) -> VerifyReport:
    """The chain check of every stream in `directory` (raises OSError if unreadable)."""
    report = VerifyReport()
    if not log_files(directory):
        report.errors.append(f"{directory}: no decision-log file")
        return report
    verify_entries(read_log(directory), report)
    return report
