"""`echri schema generate`: the editor schemas of policy versions (engine/editor/).

Exit codes: 0 written (`--check`: up to date); 1 `--check`: a generated file differs, is
missing or is no longer generated, or a version does not validate; 2 usage error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.diagnostics import format_text
from engine.editor import generate
from engine.model import Policy
from engine.repository import PolicySearchError, find_version_dirs, load_version_source
from engine.validator import validate_version
from engine.versions import VersionError, parse_ref

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _version_dirs(policy_dir: Path, refs: tuple[str, ...]) -> list[Path]:
    if not refs:
        return find_version_dirs(policy_dir)
    out = []
    for ref in refs:
        pid, version = parse_ref(ref, policy_dir)
        out.append(policy_dir / pid / version)
    return out


@click.group("schema")
def schema_group() -> None:
    """Editor schemas that know each version's vocabulary (yaml-language-server)."""


@schema_group.command("generate")
@click.argument("versions", nargs=-1, metavar="[ID@VERSION|VERSION]...")
@click.option("--policy-dir", type=click.Path(path_type=Path), default=Path("policies"),
              show_default=True, help="Directory holding the policies.")
@click.option("--output", type=click.Path(path_type=Path),
              default=Path("schemas/generated"), show_default=True,
              help="Where <policy>/<version>/<kind>.schema.json are written.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 when a generated file is not up to date.")
def generate_command(versions: tuple[str, ...], policy_dir: Path, output: Path,
                     check: bool) -> None:
    """Generate the editor schemas of VERSIONS (default: every version under --policy-dir)."""
    try:
        dirs = _version_dirs(policy_dir, versions)
    except (VersionError, PolicySearchError) as exc:
        click.echo(format_text(exc.diagnostics), err=True)
        sys.exit(EXIT_USAGE)
    policies: list[Policy] = []
    for path in dirs:
        policy, found = validate_version(load_version_source(path), lint=False)
        if policy is None:
            click.echo(format_text([d for d in found if d.severity == "error"]), err=True)
            click.echo(f"error: `{path}` does not validate: no editor schemas", err=True)
            sys.exit(EXIT_FAILED)
        policies.append(policy)
    report = generate(policies, output, check=check)
    if check:
        for path in report.stale:
            click.echo(f"{path}: out of date (run `echri schema generate`)", err=True)
        if report.stale:
            sys.exit(EXIT_FAILED)
        click.echo(f"editor schemas of {len(policies)} version(s) up to date")
        return
    for path in report.written:
        click.echo(f"wrote {path}")
    click.echo(f"editor schemas of {len(policies)} version(s) in {output}")
