"""The bounded case space as z3 variables, the facts each version derives from it, and the
witness case a model stands for.

The variables are *case inputs*, shared by every version analysed together (vocabularies
are the union of the versions'), so one assignment is one case decided under each version:
the destination is a choice among the destination-table codes (or an unknown code), each
party's country a choice among them (or absent), ids are choices over their vocabulary
(or absent), sets are one Bool per member, free text one presence Bool, numbers integer
cents with a presence Bool (0 ≤ x < 1e15, exactly what normalisation keeps: two decimals).
Per version, every fact is an expression of these inputs computed from the compiled tables
(bands, factors, Freedom House data, control map, categories, sanctions regimes, implicated
parties), so a destination's band and factors move with it.

Bounds (see README "Proofs"): 1..k items (k = `items`), each with a declared category or
none, any subset of the mapped control entries of the versions plus one unmapped entry; at
most k consignees and k intermediaries (k = `parties`, default 1), a purchaser and a
previous consignee, each with a known country (and each intermediary a role or none);
every named party's name may be one of the implicated-party names; the case is
submitted on one fixed date (sanctions in force are those of that day). Each item may declare
any set of the contract's catch-all grounds (data/catch_all/grounds.csv).

Consignee j and intermediary j (0-based) are the variables `con`, `int`, `role` for j = 0,
and `con<j>`, `int<j>`, `role<j>` after; party j is there only if party j-1 is, and their
countries are in table order (`con<j-1>` ≤ `con<j>`): every fact of engine/cases/ is the
same for any order of the parties of a list (counts, set unions, a match of any party), so
these constraints only remove permutations of the same case. With k = 1 the variables and
constraints are exactly those of the one-party space.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from engine.analysis.space import NAMED, UNMAPPED_ENTRY
from engine.compiler import CompiledPolicy
from engine.implicated import normalise_name
from engine.model import ITEM_KINDS, PAYERS, PAYMENT_METHODS, mapped_prefix

MAX_CENTS = 10**17  # 1e15 in cents: the contract bound
UNKNOWN_CODE = "ZZ"  # a well-formed code no version knows (checked)
GENERIC = {"end_user": "Analysis End User Ltd", "consignee": "Analysis Consignee Ltd",
           "intermediary": "Analysis Intermediary Ltd", "purchaser": "Analysis Purchaser Ltd",
           "previous_consignee": "Analysis Previous Consignee Ltd"}
PARTIES = ("eu", "con", "int", "pur", "prev", "route", "exp")


@dataclass
class Inputs:
    """The variables of the bounded case space for a set of versions."""

    versions: Sequence[CompiledPolicy]
    items: int = 2
    submitted: str = "2026-01-01"
    parties: int = 1  # at most this many consignees and intermediaries
    constraints: list[z3.BoolRef] = field(default_factory=list)

    def __post_init__(self) -> None:
        vs = self.versions
        union = lambda key: sorted(set().union(*(p.vocab.get(key, ()) for p in vs)))  # noqa: E731
        self.codes = sorted(set().union(*(p.destinations for p in vs)))
        self.types, self.flags = union("end_user_types"), union("red_flags")
        self.purposes, self.roles = union("end_use_purposes"), union("intermediary_roles")
        self.assurances, self.categories = union("assurances"), union("categories")
        self.currencies = union("currencies")
        self.grounds = union("catch_all_grounds")  # the contract's table: every version's
        self.entries = sorted(set().union(*(p.control_map for p in vs)))
        self.names = sorted({normalise_name(e.name) for p in vs for e in p.implicated})
        for p in vs:
            assert UNKNOWN_CODE not in p.destinations
            assert mapped_prefix(p.control_map, UNMAPPED_ENTRY) is None
        assert self.parties >= 1
        extra = range(1, self.parties)
        self.cons = ("con", *(f"con{j}" for j in extra))  # consignee j's country
        self.ints = ("int", *(f"int{j}" for j in extra))  # intermediary j's country
        self.role_vars = ("role", *(f"role{j}" for j in extra))  # intermediary j's role
        # every named party: variable → role (engine/cases/normalizer.py `profiles`, in that order)
        self.named = {"eu": NAMED["eu"], **{x: NAMED["con"] for x in self.cons},
                      **{x: NAMED["int"] for x in self.ints}, "pur": NAMED["pur"],
                      "prev": NAMED["prev"]}
        self.party_vars = tuple(self.named)
        c = self.constraints
        self.v: dict[str, z3.ArithRef] = {}
        self.b: dict[str, z3.BoolRef] = {}
        n = len(self.codes)
        self.int_("dest", -1, n - 1)
        for party in (*PARTIES[:-2], "route", "exp"):
            self.int_(party, -1, n - 1)
        self.int_("eu_type", -1, len(self.types) - 1)
        self.int_("purpose", -1, len(self.purposes) - 1)
        self.int_("role", -1, len(self.roles) - 1)
        self.int_("method", -1, len(PAYMENT_METHODS) - 1)
        self.int_("payer", -1, len(PAYERS) - 1)
        self.int_("currency", -1, len(self.currencies) - 1)
        for who in NAMED:  # which implicated-party name a named party gives, if any
            self.int_(f"{who}_name_match", -1, len(self.names) - 1)
        self.int_("n_items", 1, self.items)
        for name in ("eu_name", "use_desc", "exp_name", "order_ref", "reexport", "licence",
                     "declared_p", "so_p", "so", "ss_p", "ss", "hrdd_p", "hrdd", "ta_p", "ta"):
            self.b[name] = z3.Bool(name)
        self.cents("declared")
        for f in self.flags:
            self.b[f"flag:{f}"] = z3.Bool(f"flag:{f}")
        for a in self.assurances:
            self.b[f"assured:{a}"] = z3.Bool(f"assured:{a}")
        for j in range(self.items):
            self.int_(f"cat{j}", -1, len(self.categories) - 1)
            self.int_(f"kind{j}", -1, len(ITEM_KINDS) - 1)
            for e in [*self.entries, UNMAPPED_ENTRY]:
                self.b[f"entry{j}:{e}"] = z3.Bool(f"entry{j}:{e}")
            for name in ("value", "qty"):
                self.b[f"{name}{j}_p"] = z3.Bool(f"{name}{j}_p")
                self.cents(f"{name}{j}")
            self.b[f"desc{j}"] = z3.Bool(f"desc{j}")
            for g in self.grounds:
                self.b[f"ground{j}:{g}"] = z3.Bool(f"ground{j}:{g}")
        # structure of a case: the previous consignee and licence only on a re-export, a
        # matching end-user name is a given name, the role only with an intermediary
        c.append(z3.Implies(self.v["prev"] >= 0, self.b["reexport"]))
        c.append(z3.Implies(self.b["licence"], self.b["reexport"]))
        c.append(z3.Implies(self.v["eu_name_match"] >= 0, self.b["eu_name"]))
        for who in ("con", "int", "pur", "prev"):  # only a party that is there has a name
            c.append(z3.Implies(self.v[f"{who}_name_match"] >= 0, self.v[who] >= 0))
        c.append(z3.Implies(self.v["int"] < 0, self.v["role"] == -1))
        for t in ("so", "ss", "hrdd", "ta"):
            c.append(z3.Implies(z3.Not(self.b[f"{t}_p"]), z3.Not(self.b[t])))
        for j in extra:
            self._more_parties(j)

    def _more_parties(self, j: int) -> None:
        """Consignee j and intermediary j (j ≥ 1): variables and symmetry breaking."""
        c, n = self.constraints, len(self.codes)
        for lst in (self.cons, self.ints):
            self.int_(lst[j], -1, n - 1)
        self.int_(self.role_vars[j], -1, len(self.roles) - 1)
        for who in (self.cons[j], self.ints[j]):
            self.int_(f"{who}_name_match", -1, len(self.names) - 1)
            c.append(z3.Implies(self.v[f"{who}_name_match"] >= 0, self.v[who] >= 0))
        for lst in (self.cons, self.ints):
            now, before = self.v[lst[j]], self.v[lst[j - 1]]
            c.append(z3.Implies(now >= 0, z3.And(before >= 0, before <= now)))
        c.append(z3.Implies(self.v[self.ints[j]] < 0, self.v[self.role_vars[j]] == -1))

    def int_(self, name: str, lo: int, hi: int) -> None:
        x = z3.Int(name)
        self.v[name] = x
        self.constraints.append(z3.And(x >= lo, x <= hi))

    def cents(self, name: str) -> None:
        x = z3.Int(f"{name}_cents")
        self.v[name] = x
        self.constraints.append(z3.And(x >= 0, x < MAX_CENTS))

    def simpler(self) -> list[z3.BoolRef]:
        """Literals of a plain case, tried one by one to make a witness easy to read."""
        v, b = self.v, self.b
        out = [v["dest"] >= 0, v["n_items"] == 1]
        out += [v[p] == -1 for p in (*self.cons, *self.ints, "pur", "prev", "route")]
        out += [z3.Not(b["reexport"]), v["method"] == -1, v["payer"] == -1,
                v["currency"] == -1, z3.Not(b["declared_p"]), z3.Not(b["order_ref"]),
                *[v[f"{who}_name_match"] == -1 for who in self.named]]
        out += [z3.Not(b[f"flag:{f}"]) for f in self.flags]
        for j in range(self.items):
            out += [z3.Not(b[f"entry{j}:{e}"]) for e in [*self.entries, UNMAPPED_ENTRY]]
            out += [v[f"kind{j}"] == -1, z3.Not(b[f"qty{j}_p"])]
            out += [z3.Not(b[f"ground{j}:{g}"]) for g in self.grounds]
        out += [v["eu"] == v["dest"], v["exp"] == -1, v["eu_type"] >= 0, v["purpose"] >= 0]
        out += [b[n] for n in ("eu_name", "use_desc", "exp_name", "hrdd_p", "hrdd", "ta_p",
                               "ta")]
        out += [b[f"value{j}_p"] for j in range(self.items)]
        return out

    def item_exists(self, j: int) -> z3.BoolRef:
        return self.v["n_items"] > j

    # -- a model → the witness case -------------------------------------------------

    def witness(self, model: z3.ModelRef, case_id: str = "ANALYSIS-1") -> dict[str, Any]:
        """The contract case a model of the inputs stands for."""
        ev = lambda x: model.eval(x, model_completion=True)  # noqa: E731
        iv = lambda name: ev(self.v[name]).as_long()  # noqa: E731
        bv = lambda name: z3.is_true(ev(self.b[name]))  # noqa: E731

        def code(name: str) -> str | None:
            i = iv(name)
            return self.codes[i] if i >= 0 else None

        def tri(name: str) -> bool | None:
            return bv(name) if bv(f"{name}_p") else None

        dest = iv("dest")
        case: dict[str, Any] = {"case_id": case_id, "submitted": self.submitted,
                                "destination": self.codes[dest] if dest >= 0 else UNKNOWN_CODE}
        eu: dict[str, Any] = {}
        match = iv("eu_name_match")
        if bv("eu_name"):
            eu["name"] = self.names[match] if match >= 0 else GENERIC["end_user"]
        if code("eu"):
            eu["country"] = code("eu")
        if iv("eu_type") >= 0:
            eu["type"] = self.types[iv("eu_type")]
        flags = [f for f in self.flags if bv(f"flag:{f}")]
        if flags:
            eu["flags"] = flags
        for key, name in (("state_owned", "so"), ("security_service", "ss")):
            if tri(name) is not None:
                eu[key] = tri(name)
        case["end_user"] = eu
        use: dict[str, Any] = {}
        if iv("purpose") >= 0:
            use["purpose"] = self.purposes[iv("purpose")]
        if bv("use_desc"):
            use["description"] = "Analysis end use"
        case["end_use"] = use

        def party_name(who: str, j: int = 0) -> str:
            k = iv(f"{who}_name_match")
            generic = GENERIC[self.named[who]]
            return self.names[k] if k >= 0 else generic if j == 0 else \
                generic.replace(" Ltd", f" {j + 1} Ltd")

        consignees = [{"name": party_name(x, j), "country": code(x)}
                      for j, x in enumerate(self.cons) if code(x)]
        if consignees:
            case["consignees"] = consignees
        intermediaries = []
        for j, (x, role) in enumerate(zip(self.ints, self.role_vars, strict=True)):
            if code(x):
                inter: dict[str, Any] = {"name": party_name(x, j), "country": code(x)}
                if iv(role) >= 0:
                    inter["role"] = self.roles[iv(role)]
                intermediaries.append(inter)
        if intermediaries:
            case["intermediaries"] = intermediaries
        if code("pur"):
            case["purchaser"] = {"name": party_name("pur"), "country": code("pur")}
        if bv("reexport"):
            re: dict[str, Any] = {}
            if bv("licence"):
                re["original_licence"] = "LIC-ANALYSIS-1"
            if code("prev"):
                re["previous_consignee"] = {"name": party_name("prev"),
                                            "country": code("prev")}
            case["reexport"] = re
        pay: dict[str, Any] = {}
        if iv("method") >= 0:
            pay["method"] = PAYMENT_METHODS[iv("method")]
        if iv("payer") >= 0:
            pay["payer"] = PAYERS[iv("payer")]
        if iv("currency") >= 0:
            pay["currency"] = self.currencies[iv("currency")]
        if code("route"):
            pay["route_country"] = code("route")
        if pay:
            case["payment"] = pay
        if bv("declared_p"):
            case["declared_total_value"] = _amount(iv("declared"))
        if bv("order_ref"):
            case["order_ref"] = "PO-ANALYSIS-1"
        exporter: dict[str, Any] = {}
        if bv("exp_name"):
            exporter["name"] = "Analysis Exporter GmbH"
        if code("exp"):
            exporter["country"] = code("exp")
        dd = {k: tri(n) for k, n in (("hrdd_policy", "hrdd"), ("transaction_assessment", "ta"))
              if tri(n) is not None}
        if dd:
            exporter["due_diligence"] = dd
        case["exporter"] = exporter
        case["assurances"] = [a for a in self.assurances if bv(f"assured:{a}")]
        case["items"] = [self._item(j, iv, bv) for j in range(iv("n_items"))]
        return case

    def _item(self, j: int, iv: Any, bv: Any) -> dict[str, Any]:
        item: dict[str, Any] = {"id": f"item-{j + 1}"}
        if iv(f"cat{j}") >= 0:
            item["category"] = self.categories[iv(f"cat{j}")]
        entries = [e for e in [*self.entries, UNMAPPED_ENTRY] if bv(f"entry{j}:{e}")]
        if entries:
            item["control_entries"] = entries
        if iv(f"kind{j}") >= 0:
            item["kind"] = ITEM_KINDS[iv(f"kind{j}")]
        if bv(f"value{j}_p"):
            item["value"] = _amount(iv(f"value{j}"))
        if bv(f"qty{j}_p"):
            item["quantity"] = _amount(iv(f"qty{j}"))
        if bv(f"desc{j}"):
            item["description"] = f"Analysis item {j + 1}"
        grounds = [g for g in self.grounds if bv(f"ground{j}:{g}")]
        if grounds:
            item["catch_all"] = grounds
        return item

    def declares_ground(self, j: int) -> z3.BoolRef:
        """Item j exists and declares a catch-all ground (the `catch-all-ground` finding)."""
        return z3.And(self.item_exists(j),
                      z3.Or([self.b[f"ground{j}:{g}"] for g in self.grounds] or
                            [z3.BoolVal(False)]))


def _amount(cents: int) -> int | float:
    return cents // 100 if cents % 100 == 0 else cents / 100
