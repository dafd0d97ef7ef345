"""Explanations: what was decided, the decisive reasons, and what would change it.

Formats a Decision record; never evaluates a second time. `explanation` is the short
paragraph stored in the decision; `render_text` is the longer view `echri explain` prints.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.compiler import CompiledPolicy
    from engine.decision import Decision

LABELS = {
    "deny": "Deny",
    "refer": "Refer for review",
    "request_information": "Request information",
    "approve_with_conditions": "Approve with conditions",
    "approve": "Approve",
}


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _decisive(decision: Decision) -> list[str]:
    return [f.rule for f in decision.findings if f.outcome == decision.decision]


def _what_would_change(decision: Decision) -> list[str]:
    out = []
    if decision.missing_assurances:
        out.append(f"providing the missing assurances ({_join(list(decision.missing_assurances))})")
    if decision.information_requests:
        fields = [r["field"] for r in decision.information_requests]
        out.append(f"answering the information requests ({_join(fields)})")
    return out


def _requiring(decision: Decision, policy: CompiledPolicy) -> list[str]:
    """Rules of the decision that require one of its missing assurances."""
    missing = set(decision.missing_assurances)
    out = []
    for f in decision.findings:
        entry = policy.rule_index.get(f.rule)
        if entry and missing & set(entry[1].require_assurances):
            out.append(f.rule)
    return out or ["the policy"]


def explanation(decision: Decision, policy: CompiledPolicy) -> str:
    """One plain-language paragraph for a licensing officer."""
    head = f"{LABELS[decision.decision]} under {policy.id} {policy.version}."
    decisive = _decisive(decision)
    parts = [head]
    if not decision.findings:
        parts.append(f"No rule applied, so the policy default ({decision.decision}) holds.")
    elif decisive:
        first = next(f for f in decision.findings if f.rule == decisive[0])
        more = f" (and {len(decisive) - 1} more rule(s) with the same outcome)" \
            if len(decisive) > 1 else ""
        parts.append(f"Decisive: {first.rule}: {first.message.rstrip('. ')}{more}.")
    elif decision.missing_assurances:
        parts.append(f"Decisive: assurances required by {_join(_requiring(decision, policy))} "
                     "were not provided.")
    others = len(decision.findings) - len(decisive)
    if others:
        parts.append(f"{others} other finding(s) apply with a less severe outcome.")
    if decision.missing_assurances and decision.decision != "deny":
        parts.append(f"Missing assurances: {_join(list(decision.missing_assurances))}.")
    if decision.conditions:
        parts.append(f"Licence conditions: {_join([c['id'] for c in decision.conditions])}.")
    changes = _what_would_change(decision)
    if decision.decision == "deny":
        parts.append("Only a change in the facts that triggered the denial can change it.")
    elif changes and decision.decision != "refer":
        parts.append(f"Approval would need {_join(changes)}.")
    elif decision.decision == "refer":
        parts.append("A licensing officer must review the case before any approval.")
    return " ".join(parts)


def render_text(decision: Decision, width: int = 88) -> str:
    """The multi-line view printed by `echri explain` / `evaluate --format text`."""
    lines = [f"case {decision.case_id}: {decision.decision.upper()}",
             f"policy {decision.policy['id']} {decision.policy['version']} "
             f"({decision.policy['digest'][:19]}…), backend {decision.backend}", ""]
    lines += textwrap.wrap(decision.explanation, width, break_on_hyphens=False)
    if decision.findings:
        lines += ["", "findings:"]
        for f in decision.findings:
            items = f" [items: {', '.join(f.items)}]" if f.items else ""
            lines.append(f"  - {f.outcome:<23} {f.rule}{items}")
            lines += textwrap.wrap(f.message, width, initial_indent="      ",
                                   subsequent_indent="      ", break_on_hyphens=False)
            if f.basis:
                lines += textwrap.wrap(f"basis: {'; '.join(f.basis)}", width,
                                       initial_indent="      ", subsequent_indent="        ",
                                       break_on_hyphens=False)
    for title, values in (("required assurances", decision.required_assurances),
                          ("missing assurances", decision.missing_assurances)):
        if values:
            lines.append(f"{title}: {', '.join(values)}")
    for r in decision.information_requests:
        lines.append(f"information request [{r['field']}]: {r['request']}")
    for c in decision.conditions:
        lines.append(f"condition [{c['id']}]: {c['text']}")
    return "\n".join(lines)
