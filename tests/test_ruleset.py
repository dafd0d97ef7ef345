"""The durable-rules ruleset compiler (engine/ruleset/): pure data, no engine needed.

Translations are snapshot-tested per operator and fact type, positive and negated, then
checked against the oracle's semantics with `durable_match`, a small model of how the engine
evaluates our expressions (a test on a missing key is false; no type coercion happens
because the flattened record has one type per key).
"""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import ruleset
from engine.conditions import All, AnyOf
from engine.conditions import Test as IrTest
from engine.facts import BOOL, FACTS
from engine.operators import OPERATORS
from engine.predicates import compile_condition
from engine.ruleset import (
    ALWAYS,
    DURABLE_TESTS,
    GUARD,
    MAX_GROUPS,
    AlphaNetwork,
    Flattener,
    RulesetError,
    atom,
    compile_rulesets,
    compile_scope,
    count_groups,
    decode_member,
    encode_member,
    fnv1a32,
    pattern_problem,
    translate,
    walk_atoms,
)
from tests._factories import demo, make_rule, random_policy, with_rules

# --- a model of the engine's matching, for semantic checks ---------------------------------------

_CMP = {"$eq": lambda v, r: v == r, "$neq": lambda v, r: v != r, "$lt": lambda v, r: v < r,
        "$lte": lambda v, r: v <= r, "$gt": lambda v, r: v > r, "$gte": lambda v, r: v >= r}


def durable_match(expr: dict[str, Any] | bool, record: dict[str, Any]) -> bool:
    if isinstance(expr, bool):
        return expr
    if "$and" in expr:
        return all(durable_match(e, record) for e in expr["$and"])
    if "$or" in expr:
        return any(durable_match(e, record) for e in expr["$or"])
    op, key, rhs = atom(expr)
    if op == "$nex":
        return key not in record
    if key not in record:
        return False  # durable_rules.md §7: comparisons on a missing field never match
    value = record[key]
    assert type(value) is type(rhs) or {type(value), type(rhs)} <= {int, float}, (key, value, rhs)
    return _CMP[op](value, rhs)


def record(rules: list, facts: dict[str, Any]) -> dict[str, Any]:
    """The flattened record the durable backend would assert for `facts`."""
    policy = with_rules(demo(), rules)
    scope = rules[0].scope
    return compile_scope(policy, scope).flattener().flatten(facts)


# --- snapshots of every operator, positive and negated ------------------------------------------

ENUM_K, NUM_K, BOOL_K = "end_user__type", "item__value", "exporter__hrdd_policy"
NUM_H, BOOL_H = "item__value__has", "exporter__hrdd_policy__has"
FLAG = "end_user__flags__"


def NEX(key: str) -> dict[str, Any]:
    """A test of a false flag: the record leaves it out (translate.py `flag`)."""
    return {"$nex": {key: 1}}


