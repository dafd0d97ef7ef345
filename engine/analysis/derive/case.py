"""Case-scope facts of one version (a FactView over the shared inputs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import z3

from engine.analysis.derive.choices import Choices
from engine.analysis.encode import Item, compare, vocab_of
from engine.facts import FACTS, NUMBER, SET
from engine.model import PAYERS, PAYMENT_METHODS


class Classified(Protocol):
    """What the case facts read of an item's classification (derive/item.py `ItemDerived`)."""

    def cand(self, category: str) -> z3.BoolRef: ...


class CaseFacts:
    """Case-scope facts of one version (a FactView)."""

    def __init__(self, d: Choices):
        self.d, self.i, self.p = d, d.i, d.p
        self.items: Sequence[tuple[Item, Classified]] = ()
        self.cache: dict[tuple[str, str, Any], z3.BoolRef] = {}

    # single-party profiles: fact prefix → input variable
    PARTY: ClassVar[dict[str, str]] = {"destination": "dest", "end_user": "eu", "purchaser": "pur",
             "previous_consignee": "prev", "payment.route": "route"}

    @property
    def lists(self) -> dict[str, tuple[str, ...]]:
        """List-party fact prefix → the input variables of its parties."""
        i = self.i
        return {"consignees": i.cons, "intermediaries": i.ints, "parties": i.party_vars}

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
            want = sorted(t for t in types
                          if bool(types[t].extra.get("government", False)) == value)
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
            # there is an intermediary and every one there states a known role
            later = [z3.Implies(i.v[x] >= 0, d.choice_present(r, i.roles, "intermediary_roles"))
                     for x, r in zip(i.ints[1:], i.role_vars[1:], strict=True)]
            stated = z3.And(i.v["int"] >= 0, d.choice_present("role", i.roles,
                                                               "intermediary_roles"), *later)
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
        if fact == "case.catch_all":
            return z3.Or([z3.And(i.item_exists(j), i.b[f"ground{j}:{value}"])
                          for j in range(i.items)] if value in i.grounds else
                         [z3.BoolVal(False)])
        if fact == "end_user.flags":
            known = value in self.p.vocab["red_flags"] and value in i.flags
            return i.b[f"flag:{value}"] if known else z3.BoolVal(False)
        if fact == "assurances":
            known = value in self.p.vocab["assurances"] and value in i.assurances
            return i.b[f"assured:{value}"] if known else z3.BoolVal(False)
        if fact == "intermediaries.roles":
            return _any([z3.And(i.v[x] >= 0, d.choice_eq(r, i.roles, value,
                                                         "intermediary_roles"))
                         for x, r in zip(i.ints, i.role_vars, strict=True)])
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
        if fact == "end_user.implicated":
            return z3.Or([m for e, m in self.matches(("eu",)) if self.status(e) == value]
                         or [z3.BoolVal(False)])
        if fact == "parties.implicated":
            return z3.Or([m for e, m in self.matches() if self.status(e) == value]
                         or [z3.BoolVal(False)])
        if fact == "implicated.parties":
            return z3.Or([m for e, m in self.matches() if e.id == value] or [z3.BoolVal(False)])
        prefix, _, part = fact.rpartition(".")
        if fact == "destination.factors" or (part == "factors" and prefix in self.PARTY):
            return d.has_factor(self.PARTY[prefix], value)
        if fact == "payment.route_factors":
            return d.has_factor("route", value)
        if prefix in self.lists:
            vars_ = self.lists[prefix]
            if part == "countries":
                return z3.Or([d.is_code(v, {value}) if value in self.p.destinations
                              else z3.BoolVal(False) for v in vars_])
            if part == "bands":
                return z3.Or([d.band_is(v, value) for v in vars_])
            if part == "factors":
                return z3.Or([d.has_factor(v, value) for v in vars_])
        raise ValueError(f"fact `{fact}` has no member encoding")

    def matches(self, parties: tuple[str, ...] | None = None
                ) -> list[tuple[Any, z3.BoolRef]]:
        """(implicated entry, one of `parties` matches it; every named party by default) for
        the entries of this version: the party gives one of the entry's names, and its
        country is not known or is the entry's (engine/implicated.py
        `CompiledParty.matches`)."""
        d, i = self.d, self.i
        parties = i.party_vars if parties is None else parties
        out = []
        for e in self.p.implicated:
            idx = [k for k, n in enumerate(i.names) if n in e.names]
            if not idx:
                continue
            found = []
            for p in parties:
                named = z3.Or([i.v[f"{p}_name_match"] == k for k in idx])
                country = z3.BoolVal(True) if e.country is None else z3.Or(
                    z3.Not(d.known(p)), d.is_code(p, {e.country}))
                found.append(z3.And(named, country))
            out.append((e, z3.Or(found)))
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
        exprs = {"consignees.count": _count(i.v[x] >= 0 for x in i.cons),
                 "intermediaries.count": _count(i.v[x] >= 0 for x in i.ints),
                 "case.item_count": i.v["n_items"]}
        if fact in exprs:
            return cmp_real(op, z3.ToReal(exprs[fact]), number)
        if fact == "case.declared_total_value":
            return z3.And(i.b["declared_p"],
                          cmp_real(op, z3.ToReal(i.v["declared"]) / 100, number))
        if fact == "case.total_value":
            return z3.And(self.present(fact), cmp_real(op, z3.ToReal(self.total_cents()) / 100,
                                                   number))
        raise ValueError(f"fact `{fact}` has no comparison encoding")


def _any(parts: list[z3.BoolRef]) -> z3.BoolRef:
    """Or of `parts`; the one part itself for one (the one-party space's formula)."""
    return parts[0] if len(parts) == 1 else z3.Or(parts)


def _count(present: Any) -> z3.ArithRef:
    """How many of the parties are there; one `If` for one (as in the one-party space)."""
    terms = [z3.If(p, 1, 0) for p in present]
    return terms[0] if len(terms) == 1 else z3.Sum(terms)


def cmp_real(op: str, x: z3.ArithRef, number: float) -> z3.BoolRef:
    n = z3.RealVal(repr(float(number))) if not isinstance(number, int) else z3.RealVal(number)
    return {"equals": x == n, "lt": x < n, "lte": x <= n, "gt": x > n, "gte": x >= n}[op]
