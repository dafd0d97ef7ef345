"""`echri registers diff`: what changed between two register sets.

Exit codes, as for `echri diff`: 0 report written; 1 `--fail-on` matched (listed on
stderr); 2 usage error, or a register set that cannot be loaded (every error listed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli.output import emit_text
from engine.diagnostics import format_text
from engine.explain import strip_controls
from engine.registers import load_registers
from engine.registers.compare import FAIL_ON, diff_registers, fail_on_lines, tripped
from engine.registers.model import RegisterSet
from engine.registers.report import RENDERERS, render

EXIT_OK, EXIT_FAIL_ON, EXIT_USAGE = 0, 1, 2


@click.group("registers")
def registers_group() -> None:
    """Register sets (denial notifications, risk notes, restricted and implicated parties)."""


def _load(directory: Path) -> RegisterSet:
    rs, problems = load_registers(directory)
    errors = [p for p in problems if p.severity == "error"]
    if rs is None:
        click.echo(format_text(errors), err=True)
        click.echo(f"error: the registers in `{directory}` are invalid", err=True)
        sys.exit(EXIT_USAGE)
    return rs


@registers_group.command("diff")
@click.argument("old_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("new_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(list(RENDERERS)), default="text",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Write the report to FILE instead of standard output.")
@click.option("--fail-on", type=click.Choice(FAIL_ON), default=None,
              help="Exit 1 when entries were added, removed or changed (any: any difference, "
              "thresholds and register versions included).")
def diff_command(old_dir: Path, new_dir: Path, fmt: str, output: Path | None,
                 fail_on: str | None) -> None:
    """Entries added, removed and changed from OLD_DIR to NEW_DIR, per register kind.

    Exit codes: 0 report written, 1 --fail-on matched, 2 usage error or a register set
    that cannot be loaded.
    """
    report = diff_registers(_load(old_dir), _load(new_dir), str(old_dir), str(new_dir))
    emit_text(render(report, fmt), output, "the report")
    for line in fail_on_lines(report, fail_on):
        click.echo(strip_controls(line), err=True)
    sys.exit(EXIT_FAIL_ON if tripped(report, fail_on) else EXIT_OK)
