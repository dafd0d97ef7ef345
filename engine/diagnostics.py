"""Diagnostics: one problem with a code, a location and one line of text.

Every step that inspects user input (loader, validator, case normalisation, fixtures)
reports problems as `Diagnostic` values. They are collected, sorted by location and
rendered by one of the formatters in `FORMATTERS` (text, json, github), following the
OPA / yamllint / Cedar conventions: lowercase message, user input in backticks, no final
period, advice in a separate help line.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    severity: str = "error"  # error | warning
    help: str | None = None

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file or "", self.line or 0, self.column or 0, self.code, self.message)

    @property
    def location(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class DiagnosticError(Exception):
    """Raised by library code when input cannot be used at all; carries every problem."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        first = self.diagnostics[0] if self.diagnostics else None
        super().__init__(format_text([first]) if first else "invalid input")


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """Return a `did you mean` help line for a misspelt id, or None."""
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.75)
    return f"did you mean `{matches[0]}`?" if matches else None


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def format_text(diagnostics: Sequence[Diagnostic]) -> str:
    lines: list[str] = []
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        lines.append(f"{d.location}: {d.severity}[{d.code}]: {d.message}")
        if d.help:
            lines.append(f"  help: {d.help}")
    return "\n".join(lines)


def format_json(diagnostics: Sequence[Diagnostic]) -> str:
    items = [d.to_dict() for d in sorted(diagnostics, key=Diagnostic.sort_key)]
    return json.dumps({"problems": items, "count": len(items)}, indent=2, ensure_ascii=False)


def _github_escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    """A workflow-command property value: `:` and `,` would end it, a newline the command."""
    return _github_escape(text).replace(":", "%3A").replace(",", "%2C")


def format_github(diagnostics: Sequence[Diagnostic]) -> str:
    lines = []
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        props = []
        if d.file:
            props.append(f"file={_github_property(d.file)}")
        if d.line is not None:
            props.append(f"line={_github_property(str(d.line))}")
        if d.column is not None:
            props.append(f"col={_github_property(str(d.column))}")
        props.append(f"title={_github_property(d.code)}")
        text = d.message + (f" ({d.help})" if d.help else "")
        level = "error" if d.severity == "error" else "warning"
        lines.append(f"::{level} {','.join(props)}::{_github_escape(text)}")
    return "\n".join(lines)


FORMATTERS: dict[str, Callable[[Sequence[Diagnostic]], str]] = {
    "text": format_text,
    "json": format_json,
    "github": format_github,
}
