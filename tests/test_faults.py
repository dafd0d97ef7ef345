"""Fault injection: under every detectable fault the engine refers, it never approves.

Each test injects one fault at one point (the fallback itself, the compiled tables, the
released files, one backend, threads, the durable session) and checks the outcome.
"""

from __future__ import annotations

import copy
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import engine
from engine import decision as decision_module
from engine.backends import durable as runtime
from engine.backends.python import PythonBackend
from engine.compiler import compiled_problems
from tests.support import baseline_case

FIXTURE_CASES = sorted(Path("fixtures").rglob("*.yaml"))
APPROVALS = ("approve", "approve_with_conditions")


def approvable() -> dict[str, Any]:
    return baseline_case(case_id="F-1")


@pytest.fixture
def store() -> engine.PolicyStore:
    return engine.load("policies")  # fresh: tests below corrupt it


def test_the_case_is_approvable_without_faults(store: engine.PolicyStore) -> None:
    assert store.evaluate(approvable()).decision == "approve"


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text either")


@pytest.mark.parametrize("backend", ["durable", "python"])
def test_fallback_survives_an_exception_that_cannot_be_printed(
        store: engine.PolicyStore, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any) -> Any:
        raise Unprintable()

    monkeypatch.setattr("engine.api.decide", boom)
    d = store.evaluate(approvable(), backend=backend)
    assert d.decision == "refer" and d.rules == ("engine-error",)
    assert "Unprintable" in d.findings[0].message
    assert d.to_json()  # serialisable


def test_fallback_does_not_use_the_explanation_renderer(
        store: engine.PolicyStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> str:
        raise ValueError("renderer broken")

    monkeypatch.setattr(decision_module, "explanation", broken)
    d = store.evaluate(approvable())
    assert d.decision == "refer" and d.rules == ("engine-error",)
    assert "renderer broken" in d.findings[0].message and d.explanation


@pytest.mark.parametrize("corrupt", [
    {"band": "not-a-band"}, {"band": None}, {"factors": None},
    {"factors": frozenset({"invented_factor"})}, {"freedom_score": float("nan")},
])
@pytest.mark.parametrize("backend", ["durable", "python"])
def test_corrupt_destination_table_refers(store: engine.PolicyStore, corrupt: dict[str, Any],
                                          backend: str) -> None:
    policy = store.get("2026.1")
    policy.destinations["NO"] = replace(policy.destinations["NO"], **corrupt)
    assert compiled_problems(policy)  # caught when a version is compiled ...
    d = store.evaluate(approvable(), policy_version="2026.1", backend=backend)
    assert d.decision == "refer" and d.rules == ("engine-error",)  # ... and when used


def test_corrupt_intermediary_destination_refers(store: engine.PolicyStore) -> None:
    policy = store.get("2026.1")
    policy.destinations["DK"] = replace(policy.destinations["DK"], band=None)
    case = approvable()
    case["intermediaries"] = [{"name": "Fwd", "country": "DK", "role": "freight_forwarder"}]
    d = store.evaluate(case, policy_version="2026.1")
    assert d.decision == "refer" and d.rules == ("engine-error",)


def test_released_version_with_changed_bytes_is_refused_by_load(tmp_path: Path) -> None:
    root = tmp_path / "policies"
    shutil.copytree("tests/data/minimal/policies", root)
    engine.load(root)  # as released: loads
    cats = next(root.rglob("categories.yaml"))
    cats.write_text(cats.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    with pytest.raises(engine.PolicyLoadError) as err:
        engine.load(root)
    assert any(d.code == "checksum-mismatch" for d in err.value.diagnostics)


def test_self_check_agrees_with_the_plain_decision(store: engine.PolicyStore) -> None:
    plain = store.evaluate(approvable()).to_dict()
    checked = store.evaluate(approvable(), self_check=True).to_dict()
    assert checked.pop("engine")["backend"] == "durable+python"
    plain.pop("engine")
    assert checked == plain


@pytest.mark.parametrize("fault", ["drop-hit", "extra-hit", "swallow-all"])
def test_self_check_refers_when_one_backend_is_wrong(store: engine.PolicyStore, fault: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real = PythonBackend.evaluate

    def faulty(self: PythonBackend, case: Any) -> Any:
        hits = dict(real(self, case))
        if fault == "drop-hit" and hits:
            hits.pop(next(iter(hits)))
        elif fault == "extra-hit":
            hits["deny-torture-goods"] = case.item_ids
        elif fault == "swallow-all":
            hits = {}
        return hits

    monkeypatch.setattr(PythonBackend, "evaluate", faulty)
    case = approvable()
    case["destination"] = "IR"  # many rules fire
    d = store.evaluate(case, self_check=True)
    assert d.decision == "refer" and d.rules == ("engine-error",)
    assert "disagree" in d.findings[0].message


def _fixture_cases() -> list[dict[str, Any]]:
    import yaml

    out = []
    for path in FIXTURE_CASES[:60]:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("case"), dict):
            out.append(data["case"])
    return out


def test_a_thread_pool_returns_exactly_the_single_threaded_decisions() -> None:
    cases = _fixture_cases()
    single = engine.load("policies")
    expected = [single.evaluate(copy.deepcopy(c), policy_version="2026.1").to_json()
                for c in cases]
    shared = engine.load("policies")
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda c: shared.evaluate(copy.deepcopy(c),
                                                      policy_version="2026.1").to_json(),
                            cases * 3))
    assert got == expected * 3
    assert not any('"engine-error"' in g for g in got)


def test_rebuilding_poisoned_rulesets_is_bounded(store: engine.PolicyStore,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "MAX_REBUILDS", 2)
    monkeypatch.setattr(runtime, "_rebuilds", 0)
    policy = store.get("2026.1")
    backend = store.backend(policy)
    real = backend._dre.start_action_for_state
    outcomes = []
    for _ in range(6):
        monkeypatch.setattr(backend._dre, "start_action_for_state", lambda h, s: None)
        outcomes.append(store.evaluate(approvable(), policy_version="2026.1").decision)
        monkeypatch.setattr(backend._dre, "start_action_for_state", real)
        outcomes.append(store.evaluate(approvable(), policy_version="2026.1").decision)
    assert all(o not in APPROVALS for o in outcomes[0::2])
    # the first rebuilds heal the session; once the limit is reached the backend refuses
    assert outcomes[1] == "approve"
    assert outcomes[-1] == "refer"
    assert runtime._rebuilds == 2
