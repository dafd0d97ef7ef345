"""End users credibly implicated in misuse as data (implicated_parties.yaml,
engine/implicated.py): matching every foreign party by name or alias and country, the facts
`end_user.implicated`, `parties.implicated` and `implicated.parties` on both backends, the
`{implicated}` placeholder, validation, and versions without the file left as they were."""

from __future__ import annotations

import random
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from engine.api import PolicyStore, evaluate_with
from engine.backends.durable import DurableBackend
from engine.backends.python import PythonBackend
from engine.cases import check_case, normalize
from engine.compiler import CompiledPolicy, compile_policy
from engine.diff.elements import KINDS_BY_NAME, extract
from engine.diff.structural import diff_elements
from engine.generator import generate_cases
from engine.implicated import normalise_name
from engine.messages import render_message
from engine.model import build_policy
from engine.repository import file_checksums, load_version_source, read_checksums
from tests._factories import make_rule, random_rules, with_rules
from tests.support import BASE, RULES, baseline_case, case, validate_written, write_version

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {"sources": [*BASE["sources.yaml"]["sources"],
                       {"id": "ngo-report", "title": "NGO report on Misuseland",
                        "confidence": "V"}]}
PARTIES: list[dict[str, Any]] = [
    {"id": "hikvision", "name": "Hangzhou Hikvision Digital Technology Co., Ltd.",
     "aliases": ["Hikvision"], "country": "XB", "kind": "company", "status": "designated",
     "designation": "US Entity List 2019-10-09", "finding": "enabling repression",
     "sources": [{"source": "src", "pinpoint": "84 FR 54002"}], "confidence": "V"},
    {"id": "misuseland-intelligence", "name": "Misuseland Intelligence Service",
     "aliases": ["MIS", "Service de renseignement de Misuseland"], "country": "XB",
     "kind": "government_agency", "status": "attributed",
     "finding": "used spyware against journalists",
     "sources": [{"source": "ngo-report", "pinpoint": "p. 4"}, {"source": "src"}],
     "confidence": "R"},
    {"id": "packet-inspector", "name": "Packet Inspector Inc.", "country": "BR",
     "kind": "company", "status": "designated", "designation": "US Entity List 2024-02-27",
     "removed": "2026-02-01", "finding": "deep packet inspection for censorship",
     "sources": [{"source": "src"}], "confidence": "V"},
    {"id": "roaming-vendor", "name": "Roaming Spyware Vendor S.A.", "kind": "company",
     "status": "designated", "designation": "OFAC SDN 2024-03-05",
     "finding": "spyware used against officials", "sources": [{"source": "src"}],
     "confidence": "S"},
]


def _rule(rule_id: str, when: dict[str, Any], outcome: str, message: str) -> dict[str, Any]:
    return {"id": rule_id, "title": rule_id, "description": "d", "commitments": ["coc-1"],
            "basis": [{"source": "src"}], "when": when, "outcome": outcome,
            "message": message}


IMPLICATED_RULES = [
    _rule("deny-designated-end-user",
          {"fact": "end_user.implicated", "contains": "designated"}, "deny", "{implicated}"),
    _rule("refer-implicated-party",
          {"fact": "parties.implicated", "contains_any": ["designated", "attributed",
                                                          "delisted"]},
          "refer", "implicated: {implicated}"),
    _rule("refer-misuseland-intelligence",
          {"fact": "implicated.parties", "contains": "misuseland-intelligence"}, "refer",
          "named {implicated.parties}"),
    _rule("deny-surveillance-for-attributed",
          {"all": [{"fact": "item.groups", "contains": "cyber_surveillance"},
                   {"fact": "parties.implicated", "contains": "attributed"}]},
          "deny", "{category} for {implicated}"),
    _rule("refer-delisted-end-user",
          {"fact": "end_user.implicated", "contains": "delisted"}, "refer", "{implicated}"),
]
FIRED = {r["id"] for r in IMPLICATED_RULES}


def files(parties: list[dict[str, Any]]) -> dict[str, Any]:
    return {"sources.yaml": SOURCES, "implicated_parties.yaml": {"parties": parties}}


@cache
def policy() -> CompiledPolicy:
    root = Path(tempfile.mkdtemp(prefix="echri-implicated-"))
    path = write_version(root, files(PARTIES), RULES + IMPLICATED_RULES)
    return compile_policy(build_policy(load_version_source(path)))


@cache
def plain() -> CompiledPolicy:
    """The same version without implicated_parties.yaml."""
    root = Path(tempfile.mkdtemp(prefix="echri-implicated-plain-"))
    path = write_version(root, {"sources.yaml": SOURCES}, RULES + IMPLICATED_RULES)
    return compile_policy(build_policy(load_version_source(path)))


