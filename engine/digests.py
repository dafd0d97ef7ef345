"""Digests of the decisions of fixed corpora: a change of any decision byte shows.

A corpus is named and rebuilt deterministically: `fixtures` (every fixture of fixtures/,
decided under the version it runs under, with its register set) and `generated-<version>-<n>`
(n cases of engine/generator.py, seed 1, submitted within the version's period). Its digest
is the sha256 of the canonical decision JSON (engine/decision.py `to_json`), one line per
case in corpus order. `tests/data/decision_digests.json` stores the digests of the corpora
`make test` checks (the fixtures and 2,000 cases per released version) and of the 100,000
case corpora `make digests` checks, so that work on the hot path can prove it changed no
decision, and a change that means to change decisions says so by updating the file
(`python tools/decision_digests.py --write`, reviewed in the pull request).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.api import PolicyStore
from engine.generator import generate_cases

SEED = 1


@dataclass(frozen=True, slots=True)
class Corpus:
    name: str
    cases: Iterable[tuple[dict[str, Any], str | None, Any]]  # (case, version, registers)


def generated(store: PolicyStore, version: str, n: int) -> Corpus:
    """n generated cases of `version`, submitted on its first day (so it decides them)."""
    policy = store.get(version)
    day = policy.policy.effective_from

    def cases() -> Iterator[tuple[dict[str, Any], str | None, Any]]:
        for case in generate_cases(policy, n, seed=SEED):
            yield {**case, "submitted": day}, version, None

    return Corpus(f"generated-{version}-{n}", cases())


def fixtures(directory: Path) -> Corpus:
    """Every fixture under `directory`, under the version and register set it names."""
    from engine.fixtures import discover, load_fixtures
    from engine.fixtures.run import fixture_registers

    found, _ = load_fixtures(discover([directory]))

    def cases() -> Iterator[tuple[dict[str, Any], str | None, Any]]:
        for f in sorted(found, key=lambda f: f.display):
            rs, problem = fixture_registers(f)
            if problem is not None:  # a set that does not load must not pass as none
                raise ValueError(problem.message)
            yield f.case, f.policy_version, rs

    return Corpus("fixtures", cases())


def digest(store: PolicyStore, corpus: Corpus, backend: str = "durable") -> str:
    """sha256 of the decisions' canonical JSON lines (an input error counts as its text)."""
    h = hashlib.sha256()
    for case, version, registers in corpus.cases:
        try:
            line = store.evaluate(case, policy_version=version, backend=backend,
                                  registers=registers).to_json()
        except Exception as exc:  # a case the engine refuses: its error is part of the corpus
            line = f"error: {type(exc).__name__}: {exc}"
        h.update(line.encode("utf-8") + b"\n")
    return f"sha256:{h.hexdigest()}"
