"""The flattened record: `Flattener` builds it from a fact mapping (dict or JSON text)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from engine.facts import BOOL, ENUM, FACTS, NUMBER, STRING
from engine.ruleset.encoder import Encoder, EncoderWriter
from engine.ruleset.keys import KeySpec
from engine.ruleset.limits import GUARD, MAX_NUMBER

CACHE_MAX = 4096  # fragments cached per fact (enum ids, distinct sets)
# a set fact with at most this many flags (members, `__nonempty`) tests them inline; one with
# more looks its fragment up by value (a lookup compares the whole set)
INLINE_TESTS = 3


class Flattener:
    """Builds the record of one scope from a fact mapping (hot path: keys precomputed).

    `flatten` gives the record as a dict; `encode(facts)` gives the same record as the JSON
    text of `json.dumps(flatten(facts), separators=(",", ":"))` without building the dict:
    it is a function generated for the scope (engine/ruleset/encoder.py, its source in
    `source`) that joins precomputed fragments. Values must have the Python type of their
    fact (engine/cases/ guarantees it); anything else raises TypeError, so the engine's
    string/number coercions can never decide a case.
    """

    __slots__ = ("_base", "_bools", "_enums", "_head", "_numbers", "_sets", "_strings",
                 "encode", "source")
    encode: Encoder
    source: str

    def __init__(self, keys: Iterable[KeySpec], scope: str,
                 extra: Mapping[str, Any] | None = None):
        self._base: dict[str, Any] = {**(extra or {}), GUARD: scope}
        self._head = json.dumps(self._base, separators=(",", ":"))[:-1]
        slots: dict[str, dict[str, Any]] = {}
        for spec in keys:
            slot = slots.setdefault(spec.fact, {"members": []})
            if spec.kind == "member":
                slot["members"].append((spec.member, spec.key, *_flags(spec.key)))
            else:
                slot[spec.kind] = spec.key
        # per fact: (fact, key, has key, JSON prefix, (false, true) fragments of key / has);
        # the dicts cache fragments: an enum's `,"key":"id"` by id, a set's flags by value
        enums: list[Any] = []
        numbers: list[Any] = []
        bools: list[Any] = []
        strings: list[Any] = []
        sets: list[Any] = []
        for fact, slot in slots.items():
            ftype, key, has = FACTS[fact].type, slot.get("value"), slot.get("has")
            prefix = f",{json.dumps(key)}:" if key else ""
            if ftype == ENUM:
                enums.append((fact, key, prefix, {}))
            elif ftype == NUMBER:
                numbers.append((fact, key, has, prefix, _maybe_flags(has)))
            elif ftype == BOOL:
                bools.append((fact, key, has, _maybe_flags(key), _maybe_flags(has)))
            elif ftype == STRING:
                strings.append((fact, has, _flags(slot["has"])))
            else:
                nonempty = slot.get("nonempty")
                sets.append((fact, nonempty, _maybe_flags(nonempty), tuple(slot["members"]),
                             {}))
        self._enums = tuple(enums)
        self._numbers = tuple(numbers)
        self._bools = tuple(bools)
        self._strings = tuple(strings)
        self._sets = tuple(sets)
        self.encode, self.source = self._compile(scope)

    def flatten(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """The record for `facts` (missing facts get their neutral value and `__has` false;
        a false flag is left out)."""
        out = dict(self._base)
        get = facts.get
        for fact, key, _, _ in self._enums:
            v = get(fact)
            out[key] = "" if v is None else _enum(fact, v)
        for fact, key, has, _, _ in self._numbers:
            v = get(fact)
            if key is not None:
                out[key] = 0 if v is None else _number_value(fact, v)
            if has is not None:
                out[has] = v is not None
        for fact, key, has, _, _ in self._bools:
            v = get(fact)
            if key is not None:
                out[key] = v is not None and _bool(fact, v)
            if has is not None:
                out[has] = v is not None
        for fact, has, _ in self._strings:
            out[has] = _string(fact, get(fact)) is not None
        for fact, nonempty, _, members, _ in self._sets:
            v = _set(fact, get(fact))
            if nonempty is not None:
                out[nonempty] = bool(v)
            for member, key, _, _ in members:
                out[key] = member in v
        return {k: v for k, v in out.items() if v is not False}  # false flags left out

    def _compile(self, scope: str) -> tuple[Encoder, str]:
        """Generate `encode` (engine/ruleset/encoder.py): the same fragments, checks, order."""
        w = EncoderWriter(self._head)
        for fact, _, prefix, cache in self._enums:
            w.enum(fact, cache, prefix + '""', _enum_miss(fact, prefix, cache))
        for fact, key, _, prefix, has in self._numbers:
            if key is not None:
                w.number(fact, prefix, has, MAX_NUMBER, _number_check(fact))
            elif has:
                w.presence(fact, has)
        for fact, _, _, value, has in self._bools:
            if value:
                f, t = value
                fh, th = has or ("", "")
                w.boolean(fact, f + fh, f + th, t + th, _bool_miss(fact, value, has))
            elif has:
                w.presence(fact, has)
        for fact, _, has in self._strings:
            w.string(fact, has, _string_miss(fact, has))
        for fact, _, nonempty, members, cache in self._sets:
            empty = self._set_fragment(fact, None, nonempty, members)
            miss = _set_miss(fact, nonempty, members, cache)
            tests: list[tuple[str | None, tuple[str, str]]] = \
                [(None, nonempty)] if nonempty else []
            tests += [(member, (false, true)) for member, _, false, true in members]
            if len(tests) <= INLINE_TESTS:
                w.small_set(fact, tests, empty, miss)
            else:
                w.set(fact, cache, empty, miss)
        return w.build(scope)

    @staticmethod
    def _set_fragment(fact: str, value: Any, nonempty: tuple[str, str] | None,
                      members: tuple[tuple[str, str, str, str], ...]) -> str:
        v = _set(fact, value)
        head = nonempty[bool(v)] if nonempty else ""
        return head + "".join(true if member in v else false for member, _, false, true in members)


# --- slow paths of the generated encoder: check the value, build (and cache) the fragment ------

def _enum_miss(fact: str, prefix: str, cache: dict[Any, str]) -> Callable[[Any], str]:
    def miss(v: Any) -> str:
        frag = prefix + json.dumps(_enum(fact, v))
        if len(cache) < CACHE_MAX:
            cache[v] = frag
        return frag
    return miss


def _number_check(fact: str) -> Callable[[Any], int | float]:
    return lambda v: _number_value(fact, v)


def _bool_miss(fact: str, value: tuple[str, str],
               has: tuple[str, str] | None) -> Callable[[Any], str]:
    return lambda v: value[v is not None and _bool(fact, v)] + (has[v is not None] if has else "")


def _string_miss(fact: str, has: tuple[str, str]) -> Callable[[Any], str]:
    return lambda v: has[_string(fact, v) is not None]


def _set_miss(fact: str, nonempty: tuple[str, str] | None,
              members: tuple[tuple[str, str, str, str], ...],
              cache: dict[Any, str]) -> Callable[[Any], str]:
    # a set fact takes few distinct values (a destination's factors, a category's groups):
    # its fragment is joined once per value
    def miss(v: Any) -> str:
        frag = Flattener._set_fragment(fact, v, nonempty, members)
        if type(v) is frozenset and len(cache) < CACHE_MAX:
            cache[v] = frag
        return frag
    return miss


def _flags(key: str) -> tuple[str, str]:
    """The JSON fragments of a false and a true flag: nothing, and `,"key":true` (a false
    flag is left out of the record, engine/ruleset/translate.py `flag`)."""
    return ("", f",{json.dumps(key)}:true")


def _maybe_flags(key: str | None) -> tuple[str, str] | None:
    return None if key is None else _flags(key)


def _enum(fact: str, v: Any) -> str:
    if type(v) is str and v:
        return v
    raise _type_error(fact, v, "a non-empty id string")


def _number_value(fact: str, v: Any) -> int | float:
    if type(v) is not int and type(v) is not float:
        raise _type_error(fact, v, "an int or float")
    if not -MAX_NUMBER < v < MAX_NUMBER or (v and -1e-4 < v < 1e-4):
        raise ValueError(f"fact `{fact}`: {v!r} cannot be passed to durable-rules "
                         "(finite, |x| < 1e15, no exponent)")
    return v


def _bool(fact: str, v: Any) -> bool:
    if type(v) is bool:
        return v
    raise _type_error(fact, v, "a bool")


def _string(fact: str, v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    raise _type_error(fact, v, "a string")


def _set(fact: str, v: Any) -> frozenset[str] | set[str]:
    if v is None:
        return frozenset()
    if isinstance(v, frozenset | set):
        return v
    raise _type_error(fact, v, "a frozenset")


def _type_error(fact: str, value: Any, expected: str) -> TypeError:
    return TypeError(f"fact `{fact}` must be {expected}, got {type(value).__name__} "
                     f"`{value!r}`")