def norm(compiled: CompiledPolicy | None = None, **changes: Any) -> Any:
    data = case(**changes)
    check_case(data)
    return normalize(data, compiled or policy())


def user(name: str | None, country: str | None = "XB") -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "type": "private_company", "flags": []}
    if country is not None:
        out["country"] = country
    return out


def implicated(n: Any) -> tuple[Any, Any, Any]:
    f = n.facts
    return f["end_user.implicated"], f["parties.implicated"], f["implicated.parties"]


# --- matching -----------------------------------------------------------------------------

def test_normalise_name() -> None:
    assert normalise_name("Hangzhou Hikvision Digital Technology Co., Ltd.") == \
        "hangzhou hikvision digital technology co ltd"
    assert normalise_name("  ＮＳＯ   Group—Technologies_Ltd ") == "nso group technologies ltd"
    assert normalise_name("STRASSE") == normalise_name("straße")
    assert normalise_name("--- ...") == ""


@pytest.mark.parametrize("name", [
    "Hikvision", "HIKVISION", "hangzhou hikvision digital technology co ltd",
    "Hangzhou  Hikvision-Digital Technology Co Ltd", "Ｈｉｋｖｉｓｉｏｎ",
    "Hangzhou Hikvision Digital Technology Co., Ltd.",
])
def test_name_alias_case_and_punctuation_match(name: str) -> None:
    n = norm(end_user=user(name))
    assert implicated(n) == ({"designated"}, {"designated"}, {"hikvision"})


@pytest.mark.parametrize("name", ["Hikvisio", "Hikvision Europe", "Hik vision", "", "  ",
                                  None])
def test_near_miss_names_do_not_match(name: str | None) -> None:
    assert implicated(norm(end_user=user(name))) == (frozenset(), frozenset(), frozenset())


def test_a_name_match_in_another_stated_country_does_not_match() -> None:
    assert implicated(norm(end_user=user("Hikvision", "NO"))) == \
        (frozenset(), frozenset(), frozenset())


def test_a_party_without_a_country_matches_on_its_name() -> None:
    n = norm(end_user=user("Hikvision", None))
    assert implicated(n) == ({"designated"}, {"designated"}, {"hikvision"})


def test_an_unknown_country_counts_as_not_given() -> None:
    # fail closed: a misspelt code must not hide a listed party (and is an unknown id)
    n = norm(end_user=user("Hikvision", "QQ"))
    assert n.facts["implicated.parties"] == {"hikvision"}
    assert ("end_user.country", "QQ") in {(u.field, u.value) for u in n.unknown}


def test_an_entry_without_a_country_matches_a_party_anywhere() -> None:
    n = norm(end_user=user("roaming spyware vendor s a", "NO"))
    assert implicated(n) == ({"designated"}, {"designated"}, {"roaming-vendor"})
    # `S.A.` is two words to the normalisation: `SA` is another name (an alias would say so)
    assert norm(end_user=user("Roaming Spyware Vendor SA", "NO")).implicated == ()


def test_removed_entry_matches_as_delisted_from_its_removal_date() -> None:
    before = norm(end_user=user("Packet Inspector Inc", "BR"), submitted="2026-01-31")
    assert implicated(before) == ({"designated"}, {"designated"}, {"packet-inspector"})
    on = norm(end_user=user("Packet Inspector Inc", "BR"), submitted="2026-02-01")
    assert implicated(on) == ({"delisted"}, {"delisted"}, {"packet-inspector"})
    store = PolicyStore({"demo": {"2026.1": policy()}})
    data = case(end_user=user("Packet Inspector Inc", "BR"), submitted="2026-02-01")
    decision = store.evaluate(data, policy_version="2026.1", self_check=True)
    assert decision.decision == "refer"
    assert {"refer-delisted-end-user", "refer-implicated-party"} <= set(decision.rules)
    assert "deny-designated-end-user" not in decision.rules


ROLES = {
    "end_user": lambda party: {"end_user": {**party, "type": "private_company"}},
    "consignee": lambda party: {"consignees": [{"name": "Other Ltd", "country": "NO"},
                                               party]},
    "intermediary": lambda party: {"intermediaries": [{**party, "role": "distributor"}]},
    "purchaser": lambda party: {"purchaser": party},
    "previous_consignee": lambda party: {"reexport": {"original_licence": "L-1",
                                                      "previous_consignee": party}},
}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_foreign_party_is_matched(role: str) -> None:
    n = norm(**ROLES[role]({"name": "Mis.", "country": "XB"}))
    assert n.facts["parties.implicated"] == {"attributed"}
    assert n.facts["implicated.parties"] == {"misuseland-intelligence"}
    assert n.facts["end_user.implicated"] == ({"attributed"} if role == "end_user"
                                              else frozenset())
    assert [(m.role, m.party, m.status) for m in n.implicated] == \
        [(role, "misuseland-intelligence", "attributed")]


