"""Benchmark: `echri analyze` on the baseline policy, in process.

    .venv/bin/python bench/bench_analysis.py            # the figures of README, Proofs
    .venv/bin/python bench/bench_analysis.py --json

Times (wall clock, one process): encoding a version, `compare` 2025.1 → 2026.1 and
2026.1 → 2027.1 (every region up to --max-regions, each witness re-decided by both
backends), the shipped invariants per version, and `rules` for 2027.1. Targets from the
issue are printed next to the measurements; no assertions.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import engine
from engine.analysis.compare import compare
from engine.analysis.encode import encode
from engine.analysis.inputs import Inputs
from engine.analysis.invariants import check_invariants, load_invariants
from engine.analysis.rules import analyze_rules

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2)
    parser.add_argument("--max-regions", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    store = engine.load(ROOT / "policies")
    get = lambda v: store.get(v, "echri-baseline")  # noqa: E731
    out: dict[str, object] = {}
    t = time.monotonic()
    p = get("2027.1")
    inputs = Inputs([p], items=args.items, submitted=p.policy.effective_from)
    world, assured = inputs.world(p)
    encode(p, world, assured)
    out["encode 2027.1 (s)"] = round(time.monotonic() - t, 2)
    for old, new in (("2025.1", "2026.1"), ("2026.1", "2027.1")):
        r = compare(get(old), get(new), items=args.items, max_regions=args.max_regions)
        out[f"compare {old} → {new} (s, target < 60)"] = round(r.seconds, 2)
        out[f"compare {old} → {new} regions"] = {d: len(r.of(d)) for d in r.complete}
    invariants = load_invariants(ROOT / "analysis" / "invariants.yaml")
    for v in ("2025.1", "2026.1", "2027.1"):
        results, seconds = check_invariants(get(v), invariants, items=args.items)
        out[f"check {v} (s, target < 10)"] = round(seconds, 2)
        out[f"check {v} results"] = [r.status for r in results]
    report = analyze_rules(get("2027.1"), items=args.items)
    out["rules 2027.1 (s)"] = round(report.seconds, 2)
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        for k, v in out.items():
            print(f"{k:45} {v}")


if __name__ == "__main__":
    main()
