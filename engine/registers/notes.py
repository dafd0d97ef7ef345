"""Shared risk notes out of and into a register set.

`export_notes` takes this authority's notes (`shared_by` is its state) from a register set
directory and redacts them for sharing under a TLP marking: a note marked more restrictively
than the marking is withheld (`withheld_tlp`; a RED note never leaves in an AMBER file),
every exported note carries the marking, a note past its review date is not shared
(`expired`), and an end-user subject kept masked (an HMAC pseudonym or `[masked]`) is left
out; a note with nothing left to say what it concerns is skipped (`skipped_unshareable`).
Revoked notes are exported, so that the revocation reaches the states that hold them. The
output is deterministic (notes sorted by id; the register version is the latest version of
the registers the notes come from) and has a manifest with the sha256 of the file.

`import_notes` merges notes files into a register set, by note id, exactly as notices are
merged (engine/registers/exchange.py): a note expires the day after its `review_by`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.diagnostics import Diagnostic
from engine.registers.exchange import (
    EntryKind,
    ExportResult,
    ImportReport,
    clear_name,
    exported,
    import_entries,
    read_stored,
)
from engine.registers.model import TLP


def _expired(raw: Mapping[str, Any], today: str) -> bool:
    return str(raw["review_by"]) < today


def _version(_notes: Sequence[Mapping[str, Any]], merged_from: Sequence[str]) -> str:
    """The latest version among the registers merged (the sharing state's versions)."""
    return max(merged_from, default="none")


NOTES = EntryKind(noun="note", key="notes", register_kind="risk_notes",
                  schema="register-notes", owner="shared_by", expired=_expired,
                  version=_version)


def redacted(note: Mapping[str, Any], tlp: str) -> dict[str, Any] | None:
    """The note as shared under `tlp`; None when it cannot say what it concerns."""
    subject = {k: v for k, v in (note.get("subject") or {}).items()
               if k != "end_user" or clear_name(v) is not None}
    if not subject:
        return None
    return {**note, "subject": subject, "tlp": tlp}


def export_notes(register_dir: Path, state: str, tlp: str, register_id: str | None = None,
                 today: str | None = None) -> ExportResult:
    """This authority's notes in `register_dir` as a notes register (text) and manifest."""
    today = today or dt.date.today().isoformat()
    problems: list[Diagnostic] = []
    files = read_stored(NOTES, register_dir, problems)
    if not files and not problems:
        problems.append(Diagnostic("no-notes", f"no `*{NOTES.suffix}` file in "
                                   f"`{register_dir}`", str(register_dir)))
    rank = TLP.index(tlp)
    notes: dict[str, dict[str, Any]] = {}
    versions: list[str] = []
    counts = {"withheld_tlp": 0, "expired": 0, "skipped_unshareable": 0}
    for f in files:
        for note in f.entries:
            if note["shared_by"] != state:
                continue
            shared = redacted(note, tlp)
            if TLP.index(note["tlp"]) > rank:
                counts["withheld_tlp"] += 1
            elif _expired(note, today):
                counts["expired"] += 1
            elif shared is None:
                counts["skipped_unshareable"] += 1
            else:
                notes[note["id"]] = shared
                versions.append(f.version)
    ordered = list(notes.values())
    result = exported(NOTES, register_id or f"{state.lower()}-notes", _version(ordered, versions),
                      ordered, {"shared_by": state, "tlp": tlp, **counts})
    result.problems[:0] = problems
    return result


def import_notes(files: Iterable[Path], into: Path, today: str | None = None) -> ImportReport:
    """Validate, merge and write notes files; nothing is written when a problem is an
    error (engine/registers/exchange.py)."""
    return import_entries(NOTES, files, into, today or dt.date.today().isoformat())


__all__ = ["NOTES", "export_notes", "import_notes", "redacted"]