def test_the_exporter_and_the_payment_route_are_not_parties() -> None:
    n = norm(exporter={"name": "Hikvision", "country": "XB"},
             payment={"method": "bank_transfer", "route_country": "XB"})
    assert implicated(n) == (frozenset(), frozenset(), frozenset())


def test_several_parties_and_item_views_see_the_facts() -> None:
    n = norm(end_user=user("Hikvision"), consignees=[{"name": "MIS", "country": "XB"}],
             items=[{"id": "i1", "control_entries": ["5A001.j"], "value": 1, "quantity": 1}])
    assert implicated(n) == ({"designated"}, {"designated", "attributed"},
                             {"hikvision", "misuseland-intelligence"})
    for view in n.views:
        assert view.facts["parties.implicated"] == {"designated", "attributed"}
        assert view.facts["implicated.parties"] == {"hikvision", "misuseland-intelligence"}


def test_facts_are_empty_sets_never_missing() -> None:
    for compiled in (policy(), plain()):
        n = norm(compiled)
        assert implicated(n) == (frozenset(), frozenset(), frozenset())
        assert implicated(n.views[0]) == (frozenset(), frozenset(), frozenset())
    n = norm(plain(), end_user=user("Hikvision"))
    assert implicated(n) == (frozenset(), frozenset(), frozenset()) and n.implicated == ()


# --- messages -----------------------------------------------------------------------------

def test_the_message_names_each_party_status_basis_and_confidence() -> None:
    store = PolicyStore({"demo": {"2026.1": policy()}})
    data = case(end_user=user("Hikvision"),
                consignees=[{"name": "Misuseland Intelligence Service", "country": "XB"}],
                items=[{"id": "i1", "control_entries": ["5A001.j"], "value": 1,
                        "quantity": 1}])
    decision = store.evaluate(data, policy_version="2026.1", self_check=True)
    assert decision.decision == "deny" and decision.backend == "durable+python"
    messages = {f.rule: f.message for f in decision.findings}
    both = ("the end user Hangzhou Hikvision Digital Technology Co., Ltd. (designated: "
            "US Entity List 2019-10-09; V); a consignee Misuseland Intelligence Service "
            "(attributed: NGO report on Misuseland; R)")
    assert messages["deny-designated-end-user"] == both
    assert messages["refer-implicated-party"] == "implicated: " + both
    assert messages["refer-misuseland-intelligence"] == \
        "named hikvision, misuseland-intelligence"
    assert messages["deny-surveillance-for-attributed"] == "Network surveillance for " + both


def test_the_message_of_a_delisted_entry_and_of_no_match() -> None:
    n = norm(end_user=user("PACKET INSPECTOR INC.", None), submitted="2026-06-01")
    rule = make_rule("r", {"fact": "case.item_count", "gte": 1}, message="{implicated}")
    assert render_message(rule.message, policy(), rule, n, n.views) == \
        "the end user Packet Inspector Inc. (delisted: US Entity List 2024-02-27; V)"
    empty = norm()
    assert render_message(rule.message, policy(), rule, empty, empty.views) == "none"


# --- both backends ------------------------------------------------------------------------

def _cases() -> list[dict[str, Any]]:
    rng = random.Random(5)
    out = list(generate_cases(policy(), 300, seed=3))
    names = ["Hikvision", "MIS", "Packet Inspector Inc", "Roaming Spyware Vendor S.A",
             "Firm AS"]
    countries = ["NO", "BR", "XB", None]
    for k in range(100):
        def party() -> dict[str, Any]:
            return {"name": rng.choice(names), "country": rng.choice(countries)}
        data = case(case_id=f"IMP-{k}", end_user={**party(), "type": "private_company"},
                    submitted=rng.choice(["2026-01-31", "2026-02-01"]),
                    consignees=[party() for _ in range(rng.randint(0, 2))],
                    items=[{"id": "i1", "control_entries": rng.choice([["5A001.j"], []]),
                            "category": "general_it", "value": 1, "quantity": 1}])
        if rng.random() < 0.3:
            data["purchaser"] = party()
        out.append(data)
    return out