SNAPSHOTS: list[tuple[IrTest, dict[str, Any]]] = [
    (IrTest("end_user.type", "equals", "police"), {ENUM_K: "police"}),
    (IrTest("end_user.type", "equals", "police", True), {"$neq": {ENUM_K: "police"}}),
    (IrTest("item.value", "equals", 5), {NUM_K: 5}),  # 0 == 5 is false: no `__has` needed
    (IrTest("item.value", "equals", 0), {"$and": [{NUM_H: True}, {NUM_K: 0}]}),
    (IrTest("item.value", "equals", 5, True), {"$neq": {NUM_K: 5}}),
    (IrTest("item.value", "equals", 0, True), {"$or": [NEX(NUM_H), {"$neq": {NUM_K: 0}}]}),
    (IrTest("exporter.hrdd_policy", "equals", False),
     {"$and": [{BOOL_H: True}, NEX(BOOL_K)]}),
    (IrTest("exporter.hrdd_policy", "equals", False, True),
     {"$or": [NEX(BOOL_H), {BOOL_K: True}]}),
    (IrTest("exporter.hrdd_policy", "equals", True), {BOOL_K: True}),
    (IrTest("exporter.hrdd_policy", "equals", True, True), NEX(BOOL_K)),
    (IrTest("end_user.type", "not_equals", "police"),
     {"$and": [{"$neq": {ENUM_K: ""}}, {"$neq": {ENUM_K: "police"}}]}),
    (IrTest("end_user.type", "not_equals", "police", True),
     {"$or": [{ENUM_K: ""}, {ENUM_K: "police"}]}),
    (IrTest("item.value", "not_equals", 5), {"$and": [{NUM_H: True}, {"$neq": {NUM_K: 5}}]}),
    (IrTest("item.value", "not_equals", 5, True), {"$or": [NEX(NUM_H), {NUM_K: 5}]}),
    (IrTest("item.value", "not_equals", 0), {"$neq": {NUM_K: 0}}),
    (IrTest("item.value", "not_equals", 0, True), {NUM_K: 0}),
    (IrTest("exporter.hrdd_policy", "not_equals", True),
     {"$and": [{BOOL_H: True}, NEX(BOOL_K)]}),
    (IrTest("exporter.hrdd_policy", "not_equals", True, True),
     {"$or": [NEX(BOOL_H), {BOOL_K: True}]}),
    (IrTest("exporter.hrdd_policy", "not_equals", False), {BOOL_K: True}),
    (IrTest("end_user.type", "in", ("a", "b")), {"$or": [{ENUM_K: "a"}, {ENUM_K: "b"}]}),
    (IrTest("end_user.type", "in", ("a", "b"), True),
     {"$and": [{"$neq": {ENUM_K: "a"}}, {"$neq": {ENUM_K: "b"}}]}),
    (IrTest("end_user.type", "in", ("a",)), {ENUM_K: "a"}),
    (IrTest("end_user.type", "not_in", ("a", "b")),
     {"$and": [{"$neq": {ENUM_K: ""}}, {"$neq": {ENUM_K: "a"}}, {"$neq": {ENUM_K: "b"}}]}),
    (IrTest("end_user.type", "not_in", ("a", "b"), True),
     {"$or": [{ENUM_K: ""}, {ENUM_K: "a"}, {ENUM_K: "b"}]}),
    (IrTest("end_user.flags", "contains", "x"), {FLAG + "x": True}),
    (IrTest("end_user.flags", "contains", "x", True), NEX(FLAG + "x")),
    (IrTest("end_user.flags", "contains_any", ("x", "y")),
     {"$or": [{FLAG + "x": True}, {FLAG + "y": True}]}),
    (IrTest("end_user.flags", "contains_any", ("x", "y"), True),
     {"$and": [NEX(FLAG + "x"), NEX(FLAG + "y")]}),
    (IrTest("end_user.flags", "contains_all", ("x", "y")),
     {"$and": [{FLAG + "x": True}, {FLAG + "y": True}]}),
    (IrTest("end_user.flags", "contains_all", ("x", "y"), True),
     {"$or": [NEX(FLAG + "x"), NEX(FLAG + "y")]}),
    (IrTest("end_user.type", "exists", True), {"$neq": {ENUM_K: ""}}),
    (IrTest("end_user.type", "exists", True, True), {ENUM_K: ""}),
    (IrTest("end_user.type", "exists", False), {ENUM_K: ""}),
    (IrTest("end_user.flags", "exists", True), {FLAG + "nonempty": True}),
    (IrTest("end_user.flags", "exists", False), NEX(FLAG + "nonempty")),
    (IrTest("item.value", "exists", True), {NUM_H: True}),
    (IrTest("item.value", "exists", True, True), NEX(NUM_H)),
    (IrTest("exporter.hrdd_policy", "exists", False), NEX(BOOL_H)),
    (IrTest("end_user.name", "exists", True), {"end_user__name__has": True}),
    (IrTest("end_user.name", "exists", False, True), {"end_user__name__has": True}),
    (IrTest("item.value", "lt", 10), {"$and": [{NUM_H: True}, {"$lt": {NUM_K: 10}}]}),
    (IrTest("item.value", "lt", 10, True), {"$or": [NEX(NUM_H), {"$gte": {NUM_K: 10}}]}),
    (IrTest("item.value", "lt", 0), {"$lt": {NUM_K: 0}}),
    (IrTest("item.value", "lte", 10), {"$and": [{NUM_H: True}, {"$lte": {NUM_K: 10}}]}),
    (IrTest("item.value", "lte", 10, True), {"$or": [NEX(NUM_H), {"$gt": {NUM_K: 10}}]}),
    (IrTest("item.value", "gt", 10.5), {"$gt": {NUM_K: 10.5}}),
    (IrTest("item.value", "gt", 10.5, True), {"$lte": {NUM_K: 10.5}}),
    (IrTest("item.value", "gt", -1), {"$and": [{NUM_H: True}, {"$gt": {NUM_K: -1}}]}),
    (IrTest("item.value", "gte", 10.0), {"$gte": {NUM_K: 10}}),
    (IrTest("item.value", "gte", 0), {"$and": [{NUM_H: True}, {"$gte": {NUM_K: 0}}]}),
    (IrTest("item.value", "gte", 10, True), {"$lt": {NUM_K: 10}}),
]


