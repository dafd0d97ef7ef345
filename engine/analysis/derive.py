"""The facts of one compiled version as expressions of the shared case inputs.

engine/analysis/inputs.py holds the variables; here every fact of engine/facts.py is derived
from them with the version's compiled tables, as engine/cases.py normalises a case: bands,
factors and Freedom House data of the chosen destination and party countries, the
classification of each item (declared category, longest mapped prefix of each entry, the
category conflict and unmapped-entry findings), item kinds, sanctions regimes in force on
the analysis date, implicated-party matches of the end user's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import z3

from engine.analysis.encode import Item, View, World, compare, vocab_of
from engine.compiler import CompiledPolicy
from engine.facts import FACTS, NUMBER, SET
from engine.model import (
    ENTRY_KINDS,
    ITEM_KINDS,
    PAYERS,
    PAYMENT_METHODS,
    UNKNOWN_BAND,
    entry_regime,
)

if TYPE_CHECKING:
    from engine.analysis.inputs import Inputs

UNMAPPED_ENTRY = "0E999.zz"  # a well-formed entry no version maps (checked)


def _match(policy: CompiledPolicy, entry: str) -> str | None:
    """The longest mapped prefix on dot boundaries (engine/cases.py `match_entry`)."""
    parts = entry.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in policy.control_map:
            return prefix
    return None


def _entry_kind(entry: str) -> str | None:
    return ENTRY_KINDS.get(entry[1]) if len(entry) > 1 and entry[0].isdigit() else None


def _covers(listed: str, entry: str) -> bool:
    return entry == listed or entry.startswith(listed + ".")


class Derived:
    """Every fact of one version as an expression of the shared inputs."""

    def __init__(self, inputs: Inputs, policy: CompiledPolicy):
        self.i, self.p = inputs, policy
        self.day = inputs.submitted[:10]
        self.regimes = [r for r in policy.sanctions if r.in_force(self.day)]
        self.memo: dict[Any, z3.BoolRef] = {}

    # -- country choices ---------------------------------------------------------------
    def is_code(self, var: str, codes: Any) -> z3.BoolRef:
        key = (var, frozenset(codes))
        if key not in self.memo:
            idx = [k for k, c in enumerate(self.i.codes) if c in codes]
            x = self.i.v[var]
            self.memo[key] = z3.Or([x == k for k in idx]) if idx else z3.BoolVal(False)
        return self.memo[key]

    def known(self, var: str) -> z3.BoolRef:
        return self.is_code(var, self.p.destinations)

    def unknown_code(self, var: str) -> z3.BoolRef:
        """A code the version does not know (the destination's -1 is such a code)."""
        x = self.i.v[var]
        low = -1 if var == "dest" else 0
        return z3.And(x >= low, z3.Not(self.known(var)))

    def band_is(self, var: str, band: str) -> z3.BoolRef:
        codes = {c for c, d in self.p.destinations.items() if d.band == band}
        out = self.is_code(var, codes)
        if band == UNKNOWN_BAND:
            out = z3.Or(out, self.unknown_code(var))
        return out

    def has_factor(self, var: str, factor: str) -> z3.BoolRef:
        return self.is_code(var, {c for c, d in self.p.destinations.items()
                                  if factor in d.factors})

    @cached_property
    def party_vars(self) -> tuple[str, ...]:
        return ("eu", "con", "int", "pur", "prev")

    # -- per-version enum choices --------------------------------------------------------
    def choice_eq(self, var: str, values: Sequence[str], value: Any, vocab: str) -> z3.BoolRef:
        if value not in self.p.vocab.get(vocab, ()) or value not in values:
            return z3.BoolVal(False)
        return self.i.v[var] == values.index(value)

    def choice_present(self, var: str, values: Sequence[str], vocab: str) -> z3.BoolRef:
        known = self.p.vocab.get(vocab, ())
        x = self.i.v[var]
        return z3.Or([x == k for k, v in enumerate(values) if v in known] or [z3.BoolVal(False)])

    def choice_unknown(self, var: str, values: Sequence[str], vocab: str) -> z3.BoolRef:
        known = self.p.vocab.get(vocab, ())
        x = self.i.v[var]
        return z3.Or([x == k for k, v in enumerate(values) if v not in known]
                     or [z3.BoolVal(False)])

    def world(self) -> World:
        i = self.i
        case = CaseFacts(self)
        unknown = [self.unknown_code("dest")]
        unknown += [self.unknown_code(v) for v in (*self.party_vars, "route", "exp")]
        unknown += [self.choice_unknown("eu_type", i.types, "end_user_types"),
                    self.choice_unknown("purpose", i.purposes, "end_use_purposes"),
                    self.choice_unknown("role", i.roles, "intermediary_roles"),
                    self.choice_unknown("currency", i.currencies, "currencies")]
        unknown += [i.b[f"flag:{f}"] for f in i.flags if f not in self.p.vocab["red_flags"]]
        unknown += [i.b[f"assured:{a}"] for a in i.assurances
                    if a not in self.p.vocab["assurances"]]
        items = []
        for j in range(i.items):
            item = ItemDerived(self, case, j)
            unknown.append(z3.And(i.item_exists(j), item.declared_unknown))
            items.append(item.item())
        case.items = items
        return World(case, [it for it, _ in items], z3.Or(unknown),
                     z3.Not(self.known("dest")))


class CaseFacts:
    """Case-scope facts of one version (a FactView)."""

    def __init__(self, d: Derived):
        self.d, self.i, self.p = d, d.i, d.p
        self.items: list[tuple[Item, ItemDerived]] = []
        self.cache: dict[tuple[str, str, Any], z3.BoolRef] = {}

    # single-party profiles: fact prefix → input variable
    PARTY: ClassVar[dict[str, str]] = {"destination": "dest", "end_user": "eu", "purchaser": "pur",
             "previous_consignee": "prev", "payment.route": "route"}
    LISTS: ClassVar[dict[str, tuple[str, ...]]] = {
             "consignees": ("con",), "intermediaries": ("int",),
             "parties": ("eu", "con", "int", "pur", "prev")}

    def _single(self, fact: str) -> tuple[str, str] | None:
        for prefix, var in self.PARTY.items():
            if fact == prefix:
                return var, "country"
            if prefix == "payment.route" and fact.startswith("payment.route_"):
                return var, fact.split("_", 1)[1]
            if fact.startswith(prefix + "."):
                return var, fact[len(prefix) + 1:]
        if fact in ("end_user.country", "exporter.country"):
            return ("eu" if fact.startswith("end_user") else "exp"), "country"
        return None

    def present(self, fact: str) -> z3.BoolRef:
        return self._memo("present", fact, None, self._present)

    def eq(self, fact: str, value: Any) -> z3.BoolRef:
        return self._memo("eq", fact, value, self._eq)

    def member(self, fact: str, value: str) -> z3.BoolRef:
        return self._memo("member", fact, value, self._member)

    def _memo(self, kind: str, fact: str, value: Any, make: Any) -> z3.BoolRef:
        key = (kind, fact, value)
        if key not in self.cache:
            self.cache[key] = make(fact) if value is None and kind == "present" \
                else make(fact, value)
        return self.cache[key]

    def _present(self, fact: str) -> z3.BoolRef:
        d, i, b = self.d, self.i, self.i.b
        spec = FACTS[fact]
        if spec.type == SET:
            return z3.Or([self.member(fact, v) for v in vocab_of(self.p, fact)]
                         or [z3.BoolVal(False)])
        simple = {"end_user.name": b["eu_name"], "end_use.description": b["use_desc"],
                  "exporter.name": b["exp_name"], "case.order_ref": b["order_ref"],
                  "reexport.original_licence": b["licence"], "case.reexport": z3.BoolVal(True),
                  "end_user.state_owned": b["so_p"], "end_user.security_service": b["ss_p"],
                  "exporter.hrdd_policy": b["hrdd_p"],
                  "exporter.transaction_assessment": b["ta_p"],
                  "case.declared_total_value": b["declared_p"],
                  "consignees.count": z3.BoolVal(True),
                  "intermediaries.count": z3.BoolVal(True),
                  "case.item_count": z3.BoolVal(True),
                  "intermediaries.roles_stated": z3.BoolVal(True),
                  "destination.band": z3.BoolVal(True)}
        if fact in simple:
            return simple[fact]
        if fact in ("end_user.type", "end_user.government"):
            return d.choice_present("eu_type", i.types, "end_user_types")
        if fact == "end_use.purpose":
            return d.choice_present("purpose", i.purposes, "end_use_purposes")
        if fact == "payment.method":
            return i.v["method"] >= 0
        if fact in ("payment.payer", "payment.third_party"):
            return i.v["payer"] >= 0
        if fact == "payment.currency":
            return d.choice_present("currency", i.currencies, "currencies")
        if fact == "end_user.in_destination":
            return z3.And(d.known("eu"), d.known("dest"))
        if fact == "destination.freedom_status":
            return d.is_code("dest", {c for c, x in self.p.destinations.items()
                                      if x.freedom_status is not None})
        if fact == "destination.freedom_score":
            return d.is_code("dest", {c for c, x in self.p.destinations.items()
                                      if x.freedom_score is not None})
        if fact == "case.total_value":
            return z3.And([z3.Implies(i.item_exists(j), b[f"value{j}_p"])
                           for j in range(i.items)])
        if fact == "case.value_mismatch":
            return z3.And(self.present("case.total_value"), b["declared_p"])
        single = self._single(fact)
        if single is not None:
            var, part = single
            if part == "band":
                return z3.Or(d.known(var), d.unknown_code(var)) if var != "dest" \
                    else z3.BoolVal(True)
            return d.known(var)
        raise ValueError(f"fact `{fact}` has no presence encoding")

    def _eq(self, fact: str, value: Any) -> z3.BoolRef:
        d, i, b = self.d, self.i, self.i.b
        if fact == "end_user.type":
            return d.choice_eq("eu_type", i.types, value, "end_user_types")
        if fact == "end_user.government":
            types = self.p.policy.end_user_types
            want = {t for t in types if bool(types[t].extra.get("government", False)) == value}
            return z3.Or([d.choice_eq("eu_type", i.types, t, "end_user_types") for t in want]
                         or [z3.BoolVal(False)])
        if fact == "end_use.purpose":
            return d.choice_eq("purpose", i.purposes, value, "end_use_purposes")
        if fact == "payment.method":
            return i.v["method"] == PAYMENT_METHODS.index(value) if value in PAYMENT_METHODS \
                else z3.BoolVal(False)
        if fact == "payment.payer":
            return i.v["payer"] == PAYERS.index(value) if value in PAYERS else z3.BoolVal(False)
        if fact == "payment.third_party":
            third = i.v["payer"] == PAYERS.index("third_party")
            return z3.And(i.v["payer"] >= 0, third if value else z3.Not(third))
        if fact == "payment.currency":
            return d.choice_eq("currency", i.currencies, value, "currencies")
        if fact == "end_user.in_destination":
            same = i.v["eu"] == i.v["dest"]
            return z3.And(self.present(fact), same if value else z3.Not(same))
        if fact == "case.reexport":
            return b["reexport"] if value else z3.Not(b["reexport"])
        if fact == "intermediaries.roles_stated":
            stated = z3.And(i.v["int"] >= 0, d.choice_present("role", i.roles,
                                                               "intermediary_roles"))
            return stated if value else z3.Not(stated)
        if fact == "case.value_mismatch":
            differ = i.v["declared"] != self.total_cents()
            return z3.And(self.present(fact), differ if value else z3.Not(differ))
        tri = {"end_user.state_owned": "so", "end_user.security_service": "ss",
               "exporter.hrdd_policy": "hrdd", "exporter.transaction_assessment": "ta"}
        if fact in tri:
            t = tri[fact]
            return z3.And(b[f"{t}_p"], b[t] if value else z3.Not(b[t]))
        if fact == "destination.freedom_status":
            return d.is_code("dest", {c for c, x in self.p.destinations.items()
                                      if x.freedom_status == value})
        single = self._single(fact)
        if single is not None:
            var, part = single
            if part == "country" or fact == "destination":
                return d.is_code(var, {value}) if value in self.p.destinations \
                    else z3.BoolVal(False)
            if part == "band":
                return d.band_is(var, value)
        raise ValueError(f"fact `{fact}` has no equality encoding")

    def _member(self, fact: str, value: str) -> z3.BoolRef:
        d, i = self.d, self.i
        if fact == "end_user.flags":
            known = value in self.p.vocab["red_flags"] and value in i.flags
            return i.b[f"flag:{value}"] if known else z3.BoolVal(False)
        if fact == "assurances":
            known = value in self.p.vocab["assurances"] and value in i.assurances
            return i.b[f"assured:{value}"] if known else z3.BoolVal(False)
        if fact == "intermediaries.roles":
            return z3.And(i.v["int"] >= 0, d.choice_eq("role", i.roles, value,
                                                       "intermediary_roles"))
        if fact == "case.categories":
            return z3.Or([z3.And(i.item_exists(j), it.cand(value))
                          for j, (_, it) in enumerate(self.items)] or [z3.BoolVal(False)])
        if fact == "case.sanctions":
            return z3.Or([z3.And(i.item_exists(j), v.active, v.facts.member("item.sanctions",
                                                                             value))
                          for j, (item, _) in enumerate(self.items) for v in item.views]
                         or [z3.BoolVal(False)])
        if fact == "sanctions.targets":
            r = next((r for r in d.regimes if r.id == value), None)
            if r is None:
                return z3.BoolVal(False)
            return z3.Or([d.is_code(v, r.targets) for v in ("dest", *d.party_vars)])
        if fact in ("end_user.implicated", "parties.implicated"):
            return z3.Or([m for e, m in self.matches() if self.status(e) == value]
                         or [z3.BoolVal(False)])
        if fact == "implicated.parties":
            return z3.Or([m for e, m in self.matches() if e.id == value] or [z3.BoolVal(False)])
        prefix, _, part = fact.rpartition(".")
        if fact == "destination.factors" or (part == "factors" and prefix in self.PARTY):
            return d.has_factor(self.PARTY[prefix], value)
        if fact == "payment.route_factors":
            return d.has_factor("route", value)
        if prefix in self.LISTS:
            vars_ = self.LISTS[prefix]
            if part == "countries":
                return z3.Or([d.is_code(v, {value}) if value in self.p.destinations
                              else z3.BoolVal(False) for v in vars_])
            if part == "bands":
                return z3.Or([d.band_is(v, value) for v in vars_])
            if part == "factors":
                return z3.Or([d.has_factor(v, value) for v in vars_])
        raise ValueError(f"fact `{fact}` has no member encoding")

    def matches(self) -> list[tuple[Any, z3.BoolRef]]:
        """(implicated entry, the end user matches it) for the entries of this version."""
        d, i = self.d, self.i
        out = []
        for e in self.p.implicated:
            idx = [k for k, n in enumerate(i.names) if n in e.names]
            if not idx:
                continue
            named = z3.Or([i.v["eu_name_match"] == k for k in idx])
            country = z3.BoolVal(True) if e.country is None else z3.Or(
                z3.Not(d.known("eu")), d.is_code("eu", {e.country}))
            out.append((e, z3.And(named, country)))
        return out

    def status(self, entry: Any) -> str:
        return str(entry.status_on(self.d.day))

    def total_cents(self) -> z3.ArithRef:
        i = self.i
        return z3.Sum([z3.If(i.item_exists(j), i.v[f"value{j}"], 0) for j in range(i.items)])

    def cmp(self, fact: str, op: str, number: float) -> z3.BoolRef:
        d, i = self.d, self.i
        assert FACTS[fact].type == NUMBER
        if fact == "destination.freedom_score":
            return d.is_code("dest", {c for c, x in self.p.destinations.items()
                                      if x.freedom_score is not None
                                      and compare(op, x.freedom_score, number)})
        exprs = {"consignees.count": z3.If(i.v["con"] >= 0, 1, 0),
                 "intermediaries.count": z3.If(i.v["int"] >= 0, 1, 0),
                 "case.item_count": i.v["n_items"]}
        if fact in exprs:
            return _cmp(op, z3.ToReal(exprs[fact]), number)
        if fact == "case.declared_total_value":
            return z3.And(i.b["declared_p"], _cmp(op, z3.ToReal(i.v["declared"]) / 100, number))
        if fact == "case.total_value":
            return z3.And(self.present(fact), _cmp(op, z3.ToReal(self.total_cents()) / 100,
                                                   number))
        raise ValueError(f"fact `{fact}` has no comparison encoding")


def _cmp(op: str, x: z3.ArithRef, number: float) -> z3.BoolRef:
    n = z3.RealVal(repr(float(number))) if not isinstance(number, int) else z3.RealVal(number)
    return {"equals": x == n, "lt": x < n, "lte": x <= n, "gt": x > n, "gte": x >= n}[op]


class ItemDerived:
    """One item of one version: classification, item facts and its views."""

    def __init__(self, d: Derived, case: CaseFacts, j: int):
        self.d, self.case, self.j, self.i, self.p = d, case, j, d.i, d.p
        i = self.i
        self.given = {e: i.b[f"entry{j}:{e}"] for e in [*i.entries, UNMAPPED_ENTRY]}
        self.prefix = {e: _match(self.p, e) for e in self.given}
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
        if fact in ("item.groups", "item.control_entries", "item.sanctions"):
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
            return z3.And(i.b[f"{n}_p"], _cmp(op, z3.ToReal(i.v[n]) / 100, number))
        return self.it.case.cmp(fact, op, number)
