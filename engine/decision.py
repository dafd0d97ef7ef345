"""Combine rule hits into a Decision: outcome, findings, assurances, requests, conditions.

Every rule whose condition held is one finding naming its items. The decision is the most
severe finding outcome by the policy's precedence; missing assurances and information
requests raise it to at least `request_information`; with no finding the policy default
applies. Built-in findings make the engine fail closed (see BUILTIN_FINDINGS).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from engine import catch_all, evidence
from engine.explain import explanation
from engine.messages import compile_template
from engine.registers import consult
from engine.version import __version__

if TYPE_CHECKING:
    from engine.cases import ItemView, NormalizedCase, UnknownId
    from engine.compiler import CompiledPolicy, CompiledRule


ENGINE_ERROR, UNKNOWN_ID, FAIL_CLOSED = "engine-error", "unknown-id", "fail-closed"
CATEGORY_CONFLICT, UNMAPPED_ENTRY = "category-conflict", "unmapped-entry"
BUILTIN_FINDINGS = {
    ENGINE_ERROR: ("refer", "Engine error: the case could not be evaluated"),
    UNKNOWN_ID: ("request_information", "Unknown ids in the application"),
    FAIL_CLOSED: ("request_information", "Approval withheld: the case is incomplete"),
    CATEGORY_CONFLICT: ("request_information",
                        "Declared category disagrees with the control entries"),
    UNMAPPED_ENTRY: ("request_information", "Control entries this policy does not map"),
    # register screening (engine/registers/consult.py); only with a register set
    consult.NO_UNDERCUT: ("refer", "Another Subscribing State denied an essentially "
                                   "identical transaction: consultation required"),
    consult.SCREENING_MATCH: ("refer", "A party matches a register entry"),
    consult.SCREENING_REVIEW: ("request_information",
                               "A party resembles a register entry: review the match"),
    # a declared catch-all ground (engine/catch_all.py): never approved by the engine
    catch_all.CATCH_ALL: ("refer", "Non-listed item under a catch-all ground: "
                                   "a licensing officer decides the authorisation"),
}
APPROVALS = ("approve", "approve_with_conditions")


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    outcome: str
    title: str
    message: str
    commitments: tuple[str, ...] = ()
    basis: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    # what made the rule fire: parties by role and country, factors with their sources,
    # regimes, listed entries (engine/evidence.py); left out of the JSON when empty
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "outcome": self.outcome, "title": self.title,
                "message": self.message, "commitments": list(self.commitments),
                "basis": list(self.basis), "items": list(self.items)} | (
                    {"evidence": list(self.evidence)} if self.evidence else {})

    def _plain(self) -> dict[str, Any]:
        """to_dict without its copies (for the encoder, to which a tuple is an array)."""
        out = {"rule": self.rule, "outcome": self.outcome, "title": self.title,
               "message": self.message, "commitments": self.commitments,
               "basis": self.basis, "items": self.items}
        if self.evidence:
            out["evidence"] = self.evidence
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    case_id: str
    decision: str
    policy: Mapping[str, str]
    backend: str
    findings: tuple[Finding, ...]
    conditions: tuple[Mapping[str, str], ...] = ()
    required_assurances: tuple[str, ...] = ()
    missing_assurances: tuple[str, ...] = ()
    information_requests: tuple[Mapping[str, str], ...] = ()
    explanation: str = ""
    engine_version: str = field(default=__version__)
    # provenance of the register set screened against (id, kind, version, digest); the
    # key is left out of the JSON without registers, so those decisions are unchanged
    registers: tuple[Mapping[str, str], ...] = ()

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(sorted(f.rule for f in self.findings))

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "decision": self.decision,
            "policy": dict(self.policy),
            "engine": {"version": self.engine_version, "backend": self.backend},
            "findings": [f.to_dict() for f in self.findings],
            "conditions": [dict(c) for c in self.conditions],
            "required_assurances": list(self.required_assurances),
            "missing_assurances": list(self.missing_assurances),
            "information_requests": [dict(r) for r in self.information_requests],
            "explanation": self.explanation,
        } | ({"registers": [dict(r) for r in self.registers]} if self.registers else {})

    def to_json(self, indent: int | None = None) -> str:
        """Canonical JSON: byte-identical for the same case and policy version."""
        if indent is None and self._strings_only():
            try:
                return orjson.dumps(self._plain()).decode("utf-8")
            except orjson.JSONEncodeError:  # a lone surrogate: json keeps it, as before
                pass
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent,
                          separators=None if indent else (",", ":"))

    def _plain(self) -> dict[str, Any]:
        """to_dict without its copies (for orjson, to which a tuple is an array)."""
        out = {
            "case_id": self.case_id, "decision": self.decision, "policy": self.policy,
            "engine": {"version": self.engine_version, "backend": self.backend},
            "findings": [f._plain() for f in self.findings], "conditions": self.conditions,
            "required_assurances": self.required_assurances,
            "missing_assurances": self.missing_assurances,
            "information_requests": self.information_requests, "explanation": self.explanation,
        }
        if self.registers:
            out["registers"] = self.registers
        return out

    def _strings_only(self) -> bool:
        """Whether every mapping is a dict of strings. The other fields hold strings (or
        tuples of them) by construction; orjson writes strings, arrays and objects byte for
        byte as json.dumps(ensure_ascii=False) does, but not every number (`1e-07`, NaN)."""
        for group in ((self.policy,), self.conditions, self.information_requests,
                      self.registers):
            for mapping in group:
                if type(mapping) is not dict:
                    return False
                for value in mapping.values():
                    if type(value) is not str:
                        return False
        return True


def _rank(policy: CompiledPolicy, outcome: str) -> int:
    return policy.rank[outcome]


def _at_least(policy: CompiledPolicy, outcome: str, floor: str) -> str:
    return outcome if _rank(policy, outcome) <= _rank(policy, floor) else floor


def _unknown_finding(unknown: Iterable[UnknownId], all_items: tuple[str, ...]) -> Finding:
    parts: list[str] = []
    items: set[str] = set()
    for u in unknown:
        hint = f" ({u.help})" if u.help else ""
        part = f"`{u.field}` has unknown value `{u.value}`{hint}"
        if part not in parts:  # the same misspelt id given twice is reported once
            parts.append(part)
        items.update(u.items or all_items)
    outcome, title = BUILTIN_FINDINGS[UNKNOWN_ID]
    return Finding(UNKNOWN_ID, outcome, title,
                   "; ".join(parts) + ": the value was ignored, correct it and resubmit",
                   ("coc-4",), (), tuple(i for i in all_items if i in items))


def _classification_findings(policy: CompiledPolicy, case: NormalizedCase) -> list[Finding]:
    """Conflicts between declared category and control entries, and unmapped entries."""
    cats = policy.policy.categories
    conflicts, unmapped = [], []
    for item in case.items:
        if item.conflict is not None:
            others = ", ".join(f"`{c}`" for c in item.categories if c != item.conflict)
            conflicts.append((item.id, f"item `{item.id}` is declared `{item.conflict}` but its "
                              f"control entries ({', '.join(item.given_entries)}) map to "
                              f"{others}"))
        if item.unmapped_entries:
            unmapped.append((item.id, f"item `{item.id}`: "
                             f"{', '.join(item.unmapped_entries)}"))
    out = []
    if conflicts:
        outcome, title = BUILTIN_FINDINGS[CATEGORY_CONFLICT]
        named = ", ".join(cats[c].title for i in case.items if i.conflict for c in i.categories)
        out.append(Finding(
            CATEGORY_CONFLICT, outcome, title,
            "; ".join(m for _, m in conflicts) + f": the item was assessed as {named}; "
            "confirm its classification", ("coc-4",), (), tuple(i for i, _ in conflicts)))
    if unmapped:
        outcome, title = BUILTIN_FINDINGS[UNMAPPED_ENTRY]
        out.append(Finding(
            UNMAPPED_ENTRY, outcome, title,
            "; ".join(m for _, m in unmapped) + ": these entries are not mapped to a category "
            "by this policy version; give the item's category or a mapped entry",
            ("coc-4",), (), tuple(i for i, _ in unmapped)))
    return out


def _screening_findings(case: NormalizedCase) -> list[Finding]:
    """No-undercut consultation, register matches and near matches (engine/registers/)."""
    if case.screening is None or not case.screening.matches:  # nothing screened, or no match
        return []
    entries = frozenset(e for i in case.items for e in i.given_entries)
    out = []
    for rule, message in consult.findings(case.screening, case.facts.get("destination"),
                                          case.facts.get("case.categories", frozenset()),
                                          entries):
        outcome, title = BUILTIN_FINDINGS[rule]
        out.append(Finding(rule, outcome, title, message, ("coc-3",), (), case.item_ids))
    return out


def _ground(policy: CompiledPolicy, ground_id: str) -> str:
    """`eu_2021_821:art5.1: Regulation (EU) 2021/821 ..., Art. 5(1) (...)` for a ground."""
    ground = catch_all.grounds().get(ground_id)
    if ground is None:
        return f"{ground_id} (not a known ground)"
    src = policy.policy.sources.get(ground.source)
    act = src.cite(ground.pinpoint) if src else f"{ground.source} {ground.pinpoint}"
    return f"{ground_id}: {ground.cite(act)}"


def _catch_all_findings(policy: CompiledPolicy, case: NormalizedCase) -> list[Finding]:
    """`catch-all-ground` for the items that declare a catch-all ground, known or not."""
    found = [(i.id, i.catch_all) for i in case.items if i.catch_all]
    if not found:
        return []
    parts = [f"item `{item}` is declared subject to authorisation under "
             f"{'; '.join(_ground(policy, g) for g in given)}" for item, given in found]
    outcome, title = BUILTIN_FINDINGS[catch_all.CATCH_ALL]
    return [Finding(catch_all.CATCH_ALL, outcome, title,
                    "; ".join(parts) + ": a catch-all ground means the authority found, or "
                    "was told, that the item may serve the uses the provision names; a "
                    "licensing officer decides the authorisation", ("coc-1",), (),
                    tuple(item for item, _ in found))]


def _sorted(policy: CompiledPolicy, findings: Iterable[Finding]) -> tuple[Finding, ...]:
    rank = policy.rank
    return tuple(sorted(findings, key=lambda f: (rank[f.outcome], f.rule)))


class _Outline(NamedTuple):
    """What the explanation reads of a decision (engine/explain.py `Outline`), so that the
    Decision is built once, with its explanation."""

    decision: str
    findings: tuple[Finding, ...]
    missing_assurances: tuple[str, ...]
    information_requests: tuple[Mapping[str, str], ...]
    conditions: tuple[Mapping[str, str], ...]


def _rule_finding(policy: CompiledPolicy, rule: CompiledRule, case: NormalizedCase,
                  views: tuple[ItemView, ...]) -> Finding:
    items = (views[0].item,) if len(views) == 1 else tuple(dict.fromkeys(v.item for v in views))
    message = compile_template(rule.message, rule.scope).fill(policy, rule, case, views, items)
    return Finding(rule.id, rule.outcome, rule.title, message, rule.commitments, rule.basis, items,
                   evidence.collect(policy, rule, case, views))


class _Fired(NamedTuple):
    """The rules that fired, with their views, and what they ask of the decision."""

    rules: list[tuple[CompiledRule, tuple[ItemView, ...]]]
    required: set[str]
    conditions: set[str]
    requests: dict[str, str]  # field → request text, the first rule's (in rule order)


def _fired(policy: CompiledPolicy, case: NormalizedCase,
           hits: Mapping[str, tuple[str, ...]]) -> _Fired:
    index = {v.key: v for v in case.views}
    # a rule id the policy does not have, or a view key the case does not have, is a backend
    # bug: KeyError → engine-error (fail closed)
    fired = _Fired([], set(), set(), {})
    for _, rule in sorted([policy.rule_index[r] for r in hits], key=itemgetter(0)):
        fired.rules.append((rule, tuple([index[k] for k in hits[rule.id]])))
        fired.required.update(rule.require_assurances)
        fired.conditions.update(rule.conditions)
        if rule.field is not None and rule.field not in fired.requests:
            fired.requests[rule.field] = rule.request or rule.message
    return fired


def _builtin_findings(policy: CompiledPolicy, case: NormalizedCase) -> list[Finding]:
    """Unknown ids, classification, screening and catch-all findings, in that order."""
    out = [_unknown_finding(case.unknown, case.item_ids)] if case.unknown else []
    out.extend(_classification_findings(policy, case))
    out.extend(_screening_findings(case))
    out.extend(_catch_all_findings(policy, case))
    return out


def _settle(policy: CompiledPolicy, case: NormalizedCase, outcomes: list[str],
            fired: _Fired) -> tuple[str, tuple[str, ...], Finding | None]:
    """The outcome of the findings' outcomes, the missing assurances, and the fail-closed
    finding when an approval must be withheld (then the outcome is raised)."""
    outcome = min(outcomes, key=policy.rank.__getitem__) if outcomes \
        else policy.policy.default_outcome
    missing = tuple(sorted(fired.required - set(case.facts.get("assurances", ()))))
    if missing or fired.requests:
        outcome = _at_least(policy, outcome, "request_information")
    withheld = None
    if outcome in APPROVALS and (case.unclassified or "destination" not in case.facts):
        withheld = _fail_closed(case)
        outcome = _at_least(policy, outcome, "request_information")
    return outcome, missing, withheld


def _attached(policy: CompiledPolicy, outcome: str, fired: _Fired) -> list[str]:
    """The ids of the licence conditions the decision attaches, sorted: those the fired
    rules name that the policy defines, and only to an approval with conditions."""
    if outcome != "approve_with_conditions":
        return []
    lc = policy.policy.license_conditions
    return [c for c in sorted(fired.conditions) if c in lc]


def decide(policy: CompiledPolicy, case: NormalizedCase, hits: Mapping[str, tuple[str, ...]],
           backend: str) -> Decision:
    """Turn the hits of one evaluation into a Decision (explanation included)."""
    fired = _fired(policy, case, hits)
    findings = [_rule_finding(policy, rule, case, views) for rule, views in fired.rules]
    findings.extend(_builtin_findings(policy, case))
    outcome, missing, withheld = _settle(policy, case, [f.outcome for f in findings], fired)
    if withheld is not None:
        findings.append(withheld)
    lc = policy.policy.license_conditions
    attached = tuple({"id": c, "title": lc[c].title, "text": lc[c].text}
                     for c in _attached(policy, outcome, fired))
    ordered = _sorted(policy, findings)
    asked = tuple({"field": k, "request": v} for k, v in sorted(fired.requests.items()))
    return Decision(
        case_id=case.case_id, decision=outcome,
        policy={"id": policy.id, "version": policy.version, "digest": policy.digest},
        backend=backend, findings=ordered, conditions=attached,
        required_assurances=tuple(sorted(fired.required)), missing_assurances=missing,
        information_requests=asked,
        explanation=explanation(_Outline(outcome, ordered, missing, asked, attached), policy),
        registers=case.screening.provenance if case.screening is not None else ())


class Summary(NamedTuple):
    """What a behavioural diff compares of a decision (engine/diff/corpus.py `Recorded`)."""

    decision: str
    rules: frozenset[str]  # of the findings
    conditions: frozenset[str]  # ids of the attached licence conditions
    required_assurances: frozenset[str]
    requested: frozenset[str]  # fields of the information requests


def summarise_hits(policy: CompiledPolicy, case: NormalizedCase,
                   hits: Mapping[str, tuple[str, ...]]) -> Summary:
    """The `Summary` of `decide(policy, case, hits, ...)`, without the rules' messages, their
    evidence and the explanation, which `diff` and `replay` do not compare and which were
    a third of a decision's time (tests/test_decision_summary.py: the same as the decision's
    on every fixture and on generated cases)."""
    fired = _fired(policy, case, hits)
    builtin = _builtin_findings(policy, case)
    outcomes = [rule.outcome for rule, _ in fired.rules] + [f.outcome for f in builtin]
    outcome, _, withheld = _settle(policy, case, outcomes, fired)
    rules = {rule.id for rule, _ in fired.rules} | {f.rule for f in builtin}
    if withheld is not None:
        rules.add(withheld.rule)
    return Summary(outcome, frozenset(rules), frozenset(_attached(policy, outcome, fired)),
                   frozenset(fired.required), frozenset(fired.requests))


def _fail_closed(case: NormalizedCase) -> Finding:
    reasons = []
    if case.unclassified:
        reasons.append(f"item(s) {', '.join(case.unclassified)} could not be classified")
    if "destination" not in case.facts:
        reasons.append("the destination is unknown")
    outcome, title = BUILTIN_FINDINGS[FAIL_CLOSED]
    return Finding(FAIL_CLOSED, outcome, title,
                   "; ".join(reasons) + ": the policy cannot approve an incomplete case",
                   ("coc-4",), (), case.unclassified or case.item_ids)


def engine_error(policy: CompiledPolicy, case_id: str, backend: str,
                 error: BaseException) -> Decision:
    """The fail-closed decision for an exception during evaluation; it cannot raise itself.

    It depends on nothing that may just have failed: no message renderer, no explanation
    module, and the exception is described under a guard (its `__str__` may raise too).
    """
    return _fail_closed_decision(policy, case_id, backend,
                                 f"evaluation failed with {_describe(error)}")


def disagreement(policy: CompiledPolicy, case_id: str, names: tuple[str, str],
                 hits: tuple[Mapping[str, tuple[str, ...]], Mapping[str, tuple[str, ...]]]
                 ) -> Decision:
    """Self-check: the fail-closed decision when two backends gave different hits."""
    (a, b), (ha, hb) = names, hits
    parts = []
    for name, mine, theirs in ((a, ha, hb), (b, hb, ha)):
        only = sorted(r for r in mine if r not in theirs)
        if only:
            parts.append(f"only {name} fired {', '.join(only)}")
    differ = sorted(r for r in ha if r in hb and ha[r] != hb[r])
    if differ:
        parts.append(f"they fired {', '.join(differ)} for different items")
    return _fail_closed_decision(policy, case_id, f"{a}+{b}",
                                 "the backends disagree: " + "; ".join(parts))


def _fail_closed_decision(policy: CompiledPolicy, case_id: str, backend: str,
                          detail: str) -> Decision:
    outcome, title = BUILTIN_FINDINGS[ENGINE_ERROR]
    pid, version, digest = (_guard(lambda: str(policy.id)), _guard(lambda: str(policy.version)),
                            _guard(lambda: str(policy.digest)))
    finding = Finding(ENGINE_ERROR, outcome, title,
                      f"{detail}; the case needs manual review", ("coc-1",), (), ())
    return Decision(case_id=case_id, decision=outcome,
                    policy={"id": pid, "version": version, "digest": digest},
                    backend=backend, findings=(finding,),
                    explanation=f"Referred for manual review under {pid} {version}: the engine "
                                f"could not decide the case ({detail}).")


def _describe(error: BaseException) -> str:
    name = _guard(lambda: type(error).__name__)
    text = _guard(lambda: str(error), "")
    text = text if len(text) <= 300 else text[:297] + "..."
    return f"{name}: {text}" if text else name


def _guard(get: Callable[[], str], fallback: str = "unknown") -> str:
    try:
        return get()
    except Exception:  # describing a failure must not fail
        return fallback
