"""Policy fixtures: discover, load, run, measure rule coverage and update expectations.

A fixture is one YAML file with a licence case and the decision it must get
(schemas/fixture.schema.json), kept under `fixtures/<policy-id>/<theme>/`. The first
folder under the nearest `fixtures` directory names the policy (a `policy:` key overrides
it); the case's `submitted` date selects the version in force unless `policy_version` pins
one, so one run exercises every released version the fixtures reach.

Results are plain data (`FixtureResult`, `RunReport`) rendered by engine/reporters.py.
Problems with fixture files are Diagnostics at file:line:col. `--update` rewrites only
the text of the `expect:` block (found through the loader's marks) so that comments and the
formatting of the rest of the file survive.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.api import PolicyStore, VersionSelectionError
from engine.cases import CaseError, check_case
from engine.decision import BUILTIN_FINDINGS, Decision
from engine.diagnostics import Diagnostic, has_errors
from engine.loader import Document, load_yaml_bytes, load_yaml_file
from engine.schemas import check_document

FIXTURE_KIND = "fixture"
FIXTURES_DIR = "fixtures"
SUFFIXES = (".yaml", ".yml")
MODELINE = "# yaml-language-server: $schema="
SET_KEYS = ("missing_assurances", "information_requests", "conditions")
EXPECT_ORDER = ("decision", "rules", "rules_exact", *SET_KEYS, "message_matches")
PASS, FAIL, ERROR = "pass", "fail", "error"


@dataclass(frozen=True, slots=True)
class Source:
    """A fixture file found on disk, before loading (enough to select it)."""

    path: Path
    display: str  # as shown in reports and annotations (relative to cwd when possible)
    test_id: str  # path below the fixtures root, without suffix
    folder_policy: str | None  # first folder under `fixtures/`, if any

    def matches(self, pattern: str) -> bool:
        """Glob (when the pattern has `*?[`) or substring match on the path or test id."""
        names = (self.display, self.test_id, self.path.name)
        if any(c in pattern for c in "*?["):
            return any(fnmatch.fnmatchcase(n, pattern) for n in names)
        return any(pattern in n for n in names)


@dataclass(frozen=True, slots=True)
class Expect:
    decision: str
    rules: frozenset[str] | None = None
    rules_exact: bool | None = None
    missing_assurances: frozenset[str] | None = None
    information_requests: frozenset[str] | None = None
    conditions: frozenset[str] | None = None
    message_matches: str | None = None


@dataclass(frozen=True, slots=True)
class Fixture:
    source: Source
    description: str
    policy_id: str | None
    policy_version: str | None
    case: dict[str, Any]
    expect: Expect
    lines: dict[str, int]  # "expect", "expect.<key>", "policy_version", ... → line

    @property
    def display(self) -> str:
        return self.source.display

    @property
    def test_id(self) -> str:
        return self.source.test_id

    def line(self, key: str = "expect") -> int:
        return self.lines.get(key) or self.lines.get("expect") or 1


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One expectation that does not hold: `-` lines expected, `+` lines actual."""

    key: str
    summary: str
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    notes: tuple[str, str] = ("", "")  # said after each removed / added value

    def diff_lines(self) -> list[str]:
        gone, new = (f"   ({n})" if n else "" for n in self.notes)
        return [f"{self.key}:", *(f"-   {v}{gone}" for v in self.removed),
                *(f"+   {v}{new}" for v in self.added)]


@dataclass(frozen=True, slots=True)
class FixtureResult:
    fixture: Fixture
    status: str  # pass | fail | error
    mismatches: tuple[Mismatch, ...] = ()
    decision: Decision | None = None
    error: Diagnostic | None = None

    @property
    def version(self) -> str | None:
        return self.decision.policy["version"] if self.decision else None

    @property
    def line(self) -> int:
        """Line of the first differing expect key (or of `expect:`), for annotations."""
        if self.error is not None and self.error.line:
            return self.error.line
        key = f"expect.{self.mismatches[0].key}" if self.mismatches else "expect"
        return self.fixture.line(key)

    def diff(self) -> str:
        if self.error is not None:
            hint = f"\nhelp: {self.error.help}" if self.error.help else ""
            return f"error[{self.error.code}]: {self.error.message}{hint}"
        return "\n".join(line for m in self.mismatches for line in m.diff_lines())

    def summary(self) -> str:
        if self.error is not None:
            return self.error.message
        return "; ".join(m.summary for m in self.mismatches)


