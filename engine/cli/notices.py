"""`echri notices export|import`: denial notifications shared among Subscribing States, and
the `--registers DIR` option of `evaluate`, `explain`, `validate` and `replay`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine.api import PolicyStore
from engine.cli.exchange import (
    export_options,
    import_options,
    report_import,
    state_code,
    write_export,
)
from engine.diagnostics import format_text
from engine.registers import load_registers
from engine.registers.model import RegisterSet
from engine.registers.notices import export_notices, import_notices
from engine.schemas import printable

if TYPE_CHECKING:  # engine.diff imports every report renderer: only `replay` needs it
    from engine.diff.corpus import Corpus

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


def warn_replay_registers(corpus: Corpus, registers: RegisterSet | None,
                          directory: Path | None) -> None:
    """A warning when recorded decisions were screened against another register set."""
    from engine.diff.corpus import register_keys

    otherwise = corpus.screened_otherwise(
        register_keys(registers.provenance() if registers else ()))
    if not otherwise:
        return
    given = (f"other registers (or none; ids, versions or digests) than those in "
             f"`{directory}`" if directory else "registers, and --registers was not given")
    click.echo(printable(f"warning[registers]: {otherwise} recorded decision(s) were "
                         f"screened against {given}: their screening findings may not "
                         "replay the same"), err=True)
    click.echo("  help: replay with the --registers DIR they were decided with", err=True)


@click.group("notices")
def notices_group() -> None:
    """Denial notifications: export this authority's denials, import other states'."""


@notices_group.command("export")
@click.option("--from", "log_dir", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Decision log directory.")
@click.option("--contact", required=True, help="Contact point for consultations.")
@export_options("Notices", "<state>-denials")
def export_command(log_dir: Path, state: str, tlp: str, contact: str,
                   register_id: str | None, output: Path) -> None:
    """Write this authority's denials as a redacted notices register and manifest."""
    write_export(export_notices(log_dir, state_code(state), tlp, contact, register_id), output)


@notices_group.command("import")
@import_options
def import_command(files: tuple[Path, ...], into: Path, today: str | None) -> None:
    """Validate and merge notices files; a bad file changes nothing (exit 2)."""
    report_import(import_notices(files, into, today))
