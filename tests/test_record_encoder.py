"""The generated record encoder (engine/ruleset/encoder.py) against `flatten` + `json.dumps`.

`Flattener.encode` must give, byte for byte, `json.dumps(flatten(facts), separators=(",",
":"))` for facts of every kind (sets tested inline and looked up by value, caches cold and
warm), raise the same error as `flatten` on a value of the wrong type, and keep policy text
and fact values out of the generated source.
"""

from __future__ import annotations

import io
import json
import keyword
import random
import re
import tokenize
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.facts import BOOL, ENUM, FACTS, NUMBER, SET, STRING
from engine.generator import generate_cases
from engine.ruleset import Flattener, KeySpec, compile_scope
from engine.ruleset.keys import fact_key, has_key, member_key, nonempty_key
from engine.ruleset.record import CACHE_MAX, INLINE_TESTS
from tests._factories import demo, random_rules, with_rules

BY_TYPE = {t: [name for name, f in FACTS.items() if f.type == t]
           for t in (ENUM, SET, NUMBER, BOOL, STRING)}
MEMBERS = ["a", "b_c", "has", "nonempty", "x.y", 'q"u\\o', "\u00e9", "", "k0"]


class StrSub(str):
    pass


class FrozenSub(frozenset):  # type: ignore[type-arg]
    pass


ODD: list[Any] = [
    None, "", "x", StrSub("x"), 'a"b\\c\u2028\x00\u00e9', 0, 1, -1, True, False, 1.5, -2.25,
    1e-5, -1e-5, 1e-4, 10**15, 10**15 - 1, -(10**15) + 1, 1e15, -1e15, float("nan"),
    float("inf"), 2**80, 0.0, -0.0, frozenset(), frozenset({"a"}), frozenset({"a", "b_c"}),
    FrozenSub({"a"}), {"a"}, set(), ["a"], ("a",), {"a": 1}, b"a", 3 + 0j]


def layout(rng: random.Random, members: int | None = None) -> list[KeySpec]:
    """Random keys over facts of every type: value/has flags, `__nonempty`, 0..7 members."""
    keys: list[KeySpec] = []
    for ftype, facts in BY_TYPE.items():
        for fact in rng.sample(facts, rng.randint(1, min(4, len(facts)))):
            if ftype == ENUM:
                keys.append(KeySpec(fact_key(fact), "value", fact))
            elif ftype in (NUMBER, BOOL):
                kinds = rng.choice((("value",), ("has",), ("value", "has")))
                keys += [KeySpec(fact_key(fact) if k == "value" else has_key(fact), k, fact)
                         for k in kinds]
            elif ftype == STRING:
                keys.append(KeySpec(has_key(fact), "has", fact))
            else:
                n = rng.randint(0, 7) if members is None else members
                chosen = rng.sample(MEMBERS, min(n, len(MEMBERS)))
                if not chosen or rng.random() < 0.5:
                    keys.append(KeySpec(nonempty_key(fact), "nonempty", fact))
                keys += [KeySpec(member_key(fact, m), "member", fact, m) for m in chosen]
    rng.shuffle(keys)
    return keys


def value(rng: random.Random, ftype: str, odd: float = 0.0) -> Any:
    if rng.random() < odd:
        return rng.choice(ODD)
    if rng.random() < 0.2:
        return None
    if ftype == ENUM:
        return rng.choice(["eu", "x", 'O"Brien\u00e9', "\\", "a,b:c}"])
    if ftype == NUMBER:
        return rng.choice([0, 7, -3, 10**15 - 1, 0.5, 12.25, 1e-4, 99999.99, -0.0])
    if ftype == BOOL:
        return rng.random() < 0.5
    if ftype == STRING:
        return rng.choice(["", "name", "\u00e9"])
    return frozenset(rng.sample([*MEMBERS, "other"], rng.randint(0, 4)))


def facts_for(rng: random.Random, keys: list[KeySpec], odd: float = 0.0) -> dict[str, Any]:
    out = {s.fact: value(rng, FACTS[s.fact].type, odd) for s in keys}
    return {k: v for k, v in out.items() if v is not None or rng.random() < 0.5}