@dataclass(frozen=True, slots=True)
class VersionCoverage:
    policy_id: str
    version: str
    released: bool
    rules: tuple[str, ...]
    fired: dict[str, tuple[str, ...]]  # rule id → test ids of the fixtures it fired in
    fixtures: int  # fixtures evaluated under this version

    @property
    def covered(self) -> tuple[str, ...]:
        return tuple(r for r in self.rules if self.fired.get(r))

    @property
    def uncovered(self) -> tuple[str, ...]:
        return tuple(r for r in self.rules if not self.fired.get(r))

    @property
    def percent(self) -> float:
        return 100.0 * len(self.covered) / len(self.rules) if self.rules else 100.0


@dataclass(frozen=True, slots=True)
class Update:
    fixture: Fixture
    written: bool
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunReport:
    results: tuple[FixtureResult, ...]
    diagnostics: tuple[Diagnostic, ...] = ()  # invalid fixture files (errors and warnings)
    coverage: tuple[VersionCoverage, ...] | None = None
    min_coverage: float | None = None
    updates: tuple[Update, ...] = ()

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def invalid_files(self) -> int:
        return len({d.file for d in self.diagnostics if d.severity == "error"})

    @property
    def below_threshold(self) -> tuple[VersionCoverage, ...]:
        if self.coverage is None or self.min_coverage is None:
            return ()
        return tuple(c for c in self.coverage
                     if c.released and c.percent < self.min_coverage)

    @property
    def has_errors(self) -> bool:
        return has_errors(self.diagnostics) or self.count(ERROR) > 0


# ---------------------------------------------------------------- discover and load


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _source(path: Path, root: Path) -> Source:
    resolved = path.resolve()
    base = next((p for p in resolved.parents if p.name == FIXTURES_DIR), None)
    rel = resolved.relative_to(base if base is not None else root.resolve())
    folder_policy = rel.parts[0] if base is not None and len(rel.parts) > 1 else None
    return Source(path, _display(path), rel.with_suffix("").as_posix(), folder_policy)


def discover(paths: Iterable[Path], select: Sequence[str] = ()) -> list[Source]:
    """Fixture files under `paths` (a file is taken as given), sorted, selected by `-k`."""
    found: dict[Path, Source] = {}
    for given in paths:
        if given.is_dir():
            files = [p for p in given.rglob("*") if p.suffix in SUFFIXES and p.is_file()]
            for file in files:
                found.setdefault(file.resolve(), _source(file, given))
        else:
            found.setdefault(given.resolve(), _source(given, given.parent))
    sources = sorted(found.values(), key=lambda s: s.display)
    if select:
        sources = [s for s in sources if any(s.matches(p) for p in select)]
    return sources


def _set(data: dict[str, Any], key: str) -> frozenset[str] | None:
    return frozenset(data[key]) if key in data else None


def _expect(data: dict[str, Any]) -> Expect:
    return Expect(data["decision"], _set(data, "rules"), data.get("rules_exact"),
                  _set(data, "missing_assurances"), _set(data, "information_requests"),
                  _set(data, "conditions"), data.get("message_matches"))


