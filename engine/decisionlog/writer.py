"""Append-only decision-log files: one stream per writer, hash-chained, fsynced, rotated.

Each writer (one per service worker process, one per `evaluate --batch --log` run) starts
a new *stream*, named by a UUIDv7 so streams sort by start time, and writes its files
`decisions-<stream>-<index>.jsonl` (index from 000001) in DIR. Records are written as
whole lines, in order, with one `os.write` for the records a log thread writes together,
on a file opened with O_APPEND, before their decisions are acknowledged: a killed process
loses at most the records in flight, whose torn last line the reader skips. A write that
fails is cut off again (ftruncate) so no torn line is left inside a file.

fsync: `always` (each append returns after its record is on disk; concurrent appends share
one fsync, a group commit) or every N seconds (checked at each append, by the service's
log thread when idle, and at close). Locks, always taken in this order: `_sync_lock`
(one fsync at a time), `_io` (the file), `_lock` (the chain).
Rotation: to a new file when it would pass `rotate_bytes`, and at the first record of a new
UTC day when `rotate_daily`; the chain continues across the files of a stream.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.decisionlog.ids import uuid7
from engine.decisionlog.record import FORMAT, GENESIS, seal

FILE_PREFIX = "decisions-"
FILE_SUFFIX = ".jsonl"


class LogWriteError(OSError):
    """A record could not be written: the decision must not be acknowledged."""


@dataclass(frozen=True, slots=True)
class LogConfig:
    directory: Path
    fsync_interval: float = 0.0  # 0: fsync every record (`always`)
    rotate_bytes: int = 64 * 1024 * 1024  # 0: no size rotation
    rotate_daily: bool = True


def parse_fsync(text: str) -> float:
    """`always` → 0.0; a number of seconds → that number (> 0)."""
    if text == "always":
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"fsync policy `{text}` is neither `always` nor seconds") from None
    if not value > 0 or value > 3600:
        raise ValueError(f"fsync interval `{text}` must be between 0 and 3600 seconds")
    return value


def file_name(stream: str, index: int) -> str:
    return f"{FILE_PREFIX}{stream}-{index:06d}{FILE_SUFFIX}"


# A record is on disk once its bytes and the file's size are: fdatasync, which skips the
# timestamps fsync also writes (PostgreSQL's default for its WAL on Linux); fsync where
# the platform has no fdatasync (macOS)
_datasync = getattr(os, "fdatasync", os.fsync)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A record chained and encoded (`LogWriter.prepare`), not yet written."""

    full: dict[str, Any]  # the record as it will be read back, `hash` included
    line: bytes
    epoch: int  # the chain it continues: a failed write starts a new one
    day: str  # the UTC day of its `time` (daily rotation)


