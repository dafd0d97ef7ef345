"""Splitting rules into `<id>#k` parts and packing the parts into shards."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.ruleset.alpha import AlphaNetwork, pattern_problem
from engine.ruleset.limits import GUARD, MAX_GROUPS, MAX_RULE_PARTS, Cond, Expr, RulesetError
from engine.ruleset.patterns import count_groups, guarded
from engine.ruleset.translate import and_, or_


def _fits(cond: Cond, scope: str) -> bool:
    return pattern_problem(guarded(scope, cond)) is None


def split(cond: Expr, scope: str) -> list[Expr]:
    """Parts of `cond` whose disjunction is `cond`, each small enough for one durable rule.

    A disjunction is cut into chunks; a conjunction is distributed over its largest
    disjunction (A and (B or C or D) → A and (B or C), A and D), recursively.
    """
    if _fits(cond, scope):
        return [cond]
    if "$or" in cond:
        pieces = [p for child in cond["$or"] for p in split(child, scope)]
        return _pack(pieces, or_, scope)
    if "$and" in cond:
        kids = cond["$and"]
        ors = [i for i, k in enumerate(kids) if "$or" in k]
        if ors:  # too many groups: distribute a short one; too wide: cut the widest
            grouped = count_groups(guarded(scope, cond)) > MAX_GROUPS
            i = max(ors, key=lambda j: (-len(kids[j]["$or"]), count_groups(kids[j]))
                    if grouped else (len(kids[j]["$or"]), 0))
            rest = kids[:i] + kids[i + 1:]
            return _pack(kids[i]["$or"], lambda chunk: and_([*rest, or_(chunk)]), scope)
    problem = pattern_problem(guarded(scope, cond))
    raise RulesetError(f"a condition cannot be split to fit durable-rules: {problem}")


def _pack(items: Sequence[Expr], build: Callable[[list[Expr]], Cond],
          scope: str) -> list[Expr]:
    """Greedy chunks of `items` (largest first-fit, found by bisection) built into parts."""
    out: list[Expr] = []
    i = 0
    while i < len(items):
        if len(out) > MAX_RULE_PARTS:
            raise RulesetError(f"a condition would need more than {MAX_RULE_PARTS} durable "
                               "rules: simplify it (fewer alternatives inside `all`)")
        first = build([items[i]])
        assert isinstance(first, dict)
        if not _fits(first, scope):
            out.extend(split(first, scope))
            i += 1
            continue
        lo, hi = 1, len(items) - i
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if _fits(build(list(items[i:i + mid])), scope):
                lo = mid
            else:
                hi = mid - 1
        part = build(list(items[i:i + lo]))
        assert isinstance(part, dict)
        out.append(part)
        i += lo
    return out


def _shard(pieces: Sequence[tuple[str, Expr]], scope: str) -> list[list[tuple[str, Expr]]]:
    """First-fit packing of patterns into rulesets that stay within every limit."""
    always: Expr = {GUARD: scope}
    shards: list[tuple[AlphaNetwork, list[tuple[str, Expr]]]] = []
    for name, pattern in pieces:
        for net, members in shards:
            mark = net.mark()
            net.add(pattern)
            if net.problem() is None:
                members.append((name, pattern))
                break
            net.rollback(mark)
        else:
            net = AlphaNetwork()
            net.add(always)
            net.add(pattern)
            problem = net.problem()
            if problem is not None:
                raise RulesetError(f"durable rule `{name}` does not fit in a ruleset: {problem}")
            shards.append((net, [(name, pattern)]))
    return [members for _, members in shards]