def _checks(doc: Document) -> list[Diagnostic]:
    """Schema problems, then what the schema cannot see: modeline, regex, duplicate items."""
    problems = check_document(doc, FIXTURE_KIND)
    if not doc.text.startswith(MODELINE):
        problems.append(Diagnostic(
            "fixture-modeline", "fixture does not start with a yaml-language-server modeline",
            doc.path, 1, 1, severity="warning",
            help="add `# yaml-language-server: $schema=<relative path>/schemas/"
                 "fixture.schema.json` as the first line"))
    if problems and has_errors(problems):
        return problems
    pattern = doc.data["expect"].get("message_matches")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(doc.diagnostic(("expect", "message_matches"), "fixture-regex",
                                           f"invalid regular expression `{pattern}`: {exc}"))
    try:
        check_case(doc.data["case"], doc.path)
    except CaseError as exc:
        problems += [doc.diagnostic(("case", "items"), "case-contract", d.message)
                     for d in exc.diagnostics]
    return problems


def _lines(doc: Document) -> dict[str, int]:
    keys: list[tuple[str | int, ...]] = [("expect",), ("policy",), ("policy_version",),
                                         ("case", "submitted")]
    keys += [("expect", k) for k in EXPECT_ORDER]
    out = {}
    for key in keys:
        mark = doc.key_marks.get(key)
        if mark is not None:
            out[".".join(map(str, key))] = mark.line
    return out


def load_fixture(source: Source) -> tuple[Fixture | None, list[Diagnostic]]:
    """Load and validate one fixture file; None when it has errors."""
    doc = load_yaml_file(source.path, display=source.display)
    problems = list(doc.diagnostics)
    if doc.data is None and not problems:
        problems.append(Diagnostic("fixture-empty", "fixture file is empty", doc.path, 1, 1))
    if not has_errors(problems):
        problems += _checks(doc)
    if has_errors(problems):
        return None, problems
    data = doc.data
    fixture = Fixture(source, data["description"], data.get("policy", source.folder_policy),
                      data.get("policy_version"), data["case"], _expect(data["expect"]),
                      _lines(doc))
    return fixture, problems


def load_fixtures(sources: Iterable[Source]) -> tuple[list[Fixture], list[Diagnostic]]:
    fixtures, problems = [], []
    for source in sources:
        fixture, diags = load_fixture(source)
        problems += diags
        if fixture is not None:
            fixtures.append(fixture)
    return fixtures, problems


# ---------------------------------------------------------------- run and compare


def _ticks(values: Iterable[str]) -> str:
    return ", ".join(f"`{v}`" for v in sorted(values))


def _set_mismatch(key: str, expected: frozenset[str], actual: Iterable[str],
                  exact: bool = True) -> Mismatch | None:
    actual_set = set(actual)
    missing = sorted(expected - actual_set)
    extra = sorted(actual_set - expected) if exact else []
    if not missing and not extra:
        return None
    notes = ("did not fire", "fired, not expected") if key == "rules" else \
        ("expected, absent", "present, not expected")
    parts = [f"{_ticks(missing)} {notes[0]}"] if missing else []
    parts += [f"{_ticks(extra)} {notes[1]}"] if extra else []
    return Mismatch(key, f"{key}: {'; '.join(parts)}", tuple(missing), tuple(extra), notes)


def actual_sets(decision: Decision) -> dict[str, tuple[str, ...]]:
    """The set-valued results a fixture can expect, by expect key."""
    return {"rules": decision.rules,
            "missing_assurances": tuple(sorted(decision.missing_assurances)),
            "information_requests": tuple(sorted(r["field"] for r in
                                                 decision.information_requests)),
            "conditions": tuple(sorted(c["id"] for c in decision.conditions))}


def message_found(pattern: str, decision: Decision) -> bool:
    texts = [decision.explanation, *(f.message for f in decision.findings)]
    return any(re.search(pattern, t) for t in texts)


