"""`echri bundle build|keygen|sign|verify`: signed policy bundles for `echri serve --bundle`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from engine.diagnostics import Diagnostic, DiagnosticError, format_text

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_FILE = click.Path(dir_okay=False, path_type=Path)


def _fail(where: object, code: str, message: str, exit_code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"{where}: error[{code}]: {message}", err=True)
    sys.exit(exit_code)


def _problems(problems: list[Diagnostic]) -> None:
    for d in sorted(problems, key=Diagnostic.sort_key):
        click.echo(format_text([d]), err=True)


@click.group("bundle")
def bundle_group() -> None:
    """Build, sign and verify policy bundles (tar.gz + manifest + Ed25519 signature)."""


@bundle_group.command("build")
@click.option("--policy-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("policies"), show_default=True)
@click.option("--revision", default=None,
              help="Revision recorded in the manifest (default: `git rev-parse HEAD`).")
@click.option("-o", "--output", type=_FILE, required=True, help="The bundle to write.")
def build(policy_dir: Path, revision: str | None, output: Path) -> None:
    """Pack every policy version and CHECKSUMS with a manifest (unsigned; see `sign`)."""
    from engine.bundle import BuildError, build_bundle, write_atomically

    try:
        data, manifest = build_bundle(policy_dir, revision)
    except BuildError as exc:
        _fail(policy_dir, "bundle-build", str(exc))
    except DiagnosticError as exc:  # the policies do not load: nothing to bundle
        _problems(list(exc.diagnostics))
        sys.exit(EXIT_FAILED)
    try:
        write_atomically(output, data)
    except OSError as exc:
        _fail(output, "io-error", f"cannot write the bundle: {exc.strerror or exc}")
    versions = ", ".join(f"{p['id']}@{p['version']}" for p in manifest.policies)
    click.echo(f"{output}: {len(manifest.files)} file(s), revision {manifest.revision}: "
               f"{versions}")


@bundle_group.command("keygen")
@click.option("-o", "--output", type=_FILE, required=True,
              help="Private key file (PEM); the public key goes to OUTPUT.pub.")
def keygen(output: Path) -> None:
    """Create an Ed25519 key pair for signing bundles (never overwrites)."""
    from engine.bundle import generate_key

    try:
        public = generate_key(output)
    except FileExistsError as exc:
        _fail(exc.filename or output, "io-error", "exists already (keys are never overwritten)")
    except OSError as exc:
        _fail(output, "io-error", f"cannot write the key: {exc.strerror or exc}")
    click.echo(f"private key {output} (keep it secret), public key {public}")


@bundle_group.command("sign")
@click.argument("bundle", type=_FILE)
@click.option("--key", "key", type=_FILE, required=True, help="Private key (PEM).")
def sign(bundle: Path, key: Path) -> None:
    """Add or replace the bundle's signature.json (signs the manifest's canonical JSON)."""
    from engine.bundle import (
        BundleVerificationError,
        KeyFileError,
        UnreadableArchive,
        sign_bundle,
    )

    try:
        manifest = sign_bundle(bundle, key)
    except (UnreadableArchive, KeyFileError) as exc:
        _fail(bundle, "bundle-unreadable", str(exc))
    except BundleVerificationError as exc:
        _problems(list(exc.diagnostics))
        sys.exit(EXIT_FAILED)
    except OSError as exc:
        _fail(bundle, "io-error", f"cannot write the bundle: {exc.strerror or exc}")
    click.echo(f"{bundle}: signed (revision {manifest.revision})")


@bundle_group.command("verify")
@click.argument("bundle", type=_FILE)
@click.option("--verify-key", type=_FILE, required=True, help="Public key (PEM).")
def verify(bundle: Path, verify_key: Path) -> None:
    """Check the signature and every file digest: exit 0 ok, 1 failed, 2 unreadable."""
    from engine.bundle import KeyFileError, UnreadableArchive, verify_bundle

    try:
        result = verify_bundle(bundle, verify_key)
    except (UnreadableArchive, KeyFileError) as exc:
        _fail(bundle, "bundle-unreadable", str(exc))
    if not result.ok:
        _problems(result.problems)
        click.echo(f"{bundle}: verification failed ({len(result.problems)} problem(s))")
        sys.exit(EXIT_FAILED)
    assert result.manifest is not None
    click.echo(f"{bundle}: ok, revision {result.manifest.revision}, "
               f"{len(result.manifest.files)} file(s)")
