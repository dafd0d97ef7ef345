"""Append-only decision-log files: one stream per writer, hash-chained, fsynced, rotated.

Each writer (one per service worker process, one per `evaluate --batch --log` run) starts
a new *stream*, named by a UUIDv7 so streams sort by start time, and writes its files
`decisions-<stream>-<index>.jsonl` (index from 000001) in DIR. A record is one `os.write`
of one line on a file opened with O_APPEND, made before the decision is acknowledged: a
killed process loses at most the record in flight, whose torn line the reader skips. A
write that fails is cut off again (ftruncate) so no torn line is left inside a file.

fsync: `always` (each append returns after its record is on disk; concurrent appends share
one fsync, a group commit) or every N seconds (checked at each append and at close).
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
from engine.decisionlog.record import FORMAT, GENESIS, encode_line, record_hash

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


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LogWriter:
    """Thread-safe appender of one stream; `append` returns the record as written."""

    def __init__(self, config: LogConfig, clock: Callable[[], float] = time.time):
        self.config = config
        self.stream = uuid7().hex
        self._clock = clock
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._seq, self._prev = 0, GENESIS
        self._index, self._fd, self._size, self._day = 0, -1, 0, ""
        self._written = self._synced = 0
        self._last_sync = clock()
        config.directory.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path:
        return self.config.directory / file_name(self.stream, self._index)

    def _open_next(self, day: str) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._synced = max(self._synced, self._written)
        self._index += 1
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o640)
        self._size, self._day = 0, day
        _fsync_dir(self.config.directory)

    def _rotate_if_needed(self, size: int, day: str) -> None:
        c = self.config
        if self._fd < 0 or (c.rotate_daily and day != self._day) or \
                (c.rotate_bytes and self._size and self._size + size > c.rotate_bytes):
            self._open_next(day)

    def _write(self, line: bytes) -> None:
        start = self._size
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as exc:
            with contextlib.suppress(OSError):  # leave no torn line inside the file
                os.ftruncate(self._fd, start)
            raise LogWriteError(exc.errno, f"decision log write failed: {exc.strerror}") from exc
        self._size += len(line)

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Chain, write and (per the fsync policy) sync one record."""
        full, ticket = self.write(record)
        self.sync(ticket)
        return full

    def write(self, record: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
        """Chain and write one record; returns it and the ticket `sync` needs.

        With an fsync interval, the interval's fsync is done here and `sync` does nothing.
        """
        with self._lock:
            if self._fd == -2:
                raise LogWriteError(0, "the decision log is closed")
            full: dict[str, Any] = {"format": FORMAT, "stream": self.stream,
                                    "seq": self._seq + 1, **record, "prev": self._prev}
            full["hash"] = record_hash(full)
            line = encode_line(full)
            self._rotate_if_needed(len(line), str(full.get("time", ""))[:10])
            self._write(line)
            self._seq, self._prev = full["seq"], full["hash"]
            self._written += 1
            if self.config.fsync_interval:
                now = self._clock()
                if now - self._last_sync >= self.config.fsync_interval:
                    os.fsync(self._fd)
                    self._synced, self._last_sync = self._written, now
                return full, 0
            return full, self._written

    @property
    def needs_sync(self) -> bool:
        """True when each record must be fsynced (`always`) before it is acknowledged."""
        return not self.config.fsync_interval

    def sync(self, ticket: int) -> None:
        """Return once record `ticket` is on disk (fsync `always`; a no-op otherwise)."""
        if ticket:
            self._group_sync(ticket)

    def _group_sync(self, ticket: int) -> None:
        with self._sync_lock:
            if self._synced >= ticket:  # another append's fsync covered this record
                return
            with self._lock:  # the file that holds every record written so far
                target, fd = self._written, os.dup(self._fd)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._synced = max(self._synced, target)

    @property
    def head(self) -> tuple[int, str]:
        """(last seq, last hash) of this stream."""
        with self._lock:
            return self._seq, self._prev

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.fsync(self._fd)
                os.close(self._fd)
            self._fd = -2
