"""Structural changes the new version's `changes:` (policy.yaml) does not mention.

Matching is deliberately simple, so authors can predict it: an element change is
*declared* when a line of `changes:` mentions the element's id (for a rename, the old or
the new id) as a whole word: not inside a longer id, where letters, digits, `_`, `-` and
`.` continue an id (`deny-x` is not mentioned by `deny-x-y`). A line that names the file
holding the element declares every change in that file (`destinations.yaml`,
`risk_bands.yaml`, `rules/embargoes.yaml`; for rules the file they are written in).
Not checked: the metadata element (version, status and dates change with every version)
and elements that changed only in provenance (source, as_of, note).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from engine.diff.structural import ElementChange, StructuralDiff

FILES = {  # element kind → the policy file that holds it (rules: their own file)
    "commitments": "policy.yaml", "sources": "sources.yaml", "groups": "categories.yaml",
    "categories": "categories.yaml", "control_entries": "categories.yaml",
    "factors": "risk_bands.yaml", "band_rules": "risk_bands.yaml",
    "destinations": "destinations.yaml", "end_user_types": "end_users.yaml",
    "red_flags": "end_users.yaml", "purposes": "end_users.yaml", "roles": "end_users.yaml",
    "assurances": "assurances.yaml", "license_conditions": "assurances.yaml",
    "information": "information.yaml", "sanctions": "sanctions.yaml",
    "implicated_parties": "implicated_parties.yaml",
}
UNCHECKED = ("metadata",)
_ID_CHAR = r"[A-Za-z0-9_.\-]"


@dataclass(frozen=True, slots=True)
class Undeclared:
    kind: str  # section title, e.g. "Rules"
    id: str  # `old → new` for a rename
    change: str  # added | removed | changed | renamed

    def message(self) -> str:
        return f"{self.kind.lower()} `{self.id}` {self.change} but no line of `changes:` " \
               "mentions it"


def mentions(lines: Iterable[str], word: str) -> bool:
    """True when `word` occurs in a line as a whole id (see the module docstring)."""
    pattern = re.compile(rf"(?<!{_ID_CHAR}){re.escape(word)}(?!{_ID_CHAR}*[A-Za-z0-9_])")
    return any(pattern.search(line) for line in lines)


def _file(kind: str, change: ElementChange) -> str | None:
    if kind == "rules":
        file = next((f.new or f.old for f in change.fields if f.field == "file"), None)
        return file
    return FILES.get(kind)


def undeclared(structure: StructuralDiff, changes: tuple[str, ...],
               rule_files: dict[str, str] | None = None) -> tuple[Undeclared, ...]:
    """Element changes of `structure` that no line of `changes` mentions, in report order."""
    out = []
    for section in structure.sections:
        if section.kind in UNCHECKED:
            continue
        for c in section.changes:
            if not c.substantive and c.change == "changed":
                continue  # provenance only
            ids = [c.id] + ([c.old_id] if c.old_id else [])
            file = (rule_files or {}).get(c.id) if section.kind == "rules" else None
            file = file or _file(section.kind, c)
            if any(mentions(changes, i) for i in ids) or (file and mentions(changes, file)):
                continue
            name = f"{c.old_id} → {c.id}" if c.old_id else c.id
            out.append(Undeclared(section.title, name, c.change))
    return tuple(out)
