"""`echri evaluate` and `echri explain`: decide licence cases from files or stdin."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import IO, Any

import click

from engine.api import (
    DEFAULT_BACKEND,
    BackendUnavailable,
    PolicyLoadError,
    PolicyStore,
    VersionSelectionError,
    load,
)
from engine.batch import INTERNAL, run_batch
from engine.cases import CaseError
from engine.cli.log import log_options, open_log_writer
from engine.cli.notices import attach, registers_option
from engine.decision import Decision
from engine.decisionlog.batchlog import BatchLogger
from engine.diagnostics import Diagnostic, format_text
from engine.explain import render_text
from engine.loader import MAX_LINE_BYTES, load_data_bytes
from engine.repository import PolicySearchError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2


def policy_options(f: Any) -> Any:
    f = click.option("--backend", type=click.Choice(["durable", "python"]),
                     default=DEFAULT_BACKEND, show_default=True,
                     help="Rules engine evaluating the compiled policy.")(f)
    f = click.option("--policy", "policy_id", default=None,
                     help="Policy id when several are loaded.")(f)
    f = click.option("--policy-version", default=None,
                     help="Force a version instead of the one in force on `submitted`.")(f)
    f = click.option("--policy-dir", type=click.Path(path_type=Path), default=Path("policies"),
                     show_default=True, help="Directory holding the policies.")(f)
    f = click.option("--self-check", is_flag=True, default=False,
                     help="Decide with both backends; a disagreement is `refer` with an "
                          "`engine-error` finding.")(f)
    return f


def load_store(policy_dir: Path) -> PolicyStore:
    try:
        return load(policy_dir)
    except PolicySearchError as exc:  # --policy-dir points at the wrong place: usage
        click.echo(format_text(exc.diagnostics), err=True)
        sys.exit(EXIT_INPUT)
    except PolicyLoadError as exc:
        click.echo(format_text(exc.diagnostics), err=True)
        click.echo(f"error: the policies in `{policy_dir}` are invalid "
                   "(run `echri validate`)", err=True)
        sys.exit(EXIT_INTERNAL)


def _read(source: str) -> tuple[bytes, str]:
    """The bytes of a case file (at most one byte over the limit: the loader reports it)."""
    try:
        if source == "-":
            return sys.stdin.buffer.read(MAX_LINE_BYTES + 1), "<stdin>"
        with open(source, "rb") as stream:
            return stream.read(MAX_LINE_BYTES + 1), source
    except OSError as exc:
        click.echo(f"{source}: error[io-error]: cannot read case: {exc.strerror or exc}",
                   err=True)
        sys.exit(EXIT_INPUT)


def _printable(text: str) -> str:
    """`text`, with lone surrogates (from `\\ud800` escapes) escaped so it can be written."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _decision_json(decision: Decision) -> str:
    text = decision.to_json(indent=2)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # valid JSON either way: escape what UTF-8 cannot hold
        return json.dumps(decision.to_dict(), ensure_ascii=True, indent=2)
    return text


def _fail_input(problems: list[Diagnostic]) -> None:
    click.echo(_printable(format_text(problems)), err=True)
    sys.exit(EXIT_INPUT)


def _single(store: PolicyStore, source: str, options: dict[str, Any], fmt: str) -> None:
    raw, name = _read(source)
    data, problems = load_data_bytes(raw, name)
    if problems:
        _fail_input(problems)
    try:
        decision = store.evaluate(data, source=name, **options)
    except CaseError as exc:
        _fail_input(list(exc.diagnostics))
    except VersionSelectionError as exc:
        click.echo(_printable(f"{name}: error[policy-version]: {exc}"), err=True)
        sys.exit(EXIT_INPUT)
    except BackendUnavailable as exc:
        click.echo(f"error[backend]: {exc}", err=True)
        sys.exit(EXIT_INTERNAL)
    click.echo(_printable(render_text(decision)) if fmt == "text" else _decision_json(decision))


