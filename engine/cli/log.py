"""`echri log verify DIR`: check the hash chain of a decision log.

Exit codes: 0 every stream verifies (a torn last line is a warning), 1 a record was edited,
removed or reordered (each problem listed with FILE:LINE), 2 DIR cannot be read.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from engine.decisionlog import LogConfig, LogWriter, verify_log
from engine.decisionlog.masking import MASK_MODES, Masker, MaskingError, make_masker
from engine.decisionlog.writer import parse_fsync

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def log_options(f: Any) -> Any:
    """The decision-log options shared by `serve` and `evaluate --batch`."""
    f = click.option("--mask-key-file", type=click.Path(dir_okay=False), default=None,
                     help="Key of the `hmac` masking (else the ECHRI_LOG_KEY variable).")(f)
    f = click.option("--mask-path", "mask_paths", multiple=True, metavar="POINTER",
                     help="JSON pointer to mask (`*` for every element; repeatable; replaces the "
                          "default set: the names of the end user, intermediaries, consignees, "
                          "purchaser and previous consignee).")(f)
    f = click.option("--mask", type=click.Choice(MASK_MODES), default="hmac",
                     show_default=True, help="How personal data is masked in the log.")(f)
    f = click.option("--log-rotate-daily/--no-log-rotate-daily", default=True,
                     show_default=True, help="Start a new log file each UTC day.")(f)
    f = click.option("--log-rotate-bytes", type=click.IntRange(0), default=64 * 1024 * 1024,
                     show_default=True, metavar="N", help="Start a new file past N bytes "
                     "(0: never).")(f)
    f = click.option("--log-fsync", default="always", show_default=True,
                     metavar="always|SECONDS", help="fsync each record, or every SECONDS.")(f)
    return f


def check_log_options(log_fsync: str, mask: str, mask_paths: tuple[str, ...],
                      mask_key_file: str | None) -> None:
    """Fail (exit 2) before anything starts when the log options cannot be used."""
    open_log_options(log_fsync, mask, mask_paths, mask_key_file)


def open_log_options(log_fsync: str, mask: str, mask_paths: tuple[str, ...],
                     mask_key_file: str | None) -> tuple[float, Masker]:
    """The fsync interval and the masker; exit 2 when the options cannot be used."""
    try:
        return parse_fsync(log_fsync), make_masker(mask, mask_paths, mask_key_file)
    except (ValueError, MaskingError) as exc:
        click.echo(f"error[log-options]: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def open_log_writer(directory: Path, log_fsync: str, log_rotate_bytes: int,
                    log_rotate_daily: bool, mask: str, mask_paths: tuple[str, ...],
                    mask_key_file: str | None) -> tuple[LogWriter, Masker]:
    """A writer of a new stream in `directory` and its masker (exit 2 on bad options)."""
    interval, masker = open_log_options(log_fsync, mask, mask_paths, mask_key_file)
    try:
        writer = LogWriter(LogConfig(directory, interval, log_rotate_bytes, log_rotate_daily))
    except OSError as exc:
        click.echo(f"{directory}: error[io-error]: cannot open the decision log: "
                   f"{exc.strerror or exc}", err=True)
        sys.exit(EXIT_USAGE)
    return writer, masker



@click.group("log")
def log_group() -> None:
    """Work with decision logs (written by `echri serve --log-dir` and `evaluate --log`)."""


@log_group.command("verify")
@click.argument("directory", type=click.Path(path_type=Path))
def verify(directory: Path) -> None:
    """Verify every stream's hash chain; print each stream's head (last seq and hash)."""
    if not directory.is_dir():
        click.echo(f"{directory}: error[io-error]: not a directory", err=True)
        sys.exit(EXIT_USAGE)
    try:
        report = verify_log(directory)
    except OSError as exc:
        click.echo(f"{directory}: error[io-error]: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_USAGE)
    for line in report.warnings:
        click.echo(f"{line} (warning)", err=True)
    for line in report.errors:
        click.echo(f"{line} (error)", err=True)
    for state in report.streams.values():
        click.echo(f"stream {state.stream}: {state.records} record(s), head seq {state.seq} "
                   f"{state.head}")
    verdict = "ok" if report.ok else f"FAILED ({len(report.errors)} problem(s))"
    click.echo(f"{report.records} record(s) in {len(report.streams)} stream(s): {verdict}")
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)
