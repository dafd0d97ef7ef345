"""Group commit (engine/decisionlog/committer.py): one fsync for concurrent records."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from engine.decisionlog import LogConfig, LogWriter, read_log, verify_log
from engine.decisionlog.committer import GroupCommitter
from engine.decisionlog.writer import LogWriteError


def _record(k: int) -> dict[str, Any]:
    return {"decision_id": f"d-{k}", "time": "2026-04-15T09:30:00.000000Z", "case_id": f"C-{k}"}


class CountingWriter(LogWriter):
    """Counts fsyncs; each one is slow, so that records queue up behind it."""

    syncs = 0

    def sync(self, ticket: int) -> None:
        if ticket:
            type(self).syncs += 1
            os.sched_yield()
        super().sync(ticket)


def test_concurrent_records_share_fsyncs_and_are_on_disk_when_acknowledged(
        tmp_path: Path) -> None:
    CountingWriter.syncs = 0
    writer = CountingWriter(LogConfig(tmp_path))
    committer = GroupCommitter(writer)
    acknowledged: list[int] = []

    async def one(k: int) -> None:
        full = await committer.submit(_record(k))
        assert writer._synced >= full["seq"]  # acknowledged only after its fsync
        acknowledged.append(full["seq"])

    async def main() -> None:
        await asyncio.gather(*[one(k) for k in range(200)])

    asyncio.run(main())
    committer.close()
    assert sorted(acknowledged) == list(range(1, 201))
    assert committer.batches == CountingWriter.syncs < 200  # grouped
    report = verify_log(tmp_path)
    assert report.ok and report.records == 200
    ids = [e.record["decision_id"] for e in read_log(tmp_path) if e.record]
    assert ids == [f"d-{k}" for k in range(200)]  # queue order is chain order


class FailingOnce(LogWriter):
    """The write of the group holding `C-<fail_at>` fails once (a full disk)."""

    fail_at = 1

    def _write(self, data: bytes) -> None:
        if f'"case_id":"C-{self.fail_at}"'.encode() in data:
            type(self).fail_at = -1
            raise LogWriteError(28, "decision log write failed: No space left on device")
        super()._write(data)


def test_a_failed_write_fails_its_records_and_those_chained_after_it_only(
        tmp_path: Path) -> None:
    FailingOnce.fail_at = 1
    writer = FailingOnce(LogConfig(tmp_path))
    first = writer.append(_record(0))
    prepared = [writer.prepare(_record(k)) for k in (1, 2)]  # queued behind the failure
    _, errors = writer.write_prepared(prepared)
    assert all(isinstance(e, OSError) for e in errors)
    later = writer.append(_record(3))  # continues the last record on disk
    writer.close()
    assert later["seq"] == 2 and later["prev"] == first["hash"]
    report = verify_log(tmp_path)
    assert report.ok and report.records == 2
    assert [e.record["case_id"] for e in read_log(tmp_path) if e.record] == ["C-0", "C-3"]


def test_a_failed_write_is_an_error_for_the_requests_it_held_only(tmp_path: Path) -> None:
    FailingOnce.fail_at = 1
    committer = GroupCommitter(FailingOnce(LogConfig(tmp_path)))

    async def main() -> list[Any]:
        first = await committer.submit(_record(0))
        futures = [committer.submit(_record(k)) for k in (1, 2)]  # one group: both fail
        failed = await asyncio.gather(*futures, return_exceptions=True)
        return [first, *failed, await committer.submit(_record(3))]

    outcomes = asyncio.run(main())
    committer.close()
    assert isinstance(outcomes[1], OSError) and isinstance(outcomes[2], OSError)
    assert [outcomes[0]["case_id"], outcomes[3]["case_id"]] == ["C-0", "C-3"]
    assert verify_log(tmp_path).ok and verify_log(tmp_path).records == 2


def test_a_record_that_cannot_be_encoded_is_an_error_for_its_request_only(
        tmp_path: Path) -> None:
    committer = GroupCommitter(LogWriter(LogConfig(tmp_path)))

    async def main() -> list[Any]:
        with pytest.raises(OSError, match="not written"):
            committer.submit({"case_id": "C-x", "bad": object()})  # a bug, not the disk
        return await asyncio.gather(*[committer.submit(_record(k)) for k in range(3)])

    assert [r["seq"] for r in asyncio.run(main())] == [1, 2, 3]
    committer.close()
    assert verify_log(tmp_path).ok


def test_with_an_fsync_interval_records_are_acknowledged_once_written_and_synced_when_idle(
        tmp_path: Path) -> None:
    writer = CountingWriter(LogConfig(tmp_path, fsync_interval=0.05))
    CountingWriter.syncs = 0
    committer = GroupCommitter(writer)

    async def main() -> list[dict[str, Any]]:
        records = await asyncio.gather(*[committer.submit(_record(k)) for k in range(20)])
        for _ in range(100):  # the log thread fsyncs within the interval, with no request
            if writer._synced >= 20:
                break
            await asyncio.sleep(0.01)
        return records

    records = asyncio.run(main())
    assert writer._synced == 20
    committer.close()
    assert [r["seq"] for r in records] == list(range(1, 21))
    assert verify_log(tmp_path).records == 20


def test_a_failed_interval_fsync_stops_the_log(tmp_path: Path) -> None:
    class FailingSync(LogWriter):
        def _group_sync(self, ticket: int) -> None:
            raise OSError(5, "Input/output error")

    writer = FailingSync(LogConfig(tmp_path, fsync_interval=0.01))
    writer.append(_record(0))
    time.sleep(0.02)
    with pytest.raises(OSError):
        writer.append(_record(1))  # written, then the due fsync fails
    with pytest.raises(LogWriteError, match="fsync failed"):
        writer.append(_record(2))  # acknowledged records could be lost: refuse the rest


def test_a_closed_committer_refuses_records(tmp_path: Path) -> None:
    committer = GroupCommitter(LogWriter(LogConfig(tmp_path)))
    committer.close()

    async def main() -> None:
        committer.submit(_record(0))

    with pytest.raises(OSError, match="closed"):
        asyncio.run(main())


def test_with_an_fsync_interval_an_idle_log_is_written_by_the_caller_and_a_busy_one_queued(
        tmp_path: Path) -> None:
    import threading

    release, syncing, armed = threading.Event(), threading.Event(), threading.Event()

    class SlowSync(LogWriter):
        def _group_sync(self, ticket: int) -> None:
            if armed.is_set():
                syncing.set()
                release.wait(5)
            super()._group_sync(ticket)

    writer = SlowSync(LogConfig(tmp_path, fsync_interval=0.01))
    opening = writer.append(_record(0))  # the file is open (opening one is the thread's)
    armed.set()
    committer = GroupCommitter(writer)

    async def main() -> list[dict[str, Any]]:
        first = await committer.submit(_record(1))  # idle: written at once, by the caller
        assert committer.batches == 0 and writer.head[0] == 2
        assert await asyncio.to_thread(syncing.wait, 5)  # the interval's fsync is running
        pending = [committer.submit(_record(k)) for k in (2, 3)]
        await asyncio.sleep(0.05)
        assert writer.head[0] == 2 and not any(f.done() for f in pending)  # queued
        release.set()
        return [opening, first, *await asyncio.gather(*pending)]

    records = asyncio.run(main())
    committer.close()
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    assert verify_log(tmp_path).ok and verify_log(tmp_path).records == 4


def test_with_an_fsync_interval_a_rotation_is_left_to_the_log_thread(tmp_path: Path) -> None:
    # opening a file fsyncs the one it closes and the directory: never on the caller's
    # (the event loop's) thread, where it would hold up every request
    line = len(LogWriter(LogConfig(tmp_path / "probe")).prepare(_record(0)).line)
    writer = LogWriter(LogConfig(tmp_path, fsync_interval=60, rotate_bytes=2 * line + 10))
    committer = GroupCommitter(writer)
    callers: list[bool] = []

    async def main() -> None:
        for k in range(6):
            future = committer.submit(_record(k))
            callers.append(future.done())  # done on return: the caller wrote it
            await future

    asyncio.run(main())
    committer.close()
    files = sorted(tmp_path.glob("decisions-*.jsonl"))
    assert len(files) == 3 and committer.batches >= 3  # two records a file
    # each file's first record went to the log thread (the second one too when it found
    # the thread not yet idle again)
    assert callers[0::2] == [False] * 3
    assert verify_log(tmp_path).ok and verify_log(tmp_path).records == 6