class LogWriter:
    """Thread-safe appender of one stream; `append` returns the record as written.

    Two steps, so that a log thread needs the GIL as little as possible: `prepare` chains
    and encodes a record (CPU only; the service does it on its loop thread, in queue order)
    and `write_prepared` writes prepared records in order, one `os.write` per file (I/O
    only). A failed write rewinds the chain to the last record on disk and starts a new
    epoch: records prepared after the failed one continue a chain that was never written,
    so they fail too and the stream never has a gap.
    """

    def __init__(self, config: LogConfig, clock: Callable[[], float] = time.time):
        self.config = config
        self.stream = uuid7().hex
        self._clock = clock
        self._lock = threading.Lock()  # the chain: seq, prev and epoch of what is prepared
        self._io = threading.Lock()  # the file: writes, rotation, what is on disk
        self._sync_lock = threading.Lock()
        self._seq, self._prev, self._epoch = 0, GENESIS, 0
        self._head = (0, GENESIS)  # (seq, hash) of the last record written
        self._index, self._fd, self._size, self._day = 0, -1, 0, ""
        self._written = self._synced = 0
        self._broken = ""  # why no record can be acknowledged any more (a failed fsync)
        self._last_sync = clock()
        config.directory.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path:
        return self.config.directory / file_name(self.stream, self._index)

    def _open_next(self, day: str) -> None:
        if self._fd >= 0:
            _datasync(self._fd)
            os.close(self._fd)
            self._synced = max(self._synced, self._written)
        self._index += 1
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o640)
        self._size, self._day = 0, day
        _fsync_dir(self.config.directory)

    def _needs_new_file(self, size: int, day: str) -> bool:
        c = self.config
        return self._fd < 0 or (c.rotate_daily and day != self._day) or \
            bool(c.rotate_bytes and self._size and self._size + size > c.rotate_bytes)

    def opens_file(self, prepared: Prepared) -> bool:
        """Whether writing `prepared` next opens a file (the stream's first, or a rotation),
        which fsyncs the file it closes and the directory: work for the log thread."""
        return self._needs_new_file(len(prepared.line), prepared.day)

    def _write(self, data: bytes) -> None:
        start = self._size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as exc:
            with contextlib.suppress(OSError):  # leave no torn line inside the file
                os.ftruncate(self._fd, start)
            raise LogWriteError(exc.errno, f"decision log write failed: {exc.strerror}") from exc
        self._size += len(data)

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Chain, write and (per the fsync policy) sync one record."""
        full, ticket = self.write(record)
        self.sync(ticket)
        return full

    def write(self, record: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
        """Chain and write one record; returns it and the ticket `sync` needs."""
        prepared = self.prepare(record)
        ticket, [error] = self.write_prepared([prepared])
        if error is not None:
            raise error
        return prepared.full, ticket

    def prepare(self, record: Mapping[str, Any]) -> Prepared:
        """Chain `record` after the last one prepared and encode its line (no I/O)."""
        with self._lock:
            if self._fd == -2:
                raise LogWriteError(0, "the decision log is closed")
            if self._broken:
                raise LogWriteError(0, self._broken)
            full: dict[str, Any] = {"format": FORMAT, "stream": self.stream,
                                    "seq": self._seq + 1, **record, "prev": self._prev}
            prepared = Prepared(full, seal(full), self._epoch, str(full.get("time", ""))[:10])
            self._seq, self._prev = full["seq"], full["hash"]
            return prepared

    def write_prepared(self, batch: list[Prepared]) -> tuple[int, list[LogWriteError | None]]:
        """Write prepared records in order: (the ticket `sync` needs, per record None or
        the error that kept it off the disk)."""
        with self._io:
            outcomes: list[LogWriteError | None] = []  # of the records settled so far
            group: list[Prepared] = []  # written next, with one `os.write`
            try:
                for prepared in batch:
                    if prepared.epoch != self._epoch:
                        outcomes.append(LogWriteError(0, "decision log record not written: "
                                                      "it was chained after a failed write"))
                        continue
                    if self.opens_file(prepared):
                        self._flush(group)
                        outcomes += [None] * len(group)
                        group = []
                        self._open_next(prepared.day)
                    group.append(prepared)
                self._flush(group)
            except OSError as exc:  # this record and every one after it fail
                failed = exc if isinstance(exc, LogWriteError) else \
                    LogWriteError(exc.errno, f"decision log write failed: {exc.strerror}")
                self._rewind()
                return self._written, outcomes + [failed] * (len(batch) - len(outcomes))
            return self._written, outcomes + [None] * len(group)

    def _flush(self, group: list[Prepared]) -> None:
        if not group:
            return
        self._write(b"".join(p.line for p in group))
        self._written += len(group)
        last = group[-1].full
        self._head = (last["seq"], last["hash"])

    def _rewind(self) -> None:
        """After a failed write: the next record continues the last one on disk."""
        with self._lock:
            self._seq, self._prev = self._head
            self._epoch += 1

    @property
    def needs_sync(self) -> bool:
        """True when each record must be fsynced (`always`) before it is acknowledged."""
        return not self.config.fsync_interval

    def sync(self, ticket: int) -> None:
        """`always`: return once record `ticket` is on disk. An interval: the interval's
        fsync, when it is due (a failed one stops the log: `prepare` refuses records)."""
        if not self.config.fsync_interval:
            if ticket:
                self._group_sync(ticket)
            return
        if self.sync_due_now():
            self.sync_due()

    def sync_due_now(self) -> bool:
        """An fsync interval is set and has passed since the last fsync."""
        interval = self.config.fsync_interval
        return bool(interval) and self._clock() - self._last_sync >= interval

    def sync_due(self) -> None:
        """An interval's fsync of whatever is written but not yet synced."""
        self._last_sync = self._clock()
        try:
            self._group_sync(self._written)
        except OSError as exc:
            with self._lock:
                self._broken = f"decision log fsync failed ({exc.strerror}): restart the " \
                    "service once the disk is sound"
            raise

    def _group_sync(self, ticket: int) -> None:
        with self._sync_lock:
            if self._synced >= ticket:  # another append's fsync covered this record
                return
            with self._io:  # the file that holds every record written so far
                if self._fd < 0:
                    return
                target, fd = self._written, os.dup(self._fd)
            try:
                _datasync(fd)
            finally:
                os.close(fd)
            self._synced = max(self._synced, target)

    @property
    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last record of this stream on disk."""
        return self._head

    def close(self) -> None:
        with self._io, self._lock:  # the order write_prepared takes them in
            if self._fd >= 0:
                _datasync(self._fd)
                os.close(self._fd)
            self._fd = -2