@pytest.mark.parametrize("test,expected", SNAPSHOTS, ids=lambda x: str(x)[:60])
def test_translation_snapshot(test: IrTest, expected: dict[str, Any]) -> None:
    assert translate(test) == expected


def test_every_operator_has_a_translation_and_a_snapshot() -> None:
    assert set(DURABLE_TESTS) == set(OPERATORS)
    covered = {(t.op, t.neg) for t, _ in SNAPSHOTS}
    assert covered == {(op, neg) for op in OPERATORS for neg in (False, True)}


VALUES: dict[str, list[Any]] = {
    "end_user.type": [None, "police", "a", "b", "c"],
    "item.value": [None, 0, 5, 5.0, 9.99, 10, 10.5, 11, 250000.25, -1, -0.5],
    "exporter.hrdd_policy": [None, True, False],
    "end_user.name": [None, "Firm AS"],
    "end_user.flags": [None, frozenset(), frozenset({"x"}), frozenset({"y"}),
                       frozenset({"x", "y"}), frozenset({"z"})],
}


@pytest.mark.parametrize("test", [t for t, _ in SNAPSHOTS], ids=lambda t: str(t)[:60])
def test_translation_agrees_with_the_oracle(test: IrTest) -> None:
    rule = make_rule("r", test)
    oracle = compile_condition(test)
    expr = translate(test)
    for value in VALUES[test.fact]:
        facts = {} if value is None else {test.fact: value}
        assert durable_match(expr, record([rule], facts)) == oracle(facts), (test, value)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_conditions_agree_with_the_oracle(seed: int) -> None:
    policy = random_policy(3, seed)
    rng = random.Random(seed)
    rules = [r for r in policy.rules if r.id.startswith("r")]
    from engine.cases import normalize
    from engine.generator import generate_cases
    for case in generate_cases(demo(), 5, seed=rng.randrange(1 << 30)):
        norm = normalize(case, policy)
        for rule in rules:
            sr = compile_scope(with_rules(policy, [rule]), rule.scope)
            flat = sr.flattener()
            oracle = compile_condition(rule.condition)
            facts_list = [norm.facts] if rule.scope == "case" else [i.facts for i in norm.items]
            for facts in facts_list:
                rec = flat.flatten(facts)
                patterns = [r["all"][0]["m"] for shard in sr.shards for name, r in shard.items()
                            if name != ALWAYS]
                assert any(durable_match(p, rec) for p in patterns) == oracle(facts)


# --- shape of the compiled rulesets --------------------------------------------------------------

def _atoms(shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for shard in shards for rule in shard.values() for pattern in rule["all"]
            for a in walk_atoms(pattern["m"])]


def _policies() -> list[Any]:
    return [demo(), random_policy(200, 1), random_policy(200, 2)]


@pytest.mark.parametrize("index", range(3))
def test_right_hand_sides_are_scalars_and_operators_are_plain(index: int) -> None:
    policy = _policies()[index]
    for scope in ("case", "item"):
        compiled = compile_scope(policy, scope)
        flags = {s.key for s in compiled.keys if s.kind != "value" or FACTS[s.fact].type == BOOL}
        for a in _atoms(list(compiled.shards)):
            op, key, rhs = atom(a)
            assert type(rhs) in (str, int, float, bool), a
            assert op in ("$eq", "$neq", "$lt", "$lte", "$gt", "$gte", "$nex"), a
            assert "." not in key and key not in ("sid", "id")
            if key in flags:  # a flag is true, or absent (`$nex`): a record has no false one
                assert a in ({key: True}, {"$nex": {key: 1}}), a
            else:
                assert op != "$nex" and type(rhs) is not bool, a
        text = json.dumps(compile_rulesets(policy, scope))
        for banned in ("$in", "$iany", "$iall", "$ex", "$mt", "$imt"):
            assert f'"{banned}"' not in text
        assert ": false" not in text  # no test of a false flag: a record has none


