"""What every check of one version works on: the loaded source, the built model, and the
raw entries of each file with their JSON paths (so a diagnostic points at the exact value).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.diagnostics import Diagnostic
from engine.loader import Document, JsonPath
from engine.model import Policy, Rule
from engine.repository import VersionSource

# Where conditions live in each file kind: (path to the list, key of the condition).
CONDITION_LISTS: dict[str, JsonPath] = {
    "rules": ("rules",),
    "information": ("requirements",),
    "risk_bands": ("bands", "rules"),
}


@dataclass(frozen=True, slots=True)
class Entry:
    """A mapping inside a list of a document (a rule, a category, ...) and its JSON path."""

    doc: Document
    path: JsonPath
    data: dict[str, Any]

    def at(self, *sub: str | int) -> JsonPath:
        return (*self.path, *sub)

    def error(self, sub: JsonPath, code: str, message: str, help: str | None = None,
              key: bool = False) -> Diagnostic:
        return self.doc.diagnostic((*self.path, *sub), code, message, help, key=key)

    def owner(self) -> str:
        """How messages name the entry: rule `x`, requirement `x` or band rule `high`."""
        if self.path[0] == "bands":
            return f"band rule `{self.data.get('band')}`"
        kind = "requirement" if self.path[0] == "requirements" else "rule"
        return f"{kind} `{self.data.get('id')}`"

    def line(self) -> str:
        mark = self.doc.locate(self.path)
        return f"{self.doc.path}:{mark.line}" if mark else self.doc.path


def get(data: Any, path: JsonPath) -> Any:
    """The value at `path` in plain data, or None when any step is missing."""
    for step in path:
        if isinstance(step, int) and isinstance(data, list) and 0 <= step < len(data):
            data = data[step]
        elif isinstance(step, str) and isinstance(data, dict):
            data = data.get(step)
        else:
            return None
    return data


def entries(doc: Document | None, path: JsonPath) -> list[Entry]:
    """The mappings of the list at `path` in `doc` (nothing when it is not a list)."""
    items = get(doc.data, path) if doc is not None else None
    if doc is None or not isinstance(items, list):
        return []
    return [Entry(doc, (*path, i), item) for i, item in enumerate(items) if isinstance(item, dict)]


def condition_entries(src: VersionSource) -> Iterator[tuple[Entry, JsonPath]]:
    """Every entry that has a `when` condition, with the path of that condition."""
    for kind, list_path in CONDITION_LISTS.items():
        for _, doc in src.of_kind(kind):
            for entry in entries(doc, list_path):
                if "when" in entry.data:
                    yield entry, entry.at("when")


@dataclass(frozen=True, slots=True)
class Context:
    """One schema-valid version: its source and its model."""

    src: VersionSource
    policy: Policy

    def doc(self, kind: str) -> Document | None:
        return self.src.one(kind)

    def entries(self, kind: str, *path: str | int) -> list[Entry]:
        return [e for _, doc in self.src.of_kind(kind) for e in entries(doc, path)]

    def rule_entries(self) -> list[Entry]:
        """Rules of every rules file, then information requirements (the model's order)."""
        return self.entries("rules", "rules") + self.entries("information", "requirements")

    def located_rules(self) -> list[tuple[Rule, Entry]]:
        """Each model rule with the raw entry it was built from."""
        return list(zip(self.policy.rules, self.rule_entries(), strict=True))
