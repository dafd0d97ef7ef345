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

import gc
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.backends import BACKENDS, Backend
from engine.cases import check_case, normalize
from engine.compiler import CompiledPolicy, compile_policy, compiled_problems
from engine.decision import Decision, decide, disagreement, engine_error
from engine.diagnostics import Diagnostic, DiagnosticError, has_errors
from engine.registers.model import RegisterSet
from engine.repository import find_version_dirs, load_version_source

log = logging.getLogger("echri")
DEFAULT_BACKEND = "durable"
SELF_CHECK_PAIR = ("durable", "python")  # self-check decides with both


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
    """Compiled policy versions by policy id, with lazily built backends.

    Safe to share between threads: each thread gets its own backends (the durable-rules
    extension's sessions must not be shared, and it holds the GIL anyway, so nothing is lost).
    """

    versions: dict[str, dict[str, CompiledPolicy]]
    _local: threading.local = field(default_factory=threading.local)
    _listed: frozenset[str] | None = field(default=None, repr=False, compare=False)
    _with_registers: tuple[RegisterSet, frozenset[str]] | None = field(
        default=None, repr=False, compare=False)
    # register set every case is screened against (engine/registers/); None: no screening
    registers: RegisterSet | None = None

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

    def listed_names(self) -> frozenset[str]:
        """The normalised names and aliases of every implicated-party entry of every loaded
        version: names of public, listed organisations, which the decision log leaves
        unmasked so that a replay of a masked case still matches them, and the names of the
        organisations of the register set's restricted and implicated lists (not persons).
        Computed once per store (the service asks for every decision; a reload builds a
        new store); the register part once per register set."""
        if self._listed is None:
            self._listed = frozenset(name for versions in self.versions.values()
                                     for compiled in versions.values()
                                     for entry in compiled.implicated for name in entry.names)
        if self.registers is None:
            return self._listed
        cached = self._with_registers
        if cached is None or cached[0] is not self.registers:
            cached = self._with_registers = (
                self.registers, self._listed | self.registers.organisation_names())
        return cached[1]

    def get(self, version: str, policy_id: str | None = None) -> CompiledPolicy:
        pid = self._policy_id(policy_id)
        try:
            return self.versions[pid][version]
        except KeyError:
            known = ", ".join(sorted(self.versions[pid]))
            raise VersionSelectionError(
                f"policy `{pid}` has no version `{version}` (known: {known})",
                "unknown-version") from None

    def in_force(self, day: str, policy_id: str | None = None, *,
                 as_released: str | None = None) -> CompiledPolicy:
        """The released version in force on `day` (YYYY-MM-DD).

        `as_released` names a version (a draft about to be released) that counts as
        released here; the fixture runner uses it to tell which fixtures a draft will decide.
        """
        pid = self._policy_id(policy_id)
        best: CompiledPolicy | None = None
        for cp in self.versions[pid].values():
            p = cp.policy
            released = p.status == "released" or p.version == as_released
            if not released or p.effective_from > day:
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
        """The calling thread's backend `name` for `policy` (built on first use)."""
        backends: dict[tuple[str, str, str], Backend] | None = getattr(
            self._local, "backends", None)
        if backends is None:
            backends = self._local.backends = {}
        key = (policy.id, policy.version, name)
        if key not in backends:
            if name not in BACKENDS:
                raise BackendUnavailable(f"unknown backend `{name}` (use durable or python)")
            try:
                backends[key] = BACKENDS[name](policy)
            except ImportError as exc:
                raise BackendUnavailable(
                    f"the durable backend cannot be used here ({exc}): durable-rules needs "
                    "CPython 3.11 or 3.12 and a C compiler to install; use `--backend python`"
                ) from exc
        return backends[key]

    def evaluate(self, case: Mapping[str, Any], *, policy_version: str | None = None,
                 policy_id: str | None = None, backend: str = DEFAULT_BACKEND,
                 source: str | None = None, self_check: bool = False,
                 registers: RegisterSet | None = None) -> Decision:
        """Decide one case. Raises CaseError for contract violations (nothing decided).

        With `self_check`, the case is also decided by the other backend: when the two
        decisions differ, the result is `refer` with an `engine-error` finding. `registers`
        screens this case against that set instead of the store's (a fixture's own set).
        """
        check_case(case, source)
        policy = self.select(case, policy_version, policy_id)
        engine = self.backend(policy, backend)
        screen = registers if registers is not None else self.registers
        if not self_check:
            return evaluate_with(policy, engine, case, screen)
        other = self.backend(policy, next(b for b in SELF_CHECK_PAIR if b != backend)
                             if backend in SELF_CHECK_PAIR else "python")
        return evaluate_checked(policy, engine, other, case, screen)


