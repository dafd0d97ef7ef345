"""`echri evaluate` and `echri explain`: decide licence cases from files or stdin."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

import click

from engine.api import (
    DEFAULT_BACKEND,
    BackendUnavailable,
    PolicyLoadError,
    PolicyStore,
    VersionSelectionError,
    load,
)
from engine.batch import run_batch
from engine.cases import CaseError
from engine.diagnostics import Diagnostic, format_text
from engine.explain import render_text
from engine.loader import load_data_text

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
    return f


def load_store(policy_dir: Path) -> PolicyStore:
    try:
        return load(policy_dir)
    except PolicyLoadError as exc:
        click.echo(format_text(exc.diagnostics), err=True)
        click.echo(f"error: the policies in `{policy_dir}` are invalid "
                   "(run `echri validate`)", err=True)
        sys.exit(EXIT_INTERNAL)


def _read(source: str) -> tuple[str, str]:
    if source == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        return Path(source).read_text(encoding="utf-8"), source
    except (OSError, UnicodeDecodeError) as exc:
        click.echo(f"{source}: error[io-error]: cannot read case: {exc}", err=True)
        sys.exit(EXIT_INPUT)


def _fail_input(problems: list[Diagnostic]) -> None:
    click.echo(format_text(problems), err=True)
    sys.exit(EXIT_INPUT)


def _single(store: PolicyStore, source: str, options: dict[str, Any], fmt: str) -> None:
    text, name = _read(source)
    data, problems = load_data_text(text, name)
    if problems:
        _fail_input(problems)
    try:
        decision = store.evaluate(data, source=name, **options)
    except CaseError as exc:
        _fail_input(list(exc.diagnostics))
    except VersionSelectionError as exc:
        click.echo(f"{name}: error[policy-version]: {exc}", err=True)
        sys.exit(EXIT_INPUT)
    except BackendUnavailable as exc:
        click.echo(f"error[backend]: {exc}", err=True)
        sys.exit(EXIT_INTERNAL)
    click.echo(render_text(decision) if fmt == "text" else decision.to_json(indent=2))


def _batch(store: PolicyStore, path: str, options: dict[str, Any], jobs: int,
           out: TextIO) -> None:
    from tqdm import tqdm

    try:
        store.backend(store.select({"submitted": "9999-12-31"}, options["policy_version"],
                                   options["policy_id"]), options["backend"])
    except BackendUnavailable as exc:
        click.echo(f"error[backend]: {exc}", err=True)
        sys.exit(EXIT_INTERNAL)
    except VersionSelectionError:
        pass  # reported per line
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    failed = 0
    with stream, tqdm(unit=" cases", disable=not sys.stderr.isatty(), file=sys.stderr) as bar:
        for result in run_batch(store, stream, options, jobs):
            out.write(result.output + "\n")
            failed += not result.ok
            bar.update()
    if failed:
        click.echo(f"{failed} line(s) were not valid cases (see their error records)", err=True)
        sys.exit(EXIT_INPUT)


@click.command()
@click.argument("case", required=False)
@click.option("--batch", "batch", metavar="FILE.jsonl",
              help="Evaluate JSON Lines (one case per line, `-` for stdin).")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json",
              show_default=True)
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes for --batch (output order is kept).")
@policy_options
def evaluate(case: str | None, batch: str | None, fmt: str, jobs: int, policy_dir: Path,
             policy_version: str | None, policy_id: str | None, backend: str) -> None:
    """Decide a licence case (CASE.json, CASE.yaml or - for stdin).

    Exit codes: 0 decision(s) produced, 1 internal failure (invalid policies, backend
    unavailable), 2 invalid input or usage (every problem is listed with its JSON path).
    """
    if (case is None) == (batch is None):
        raise click.UsageError("give either CASE or --batch FILE.jsonl")
    store = load_store(policy_dir)
    options = {"policy_version": policy_version, "policy_id": policy_id, "backend": backend}
    if batch is not None:
        _batch(store, batch, options, jobs, sys.stdout)
    else:
        assert case is not None
        _single(store, case, options, fmt)


@click.command()
@click.argument("case")
@policy_options
def explain(case: str, policy_dir: Path, policy_version: str | None, policy_id: str | None,
            backend: str) -> None:
    """Decide a case and print the explanation for a person (= evaluate --format text)."""
    store = load_store(policy_dir)
    options = {"policy_version": policy_version, "policy_id": policy_id, "backend": backend}
    _single(store, case, options, "text")
