"""A model of the engine's alpha network, and the limits one pattern must stay within."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

from engine.ruleset.limits import (
    GUARD,
    MAX_GROUPS,
    MAX_NODE_JOINS,
    MAX_NODE_RULES,
    MAX_NODE_TESTS,
    MAX_PATTERN_TESTS,
    MAX_SHARD_RULES,
    MAX_STACK,
    Expr,
)
from engine.ruleset.patterns import atom, count_groups, walk_atoms
from engine.ruleset.translate import _OPS


class _Alpha:
    __slots__ = ("joins", "rules", "tests")

    def __init__(self) -> None:
        self.tests: dict[tuple[str, str, str], _Alpha] = {}
        self.joins: list[_Alpha] = []
        self.rules = 0


class AlphaNetwork:
    """What `create_ruleset` builds from patterns (rete.c `createAlpha`/`findAlpha`).

    A test is shared with an identical test under the same parent; `$and` chains its
    children; `$or` hangs every branch under the parent and links each branch end to a new,
    unshared join node. Join nodes and `$nex` tests are kept in one list per node (events.c
    `handleAlpha`: `nextList`, at most 128 entries); the other tests in a hash set by key.
    When a record is asserted the engine walks this graph depth first with a 64-entry
    stack, pushing every join node, every `$nex` test whose key the record lacks and every
    other test that matches, so the worst case is bounded per node by: joins + the most
    tests on each key that one value (or its absence) passes (`stack_bound`).
    """

    def __init__(self) -> None:
        self.root = _Alpha()
        self.rules = 0
        self._undo: list[tuple[str, _Alpha, Any]] = []

    def add(self, pattern: Expr) -> None:
        end = self._insert(pattern, self.root)
        end.rules += 1
        self.rules += 1
        self._undo.append(("rule", end, None))

    def _insert(self, expr: Expr, parent: _Alpha) -> _Alpha:
        if "$and" in expr:
            node = parent
            for child in expr["$and"]:
                node = self._insert(child, node)
            return node
        if "$or" in expr:
            join = _Alpha()
            for child in expr["$or"]:
                end = self._insert(child, parent)
                end.joins.append(join)
                self._undo.append(("join", end, None))
            return join
        name, key, rhs = atom(expr)
        test = (name, key, json.dumps(rhs))
        found = parent.tests.get(test)
        if found is None:
            found = parent.tests[test] = _Alpha()
            self._undo.append(("test", parent, test))
        return found

    def mark(self) -> int:
        return len(self._undo)

    def rollback(self, mark: int) -> None:
        while len(self._undo) > mark:
            kind, node, test = self._undo.pop()
            if kind == "test":
                del node.tests[test]
            elif kind == "join":
                node.joins.pop()
            else:
                node.rules -= 1
                self.rules -= 1

    def problem(self) -> str | None:
        """The first engine limit this network would reach, or None."""
        if self.rules > MAX_SHARD_RULES:
            return f"more than {MAX_SHARD_RULES} rules in one ruleset"
        bound, found = self._analyse()
        if found:
            return found[0]
        if bound > MAX_STACK:
            return f"matching could need {bound} alpha stack entries (limit {MAX_STACK})"
        return None

    def stack_bound(self) -> int:
        return self._analyse()[0]

    def _analyse(self) -> tuple[int, list[str]]:
        """Worst-case stack (post-order over the graph, iterative: chains can be long)."""
        memo: dict[int, int] = {}
        seen: set[int] = set()
        found: list[str] = []
        todo: list[tuple[_Alpha, bool]] = [(self.root, False)]
        while todo:
            node, expanded = todo.pop()
            children = [*node.tests.values(), *node.joins]
            if not expanded:
                if id(node) in seen:  # joins have several parents: expand once
                    continue
                seen.add(id(node))
                todo.append((node, True))
                todo.extend((c, False) for c in children if id(c) not in seen)
                continue
            found.extend(_node_problems(node))
            result = 0
            if children:
                by_key: dict[str, list[tuple[str, Any]]] = {}
                for op, key, rhs in node.tests:
                    by_key.setdefault(key, []).append((op, json.loads(rhs)))
                k = len(node.joins) + sum(_max_true(t) for t in by_key.values())
                result = max(k, k - 1 + max(memo[id(c)] for c in children))
            memo[id(node)] = result
        return memo[id(self.root)], found


def _node_problems(node: _Alpha) -> list[str]:
    out = []
    if len(node.tests) > MAX_NODE_TESTS:
        out.append(f"{len(node.tests)} distinct tests under one node (limit {MAX_NODE_TESTS})")
    listed = len(node.joins) + sum(1 for op, _, _ in node.tests if op == "$nex")
    if listed > MAX_NODE_JOINS:
        out.append(f"{listed} `$or` joins and `$nex` tests under one node "
                   f"(limit {MAX_NODE_JOINS})")
    if node.rules > MAX_NODE_RULES:
        out.append(f"{node.rules} rules end on one node (limit {MAX_NODE_RULES})")
    return out


def _max_true(tests: list[tuple[str, Any]]) -> int:
    """Most tests on one key that a single value, or its absence, can pass (a key has one
    type; an absent key passes its `$nex` tests and nothing else)."""
    absent = sum(1 for op, _ in tests if op == "$nex")
    tests = [(op, rhs) for op, rhs in tests if op != "$nex"]
    if not tests:
        return absent
    values = [rhs for _, rhs in tests]
    if all(type(v) in (int, float) for v in values):
        points = sorted(set(values))
        candidates: list[Any] = [points[0] - 1, points[-1] + 1, *points,
                                 *((a + b) / 2 for a, b in pairwise(points))]
    else:
        candidates = [*values, object()]  # a value equal to none of them
    return max(absent, *(sum(1 for op, rhs in tests if _holds(op, v, rhs)) for v in candidates))


def _holds(op: str, value: Any, rhs: Any) -> bool:
    try:
        return _OPS[op](value, rhs)
    except TypeError:  # an ordering on mixed types cannot hold
        return False


def pattern_problem(pattern: Expr) -> str | None:
    """Why one rule pattern cannot be created (alone, next to `__always__`), or None."""
    groups = count_groups(pattern)
    if groups > MAX_GROUPS:
        return f"{groups} `$and`/`$or` groups in one pattern (limit {MAX_GROUPS})"
    n = sum(1 for _ in walk_atoms(pattern))
    if n > MAX_PATTERN_TESTS:
        return f"{n} tests in one pattern (limit {MAX_PATTERN_TESTS})"
    net = AlphaNetwork()
    net.add({GUARD: "x"})
    net.add(pattern)
    return net.problem()
