"""Why a case's decision changed between two versions: one line per cause, never none.

For each rule that fired under one version only (or under both with another effect), the
explainer looks for the policy change behind it, in this order: the rule was added,
removed or renamed; its condition changed (the tests that came and went); its outcome,
required assurances or licence conditions changed; or, its condition unchanged, a fact it
tests has another value because of the data: a destination's band moved (with the factor
that moved it), its factors or Freedom House values changed, a control entry maps to
another category, a category's groups or risk changed, an id became known or unknown.
Changes of the outcome precedence or default are causes too. When nothing is found the
cause says so explicitly: `no rule change explains it: ...`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine import conditions
from engine.cases import NormalizedCase
from engine.compiler import CompiledPolicy, CompiledRule
from engine.decision import BUILTIN_FINDINGS
from engine.diff.bands import causes as band_causes
from engine.diff.corpus import Recorded
from engine.model import canonical_entry, mapped_prefix

NO_CAUSE = "no rule change explains it"
LONG = 72  # conditions longer than this are shown as the tests that came and went
_COUNTRY_FACTS = ("band", "bands", "factors")
_FREEDOM_FACTS = ("freedom_status", "freedom_score")
_PARTY_KEYS = ("end_user", "purchaser")
_PARTY_LISTS = ("consignees", "intermediaries")


def _show(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, frozenset | set | tuple | list):
        return "[" + ", ".join(sorted(map(str, value))) + "]"
    return str(value)


def _delta(old: Iterable[str], new: Iterable[str]) -> str:
    a, b = set(old), set(new)
    return " ".join([f"+{v}" for v in sorted(b - a)] + [f"−{v}" for v in sorted(a - b)])


def entry_category(control_map: Mapping[str, str], entry: str) -> str | None:
    """The category of the longest mapped prefix of `entry` (dot boundaries), if any."""
    prefix = mapped_prefix(control_map, entry)
    return None if prefix is None else control_map[prefix]


def _countries(case: Mapping[str, Any]) -> list[str]:
    found = [case.get("destination")]
    for key in _PARTY_KEYS:
        party = case.get(key)
        found.append(party.get("country") if isinstance(party, Mapping) else None)
    for key in _PARTY_LISTS:
        for party in case.get(key) or ():
            found.append(party.get("country") if isinstance(party, Mapping) else None)
    out: list[str] = []
    for code in found:
        if isinstance(code, str) and code not in out:
            out.append(code)
    return out


@dataclass
class _Data:
    """Data causes of one case: (text, kind) where kind says which facts they move."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, text: str, kind: str) -> None:
        if (text, kind) not in self.items:
            self.items.append((text, kind))

    def for_facts(self, facts: Iterable[str]) -> list[str]:
        kinds = {_fact_kind(f) for f in facts}
        return [text for text, kind in self.items if kind in kinds]


def _fact_kind(fact: str) -> str:
    if fact.startswith("item.") or fact == "case.categories":
        return "item"
    last = fact.rsplit(".", 1)[-1]
    if last in _FREEDOM_FACTS:
        return "freedom"
    if last in _COUNTRY_FACTS:
        return "country"
    if fact == "end_user.government":
        return "end_user"
    return "other"