@pytest.mark.parametrize("index", range(3))
def test_every_rule_starts_with_the_scope_guard(index: int) -> None:
    policy = _policies()[index]
    for scope in ("case", "item"):
        shards = compile_rulesets(policy, scope)
        for shard in shards:
            assert shard[ALWAYS] == {"all": [{"m": {GUARD: scope}}]}
            for rule in shard.values():
                (pattern,) = rule["all"]
                expr = pattern["m"]
                first = expr["$and"][0] if "$and" in expr else expr
                assert first == {GUARD: scope}


def test_demo_item_ruleset_snapshot() -> None:
    (shard,) = compile_rulesets(demo(), "item")
    assert shard["deny-embargo"] == {"all": [{"m": {"$and": [
        {"kind": "item"}, {"destination__band": "embargoed"},
        {"item__groups__cyber_surveillance": True}]}}]}
    assert shard["condition-large"] == {"all": [{"m": {"$and": [
        {"kind": "item"}, {"$gte": {"item__value": 100000}}]}}]}
    assert list(shard) == ["deny-embargo", "refer-high", "assure-surveillance",
                           "condition-large", "info-unclassified", ALWAYS]


def test_rules_that_never_fire_are_left_out_and_always_rules_are_guard_only() -> None:
    policy = with_rules(demo(), [make_rule("never", AnyOf(())), make_rule("always", All(()))])
    (shard,) = compile_rulesets(policy, "case")
    assert "never" not in shard
    assert shard["always"] == {"all": [{"m": {GUARD: "case"}}]}


# --- keys ----------------------------------------------------------------------------------------

@settings(max_examples=500, derandomize=True)
@given(st.text(min_size=1, max_size=20))
def test_member_encoding_is_injective_and_dot_free(member: str) -> None:
    encoded = encode_member(member)
    assert decode_member(encoded) == member
    assert "." not in encoded and '"' not in encoded and "\\" not in encoded


def test_member_encoding_examples() -> None:
    assert encode_member("arms_embargo") == "arms_embargo"
    assert encode_member("4A005") == "4A005"
    assert encode_member("5A001.j") == "_5A001_dot_j"
    assert encode_member("a_dot_b") == "a_dot_b" != encode_member("a.b")
    assert encode_member("has") == "_has" and encode_member("nonempty") == "_nonempty"
    keys = {encode_member(m) for m in ("a.b", "a_dot_b", "a__b", "_a", "a_", "has", "nonempty")}
    assert len(keys) == 7


def test_record_keys_cover_exactly_what_rules_test() -> None:
    rule = make_rule("r", {"all": [{"fact": "item.control_entries", "contains": "5A001.j"},
                                    {"fact": "item.value", "exists": True},
                                    {"fact": "end_user.flags", "exists": True}]})
    sr = compile_scope(with_rules(demo(), [rule]), "item")
    assert [k.key for k in sr.keys] == ["end_user__flags__nonempty",
                                        "item__control_entries___5A001_dot_j", "item__value__has"]


def test_fnv_hash_matches_the_engine() -> None:
    # constants from rete.c (HASH_OR, HASH_M, HASH_FORWARD, HASH_ALL)
    assert fnv1a32("$or") == 340911698 and fnv1a32("$m") == 1690058490
    assert fnv1a32("$forward") == 739185624 and fnv1a32("all") == 321211332


def test_too_many_flattened_keys_fail_clearly() -> None:
    members = tuple(f"m{i}" for i in range(250))
    rule = make_rule("wide", IrTest("end_user.flags", "contains_all", members))
    with pytest.raises(RulesetError, match="at most 197 in one record"):
        compile_rulesets(with_rules(demo(), [rule]), "case")


def test_number_arguments_are_checked() -> None:
    for bad in (1e-05, float("inf"), 1e16, True, "10"):
        with pytest.raises(RulesetError):
            translate(IrTest("item.value", "gt", bad))
    assert translate(IrTest("item.value", "gt", 100000.0)) == {"$gt": {NUM_K: 100000}}


# --- the flattener -------------------------------------------------------------------------------

def _flattener() -> Flattener:
    rules = [make_rule("r", {"all": [{"fact": "item.value", "lt": 10},
                                     {"fact": "end_user.type", "equals": "x"},
                                     {"fact": "exporter.hrdd_policy", "equals": False},
                                     {"fact": "end_user.flags", "contains": "f"},
                                     {"fact": "end_user.name", "exists": True}]})]
    return compile_scope(with_rules(demo(), rules), "item").flattener({"sid": "0", "id": "i"})


