"""ECHRI policy engine: validate, compile and evaluate export-licensing policies.

Public API::

    import engine
    policies = engine.load("policies/")
    decision = policies.evaluate(case)
    decision.to_dict()
"""

from engine.api import (
    BackendUnavailable,
    PolicyLoadError,
    PolicyStore,
    VersionSelectionError,
    evaluate_with,
    load,
)
from engine.cases import CaseError
from engine.decision import Decision, Finding
from engine.version import __version__

__all__ = [
    "BackendUnavailable",
    "CaseError",
    "Decision",
    "Finding",
    "PolicyLoadError",
    "PolicyStore",
    "VersionSelectionError",
    "__version__",
    "evaluate_with",
    "load",
]