@dataclass(frozen=True)
class Explainer:
    """Finds the causes of changed cases between two compiled versions."""

    old: CompiledPolicy | None  # None: replay (the old side is a recorded decision)
    new: CompiledPolicy
    renames: Mapping[str, str] = field(default_factory=dict)  # new rule id → old rule id

    def explain(self, case: Mapping[str, Any], old_n: NormalizedCase | None,
                new_n: NormalizedCase | None, old: Recorded, new: Recorded) -> tuple[str, ...]:
        """The causes of the change from `old` to `new` (never empty)."""
        if self.old is None:
            found = self._replay(old, new)
        else:
            found = self._diff(self.old, case, old_n, new_n, old, new)
        out = list(dict.fromkeys(found))
        return tuple(out) if out else (self._nothing(old, new),)

    def _nothing(self, old: Recorded, new: Recorded) -> str:
        if old.rules == new.rules:
            what = "the same rules fire under both versions"
            if old.outcome != new.outcome:
                what += f", the outcome moves from {old.outcome} to {new.outcome}"
        else:
            what = (f"rules {_delta(old.rules, new.rules)} fire with unchanged conditions, "
                    "effects and data")
        if self.old is None and old.version:
            what += f" (recorded by {old.version})"
        return f"{NO_CAUSE}: {what}"

    def _replay(self, old: Recorded, new: Recorded) -> list[str]:
        out = []
        for rid in sorted(old.rules - new.rules):
            gone = self.new.rule(rid) is None and not _builtin(rid)
            out.append(f"rule not in {self.new.version}: {rid}" if gone
                       else f"no longer fires under {self.new.version}: {rid}")
        for rid in sorted(new.rules - old.rules):
            out.append(f"fires only under {self.new.version}: {rid}")
        return out

    def _diff(self, old_p: CompiledPolicy, case: Mapping[str, Any],
              old_n: NormalizedCase | None, new_n: NormalizedCase | None, old: Recorded,
              new: Recorded) -> list[str]:
        out = _policy_level(old_p, self.new, old, new)
        data = _data_causes(old_p, self.new, case, old_n, new_n)
        only_old, only_new = set(old.rules - new.rules), set(new.rules - old.rules)
        for nid, oid in sorted(self.renames.items()):
            if nid in only_new and oid in only_old:
                only_new.discard(nid)
                only_old.discard(oid)
                out.append(f"rule renamed: {oid} → {nid}")
                out += _effect(old_p.rule(oid), self.new.rule(nid), nid)
        for rid in sorted(only_old | only_new):
            out += self._rule(old_p, rid, rid in only_new, old_n, new_n, data)
        for rid in sorted(old.rules & new.rules):
            out += _effect(old_p.rule(rid), self.new.rule(rid), rid)
        return out

    def _rule(self, old_p: CompiledPolicy, rid: str, fires_now: bool,
              old_n: NormalizedCase | None, new_n: NormalizedCase | None,
              data: _Data) -> list[str]:
        a, b = old_p.rule(rid), self.new.rule(rid)
        renamed = ""
        if a is None and rid in self.renames:  # a renamed rule that fired on one side only
            a, renamed = old_p.rule(self.renames[rid]), f" (renamed from {self.renames[rid]})"
        elif b is None and rid in self.renames.values():
            nid = next(n for n, o in self.renames.items() if o == rid)
            b, renamed = self.new.rule(nid), f" (renamed to {nid})"
        verb = "now fires" if fires_now else "no longer fires"
        if _builtin(rid) or (a is None and b is None):
            return [f"{verb}: {rid}", *data.for_facts(("item.category", "destination.band",
                                                        "end_user.government"))]
        if a is None:
            assert b is not None
            return [f"rule added: {rid} ({b.outcome})"]
        if b is None:
            return [f"rule removed: {rid} ({a.outcome})"]
        if conditions.to_json(a.condition) != conditions.to_json(b.condition):
            return [f"condition changed: {rid}{renamed}: {_condition_change(a, b)}"]
        facts = [f for f in sorted(conditions.facts_used(b.condition))
                 if _value(old_n, f) != _value(new_n, f)]
        if not facts:
            return []
        moved = [f"{f} {_value(old_n, f)} → {_value(new_n, f)}" for f in facts]
        return [f"{verb}, condition unchanged: {rid}{renamed}: {'; '.join(moved)}",
                *data.for_facts(facts)]


def _builtin(rid: str) -> bool:
    return rid in BUILTIN_FINDINGS


def _value(n: NormalizedCase | None, fact: str) -> str:
    """The fact's value as printed; an item fact's values in every item view, `; `-joined."""
    if n is None:
        return "not evaluated"
    if fact.startswith("item."):
        return "; ".join(_show(v.facts.get(fact)) for v in n.views) or "missing"
    return _show(n.facts.get(fact))


def _condition_change(a: CompiledRule, b: CompiledRule) -> str:
    if max(len(a.readable), len(b.readable)) <= LONG:
        return f"{a.readable} → {b.readable}"
    left = {conditions.render_test(t) for t in conditions.tests(a.condition)}
    right = {conditions.render_test(t) for t in conditions.tests(b.condition)}
    parts = [f"+{t}" for t in sorted(right - left)] + [f"−{t}" for t in sorted(left - right)]
    return "; ".join(parts) if parts else "the same tests, combined differently"


def _effect(a: CompiledRule | None, b: CompiledRule | None, rid: str) -> list[str]:
    if a is None or b is None:
        return []
    out = []
    if a.outcome != b.outcome:
        out.append(f"outcome changed: {rid}: {a.outcome} → {b.outcome}")
    if set(a.require_assurances) != set(b.require_assurances):
        out.append(f"required assurances changed: {rid}: "
                   f"{_delta(a.require_assurances, b.require_assurances)}")
    if set(a.conditions) != set(b.conditions):
        out.append(f"licence conditions changed: {rid}: {_delta(a.conditions, b.conditions)}")
    return out


