"""Rule conditions compiled into Python source: one function per rule scope.

The python backend evaluates every rule of a scope on each facts mapping (the case facts, or
one item view). Nested closures (engine/predicates.py) cost a few Python calls per test; here
the conditions of a whole scope become one function that fetches each fact at most once, at
its first use, and tests it inline:

    def _eval(f):
        g = f.get
        v1 = U
        out = []
        a = out.append
        if ((v0 := g(F0)) is not None and (K1 in v0)) and ((v1 := g(F2)) == K3):
            a(R4)
        if (v0 is not None and (K5 in v0)) and (((v1 := g(F2)) if v1 is U else v1) == K6):
            a(R7)
        ...
        return out

The semantics are engine/predicates.py's, test by test, in the same order: `and` / `or` keep
its short-circuits (All left to right until a false, AnyOf until a true), every inlined test is
the very Python expression of its operator in engine/operators.py (same operands, same order),
so a value on which an operator raises (`"a" < 1`) raises in the same cases as before.
tests/test_predicates_compiled.py holds both equal, on every operator and odd value types.

Safety: no policy text (fact names, arguments, rule ids) enters the source. Every constant
is bound in the function's namespace under a generated name (F0, K1, R4...) and the
namespace has no builtins, so the source is made only of our own identifiers and keywords.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.conditions import All, Node, Not, Test, to_nnf
from engine.operators import OPERATORS
from engine.predicates import compile_condition
from engine.sourcegen import SourceWriter

Facts = Mapping[str, Any]
Evaluator = Callable[[Facts], list[str]]

# Each operator's test from engine/operators.py, written as an expression over the value `v`
# and the argument `a` (both generated names). Only operators whose expression is exactly the
# operator's lambda are here; any other is called through its registry function. A change to
# an operator's lambda must change its line here: tests/test_predicates_compiled.py fails
# until it does (it compares the two on every operator, argument and value).
INLINE: dict[str, str] = {
    "equals": "{v} == {a}",
    "not_equals": "{v} != {a}",
    "in": "{v} in {a}",
    "not_in": "{v} not in {a}",
    "contains": "{a} in {v}",
    "lt": "{v} < {a}",
    "lte": "{v} <= {a}",
    "gt": "{v} > {a}",
    "gte": "{v} >= {a}",
}
# `any(x in v for x in a)` / `all(...)` unrolled over the argument set's own iteration order
UNROLLED = {"contains_any": " or ", "contains_all": " and "}
UNROLL_MAX = 16  # a longer argument list calls the operator (one call instead of a chain)
# a rule nested deeper than this keeps its closure: the source stays far from the parser's
# nesting limit, and such a rule recurses exactly as before
MAX_DEPTH = 32


def depth(node: Node) -> int:
    if isinstance(node, Test):
        return 1
    if isinstance(node, Not):
        return 1 + depth(node.child)
    return 1 + max((depth(c) for c in node.children), default=0)


@dataclass(frozen=True, slots=True)
class ScopeFunction:
    """A compiled scope: `evaluate(facts)` gives the ids of the rules that hold, in order."""

    evaluate: Evaluator
    source: str  # the generated source (for tests and debugging; contains no policy text)
    namespace: Mapping[str, Any]


# What the code generated so far has done with a fact's local (absent: never fetched)
FETCHED = 2  # fetched on every path to this point: use the local
MAYBE = 1  # fetched on some paths: fetch unless the local still holds the sentinel `U`
State = dict[str, int]
# argument types with which `None == a` and `None in a` are False without raising, so a
# missing value fails `equals` / `in` by itself and the `is not None` check can go
NONE_SAFE = (str, int, float, bool)


def _none_fails(op: str, arg: Any) -> bool:
    if op == "equals":
        return type(arg) in NONE_SAFE
    if op == "in":
        return isinstance(arg, frozenset) and all(type(x) in NONE_SAFE for x in arg)
    return False


class _Writer(SourceWriter):
    """Builds the source of one scope and the namespace its names refer to.

    A fact is fetched (`f.get`) at its first use, not up front: most rules stop at their
    first test, so most facts of a scope are never needed on a given view. The writer
    follows the code in evaluation order and knows, at each use, whether the fact was
    fetched on every path (use the local), on none (fetch), or on some (fetch unless the
    local still holds the sentinel `U`).
    """

    def __init__(self) -> None:
        super().__init__({"ISI": isinstance, "FS": frozenset, "U": object()})
        self.locals: dict[str, str] = {}  # fact name → local holding its value
        self.fact_names: dict[str, str] = {}  # fact name → global bound to the name
        self.lazy: set[str] = set()  # locals used where they may be unfetched

    def fetch(self, fact: str, state: State) -> tuple[str, str]:
        """(expression giving the fact's value at its use, local holding it after)."""
        if fact not in self.locals:
            self.locals[fact] = f"v{len(self.locals)}"
            self.fact_names[fact] = self.bind("F", fact)
        v, name = self.locals[fact], self.fact_names[fact]
        seen = state.get(fact)
        state[fact] = FETCHED
        if seen == FETCHED:
            return v, v
        if seen is None:
            return f"({v} := g({name}))", v
        self.lazy.add(v)
        return f"(({v} := g({name})) if {v} is U else {v})", v

    def node(self, node: Node, state: State) -> str:
        """Source of an NNF node; `state` becomes the state after evaluating it."""
        if isinstance(node, Not):
            return self.node(to_nnf(node), state)
        if isinstance(node, Test):
            return self.test(node, state)
        if not node.children:
            return "True" if isinstance(node, All) else "False"
        joiner = " and " if isinstance(node, All) else " or "
        parts = [self.node(node.children[0], state)]
        first = dict(state)  # only the first child is sure to run
        parts += [self.node(c, state) for c in node.children[1:]]
        for fact in state:
            if first.get(fact) != FETCHED:
                state[fact] = MAYBE
        return "(" + joiner.join(parts) + ")"

    def test(self, t: Test, state: State) -> str:
        op = OPERATORS[t.op]  # an unknown operator fails here, as compile_condition does
        value, v = self.fetch(t.fact, state)
        if t.op == "exists":
            # engine/predicates.py `_present`: None is missing, a frozenset must be non-empty
            present = f"({value} is not None and (not ISI({v}, FS) or {v}))"
            return present if bool(t.arg) != t.neg else f"(not {present})"
        arg = frozenset(t.arg) if isinstance(t.arg, tuple) else t.arg
        if _none_fails(t.op, arg):
            expr = self.operator(t.op, value, arg, op.test)
            return f"(not {expr})" if t.neg else expr
        expr = self.operator(t.op, v, arg, op.test)
        # positive: `v is not None and expr`; `neg` inverts that: `not (...)`, which is this
        if t.neg:
            return f"({value} is None or not {expr})"
        return f"({value} is not None and {expr})"

    def operator(self, name: str, v: str, arg: Any, fn: Callable[[Any, Any], bool]) -> str:
        if name in INLINE:
            return "(" + INLINE[name].format(v=v, a=self.bind("K", arg)) + ")"
        if name in UNROLLED and isinstance(arg, frozenset) and len(arg) <= UNROLL_MAX:
            if not arg:
                return "True" if name == "contains_all" else "False"
            return "(" + UNROLLED[name].join(f"{self.bind('K', x)} in {v}" for x in arg) + ")"
        return f"{self.bind('O', fn)}({v}, {self.bind('K', arg)})"

    def rule(self, rule_id: str, condition: Node, state: State) -> str:
        if depth(condition) > MAX_DEPTH:
            expr = f"{self.bind('P', compile_condition(condition))}(f)"
        else:
            expr = self.node(condition, state)
        return f"    if {expr}:\n        a({self.bind('R', rule_id)})\n"

    def source(self, rules: Sequence[tuple[str, Node]]) -> str:
        state: State = {}
        body = "".join(self.rule(rule_id, cond, state) for rule_id, cond in rules)
        init = "".join(f"    {v} = U\n" for v in self.locals.values() if v in self.lazy)
        return ("def _eval(f):\n    g = f.get\n" + init +
                "    out = []\n    a = out.append\n" + body + "    return out\n")


def compile_scope(rules: Sequence[tuple[str, Node]], scope: str = "rules") -> ScopeFunction:
    """One function evaluating every (rule id, NNF condition) of `rules` on a facts mapping.

    `scope` only names the code object (`<echri rules case>` in tracebacks); it is ours,
    never policy text.
    """
    writer = _Writer()
    source = writer.source(rules)
    evaluate = writer.define(source, f"<echri rules {scope}>", "_eval")
    return ScopeFunction(evaluate, source, writer.namespace)

