"""Keys of the flattened record: fact, `__has`, `__nonempty` and member keys.

Also the injective member encoding and the engine's 32-bit property-name hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SAFE_MEMBER = re.compile(r"[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*\Z")
_SUFFIXES = ("has", "nonempty")


def fact_key(fact: str) -> str:
    return fact.replace(".", "__")


def has_key(fact: str) -> str:
    return fact_key(fact) + "__has"


def nonempty_key(fact: str) -> str:
    return fact_key(fact) + "__nonempty"


def member_key(fact: str, member: str) -> str:
    return fact_key(fact) + "__" + encode_member(member)


def encode_member(member: str) -> str:
    """Injective: safe ids stay as they are, anything else gets a `_` prefix and escapes.

    Escapes: `_` → `__`, `.` → `_dot_`, any other character → `_x<hex>_`. A safe id never
    starts with `_` and never equals a reserved suffix (`has`, `nonempty`), so encoded
    members, safe members and suffixes cannot collide (`decode_member` inverts it).
    """
    if _SAFE_MEMBER.match(member) and member not in _SUFFIXES:
        return member
    out = ["_"]
    for ch in member:
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif ch == "_":
            out.append("__")
        elif ch == ".":
            out.append("_dot_")
        else:
            out.append(f"_x{ord(ch):x}_")
    return "".join(out)


def decode_member(encoded: str) -> str:
    """Inverse of `encode_member` (used by tests to prove it injective)."""
    if not encoded.startswith("_"):
        return encoded
    out, i, s = [], 1, encoded
    while i < len(s):
        if s[i] != "_":
            out.append(s[i])
            i += 1
        elif s.startswith("__", i):
            out.append("_")
            i += 2
        elif s.startswith("_dot_", i):
            out.append(".")
            i += 5
        else:
            end = s.index("_", i + 2)
            out.append(chr(int(s[i + 2:end], 16)))
            i = end + 1
    return "".join(out)


def fnv1a32(name: str) -> int:
    """The engine's 32-bit property-name hash: equal hashes would be the same property."""
    h = 2166136261
    for byte in name.encode("utf-8"):
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h


@dataclass(frozen=True, slots=True)
class KeySpec:
    key: str
    kind: str  # value | has | nonempty | member
    fact: str
    member: str | None = None
