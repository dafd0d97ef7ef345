"""Cross-reference checks of destination evidence: territories that inherit their
sovereign's measures (`inherits_from`) name a known destination and never close a cycle.

Registered in engine/validator/xref.py `XREF_CHECKS`; the lint for evidence past its
`review_by` date is `evidence-review` in engine/validator/lint.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.diagnostics import Diagnostic, suggest
from engine.validator.context import Context


def check_inheritance(ctx: Context) -> Iterator[Diagnostic]:
    """`inherits_from.code` is a known destination; following the codes never loops."""
    doc = ctx.doc("destinations")
    if doc is None:
        return
    given = doc.data["destinations"]
    parents = {code: d["inherits_from"]["code"] for code, d in given.items()
               if isinstance(d.get("inherits_from"), dict)}
    reported: set[str] = set()
    for code, parent in parents.items():
        path = ("destinations", code, "inherits_from", "code")
        if parent not in given:
            yield doc.diagnostic(path, "unknown-ref", f"destination `{code}` inherits from "
                                 f"unknown destination `{parent}`", suggest(parent, given))
            continue
        chain = [code]
        while chain[-1] in parents and parents[chain[-1]] not in chain:
            chain.append(parents[chain[-1]])
        if chain[-1] in parents and parents[chain[-1]] == code and code not in reported:
            reported.update(chain)
            cycle = " → ".join([*chain, code])
            yield doc.diagnostic(path, "inheritance-cycle",
                                 f"destinations inherit from each other in a cycle: {cycle}",
                                 help="a territory inherits from its sovereign: remove the "
                                      "`inherits_from` of the sovereign")
