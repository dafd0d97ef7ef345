"""The diff report: both versions, the structural and behavioural diffs, and the summary.

`diff_versions` and `replay_decisions` build a `DiffReport` (plain data) that the renderers
(engine/diff/render.py) print as text, JSON, Markdown or HTML; `should_fail` answers
`--fail-on`. Nothing here prints or exits.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.api import DEFAULT_BACKEND
from engine.diff.behavioural import (
    LOOSENED,
    REASONS,
    TIGHTENED,
    BehaviouralDiff,
    CaseChange,
    finish,
)
from engine.diff.corpus import Corpus
from engine.diff.declared import Undeclared, undeclared
from engine.diff.elements import rules as rule_elements
from engine.diff.proof import Proof, ProofError, check_proof
from engine.diff.runner import Job, Progress, make_side, run
from engine.diff.sources import LoadedVersion
from engine.diff.structural import StructuralDiff, diff_structure
from engine.registers.model import RegisterSet

FAIL_ON = ("loosened", "tightened", "any")
FAIL_ON_LIMIT = 20  # cases listed on stderr when --fail-on fails
CHANGE_WORDS = ("added", "removed", "changed", "renamed")


@dataclass(frozen=True, slots=True)
class VersionInfo:
    label: str  # "echri-baseline 2026.1"
    version: str  # "2026.1" ("recorded" for recorded decisions)
    spec: str  # as given on the command line
    location: str  # directory or git:REF:path
    status: str
    effective_from: str
    effective_until: str | None
    digest: str

    @property
    def effective(self) -> str:
        if self.effective_until:
            return f"{self.effective_from} to {self.effective_until}"
        return f"from {self.effective_from}"


@dataclass(frozen=True)
class DiffReport:
    mode: str  # diff | replay
    old: VersionInfo
    new: VersionInfo
    structural: StructuralDiff | None  # None for a replay
    behavioural: BehaviouralDiff | None  # None when no corpus was given
    declared_changes: tuple[str, ...] = ()  # the new version's `changes` in policy.yaml
    undeclared: tuple[Undeclared, ...] = ()  # structural changes `changes` does not mention
    proof: Proof | None = None  # `--proof FILE` / `--prove` (engine/diff/proof.py)

    @property
    def empty(self) -> bool:
        return (self.structural is None or self.structural.empty) and \
            (self.behavioural is None or self.behavioural.empty)


def version_info(v: LoadedVersion) -> VersionInfo:
    p = v.policy
    return VersionInfo(f"{p.id} {p.version}", p.version, v.spec, v.location, p.status,
                       p.effective_from, p.effective_until, p.digest)


def recorded_info(behaviour: BehaviouralDiff | None, spec: str) -> VersionInfo:
    versions = ", ".join(behaviour.old_versions) if behaviour else ""
    return VersionInfo("recorded decisions", "recorded", spec, versions or "none", "recorded",
                       "", None, "")


def origin_key(origin: str) -> tuple[str, int]:
    """Sort key of `FILE:LINE` (and plain file) origins: by file, then line number."""
    name, _, line = origin.rpartition(":")
    return (name, int(line)) if re.fullmatch(r"[0-9]+", line) else (origin, 0)


def _behaviour(job: Job, corpus: Corpus, jobs: int, progress: Progress | None
               ) -> BehaviouralDiff:
    tally = run(job, corpus.cases, jobs, progress)
    tally.skipped = sorted([*corpus.skipped, *tally.skipped], key=lambda s: origin_key(s.origin))
    policy = job.new.compiled.policy
    return finish(tally, policy.precedence, tuple(policy.categories),
                  (*policy.bands, "unknown"), tuple(corpus.sources),
                  {code: d.name for code, d in policy.destinations.items()})


def diff_versions(old: LoadedVersion, new: LoadedVersion, corpus: Corpus | None = None, *,
                  backend: str = DEFAULT_BACKEND, jobs: int = 1,
                  progress: Progress | None = None,
                  registers: RegisterSet | None = None) -> DiffReport:
    """Structural diff of two versions, plus the behavioural diff on `corpus` if given
    (each case screened against `registers` under both versions when given)."""
    behaviour = None
    structure = diff_structure(old, new)
    if corpus is not None:
        job = Job(make_side(new.compiled, backend, registers),
                  make_side(old.compiled, backend, registers), rule_renames(structure))
        behaviour = _behaviour(job, corpus, jobs, progress)
    same = old.policy.digest == new.policy.digest
    files = {rid: str(f.get("file")) for src in (old.source, new.source)
             for rid, f in rule_elements(src).items()}
    return DiffReport("diff", version_info(old), version_info(new), structure,
                      behaviour, () if same else new.policy.changes,
                      undeclared(structure, new.policy.changes, files))


def with_proof(report: DiffReport, proof: Proof, old: LoadedVersion, new: LoadedVersion
               ) -> DiffReport:
    """The report linked to `proof`; ProofError when the proof is for other versions or
    digests (a stale proof is refused, never shown)."""
    sides = [(v.policy.id, v.policy.version, v.policy.digest) for v in (old, new)]
    problems = check_proof(proof, sides[0], sides[1])
    if problems:
        raise ProofError(f"{proof.source}: the proof is not for "
                         f"{old.policy.id}@{old.policy.version} → "
                         f"{new.policy.id}@{new.policy.version}: " + "; ".join(problems))
    return dataclasses.replace(report, proof=proof)


def rule_renames(s: StructuralDiff) -> dict[str, str]:
    """New rule id → old rule id of every rule the structural diff shows as renamed."""
    return {c.id: c.old_id for sec in s.sections if sec.kind == "rules" for c in sec.changes
            if c.change == "renamed" and c.old_id}


def replay_decisions(new: LoadedVersion, corpus: Corpus, *, spec: str = "",
                     backend: str = DEFAULT_BACKEND, jobs: int = 1,
                     progress: Progress | None = None,
                     registers: RegisterSet | None = None) -> DiffReport:
    """Which recorded decisions (cases with their decisions) `new` would decide otherwise,
    screening the cases against `registers` when given (as `echri evaluate --registers`)."""
    side = make_side(new.compiled, backend, registers)
    behaviour = _behaviour(Job(side), corpus, jobs, progress)
    return DiffReport("replay", recorded_info(behaviour, spec), version_info(new), None,
                      behaviour)


def should_fail(report: DiffReport, fail_on: str | None) -> bool:
    """True when decisions changed in the `--fail-on` direction."""
    return bool(tripped(report, fail_on))


def tripped(report: DiffReport, fail_on: str | None) -> tuple[CaseChange, ...]:
    """The changed cases that make `--fail-on` fail, in report order."""
    if fail_on is None or report.behavioural is None:
        return ()
    changes = report.behavioural.changes
    return changes if fail_on == "any" else tuple(c for c in changes if c.direction == fail_on)


def fail_on_lines(report: DiffReport, fail_on: str | None, limit: int = FAIL_ON_LIMIT
                  ) -> list[str]:
    """Why `--fail-on` failed: a headline, then one line per case (at most `limit`) with
    its outcomes and causes, then how many more; empty when it did not fail."""
    cases = tripped(report, fail_on)
    if not cases:
        return []
    what = "changed" if fail_on == "any" else str(fail_on)
    lines = [f"error[fail-on]: {len(cases)} decision(s) {what} (--fail-on {fail_on})"]
    for c in cases[:limit]:
        why = "; ".join(c.causes) or "no cause found"
        lines.append(f"  {c.case_id} ({c.origin}): {c.old} → {c.new}: {why}")
    if len(cases) > limit:
        lines.append(f"  … and {len(cases) - limit} more (see the report)")
    return lines


def strict_lines(report: DiffReport, limit: int = FAIL_ON_LIMIT) -> list[str]:
    """`--strict`: one error line per undeclared structural change (at most `limit`)."""
    lines = [f"error[undeclared-change]: {u.message()}" for u in report.undeclared[:limit]]
    if len(report.undeclared) > limit:
        lines.append(f"  … and {len(report.undeclared) - limit} more (see the report)")
    return lines


def structural_summary(s: StructuralDiff) -> str:
    if s.empty:
        return "no changes"
    parts = []
    for section in s.sections:
        counts = [f"{section.count(w)} {w}" for w in CHANGE_WORDS if section.count(w)]
        parts.append(f"{section.title.lower()} {', '.join(counts)}")
    bands = f"; {len(s.bands)} destination band(s) moved" if s.bands else ""
    return f"{s.count} element(s): " + "; ".join(parts) + bands


def behavioural_summary(b: BehaviouralDiff, mode: str) -> str:
    what = "recorded decision(s) replayed" if mode == "replay" else \
        "case(s) decided under both versions"
    counts = b.counts
    if not b.total:
        text = "no cases to compare"
    elif not b.changes:
        text = f"{b.total} {what}: no decision changed"
    else:
        unchanged = b.total - len(b.changes)
        text = (f"{b.total} {what}: {counts[LOOSENED]} loosened, {counts[TIGHTENED]} tightened, "
                f"{counts[REASONS]} same outcome with different reasons, {unchanged} unchanged")
    return text + (f" ({len(b.skipped)} skipped)" if b.skipped else "")


def summary(report: DiffReport) -> list[tuple[str, str]]:
    """(label, text) lines every format shows first."""
    out = []
    if report.structural is not None:
        out.append(("structural", structural_summary(report.structural)))
    if report.behavioural is not None:
        out.append(("behavioural", behavioural_summary(report.behavioural, report.mode)))
    if report.undeclared:
        out.append(("warning", f"{len(report.undeclared)} structural change(s) not declared "
                               f"in the `changes:` of {report.new.label}"))
    if report.proof is not None:
        out.append(("proof", report.proof.summary()))
    return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def to_dict(report: DiffReport) -> dict[str, Any]:
    """The report as JSON data (every field change, provenance included)."""
    data = _plain(report)
    data["summary"] = dict(summary(report))
    if report.behavioural is not None:
        data["behavioural"]["counts"] = report.behavioural.counts
    return data
