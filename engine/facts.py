"""The fact registry: every name a condition or a message template may use.

A fact has a type (which operators apply), a scope (`case` facts are the same for every
item of a case; a rule that names an `item` fact is evaluated once per item) and, for ids,
the policy vocabulary its values come from. Normalisation (engine/cases/) produces exactly
these facts; both backends and the validator read this table, so a new fact is added here
and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

ENUM, SET, NUMBER, BOOL, STRING = "enum", "set", "number", "bool", "string"
FACT_TYPES = (ENUM, SET, NUMBER, BOOL, STRING)


@dataclass(frozen=True, slots=True)
class FactSpec:
    name: str
    type: str
    scope: str  # case | item
    vocab: str | None  # name of a policy vocabulary (see engine/model.py `Policy.vocab`)
    description: str
    # For a set collected over several entries: the bool fact `exists` is compiled to, so a
    # value counts as present only when *every* entry states it (engine/compiler.py)
    presence: str | None = None


def _f(name: str, type_: str, vocab: str | None, description: str,
       presence: str | None = None) -> FactSpec:
    scope = "item" if name.startswith("item.") else "case"
    return FactSpec(name, type_, scope, vocab, description, presence)


FACTS: dict[str, FactSpec] = {
    f.name: f
    for f in (
        _f("destination", ENUM, "destinations",
           "ISO 3166-1 alpha-2 code of the final destination"),
        _f("destination.band", ENUM, "bands",
           "risk band derived by the policy (`unknown` if unknown)"),
        _f("destination.factors", SET, "factors", "risk factors that apply to the destination"),
        _f("destination.freedom_status", ENUM, "freedom_status", "Freedom House status"),
        _f("destination.freedom_score", NUMBER, None, "Freedom House total score, 0 to 100"),
        _f("end_user.type", ENUM, "end_user_types", "type of the end user"),
        _f("end_user.government", BOOL, None,
           "the end user's type is a government body (end_user_types `government`)"),
        _f("end_user.flags", SET, "red_flags", "red flags raised about the end user"),
        _f("end_user.name", STRING, None, "name of the end user"),
        _f("end_user.in_destination", BOOL, None, "the end user is in the destination country"),
        _f("end_user.country", ENUM, "destinations", "country of the end user"),
        _f("end_user.band", ENUM, "bands",
           "risk band of the end user's country (`unknown` if the country is unknown)"),
        _f("end_user.factors", SET, "factors", "risk factors of the end user's country"),
        _f("end_user.state_owned", BOOL, None,
           "the end user is owned or controlled by the state (as declared)"),
        _f("end_user.security_service", BOOL, None,
           "the end user is, or answers to, a security, intelligence or police service"),
        _f("consignees.count", NUMBER, None, "number of consignees (0 when none)"),
        _f("consignees.countries", SET, "destinations", "countries of the consignees"),
        _f("consignees.bands", SET, "bands", "risk bands of the consignees' countries"),
        _f("consignees.factors", SET, "factors", "risk factors of the consignees' countries"),
        _f("purchaser.country", ENUM, "destinations", "country of the purchaser (payer)"),
        _f("purchaser.band", ENUM, "bands", "risk band of the purchaser's country"),
        _f("purchaser.factors", SET, "factors", "risk factors of the purchaser's country"),
        _f("parties.countries", SET, "destinations",
           "countries of every foreign party: end user, consignees, intermediaries, purchaser"),
        _f("parties.bands", SET, "bands", "risk bands of the foreign parties' countries"),
        _f("parties.factors", SET, "factors", "risk factors of the foreign parties' countries"),
        _f("end_use.purpose", ENUM, "end_use_purposes", "declared purpose of the end use"),
        _f("end_use.description", STRING, None, "description of the end use"),
        _f("intermediaries.count", NUMBER, None, "number of intermediaries (0 when none)"),
        _f("intermediaries.roles", SET, "intermediary_roles",
           "roles of the intermediaries (for `exists`: present only when every intermediary "
           "states a known role)", presence="intermediaries.roles_stated"),
        _f("intermediaries.roles_stated", BOOL, None,
           "there are intermediaries and every one of them states a known role"),
        _f("intermediaries.bands", SET, "bands", "risk bands of the intermediaries' countries"),
        _f("intermediaries.countries", SET, "destinations", "countries of the intermediaries"),
        _f("intermediaries.factors", SET, "factors",
           "risk factors of the intermediaries' countries"),
        _f("assurances", SET, "assurances", "assurances provided with the application"),
        _f("exporter.name", STRING, None, "name of the exporter"),
        _f("exporter.country", ENUM, "destinations", "country of the exporter"),
        _f("exporter.hrdd_policy", BOOL, None,
           "the exporter has a human-rights due diligence policy"),
        _f("exporter.transaction_assessment", BOOL, None,
           "the exporter assessed this transaction for human-rights risk"),
        _f("case.item_count", NUMBER, None, "number of items in the case"),
        _f("case.total_value", NUMBER, None, "sum of item values (missing if one is missing)"),
        _f("case.categories", SET, "categories", "categories of the classified items of the case"),
        # application facts (case contract 2)
        _f("case.declared_total_value", NUMBER, None,
           "total value the applicant declares for the case"),
        _f("case.value_mismatch", BOOL, None,
           "the declared total differs from the sum of the item values (missing unless both "
           "are known)"),
        _f("case.order_ref", STRING, None,
           "the applicant's order reference (several cases may share one)"),
        _f("case.reexport", BOOL, None,
           "the application is a re-export or retransfer (always present)"),
        _f("reexport.original_licence", STRING, None,
           "reference of the licence the items were first exported under"),
        _f("previous_consignee.country", ENUM, "destinations",
           "country of the consignee of the original export (re-exports)"),
        _f("previous_consignee.band", ENUM, "bands",
           "risk band of the previous consignee's country"),
        _f("previous_consignee.factors", SET, "factors",
           "risk factors of the previous consignee's country"),
        _f("payment.method", ENUM, "payment_methods",
           "bank_transfer, letter_of_credit, cash, crypto or other"),
        _f("payment.payer", ENUM, "payers",
           "who pays: end_user, consignee, purchaser, intermediary or third_party"),
        _f("payment.third_party", BOOL, None,
           "the payer is a third party the case does not name (missing if the payer is)"),
        _f("payment.currency", ENUM, "currencies", "ISO 4217 code of the payment currency"),
        _f("payment.route_country", ENUM, "destinations",
           "country the payment comes from or passes through"),
        _f("payment.route_band", ENUM, "bands",
           "risk band of the payment's route country (`unknown` if the country is unknown)"),
        _f("payment.route_factors", SET, "factors",
           "risk factors of the payment's route country"),
        _f("item.category", ENUM, "categories", "category of the item (missing if unclassified)"),
        _f("item.classified", BOOL, None, "the item could be classified"),
        _f("item.groups", SET, "groups", "groups of the item's category"),
        _f("item.risk", ENUM, "risk_levels", "inherent risk level of the item's category"),
        _f("item.control_entries", SET, "control_entries", "control-list entries of the item"),
        _f("item.kind", ENUM, "item_kinds",
           "good, software, technology or service: as declared, else from the product group "
           "of the control entries when they agree (D software, E technology, A-C good)"),
        _f("item.catch_all", SET, "catch_all_grounds",
           "catch-all grounds the item is declared subject to (data/catch_all/grounds.csv: "
           "EU 2021/821 Art. 4, Art. 5, Art. 9); any of them makes the decision at least "
           "refer (built-in `catch-all-ground`)"),
        _f("case.catch_all", SET, "catch_all_grounds",
           "union of `item.catch_all` over every item"),
        _f("item.value", NUMBER, None, "value of the item"),
        _f("item.quantity", NUMBER, None, "quantity of the item"),
        _f("item.description", STRING, None, "description of the item"),
        # sanctions and restrictive measures (sanctions.yaml, engine/sanctions.py)
        _f("item.sanctions", SET, "sanctions",
           "regimes in force on `submitted` that cover this item (view) and its end use, "
           "linked by their `supply` to the destination or a party"),
        _f("case.sanctions", SET, "sanctions", "union of `item.sanctions` over every item"),
        _f("sanctions.targets", SET, "sanctions",
           "regimes in force whose targets include the destination or any party's country, "
           "whatever the item"),
        # end users credibly implicated in misuse (implicated_parties.yaml, engine/implicated.py)
        _f("end_user.implicated", SET, "implicated_statuses",
           "designated, attributed or delisted: the statuses of the implicated-party entries "
           "the end user matches (name or alias, and country when both give one)"),
        _f("parties.implicated", SET, "implicated_statuses",
           "the statuses of the implicated-party entries any foreign party matches"),
        _f("implicated.parties", SET, "implicated_parties",
           "ids of the implicated-party entries some foreign party matches"),
        # screening against the registers (--registers DIR, engine/registers/)
        _f("end_user.screening", SET, "screening_kinds",
           "restricted, implicated, denied or near_match: the kinds of register entries the "
           "end user matches (empty without registers)"),
        _f("parties.screening", SET, "screening_kinds",
           "the kinds of register entries any foreign party matches"),
        _f("screening.notices", SET, None,
           "ids of the active denial notices a foreign party matches"),
    )
}

# Names a message template may use besides the facts themselves.
TEMPLATE_EXTRAS: dict[str, str] = {
    "destination.name": "name of the destination country",
    "category": "title of the item's category",
    "items": "ids of the items the finding concerns",
    "rule.id": "id of the rule",
    "rule.title": "title of the rule",
    "sanctions": "regimes that apply (`item.sanctions` of the item, `case.sanctions` for a "
                 "case rule) as `id (title; legal act)`",
    "implicated": "the parties that match implicated-party entries, as `the end user NAME "
                  "(designated: DESIGNATION; CONFIDENCE)`, joined with `; `",
}

# Facts a destination risk-band rule may test.
BAND_FACTS = ("destination.factors", "destination.freedom_status", "destination.freedom_score")


def is_item_fact(name: str) -> bool:
    spec = FACTS.get(name)
    return spec is not None and spec.scope == "item"
