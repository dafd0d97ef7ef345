"""`echri serve`: run the HTTP service (uvicorn; workers are processes)."""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any

import click

from engine.api import DEFAULT_BACKEND
from engine.cli.log import check_log_options, log_options
from engine.service.config import (
    DEFAULT_KEEPALIVE_REQUESTS,
    DEFAULT_MAX_BATCH_ITEMS,
    DEFAULT_MAX_BODY,
    ENV_CONFIG,
    ServiceConfig,
)

EXIT_USAGE = 2


def _log_config(level: str) -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["echri"] = {"handlers": ["default"], "level": level.upper(),
                                  "propagate": False}
    return config


def _check_bundle(bundle: Path | None, verify_key: Path | None) -> tuple[Path, Path]:
    """Both options, and a bundle that verifies (else exit 2); absolute paths for workers.

    Each worker verifies the bundle again when it loads it: this check only makes a bad
    bundle a clear startup error instead of workers failing one after the other.
    """
    from engine.bundle import KeyFileError, UnreadableArchive, verify_bundle
    from engine.diagnostics import format_text

    if bundle is None or verify_key is None:
        click.echo("error[bundle]: --bundle and --verify-key go together", err=True)
        sys.exit(EXIT_USAGE)
    try:
        result = verify_bundle(bundle, verify_key)
    except (UnreadableArchive, KeyFileError) as exc:
        click.echo(f"{bundle}: error[bundle-unreadable]: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if not result.ok:
        click.echo(format_text(result.problems), err=True)
        click.echo(f"{bundle}: error[bundle]: the bundle failed verification: not serving it",
                   err=True)
        sys.exit(EXIT_USAGE)
    return bundle.resolve(), verify_key.resolve()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind (loopback unless told otherwise).")
@click.option("--port", type=click.IntRange(0, 65535), default=8181, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes, each loading the policies once.")
@click.option("--policy-dir", type=click.Path(path_type=Path), default=Path("policies"),
              show_default=True)
@click.option("--backend", type=click.Choice(["durable", "python"]), default=DEFAULT_BACKEND,
              show_default=True)
@click.option("--log-dir", type=click.Path(file_okay=False), default=None,
              help="Write the decision log here (none without it).")
@log_options
@click.option("--max-body-bytes", type=click.IntRange(1), default=DEFAULT_MAX_BODY,
              show_default=True, help="Largest body of POST /v1/decisions.")
@click.option("--max-batch-bytes", type=click.IntRange(1), default=16 * 1024 * 1024,
              show_default=True, help="Largest body of POST /v1/decisions:batch.")
@click.option("--max-batch-items", type=click.IntRange(1), default=DEFAULT_MAX_BATCH_ITEMS,
              show_default=True, help="Most cases in one batch.")
@click.option("--token-file", type=click.Path(dir_okay=False), default=None,
              help="Bearer tokens (one per line) required on /v1/*.")
@click.option("--admin-token-file", type=click.Path(dir_okay=False), default=None,
              help="Enables POST /v1/admin/reload for these bearer tokens.")
@click.option("--bundle", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Serve the policies of this signed bundle (instead of --policy-dir).")
@click.option("--verify-key", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Ed25519 public key (PEM) the bundle must be signed with.")
@click.option("--registers", "registers_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, metavar="DIR",
              help="Screen every party against the register set in DIR.")
@click.option("--ssl-certfile", default=None, help="TLS certificate (uvicorn).")
@click.option("--ssl-keyfile", default=None, help="TLS private key (uvicorn).")
@click.option("--ssl-ca-certs", default=None,
              help="CA bundle for client certificates (with --ssl-cert-reqs 2: required).")
@click.option("--ssl-cert-reqs", type=click.IntRange(0, 2), default=0, show_default=True)
@click.option("--worker-start-timeout", type=click.IntRange(1, 3600), default=60,
              show_default=True, help="Seconds a new worker may take to load and self-test "
              "the policies before a SIGHUP replacement gives up and keeps the old one.")
@click.option("--keepalive-requests", type=click.IntRange(0, 1_000_000),
              default=DEFAULT_KEEPALIVE_REQUESTS, show_default=True,
              help="Requests a connection carries before the server closes it (0: no "
              "limit); the client reconnects, which spreads connections over the workers.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True)
def serve(host: str, port: int, workers: int, policy_dir: Path, backend: str,
          log_dir: str | None, log_fsync: str, log_rotate_bytes: int, log_rotate_daily: bool,
          mask: str, mask_paths: tuple[str, ...], mask_key_file: str | None,
          max_body_bytes: int, max_batch_bytes: int, max_batch_items: int,
          token_file: str | None, admin_token_file: str | None, bundle: Path | None,
          verify_key: Path | None, registers_dir: Path | None, ssl_certfile: str | None,
          ssl_keyfile: str | None, ssl_ca_certs: str | None, ssl_cert_reqs: int,
          worker_start_timeout: int, keepalive_requests: int, log_level: str) -> None:
    """Serve decisions over HTTP (POST /v1/decisions; docs at GET /openapi.json).

    With --bundle FILE --verify-key KEY the policies come from a signed bundle, verified at
    every (re)load; a bundle that fails verification is refused (exit 2 at startup).

    SIGHUP reloads the policies: with one worker in place (a failed reload keeps the loaded
    set, /readyz says why); with several, uvicorn replaces the workers one by one and keeps
    an old one when its replacement does not start. POST /v1/admin/reload does the same
    (with several workers: checks the new set, then has the supervisor replace them all).
    """
    if log_dir:
        check_log_options(log_fsync, mask, mask_paths, mask_key_file)
    from engine.service.auth import TokenFileError, read_tokens

    for path in (token_file, admin_token_file):
        try:
            if path:
                read_tokens(path)
        except TokenFileError as exc:
            click.echo(f"error[token-file]: {exc}", err=True)
            sys.exit(EXIT_USAGE)
    if bundle is not None or verify_key is not None:
        bundle, verify_key = _check_bundle(bundle, verify_key)
    config = ServiceConfig(
        policy_dir=str(policy_dir), backend=backend, log_dir=log_dir, log_fsync=log_fsync,
        log_rotate_bytes=log_rotate_bytes, log_rotate_daily=log_rotate_daily, mask=mask,
        mask_paths=mask_paths or None, mask_key_file=mask_key_file,
        max_body_bytes=max_body_bytes, max_batch_bytes=max_batch_bytes,
        max_batch_items=max_batch_items, token_file=token_file,
        admin_token_file=admin_token_file, bundle=str(bundle) if bundle else None,
        verify_key=str(verify_key) if verify_key else None,
        registers=str(registers_dir.resolve()) if registers_dir else None, workers=workers,
        keepalive_requests=keepalive_requests)
    if registers_dir is not None:  # a bad set is exit 2 here, not failing workers
        from engine.cli.notices import load_or_exit

        load_or_exit(registers_dir)
    os.environ[ENV_CONFIG] = config.to_json()
    import uvicorn

    uvicorn.run("engine.service.app:create_app", factory=True, host=host, port=port,
                workers=workers, access_log=False, log_config=_log_config(log_level),
                log_level=log_level, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
                ssl_ca_certs=ssl_ca_certs, ssl_cert_reqs=ssl_cert_reqs,
                timeout_graceful_shutdown=10,
                # uvicorn's default (5 s) is shorter than loading and self-testing the
                # policies on a busy machine: every SIGHUP replacement was given up
                timeout_worker_healthcheck=worker_start_timeout)
