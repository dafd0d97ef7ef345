"""Last pass of `echri validate`: a valid version compiles and evaluates on every backend.

Schema, cross-reference and lint checks say what a policy means; they cannot promise that
each backend can run it (a threshold beyond the durable engine's number range, an engine
bug). So every version without errors is compiled, a backend is built from it for each
entry of `engine.backends.BACKENDS`, and one smoke case made from the version's own
vocabulary (its first destination, one item with no category) is decided on each. Any
exception becomes a `compile-backend` error naming the version and the backend. A backend
that cannot be imported here (durable-rules on CPython 3.13) is skipped with a note.

This pass runs after the validator proper and so imports the later pipeline steps (compiler,
cases, evaluator, decision); none of them imports the validator, so no cycle arises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.backends import BACKENDS, Backend
from engine.cases import check_case, normalize
from engine.compiler import CompiledPolicy, compile_policy
from engine.decision import decide
from engine.diagnostics import Diagnostic
from engine.model import Policy
from engine.schemas import printable

CODE = "compile-backend"
SMOKE_CASE_ID = "echri-validate-smoke"


def smoke_case(policy: Policy) -> dict[str, Any]:
    """A minimal contract-valid case in force on the version's first day."""
    destination = next(iter(policy.destinations), "XX")
    return {"case_id": SMOKE_CASE_ID, "submitted": policy.effective_from,
            "destination": destination, "items": [{"id": "item-1"}]}


def _failure(policy: Policy, file: str, what: str, exc: Exception) -> Diagnostic:
    text = printable(" ".join(str(exc).split()))[:300] or "no message"
    return Diagnostic(
        CODE, f"version `{policy.version}` of `{policy.id}` cannot {what}: "
        f"{type(exc).__name__}: {text}", file,
        help="every backend must run every valid version: change the value named here, "
             "or report an engine bug")


def _smoke(compiled: CompiledPolicy, backend: Backend, case: Mapping[str, Any]) -> None:
    check_case(case)
    normalized = normalize(case, compiled)
    decide(compiled, normalized, backend.evaluate(normalized), backend.name).to_dict()


def check_backends(policy: Policy, file: str,
                   backends: Mapping[str, Callable[[CompiledPolicy], Backend]] = BACKENDS,
                   ) -> tuple[list[Diagnostic], list[str]]:
    """Problems of compiling and evaluating `policy` on each backend, and notes on skips.

    `file` is where the diagnostics point (the version's policy.yaml).
    """
    try:
        compiled = compile_policy(policy)
    except Exception as exc:  # any failure is a finding, never a crash of the validator
        return [_failure(policy, file, "be compiled", exc)], []
    case = smoke_case(policy)
    problems: list[Diagnostic] = []
    notes: list[str] = []
    for name, build in sorted(backends.items()):
        try:
            backend = build(compiled)
        except ImportError as exc:
            notes.append(f"the `{name}` backend cannot be imported here ({exc}): "
                         f"`{policy.id}` {policy.version} was not compiled for it")
            continue
        except Exception as exc:
            problems.append(_failure(policy, file, f"be compiled for the `{name}` backend", exc))
            continue
        try:
            _smoke(compiled, backend, case)
        except Exception as exc:
            problems.append(_failure(policy, file, f"be evaluated by the `{name}` backend",
                                     exc))
    return problems, notes
