"""`echri notes export|import`: shared risk notes among Subscribing States."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.exchange import (
    export_options,
    import_options,
    report_import,
    state_code,
    write_export,
)
from engine.registers.notes import export_notes, import_notes


@click.group("notes")
def notes_group() -> None:
    """Shared risk notes: export this authority's notes, import other states'."""


@notes_group.command("export")
@click.option("--from", "register_dir", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Register set directory holding this authority's *.notes.yaml.")
@click.option("--today", default=None,
              help="Date review expiry is judged on (default: today).")
@export_options("Notes", "<state>-notes")
def export_command(register_dir: Path, today: str | None, state: str, tlp: str,
                   register_id: str | None, output: Path) -> None:
    """Write this authority's risk notes, redacted for sharing under --tlp, and manifest."""
    write_export(export_notes(register_dir, state_code(state), tlp, register_id, today),
                 output)


@notes_group.command("import")
@import_options
def import_command(files: tuple[Path, ...], into: Path, today: str | None) -> None:
    """Validate and merge notes files; a bad file changes nothing (exit 2)."""
    report_import(import_notes(files, into, today))
