"""`echri test`: run the policy fixtures and report pass/fail, rule coverage and updates."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.api import DEFAULT_BACKEND, BackendUnavailable
from engine.cli.evaluate import load_store
from engine.cli.notices import attach, registers_option
from engine.diagnostics import has_errors, suggest
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


def report_targets(specs: tuple[str, ...], output: Path | None
                   ) -> list[tuple[str, Path | None]]:
    """(format, file or None for standard output) of each `--format FMT[:FILE]`.

    `--output FILE` is the file of the one format given without FILE (the old
    `--format junit --output FILE`); at most one format may go to standard output.
    """
    targets: list[tuple[str, Path | None]] = []
    for spec in specs or ("text",):
        name, sep, file = spec.partition(":")
        if name not in REPORTERS:
            hint = suggest(name, REPORTERS)
            raise click.BadParameter(f"unknown format `{name}`" + (f" ({hint})" if hint else ""),
                                     param_hint="--format")
        if sep and not file:
            raise click.BadParameter(f"`{spec}` names no file", param_hint="--format")
        targets.append((name, Path(file) if file else None))
    plain = [i for i, (_, file) in enumerate(targets) if file is None]
    if output is not None:
        if len(plain) != 1:
            raise click.UsageError("--output needs exactly one --format without a FILE")
        targets[plain[0]] = (targets[plain[0]][0], output)
    elif len(plain) > 1:
        raise click.UsageError("at most one --format may write to standard output: "
                               "give the others a FILE (`--format junit:reports/junit.xml`)")
    return targets


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
@click.option("--format", "fmt", multiple=True, metavar="FMT[:FILE]",
              help=f"Report format ({', '.join(REPORTERS)}; default text), written to FILE "
                   "when given, else to standard output. Repeatable: one run, every format "
                   "(`--format junit:reports/junit.xml --format github`).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report of the --format without FILE to FILE and print the "
                   "text summary.")
@click.option("--coverage", is_flag=True, help="Report which rules each version's fixtures fire.")
@click.option("--min-coverage", type=click.FloatRange(0, 100), metavar="PERCENT",
              help="Fail when a released version's rule coverage is below PERCENT "
                   "(implies --coverage).")
@click.option("--update", is_flag=True,
              help="Rewrite the expect: blocks of failing fixtures to the current results.")
@click.option("--force", is_flag=True, help="With --update, rewrite passing fixtures too.")
@click.option("--update-rules", is_flag=True,
              help="With --update, list every rule that fires in `rules:` (by default the "
                   "asserted rules that still fire are kept and no rule is added).")
@registers_option
def run_fixtures_command(paths: tuple[Path, ...], policy_dir: Path, policy_version: str | None,
                         backend: str, select: tuple[str, ...], fail_on_empty: bool,
                         fmt: tuple[str, ...],
                         output: Path | None, coverage: bool, min_coverage: float | None,
                         update: bool, force: bool, update_rules: bool,
                         registers_dir: Path | None = None) -> None:
    """Run policy fixtures (PATH... files or folders, default: fixtures).

    A fixture naming a register set (`registers: DIR`, relative to its file) is screened
    against it; --registers DIR applies to the fixtures that name none.

    Exit codes: 0 every fixture passed, 1 a fixture failed, a fixture run under
    --policy-version changed, rule coverage is below --min-coverage, no fixture was
    selected (see --fail-on-empty) or the policies are invalid, 2 usage error or invalid
    fixture files (reported at file:line:col after the valid fixtures ran).
    """
    if force and not update:
        raise click.UsageError("--force only applies together with --update")
    if update_rules and not update:
        raise click.UsageError("--update-rules only applies together with --update")
    outputs = report_targets(fmt, output)
    if not paths:
        if not DEFAULT_PATH.is_dir():
            raise click.UsageError(f"no `{DEFAULT_PATH}` folder here: give fixture PATHs")
        paths = (DEFAULT_PATH,)
    store = attach(load_store(policy_dir), registers_dir)
    if policy_version and not any(policy_version in v for v in store.versions.values()):
        known = sorted({v for versions in store.versions.values() for v in versions})
        raise click.UsageError(f"no policy has version `{policy_version}` "
                               f"(known: {', '.join(known)})")
    options = RunOptions(backend, select, coverage, min_coverage, update, force, policy_version,
                         update_rules)
    try:
        report = run(store, paths, options)
    except BackendUnavailable as exc:
        click.echo(f"error[backend]: {exc}", err=True)
        sys.exit(EXIT_INPUT)
    to_stdout = False
    for name, target in outputs:
        text = REPORTERS[name](report)
        if target is None:
            click.echo(text)
            to_stdout = True
        else:
            _write(target, text)
    if not to_stdout:
        click.echo(render_summary(report))
    code = exit_code(report, fail_on_empty)
    if fail_on_empty and not report.results and not report.has_errors:
        click.echo("error: no fixture selected (use --no-fail-on-empty to allow this)",
                   err=True)
    sys.exit(code)
