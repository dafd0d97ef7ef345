"""What denial notifications and risk notes share on their way between Subscribing States.

An `EntryKind` names what differs between the two (list key, schema, the field naming the
sharing state, when an entry has expired, the register version written); the rest is one
piece of code:

- `exported`: a register document of one kind, validated, written deterministically (a
  modeline, keys in schema order, entries sorted by id) with its manifest and sha256;
- `import_entries`: every file (and the stored entries) is validated first; a YAML or schema
  error, an id with two contents among the files, or a stored id with another sharing state
  is an error and nothing is written. Then by id: new → `added`, equal → `unchanged`, newly
  `revoked` → `revoked`, other change → `updated`; an incoming expired entry is not added
  (`expired`); when something changed, stored entries that have expired are removed
  (`dropped`). Touched register files are rewritten by an atomic replace.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.diagnostics import Diagnostic
from engine.loader import load_yaml_bytes
from engine.registers.loader import SETTINGS, digest
from engine.schemas import check_data, check_document

MASK_PREFIXES = ("hmac-sha256:", "[masked]")  # engine/decisionlog/masking.py

Entry = dict[str, Any]


@dataclass(frozen=True, slots=True)
class EntryKind:
    """One kind of shared register entry (denial notifications, risk notes)."""

    noun: str  # notice | note
    key: str  # the list in the register document: notices | notes
    register_kind: str  # denial_notifications | risk_notes
    schema: str  # register-notices | register-notes
    owner: str  # the field naming the sharing state: notifying_state | shared_by
    expired: Callable[[Mapping[str, Any], str], bool]  # (entry, today) → no longer applies
    # the version of a written register: (its entries, the versions it was merged from)
    version: Callable[[Sequence[Mapping[str, Any]], Sequence[str]], str]

    @property
    def suffix(self) -> str:
        return f".{self.key}.yaml"

    @property
    def format(self) -> str:
        return f"echri-{self.key}-export/1"

    @property
    def header(self) -> str:
        return f"# yaml-language-server: $schema=../schemas/{self.schema}.schema.json\n"


def clear_name(value: Any) -> str | None:
    """The name if it was kept in clear, else None (masked or blank)."""
    if not isinstance(value, str) or not value.strip():
        return None
    if value.startswith(MASK_PREFIXES):
        return None
    return value.strip()


def render(kind: EntryKind, rid: str, version: str, entries: Iterable[Entry]
           ) -> tuple[str, list[Diagnostic]]:
    """The register file of `entries` (sorted by id) and its schema problems."""
    ordered = sorted(entries, key=lambda e: str(e["id"]))
    doc = {"register": {"id": rid, "kind": kind.register_kind, "version": version},
           kind.key: ordered}
    problems = check_data(kind.schema, doc, rid)
    text = kind.header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    return text, problems


@dataclass(slots=True)
class ExportResult:
    text: str
    manifest: dict[str, Any]
    problems: list[Diagnostic] = field(default_factory=list)


def exported(kind: EntryKind, rid: str, version: str, entries: Sequence[Entry],
             manifest: Mapping[str, Any]) -> ExportResult:
    """An export of `entries` with its manifest: `manifest` plus format, register, version,
    the number of entries and the sha256 of the text."""
    text, problems = render(kind, rid, version, entries)
    full = {"format": kind.format, "register": rid, "version": version, **manifest,
            kind.key: len(entries), "sha256": digest(text.encode("utf-8"))}
    return ExportResult(text, full, problems)


def manifest_json(manifest: Mapping[str, Any]) -> str:
    return json.dumps(manifest, sort_keys=True, indent=2) + "\n"


@dataclass(slots=True)
class ImportReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)  # incoming, not added
    dropped: list[str] = field(default_factory=list)  # stored, now expired: removed
    problems: list[Diagnostic] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {k: sorted(getattr(self, k)) for k in
                ("added", "updated", "revoked", "unchanged", "expired", "dropped", "written")}


@dataclass(frozen=True, slots=True)
class RegisterFile:
    """A validated register file of one kind."""

    id: str
    version: str
    entries: tuple[Entry, ...]
    path: Path


def read_file(kind: EntryKind, path: Path, problems: list[Diagnostic]) -> RegisterFile | None:
    """The register file at `path`, or None (its problems appended)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Diagnostic("io-error", f"cannot read: {exc}", str(path)))
        return None
    doc = load_yaml_bytes(raw, str(path))
    problems.extend(doc.diagnostics)
    if not doc.ok:
        return None
    found = check_document(doc, kind.schema)
    problems.extend(found)
    if found:
        return None
    head = doc.data["register"]
    return RegisterFile(head["id"], str(head["version"]), tuple(doc.data[kind.key]), path)


