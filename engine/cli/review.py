"""`echri review decision-space`: the grid of outcomes under two versions, for reviewers.

Exit codes: 0 document written (or, with `--check`, up to date); 1 `--check` found FILE
out of date or missing (one line on stderr); 2 usage error, or a version that cannot be
used (every problem is listed).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from engine.api import BackendUnavailable
from engine.cli.output import emit_text
from engine.diagnostics import format_text
from engine.diff import SourceError, load_pair
from engine.repository import PolicySearchError
from engine.review import Settings, decision_space, render_markdown
from engine.review.grid import DEFAULT_PURPOSE, DEFAULT_VALUE, check_settings

EXIT_OK, EXIT_STALE, EXIT_USAGE = 0, 1, 2
DEFAULT_POLICY_DIR = Path("policies")


def _die(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(EXIT_USAGE)


@click.group("review")
def review_group() -> None:
    """Reviews of a policy change for the people who approve it."""


def _command(old: str, new: str, policy_dir: Path, purpose: str, value: int,
             output: Path | None) -> str:
    """The command line that regenerates the document (options at their default left out)."""
    args = ["echri", "review", "decision-space", old, new]
    if policy_dir != DEFAULT_POLICY_DIR:
        args += ["--policy-dir", str(policy_dir)]
    if purpose != DEFAULT_PURPOSE:
        args += ["--purpose", purpose]
    if value != DEFAULT_VALUE:
        args += ["--value", str(value)]
    if output is not None:
        args += ["--output", str(output)]
    return shlex.join(args)


def _check(output: Path, text: str, command: str) -> None:
    try:
        current = output.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = None
    except OSError as exc:
        _die(f"{output}: error[io-error]: cannot read: {exc.strerror or exc}")
    if current == text:
        click.echo(f"{output} is up to date", err=True)
        sys.exit(EXIT_OK)
    state = "is missing" if current is None else "is out of date"
    click.echo(f"{output}: error[stale]: {state}: regenerate it with `{command}`", err=True)
    sys.exit(EXIT_STALE)


@review_group.command("decision-space")
@click.argument("old")
@click.argument("new")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Write the document to FILE instead of standard output.")
@click.option("--check", is_flag=True,
              help="Do not write: exit 1 when FILE (--output) differs from the document.")
@click.option("--purpose", default=DEFAULT_PURPOSE, show_default=True, metavar="ID",
              help="The end-use purpose of every case (an id of both versions).")
@click.option("--value", type=click.IntRange(0), default=DEFAULT_VALUE, show_default=True,
              help="The value of every case's item.")
@click.option("--policy-dir", type=click.Path(path_type=Path), default=DEFAULT_POLICY_DIR,
              show_default=True, help="Where ID@VERSION versions are looked up.")
def decision_space_command(old: str, new: str, output: Path | None, check: bool, purpose: str,
                           value: int, policy_dir: Path) -> None:
    """Outcome and decisive rule of every category × end-user type × band × due diligence.

    OLD and NEW are named as for `echri diff`: ID@VERSION (under --policy-dir), a version
    directory, or git:REF:WHERE. The Markdown document highlights every cell that changed
    (stricter or looser by the outcome precedence) and lists the loosened cells first.

    Exit codes: 0 written (--check: up to date), 1 --check: FILE out of date or missing,
    2 usage error or a version that cannot be used.
    """
    if check and output is None:
        raise click.UsageError("--check needs --output FILE (the file to compare with)")
    try:
        left, right = load_pair(old, new, policy_dir)
    except (SourceError, PolicySearchError) as exc:
        _die(format_text(exc.diagnostics))
    settings = Settings(purpose=purpose, value=value)
    for problem in check_settings(left, right, settings):
        _die(f"error[unknown-id]: {problem}")
    try:
        space = decision_space(left, right, settings)
    except BackendUnavailable as exc:
        _die(f"error[backend]: {exc}")
    command = _command(old, new, policy_dir, purpose, value, output)
    text = render_markdown(space, command)
    if check:
        assert output is not None
        _check(output, text, command)
    emit_text(text, output, "the document")
