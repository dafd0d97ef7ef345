"""The Python API: load policies once, then evaluate cases against the version in force.

    policies = engine.load("policies/")
    decision = policies.evaluate(case)          # dict in, Decision out
    decision.to_dict()

Loading validates every version (errors raise PolicyLoadError with all diagnostics) and
compiles it; backends are built lazily per version and reused. Evaluation fails closed: an
exception after the case passed its contract check yields `refer` with an `engine-error`
finding and a log line, never an approval.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.cases import check_case, normalize
from engine.compiler import CompiledPolicy, compile_policy
from engine.decision import Decision, decide, engine_error
from engine.diagnostics import Diagnostic, DiagnosticError, has_errors
from engine.evaluator import BACKENDS, Backend
from engine.repository import find_version_dirs, load_version_source

log = logging.getLogger("echri")
DEFAULT_BACKEND = "durable"


class PolicyLoadError(DiagnosticError):
    """The policies could not be loaded: every validation problem is attached."""


class VersionSelectionError(LookupError):
    """No policy version is in force for the date, or the requested one does not exist.

    `kind` says which: `unknown-policy`, `ambiguous-policy` (several loaded, none named),
    `unknown-version` or `not-in-force`.
    """

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


class BackendUnavailable(RuntimeError):
    """The requested backend cannot run here (e.g. durable-rules not importable)."""


@dataclass
class PolicyStore:
    """Compiled policy versions by policy id, with lazily built backends."""

    versions: dict[str, dict[str, CompiledPolicy]]
    _backends: dict[tuple[str, str, str], Backend] = field(default_factory=dict)

    @property
    def policy_ids(self) -> list[str]:
        return sorted(self.versions)

    def _policy_id(self, policy_id: str | None) -> str:
        if policy_id is not None:
            if policy_id not in self.versions:
                raise VersionSelectionError(
                    f"unknown policy `{policy_id}` (known: {', '.join(self.policy_ids)})",
                    "unknown-policy")
            return policy_id
        if len(self.versions) != 1:
            raise VersionSelectionError(
                f"several policies are loaded ({', '.join(self.policy_ids)}): name one",
                "ambiguous-policy")
        return next(iter(self.versions))

    def get(self, version: str, policy_id: str | None = None) -> CompiledPolicy:
        pid = self._policy_id(policy_id)
        try:
            return self.versions[pid][version]
        except KeyError:
            known = ", ".join(sorted(self.versions[pid]))
            raise VersionSelectionError(
                f"policy `{pid}` has no version `{version}` (known: {known})",
                "unknown-version") from None

    def in_force(self, day: str, policy_id: str | None = None) -> CompiledPolicy:
        """The released version in force on `day` (YYYY-MM-DD)."""
        pid = self._policy_id(policy_id)
        best: CompiledPolicy | None = None
        for cp in self.versions[pid].values():
            p = cp.policy
            if p.status != "released" or p.effective_from > day:
                continue
            if p.effective_until is not None and p.effective_until < day:
                continue
            if best is None or p.effective_from > best.policy.effective_from:
                best = cp
        if best is None:
            raise VersionSelectionError(
                f"no released version of `{pid}` is in force on {day}", "not-in-force")
        return best

    def select(self, case: Mapping[str, Any], version: str | None = None,
               policy_id: str | None = None) -> CompiledPolicy:
        if version is not None:
            return self.get(version, policy_id)
        return self.in_force(str(case.get("submitted")), policy_id)

    def backend(self, policy: CompiledPolicy, name: str = DEFAULT_BACKEND) -> Backend:
        key = (policy.id, policy.version, name)
        if key not in self._backends:
            if name not in BACKENDS:
                raise BackendUnavailable(f"unknown backend `{name}` (use durable or python)")
            try:
                self._backends[key] = BACKENDS[name](policy)
            except ImportError as exc:
                raise BackendUnavailable(
                    f"the durable backend cannot be used here ({exc}): durable-rules needs "
                    "CPython 3.11 or 3.12 and a C compiler to install; use `--backend python`"
                ) from exc
        return self._backends[key]

    def evaluate(self, case: Mapping[str, Any], *, policy_version: str | None = None,
                 policy_id: str | None = None, backend: str = DEFAULT_BACKEND,
                 source: str | None = None) -> Decision:
        """Decide one case. Raises CaseError for contract violations (nothing decided)."""
        check_case(case, source)
        policy = self.select(case, policy_version, policy_id)
        engine = self.backend(policy, backend)
        return evaluate_with(policy, engine, case)


def evaluate_with(policy: CompiledPolicy, engine: Backend, case: Mapping[str, Any]) -> Decision:
    """Evaluate a contract-valid case; any exception becomes a fail-closed decision."""
    try:
        normalized = normalize(case, policy)
        hits = engine.evaluate(normalized)
        return decide(policy, normalized, hits, engine.name)
    except Exception as exc:  # fail closed: never let an error approve or vanish
        log.exception("engine error on case %s under %s %s", case.get("case_id"), policy.id,
                      policy.version)
        return engine_error(policy, str(case.get("case_id")), engine.name, exc)


def compile_versions(dirs: Iterable[Path]) -> tuple[dict[str, dict[str, CompiledPolicy]],
                                                     list[Diagnostic]]:
    from engine.validator import validate_version

    versions: dict[str, dict[str, CompiledPolicy]] = {}
    problems: list[Diagnostic] = []
    for path in dirs:
        src = load_version_source(path)
        policy, diags = validate_version(src)
        problems.extend(diags)
        if policy is not None:
            versions.setdefault(policy.id, {})[policy.version] = compile_policy(policy)
    return versions, problems


def load(path: str | Path = "policies") -> PolicyStore:
    """Load, validate and compile every policy version under `path`."""
    root = Path(path)
    dirs = find_version_dirs(root)
    if not dirs:
        raise PolicyLoadError([Diagnostic("no-policy", "no policy version found "
                                          "(no policy.yaml)", str(root))])
    versions, problems = compile_versions(dirs)
    if has_errors(problems):
        raise PolicyLoadError([d for d in problems if d.severity == "error"])
    return PolicyStore(versions)