def _policy_level(old_p: CompiledPolicy, new_p: CompiledPolicy, old: Recorded,
                  new: Recorded) -> list[str]:
    out = []
    if old_p.precedence != new_p.precedence and old.outcome != new.outcome:
        out.append(f"outcome precedence changed: {', '.join(old_p.precedence)} → "
                   f"{', '.join(new_p.precedence)}")
    if old_p.default_outcome != new_p.default_outcome and not (old.rules and new.rules):
        out.append(f"default outcome changed: {old_p.default_outcome} → "
                   f"{new_p.default_outcome}")
    return out


def _data_causes(old_p: CompiledPolicy, new_p: CompiledPolicy, case: Mapping[str, Any],
                 old_n: NormalizedCase | None, new_n: NormalizedCase | None) -> _Data:
    data = _Data()
    for code in _countries(case):
        a, b = old_p.destinations.get(code), new_p.destinations.get(code)
        if a is None or b is None:
            if (a is None) != (b is None):
                data.add(f"vocabulary: destination {code} "
                         f"{'added' if b is not None else 'removed'}", "country")
            continue
        if a.band != b.band:
            why = "; ".join(band_causes(a, b, old_p.policy, new_p.policy))
            data.add(f"band moved: {code} {b.name} {a.band} → {b.band} ({why})", "country")
        elif a.factors != b.factors:
            data.add(f"destination factors changed: {code} {b.name} "
                     f"{_delta(a.factors, b.factors)}", "country")
        if a.freedom_status != b.freedom_status or a.freedom_score != b.freedom_score:
            data.add(f"Freedom House changed: {code} {b.name} {a.freedom_status} "
                     f"{a.freedom_score} → {b.freedom_status} {b.freedom_score}", "freedom")
    for item in case.get("items") or ():
        if isinstance(item, Mapping):
            _item_causes(old_p, new_p, item, data)
    _end_user_causes(old_p, new_p, case, data)
    if old_n is not None and new_n is not None:
        before = {(u.field, u.value) for u in old_n.unknown}
        after = {(u.field, u.value) for u in new_n.unknown}
        for fld, value in sorted(before - after):
            data.add(f"vocabulary: {fld} {value} unknown in {old_p.version}, known in "
                     f"{new_p.version}", "item" if "item" in fld else "other")
        for fld, value in sorted(after - before):
            data.add(f"vocabulary: {fld} {value} known in {old_p.version}, unknown in "
                     f"{new_p.version}", "item" if "item" in fld else "other")
    return data


def _item_causes(old_p: CompiledPolicy, new_p: CompiledPolicy, item: Mapping[str, Any],
                 data: _Data) -> None:
    old_cats, new_cats = old_p.policy.categories, new_p.policy.categories
    candidates: set[str] = set()
    declared = item.get("category")
    if isinstance(declared, str):
        candidates.add(declared)
        if (declared in old_cats) != (declared in new_cats):
            verb = "added" if declared in new_cats else "removed"
            data.add(f"vocabulary: category {declared} {verb}", "item")
    for raw in item.get("control_entries") or ():
        entry = canonical_entry(str(raw))
        a, b = entry_category(old_p.control_map, entry), entry_category(new_p.control_map, entry)
        candidates.update(c for c in (a, b) if c)
        if a != b:
            data.add(f"category mapping: control entry {entry}: {a or 'unmapped'} → "
                     f"{b or 'unmapped'}", "item")
    for cat in sorted(candidates):
        x, y = old_cats.get(cat), new_cats.get(cat)
        if x is None or y is None:
            continue
        parts = []
        if set(x.groups) != set(y.groups):
            parts.append(f"groups {_delta(x.groups, y.groups)}")
        if x.risk != y.risk:
            parts.append(f"risk {x.risk} → {y.risk}")
        if parts:
            data.add(f"vocabulary: category {cat}: {', '.join(parts)}", "item")


def _end_user_causes(old_p: CompiledPolicy, new_p: CompiledPolicy, case: Mapping[str, Any],
                     data: _Data) -> None:
    end_user = case.get("end_user")
    kind = end_user.get("type") if isinstance(end_user, Mapping) else None
    if not isinstance(kind, str):
        return
    a, b = old_p.policy.end_user_types.get(kind), new_p.policy.end_user_types.get(kind)
    ga = a.extra.get("government") if a is not None else None
    gb = b.extra.get("government") if b is not None else None
    if ga != gb:
        data.add(f"vocabulary: end-user type {kind}: government {_show(ga)} → {_show(gb)}",
                 "end_user")
