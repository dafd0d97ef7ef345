"""`echri analyze rules|compare|check`: symbolic analysis of policy versions (z3).

Exit codes: 0 nothing found (`rules`: no error, warnings are printed; no loosening with
`--fail-on loosened`; every invariant proven); 1 found (`rules --strict`: a warning too);
2 usage error, a version that cannot be loaded, or an analysis error (a witness the engine
does not decide as claimed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from engine.analysis.compare import CompareReport, compare
from engine.analysis.invariants import InvariantError, check_invariants, load_invariants
from engine.analysis.rules import ERROR, RulesReport, analyze_rules
from engine.analysis.witness import AnalysisError, write_fixture
from engine.cli.output import emit_text
from engine.diagnostics import format_text
from engine.diff import SourceError, load_spec
from engine.repository import PolicySearchError

EXIT_OK, EXIT_FOUND, EXIT_ERROR = 0, 1, 2


def _load(spec: str, policy_dir: Path) -> Any:
    try:
        return load_spec(spec, policy_dir).compiled
    except SourceError as exc:
        click.echo(format_text(exc.diagnostics), err=True)
    except (PolicySearchError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
    sys.exit(EXIT_ERROR)


def _options(f: Any) -> Any:
    f = click.option("--items", type=click.IntRange(1, 4), default=2, show_default=True,
                     help="Cases of 1..K items are analysed.")(f)
    f = click.option("--parties", type=click.IntRange(1, 4), default=1, show_default=True,
                     help="Cases of up to K consignees and K intermediaries are analysed "
                     "(each present or not, with its own country, name and role).")(f)
    f = click.option("--policy-dir", type=click.Path(path_type=Path),
                     default=Path("policies"), show_default=True)(f)
    return f


def _parties(k: int) -> str:
    """The party bound in a report's first line (nothing for the default, one of each)."""
    return "" if k == 1 else f", up to {k} consignees and {k} intermediaries"


@click.group("analyze")
def analyze_group() -> None:
    """Prove properties of policy versions over every case (bounded; see README, Proofs)."""


@analyze_group.command("rules")
@click.argument("version")
@_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--strict", is_flag=True, help="Treat warnings (shadowed rules that still "
              "matter) as errors.")
def rules_command(version: str, items: int, parties: int, policy_dir: Path, fmt: str,
                  strict: bool) -> None:
    """Rules that never fire, shadowed rules and duplicate rules of VERSION.

    Never-firing and duplicate rules are errors, and so is a shadowed rule of which
    nothing reaches a decision; a shadowed rule that still matters (same outcome only,
    approval-level, conditions, assurances or an information request) is a warning, an
    error with --strict. Exit 1 on an error.
    """
    report = analyze_rules(_load(version, policy_dir), items, parties)
    if fmt == "json":
        click.echo(json.dumps({**report.to_dict(), "strict": strict}, indent=2))
    else:
        click.echo(render_rules(report, strict))
    sys.exit(EXIT_FOUND if report.failed(strict) else EXIT_OK)


def render_rules(report: RulesReport, strict: bool = False) -> str:
    """One diagnostic line per finding (error or warning), its reasons as help lines."""
    p = report.policy
    lines = [f"{p.id}@{p.version}: {len(p.rules)} rules, cases of 1..{report.items} items"
             f"{_parties(report.parties)} ({report.seconds:.1f} s)"]
    lines += [f"error[never-fires]: rule `{r}` never fires" for r in report.never]
    for s in report.shadowed:
        by = ", ".join(f"`{b}`" for b in s["by"]) or "a combination of other rules"
        severity = ERROR if strict else s["severity"]
        lines.append(f"{severity}[shadowed-rule]: rule `{s['rule']}` ({s['outcome']}) is "
                     f"shadowed by {by}")
        lines += [f"  {'help' if s['severity'] == ERROR else 'note'}: {why}"
                  for why in s["reasons"]]
    lines += [f"error[duplicate-rule]: rules `{a}` and `{b}` fire on the same cases with "
              f"the same effect" for a, b in report.duplicates]
    if report.clean:
        lines.append("no never-firing, shadowed or duplicate rule")
    else:
        warned = f", {report.warnings} warning(s)" + (" (errors with --strict)"
                                                      if report.warnings and not strict else "")
        lines.append(f"{report.errors} error(s){warned}")
    return "\n".join(lines)


