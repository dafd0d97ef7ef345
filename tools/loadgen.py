"""Fixed-rate (open-loop) load on `echri serve`: p50/p99/max latency and errors per rate.

    .venv/bin/python tools/loadgen.py --rates 200,500,1000 --seconds 30

Starts its own server on 127.0.0.1 (a free port, two workers unless --workers says, decision
log in a temporary directory, fsync `always`) unless --url is given. Requests are sent at
fixed times t0 + k/rate over keep-alive connections (at most --connections in flight; a
request that finds none free is counted as `late` and sent when one is); latency is
measured from the scheduled time, so a slow server cannot hide its queueing (no coordinated
omission). Prints numbers only: no assertion, no pass or fail.

The generator shares the machine's cores with the server, so it is kept cheap: raw HTTP/1.1
on asyncio protocols (no task, stream or future per request) on uvloop, one precomputed
request per example. Each line also gives the CPU the generator used per request and, when
it started the server, the CPU of the server's processes per request (Linux /proc) and each
worker's share of the requests (the records of its decision-log stream).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests._server import running  # noqa: E402  (the test helper starts the real server)

_TASKS: set[asyncio.Task[None]] = set()  # reconnections under way (kept referenced)


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    late: int = 0
    reconnects: int = 0  # connections the server closed and the pool replaced
    elapsed: float = 0.0  # first scheduled send to last response
    client_cpu: float = 0.0  # CPU seconds this generator used (it shares the machine)


def _request(host: str, body: bytes) -> bytes:
    return (f"POST /v1/decisions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time, parsed by hand.

    A protocol, not streams: no task, future or StreamReader per request, so the
    generator spends its CPU (which it shares with the server) on little more than the
    two system calls of each exchange.
    """

    def __init__(self, pool: Pool):
        self.pool, self.buffer = pool, b""
        self.transport: asyncio.Transport | None = None
        self.scheduled, self.busy = 0.0, False
        self.closing = False  # the last response said `connection: close`

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send(self, request: bytes, scheduled: float) -> None:
        assert self.transport is not None
        self.scheduled, self.buffer, self.busy = scheduled, b"", True
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end]
        length = 0
        at = head.lower().find(b"content-length:")
        if at >= 0:
            length = int(head[at + 15:].split(b"\r\n", 1)[0])
        if len(self.buffer) < end + 4 + length:
            return
        status, self.busy = int(head[9:12]), False
        self.closing = b"\r\nconnection: close" in head.lower()
        self.pool.done(self, status != 200, time.perf_counter() - self.scheduled)

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool.lost(self)


class Pool:
    """Free connections and the requests that found none (sent as soon as one is free).

    A connection the server closes (`connection: close`, e.g. `serve --keepalive-requests`)
    is replaced by a new one, as client pools do."""

    def __init__(self, requests: list[bytes], result: Result, host: str, port: int):
        self.requests, self.result = requests, result
        self.host, self.port = host, port
        self.free: list[Connection] = []
        self.waiting: collections.deque[tuple[int, float]] = collections.deque()
        self.outstanding = self.alive = 0
        self.all_sent = False
        self.finished = asyncio.get_running_loop().create_future()

    def send(self, k: int, scheduled: float) -> None:
        self.outstanding += 1
        if not self.free:
            self.result.late += 1
            self.waiting.append((k, scheduled))
            return
        self.free.pop().send(self.requests[k % len(self.requests)], scheduled)

    def done(self, conn: Connection, error: bool, latency: float) -> None:
        self.result.errors += error
        self.result.latencies.append(latency)
        self.outstanding -= 1
        if not conn.closing:
            self.give(conn)
        self.check_finished()

    def give(self, conn: Connection) -> None:
        """A connection free for the next request."""
        if self.waiting:
            k, scheduled = self.waiting.popleft()
            conn.send(self.requests[k % len(self.requests)], scheduled)
        else:
            self.free.append(conn)

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(lambda: Connection(self), self.host, self.port)
        self.alive += 1
        self.give(conn)

    def check_finished(self) -> None:
        if self.all_sent and not self.outstanding and not self.finished.done():
            self.finished.set_result(None)

    def lost(self, conn: Connection) -> None:
        """A closed connection: its request (if any) is an error; with none left, so is
        every request still waiting."""
        self.alive -= 1
        if conn in self.free:
            self.free.remove(conn)
        elif conn.busy:
            self._fail(conn.scheduled)
        if conn.closing and not conn.busy:  # closed by the server as announced: replace it
            self.result.reconnects += 1
            task = asyncio.get_running_loop().create_task(self.connect())
            _TASKS.add(task)
            task.add_done_callback(_TASKS.discard)
            return
        if not self.alive:
            while self.waiting:
                self._fail(self.waiting.popleft()[1])

    def _fail(self, scheduled: float) -> None:
        self.result.errors += 1
        self.result.latencies.append(time.perf_counter() - scheduled)
        self.outstanding -= 1
        self.check_finished()


