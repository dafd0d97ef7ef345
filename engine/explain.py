"""Explanations: what was decided, the decisive reasons, and what would change it.

Formats a Decision record; never evaluates a second time. `explanation` is the short
paragraph stored in the decision; `render_text` is the longer view `echri explain` prints.

Ids, names and messages come from the case and the policy, so both pass every one of them
through `strip_controls`: a terminal must not receive escape sequences (cursor moves,
screen clears, window titles, OSC 8 links) from data, and a decision must not carry them.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from engine.compiler import CompiledPolicy


class FindingView(Protocol):
    """What the explanation reads of a finding (engine/decision.py `Finding`)."""

    @property
    def rule(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def basis(self) -> tuple[str, ...]: ...
    @property
    def items(self) -> tuple[str, ...]: ...
    @property
    def evidence(self) -> tuple[str, ...]: ...


class Outline(Protocol):
    """What `explanation` reads of a decision: engine/decision.py passes its parts before it
    builds the Decision, so that the Decision is built once."""

    @property
    def decision(self) -> str: ...
    @property
    def findings(self) -> Sequence[FindingView]: ...
    @property
    def conditions(self) -> Sequence[Mapping[str, str]]: ...
    @property
    def missing_assurances(self) -> Sequence[str]: ...
    @property
    def information_requests(self) -> Sequence[Mapping[str, str]]: ...


class DecisionView(Outline, Protocol):
    """What the explanation reads of a decision (engine/decision.py `Decision`, which
    calls this module: typed by shape, so that this module does not import it)."""

    @property
    def case_id(self) -> str: ...
    @property
    def backend(self) -> str: ...
    @property
    def explanation(self) -> str: ...
    @property
    def policy(self) -> Mapping[str, str]: ...
    @property
    def required_assurances(self) -> Sequence[str]: ...


LABELS = {
    "deny": "Deny",
    "refer": "Refer for review",
    "request_information": "Request information",
    "approve_with_conditions": "Approve with conditions",
    "approve": "Approve",
}

# ESC / CSI / OSC / DCS / SOS / PM / APC sequences in their 7- and 8-bit forms (a string
# sequence without its terminator runs to the end, as a terminal would read it), then any
# other C0 or C1 control character and DEL; newline and tab are kept
_CONTROLS = re.compile(r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?
  | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|\Z)
  | \x1b[ -/]*[0-~]?
  | [\x00-\x08\x0b-\x1f\x7f-\x9f]
""", re.VERBOSE | re.DOTALL)


def strip_controls(text: str) -> str:
    """`text` without terminal control sequences; other text (any script) is unchanged."""
    # every sequence starts with a C0 or C1 control character, which is never printable:
    # most text is, and str.isprintable is far cheaper than the search
    return text if text.isprintable() else _CONTROLS.sub("", text)


def _clean(values: Iterable[str]) -> list[str]:
    return [strip_controls(v) for v in values]


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _what_would_change(decision: Outline) -> list[str]:
    out = []
    if decision.missing_assurances:
        missing = _join(_clean(decision.missing_assurances))
        out.append(f"providing the missing assurances ({missing})")
    if decision.information_requests:
        fields = _clean(r["field"] for r in decision.information_requests)
        out.append(f"answering the information requests ({_join(fields)})")
    return out


def _requiring(decision: Outline, policy: CompiledPolicy) -> list[str]:
    """Rules of the decision that require one of its missing assurances."""
    missing = set(decision.missing_assurances)
    out = []
    for f in decision.findings:
        entry = policy.rule_index.get(f.rule)
        if entry and missing & set(entry[1].require_assurances):
            out.append(strip_controls(f.rule))
    return out or ["the policy"]


@lru_cache(maxsize=256)
def _head(outcome: str, policy_id: str, version: str) -> str:
    """`Deny under echri-baseline 2026.1.`: the same few per policy version."""
    return f"{LABELS[outcome]} under {' '.join(_clean((policy_id, version)))}."


