"""Fixed-rate (open-loop) load on `echri serve`: p50/p99/max latency and errors per rate.

    .venv/bin/python tools/loadgen.py --rates 200,500,1000 --seconds 30

Starts its own server on 127.0.0.1 (a free port, decision log in a temporary directory,
fsync `always`) unless --url is given. Requests are sent at fixed times t0 + k/rate over
keep-alive connections (at most --connections in flight; a request that finds none free is
counted as `late` and sent when one is); latency is measured from the scheduled time, so a
slow server cannot hide its queueing (no coordinated omission). Prints numbers only: no
assertion, no pass or fail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests._server import running  # noqa: E402  (the test helper starts the real server)


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    late: int = 0
    elapsed: float = 0.0  # first scheduled send to last response


def _request(host: str, body: bytes) -> bytes:
    return (f"POST /v1/decisions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def run_rate(url: str, bodies: list[bytes], rate: float, seconds: float,
                   connections: int) -> Result:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(host, port))
    requests = [_request(f"{host}:{port}", b) for b in bodies]
    result = Result()
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2

    async def one(k: int) -> None:
        scheduled = start + k / rate
        if pool.empty():
            result.late += 1
        conn = await pool.get()
        try:
            status = await _exchange(*conn, requests[k % len(requests)])
            result.errors += status != 200
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result.errors += 1
            conn = await asyncio.open_connection(host, port)
        result.latencies.append(time.perf_counter() - scheduled)
        pool.put_nowait(conn)

    tasks = []
    for k in range(total):
        delay = start + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(k)))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - start
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
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
            f"errors {r.errors}  late {r.late}")


def _bodies() -> list[bytes]:
    return [json.dumps(json.loads(p.read_text())).encode()
            for p in sorted((ROOT / "examples").glob("*.json"))]


async def _main(url: str, rates: list[float], seconds: float, connections: int) -> None:
    bodies = _bodies()
    await run_rate(url, bodies, 100, 1, connections)  # warm-up
    for rate in rates:
        print(report(rate, await run_rate(url, bodies, rate, seconds, connections)),
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="200,500,1000")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--fsync", default="always")
    parser.add_argument("--url", default=None, help="an already running server")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    if args.url:
        asyncio.run(_main(args.url, rates, args.seconds, args.connections))
        return
    tmp = Path(tempfile.mkdtemp(prefix="echri-load-"))
    try:
        with running(tmp, "--workers", str(args.workers), "--log-fsync", args.fsync,
                     env={"ECHRI_LOG_KEY": "load-test-key"}) as server:
            print(f"server: {server.url}, {args.workers} worker(s), decision log fsync "
                  f"{args.fsync}, {os.cpu_count()} CPU(s)", flush=True)
            asyncio.run(_main(server.url, rates, args.seconds, args.connections))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