async def run_rate(url: str, bodies: list[bytes], rate: float, seconds: float,
                   connections: int) -> Result:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = Result()
    pool = Pool([_request(f"{host}:{port}", b) for b in bodies], result, host, port)
    for _ in range(connections):
        await pool.connect()
    total = int(rate * seconds)
    cpu = time.process_time()
    start = time.perf_counter() + 0.2
    k = 0
    while k < total:
        now = time.perf_counter()
        while k < total and start + k / rate <= now:  # everything due by now
            pool.send(k, start + k / rate)
            k += 1
        if k < total:
            await asyncio.sleep(max(0.0, start + k / rate - time.perf_counter()))
    pool.all_sent = True
    pool.check_finished()
    await pool.finished
    result.elapsed = time.perf_counter() - start
    result.client_cpu = time.process_time() - cpu
    for conn in pool.free:
        assert conn.transport is not None
        conn.transport.close()
    return result


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(rate: float, r: Result) -> str:
    ms = [v * 1000 for v in r.latencies]
    achieved = len(ms) / r.elapsed if r.elapsed else 0.0
    return (f"{rate:>7.0f} req/s  sent {len(ms):>6}  achieved {achieved:>7.1f}/s  "
            f"p50 {_quantile(ms, 0.5):7.2f} ms  p99 {_quantile(ms, 0.99):7.2f} ms  "
            f"max {max(ms, default=float('nan')):8.2f} ms  mean {statistics.fmean(ms):7.2f} ms  "
            f"errors {r.errors}  late {r.late}  reconnects {r.reconnects}  "
            f"client cpu {r.client_cpu * 1000 / max(1, len(ms)):.2f} ms/req")


def _bodies() -> list[bytes]:
    return [json.dumps(json.loads(p.read_text())).encode()
            for p in sorted((ROOT / "examples").glob("*.json"))]


def tree_cpu(pid: int) -> tuple[float, float] | None:
    """CPU seconds (user, system) of process `pid` and its descendants; None off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    user, system = int(fields[11]) / tick, int(fields[12]) / tick
    for child in children:
        more_user, more_system = tree_cpu(int(child)) or (0.0, 0.0)
        user, system = user + more_user, system + more_system
    return user, system


def records_by_stream(log_dir: Path | None) -> collections.Counter[str]:
    """Decision-log records per stream (one stream per worker process), by file name."""
    out: collections.Counter[str] = collections.Counter()
    for path in sorted(log_dir.glob("decisions-*.jsonl")) if log_dir else ():
        with path.open("rb") as fh:
            out[path.name.split("-")[1]] += sum(chunk.count(b"\n")
                                                for chunk in iter(lambda: fh.read(1 << 20), b""))
    return out


def _split(before: collections.Counter[str], after: collections.Counter[str]) -> str:
    """`  workers 51/49 %`: each worker's share of the records of a run."""
    counts = sorted((after - before).values(), reverse=True)
    total = sum(counts)
    if len(counts) < 2 or not total:
        return ""
    return "  workers " + "/".join(f"{100 * c / total:.0f}" for c in counts) + " %"


async def _main(url: str, rates: list[float], seconds: float, connections: int,
                server_pid: int | None = None, log_dir: Path | None = None) -> None:
    bodies = _bodies()
    await run_rate(url, bodies, 100, 1, connections)  # warm-up
    for rate in rates:
        before = tree_cpu(server_pid) if server_pid else None
        records = records_by_stream(log_dir)
        result = await run_rate(url, bodies, rate, seconds, connections)
        line = report(rate, result)
        after = tree_cpu(server_pid) if server_pid else None
        if before is not None and after is not None:
            per = 1000 / max(1, len(result.latencies))
            user, system = ((a - b) * per for a, b in zip(after, before, strict=True))
            line += f"  server cpu {user + system:.2f} ms/req (user {user:.2f}, sys {system:.2f})"
        print(line + _split(records, records_by_stream(log_dir)), flush=True)


def _run(main: Coroutine[Any, Any, None]) -> None:
    """On uvloop when it is installed (a dependency of the service): less CPU per request."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="200,500,1000")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fsync", default="always")
    parser.add_argument("--url", default=None, help="an already running server")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    if args.url:
        _run(_main(args.url, rates, args.seconds, args.connections))
        return
    tmp = Path(tempfile.mkdtemp(prefix="echri-load-"))
    try:
        with running(tmp, "--workers", str(args.workers), "--log-fsync", args.fsync,
                     env={"ECHRI_LOG_KEY": "load-test-key"}) as server:
            print(f"server: {server.url}, {args.workers} worker(s), decision log fsync "
                  f"{args.fsync}, {os.cpu_count()} CPU(s)", flush=True)
            _run(_main(server.url, rates, args.seconds, args.connections,
                       server.process.pid, server.log_dir))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