def _decisive(findings: Sequence[FindingView], decisive: list[FindingView]) -> list[str]:
    """The first decisive finding's rule, message and evidence."""
    rule = decisive[0].rule
    first = next(f for f in findings if f.rule == rule)
    more = f" (and {len(decisive) - 1} more rule(s) with the same outcome)" \
        if len(decisive) > 1 else ""
    message = strip_controls(first.message).rstrip(". ")
    out = [f"Decisive: {strip_controls(first.rule)}: {message}{more}."]
    if first.evidence:
        out.append(f"Evidence: {'; '.join(_clean(first.evidence))}.")
    return out


def _outlook(decision: Outline) -> str | None:
    """What can change the outcome, if anything can."""
    if decision.decision == "deny":
        return "Only a change in the facts that triggered the denial can change it."
    if decision.decision == "refer":
        return "A licensing officer must review the case before any approval."
    changes = _what_would_change(decision)
    return f"Approval would need {_join(changes)}." if changes else None


def explanation(decision: Outline, policy: CompiledPolicy) -> str:
    """One plain-language paragraph for a licensing officer."""
    outcome, findings = decision.decision, decision.findings
    decisive = [f for f in findings if f.outcome == outcome]
    parts = [_head(outcome, policy.id, policy.version)]
    if not findings:
        parts.append(f"No rule applied, so the policy default ({outcome}) holds.")
    elif decisive:
        parts += _decisive(findings, decisive)
    elif decision.missing_assurances:
        parts.append(f"Decisive: assurances required by {_join(_requiring(decision, policy))} "
                     "were not provided.")
    others = len(findings) - len(decisive)
    if others:
        parts.append(f"{others} other finding(s) apply with a less severe outcome.")
    if decision.missing_assurances and outcome != "deny":
        parts.append(f"Missing assurances: {_join(_clean(decision.missing_assurances))}.")
    if decision.conditions:
        parts.append(f"Licence conditions: {_join(_clean(c['id'] for c in decision.conditions))}.")
    outlook = _outlook(decision)
    if outlook is not None:
        parts.append(outlook)
    return " ".join(parts)


def _findings(decision: DecisionView, width: int) -> list[str]:
    lines = ["", "findings:"]
    for f in decision.findings:
        items = f" [items: {', '.join(_clean(f.items))}]" if f.items else ""
        outcome, rule = _clean((f.outcome, f.rule))
        lines.append(f"  - {outcome:<23} {rule}{items}")
        lines += textwrap.wrap(strip_controls(f.message), width, initial_indent="      ",
                               subsequent_indent="      ", break_on_hyphens=False)
        for line in f.evidence:
            lines += textwrap.wrap(f"evidence: {strip_controls(line)}", width,
                                   initial_indent="      ", subsequent_indent="        ",
                                   break_on_hyphens=False)
        if f.basis:
            lines += textwrap.wrap(f"basis: {'; '.join(_clean(f.basis))}", width,
                                   initial_indent="      ", subsequent_indent="        ",
                                   break_on_hyphens=False)
    return lines


def render_text(decision: DecisionView, width: int = 88) -> str:
    """The multi-line view printed by `echri explain` / `evaluate --format text`.

    Every value from the case or the policy has its terminal control sequences stripped,
    also the stored explanation (a decision may come from elsewhere than `explanation`)."""
    case_id, outcome = _clean((decision.case_id, decision.decision.upper()))
    policy_id, version, digest = _clean(str(decision.policy[k])
                                        for k in ("id", "version", "digest"))
    lines = [f"case {case_id}: {outcome}",
             f"policy {policy_id} {version} ({digest[:19]}…), "
             f"backend {strip_controls(decision.backend)}", ""]
    lines += textwrap.wrap(strip_controls(decision.explanation), width, break_on_hyphens=False)
    if decision.findings:
        lines += _findings(decision, width)
    for title, values in (("required assurances", decision.required_assurances),
                          ("missing assurances", decision.missing_assurances)):
        if values:
            lines.append(f"{title}: {', '.join(_clean(values))}")
    for r in decision.information_requests:
        field, request = _clean((r["field"], r["request"]))
        lines.append(f"information request [{field}]: {request}")
    for c in decision.conditions:
        cid, text = _clean((c["id"], c["text"]))
        lines.append(f"condition [{cid}]: {text}")
    return "\n".join(lines)
