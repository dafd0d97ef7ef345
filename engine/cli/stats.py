"""`echri stats --log DIR`: anonymised decision counts for the annual meeting.

Exit codes: 0 report written; 1 a log does not verify (edited, removed or reordered
records: nothing is counted; run `echri log verify`) or the policies are invalid; 2 usage:
a log directory that cannot be read, bad dates, a file that cannot be written.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from engine.cli.evaluate import load_store
from engine.cli.output import emit_text
from engine.stats import RENDERERS, Selection, StatsError, aggregate, publish, read_verified

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _day(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        click.echo(f"error[usage]: {option} `{value}` is not a date (YYYY-MM-DD)", err=True)
        sys.exit(EXIT_USAGE)


def selection(year: int | None, date_from: str | None, date_to: str | None,
              policy_id: str | None) -> Selection:
    """The period from `--year` or `--from`/`--to` (not both), and the policy id."""
    if year is not None and (date_from or date_to):
        click.echo("error[usage]: give --year or --from/--to, not both", err=True)
        sys.exit(EXIT_USAGE)
    low, high = (f"{year:04d}-01-01", f"{year:04d}-12-31") if year is not None else \
        (_day(date_from, "--from"), _day(date_to, "--to"))
    if low and high and low > high:
        click.echo(f"error[usage]: --from {low} is after --to {high}", err=True)
        sys.exit(EXIT_USAGE)
    return Selection(low, high, policy_id)


@click.command("stats")
@click.option("--log", "logs", required=True, multiple=True, metavar="LOGDIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="Decision-log directory (repeatable; a decision counts once).")
@click.option("--year", type=click.IntRange(1970, 9999), default=None,
              help="Decisions of this calendar year (UTC).")
@click.option("--from", "date_from", metavar="DATE", default=None,
              help="First day counted (YYYY-MM-DD, UTC, inclusive).")
@click.option("--to", "date_to", metavar="DATE", default=None,
              help="Last day counted (YYYY-MM-DD, UTC, inclusive).")
@click.option("--policy", "policy_id", default=None, help="Only decisions of this policy id.")
@click.option("--policy-dir", type=click.Path(path_type=Path), default=Path("policies"),
              show_default=True, help="Directory holding the policy versions the records name.")
@click.option("--format", "fmt", type=click.Choice(sorted(RENDERERS)), default="markdown",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to FILE (default: standard output).")
@click.option("--k", "k", type=click.IntRange(2), default=5, show_default=True,
              help="Counts 0 < n < k are suppressed.")
def stats(logs: tuple[Path, ...], year: int | None, date_from: str | None,
          date_to: str | None, policy_id: str | None, policy_dir: Path, fmt: str,
          output: Path | None, k: int) -> None:
    """Anonymised decision counts for the annual meeting of Subscribing States: by
    outcome, destination band, item category, commitment, right at risk and rule, with
    small counts suppressed. Only verified logs are counted."""
    chosen = selection(year, date_from, date_to, policy_id)
    try:
        records, warnings = read_verified(logs)
    except StatsError as exc:
        for problem in exc.problems:
            click.echo(f"{problem} (error)", err=True)
        click.echo(f"error[log-verify]: {exc}" if exc.problems else f"error[io-error]: {exc}",
                   err=True)
        sys.exit(EXIT_FAILED if exc.problems else EXIT_USAGE)
    store = load_store(policy_dir)
    aggregates = aggregate(records, store, chosen)
    for line in [*warnings, *aggregates.warnings]:
        click.echo(f"warning: {line}", err=True)
    text = RENDERERS[fmt](publish(aggregates, k))
    emit_text(text, output, announce=False)
