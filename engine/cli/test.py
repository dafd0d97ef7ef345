"""`echri test`: run the policy fixtures and report pass/fail, rule coverage and updates."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.api import DEFAULT_BACKEND, BackendUnavailable
from engine.cli.evaluate import load_store
from engine.diagnostics import has_errors
from engine.fixtures import CHANGED, ERROR, FAIL, RunOptions, RunReport, run
from engine.reporters import REPORTERS, render_summary

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2
DEFAULT_PATH = Path("fixtures")


def exit_code(report: RunReport, fail_on_empty: bool) -> int:
    """2 invalid fixtures, 1 failures / changes / low coverage / nothing selected, else 0.

    A fixture `--update` rewrote no longer counts (an unknown expected rule id included).
    """
    updated = {u.fixture.source.path for u in report.updates if u.written}
    left = [r for r in report.results if r.fixture.source.path not in updated]
    if has_errors(report.diagnostics) or any(r.status == ERROR for r in left):
        return EXIT_INPUT
    failed = [r for r in left if r.status in (FAIL, CHANGED)]
    if failed or report.below_threshold:
        return EXIT_FAILED
    if fail_on_empty and not report.results:
        return EXIT_FAILED
    return EXIT_OK


def _write(output: Path, text: str) -> None:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        raise click.FileError(str(output), hint=exc.strerror or str(exc)) from exc


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--policy-dir", type=click.Path(path_type=Path), default=Path("policies"),
              show_default=True, help="Directory holding the policies.")
@click.option("--policy-version", metavar="VERSION",
              help="Run every fixture of the policy under VERSION (a draft too), except "
                   "fixtures pinned to another version; --min-coverage then applies to it.")
@click.option("--backend", type=click.Choice(["durable", "python"]), default=DEFAULT_BACKEND,
              show_default=True, help="Rules engine evaluating the compiled policy.")
@click.option("-k", "--select", "select", multiple=True, metavar="PATTERN",
              help="Run only fixtures whose path or test id contains PATTERN (or matches it "
                   "as a glob when it has * ? [). Repeatable.")
@click.option("--fail-on-empty/--no-fail-on-empty", default=True, show_default=True,
              help="Fail (exit 1) when no fixture is selected.")
@click.option("--format", "fmt", type=click.Choice(list(REPORTERS)), default="text",
              show_default=True, help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE and print the text summary.")
@click.option("--coverage", is_flag=True, help="Report which rules each version's fixtures fire.")
@click.option("--min-coverage", type=click.FloatRange(0, 100), metavar="PERCENT",
              help="Fail when a released version's rule coverage is below PERCENT "
                   "(implies --coverage).")
@click.option("--update", is_flag=True,
              help="Rewrite the expect: blocks of failing fixtures to the current results.")
@click.option("--force", is_flag=True, help="With --update, rewrite passing fixtures too.")
def run_fixtures_command(paths: tuple[Path, ...], policy_dir: Path, policy_version: str | None,
                         backend: str, select: tuple[str, ...], fail_on_empty: bool, fmt: str,
                         output: Path | None, coverage: bool, min_coverage: float | None,
                         update: bool, force: bool) -> None:
    """Run policy fixtures (PATH... files or folders, default: fixtures).

    Exit codes: 0 every fixture passed, 1 a fixture failed, a fixture run under
    --policy-version changed, rule coverage is below --min-coverage, no fixture was
    selected (see --fail-on-empty) or the policies are invalid, 2 usage error or invalid
    fixture files (reported at file:line:col after the valid fixtures ran).
    """
    if force and not update:
        raise click.UsageError("--force only applies together with --update")
    if not paths:
        if not DEFAULT_PATH.is_dir():
            raise click.UsageError(f"no `{DEFAULT_PATH}` folder here: give fixture PATHs")
        paths = (DEFAULT_PATH,)
    store = load_store(policy_dir)
    if policy_version and not any(policy_version in v for v in store.versions.values()):
        known = sorted({v for versions in store.versions.values() for v in versions})
        raise click.UsageError(f"no policy has version `{policy_version}` "
                               f"(known: {', '.join(known)})")
    options = RunOptions(backend, select, coverage, min_coverage, update, force, policy_version)
    try:
        report = run(store, paths, options)
    except BackendUnavailable as exc:
        click.echo(f"error[backend]: {exc}", err=True)
        sys.exit(EXIT_INPUT)
    text = REPORTERS[fmt](report)
    if output is not None:
        _write(output, text)
        click.echo(render_summary(report))
    else:
        click.echo(text)
    code = exit_code(report, fail_on_empty)
    if fail_on_empty and not report.results and not report.has_errors:
        click.echo("error: no fixture selected (use --no-fail-on-empty to allow this)",
                   err=True)
    sys.exit(code)