def evaluate_with(policy: CompiledPolicy, engine: Backend, case: Mapping[str, Any],
                  registers: RegisterSet | None = None) -> Decision:
    """Evaluate a contract-valid case; any exception becomes a fail-closed decision."""
    try:
        normalized = normalize(case, policy, registers)
        hits = engine.evaluate(normalized)
        return decide(policy, normalized, hits, engine.name)
    except Exception as exc:  # fail closed: never let an error approve or vanish
        return _failed(policy, case, engine.name, exc)


def _failed(policy: CompiledPolicy, case: Mapping[str, Any], backend: str,
            exc: Exception) -> Decision:
    """Log the exception and return the fail-closed decision (this path cannot raise)."""
    case_id = _case_id(case)
    log.exception("engine error on case %s under %s %s", case_id, policy.id, policy.version)
    return engine_error(policy, case_id, backend, exc)


def _case_id(case: Mapping[str, Any]) -> str:
    try:
        return str(case.get("case_id"))
    except Exception:  # the fallback path must not raise
        return "unknown"


def evaluate_checked(policy: CompiledPolicy, engine: Backend, other: Backend,
                     case: Mapping[str, Any], registers: RegisterSet | None = None) -> Decision:
    """Decide with `engine`, checking its hits against `other`'s on the same facts.

    A dropped or extra hit, or a hit for other items, is a fail-closed `refer`
    (engine-error). The decision is built once, from hits both backends agree on.
    """
    try:
        normalized = normalize(case, policy, registers)
        hits = engine.evaluate(normalized)
        check = other.evaluate(normalized)
        if hits != check:
            log.error("self-check: backends disagree on case %s under %s %s",
                      normalized.case_id, policy.id, policy.version)
            return disagreement(policy, normalized.case_id, (engine.name, other.name),
                                (hits, check))
        return decide(policy, normalized, hits, f"{engine.name}+{other.name}")
    except Exception as exc:  # fail closed, as evaluate_with does
        return _failed(policy, case, f"{engine.name}+{other.name}", exc)


def compile_versions(dirs: Iterable[Path]) -> tuple[dict[str, dict[str, CompiledPolicy]],
                                                     list[Diagnostic]]:
    """Validate and compile each version; released versions must match CHECKSUMS."""
    from engine.validator import validate_version
    from engine.validator.versions import check_checksums, version_info

    versions: dict[str, dict[str, CompiledPolicy]] = {}
    problems: list[Diagnostic] = []
    infos = []
    for path in dirs:
        with _collector_paused():
            src = load_version_source(path)
            policy, diags = validate_version(src)
            compiled = compile_policy(policy) if policy is not None else None
        problems.extend(diags)
        info = version_info(src)
        if info is not None:
            infos.append(info)
        if policy is not None and compiled is not None:
            problems.extend(Diagnostic("compiled-invariant", msg, f"{src.display}/policy.yaml")
                            for msg in compiled_problems(compiled))
            versions.setdefault(policy.id, {})[policy.version] = compiled
    # a released version whose bytes changed is refused here too, not only by `echri validate`
    problems.extend(check_checksums(infos, None))
    return versions, problems


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while one version is read, validated and compiled.

    Those steps build some 10^5 objects that stay alive (marks, data, model, IR) and leave
    about a thousand in garbage cycles, so the collections they trigger find next to
    nothing: a full one walks the whole heap, the caller's included (with a pool of cases in
    memory it took longer than the schema pass). Reference counting still frees what they
    drop; the few cycles wait for the next collection after the step.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


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
