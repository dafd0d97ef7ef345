"""`echri notices export|import`: denial notifications shared among Subscribing States, and
the `--registers DIR` option of `evaluate`, `explain` and `validate`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from engine.api import PolicyStore
from engine.diagnostics import format_text
from engine.registers import load_registers
from engine.registers.model import TLP, RegisterSet
from engine.registers.notices import export_notices, import_notices, manifest_json

EXIT_OK, EXIT_PROBLEMS, EXIT_INPUT = 0, 1, 2


def registers_option(f: Any) -> Any:
    return click.option(
        "--registers", "registers_dir", type=click.Path(file_okay=False, path_type=Path),
        default=None, metavar="DIR",
        help="Screen every party against the register set in DIR (settings.yaml, "
             "*.notices.yaml, *.notes.yaml, imported CSV).")(f)


def load_or_exit(directory: Path) -> RegisterSet:
    """The register set, or its errors on stderr and exit 2 (warnings: `echri validate`)."""
    rs, problems = load_registers(directory)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        click.echo(format_text(errors), err=True)
    if rs is None:
        click.echo(f"error: the registers in `{directory}` are invalid", err=True)
        sys.exit(EXIT_INPUT)
    return rs


def attach(store: PolicyStore, directory: Path | None) -> PolicyStore:
    """`store` screening against the registers in `directory` (unchanged without one)."""
    if directory is not None:
        store.registers = load_or_exit(directory)
    return store


@click.group("notices")
def notices_group() -> None:
    """Denial notifications: export this authority's denials, import other states'."""


@notices_group.command("export")
@click.option("--from", "log_dir", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Decision log directory.")
@click.option("--state", required=True, help="This authority's state code (two letters).")
@click.option("--tlp", type=click.Choice(TLP), default="AMBER", show_default=True)
@click.option("--contact", required=True, help="Contact point for consultations.")
@click.option("--register-id", default=None, help="Register id (default <state>-denials).")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Notices file to write; the manifest goes to FILE.manifest.json.")
def export_command(log_dir: Path, state: str, tlp: str, contact: str,
                   register_id: str | None, output: Path) -> None:
    """Write this authority's denials as a redacted notices register and manifest."""
    state = state.upper()
    if len(state) != 2 or not state.isalpha() or not state.isascii():
        raise click.UsageError("--state must be a two-letter code")
    result = export_notices(log_dir, state, tlp, contact, register_id)
    errors = [p for p in result.problems if p.severity == "error"]
    if result.problems:
        click.echo(format_text(result.problems), err=True)
    if errors:
        sys.exit(EXIT_INPUT)
    output.write_text(result.text, encoding="utf-8")
    Path(f"{output}.manifest.json").write_text(manifest_json(result.manifest),
                                               encoding="utf-8")
    click.echo(json.dumps(result.manifest, sort_keys=True))


@notices_group.command("import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--into", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Register set directory to merge into.")
@click.option("--today", default=None, help="Date expiry is judged on (default: today).")
def import_command(files: tuple[Path, ...], into: Path, today: str | None) -> None:
    """Validate and merge notices files; a bad file changes nothing (exit 2)."""
    report = import_notices(files, into, today)
    if report.problems:
        click.echo(format_text(report.problems), err=True)
    if not report.ok:
        click.echo("error: nothing was imported", err=True)
        sys.exit(EXIT_INPUT)
    click.echo(json.dumps(report.to_dict(), sort_keys=True))