def test_flattener_defaults_and_encoding() -> None:
    flat = _flattener()
    # neutral values; the false flags are left out
    assert flat.flatten({}) == {
        "sid": "0", "id": "i", "kind": "item", "end_user__type": "", "item__value": 0}
    assert flat.encode({}) == json.dumps(flat.flatten({}), separators=(",", ":"))
    facts = {"item.value": 12.5, "end_user.type": 'O"Brien\u00e9', "exporter.hrdd_policy": True,
             "end_user.flags": frozenset({"f", "g"}), "end_user.name": "n"}
    assert flat.flatten(facts) == {
        "sid": "0", "id": "i", "kind": "item", "end_user__type": 'O"Brien\u00e9',
        "end_user__flags__f": True, "end_user__name__has": True, "exporter__hrdd_policy": True,
        "exporter__hrdd_policy__has": True, "item__value": 12.5, "item__value__has": True}
    assert json.loads(flat.encode(facts)) == flat.flatten(facts)
    assert flat.encode(facts) == json.dumps(flat.flatten(facts), separators=(",", ":"))
    # a false value with its presence flag: the value's key is left out, `__has` is kept
    assert flat.flatten({"exporter.hrdd_policy": False})["exporter__hrdd_policy__has"] is True
    assert "exporter__hrdd_policy" not in flat.flatten({"exporter.hrdd_policy": False})


@pytest.mark.parametrize("fact,value,error", [
    ("item.value", "9", TypeError), ("item.value", True, TypeError),
    ("item.value", 1e-05, ValueError), ("item.value", 1e15, ValueError),
    ("item.value", float("nan"), ValueError), ("end_user.type", 5, TypeError),
    ("end_user.type", "", TypeError), ("exporter.hrdd_policy", 1, TypeError),
    ("end_user.flags", ["f"], TypeError), ("end_user.name", 3, TypeError),
])
def test_flattener_rejects_wrong_types(fact: str, value: Any, error: type) -> None:
    flat = _flattener()
    with pytest.raises(error, match=f"`{fact}`"):
        flat.flatten({fact: value})
    with pytest.raises(error, match=f"`{fact}`"):
        flat.encode({fact: value})


# --- splitting and sharding at the limits ---------------------------------------------------

def _patterns(shards: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: rule["all"][0]["m"] for shard in shards for name, rule in shard.items()}


def _equivalent(rule: Any, shards: list[dict[str, Any]], facts_list: list[dict[str, Any]]) -> None:
    oracle = compile_condition(rule.condition)
    patterns = [p for name, p in _patterns(shards).items() if name != ALWAYS]
    flat = compile_scope(with_rules(demo(), [rule]), rule.scope).flattener()
    for facts in facts_list:
        assert any(durable_match(p, flat.flatten(facts)) for p in patterns) == oracle(facts)


def test_more_than_14_groups_split_the_top_level_disjunction() -> None:
    groups = [AnyOf((IrTest("end_user.flags", "contains", f"a{i}"),
                     IrTest("end_user.flags", "contains", f"b{i}"))) for i in range(15)]
    rule = make_rule("wide", All(tuple(groups)))
    shards = compile_rulesets(with_rules(demo(), [rule]), "case")
    patterns = _patterns(shards)
    assert sorted(patterns) == [ALWAYS, "wide#1", "wide#2"]
    assert all(count_groups(p) <= MAX_GROUPS for p in patterns.values())
    rng = random.Random(0)
    names = [f"{c}{i}" for i in range(15) for c in "ab"]
    facts = [{"end_user.flags": frozenset(n for n in names if rng.random() < 0.8)}
             for _ in range(300)]
    _equivalent(rule, shards, facts)


def test_many_rules_are_sharded_within_every_limit() -> None:
    rules = [make_rule(f"r{i}", IrTest("end_user.type", "equals", f"t{i}")) for i in range(700)]
    shards = compile_rulesets(with_rules(demo(), rules), "case")
    assert len(shards) >= 2
    names = [n for shard in shards for n in shard if n != ALWAYS]
    assert sorted(names) == sorted(r.id for r in rules)
    for shard in shards:
        assert len(shard) <= ruleset.MAX_SHARD_RULES and ALWAYS in shard
        net = AlphaNetwork()
        for rule in shard.values():
            net.add(rule["all"][0]["m"])
        assert net.problem() is None


