"""The record encoder of one scope, generated as one Python function.

The layout of a scope's record (engine/ruleset/record.py `Flattener`) becomes the source of
one function that fetches each fact once, checks its type inline on the common path and
picks precomputed JSON fragments:

    def _encode(f):
        g = f.get
        v = g(F0)                                           # enum
        x0 = C1(v) if T(v) is S else N2 if v is None else None
        if x0 is None:
            x0 = E3(v)
        v = g(F4)                                           # number, value and `__has`
        x1 = Z5 if v is None else P6 + R(v if T(v) is I and -M7 < v < M7 else E8(v)) + Q9
        v = g(F10)                                          # bool, value and `__has`
        x2 = B11 if v is True else B12 if v is False else B13 if v is None else E14(v)
        v = g(F14)                                          # set, two members
        x3 = ((A17 if K16 in v else A18) if K15 in v else (A19 if K16 in v else A20)) \
            if T(v) is FS else N21 if v is None else E22(v)
        v = g(F23)                                          # set, many members
        x4 = C24(v) if T(v) is FS else N25 if v is None else None
        if x4 is None:
            x4 = E26(v)
        return J((H, x0, x1, x2, x3, x4, TAIL))

A set fact with few flags (`record.INLINE_TESTS`) tests them inline and picks one of the
precomputed joined fragments; one with more looks its fragment up by value (a cache filled
on the slow path; a lookup compares whole sets, which costs more than a few `in` tests).

Fragments and checks are record.py's, in `Flattener.flatten`'s order (enums, numbers, bools,
strings, sets), so the text is byte for byte `json.dumps(flatten(facts), separators=(",",
":"))`, and a value of the wrong type reaches the same check (`record._enum`,
`_number_value`, ...) and raises the same error.
A value the inline test does not accept (a float, a str subclass, a set that is not a
frozenset, a fragment not cached yet) goes to a slow-path closure `E<n>` built in Python,
not generated.

Safety, as in engine/codegen.py: no fact name, key, member or value enters the source.
Every constant is bound in the function's namespace under a generated name and the namespace
has no builtins (`type`, `repr`, `"".join`, `str`, `int` and `frozenset` are bound as T, R,
J, S, I and FS), so the source is made only of our own identifiers, operators and keywords.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.sourcegen import SourceWriter

Encoder = Callable[[Mapping[str, Any]], str]
Miss = Callable[[Any], str]


class EncoderWriter(SourceWriter):
    """Builds the source of one scope's encoder and the namespace its names refer to."""

    def __init__(self, head: str) -> None:
        super().__init__({"T": type, "R": repr, "J": "".join, "S": str, "I": int,
                          "FS": frozenset, "H": head, "TAIL": "}"})
        self.lines: list[str] = []
        self.parts: list[str] = []

    def _fetch(self, fact: str) -> str:
        self.lines.append(f"    v = g({self.bind('F', fact)})")
        part = f"x{len(self.parts)}"
        self.parts.append(part)
        return part

    def enum(self, fact: str, cache: dict[Any, str], empty: str, miss: Miss) -> None:
        """A cached fragment for an id string, `empty` for None, else `miss` (checks)."""
        x = self._fetch(fact)
        get, none, slow = self.bind("C", cache.get), self.bind("N", empty), self.bind("E", miss)
        self.lines.append(f"    {x} = {get}(v) if T(v) is S else {none} if v is None else None")
        self.lines.append(f"    if {x} is None:")
        self.lines.append(f"        {x} = {slow}(v)")

    def number(self, fact: str, prefix: str, flags: tuple[str, str] | None, bound: float,
               check: Callable[[Any], Any]) -> None:
        """`prefix` + the number (an int within ±bound inline, else `check`ed), its flag."""
        x = self._fetch(fact)
        false, true = flags or ("", "")
        zero = self.bind("Z", prefix + "0" + false)
        pre, limit, slow = self.bind("P", prefix), self.bind("M", bound), self.bind("E", check)
        has = f" + {self.bind('Q', true)}" if flags else ""
        self.lines.append(f"    {x} = {zero} if v is None else {pre} + R(v if T(v) is I and "
                          f"-{limit} < v < {limit} else {slow}(v)){has}")

    def presence(self, fact: str, flags: tuple[str, str]) -> None:
        """Only the `__has` flag: the value itself is not read, so not checked."""
        x = self._fetch(fact)
        false, true = self.bind("B", flags[0]), self.bind("B", flags[1])
        self.lines.append(f"    {x} = {true} if v is not None else {false}")

    def boolean(self, fact: str, none: str, false: str, true: str, miss: Miss) -> None:
        """The fragment for None, False and True; anything else goes to `miss` (raises)."""
        x = self._fetch(fact)
        t, f, n = self.bind("B", true), self.bind("B", false), self.bind("B", none)
        slow = self.bind("E", miss)
        self.lines.append(f"    {x} = {t} if v is True else {f} if v is False else {n} "
                          f"if v is None else {slow}(v)")

    def string(self, fact: str, flags: tuple[str, str], miss: Miss) -> None:
        """The `__has` flag of a str (None: false); anything else goes to `miss`."""
        x = self._fetch(fact)
        false, true = self.bind("B", flags[0]), self.bind("B", flags[1])
        slow = self.bind("E", miss)
        self.lines.append(f"    {x} = {true} if T(v) is S else {false} if v is None "
                          f"else {slow}(v)")

    def set(self, fact: str, cache: dict[Any, str], empty: str, miss: Miss) -> None:
        """A cached fragment for a frozenset, `empty` for None, else `miss` (checks). A
        fragment can be empty (no member true: false flags are left out), so a miss is
        `None`, not any false value."""
        x = self._fetch(fact)
        get, none, slow = self.bind("C", cache.get), self.bind("N", empty), self.bind("E", miss)
        self.lines.append(f"    {x} = {get}(v) if T(v) is FS else {none} if v is None else None")
        self.lines.append(f"    if {x} is None:")
        self.lines.append(f"        {x} = {slow}(v)")

    def small_set(self, fact: str, tests: list[tuple[str | None, tuple[str, str]]], empty: str,
                  miss: Miss) -> None:
        """A frozenset tested inline: each test (`None`: non-empty, else a member) picks
        its flag; the 2**len(tests) joined fragments are precomputed."""
        x = self._fetch(fact)
        checks = ["v" if member is None else f"{self.bind('K', member)} in v"
                  for member, _ in tests]
        none, slow = self.bind("N", empty), self.bind("E", miss)

        def choose(i: int, prefix: str) -> str:
            if i == len(tests):
                return self.bind("A", prefix)
            false, true = tests[i][1]
            return f"({choose(i + 1, prefix + true)} if {checks[i]} else " \
                   f"{choose(i + 1, prefix + false)})"

        self.lines.append(f"    {x} = {choose(0, '')} if T(v) is FS else {none} if v is None "
                          f"else {slow}(v)")

    def source(self) -> str:
        body = "".join(line + "\n" for line in self.lines)
        parts = ", ".join(["H", *self.parts, "TAIL"])
        return f"def _encode(f):\n    g = f.get\n{body}    return J(({parts}))\n"

    def build(self, scope: str) -> tuple[Encoder, str]:
        """The encoder function and its source.

        `scope` only names the code object (`<echri record case>`); it is ours, never
        policy text.
        """
        source = self.source()
        encode: Encoder = self.define(source, f"<echri record {scope}>", "_encode")
        return encode, source
