"""Check or write the stored digests of the decisions of fixed corpora (engine/digests.py).

    .venv/bin/python tools/decision_digests.py --check            # what make test checks
    .venv/bin/python tools/decision_digests.py --check --large    # make digests: 100,000 each
    .venv/bin/python tools/decision_digests.py --write [--large]  # after a deliberate change

Exit 0 when every digest checked matches (or was written), 1 when one differs (each named),
2 on usage errors. The corpora: `fixtures`, and `generated-<version>-<n>` for every released
version of the baseline policy (n = 2,000; with --large 100,000).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.api import PolicyStore, load  # noqa: E402
from engine.digests import Corpus, digest, fixtures, generated  # noqa: E402

STORED = ROOT / "tests" / "data" / "decision_digests.json"
SMALL, LARGE = 2_000, 100_000


def corpora(large: bool) -> tuple[PolicyStore, list[Corpus]]:
    store = load(ROOT / "policies")
    released = [v for v, p in sorted(store.versions["echri-baseline"].items())
                if p.policy.status == "released"]
    n = LARGE if large else SMALL
    out = [] if large else [fixtures(ROOT / "fixtures")]
    return store, out + [generated(store, v, n) for v in released]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--write", action="store_true")
    parser.add_argument("--large", action="store_true", help="the 100,000-case corpora")
    args = parser.parse_args()
    stored = json.loads(STORED.read_text(encoding="utf-8")) if STORED.is_file() else {}
    store, found = corpora(args.large)
    failed = 0
    for corpus in found:
        t0 = time.perf_counter()
        got = digest(store, corpus)
        took = time.perf_counter() - t0
        if args.write:
            stored[corpus.name] = got
            print(f"{corpus.name}: {got} ({took:.1f} s)")
        elif stored.get(corpus.name) != got:
            failed += 1
            print(f"{corpus.name}: {got}, stored {stored.get(corpus.name, 'none')}: "
                  "a decision changed", file=sys.stderr)
        else:
            print(f"{corpus.name}: unchanged ({took:.1f} s)")
    if args.write:
        STORED.write_text(json.dumps(dict(sorted(stored.items())), indent=2) + "\n",
                          encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