def compare(expect: Expect, decision: Decision) -> tuple[Mismatch, ...]:
    """Every expectation of `expect` that `decision` does not meet."""
    out: list[Mismatch | None] = []
    if decision.decision != expect.decision:
        out.append(Mismatch("decision", f"decision: expected `{expect.decision}`, "
                            f"got `{decision.decision}`", (expect.decision,),
                            (decision.decision,)))
    actual = actual_sets(decision)
    if expect.rules is not None:
        out.append(_set_mismatch("rules", expect.rules, actual["rules"],
                                 exact=bool(expect.rules_exact)))
    for key in SET_KEYS:
        expected = getattr(expect, key)
        if expected is not None:
            out.append(_set_mismatch(key, expected, actual[key]))
    pattern = expect.message_matches
    if pattern is not None and not message_found(pattern, decision):
        out.append(Mismatch("message_matches", f"message_matches: `{pattern}` matches neither "
                            "the explanation nor a finding message", (pattern,),
                            ("(no match)",)))
    return tuple(m for m in out if m is not None)


def _selection_error(store: PolicyStore, fixture: Fixture,
                     exc: VersionSelectionError) -> Diagnostic:
    hint, line = None, None
    if exc.kind in ("unknown-policy", "ambiguous-policy"):
        line = fixture.lines.get("policy", 1)
        hint = (f"known policies: {', '.join(store.policy_ids)}; put fixtures under "
                "fixtures/<policy-id>/ or set `policy:` in the fixture")
    else:
        key = "policy_version" if fixture.policy_version else "case.submitted"
        line = fixture.line(key)
    return Diagnostic("policy-version", str(exc), fixture.display, line, help=hint)


def run_fixture(store: PolicyStore, fixture: Fixture, backend: str) -> FixtureResult:
    """Evaluate one fixture; BackendUnavailable propagates (nothing can run then)."""
    try:
        decision = store.evaluate(fixture.case, policy_version=fixture.policy_version,
                                  policy_id=fixture.policy_id, backend=backend,
                                  source=fixture.display)
    except VersionSelectionError as exc:
        return FixtureResult(fixture, ERROR, error=_selection_error(store, fixture, exc))
    except CaseError as exc:  # checked when loading; kept as a guard
        message = "; ".join(d.message for d in exc.diagnostics)
        return FixtureResult(fixture, ERROR, error=Diagnostic(
            "case-contract", message, fixture.display, fixture.line("expect")))
    mismatches = compare(fixture.expect, decision)
    return FixtureResult(fixture, FAIL if mismatches else PASS, mismatches, decision)


def run_fixtures(store: PolicyStore, fixtures: Iterable[Fixture],
                 backend: str) -> tuple[FixtureResult, ...]:
    return tuple(run_fixture(store, f, backend) for f in fixtures)


# ---------------------------------------------------------------- coverage


def compute_coverage(store: PolicyStore,
                     results: Iterable[FixtureResult]) -> tuple[VersionCoverage, ...]:
    """Rule coverage of every loaded version: which fixtures fired which rules."""
    fired: dict[tuple[str, str], dict[str, list[str]]] = {}
    counts: dict[tuple[str, str], int] = {}
    for r in results:
        if r.decision is None:
            continue
        key = (r.decision.policy["id"], r.decision.policy["version"])
        counts[key] = counts.get(key, 0) + 1
        for rule in r.decision.rules:
            fired.setdefault(key, {}).setdefault(rule, []).append(r.fixture.test_id)
    out = []
    for pid in sorted(store.versions):
        for version, cp in sorted(store.versions[pid].items()):
            ids = tuple(r.id for r in cp.rules if r.id not in BUILTIN_FINDINGS)
            hits = fired.get((pid, version), {})
            out.append(VersionCoverage(pid, version, cp.policy.status == "released", ids,
                                       {r: tuple(hits[r]) for r in ids if r in hits},
                                       counts.get((pid, version), 0)))
    return tuple(out)


# ---------------------------------------------------------------- update


def new_expect(fixture: Fixture, decision: Decision) -> tuple[dict[str, Any], list[str]]:
    """The expect block for the current result, keeping the fixture's settings."""
    old = fixture.expect
    actual = actual_sets(decision)
    block: dict[str, Any] = {"decision": decision.decision, "rules": list(actual["rules"])}
    if old.rules_exact is not None:
        block["rules_exact"] = old.rules_exact
    for key in SET_KEYS:
        if getattr(old, key) is not None or actual[key]:
            block[key] = list(actual[key])
    notes = []
    if old.message_matches is not None:
        if message_found(old.message_matches, decision):
            block["message_matches"] = old.message_matches
        else:
            notes.append(f"dropped message_matches `{old.message_matches}`: it no longer "
                         "matches the explanation or a finding message")
    return block, notes


