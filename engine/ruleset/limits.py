"""What the ruleset modules share: expression types, reserved keys, engine limits, the error."""

from __future__ import annotations

from typing import Any, Union

Expr = dict[str, Any]
Cond = Union[Expr, bool]  # noqa: UP007 (True / False stand for "always" / "never")

GUARD = "kind"
ALWAYS = "__always__"
RESERVED_KEYS = ("sid", "id", GUARD)  # engine message ids and the scope guard

# Limits (engine limit in brackets, see durable_rules.md)
MAX_GROUPS = 15  # $and/$or groups per pattern: the guard's $and + 14 [exact: 16 → error 113]
MAX_PATTERN_TESTS = 2000  # tests in one pattern [a sanity cap: 5,000 chained tests work]
MAX_SHARD_RULES = 300  # durable rules per ruleset [~400 → error 303 in practice]
MAX_NODE_TESTS = 400  # distinct tests under one alpha node [513 → endless loop]
MAX_NODE_JOINS = 100  # `$or` join nodes and `$nex` tests under one alpha node [128 → error 107]
MAX_NODE_RULES = 200  # rules ending on one alpha node [256 → error 108]
MAX_STACK = 48  # worst-case alpha stack while matching one record [64 → error 303]
MAX_PROPERTIES = 200  # properties per record, sid/id/kind included [252 → error 302]
MAX_RULE_PARTS = 256  # durable rules one IR rule may be split into
MAX_NUMBER = 1e15


class RulesetError(ValueError):
    """The policy cannot be expressed as durable-rules rulesets within the engine limits."""
