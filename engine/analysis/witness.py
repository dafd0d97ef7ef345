"""Witness cases: re-decided by the real engine (both backends), described, written as fixtures.

The analysis is only trusted where the engine agrees: every witness and counterexample is
decided through engine/api.py `PolicyStore.evaluate` with the `python` and the `durable`
backend, and a decision other than the one the SMT model claims is an analysis error.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from engine.analysis.encode import Encoded
from engine.api import PolicyStore
from engine.compiler import CompiledPolicy

BACKENDS = ("python", "durable")


class AnalysisError(RuntimeError):
    """The engine does not confirm what the analysis claims (a bug of the encoding)."""


def verify(policies: Mapping[str, CompiledPolicy], case: dict[str, Any],
           claimed: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Decide `case` under each version named in `claimed` (label → outcome) with both
    backends; raise AnalysisError on any other decision. Returns label → decision dict."""
    out: dict[str, dict[str, Any]] = {}
    for label, outcome in claimed.items():
        policy = policies[label]
        store = PolicyStore({policy.id: {policy.version: policy}})
        for backend in BACKENDS:
            d = store.evaluate(case, policy_version=policy.version, policy_id=policy.id,
                               backend=backend)
            if d.decision != outcome:
                raise AnalysisError(
                    f"witness `{case['case_id']}`: the model claims `{outcome}` under "
                    f"{policy.id}@{policy.version} but the {backend} backend decides "
                    f"`{d.decision}` (rules: {', '.join(d.rules) or 'none'})")
            out[label] = d.to_dict()
    return out


def verify_fires(policy: CompiledPolicy, case: dict[str, Any], rule: str) -> None:
    """Decide `case` under `policy` with both backends; raise AnalysisError unless `rule`
    is among the findings of each decision."""
    store = PolicyStore({policy.id: {policy.version: policy}})
    for backend in BACKENDS:
        d = store.evaluate(case, policy_version=policy.version, policy_id=policy.id,
                           backend=backend)
        if rule not in d.rules:
            raise AnalysisError(
                f"witness `{case['case_id']}`: the model claims rule `{rule}` fires under "
                f"{policy.id}@{policy.version} but the {backend} backend does not fire it "
                f"(rules: {', '.join(d.rules) or 'none'})")


def decisive(enc: Encoded, model: Any, outcome: str) -> list[str]:
    """The rules (and built-in findings) that fired with the decision's outcome."""
    def on(x: Any) -> bool:
        import z3
        return z3.is_true(model.eval(x, model_completion=True))

    p = enc.policy
    found = [r.id for r in p.rules if r.outcome == outcome and on(enc.fired[r.id])]
    if outcome == "request_information":
        found += [b for b, x in enc.builtins.items() if b != "fail-closed" and on(x)]
    if outcome == "request_information" or on(enc.builtins["fail-closed"]):
        found += ["fail-closed"] if on(enc.builtins["fail-closed"]) else []
    if not found:
        found = ["default"] if not any(on(x) for x in enc.fired.values()) else \
            ["(raised: missing assurances or information requests)"]
    return sorted(found)


def summary(policy: CompiledPolicy, case: Mapping[str, Any]) -> dict[str, Any]:
    """The features of a witness people read first: items, destination, end user."""
    dest = case["destination"]
    info = policy.destinations.get(dest)
    cats = [i.get("category") or ",".join(i.get("control_entries") or []) or "unclassified"
            for i in case["items"]]
    return {"items": cats, "destination": dest,
            "band": info.band if info else "unknown",
            "end_user_type": (case.get("end_user") or {}).get("type") or "not given"}


def write_fixture(directory: Path, name: str, case: dict[str, Any], policy: CompiledPolicy,
                  decision: Mapping[str, Any], description: str) -> Path:
    """A fixture (schemas/fixture.schema.json) pinning the witness to `policy`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    rules = sorted({f["rule"] for f in decision["findings"]})
    data = {"description": description, "policy": policy.id,
            "policy_version": policy.version, "case": case,
            "expect": {"decision": decision["decision"], "rules": rules}}
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    return path