@analyze_group.command("compare")
@click.argument("old")
@click.argument("new")
@_options
@click.option("--fail-on", type=click.Choice(["loosened"]), default=None)
@click.option("--max-regions", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--write-fixtures", type=click.Path(file_okay=False, path_type=Path),
              default=None, metavar="DIR", help="Write each witness as a fixture into DIR.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]),
              default="text")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Write the report to FILE (the JSON one is what "
              "`echri diff --proof FILE` reads).")
def compare_command(old: str, new: str, items: int, parties: int, policy_dir: Path,
                    fail_on: str | None,
                    max_regions: int, write_fixtures: Path | None, fmt: str,
                    output: Path | None) -> None:
    """Is NEW at least as strict as OLD for every case? Regions where it is not, with
    witnesses re-decided by the engine (both backends)."""
    a, b = _load(old, policy_dir), _load(new, policy_dir)
    try:
        report = compare(a, b, items=items, max_regions=max_regions, parties=parties)
    except AnalysisError as exc:
        click.echo(f"error[analysis]: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    if write_fixtures is not None:
        for n, r in enumerate(report.regions, 1):
            for label, policy in (("old", a), ("new", b)):
                write_fixture(write_fixtures, f"{r.direction}-{n:02d}-{label}", r.witness,
                              policy, r.decisions[label.upper()],
                              f"analyze compare witness ({r.direction}): {r.condition()}")
    emit_text(render_compare(report, fmt) + "\n", output, "the report")
    sys.exit(EXIT_FOUND if fail_on and report.of("loosened") else EXIT_OK)


def render_compare(report: CompareReport, fmt: str) -> str:
    old, new = report.old, report.new
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
    md = fmt == "markdown"
    lines = [("## " if md else "") + f"analyze compare {old.id}@{old.version} → "
             f"{new.id}@{new.version} (cases of 1..{report.items} items"
             f"{_parties(report.parties)}, {report.seconds:.1f} s)"]
    for direction in ("loosened", "tightened"):
        regions = report.of(direction)
        done = report.complete.get(direction, False)
        head = f"{direction}: {len(regions)} region(s)" + (
            f"; proven: no case is {direction} outside them" if done else
            " (more exist: --max-regions)")
        if not regions and done:
            head = f"proven: no case is {direction}"
        lines.append(("### " if md else "") + head)
        for n, r in enumerate(regions, 1):
            lines.append(f"{'- ' if md else '  '}{n}. {r.condition()}")
            lines.append(f"{'  ' if md else '     '}witness: "
                         f"{json.dumps(r.witness, ensure_ascii=False)}")
    return "\n".join(lines)


@analyze_group.command("check")
@click.argument("version")
@_options
@click.option("--invariants", "path", type=click.Path(exists=True, dir_okay=False,
                                                       path_type=Path),
              default=Path("analysis/invariants.yaml"), show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def check_command(version: str, items: int, parties: int, policy_dir: Path, path: Path,
                  fmt: str) -> None:
    """Prove or refute the invariants of FILE for VERSION."""
    policy = _load(version, policy_dir)
    try:
        results, seconds = check_invariants(policy, load_invariants(path), items,
                                            parties=parties)
    except (InvariantError, AnalysisError) as exc:
        click.echo(f"error[analysis]: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    if fmt == "json":
        click.echo(json.dumps({"policy": f"{policy.id}@{policy.version}", "items": items,
                               "parties": parties,
                               "seconds": round(seconds, 2),
                               "results": [r.to_dict() for r in results]}, indent=2))
    else:
        click.echo(f"{policy.id}@{policy.version}: {len(results)} invariant(s), cases of "
                   f"1..{items} items{_parties(parties)} ({seconds:.1f} s)")
        for r in results:
            click.echo(f"{r.status}: `{r.invariant.id}` {r.invariant.title}")
            if r.counterexample is not None:
                click.echo(f"  decided {r.outcome} by {', '.join(r.rules)}")
                click.echo(f"  counterexample: {json.dumps(r.counterexample)}")
    sys.exit(EXIT_FOUND if any(r.status == "refuted" for r in results) else EXIT_OK)
