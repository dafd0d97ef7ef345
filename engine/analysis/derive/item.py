"""Items of one version: classification, item kinds and the facts of each item view."""

from __future__ import annotations

from typing import Any

import z3

from engine.analysis.derive.case import CaseFacts, cmp_real
from engine.analysis.derive.choices import Choices
from engine.analysis.encode import Item, View, vocab_of
from engine.analysis.space import UNMAPPED_ENTRY
from engine.model import ENTRY_KINDS, ITEM_KINDS, entry_regime, mapped_prefix


def _entry_kind(entry: str) -> str | None:
    return ENTRY_KINDS.get(entry[1]) if len(entry) > 1 and entry[0].isdigit() else None


def _covers(listed: str, entry: str) -> bool:
    return entry == listed or entry.startswith(listed + ".")


class ItemDerived:
    """One item of one version: classification, item facts and its views."""

    def __init__(self, d: Choices, case: CaseFacts, j: int):
        self.d, self.case, self.j, self.i, self.p = d, case, j, d.i, d.p
        i = self.i
        self.given = {e: i.b[f"entry{j}:{e}"] for e in [*i.entries, UNMAPPED_ENTRY]}
        self.prefix = {e: mapped_prefix(self.p.control_map, e) for e in self.given}
        self.declared = {c: i.v[f"cat{j}"] == k for k, c in enumerate(i.categories)
                         if c in self.p.vocab["categories"]}
        self.declared_unknown = d.choice_unknown(f"cat{j}", i.categories, "categories")

    def mapped(self, prefix: str) -> z3.BoolRef:
        return z3.Or([g for e, g in self.given.items() if self.prefix[e] == prefix]
                     or [z3.BoolVal(False)])

    def by_entry(self, category: str) -> z3.BoolRef:
        return z3.Or([g for e, g in self.given.items()
                      if (p := self.prefix[e]) is not None and self.p.control_map[p] == category]
                     or [z3.BoolVal(False)])

    def cand(self, category: str) -> z3.BoolRef:
        if category not in self.p.policy.categories:
            return z3.BoolVal(False)
        return z3.Or(self.declared.get(category, z3.BoolVal(False)), self.by_entry(category))

    def item(self) -> tuple[Item, ItemDerived]:
        cats = sorted(self.p.policy.categories)
        exists = self.i.item_exists(self.j)
        classified = z3.Or([self.cand(c) for c in cats] or [z3.BoolVal(False)])
        any_mapped = z3.Or([g for e, g in self.given.items() if self.prefix[e] is not None]
                           or [z3.BoolVal(False)])
        conflict = z3.Or([z3.And(dec, any_mapped, z3.Not(self.by_entry(c)))
                          for c, dec in self.declared.items()] or [z3.BoolVal(False)])
        unmapped = z3.Or([g for e, g in self.given.items() if self.prefix[e] is None])
        views = [View(self.cand(c), ItemFacts(self, c)) for c in cats]
        views.append(View(z3.Not(classified), ItemFacts(self, None)))
        return Item(exists, views, z3.Not(classified), conflict, unmapped), self

    def kind_is(self, kind: str) -> z3.BoolRef:
        i, j = self.i, self.j
        declared = i.v[f"kind{j}"]
        tokens: dict[str | None, list[z3.BoolRef]] = {}
        for e, g in self.given.items():
            if entry_regime(e) is None:
                tokens.setdefault(_entry_kind(e), []).append(g)
        has = {t: z3.Or(gs) for t, gs in tokens.items()}
        derived = z3.And(has[kind], *[z3.Not(h) for t, h in has.items() if t != kind]) \
            if kind in has else z3.BoolVal(False)
        return z3.Or(declared == ITEM_KINDS.index(kind), z3.And(declared == -1, derived))


