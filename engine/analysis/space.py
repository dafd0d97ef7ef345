"""Names of the bounded case space that engine/analysis/inputs.py (the variables) and
engine/analysis/derive/ (the facts of a version over them) share, below both."""

from __future__ import annotations

# the named parties of the bounded space (engine/cases/normalizer.py `profiles`): variable →
# role; each may give one of the implicated-party names (`<var>_name_match`). With more
# than one consignee or intermediary (`Inputs.parties`), `Inputs.named` adds `con1`, `int1`…
NAMED = {"eu": "end_user", "con": "consignee", "int": "intermediary", "pur": "purchaser",
         "prev": "previous_consignee"}

UNMAPPED_ENTRY = "0E999.zz"  # a well-formed entry no version maps (checked)

