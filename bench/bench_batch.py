"""Benchmark `echri evaluate --batch` from JSONL to JSONL, as a licensing system would call it.

Generates a seeded corpus (engine.generator), writes it as JSON Lines, then times the CLI
end to end (process start, policy load, parse, evaluate, write) for each --jobs value and
backend. Prints numbers; asserts nothing.

    .venv/bin/python bench/bench_batch.py [--cases 100000] [--jobs 1 2] [--backend durable python]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 15_000  # cases/s with --jobs 2 (issue 15)
# The floor: one process that reads the same JSONL, json.loads + json.dumps each line and
# writes it out (interpreter start included), timed in the same run: machines differ.
FLOOR = ("import json, sys\n"
         "out = sys.stdout.buffer\n"
         "for line in open(sys.argv[1], 'rb'):\n"
         "    out.write(json.dumps(json.loads(line), ensure_ascii=False,\n"
         "                         separators=(',', ':')).encode() + b'\\n')\n")


def write_corpus(path: Path, n: int, seed: int) -> None:
    sys.path.insert(0, str(ROOT))
    import engine
    from engine.generator import generate_cases

    store = engine.load(ROOT / "policies")
    compiled = store.get("2026.1")
    with path.open("w", encoding="utf-8") as out:
        for case in generate_cases(compiled, n, seed):
            out.write(json.dumps(case, separators=(",", ":")) + "\n")


def run(corpus: Path, jobs: int, backend: str) -> tuple[float, int]:
    echri = Path(sys.executable).parent / "echri"
    start = time.perf_counter()
    proc = subprocess.run(
        [str(echri), "evaluate", "--batch", str(corpus), "--jobs", str(jobs),
         "--backend", backend, "--policy-dir", str(ROOT / "policies")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - start
    return elapsed, proc.stdout.count(b"\n")


def floor(corpus: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR, str(corpus)], stdout=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--backend", nargs="+", default=["durable", "python"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "cases.jsonl"
        t0 = time.perf_counter()
        write_corpus(corpus, args.cases, args.seed)
        print(f"corpus: {args.cases} cases, {corpus.stat().st_size / 1e6:.1f} MB, "
              f"generated in {time.perf_counter() - t0:.1f} s")
        base = min(floor(corpus) for _ in range(3))
        print(f"floor (one process: json.loads + json.dumps of each line): {base:.2f} s, "
              f"{args.cases / base:,.0f} lines/s")
        print(f"{'backend':<8} {'jobs':>4} {'seconds':>8} {'cases/s':>9} {'× floor':>8} "
              f"{'lines out':>10}   target (--jobs 2): {TARGET:,} cases/s")
        for backend in args.backend:
            for jobs in args.jobs:
                elapsed, lines = run(corpus, jobs, backend)
                print(f"{backend:<8} {jobs:>4} {elapsed:>8.2f} {args.cases / elapsed:>9,.0f} "
                      f"{elapsed / base:>8.1f} {lines:>10}")


if __name__ == "__main__":
    main()