def reference(flat: Flattener, facts: dict[str, Any]) -> Any:
    try:
        return json.dumps(flat.flatten(facts), separators=(",", ":"))
    except Exception as exc:
        return type(exc), str(exc)


def encoded(flat: Flattener, facts: dict[str, Any]) -> Any:
    try:
        return flat.encode(facts)
    except Exception as exc:
        return type(exc), str(exc)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from(["case", "item"]))
def test_encode_is_flatten_then_json_dumps(seed: int, scope: str) -> None:
    rng = random.Random(seed)
    keys = layout(rng)
    flat = Flattener(keys, scope, {"sid": "0", "id": "i"})
    for _ in range(20):  # caches fill up as it goes
        facts = facts_for(rng, keys)
        assert flat.encode(facts) == reference(flat, facts)


@pytest.mark.parametrize("members", range(INLINE_TESTS + 3))
def test_inline_and_cached_sets_agree(members: int) -> None:
    rng = random.Random(members)
    keys = layout(rng, members)
    flat = Flattener(keys, "item")
    for _ in range(500):
        facts = facts_for(rng, keys, odd=0.1)
        assert encoded(flat, facts) == reference(flat, facts)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32))
def test_wrong_types_raise_the_same_error(seed: int) -> None:
    rng = random.Random(seed)
    keys = layout(rng)
    flat = Flattener(keys, "case")
    for _ in range(30):
        facts = facts_for(rng, keys, odd=0.4)
        assert encoded(flat, facts) == reference(flat, facts)


@pytest.mark.parametrize("fact,bad,error", [
    ("destination", StrSub("eu"), TypeError), ("destination", "", TypeError),
    ("destination", 5, TypeError), ("item.value", True, TypeError),
    ("item.value", 10**15, ValueError), ("item.value", 1e-5, ValueError),
    ("item.value", float("nan"), ValueError), ("exporter.hrdd_policy", 0, TypeError),
    ("end_user.name", b"n", TypeError), ("end_user.flags", ["a"], TypeError),
    ("destination.factors", ("a",), TypeError),
])
def test_a_wrong_type_raises_even_after_the_cache_holds_its_value(fact: str, bad: Any,
                                                                  error: type) -> None:
    keys = [KeySpec("d", "value", "destination"), KeySpec("v", "value", "item.value"),
            KeySpec("h", "value", "exporter.hrdd_policy"), KeySpec("n", "has", "end_user.name"),
            KeySpec("f", "member", "end_user.flags", "a"),
            *(KeySpec(f"g{i}", "member", "destination.factors", f"m{i}") for i in range(5))]
    flat = Flattener(keys, "item")
    good = {"destination": "eu", "item.value": 3, "exporter.hrdd_policy": True,
            "end_user.name": "n", "end_user.flags": frozenset({"a"}),
            "destination.factors": frozenset({"m1", "a"})}
    flat.encode(good)
    with pytest.raises(error, match=f"`{re.escape(fact)}`") as raised:
        flat.encode({**good, fact: bad})
    with pytest.raises(error) as expected:
        flat.flatten({**good, fact: bad})
    assert str(raised.value) == str(expected.value)


def test_a_value_read_only_for_its_presence_is_not_checked() -> None:
    flat = Flattener([KeySpec("h", "has", "item.value"),
                      KeySpec("b", "has", "exporter.hrdd_policy")], "item")
    assert flat.encode({"item.value": "9", "exporter.hrdd_policy": 1}) == \
        '{"kind":"item","h":true,"b":true}'


def test_caches_stay_bounded() -> None:
    keys = [KeySpec("d", "value", "destination"),
            *(KeySpec(f"g{i}", "member", "destination.factors", f"m{i}") for i in range(6))]
    flat = Flattener(keys, "case")
    for i in range(CACHE_MAX + 50):
        facts = {"destination": f"c{i}", "destination.factors": frozenset({f"m{i % 6}", str(i)})}
        assert flat.encode(facts) == reference(flat, facts)
    assert all(len(cache) == CACHE_MAX for *_, cache in (*flat._enums, *flat._sets))