class ItemFacts:
    """Item-scope facts of one view (candidate category or None); case facts delegated."""

    def __init__(self, item: ItemDerived, category: str | None):
        self.it, self.c = item, category
        self.cat = self.it.p.policy.categories.get(category) if category else None

    def present(self, fact: str) -> z3.BoolRef:
        it, i, j = self.it, self.it.i, self.it.j
        if not fact.startswith("item."):
            return self.it.case.present(fact)
        if fact in ("item.category", "item.risk"):
            return z3.BoolVal(self.c is not None)
        if fact == "item.classified":
            return z3.BoolVal(True)
        if fact in ("item.groups", "item.control_entries", "item.sanctions", "item.catch_all"):
            return z3.Or([self.member(fact, v) for v in vocab_of(it.p, fact)]
                         or [z3.BoolVal(False)])
        if fact == "item.kind":
            return z3.Or([it.kind_is(k) for k in ITEM_KINDS])
        if fact == "item.value":
            return i.b[f"value{j}_p"]
        if fact == "item.quantity":
            return i.b[f"qty{j}_p"]
        if fact == "item.description":
            return i.b[f"desc{j}"]
        raise ValueError(f"fact `{fact}` has no presence encoding")

    def eq(self, fact: str, value: Any) -> z3.BoolRef:
        if not fact.startswith("item."):
            return self.it.case.eq(fact, value)
        if fact == "item.category":
            return z3.BoolVal(self.c is not None and self.c == value)
        if fact == "item.risk":
            return z3.BoolVal(self.cat is not None and self.cat.risk == value)
        if fact == "item.classified":
            return z3.BoolVal((self.c is not None) == value)
        if fact == "item.kind":
            return self.it.kind_is(value) if value in ITEM_KINDS else z3.BoolVal(False)
        raise ValueError(f"fact `{fact}` has no equality encoding")

    def member(self, fact: str, value: str) -> z3.BoolRef:
        if not fact.startswith("item."):
            return self.it.case.member(fact, value)
        if fact == "item.groups":
            return z3.BoolVal(self.cat is not None and value in self.cat.groups)
        if fact == "item.control_entries":
            return self.it.mapped(value)
        if fact == "item.catch_all":
            g = f"ground{self.it.j}:{value}"
            return self.it.i.b[g] if g in self.it.i.b else z3.BoolVal(False)
        if fact == "item.sanctions":
            r = next((r for r in self.it.d.regimes if r.id == value), None)
            return self.sanction(r) if r is not None else z3.BoolVal(False)
        raise ValueError(f"fact `{fact}` has no member encoding")

    def sanction(self, r: Any) -> z3.BoolRef:
        d, i = self.it.d, self.it.i
        if r.supply == "destination":
            linked = d.is_code("dest", r.targets)
        elif r.supply == "end_user":
            linked = d.is_code("eu", r.targets)
        else:
            linked = z3.Or([d.is_code(v, r.targets) for v in ("dest", *d.party_vars)])
        use: z3.BoolRef = z3.BoolVal(True)
        if r.end_uses or r.end_user_types:
            use = z3.Or([d.choice_eq("purpose", i.purposes, u, "end_use_purposes")
                         for u in r.end_uses] +
                        [d.choice_eq("eu_type", i.types, t, "end_user_types")
                         for t in r.end_user_types] or [z3.BoolVal(False)])
        cover: z3.BoolRef = z3.BoolVal(True)
        if r.all_listed_dual_use or r.categories or r.control_entries:
            parts = [z3.BoolVal(bool(r.all_listed_dual_use and self.c is not None)),
                     z3.BoolVal(self.c in r.categories)]
            parts += [g for e, g in self.it.given.items()
                      if any(_covers(x, e) for x in r.control_entries)]
            cover = z3.Or(parts)
        return z3.And(linked, use, cover)

    def cmp(self, fact: str, op: str, number: float) -> z3.BoolRef:
        i, j = self.it.i, self.it.j
        names = {"item.value": "value", "item.quantity": "qty"}
        if fact in names:
            n = f"{names[fact]}{j}"
            return z3.And(i.b[f"{n}_p"], cmp_real(op, z3.ToReal(i.v[n]) / 100, number))
        return self.it.case.cmp(fact, op, number)
