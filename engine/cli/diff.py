"""`echri diff` and `echri replay`: what a policy change does, for reviewers and CI.

Exit codes: 0 report written; 1 `--fail-on` matched (decisions changed in that direction,
listed on stderr with their causes) or, with `--strict`, a structural change is undeclared;
2 usage error, or a version or case file that cannot be used (every problem is listed).
A line of a `--cases` file that cannot be used is reported on stderr with its line number
and skipped (the report lists it too); `replay` exits 2 when no line is usable.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from engine.api import DEFAULT_BACKEND, BackendUnavailable
from engine.cli.notices import load_or_exit, registers_option, warn_replay_registers
from engine.cli.output import emit_text
from engine.diagnostics import format_text
from engine.diff import (
    FAIL_ON,
    RENDERERS,
    Corpus,
    DiffReport,
    Proof,
    ProofError,
    SourceError,
    diff_versions,
    fail_on_lines,
    load_fixtures,
    load_jsonl,
    load_pair,
    load_proof,
    load_spec,
    proof_from_data,
    render,
    replay_decisions,
    should_fail,
    strict_lines,
    with_proof,
)
from engine.diff.pdf import PdfError, print_html
from engine.diff.sources import LoadedVersion
from engine.explain import strip_controls
from engine.repository import PolicySearchError

EXIT_OK, EXIT_FAIL_ON, EXIT_USAGE = 0, 1, 2


def report_options(f: Any) -> Any:
    f = click.option("--backend", type=click.Choice(["durable", "python"]),
                     default=DEFAULT_BACKEND, show_default=True,
                     help="Rules engine deciding the cases (both give identical results).")(f)
    f = click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
                     help="Worker processes deciding cases.")(f)
    f = click.option("--fail-on", type=click.Choice(FAIL_ON), default=None,
                     help="Exit 1 when decisions changed in this direction (any: loosened, "
                     "tightened or same outcome with different reasons).")(f)
    f = click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                     default=None, metavar="FILE",
                     help="Write the report to FILE instead of standard output.")(f)
    f = click.option("--format", "fmt", type=click.Choice([*RENDERERS, "pdf"]),
                     default="text", show_default=True,
                     help="pdf: the HTML report printed to A4 by headless Chromium "
                     "(needs --output and Chromium on PATH).")(f)
    f = click.option("--policy-dir", type=click.Path(path_type=Path), default=Path("policies"),
                     show_default=True, help="Where ID@VERSION versions are looked up.")(f)
    return f


def _die(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(EXIT_USAGE)


def _gather(sources: tuple[Path, ...], load: Callable[[Path], Corpus], what: str,
            required: str | None) -> Corpus:
    """Load every source into one corpus, reporting skipped lines on stderr.

    An unreadable source is a usage error; with `required` (what a usable record is called),
    so is a corpus without cases.
    """
    corpus = Corpus()
    for source in sources:
        try:
            loaded = load(source)
        except OSError as exc:
            _die(f"{source}: error[io-error]: cannot read {what}: {exc.strerror or exc}")
        for skipped in loaded.skipped:
            click.echo(_printable(f"{skipped.origin}: warning[skipped-line]: {skipped.reason}"),
                       err=True)
        corpus.extend(loaded)
    if required is not None and not corpus.cases:
        _die(f"error[no-records]: no usable {required} in {_names(sources)}: "
             f"{len(corpus.skipped)} line(s) skipped")
    return corpus


def _cases(paths: tuple[Path, ...], replay: bool) -> Corpus:
    return _gather(paths, lambda p: load_jsonl(p, replay), "cases",
                   "recorded decision" if replay else None)


def _logged(logs: tuple[Path, ...]) -> Corpus:
    """The recorded decisions of decision-log directories (the `--log DIR` hook)."""
    from engine.decisionlog.replay import log_corpus

    return _gather(logs, log_corpus, "the log", "logged decision")


def _names(paths: tuple[Path, ...]) -> str:
    return ", ".join(f"`{p}`" for p in paths)


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    from tqdm import tqdm

    with tqdm(total=total, unit=" cases", disable=not sys.stderr.isatty(),
              file=sys.stderr) as bar:
        yield bar.update


def _emit(report: DiffReport, fmt: str, output: Path | None, fail_on: str | None,
          strict: bool = False) -> None:
    if fmt == "pdf":
        _emit_pdf(report, output)
    else:
        emit_text(render(report, fmt), output, "the report")
    for line in fail_on_lines(report, fail_on) + (strict_lines(report) if strict else []):
        click.echo(_printable(strip_controls(line)), err=True)
    failed = should_fail(report, fail_on) or (strict and bool(report.undeclared))
    sys.exit(EXIT_FAIL_ON if failed else EXIT_OK)


def _emit_pdf(report: DiffReport, output: Path | None) -> None:
    """The HTML report printed to `output` (engine/diff/pdf.py); exit 2 when it cannot be."""
    if output is None:
        _die("error[usage]: --format pdf needs --output FILE")
    assert output is not None
    try:
        print_html(render(report, "html"), output)
    except PdfError as exc:
        _die(f"error[pdf]: {exc}")
    click.echo(f"wrote {output}", err=True)


@click.command()
@click.argument("old")
@click.argument("new")
@click.option("--cases", "cases", multiple=True, type=click.Path(path_type=Path),
              metavar="FILE.jsonl", help="More cases, one JSON case per line (repeatable).")
@click.option("--fixtures", "fixtures", type=click.Path(path_type=Path), default=Path("fixtures"),
              show_default=True, help="Directory whose fixture files' `case:` are compared.")
@click.option("--no-fixtures", is_flag=True, help="Do not evaluate the fixtures.")
@click.option("--strict", is_flag=True,
              help="Exit 1 when a structural change is not declared in the new version's "
              "`changes:` (policy.yaml); without it the report only warns.")
@click.option("--proof", "proof_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, metavar="FILE", help="Link the report to the proof in FILE "
              "(`echri analyze compare OLD NEW --format json --output FILE`); refused when "
              "it is for other versions or digests.")
@click.option("--prove", is_flag=True, help="Run `echri analyze compare OLD NEW` (z3, cases "
              "of 1..2 items, 20 regions per direction; about a minute) and link the report "
              "to it.")
@click.option("--prove-parties", type=click.IntRange(1, 4), default=1, show_default=True,
              help="With --prove: cases of up to K consignees and K intermediaries (as "
              "`analyze compare --parties K`; slower as K grows).")
@registers_option
@report_options
def diff(old: str, new: str, cases: tuple[Path, ...], fixtures: Path, no_fixtures: bool,
         strict: bool, policy_dir: Path, fmt: str, output: Path | None, fail_on: str | None,
         jobs: int, backend: str, proof_file: Path | None = None, prove: bool = False,
         prove_parties: int = 1, registers_dir: Path | None = None) -> None:
    """Compare two policy versions, structurally and by their decisions.

    OLD and NEW are each ID@VERSION (under --policy-dir), a version directory, or
    git:REF:WHERE (WHERE is ID@VERSION or a directory, read at revision REF without touching
    the working tree). One side may be a bare git:REF: the other side's directory at REF
    (or the version it is derived from, or the newest one there).

    A structural change that no line of the new version's `changes:` mentions (by the
    element's id, or the file that holds it) is a warning in the report; --strict makes it
    an error.

    With --registers DIR, every case is screened against that register set under both
    versions (as `echri evaluate --registers`), so the diff shows what the policy change
    does to screened decisions.

    With --proof FILE or --prove, the loosened and tightened sections say what the
    symbolic analysis proved over every case of its bounded space ("proven: no loosening
    outside these regions") and list its regions with their witnesses.

    Exit codes: 0 report written, 1 --fail-on matched or (--strict) an undeclared change,
    2 usage error, a version, case or proof file that cannot be used (a proof made for
    other versions or digests is refused), or an analysis error.
    """
    if proof_file is not None and prove:
        raise click.UsageError("give --proof FILE or --prove, not both")
    if prove_parties != 1 and not prove:
        raise click.UsageError("--prove-parties bounds the analysis of --prove: give both")
    try:
        left, right = load_pair(old, new, policy_dir)
    except (SourceError, PolicySearchError) as exc:
        _die(format_text(exc.diagnostics))
    proof = _proof(proof_file, prove, left, right, prove_parties)
    registers = load_or_exit(registers_dir) if registers_dir is not None else None
    corpus: Corpus | None = None
    if cases or not no_fixtures:
        corpus = Corpus() if no_fixtures else load_fixtures(fixtures, right.policy.id)
        corpus.extend(_cases(cases, replay=False))
    try:
        with _progress(len(corpus.cases) if corpus else 0) as progress:
            report = diff_versions(left, right, corpus, backend=backend, jobs=jobs,
                                   progress=progress, registers=registers)
    except BackendUnavailable as exc:
        _die(f"error[backend]: {exc}")
    if proof is not None:
        try:
            report = with_proof(report, proof, left, right)
        except ProofError as exc:
            _die(_printable(f"error[stale-proof]: {exc}"))
    _emit(report, fmt, output, fail_on, strict)


def _proof(path: Path | None, prove: bool, left: LoadedVersion, right: LoadedVersion,
           parties: int = 1) -> Proof | None:
    """The proof to link: read from `path`, or made now (`--prove`); exit 2 if unusable."""
    if path is not None:
        try:
            return load_proof(path)
        except ProofError as exc:
            _die(_printable(f"error[proof]: {exc}"))
    if not prove:
        return None
    from engine.analysis.compare import compare
    from engine.analysis.witness import AnalysisError

    try:
        found = compare(left.compiled, right.compiled, parties=parties)
    except AnalysisError as exc:
        _die(f"error[analysis]: {exc}")
    return proof_from_data(found.to_dict(), "--prove")


@click.command()
@click.option("--cases", "cases", multiple=True, type=click.Path(path_type=Path),
              metavar="FILE.jsonl",
              help='Recorded decisions: lines {"case": {...}, "decision": {...}} (repeatable).')
@click.option("--log", "logs", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              metavar="DIR", help="A decision log (echri serve --log-dir, evaluate --log); "
              "repeatable.")
@click.option("--policy", "policy", required=True, metavar="VERSION",
              help="The version to replay them under (ID@VERSION, a directory or "
              "git:REF:WHERE).")
@registers_option
@report_options
def replay(cases: tuple[Path, ...], policy: str, policy_dir: Path, fmt: str,
           output: Path | None, fail_on: str | None, jobs: int, backend: str,
           logs: tuple[Path, ...] = (), registers_dir: Path | None = None) -> None:
    """Replay recorded decisions under a policy version: which of them would it flip?

    A malformed line is reported on stderr with its line number and skipped. Decisions
    made with --registers DIR replay the same only with the same register set.

    Exit codes: 0 report written, 1 --fail-on matched, 2 usage error, a version or case
    file that cannot be used, or no usable recorded decision.
    """
    try:
        version = load_spec(policy, policy_dir)
    except (SourceError, PolicySearchError) as exc:
        _die(format_text(exc.diagnostics))
    if not cases and not logs:
        raise click.UsageError("give --cases FILE.jsonl or --log DIR")
    corpus = _cases(cases, replay=True) if cases else Corpus()
    if logs:
        corpus.extend(_logged(logs))
    label = ", ".join(str(p) for p in (*cases, *logs))
    registers = load_or_exit(registers_dir) if registers_dir is not None else None
    warn_replay_registers(corpus, registers, registers_dir)
    try:
        with _progress(len(corpus.cases)) as progress:
            report = replay_decisions(version, corpus, spec=label, backend=backend, jobs=jobs,
                                      progress=progress, registers=registers)
    except BackendUnavailable as exc:
        _die(f"error[backend]: {exc}")
    _emit(report, fmt, output, fail_on)