def _block_end(lines: list[str], start: int) -> int:
    """Index after the last indented line of the top-level block that starts at `start`."""
    end = start + 1
    for i in range(start + 1, len(lines)):
        text = lines[i]
        if not text.strip() or text.startswith("#"):
            continue
        if not text[0].isspace():
            break
        end = i + 1
    return end


def replace_expect(text: str, line: int, block: dict[str, Any]) -> str:
    """`text` with the top-level `expect:` block at `line` (1-based) replaced by `block`."""
    lines = text.splitlines(keepends=True)
    start = line - 1
    end = _block_end(lines, start)
    newline = "\r\n" if lines[start].endswith("\r\n") else "\n"
    dumped = yaml.safe_dump({"expect": block}, sort_keys=False, default_flow_style=None,
                            allow_unicode=True, width=100)
    if newline != "\n":
        dumped = dumped.replace("\n", newline)
    if end == len(lines) and not lines[-1].endswith(("\n", "\r")):
        dumped = dumped.rstrip("\r\n")
    return "".join(lines[:start]) + dumped + "".join(lines[end:])


def _rewritten(fixture: Fixture, block: dict[str, Any]) -> tuple[str | None, str | None]:
    """New file text (None when unchanged), or None and why it cannot be rewritten safely."""
    doc = load_yaml_file(fixture.source.path, display=fixture.display)
    mark = doc.key_marks.get(("expect",))
    if not doc.ok or mark is None or mark.column != 1:
        return None, "not rewritten: `expect:` is not a top-level block key"
    text = replace_expect(doc.text, mark.line, block)
    new = load_yaml_bytes(text.encode("utf-8"), doc.path)
    rest = {k: v for k, v in doc.data.items() if k != "expect"}
    if not new.ok or new.data.get("expect") != block or \
            {k: v for k, v in new.data.items() if k != "expect"} != rest:
        return None, "not rewritten: replacing the expect block would change other keys"
    return (None, None) if text == doc.text else (text, None)


def update_fixture(result: FixtureResult, force: bool = False) -> Update | None:
    """Rewrite the expect block of a failing fixture (or a passing one with `force`)."""
    if result.decision is None or (result.status == PASS and not force):
        return None
    block, notes = new_expect(result.fixture, result.decision)
    text, problem = _rewritten(result.fixture, block)
    if problem is not None:
        return Update(result.fixture, False, (*notes, problem))
    if text is None:  # already up to date
        return None
    result.fixture.source.path.write_text(text, encoding="utf-8", newline="")
    return Update(result.fixture, True, tuple(notes))


def update_fixtures(results: Iterable[FixtureResult], force: bool = False) -> tuple[Update, ...]:
    updates = (update_fixture(r, force) for r in results)
    return tuple(u for u in updates if u is not None)


# ---------------------------------------------------------------- one call for the CLI


@dataclass(frozen=True, slots=True)
class RunOptions:
    backend: str = "durable"
    select: tuple[str, ...] = ()
    coverage: bool = False
    min_coverage: float | None = None
    update: bool = False
    force: bool = False


def run(store: PolicyStore, paths: Sequence[Path], options: RunOptions) -> RunReport:
    """Discover, load, run, measure coverage and (optionally) update, in that order."""
    fixtures, problems = load_fixtures(discover(paths, options.select))
    results = run_fixtures(store, fixtures, options.backend)
    want_coverage = options.coverage or options.min_coverage is not None
    coverage = compute_coverage(store, results) if want_coverage else None
    updates = update_fixtures(results, options.force) if options.update else ()
    problems.sort(key=Diagnostic.sort_key)
    return RunReport(results, tuple(problems), coverage, options.min_coverage, updates)