def test_an_in_with_600_values_is_split_and_sharded() -> None:
    values = tuple(f"v{i}" for i in range(600))
    rule = make_rule("big", IrTest("end_user.type", "in", values))
    shards = compile_rulesets(with_rules(demo(), [rule]), "case")
    assert len(shards) >= 2  # at most 400 distinct tests under the guard node per ruleset
    patterns = _patterns(shards)
    assert {n.split("#")[0] for n in patterns} == {"big", ALWAYS}
    assert sum(1 for p in patterns.values() for _ in walk_atoms(p)) == 600 + len(patterns)
    facts = [{"end_user.type": v} for v in ("v0", "v399", "v400", "v599", "w")] + [{}]
    _equivalent(rule, shards, facts)


def test_a_wide_contains_any_is_split_for_the_alpha_stack() -> None:
    members = tuple(f"m{i}" for i in range(120))
    rule = make_rule("wide", IrTest("end_user.flags", "contains_any", members))
    assert pattern_problem(ruleset.guarded("case", translate(rule.condition))) is not None
    shards = compile_rulesets(with_rules(demo(), [rule]), "case")
    patterns = _patterns(shards)
    assert len(patterns) > 3
    assert all(pattern_problem(p) is None for p in patterns.values())
    for shard in shards:
        net = AlphaNetwork()
        for r in shard.values():
            net.add(r["all"][0]["m"])
        assert net.stack_bound() <= ruleset.MAX_STACK
    everything = {"end_user.flags": frozenset(members)}
    _equivalent(rule, shards, [everything, {"end_user.flags": frozenset({"m119"})}, {}])


def test_a_condition_needing_too_many_parts_fails_clearly() -> None:
    groups = tuple(AnyOf((IrTest("end_user.flags", "contains", f"a{i}"),
                          IrTest("end_user.flags", "contains", f"b{i}"))) for i in range(24))
    with pytest.raises(RulesetError, match="more than 256 durable rules"):
        compile_rulesets(with_rules(demo(), [make_rule("huge", All(groups))]), "case")


def test_rule_names_split_by_hash_map_back_to_rule_ids() -> None:
    values = tuple(f"v{i}" for i in range(600))
    rules = [make_rule("big", IrTest("end_user.type", "in", values)),
             make_rule("small", IrTest("end_user.type", "equals", "v1"))]
    sr = compile_scope(with_rules(demo(), rules), "case")
    assert set(sr.rule_of.values()) == {"big", "small"}
    assert all(name == rid or name.startswith(rid + "#") for name, rid in sr.rule_of.items())
    assert ALWAYS not in sr.rule_of


def test_alpha_network_models_sharing_and_joins() -> None:
    net = AlphaNetwork()
    net.add({"$and": [{GUARD: "case"}, {"a": True}, {"b": 1}]})
    net.add({"$and": [{GUARD: "case"}, {"a": True}, {"$or": [{"c": "x"}, {"c": "y"}]}]})
    (guard,) = net.root.tests.values()
    assert len(guard.tests) == 1  # `a` shared
    (a_node,) = guard.tests.values()
    assert len(a_node.tests) == 3 and all(len(n.joins) == 1 for n in a_node.tests.values()
                                          if n.rules == 0)
    mark = net.mark()
    net.add({"$and": [{GUARD: "case"}, {"z": True}]})
    net.rollback(mark)
    assert len(guard.tests) == 1 and net.rules == 2


def test_identical_conditions_share_names_only_with_their_rule() -> None:
    rules = [make_rule(f"same{i}", IrTest("destination", "equals", "NO")) for i in range(3)]
    (shard,) = compile_rulesets(with_rules(demo(), rules), "case")
    assert [n for n in shard if n != ALWAYS] == ["same0", "same1", "same2"]


def test_combinations_of_negated_groups_agree_with_the_oracle() -> None:
    tests = [IrTest("end_user.type", "in", ("a", "b")), IrTest("item.value", "gt", 10, True),
             IrTest("end_user.flags", "contains_any", ("x", "y"), True)]
    for a, b in itertools.permutations(tests, 2):
        rule = make_rule("r", AnyOf((All((a, b)), All((b,)))))
        shards = compile_rulesets(with_rules(demo(), [rule]), rule.scope)
        facts = [{}, {"end_user.type": "a", "item.value": 11},
                 {"end_user.flags": frozenset({"x"}), "item.value": 3}]
        _equivalent(rule, shards, facts)