def read_stored(kind: EntryKind, directory: Path, problems: list[Diagnostic]
                ) -> list[RegisterFile]:
    """Every register file of `kind` in a register set directory, by file name."""
    paths = sorted(directory.glob("*" + kind.suffix)) if directory.is_dir() else []
    return [f for f in (read_file(kind, p, problems) for p in paths) if f is not None]


@dataclass(slots=True)
class _Merge:
    kind: EntryKind
    today: str
    report: ImportReport
    stored: dict[str, tuple[str, Entry]] = field(default_factory=dict)  # id → (register, entry)
    paths: dict[str, Path] = field(default_factory=dict)  # register id → its file
    versions: dict[str, list[str]] = field(default_factory=dict)  # register id → versions

    def conflicts(self, files: Sequence[RegisterFile]) -> dict[str, tuple[RegisterFile, Entry]]:
        """The incoming entries by id; two contents for one id, or another sharing state
        than the stored entry's, is a problem."""
        owner, noun = self.kind.owner, self.kind.noun
        incoming: dict[str, tuple[RegisterFile, Entry]] = {}
        for f in files:
            for e in f.entries:
                prev = incoming.get(e["id"])
                if prev is not None and prev[1] != e:
                    self.report.problems.append(Diagnostic(
                        "conflict", f"{noun} `{e['id']}` differs between `{prev[0].path}` and "
                        "this file", str(f.path)))
                old = self.stored.get(e["id"])
                if old is not None and old[1][owner] != e[owner]:
                    self.report.problems.append(Diagnostic(
                        "conflict", f"{noun} `{e['id']}` is stored as shared by "
                        f"{old[1][owner]}, this file says {e[owner]}", str(f.path)))
                incoming[e["id"]] = (f, e)
        return incoming

    def merge(self, incoming: Mapping[str, tuple[RegisterFile, Entry]]
              ) -> dict[str, tuple[str, Entry]]:
        report, merged = self.report, dict(self.stored)
        for eid, (f, e) in sorted(incoming.items()):
            if self.kind.expired(e, self.today):
                report.expired.append(eid)
                continue
            old = merged.get(eid)
            if old is None:
                report.added.append(eid)
            elif old[1] == e:
                report.unchanged.append(eid)
                continue
            elif e.get("revoked") and not old[1].get("revoked"):
                report.revoked.append(eid)
            else:
                report.updated.append(eid)
            rid = old[0] if old else f.id
            merged[eid] = (rid, e)
            self.versions.setdefault(rid, []).append(f.version)
        # stored entries that expired leave the register with the next change (an import
        # that adds nothing writes nothing: an expired or repeated file changes nothing)
        changed = report.added or report.updated or report.revoked
        for eid, (_, e) in list(merged.items()) if changed else ():
            if self.kind.expired(e, self.today):
                del merged[eid]
                report.dropped.append(eid)
        return merged


def import_entries(kind: EntryKind, files: Iterable[Path], into: Path, today: str
                   ) -> ImportReport:
    """Validate, merge and write; nothing is written when a problem is an error."""
    report = ImportReport()
    m = _Merge(kind, today, report)
    for f in read_stored(kind, into, report.problems):
        m.paths[f.id] = f.path
        m.versions.setdefault(f.id, []).append(f.version)
        m.stored.update((e["id"], (f.id, e)) for e in f.entries)
    incoming = m.conflicts([f for f in (read_file(kind, Path(p), report.problems)
                                        for p in files) if f is not None])
    if not report.ok:
        return report
    merged = m.merge(incoming)
    changed = [*report.added, *report.updated, *report.revoked]
    touched = {merged[i][0] for i in changed} | {m.stored[i][0] for i in report.dropped}
    if touched:
        _write(kind, into, merged, touched, m, report)
    return report


def _write(kind: EntryKind, into: Path, merged: Mapping[str, tuple[str, Entry]],
           touched: set[str], m: _Merge, report: ImportReport) -> None:
    """Write every touched register file (validated first), each by an atomic replace."""
    texts: dict[Path, str] = {}
    for rid in sorted(touched):
        entries = [e for r, e in merged.values() if r == rid]
        text, problems = render(kind, rid, kind.version(entries, m.versions.get(rid, [])),
                                entries)
        if problems:
            report.problems.extend(problems)
            return
        texts[m.paths.get(rid, into / f"{rid}{kind.suffix}")] = text
    into.mkdir(parents=True, exist_ok=True)
    if not (into / SETTINGS).exists():
        texts[into / SETTINGS] = "registers: echri-registers/1\n"
    for path, text in texts.items():
        fd, tmp = tempfile.mkstemp(dir=into, prefix=".import-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
        report.written.append(path.name)
