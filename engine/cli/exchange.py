"""What `echri notices` and `echri notes` share: the state code, writing an export with its
manifest, and reporting an import (exit 2 and nothing written on an error)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from engine.cli.output import emit_text
from engine.diagnostics import format_text
from engine.registers.exchange import ExportResult, ImportReport, manifest_json
from engine.registers.model import TLP

EXIT_INPUT = 2


def export_options(noun: str, default_id: str) -> Callable[[Any], Any]:
    """--state, --tlp, --register-id and --output of an export command."""
    def wrap(f: Any) -> Any:
        f = click.option("--output", required=True,
                         type=click.Path(dir_okay=False, path_type=Path),
                         help=f"{noun} file to write; the manifest goes to "
                              "FILE.manifest.json.")(f)
        f = click.option("--register-id", default=None,
                         help=f"Register id (default {default_id}).")(f)
        f = click.option("--tlp", type=click.Choice(TLP), default="AMBER",
                         show_default=True, help="Handling marking of the export.")(f)
        return click.option("--state", required=True,
                            help="This authority's state code (two letters).")(f)
    return wrap


def import_options(f: Any) -> Any:
    """FILE... , --into and --today of an import command."""
    f = click.option("--today", default=None,
                     help="Date expiry is judged on (default: today).")(f)
    f = click.option("--into", required=True, type=click.Path(file_okay=False, path_type=Path),
                     help="Register set directory to merge into.")(f)
    return click.argument("files", nargs=-1, required=True,
                          type=click.Path(exists=True, dir_okay=False, path_type=Path))(f)


def state_code(state: str) -> str:
    """The state code upper-cased, or a usage error."""
    state = state.upper()
    if len(state) != 2 or not state.isalpha() or not state.isascii():
        raise click.UsageError("--state must be a two-letter code")
    return state


def write_export(result: ExportResult, output: Path) -> None:
    """Problems on stderr (exit 2 on an error), else FILE, FILE.manifest.json and the
    manifest on stdout."""
    if result.problems:
        click.echo(format_text(result.problems), err=True)
    if any(p.severity == "error" for p in result.problems):
        sys.exit(EXIT_INPUT)
    emit_text(result.text, output, "the export", announce=False)
    emit_text(manifest_json(result.manifest), Path(f"{output}.manifest.json"), "the manifest",
              announce=False)
    click.echo(json.dumps(result.manifest, sort_keys=True))


def report_import(report: ImportReport) -> None:
    """Problems on stderr (exit 2: nothing was imported), else the JSON report."""
    if report.problems:
        click.echo(format_text(report.problems), err=True)
    if not report.ok:
        click.echo("error: nothing was imported", err=True)
        sys.exit(EXIT_INPUT)
    click.echo(json.dumps(report.to_dict(), sort_keys=True))
