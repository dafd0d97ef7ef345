"""Group commit for fsync `always`: a log thread writes and fsyncs records for an event loop.

The service's event-loop thread never touches the log file when every record must be
fsynced. On ext4 (and other file systems with stable pages) a `write(2)` waits while an
fsync of the same file is writing its pages back, and under load an fsync is nearly always
in progress: a write made on the loop thread stalls every request behind the disk.

`GroupCommitter.submit` queues a record and returns an asyncio future. The log thread takes
every queued record, writes each one (`LogWriter.write`: one `os.write` of one line, chained
in queue order), fsyncs once for all of them, and only then resolves their futures (one
hand-over to each loop per batch). So each decision is still acknowledged only after the
fsync that covers its record, and the records of concurrent requests share one fsync; a
record whose write or fsync fails gets the OSError, and its decision is not given.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping
from typing import Any

from engine.decisionlog.writer import LogWriteError, LogWriter

_Pending = tuple[Mapping[str, Any], "asyncio.Future[dict[str, Any]]"]
_Outcome = tuple["asyncio.Future[dict[str, Any]]", "dict[str, Any] | BaseException"]


def _resolve(outcomes: list[_Outcome]) -> None:
    """Runs on the loop thread: hand each waiting request its record or its error."""
    for future, outcome in outcomes:
        if future.done():  # the request was cancelled (client gone)
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class GroupCommitter:
    """One log thread in front of a LogWriter whose records must all be fsynced."""

    def __init__(self, writer: LogWriter):
        self.writer = writer
        self.batches = 0  # fsync groups committed (for tests and figures)
        self._cond = threading.Condition()
        self._queue: list[tuple[asyncio.AbstractEventLoop, _Pending]] = []
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="echri-log-commit",
                                        daemon=True)
        self._thread.start()

    def submit(self, record: Mapping[str, Any]) -> asyncio.Future[dict[str, Any]]:
        """Queue `record`; the future resolves once it is written and fsynced (or fails)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        with self._cond:
            if self._closed or not self._thread.is_alive():
                raise LogWriteError(0, "the decision log is closed")
            self._queue.append((loop, (record, future)))
            self._cond.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                batch, self._queue = self._queue, []
            if not batch:
                return  # closed and drained
            self._commit(batch)

    def _commit(self, batch: list[tuple[asyncio.AbstractEventLoop, _Pending]]) -> None:
        results: list[dict[str, Any] | BaseException] = []
        last = 0
        for _, (record, _future) in batch:
            try:
                full, ticket = self.writer.write(record)
            except OSError as exc:
                results.append(exc)
                continue
            except Exception as exc:  # never let the thread die: requests would hang
                results.append(LogWriteError(0, f"decision log record not written: {exc!r}"))
                continue
            results.append(full)
            last = max(last, ticket)
        try:
            self.writer.sync(last)
        except OSError as exc:  # written but not on disk: not acknowledged either
            failed = LogWriteError(exc.errno, f"decision log fsync failed: {exc.strerror}")
            results = [r if isinstance(r, BaseException) else failed for r in results]
        self.batches += 1
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for (loop, (_, future)), result in zip(batch, results, strict=True):
            by_loop.setdefault(loop, []).append((future, result))
        for loop, outcomes in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_resolve, outcomes)

    def close(self) -> None:
        """Commit what is queued, stop the thread, close the writer."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()
        self.writer.close()
