"""The service's log thread: writes and fsyncs decision-log records for an event loop.

The service's event-loop thread does not fsync, and opens no file: either would hold up
every request behind the disk. (Measured in the service, a 3 KB append on the loop thread
took p99 3.6 ms while the log thread fsynced; a direct test with no other Python thread
busy found appends never waiting for a concurrent fsync, so that figure may have been the
GIL's hand-over, not the disk. Writing on the loop thread during an interval's fsync was
tried and changed nothing measurable: records queue behind the fsync, as before.)

`GroupCommitter.submit` chains and encodes the record on the caller's thread
(`LogWriter.prepare`, in queue order), queues it and returns an asyncio future. The log
thread takes every queued record and writes them with one `os.write` (`write_prepared`).
With fsync `always` it then fsyncs once for all of them and only then resolves their
futures (one hand-over to each loop per batch), so each decision is acknowledged only after
the fsync that covers its record and concurrent requests share one fsync. With an fsync
interval it resolves them once written, and fsyncs when the interval is due (also when
idle); a record that finds the thread idle (no fsync running, nothing queued) is written
by the caller at once, which spares a quiet service two thread hand-overs per request,
unless it opens a file (the stream's first, or a rotation: both fsync, and on the loop
thread each stalled every request, 20-90 ms on the 2-core VM).

The thread itself only does I/O: a thread that needs the GIL waits for the loop to let go
of it (up to the 5 ms switch interval while the loop decides), so the old log
thread, which encoded and wrote each record itself, needed it twice per record and made
the requests wait for that. A record whose write or fsync fails gets the OSError, and its
decision is not given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Mapping
from typing import Any

from engine.decisionlog.writer import LogWriteError, LogWriter, Prepared

log = logging.getLogger("echri.decisionlog")
_Pending = tuple[asyncio.AbstractEventLoop, Prepared, "asyncio.Future[dict[str, Any]]"]
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
    """One log thread in front of a LogWriter."""

    def __init__(self, writer: LogWriter):
        self.writer = writer
        self.batches = 0  # write groups committed (for tests and figures)
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._closed = False
        self._busy = False  # the thread is writing or fsyncing: callers queue behind it
        # an fsync interval is kept while idle too: wake up that often
        self._interval = writer.config.fsync_interval or None
        self._thread = threading.Thread(target=self._run, name="echri-log-commit",
                                        daemon=True)
        self._thread.start()

    def submit(self, record: Mapping[str, Any]) -> asyncio.Future[dict[str, Any]]:
        """Queue `record`; the future resolves once it is written (and, with fsync
        `always`, fsynced) or fails. Raises LogWriteError when it cannot be queued."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        with self._cond:  # prepared in queue order: the chain is the queue's order
            if self._closed or not self._thread.is_alive():
                raise LogWriteError(0, "the decision log is closed")
            try:
                prepared = self.writer.prepare(record)
            except OSError:
                raise
            except Exception as exc:  # a bug, not the disk: this request only
                raise LogWriteError(0, f"decision log record not written: {exc!r}") from exc
            if self._interval and not self._busy and not self._queue \
                    and not self.writer.opens_file(prepared):
                _, [error] = self.writer.write_prepared([prepared])  # no fsync to wait for
                if error is not None:
                    raise error
                future.set_result(prepared.full)
                return future
            self._queue.append((loop, prepared, future))
            self._cond.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue and not self._closed:
                    self._cond.wait(self._interval)
                batch, self._queue = self._queue, []
                closed = self._closed
                self._busy = bool(batch)
            if batch:
                self._commit(batch)
                with self._cond:
                    self._busy = False
            elif closed:
                return  # closed and drained
            elif self._interval:
                self._sync_due()

    def _commit(self, batch: list[_Pending]) -> None:
        results: list[dict[str, Any] | BaseException]
        try:
            ticket, errors = self.writer.write_prepared([p for _, p, _ in batch])
            results = [p.full if e is None else e for (_, p, _), e in zip(batch, errors,
                                                                          strict=True)]
        except Exception as exc:  # never let the thread die: requests would hang
            failed = LogWriteError(0, f"decision log records not written: {exc!r}")
            ticket, results = 0, [failed] * len(batch)
        if self.writer.needs_sync:
            try:
                self.writer.sync(ticket)
            except OSError as exc:  # written but not on disk: not acknowledged either
                failed = LogWriteError(exc.errno, f"decision log fsync failed: {exc.strerror}")
                results = [r if isinstance(r, BaseException) else failed for r in results]
        self.batches += 1
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for (loop, _, future), result in zip(batch, results, strict=True):
            by_loop.setdefault(loop, []).append((future, result))
        for loop, outcomes in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_resolve, outcomes)
        if not self.writer.needs_sync:
            self._sync_due(ticket)

    def _sync_due(self, ticket: int = 0) -> None:
        """The interval's fsync when it is due; callers queue meanwhile (see the module
        docstring)."""
        if not self.writer.sync_due_now():
            return
        with self._cond:
            self._busy = True
        try:
            self.writer.sync(ticket)
        except OSError as exc:  # the writer now refuses records: every request gets a 503
            log.error("decision log fsync failed: %s; no decision is given any more", exc)
        finally:
            with self._cond:
                self._busy = False

    def close(self) -> None:
        """Commit what is queued, stop the thread, close the writer."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()
        self.writer.close()