@pytest.mark.parametrize("seed", range(3))
def test_policy_records_on_generated_cases(seed: int) -> None:
    from engine.cases import normalize

    policy = with_rules(demo(), random_rules(60, seed))
    for scope in ("case", "item"):
        compiled = compile_scope(policy, scope)
        if not compiled.keys:
            continue
        for ruleset in (compiled, compiled.compact()):
            flat = ruleset.flattener({"sid": "0", "id": scope[0]})
            for data in generate_cases(policy, 100, seed, crowded=0.5):
                case = normalize(data, policy)
                for facts in [case.facts] if scope == "case" else [v.facts for v in case.views]:
                    assert flat.encode(facts) == reference(flat, facts)


# --- policy text and fact values never become code ----------------------------------------------

HOSTILE = ["x'); __import__('os').system('touch {marker}') #",
           'x"""\n__import__("os").system("touch {marker}")\n"""', "a\nb", "\\", "{v} {a}",
           "f.get", "v", "x0", "H", "TAIL", "__builtins__", "') or True or ('", "True",
           '","kind":"case', "}"]
GENERATED_NAME = re.compile(r"[FCNEZPQMBKA]\d+|x\d+|f|g|v|T|R|J|S|I|FS|H|TAIL|_encode|get")


def test_hostile_keys_members_and_values_are_data(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = [text.replace("{marker}", str(marker)) for text in HOSTILE]
    keys = [KeySpec(hostile[0], "value", "destination"),
            KeySpec(hostile[1], "value", "item.value"),
            KeySpec(hostile[2], "has", "item.value"),
            KeySpec(hostile[3], "value", "exporter.hrdd_policy"),
            KeySpec(hostile[4], "has", "end_user.name"),
            *(KeySpec(f"{text}@{i}", "member", "end_user.flags", text)
              for i, text in enumerate(hostile[:2])),
            *(KeySpec(f"{text}#{i}", "member", "destination.factors", text)
              for i, text in enumerate(hostile))]
    flat = Flattener(keys, "item", {"sid": hostile[5], "id": hostile[-2]})
    tokens = list(tokenize.generate_tokens(io.StringIO(flat.source).readline))
    assert not [t for t in tokens if t.type == tokenize.STRING]
    names = {t.string for t in tokens if t.type == tokenize.NAME}
    assert all(keyword.iskeyword(n) or GENERATED_NAME.fullmatch(n) for n in names), names
    for text in hostile:
        facts = {"destination": text, "item.value": 5, "exporter.hrdd_policy": True,
                 "end_user.name": text, "end_user.flags": frozenset(hostile[:1]),
                 "destination.factors": frozenset({text, hostile[0]})}
        out = flat.encode(facts)
        assert out == reference(flat, facts)
        assert json.loads(out) == flat.flatten(facts)  # exactly the record's keys, no more
    assert not marker.exists()


def test_generated_encoder_has_no_builtins() -> None:
    flat = Flattener([KeySpec("d", "value", "destination")], "case")
    code = flat.encode.__code__
    assert flat.encode.__globals__["__builtins__"] == {}
    namespace = dict(flat.encode.__globals__)
    exec("def probe():\n    return len\n", namespace)  # our own text
    with pytest.raises(NameError):
        namespace["probe"]()
    assert code.co_filename == "<echri record case>"


def test_an_empty_fragment_is_served_from_the_cache() -> None:
    """A set none of whose tested members is there has an empty fragment (false flags are
    left out): the cache answers it like any other, the slow path runs once per value."""
    keys = [KeySpec(f"g{i}", "member", "destination.factors", f"m{i}")
            for i in range(INLINE_TESTS + 2)]
    flat = Flattener(keys, "case")
    (fact, _, _, _, cache), = flat._sets
    calls = []
    real = flat.encode.__globals__
    slow = next(k for k, v in real.items() if k.startswith("E") and callable(v))
    miss = real[slow]
    real[slow] = lambda v: calls.append(v) or miss(v)
    none = frozenset({"other"})
    for _ in range(3):
        assert flat.encode({fact: none}) == '{"kind":"case"}'
        assert flat.encode({fact: frozenset({"m1"})}) == '{"kind":"case","g1":true}'
    assert calls == [none, frozenset({"m1"})] and cache[none] == ""
