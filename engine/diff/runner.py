"""Decide every case of a corpus under forced versions, in order, optionally in processes.

Each version is forced whatever the case's `submitted` date. Worker processes are forked
after the versions are compiled and their backends built (the durable-rules extension holds
the GIL, so threads would not help); chunks come back in input order and are merged.
Evaluation fails closed as in engine.api.evaluate_with: an exception becomes the
`engine-error` decision (refer).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.api import DEFAULT_BACKEND, BackendUnavailable
from engine.backends import BACKENDS, Backend
from engine.cases import CaseError, NormalizedCase, check_case, normalize
from engine.compiler import CompiledPolicy
from engine.decision import Decision, Summary, engine_error, summarise_hits
from engine.diff.behavioural import UNCLASSIFIED, CaseKeys, Tally
from engine.diff.causes import Explainer
from engine.diff.corpus import CorpusCase, Recorded, Skipped
from engine.model import UNKNOWN_BAND
from engine.registers.model import RegisterSet

CHUNK = 250
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Side:
    """A compiled version with the backend that evaluates it, and the register set its
    cases are screened against (None: no screening, engine/registers/)."""

    compiled: CompiledPolicy
    backend: Backend
    registers: RegisterSet | None = None


def make_side(compiled: CompiledPolicy, backend: str = DEFAULT_BACKEND,
              registers: RegisterSet | None = None) -> Side:
    if backend not in BACKENDS:
        raise BackendUnavailable(f"unknown backend `{backend}` (use durable or python)")
    try:
        return Side(compiled, BACKENDS[backend](compiled), registers)
    except ImportError as exc:
        raise BackendUnavailable(f"the {backend} backend cannot be used here ({exc})") from exc


def summarise(d: Decision) -> Recorded:
    """The parts of a decision a diff compares."""
    return Recorded(d.decision, frozenset(f.rule for f in d.findings),
                    frozenset(c["id"] for c in d.conditions), frozenset(d.required_assurances),
                    frozenset(r["field"] for r in d.information_requests))


def from_summary(s: Summary) -> Recorded:
    """The same parts, from `summarise_hits` (no Decision built)."""
    return Recorded(s.decision, s.rules, s.conditions, s.required_assurances, s.requested)


def _keys(policy: CompiledPolicy, case: Mapping[str, Any], n: NormalizedCase | None) -> CaseKeys:
    code = str(case.get("destination") or "")
    if n is None:
        dest = policy.destinations.get(code)
        return CaseKeys((UNCLASSIFIED,), dest.band if dest else UNKNOWN_BAND, code)
    cats = {i.category or UNCLASSIFIED for i in n.items}
    return CaseKeys(tuple(sorted(cats)), str(n.facts.get("destination.band", UNKNOWN_BAND)),
                    code)


def decide_case(side: Side, case: Mapping[str, Any]) -> tuple[Recorded, CaseKeys]:
    """Decide a contract-valid case under one forced version."""
    recorded, keys, _ = decide_full(side, case)
    return recorded, keys


def decide_full(side: Side, case: Mapping[str, Any]
                ) -> tuple[Recorded, CaseKeys, NormalizedCase | None]:
    """Like decide_case, with the normalised case (None when evaluation failed)."""
    policy, engine = side.compiled, side.backend
    normalized: NormalizedCase | None = None
    try:
        normalized = normalize(case, policy, side.registers)
        recorded = from_summary(summarise_hits(policy, normalized, engine.evaluate(normalized)))
    except Exception as exc:  # fail closed, as engine.api.evaluate_with does
        normalized = None
        recorded = summarise(engine_error(policy, str(case.get("case_id")), engine.name, exc))
    return recorded, _keys(policy, case, normalized), normalized


@dataclass(frozen=True)
class Job:
    """Compare `new` with `old`, or with the recorded decisions when `old` is None."""

    new: Side
    old: Side | None = None
    renames: Mapping[str, str] = field(default_factory=dict)  # new rule id → old rule id

    def explainer(self) -> Explainer:
        return Explainer(self.old.compiled if self.old else None, self.new.compiled,
                         self.renames)


def run_chunk(job: Job, chunk: Sequence[CorpusCase]) -> Tally:
    tally = Tally()
    precedence = job.new.compiled.precedence
    explainer = job.explainer()
    for entry in chunk:
        try:
            check_case(entry.case, entry.origin)
        except CaseError as exc:
            reason = f"invalid case: {exc.diagnostics[0].message}"
            tally.skipped.append(Skipped(entry.origin, reason))
            continue
        new, keys, new_n = decide_full(job.new, entry.case)
        old_n = None
        if job.old is not None:
            old, _, old_n = decide_full(job.old, entry.case)
        else:
            assert entry.recorded is not None
            old = entry.recorded

        def explain(case: Mapping[str, Any] = entry.case, old: Recorded = old,
                    new: Recorded = new, old_n: NormalizedCase | None = old_n,
                    new_n: NormalizedCase | None = new_n) -> tuple[str, ...]:
            return explainer.explain(case, old_n, new_n, old, new)

        tally.add(str(entry.case["case_id"]), entry.origin, old, new, keys, precedence, explain)
    return tally


# Set before forking: workers inherit the compiled versions and the cases, and receive only
# the bounds of their chunk (nothing to pickle on the way in).
_JOB: Job | None = None
_CASES: Sequence[CorpusCase] = ()


def _work(bounds: tuple[int, int]) -> Tally:
    assert _JOB is not None
    return run_chunk(_JOB, _CASES[bounds[0]:bounds[1]])


def _bounds(count: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, count, size):
        yield start, min(start + size, count)


def run(job: Job, cases: Sequence[CorpusCase], jobs: int = 1,
        progress: Progress | None = None) -> Tally:
    """Decide and compare every case; `jobs` > 1 forks workers that share the loaded job."""
    total = Tally()
    if jobs <= 1:
        for start, end in _bounds(len(cases), CHUNK):
            total.merge(run_chunk(job, cases[start:end]))
            if progress:
                progress(end - start)
        return total
    global _JOB, _CASES
    _JOB, _CASES = job, cases
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for part in pool.imap(_work, _bounds(len(cases), CHUNK)):
                total.merge(part)
                if progress:
                    progress(part.total + len(part.skipped))
    finally:
        _JOB, _CASES = None, ()
    return total