def _open_batch(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")  # closed by the caller
    except OSError as exc:
        click.echo(f"{path}: error[io-error]: cannot read cases: {exc.strerror or exc}",
                   err=True)
        sys.exit(EXIT_INPUT)


def _batch(store: PolicyStore, path: str, options: dict[str, Any], jobs: int,
           max_line_bytes: int, out: IO[bytes], logger: BatchLogger | None = None) -> None:
    """Write one record per input line; exit 2 if some are error records, 1 if internal."""
    from tqdm import tqdm

    try:
        store.backend(store.select({"submitted": "9999-12-31"}, options["policy_version"],
                                   options["policy_id"]), options["backend"])
    except BackendUnavailable as exc:
        click.echo(f"error[backend]: {exc}", err=True)
        sys.exit(EXIT_INTERNAL)
    except VersionSelectionError:
        pass  # reported per line
    stream = _open_batch(path)
    failed = internal = 0
    try:
        with stream, tqdm(unit=" cases", disable=not sys.stderr.isatty(),
                          file=sys.stderr) as bar:
            results = run_batch(store, stream, options, jobs, max_line_bytes) if logger is None \
                else logger.run(store, stream, options, jobs, max_line_bytes)
            for result in results:
                out.write(result.output + b"\n")
                failed += not result.ok
                internal += result.status == INTERNAL
                bar.update()
            out.flush()
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        with contextlib.suppress(OSError, ValueError):  # no flush error at exit either
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_INTERNAL)
    except OSError as exc:
        click.echo(f"{path}: error[io-error]: batch stopped: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_INTERNAL)
    if failed:
        click.echo(f"{failed} line(s) were not decided (see their error records)", err=True)
        sys.exit(EXIT_INTERNAL if internal else EXIT_INPUT)


@click.command()
@click.argument("case", required=False)
@click.option("--batch", "batch", metavar="FILE.jsonl",
              help="Evaluate JSON Lines (one case per line, `-` for stdin).")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json",
              show_default=True)
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes for --batch (output order is kept).")
@click.option("--max-line-bytes", type=click.IntRange(1), default=MAX_LINE_BYTES,
              show_default=True, metavar="N",
              help="Longest --batch line; a longer one gets a `line too large` error record.")
@policy_options
@registers_option
@click.option("--log", "log_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, metavar="DIR",
              help="With --batch: append each decision to the decision log in DIR.")
@log_options
def evaluate(case: str | None, batch: str | None, fmt: str, jobs: int, max_line_bytes: int,
             policy_dir: Path, policy_version: str | None, policy_id: str | None,
             backend: str, self_check: bool, log_dir: Path | None = None,
             registers_dir: Path | None = None, **log_settings: Any) -> None:
    """Decide a licence case (CASE.json, CASE.yaml or - for stdin).

    With --batch, one output line per input line, in order, each with its `line` number: the
    decision, or an error record for a line that is not a valid case.

    Exit codes: 0 decision(s) produced, 1 internal failure (invalid policies, backend
    unavailable, an internal error on a batch line), 2 invalid input or usage (every problem
    is listed with its JSON path; in a batch: some lines are error records, the others are
    decided).
    """
    if (case is None) == (batch is None):
        raise click.UsageError("give either CASE or --batch FILE.jsonl")
    if log_dir is not None and batch is None:
        raise click.UsageError("--log needs --batch")
    store = attach(load_store(policy_dir), registers_dir)
    options = {"policy_version": policy_version, "policy_id": policy_id, "backend": backend,
               "self_check": self_check}
    if batch is not None:
        logger = _batch_logger(log_dir, batch, log_settings)
        try:
            _batch(store, batch, options, jobs, max_line_bytes, sys.stdout.buffer, logger)
        finally:
            if logger is not None:
                logger.close()
    else:
        assert case is not None
        _single(store, case, options, fmt)


def _batch_logger(log_dir: Path | None, batch: str,
                  settings: dict[str, Any]) -> BatchLogger | None:
    """The decision-log hook of `--batch --log DIR` (None without --log)."""
    if log_dir is None:
        return None
    writer, masker = open_log_writer(log_dir, **settings)
    return BatchLogger(writer, masker, "<stdin>" if batch == "-" else batch)


@click.command()
@click.argument("case")
@policy_options
@registers_option
def explain(case: str, policy_dir: Path, policy_version: str | None, policy_id: str | None,
            backend: str, self_check: bool, registers_dir: Path | None = None) -> None:
    """Decide a case and print the explanation for a person (= evaluate --format text)."""
    store = attach(load_store(policy_dir), registers_dir)
    options = {"policy_version": policy_version, "policy_id": policy_id, "backend": backend,
               "self_check": self_check}
    _single(store, case, options, "text")
