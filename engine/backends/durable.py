"""The durable-rules backend: the only module that talks to the `durable_rules_engine` C core.

Usage pattern (see /work/shared/reference/durable_rules.md §0 for the measurements behind it):

- the rulesets of engine/ruleset/, with short keys (`compact`: records about 3x smaller);
- one ruleset handle per (policy version, scope, shard), created once with a unique name in
  the extension's process-global handle table; never deleted (`delete_ruleset` and
  `delete_state` have crash and leak paths);
- one long-lived session, sid "0", never deleted;
- one fact per case (case rules) and one per item (item rules), each with a fixed id; it is
  asserted with `assert_fact` (never `post`: an event fires one rule only), the fired rule
  names are pulled with `start_action_for_state` / `complete_and_start_action` into a set
  (a rule fires once per true `$or` branch), and the fact is retracted in `finally`;
- every ruleset has an always-true `__always__` rule: if it did not fire, the session is in
  a bad state and the evaluation fails instead of returning too few hits.

Errors propagate as exceptions (the API turns them into a fail-closed `refer`). The extension
never releases the GIL and a shared session is not thread-safe, so a backend refuses to run
on any thread but the one that created it (engine.api.PolicyStore gives each thread its own
backend); use processes (fork after loading) to scale.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from engine.ruleset import ALWAYS, ScopeRuleset, compile_scope

if TYPE_CHECKING:
    from engine.backends.base import Hits
    from engine.cases import NormalizedCase
    from engine.compiler import CompiledPolicy

log = logging.getLogger("echri.durable")

SID = "0"
FACT_IDS = {"case": "c", "item": "i"}
_NAMES = itertools.count(1)  # ruleset names must be unique in the process-global table
_MAX_DRAIN = 100_000
# Rebuilding a poisoned ruleset leaks the old handle (it cannot be deleted safely): bound it.
MAX_REBUILDS = 32
_rebuilds = 0
_REBUILD_LOCK = threading.Lock()


class DurableError(RuntimeError):
    """The durable-rules engine failed or broke one of the invariants the adapter checks."""


def load_engine() -> ModuleType:
    """Import the C extension (ImportError on CPython 3.13 or when it is not installed)."""
    import durable_rules_engine

    return durable_rules_engine


class _Shard:
    __slots__ = ("definition", "handle", "name", "poisoned")

    def __init__(self, name: str, definition: str, handle: int):
        self.name = name
        self.definition = definition
        self.handle = handle
        self.poisoned = False


class _Scope:
    __slots__ = ("encode", "plain", "retract", "rule_of", "shards")

    def __init__(self, compiled: ScopeRuleset, shards: list[_Shard]):
        fact_id = FACT_IDS[compiled.scope]
        self.encode = compiled.flattener({"sid": SID, "id": fact_id}).encode
        self.rule_of = dict(compiled.rule_of)
        # durable rule names that are their rule's id (a rule not split): fired names all
        # in it need no mapping
        self.plain = frozenset(n for n, rule_id in self.rule_of.items() if n == rule_id)
        self.shards = shards
        self.retract = json.dumps({"sid": SID, "id": fact_id})


class DurableBackend:
    """Evaluates a compiled policy version through durable-rules' Rete core."""

    name = "durable"

    def __init__(self, compiled: CompiledPolicy):
        self._dre = load_engine()
        self._thread = threading.get_ident()
        self._label = f"{compiled.id}@{compiled.version}:{compiled.digest[:19]}"
        self._order = {r.id: i for i, r in enumerate(compiled.rules)}
        self._scopes: dict[str, _Scope] = {}
        for scope in ("case", "item"):
            rulesets = compile_scope(compiled, scope).compact()
            if rulesets.shards:
                shards = [self._create(scope, k, shard) for k, shard in
                          enumerate(rulesets.shards)]
                self._scopes[scope] = _Scope(rulesets, shards)

    def _create(self, scope: str, index: int, shard: Mapping[str, Any]) -> _Shard:
        name = f"echri:{self._label}:{scope}:{index}:{next(_NAMES)}"
        definition = json.dumps(shard)
        return _Shard(name, definition, self._dre.create_ruleset(name, definition))

    @property
    def shard_counts(self) -> dict[str, int]:
        return {scope: len(s.shards) for scope, s in self._scopes.items()}

    def evaluate(self, case: NormalizedCase) -> Hits:
        """Rule id → keys of the item views it fired for (all item ids for a case rule)."""
        if threading.get_ident() != self._thread:
            raise RuntimeError(
                "DurableBackend used from another thread than the one that created it: the "
                "durable-rules extension holds the GIL and its sessions are not thread-safe; "
                "give each worker process its own backend (fork after loading) instead")
        hits: dict[str, list[str]] = {}
        fire = self._fire
        case_scope = self._scopes.get("case")
        if case_scope is not None:
            fired = fire(case_scope, case.facts)
            if fired:
                item_ids = [i.id for i in case.items]
                for rule_id in fired:
                    hits[rule_id] = item_ids
        item_scope = self._scopes.get("item")
        if item_scope is not None:
            for view in case.views:
                for rule_id in fire(item_scope, view.facts):
                    if rule_id in hits:
                        hits[rule_id].append(view.key)
                    else:
                        hits[rule_id] = [view.key]
        if not hits:
            return {}
        return {k: tuple(hits[k]) for k in sorted(hits, key=self._order.__getitem__)}

    def _fire(self, scope: _Scope, facts: Mapping[str, Any]) -> set[str]:
        payload = scope.encode(facts)
        names: set[str] = set()
        shards = scope.shards
        for k, shard in enumerate(shards):
            if shard.poisoned:
                shard = shards[k] = self._recreate(shard)
            self._run(shard, payload, scope.retract, names)
        if names <= scope.plain:  # every name is a rule id (an unknown one is not in `plain`)
            return names
        rule_of = scope.rule_of
        try:
            return {rule_of[n] for n in names}
        except KeyError as exc:
            raise DurableError(f"durable-rules fired unknown rule {exc}") from None

    def _run(self, shard: _Shard, payload: str, retract: str, names: set[str]) -> None:
        """Assert one fact in one shard, collect the fired rule names, retract the fact."""
        dre = self._dre
        handle = shard.handle
        started = finished = False
        state = 0
        try:
            rc, state = dre.assert_fact(handle, payload)
            if rc != 0:
                raise DurableError(f"assert_fact returned {rc} in `{shard.name}` "
                                   f"({_RC.get(rc, 'unexpected')})")
            result = dre.start_action_for_state(handle, state)
            started = result is not None
            message = result[1] if result is not None else None
            saw_always = False
            while message:
                name = message[2:message.index('"', 2)]  # '{"<rule name>":{"m":{...}}}'
                if name == ALWAYS:
                    saw_always = True
                else:
                    names.add(name)
                message = dre.complete_and_start_action(handle, state)
            finished = True
            if not saw_always:
                shard.poisoned = True
                raise DurableError(f"`{ALWAYS}` did not fire in `{shard.name}`: the session "
                                   "is locked or corrupt; the ruleset will be rebuilt")
        finally:
            if started and not finished:
                self._drain(shard, state)
            try:
                dre.retract_fact(handle, retract)
            except Exception:  # cleanup only: the original outcome stands, the shard is rebuilt
                shard.poisoned = True
                log.exception("durable: could not retract the fact from `%s`", shard.name)

    def _drain(self, shard: _Shard, state: int) -> None:
        """Complete the pending actions of an interrupted dispatch (else the session locks)."""
        try:
            for _ in range(_MAX_DRAIN):
                if not self._dre.complete_and_start_action(shard.handle, state):
                    return
            shard.poisoned = True
        except Exception:
            shard.poisoned = True
            log.exception("durable: could not complete pending actions in `%s`", shard.name)

    def _recreate(self, shard: _Shard) -> _Shard:
        """A fresh handle for a shard whose session went bad (the old one is left alone).

        The old handle cannot be freed safely and leaks (about 1.7 MB), so the process rebuilds
        at most MAX_REBUILDS shards; past that it refuses (DurableError: fail closed).
        """
        global _rebuilds
        with _REBUILD_LOCK:
            if _rebuilds >= MAX_REBUILDS:
                log.error("durable: ruleset `%s` is poisoned and the rebuild limit (%d) is "
                          "reached: refusing to evaluate; restart the process", shard.name,
                          MAX_REBUILDS)
                raise DurableError(f"ruleset `{shard.name}` is poisoned and the process "
                                   f"reached its limit of {MAX_REBUILDS} rebuilds")
            _rebuilds += 1
        base = shard.name.rsplit(":", 1)[0]
        name = f"{base}:{next(_NAMES)}"
        log.warning("durable: rebuilding ruleset `%s` as `%s`", shard.name, name)
        return _Shard(name, shard.definition, self._dre.create_ruleset(name, shard.definition))


_RC = {1: "not handled", 2: "a fact with this id is already asserted", 3: "deferred"}
