"""`echri version new|release|checksums`: the authoring workflow of policy versions.

Exit codes: 0 done; 1 the version cannot be released or released files changed (every
problem is listed); 2 usage error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from engine.api import DEFAULT_BACKEND
from engine.diagnostics import format_text
from engine.repository import PolicySearchError
from engine.versions import VersionError, new_version, record_checksums, release_version

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _policy_dir(f: Any) -> Any:
    return click.option("--policy-dir", type=click.Path(path_type=Path),
                        default=Path("policies"), show_default=True,
                        help="Directory holding the policies (and CHECKSUMS).")(f)


def _fail(exc: VersionError) -> None:
    click.echo(format_text(exc.diagnostics), err=True)
    sys.exit(EXIT_FAILED)


class _VersionGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PolicySearchError as exc:  # --policy-dir points at a huge tree: usage
            click.echo(format_text(exc.diagnostics), err=True)
            sys.exit(EXIT_USAGE)


@click.group("version", cls=_VersionGroup)
def version() -> None:
    """Create, release and checksum policy versions (released versions are immutable)."""


@version.command("new")
@click.argument("new")
@click.option("--from", "source", required=True, metavar="ID@VERSION",
              help="The version to copy.")
@click.option("--effective-from", metavar="YYYY-MM-DD", default=None,
              help="First day the new version applies (default: the day after the old one "
              "ends, else 1 January of the new version's year).")
@_policy_dir
def new(new: str, source: str, effective_from: str | None, policy_dir: Path) -> None:
    """Copy a version into a new draft NEW (ID@VERSION or VERSION)."""
    try:
        path = new_version(policy_dir, new, source, effective_from)
    except VersionError as exc:
        _fail(exc)
    click.echo(f"created draft {path} (edit it, list its `changes`, then "
               f"`echri version release`)")


@version.command("release")
@click.argument("ref")
@click.option("--fixtures", type=click.Path(path_type=Path), default=Path("fixtures"),
              show_default=True, help="Fixtures that must pass and fire every rule.")
@click.option("--backend", type=click.Choice(["durable", "python"]), default=DEFAULT_BACKEND,
              show_default=True, help="Rules engine deciding the fixtures.")
@click.option("--accept-changes", is_flag=True,
              help="Release although fixtures written for earlier versions get another "
                   "result under REF (they are listed as accepted changes).")
@_policy_dir
def release(ref: str, fixtures: Path, backend: str, accept_changes: bool,
            policy_dir: Path) -> None:
    """Validate draft REF, run every fixture under it, mark it released, record checksums.

    Fixtures pinned to another version stay pinned; all others run under REF and must
    together fire every rule of it. A fixture whose expectation REF changes blocks the
    release until it is pinned to the version it was written for, or --accept-changes.
    """
    try:
        result = release_version(policy_dir, ref, fixtures, backend, accept_changes)
    except VersionError as exc:
        _fail(exc)
    for note in result.notes:
        click.echo(note)
    click.echo(f"released {result.path}: {len(result.checksums)} file checksum(s) recorded "
               f"in {policy_dir / 'CHECKSUMS'}")


@version.command("checksums")
@click.option("--check", is_flag=True, help="Only check; write nothing.")
@_policy_dir
def checksums(check: bool, policy_dir: Path) -> None:
    """Record CHECKSUMS for released versions that have none; report changed files."""
    report = record_checksums(policy_dir, write=not check)
    for rel in report.changed:
        click.echo(f"{policy_dir / rel}: error[checksum]: released file changed", err=True)
    for rel in report.missing:
        click.echo(f"{policy_dir / rel}: error[checksum]: released file is missing", err=True)
    verb = "would record" if check or not report.ok else "recorded"
    click.echo(f"{len(report.versions)} released version(s); {verb} "
               f"{len(report.added)} new checksum(s)")
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)
