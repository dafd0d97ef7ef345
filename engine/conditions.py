"""Conditions: parse the YAML form, check it, normalise it and print it for people.

The YAML form (`all` / `any` / `not` / `{fact, <op>: arg}`) is parsed into a small AST.
`to_nnf` pushes negations down to the tests (De Morgan), giving the rule IR both backends
evaluate; `render` prints the AST in the readable form explanations and diffs use.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Union

from engine.diagnostics import suggest
from engine.facts import BOOL, ENUM, FACTS, NUMBER, SET
from engine.operators import FLAG, NUM, OPERATORS, SCALAR, VALUES

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Test:
    fact: str
    op: str
    arg: Any  # scalar, or a tuple for list arguments
    neg: bool = False


@dataclass(frozen=True, slots=True)
class All:
    children: tuple[Node, ...]
    # A named condition (`{ref: name}`) parses to an All of its one expanded body carrying
    # the name, so every walker treats it as plain conjunction; `render` shows the name.
    name: str | None = None


@dataclass(frozen=True, slots=True)
class AnyOf:
    children: tuple[Node, ...]
    # A count (`{at_least: N, of: [...]}`) parses to the Any of the All of every N-subset of
    # `of` (see `at_least`), so every walker sees plain logic; `render` shows the count.
    count: int | None = None
    of: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Union[Test, All, AnyOf, Not]  # noqa: UP007 (used at runtime by isinstance users)
TRUE = All(())
# `at_least` counts at most this many conditions: C(8, 4) = 70 subsets keeps the expansion
# small (a rule's expansion also counts towards the validator's DNF limit)
AT_LEAST_MAX = 8


def at_least(count: int, of: tuple[Node, ...]) -> AnyOf:
    """True when at least `count` of `of` hold: any of the conjunctions of `count` of them."""
    return AnyOf(tuple(All(c) for c in combinations(of, count)), count, of)


@dataclass(frozen=True, slots=True)
class Problem:
    path: JsonPath
    code: str
    message: str
    help: str | None = None


Resolver = Callable[[str, JsonPath], Union[Node, "Problem", None]]


class _Parser:
    def __init__(self, vocab: Mapping[str, Collection[str]] | None,
                 allowed_facts: Collection[str] | None, resolve: Resolver | None = None):
        self.vocab = vocab
        self.allowed = allowed_facts
        self.resolve = resolve
        self.problems: list[Problem] = []

    def parse_ref(self, raw: dict[str, Any], path: JsonPath) -> Node | None:
        name = raw["ref"]
        if len(raw) != 1 or not isinstance(name, str):
            self.fail(path, "condition", "a reference is `{ref: <condition name>}` alone")
            return None
        if self.resolve is None:
            self.fail((*path, "ref"), "ref-not-allowed",
                      f"named condition `{name}` cannot be used here")
            return None
        found = self.resolve(name, (*path, "ref"))
        if isinstance(found, Problem):
            self.problems.append(found)
            return None
        return None if found is None else All((found,), name)

    def fail(self, path: JsonPath, code: str, message: str, help: str | None = None) -> None:
        self.problems.append(Problem(path, code, message, help))

    def parse(self, raw: Any, path: JsonPath) -> Node | None:
        if not isinstance(raw, dict):
            self.fail(path, "condition", "a condition must be a mapping with `all`, `any`, "
                      "`not` or `fact`")
            return None
        if "ref" in raw:
            return self.parse_ref(raw, path)
        if "at_least" in raw or "of" in raw:
            return self.parse_at_least(raw, path)
        combinators = [k for k in ("all", "any", "not") if k in raw]
        if combinators:
            if len(raw) != 1:
                self.fail(path, "condition", "a combinator must be the only key of its mapping",
                          f"found keys {sorted(map(str, raw))}")
                return None
            key = combinators[0]
            if key == "not":
                child = self.parse(raw["not"], (*path, "not"))
                return Not(child) if child is not None else None
            items = raw[key]
            if not isinstance(items, list):
                self.fail((*path, key), "condition", f"`{key}` takes a list of conditions")
                return None
            children = [self.parse(c, (*path, key, i)) for i, c in enumerate(items)]
            if any(c is None for c in children):
                return None
            kids = tuple(c for c in children if c is not None)
            return All(kids) if key == "all" else AnyOf(kids)
        return self.parse_test(raw, path)

    def parse_at_least(self, raw: dict[str, Any], path: JsonPath) -> Node | None:
        """`{at_least: N, of: [...]}`: 1 ≤ N ≤ len(of) ≤ AT_LEAST_MAX."""
        if set(raw) != {"at_least", "of"}:
            self.fail(path, "condition", "a count is `{at_least: N, of: [conditions]}` alone",
                      f"found keys {sorted(map(str, raw))}")
            return None
        count, items = raw["at_least"], raw["of"]
        if not isinstance(items, list) or not items:
            self.fail((*path, "of"), "condition", "`of` takes a non-empty list of conditions")
            return None
        if len(items) > AT_LEAST_MAX:
            self.fail((*path, "of"), "at-least", f"`at_least` counts at most {AT_LEAST_MAX} "
                      f"conditions, got {len(items)}",
                      "group related conditions with `any`, or split the rule")
            return None
        if isinstance(count, bool) or not isinstance(count, int) or \
                not 1 <= count <= len(items):
            self.fail((*path, "at_least"), "at-least", f"`at_least` must be a whole number "
                      f"from 1 to {len(items)} (the number of conditions), got `{count!r}`")
            return None
        children = [self.parse(c, (*path, "of", i)) for i, c in enumerate(items)]
        if any(c is None for c in children):
            return None
        return at_least(count, tuple(c for c in children if c is not None))

    def parse_test(self, raw: dict[str, Any], path: JsonPath) -> Node | None:
        fact = raw.get("fact")
        ops = [k for k in raw if k != "fact"]
        if not isinstance(fact, str):
            self.fail(path, "condition", "a test needs a `fact` name")
            return None
        if len(ops) != 1:
            self.fail(path, "condition", f"a test needs exactly one operator, found {len(ops)}",
                      f"operators: {', '.join(OPERATORS)}")
            return None
        op_name = str(ops[0])
        spec = FACTS.get(fact)
        if spec is None:
            pool = self.allowed if self.allowed is not None else FACTS
            self.fail((*path, "fact"), "unknown-fact", f"unknown fact `{fact}`",
                      suggest(fact, pool))
            return None
        if self.allowed is not None and fact not in self.allowed:
            self.fail((*path, "fact"), "fact-not-allowed", f"fact `{fact}` cannot be used here",
                      "allowed facts: " + ", ".join(f"`{f}`" for f in self.allowed))
            return None
        op = OPERATORS.get(op_name)
        if op is None:
            self.fail((*path, op_name), "unknown-operator", f"unknown operator `{op_name}`",
                      suggest(op_name, OPERATORS))
            return None
        if spec.type not in op.types:
            usable = ", ".join(o.name for o in OPERATORS.values() if spec.type in o.types)
            self.fail((*path, op_name), "operator-type",
                      f"operator `{op_name}` does not apply to {spec.type} fact `{fact}`",
                      f"use one of: {usable}")
            return None
        arg = self.check_arg(fact, spec.type, spec.vocab, op.arg, raw[op_name], (*path, op_name))
        return None if arg is _BAD else Test(fact, op_name, arg)

    def check_arg(self, fact: str, ftype: str, vocab_name: str | None, kind: str, arg: Any,
                  path: JsonPath) -> Any:
        if kind == FLAG:
            if not isinstance(arg, bool):
                self.fail(path, "operator-argument", "`exists` takes `true` or `false`")
                return _BAD
            return arg
        if kind == NUM or (kind == SCALAR and ftype == NUMBER):
            if isinstance(arg, bool) or not isinstance(arg, int | float):
                self.fail(path, "operator-argument", f"`{fact}` is compared with numbers, "
                          f"got `{arg!r}`")
                return _BAD
            return arg
        if kind == SCALAR and ftype == BOOL:
            if not isinstance(arg, bool):
                self.fail(path, "operator-argument", f"`{fact}` is true or false, got `{arg!r}`")
                return _BAD
            return arg
        values = arg if kind == VALUES else [arg]
        if kind == VALUES and (not isinstance(arg, list) or not arg):
            self.fail(path, "operator-argument", "this operator takes a non-empty list")
            return _BAD
        ok = True
        for i, value in enumerate(values):
            sub = (*path, i) if kind == VALUES else path
            if not isinstance(value, str):
                self.fail(sub, "operator-argument", f"`{fact}` values are ids, got `{value!r}`")
                ok = False
            elif not self.in_vocab(vocab_name, value):
                known = self.vocab.get(vocab_name, ()) if self.vocab and vocab_name else ()
                self.fail(sub, "unknown-ref", f"`{value}` is not a known value of `{fact}`",
                          suggest(value, known))
                ok = False
        if not ok:
            return _BAD
        return tuple(values) if kind == VALUES else arg

    def in_vocab(self, vocab_name: str | None, value: str) -> bool:
        if self.vocab is None or vocab_name is None or vocab_name not in self.vocab:
            return True
        return value in self.vocab[vocab_name]


_BAD = object()


def parse(raw: Any, path: JsonPath = (), vocab: Mapping[str, Collection[str]] | None = None,
          allowed_facts: Collection[str] | None = None,
          definitions: Mapping[str, Node | None] | None = None
          ) -> tuple[Node | None, list[Problem]]:
    """Parse a YAML condition; with `vocab`, id arguments are checked against it.

    `definitions` are the parsed named conditions `{ref: name}` may use (None: refs are not
    allowed here); a definition that failed to parse is None and is reported where it is
    defined, not at every use.
    """
    resolve = None if definitions is None else _lookup(definitions)
    parser = _Parser(vocab, allowed_facts, resolve)
    node = parser.parse(raw, path)
    return (node if not parser.problems else None), parser.problems


class _AnyName(Mapping[str, "Node | None"]):
    """Definitions for a structure-only parse: every name exists (checked later)."""

    def __getitem__(self, name: str) -> Node | None:
        return TRUE

    def __contains__(self, name: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


ANY_DEFINITION: Mapping[str, Node | None] = _AnyName()


def _lookup(definitions: Mapping[str, Node | None]) -> Resolver:
    def resolve(name: str, path: JsonPath) -> Node | Problem | None:
        if name not in definitions:
            return Problem(path, "unknown-definition", f"unknown named condition `{name}`",
                           suggest(name, definitions))
        return definitions[name]
    return resolve


def parse_definitions(raw: Mapping[str, tuple[Any, JsonPath]],
                      vocab: Mapping[str, Collection[str]] | None = None
                      ) -> tuple[dict[str, Node | None], dict[str, list[Problem]]]:
    """Parse named conditions (name → (raw condition, path)); they may use one another.

    Problems are given per definition (paths are within its file). A cycle (`a` uses `b`
    uses `a`) is a problem at the reference that closes it; a definition with problems, or
    using one, maps to None.
    """
    done: dict[str, Node | None] = {}
    problems: dict[str, list[Problem]] = {}
    stack: list[str] = []

    def resolve(name: str, path: JsonPath) -> Node | Problem | None:
        if name not in raw:
            return Problem(path, "unknown-definition", f"unknown named condition `{name}`",
                           suggest(name, raw))
        if name in stack:
            cycle = " → ".join([*stack[stack.index(name):], name])
            return Problem(path, "definition-cycle",
                           f"named conditions refer to each other in a cycle: {cycle}")
        if name not in done:
            stack.append(name)
            body, where = raw[name]
            parser = _Parser(vocab, None, resolve)
            node = parser.parse(body, where)
            stack.pop()
            if parser.problems:
                problems[name] = parser.problems
            done[name] = None if parser.problems else node
        return done[name]

    for name in raw:
        resolve(name, raw[name][1])
    return done, problems


def to_nnf(node: Node, negate: bool = False) -> Node:
    """Push `not` down to the tests: the IR has no Not nodes, only negated tests."""
    if isinstance(node, Test):
        return Test(node.fact, node.op, node.arg, node.neg != negate)
    if isinstance(node, Not):
        return to_nnf(node.child, not negate)
    children = tuple(to_nnf(c, negate) for c in node.children)
    conj = isinstance(node, All) != negate
    if len(children) == 1 and isinstance(node, All) and node.name is not None:
        return children[0]  # a named condition is expanded: the IR has no names
    return All(children) if conj else AnyOf(children)


def to_json(node: Node) -> dict[str, Any]:
    """The IR as plain JSON data (for snapshots, digests and the decision log)."""
    if isinstance(node, Test):
        arg = list(node.arg) if isinstance(node.arg, tuple) else node.arg
        return {"test": {"fact": node.fact, "op": node.op, "arg": arg, "neg": node.neg}}
    if isinstance(node, Not):
        return {"not": to_json(node.child)}
    key = "all" if isinstance(node, All) else "any"
    return {key: [to_json(c) for c in node.children]}


def from_json(data: Mapping[str, Any]) -> Node:
    if "test" in data:
        t = data["test"]
        arg = tuple(t["arg"]) if isinstance(t["arg"], list) else t["arg"]
        return Test(t["fact"], t["op"], arg, bool(t.get("neg", False)))
    if "not" in data:
        return Not(from_json(data["not"]))
    if "all" in data:
        return All(tuple(from_json(c) for c in data["all"]))
    return AnyOf(tuple(from_json(c) for c in data["any"]))


def tests(node: Node) -> Iterator[Test]:
    if isinstance(node, Test):
        yield node
    elif isinstance(node, Not):
        yield from tests(node.child)
    else:
        for child in node.children:
            yield from tests(child)


def facts_used(node: Node) -> set[str]:
    return {t.fact for t in tests(node)}


def dnf(node: Node, limit: int = 256) -> list[tuple[Test, ...]] | None:
    """Disjunctive normal form of an NNF node (None when it exceeds `limit` conjunctions)."""
    if isinstance(node, Test):
        return [(node,)]
    if isinstance(node, Not):
        return dnf(to_nnf(node), limit)
    if isinstance(node, AnyOf):
        out: list[tuple[Test, ...]] = []
        for child in node.children:
            part = dnf(child, limit)
            if part is None or len(out) + len(part) > limit:
                return None
            out.extend(part)
        return out
    acc: list[tuple[Test, ...]] = [()]
    for child in node.children:
        part = dnf(child, limit)
        if part is None or len(acc) * len(part) > limit:
            return None
        acc = [a + b for a in acc for b in part]
    return acc


def _fmt_arg(arg: Any) -> str:
    if isinstance(arg, tuple):
        return "[" + ", ".join(_fmt_arg(a) for a in arg) + "]"
    if isinstance(arg, bool):
        return "true" if arg else "false"
    return str(arg)


def render_test(test: Test) -> str:
    op = OPERATORS[test.op]
    if test.op == "exists":
        given = test.arg != test.neg
        return f"{test.fact} is {'given' if given else 'missing'}"
    text = op.text.format(fact=test.fact, arg=_fmt_arg(test.arg))
    return f"not ({text})" if test.neg else text


def render(node: Node, top: bool = True) -> str:
    """Readable one-line form: `a is x and (b include y or not (c < 3))`."""
    if isinstance(node, Test):
        return render_test(node)
    if isinstance(node, Not):
        return f"not ({render(node.child, top=True)})"
    if isinstance(node, All) and node.name is not None:
        return f"{node.name} (= {render(node.children[0], top=True)})"
    if isinstance(node, AnyOf) and node.count is not None:
        listed = ", ".join(render(c, top=False) for c in node.of)
        return f"at least {node.count} of ({listed})"
    if not node.children:
        return "always" if isinstance(node, All) else "never"
    joiner = " and " if isinstance(node, All) else " or "
    text = joiner.join(render(c, top=False) for c in node.children)
    return text if top or len(node.children) == 1 else f"({text})"


def value_types_ok(fact: str, value: Any) -> bool:
    """True when `value` has the Python type the fact's type promises (for normalisation)."""
    spec = FACTS[fact]
    if spec.type == SET:
        return isinstance(value, frozenset)
    if spec.type == NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if spec.type == BOOL:
        return isinstance(value, bool)
    if spec.type == ENUM:
        return isinstance(value, str)
    return isinstance(value, str)
