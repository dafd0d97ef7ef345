"""Synthetic compiled policies for the durable backend's tests.

`demo()` is the small demo policy of tests/support.py; `with_rules` swaps its rules for
synthetic ones (`make_rule`), and `random_rules` draws rules over every fact and operator
from the demo vocabularies, so cases from engine.generator hit them often.
"""

from __future__ import annotations

import atexit
import random
import shutil
import tempfile
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from engine import conditions
from engine.compiler import CompiledPolicy, CompiledRule
from engine.conditions import All, AnyOf, Node, Not, Test
from engine.facts import BOOL, FACTS, NUMBER, is_item_fact
from engine.operators import FLAG, MEMBER, NUM, OPERATORS, SCALAR, VALUES
from tests import support

NUMBERS = (0, 1, 2, 3, 5, 50, 70, 98, 100, 1000, 100000, 0.5, 99.99, 250000.25)
OUTCOMES = ("deny", "refer", "request_information", "approve_with_conditions", "approve")


@cache
def demo() -> CompiledPolicy:
    """The demo policy of tests/support.py, compiled once per test session."""
    root = Path(tempfile.mkdtemp(prefix="echri-demo-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return support.compiled(root)


def make_rule(rule_id: str, when: Node | dict[str, Any], outcome: str = "refer",
              message: str = "{rule.id} for {items}") -> CompiledRule:
    """A compiled rule from an IR node or a YAML-form condition (vocabulary not checked)."""
    if isinstance(when, dict):
        node, problems = conditions.parse(when)
        assert node is not None, problems
        when = node
    nnf = conditions.to_nnf(when)
    scope = "item" if any(is_item_fact(f) for f in conditions.facts_used(nnf)) else "case"
    return CompiledRule(id=rule_id, scope=scope, condition=nnf, readable=conditions.render(when),
                        outcome=outcome, title=rule_id, message=message, commitments=(),
                        basis=(), require_assurances=(), conditions=())


def with_rules(policy: CompiledPolicy, rules: list[CompiledRule]) -> CompiledPolicy:
    return replace(policy, rules=tuple(rules))


def random_test(rng: random.Random, vocab: dict[str, frozenset[str]],
                facts: list[str] | None = None) -> Test:
    fact = rng.choice(facts or sorted(FACTS))
    spec = FACTS[fact]
    ops = sorted(name for name, op in OPERATORS.items() if spec.type in op.types)
    op = OPERATORS[rng.choice(ops)]
    values = sorted(vocab.get(spec.vocab or "", ())) or ["alpha", "beta", "gamma"]
    arg: Any
    if op.arg == FLAG:
        arg = rng.random() < 0.7
    elif op.arg == NUM or (op.arg == SCALAR and spec.type == NUMBER):
        arg = rng.choice(NUMBERS)
    elif op.arg == SCALAR and spec.type == BOOL:
        arg = rng.random() < 0.5
    elif op.arg in (SCALAR, MEMBER):
        arg = rng.choice(values)
    else:
        assert op.arg == VALUES
        arg = tuple(rng.sample(values, rng.randint(1, min(3, len(values)))))
    return Test(fact, op.name, arg, rng.random() < 0.3)


def random_condition(rng: random.Random, vocab: dict[str, frozenset[str]], depth: int = 3,
                     facts: list[str] | None = None) -> Node:
    roll = rng.random()
    if depth == 0 or roll < 0.45:
        return random_test(rng, vocab, facts)
    if roll < 0.47:
        return All(()) if rng.random() < 0.5 else AnyOf(())
    if roll < 0.55:
        return Not(random_condition(rng, vocab, depth - 1, facts))
    kids = tuple(random_condition(rng, vocab, depth - 1, facts) for _ in range(rng.randint(1, 4)))
    return All(kids) if roll < 0.8 else AnyOf(kids)


def random_rules(n: int, seed: int, vocab: dict[str, frozenset[str]] | None = None,
                 prefix: str = "r", facts: list[str] | None = None) -> list[CompiledRule]:
    rng = random.Random(seed)
    vocab = vocab if vocab is not None else demo().vocab
    return [make_rule(f"{prefix}{i}", random_condition(rng, vocab, facts=facts),
                      rng.choice(OUTCOMES)) for i in range(n)]


def random_policy(n: int = 120, seed: int = 0) -> CompiledPolicy:
    """The demo policy with its own rules plus `n` random ones."""
    base = demo()
    return with_rules(base, [*base.rules, *random_rules(n, seed)])