def test_the_generator_gives_parties_listed_names() -> None:
    cases = list(generate_cases(policy(), 300, seed=3))
    same = list(generate_cases(plain(), 300, seed=3))
    differ = sum(a != b for a, b in zip(cases, same, strict=True))
    assert 0 < differ < len(cases)  # only some cases carry a listed name
    assert list(generate_cases(plain(), 300, seed=3)) == same  # and it stays seeded
    matched = [normalize(c, policy()) for c in cases]
    assert sum(bool(n.facts["implicated.parties"]) for n in matched) > 20
    assert {m.role for n in matched for m in n.implicated} == {
        "end_user", "consignee", "intermediary", "purchaser", "previous_consignee"}


def test_both_backends_decide_identically() -> None:
    rules = random_rules(40, seed=21, vocab=policy().vocab,
                         facts=["end_user.implicated", "parties.implicated",
                                "implicated.parties", "item.groups", "destination.band"])
    compiled = with_rules(policy(), [*policy().rules, *rules])
    python, durable = PythonBackend(compiled), DurableBackend(compiled)
    fired: set[str] = set()
    for data in _cases():
        check_case(data)
        n = normalize(data, compiled)
        hits = python.evaluate(n)
        assert durable.evaluate(n) == hits, data["case_id"]
        a = evaluate_with(compiled, durable, data).to_dict()
        b = evaluate_with(compiled, python, data).to_dict()
        a.pop("engine"), b.pop("engine")
        assert a == b, data["case_id"]
        fired |= set(hits)
    assert fired >= FIRED


# --- validation ---------------------------------------------------------------------------

def _validate(tmp_path: Path, parties: list[dict[str, Any]],
              rules: list[dict[str, Any]] | None = None) -> tuple[list[Any], Path]:
    path = write_version(tmp_path, files(parties),
                         RULES + IMPLICATED_RULES if rules is None else rules)
    found = validate_written(path)
    return found, path


def _line_of(path: Path, needle: str, nth: int = 0) -> int:
    """1-based line of the `nth` line of implicated_parties.yaml that holds `needle`."""
    lines = (path / "implicated_parties.yaml").read_text(encoding="utf-8").splitlines()
    return [i + 1 for i, line in enumerate(lines) if needle in line][nth]


