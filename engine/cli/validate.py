"""`echri validate [PATH...]`: schema, cross-reference and lint checks of policy versions."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli.notices import registers_option
from engine.diagnostics import FORMATTERS, format_text
from engine.registers import load_registers
from engine.repository import PolicySearchError
from engine.validator import NoPolicyVersions, render, validate_report


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(list(FORMATTERS)), default="text",
              show_default=True, help="Output format (github: workflow annotations).")
@click.option("--no-lint", is_flag=True, help="Skip the lint checks (warnings).")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Policies root holding CHECKSUMS (default: two levels above each version).")
@registers_option
def validate(paths: tuple[Path, ...], fmt: str, no_lint: bool, root: Path | None,
             registers_dir: Path | None = None) -> None:
    """Validate policy versions under PATH... (default: policies).

    Every version without errors is also compiled for each backend and decides one smoke
    case on it, so a version that validates can always be evaluated.

    Exit status: 0 no problem, 1 errors or warnings found, 2 usage error.
    """
    try:
        report = validate_report(list(paths) or [Path("policies")], root, lint=not no_lint,
                                 backends=True)
    except NoPolicyVersions as exc:
        raise click.BadParameter(str(exc), param_hint="PATH") from None
    except PolicySearchError as exc:
        click.echo(format_text(exc.diagnostics), err=True)
        sys.exit(2)
    output = render(report, fmt)
    if output:
        click.echo(output)
    # the register set (--registers DIR), reported after the policies in the same format
    found = [] if registers_dir is None else load_registers(registers_dir)[1]
    found = [d for d in found if not no_lint or d.severity == "error"]
    if found:
        click.echo(FORMATTERS[fmt](found))
    sys.exit(1 if report.diagnostics or found else 0)
