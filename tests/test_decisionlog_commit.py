"""Group commit (engine/decisionlog/committer.py): one fsync for concurrent records."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from engine.decisionlog import LogConfig, LogWriter, read_log, verify_log
from engine.decisionlog.committer import GroupCommitter


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


def test_a_failed_write_is_an_error_for_its_request_only(tmp_path: Path) -> None:
    class Failing(LogWriter):
        def write(self, record: Any) -> tuple[dict[str, Any], int]:
            if record["case_id"] == "C-1":
                raise OSError(28, "No space left on device")
            if record["case_id"] == "C-3":  # a bug, not the disk: still only that request
                raise ValueError("unexpected")
            return super().write(record)

    committer = GroupCommitter(Failing(LogConfig(tmp_path)))

    async def main() -> list[Any]:
        futures = [committer.submit(_record(k)) for k in range(5)]
        return await asyncio.gather(*futures, return_exceptions=True)

    outcomes = asyncio.run(main())
    committer.close()
    assert isinstance(outcomes[1], OSError) and isinstance(outcomes[3], OSError)
    assert [o["case_id"] for o in (outcomes[0], outcomes[2], outcomes[4])] == \
        ["C-0", "C-2", "C-4"]
    assert verify_log(tmp_path).records == 3


def test_a_closed_committer_refuses_records(tmp_path: Path) -> None:
    committer = GroupCommitter(LogWriter(LogConfig(tmp_path)))
    committer.close()

    async def main() -> None:
        committer.submit(_record(0))

    with pytest.raises(OSError, match="closed"):
        asyncio.run(main())
