"""Writing a command's document to `--output FILE` or to stdout, one way for every command."""

from __future__ import annotations

import sys
from pathlib import Path

import click

EXIT_USAGE = 2  # the exit code of every command for a file it cannot write


def emit_text(text: str, output: Path | None, what: str = "", announce: bool = True) -> None:
    """`text` on stdout, or written to `output` (then `wrote FILE` on stderr if `announce`);
    a file that cannot be written is `FILE: error[io-error]: cannot write WHAT: reason` and
    exit 2."""
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        noun = f" {what}" if what else ""
        click.echo(f"{output}: error[io-error]: cannot write{noun}: {exc.strerror or exc}",
                   err=True)
        sys.exit(EXIT_USAGE)
    if announce:
        click.echo(f"wrote {output}", err=True)
