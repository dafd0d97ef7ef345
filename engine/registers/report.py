"""A register-set diff (engine/registers/compare.py) as text, Markdown or JSON.

Register text comes from other states: the terminal form strips control sequences, the
Markdown form (for a pull request) escapes HTML, emphasis and links the way the policy diff
does (engine/markdown.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from engine.explain import strip_controls
from engine.markdown import code, escape, table
from engine.registers.compare import CHANGES, KINDS, FieldChange, RegistersDiff

SIGNS = {"added": "+", "removed": "-", "changed": "~"}
TITLES = {"notices": "Denial notifications", "notes": "Risk notes",
          "restricted": "Restricted parties", "implicated": "Implicated parties"}
MAX_VALUE = 80  # characters of a field value shown in text and Markdown


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def _field(f: FieldChange) -> str:
    return f"{f.field}: {_value(f.old)} → {_value(f.new)}"


def _counts(d: RegistersDiff, kind: str) -> str:
    parts = [f"{d.count(kind, c)} {c}" for c in CHANGES if d.count(kind, c)]
    return ", ".join(parts) or "no change"


def render_text(d: RegistersDiff) -> str:
    """One line per change; field changes indented below their entry."""
    out = [f"registers diff: {d.old} → {d.new}"]
    if d.empty:
        return strip_controls("\n".join([*out, "no changes", ""]))
    out.append("summary: " + "; ".join(f"{k} {_counts(d, k)}" for k in KINDS))
    if d.registers:
        out.append("registers:")
        for r in d.registers:
            versions = " → ".join((x or {}).get("version", "(none)") for x in (r.old, r.new))
            out.append(f"  {SIGNS[r.change]} {r.id} ({r.kind}): version {versions}")
    if d.settings:
        out += ["settings:", *(f"  ~ {_field(s)}" for s in d.settings)]
    for kind in KINDS:
        changes = [e for e in d.entries if e.kind == kind]
        if changes:
            out.append(f"{kind}:")
        for e in changes:
            label = f": {e.label}" if e.label else ""
            out.append(f"  {SIGNS[e.change]} {e.id} ({e.register}){label}")
            out += [f"      {_field(f)}" for f in e.fields]
    return strip_controls("\n".join([*out, ""]))


def render_markdown(d: RegistersDiff) -> str:
    """A summary table, then a table per register kind that changed."""
    out = [f"## Register changes: {code(d.old)} → {code(d.new)}", ""]
    if d.empty:
        return "\n".join([*out, "No changes.", ""])
    out += [*table(["Kind", *(c.capitalize() for c in CHANGES)],
                   [[TITLES[k], *(str(d.count(k, c)) for c in CHANGES)] for k in KINDS]), ""]
    if d.registers:
        out += ["### Register files", ""]
        out += table(["Change", "Register", "Kind", "Old version", "New version"],
                     [[r.change, code(r.id), r.kind,
                       *(code(x["version"]) if x else "—" for x in (r.old, r.new))]
                      for r in d.registers], right=5)
        out.append("")
    if d.settings:
        out += ["### Settings", "", *(f"- {escape(_field(s))}" for s in d.settings), ""]
    for kind in KINDS:
        rows = [[e.change, code(e.id), code(e.register), escape(e.label),
                 "<br>".join(escape(_field(f)) for f in e.fields)]
                for e in d.entries if e.kind == kind]
        if rows:
            out += [f"### {TITLES[kind]}", "",
                    *table(["Change", "Id", "Register", "Concerns", "Fields"], rows, right=5),
                    ""]
    return "\n".join(out)


def render_json(d: RegistersDiff) -> str:
    return json.dumps(d.to_dict(), ensure_ascii=False, indent=2) + "\n"


RENDERERS: dict[str, Callable[[RegistersDiff], str]] = {
    "text": render_text, "markdown": render_markdown, "json": render_json}


def render(d: RegistersDiff, fmt: str) -> str:
    """`d` in format `fmt` (a key of RENDERERS)."""
    return RENDERERS[fmt](d)
