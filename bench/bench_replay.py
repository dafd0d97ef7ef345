"""Benchmark: the behavioural diff of 100,000 generated cases under two policy versions.

    .venv/bin/python bench/bench_replay.py                     # 100,000 cases, --jobs 2
    .venv/bin/python bench/bench_replay.py --cases 20000 --jobs 1 --backend python

Cases come from engine.generator (seeded, so runs are comparable). Each case is decided
under both versions (a process pool forked after loading, results in input order), exactly
as `echri diff --cases` does. A progress bar shows on a terminal. The target on the 2-core
reference machine is 10 s for the diff of 100,000 cases with --jobs 2 (issue 15).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from engine.diff import Corpus, diff_versions, load_pair
from engine.diff.corpus import CorpusCase
from engine.generator import generate_cases

TARGET_SECONDS = 10.0


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="echri-baseline@2025.1")
    parser.add_argument("--new", default="echri-baseline@2026.1")
    parser.add_argument("--policy-dir", type=Path, default=Path("policies"))
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=("durable", "python"), default="durable")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="Exit 1 when the diff takes longer (default: only report).")
    return parser.parse_args()


def main() -> int:
    args = options()
    start = time.perf_counter()
    old, new = load_pair(args.old, args.new, args.policy_dir)
    loaded = time.perf_counter()
    corpus = Corpus(sources=[f"{args.cases} generated case(s), seed {args.seed}"])
    corpus.cases = [CorpusCase(f"generated:{i}", c) for i, c in
                    enumerate(generate_cases(new.compiled, args.cases, args.seed), start=1)]
    generated = time.perf_counter()
    with tqdm(total=len(corpus.cases), unit=" cases", disable=not sys.stderr.isatty(),
              file=sys.stderr) as bar:
        report = diff_versions(old, new, corpus, backend=args.backend, jobs=args.jobs,
                               progress=bar.update)
    done = time.perf_counter()
    b = report.behavioural
    assert b is not None
    seconds = done - generated
    print(f"versions: {report.old.label} → {report.new.label} (backend {args.backend}, "
          f"--jobs {args.jobs})")
    print(f"load and compile: {loaded - start:.2f} s; generate {args.cases} cases: "
          f"{generated - loaded:.2f} s")
    print(f"diff of {b.total} cases under both versions: {seconds:.2f} s "
          f"({b.total / seconds:,.0f} cases/s, {2 * b.total / seconds:,.0f} decisions/s)")
    print(f"changed: {len(b.changes)} ({b.counts['loosened']} loosened, "
          f"{b.counts['tightened']} tightened, {b.counts['reasons']} reasons); "
          f"skipped: {len(b.skipped)}")
    print(f"target ≤ {TARGET_SECONDS:.0f} s: {'met' if seconds <= TARGET_SECONDS else 'missed'}")
    if args.max_seconds is not None and seconds > args.max_seconds:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
