"""Names of the bounded case space that engine/analysis/inputs.py (the variables) and
engine/analysis/derive/ (the facts of a version over them) share, below both."""

from __future__ import annotations

from engine.compiler import CompiledPolicy

# the named parties of the bounded space (engine/cases/normalizer.py `profiles`): variable →
# role; each may give one of the implicated-party names (`<var>_name_match`). With more
# than one consignee or intermediary (`Inputs.parties`), `Inputs.named` adds `con1`, `int1`…
NAMED = {"eu": "end_user", "con": "consignee", "int": "intermediary", "pur": "purchaser",
         "prev": "previous_consignee"}

UNMAPPED_ENTRY = "0E999.zz"  # a well-formed entry no version maps (checked)


def match_entry(policy: CompiledPolicy, entry: str) -> str | None:
    """The longest mapped prefix on dot boundaries (engine/cases/normalizer.py `match_entry`)."""
    parts = entry.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in policy.control_map:
            return prefix
    return None
