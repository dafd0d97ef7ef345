"""Check a licence case against the case contract and turn it into facts.

Two kinds of problems, kept apart on purpose:
- *input errors* (`CaseError`): the case does not follow `schemas/case.schema.json` (wrong
  structure or types, unknown keys, duplicate item ids). No decision is made (exit 2).
- *unknown ids*: well-formed values that are not in the policy's vocabularies (a misspelt
  flag, an unlisted destination). They become an `unknown-id` finding, the value is treated as
  missing, and the decision fails closed.

The facts produced are exactly those of engine/facts.py, with Python types the backends rely
on (str, bool, int/float rounded to 2 decimals, frozenset), so type coercion inside
durable-rules can never decide a case.

The package is the pipeline's `cases` step, one module per part: `model` (what a
normalised case is), `contract` (the input contract, `check_case`), `text` (control
entries, free text, memoised suggestions) and `normalizer` (case → facts).
"""

from engine.cases.contract import CASE_MAX_DEPTH, check_case
from engine.cases.model import (
    VIEW_SEP,
    CaseError,
    Classification,
    CompiledDataError,
    ItemFacts,
    ItemView,
    NormalizedCase,
    Party,
    UnknownId,
)
from engine.cases.normalizer import normalize

__all__ = ["CASE_MAX_DEPTH", "VIEW_SEP", "CaseError", "Classification", "CompiledDataError",
           "ItemFacts", "ItemView", "NormalizedCase", "Party", "UnknownId", "check_case",
           "normalize"]