def _changed(entry: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = {**entry, **change}
    return {k: v for k, v in out.items() if v is not None}


def test_a_valid_file_validates(tmp_path: Path) -> None:
    found, _ = _validate(tmp_path, PARTIES)
    assert [d for d in found if d.severity == "error"] == []
    assert not any(d.file.endswith("implicated_parties.yaml") for d in found), found


@pytest.mark.parametrize(("index", "change", "code", "needle", "at", "suggestion"), [
    (0, {"country": "ON"}, "unknown-ref", "party `hikvision` refers to unknown country `ON`",
     "country: 'ON'", "did you mean `NO`?"),
    (0, {"country": "XC"}, "unknown-ref", "unknown country `XC`", "country: XC",
     "destinations.yaml"),
    (1, {"sources": [{"source": "ngo-reprt"}]}, "unknown-ref",
     "`misuseland-intelligence` cites unknown source `ngo-reprt`", "source: ngo-reprt",
     "did you mean `ngo-report`?"),
    (0, {"designation": None}, "missing-designation",
     "party `hikvision` is designated but gives no `designation`", "status: designated",
     "status `attributed`"),
    (1, {"removed": "2025-01-01"}, "party-removed",
     "party `misuseland-intelligence` is attributed, so it cannot be `removed`",
     "removed: '2025-01-01'", None),
    (3, {"aliases": ["Vendor", "- -"]}, "blank-name",
     "party `roaming-vendor`: name `- -` holds no letter or digit", "- '- -'", None),
    (1, {"status": "listed"}, "schema", "`listed` is not one of", "status: listed", None),
    (2, {"confidence": "high"}, "schema", "`high` is not one of", "confidence: high", None),
    (2, {"finding": None}, "schema", "missing required key `finding`", "- id: packet",
     None),
])
def test_validation_errors_have_codes_and_locations(
        tmp_path: Path, index: int, change: dict[str, Any], code: str, needle: str, at: str,
        suggestion: str | None) -> None:
    parties = [_changed(p, change) if i == index else p for i, p in enumerate(PARTIES)]
    found, path = _validate(tmp_path, parties)
    hits = [d for d in found if d.code == code and needle in d.message]
    assert hits, found
    d = hits[0]
    assert d.severity == "error" and d.file.endswith("implicated_parties.yaml")
    assert d.line == _line_of(path, at) and d.column >= 1
    if suggestion is not None:
        assert d.help is not None and suggestion in d.help, d.help


def test_duplicate_entry_id(tmp_path: Path) -> None:
    found, path = _validate(tmp_path, [*PARTIES, {**PARTIES[0], "name": "Other"}])
    hits = [d for d in found if d.code == "duplicate-id"]
    assert len(hits) == 1 and "duplicate implicated party id `hikvision`" in hits[0].message
    assert hits[0].line == _line_of(path, "- id: hikvision", 1)


@pytest.mark.parametrize(("country", "clash"), [("XB", "in XB"), (None, "gives no country"),
                                                ("NO", None)])
def test_duplicate_name(tmp_path: Path, country: str | None, clash: str | None) -> None:
    other = _changed({**PARTIES[3], "id": "hikvision-europe", "name": "Hikvision Europe",
                      "aliases": ["HIKVISION"]}, {"country": country})
    found, path = _validate(tmp_path, [*PARTIES, other])
    hits = [d for d in found if d.code == "duplicate-name"]
    if clash is None:  # the same name in another country is another party
        assert hits == []
        return
    assert len(hits) == 1, hits
    assert "party `hikvision-europe`: name `HIKVISION` is also a name of party `hikvision`" \
        in hits[0].message and clash in hits[0].message
    assert hits[0].line == _line_of(path, "- HIKVISION")


@pytest.mark.parametrize(("fact", "value", "suggestion"), [
    ("implicated.parties", "hikvison", "hikvision"),
    ("end_user.implicated", "designate", "designated"),
    ("parties.implicated", "listed", None),
])
def test_rules_name_known_entries_and_statuses(tmp_path: Path, fact: str, value: str,
                                               suggestion: str | None) -> None:
    rule = _rule("refer-typo", {"fact": fact, "contains": value}, "refer", "x")
    found, _ = _validate(tmp_path, PARTIES, [*RULES, rule])
    hits = [d for d in found if d.code == "unknown-ref" and f"`{value}`" in d.message]
    assert len(hits) == 1 and hits[0].file.endswith("main.yaml"), found
    if suggestion is not None:
        assert hits[0].help == f"did you mean `{suggestion}`?"


# --- versions without the file ------------------------------------------------------------

# content digests of the released versions (what `engine.load` and the decisions report)
RELEASED_DIGESTS = {
    "2025.1": "sha256:4788b6374f1da49655a6e3cc47613ab6d38290aeae82b2441c480df293f6e307",
    "2026.1": "sha256:b7fcec35123d460b007102c8153ea8d8dc8610074371a83c1d623d3ada562e48",
}


@pytest.mark.parametrize("version", sorted(RELEASED_DIGESTS))
def test_released_versions_are_unchanged(version: str) -> None:
    path = ROOT / "policies" / "echri-baseline" / version
    assert not (path / "implicated_parties.yaml").exists()
    recorded = read_checksums(ROOT / "policies")
    assert file_checksums(path, ROOT / "policies") == {
        k: v for k, v in recorded.items() if k.startswith(f"echri-baseline/{version}/")}
    compiled = compile_policy(build_policy(load_version_source(path)))
    assert compiled.digest == RELEASED_DIGESTS[version]
    assert compiled.implicated == () and "implicated_parties" not in compiled.ir()
    data = baseline_case(end_user={"name": "Hikvision", "country": "CN",
                                   "type": "law_enforcement"})
    check_case(data)
    n = normalize(data, compiled)
    assert implicated(n) == (frozenset(), frozenset(), frozenset())


def test_the_file_is_part_of_the_digest_and_the_ir() -> None:
    assert policy().digest != plain().digest
    assert [e["id"] for e in policy().ir()["implicated_parties"]] == sorted(
        p["id"] for p in PARTIES)
    assert "implicated_parties" not in plain().ir()
    assert {k: v for k, v in policy().ir().items() if k not in ("policy",
                                                                  "implicated_parties")} == \
        {k: v for k, v in plain().ir().items() if k != "policy"}


def test_structural_diff_shows_entries_listed_and_delisted(tmp_path: Path) -> None:
    old = load_version_source(write_version(tmp_path / "a", files(PARTIES[:2])))
    delisted = {**PARTIES[0], "removed": "2026-05-01"}
    new = load_version_source(write_version(tmp_path / "b", files([delisted, *PARTIES[2:]])))
    kind = KINDS_BY_NAME["implicated_parties"]
    changes = {c.id: c for c in diff_elements(extract(old)["implicated_parties"],
                                             extract(new)["implicated_parties"], kind)}
    assert {i: c.change for i, c in changes.items()} == {
        "hikvision": "changed", "misuseland-intelligence": "removed",
        "packet-inspector": "added", "roaming-vendor": "added"}
    assert [f.field for f in changes["hikvision"].fields] == ["removed"]

