"""What a worker process holds: the policies, the engine thread, the decision log.

Decisions are made directly on the event-loop thread of each worker process: durable-rules
holds the GIL, so other threads would gain nothing and every hand-over between threads costs
latency; PolicyStore builds that thread's backends. A reload loads and validates the
policies on another thread, self-tests them on the loop thread (building its backends), then
swaps the store in one assignment: a request uses the store it started with; a failed
reload keeps the old set and says why (`last_reload` in /readyz, the log).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.api import PolicyStore, load
from engine.decision import ENGINE_ERROR
from engine.decisionlog import LogConfig, LogWriter, Masker
from engine.decisionlog.committer import GroupCommitter
from engine.decisionlog.masking import make_masker
from engine.decisionlog.record import utc_now
from engine.decisionlog.writer import parse_fsync
from engine.service.config import ServiceConfig
from engine.service.metrics import READY, RELOADS

log = logging.getLogger("echri.service")

SELF_TEST_CASE: dict[str, Any] = {
    "case_id": "self-test", "items": [{"id": "i1", "category": None}], "destination": "NO",
}


class SelfTestError(RuntimeError):
    """A loaded version does not decide the self-test case cleanly."""


def self_test(store: PolicyStore, backend: str) -> None:
    """Decide a small case under every version with both backends (builds the backends)."""
    for pid, versions in store.versions.items():
        for version, compiled in versions.items():
            case = dict(SELF_TEST_CASE, submitted=compiled.policy.effective_from)
            decision = store.evaluate(case, policy_id=pid, policy_version=version,
                                      backend=backend, self_check=backend == "durable")
            if ENGINE_ERROR in decision.rules:
                raise SelfTestError(f"self-test of {pid} {version} failed: "
                                    f"{decision.findings[0].message}")


def load_policies(config: ServiceConfig) -> tuple[PolicyStore, str]:
    """The policy store and a description of where it came from.

    With a bundle, the bundle file is read, verified and extracted again each time (so a
    reload picks up a replaced bundle, and refuses one that fails verification).
    """
    if config.bundle:
        store, where = load_bundle(Path(config.bundle), Path(config.verify_key or ""))
    else:
        store, where = load(config.policy_dir), str(config.policy_dir)
    if config.registers:  # an invalid set fails the start or the reload, like the policies
        from engine.registers import load as load_registers

        store.registers = load_registers(config.registers)
        where += f", registers {config.registers}"
    return store, where


def load_bundle(bundle: Path, verify_key: Path) -> tuple[PolicyStore, str]:
    """Verify the bundle, load its policies from a private temporary directory (removed)."""
    from engine.bundle import extracted

    with extracted(bundle, verify_key) as (policy_dir, manifest):
        store = load(policy_dir)
    return store, f"bundle {bundle} (revision {manifest.revision})"


def make_config_masker(config: ServiceConfig) -> Masker:
    return make_masker(config.mask, config.mask_paths, config.mask_key_file)


def make_writer(config: ServiceConfig) -> LogWriter | None:
    if not config.log_dir:
        return None
    return LogWriter(LogConfig(Path(config.log_dir), parse_fsync(config.log_fsync),
                               config.log_rotate_bytes, config.log_rotate_daily))


@dataclass
class ServiceState:
    config: ServiceConfig
    store: PolicyStore | None = None
    source: str = ""
    loaded_at: str | None = None
    last_reload: dict[str, Any] | None = None
    masker: Masker | None = None
    writer: LogWriter | None = None
    committer: GroupCommitter | None = None  # the log thread, which writes
    _reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def ready(self) -> bool:
        return self.store is not None

    def start(self) -> None:
        """Load, self-test and publish the policies; open the decision log (raises).

        Call it on the thread that will decide (the event loop's).
        """
        # the masker is the log's: no log, no key needed
        self.masker = make_config_masker(self.config) if self.config.log_dir else None
        store, source = load_policies(self.config)
        self_test(store, self.config.backend)
        self.store, self.source, self.loaded_at = store, source, utc_now()
        self.writer = make_writer(self.config)
        if self.writer is not None:
            self.committer = GroupCommitter(self.writer)
        READY.set(1)
        log.info("policies loaded from %s: %s", source, ", ".join(self.policy_names()))

    def policy_names(self) -> list[str]:
        store = self.store
        if store is None:
            return []
        return [f"{pid}@{v}" for pid in store.policy_ids for v in sorted(store.versions[pid])]

    async def reload(self) -> dict[str, Any]:
        """Load the policies again; on any failure keep the current set. Returns the outcome."""
        async with self._reload_lock:
            try:
                store, source = await asyncio.to_thread(load_policies, self.config)
                self_test(store, self.config.backend)  # on the loop thread: its backends
            except Exception as exc:  # a bad policy change must not take the service down
                outcome = {"ok": False, "at": utc_now(), "error": _describe(exc)}
                log.error("policy reload failed, keeping the loaded set: %s", outcome["error"])
                RELOADS.labels("failed").inc()
            else:
                self.store, self.source, self.loaded_at = store, source, utc_now()
                outcome = {"ok": True, "at": self.loaded_at,
                           "policies": self.policy_names()}
                log.info("policies reloaded from %s", source)
                RELOADS.labels("ok").inc()
            self.last_reload = outcome
            return outcome

    def close(self) -> None:
        if self.committer is not None:
            self.committer.close()  # commits what is queued, closes the writer
        READY.set(0)


def _describe(exc: BaseException) -> str:
    from engine.diagnostics import DiagnosticError, format_text

    if isinstance(exc, DiagnosticError):
        first = exc.diagnostics[:3]
        more = len(exc.diagnostics) - len(first)
        return format_text(first).replace("\n", "; ") + (f" (+{more} more)" if more else "")
    return f"{type(exc).__name__}: {exc}"
