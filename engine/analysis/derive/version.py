"""The world of one version: every fact as an expression of the shared inputs."""

from __future__ import annotations

import z3

from engine.analysis.derive.case import CaseFacts
from engine.analysis.derive.choices import Choices
from engine.analysis.derive.item import ItemDerived
from engine.analysis.encode import World
from engine.analysis.inputs import Inputs
from engine.compiler import CompiledPolicy


def world_of(inputs: Inputs, policy: CompiledPolicy) -> tuple[World, dict[str, z3.BoolRef]]:
    """The facts of `policy` as expressions of `inputs`, and the variable of each assurance
    the inputs may give."""
    d, i = Choices(inputs, policy), inputs
    case = CaseFacts(d)
    unknown = [d.unknown_code("dest")]
    unknown += [d.unknown_code(v) for v in (*d.party_vars, "route", "exp")]
    unknown += [d.choice_unknown("eu_type", i.types, "end_user_types"),
                d.choice_unknown("purpose", i.purposes, "end_use_purposes"),
                *(d.choice_unknown(r, i.roles, "intermediary_roles") for r in i.role_vars),
                d.choice_unknown("currency", i.currencies, "currencies")]
    unknown += [i.b[f"flag:{f}"] for f in i.flags if f not in policy.vocab["red_flags"]]
    unknown += [i.b[f"assured:{a}"] for a in i.assurances
                if a not in policy.vocab["assurances"]]
    items = []
    for j in range(i.items):
        item = ItemDerived(d, case, j)
        unknown.append(z3.And(i.item_exists(j), item.declared_unknown))
        items.append(item.item())
    case.items = items
    found = World(case, [it for it, _ in items], z3.Or(unknown), z3.Not(d.known("dest")),
                  z3.Or([i.declares_ground(j) for j in range(i.items)]))
    return found, {a: i.b[f"assured:{a}"] for a in i.assurances}
