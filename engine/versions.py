"""Authoring workflow: start a draft version, release it, record released files' checksums.

Released versions are immutable (their bytes are listed in `<policy-dir>/CHECKSUMS`), so a
policy change is a new version:

1. `new_version` copies a version into `<policy-dir>/<id>/<NEW>/` and rewrites its
   policy.yaml: `version: NEW`, `status: draft`, `derived_from: OLD`, a new `effective_from`,
   no `effective_until` (a version without one is in force until the next one starts) and an
   empty `changes:` list for the author to fill.
2. `release_version` validates the draft, runs every fixture under the draft treated as
   released (fixtures pinned to another version stay pinned; engine/fixtures/carry.py):
   the draft's own fixtures must pass, a fixture written for an earlier version whose
   expectation the draft changes is a reviewable `fixture-changed` problem (unless
   `accept_changes`), and together they must fire every rule of the draft. Then it sets
   `status: released` and records the checksums of its files.
3. `record_checksums` adds the checksums of released versions that have none yet and
   reports released files whose bytes no longer match.

policy.yaml is edited as text, key by key, so that comments and formatting survive.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.api import DEFAULT_BACKEND
from engine.compiler import CompiledPolicy, compile_policy
from engine.diagnostics import Diagnostic, DiagnosticError, has_errors
from engine.editor import generate as generate_editor_schemas
from engine.editor.modelines import generated_dir, point_modelines
from engine.model import Policy
from engine.repository import (
    file_checksums,
    find_version_dirs,
    load_version_source,
    read_checksums,
    write_checksums,
)
from engine.validator import validate_report, validate_version

_REF = re.compile(r"(?:(?P<policy>[a-z0-9][a-z0-9-]*)@)?(?P<version>[0-9]{4}\.[0-9]+)")


class VersionError(DiagnosticError):
    """A version cannot be created or released; every problem is attached."""


def _fail(message: str, file: str | None = None, help: str | None = None) -> VersionError:
    return VersionError([Diagnostic("version", message, file, help=help)])


def parse_ref(text: str, policy_dir: Path, policy_id: str | None = None) -> tuple[str, str]:
    """`ID@VERSION` or `VERSION` (the policy id from `policy_id` or the only policy)."""
    match = _REF.fullmatch(text)
    if not match:
        raise _fail(f"`{text}` is not a version name", help="write ID@YYYY.N or YYYY.N")
    pid = match["policy"] or policy_id
    if pid is None:
        ids = sorted(p.name for p in policy_dir.iterdir() if p.is_dir()) \
            if policy_dir.is_dir() else []
        if len(ids) != 1:
            raise _fail(f"`{text}` does not name its policy ({', '.join(ids) or 'none found'})",
                        help="write ID@VERSION")
        pid = ids[0]
    return pid, match["version"]


# ---------------------------------------------------------------- policy.yaml as text


def _block(lines: list[str], key: str) -> tuple[int, int] | None:
    """[start, end) lines of top-level `key` with its indented continuation."""
    start = next((i for i, line in enumerate(lines) if line.startswith(f"{key}:")), None)
    if start is None:
        return None
    end = start + 1
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line.startswith((" ", "\t", "- ")) or line == "-":
            end = i + 1
        elif line.strip():
            break
    return start, end


def set_key(text: str, key: str, value: str, before: str | None = None) -> str:
    """Replace (or insert before key `before`, else append) the top-level `key: value`."""
    lines = text.splitlines()
    where = _block(lines, key)
    new = [f"{key}: {value}"]
    if where is not None:
        lines[where[0]:where[1]] = new
    else:
        anchor = _block(lines, before) if before else None
        at = anchor[0] if anchor else len(lines)
        lines[at:at] = new
    return "\n".join(lines) + "\n"


def drop_key(text: str, key: str) -> str:
    lines = text.splitlines()
    where = _block(lines, key)
    if where is not None:
        del lines[where[0]:where[1]]
    return "\n".join(lines) + "\n"


def _quoted(value: str) -> str:
    return f'"{value}"'


def _check_meta(path: Path, expected: dict[str, Any], absent: tuple[str, ...] = ()) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    wrong = [k for k, v in expected.items() if str(data.get(k)) != str(v)]
    wrong += [k for k in absent if k in data]
    if wrong:
        raise _fail(f"could not update {', '.join(wrong)} in `{path}`", str(path),
                    help="edit policy.yaml by hand")


# ---------------------------------------------------------------- new


def _next_day(day: str) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()


def default_effective_from(old_meta: dict[str, Any], new_version: str) -> str | None:
    """The day after the old version ends, else 1 January of the new version's year."""
    if old_meta.get("effective_until"):
        return _next_day(str(old_meta["effective_until"]))
    first = f"{new_version.split('.')[0]}-01-01"
    return first if first > str(old_meta.get("effective_from", "")) else None


def _check_date(day: str, after: str) -> None:
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        raise _fail(f"`{day}` is not a date (YYYY-MM-DD)") from None
    if day <= after:
        raise _fail(f"the new version must start after the old one (effective_from {after})",
                    help="give a later --effective-from")


def _meta(path: Path) -> dict[str, Any]:
    data = yaml.safe_load((path / "policy.yaml").read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def new_version(policy_dir: Path, new: str, source: str,
                effective_from: str | None = None) -> Path:
    """Copy version `source` into a new draft `new`; returns the new directory."""
    pid, old_version = parse_ref(source, policy_dir)
    _, version = parse_ref(new, policy_dir, pid)
    old_dir, new_dir = policy_dir / pid / old_version, policy_dir / pid / version
    if not (old_dir / "policy.yaml").is_file():
        raise _fail(f"no version `{pid}@{old_version}` in `{policy_dir}`")
    if new_dir.exists():
        raise _fail(f"`{new_dir}` already exists")
    old_meta = _meta(old_dir)
    start = effective_from or default_effective_from(old_meta, version)
    if start is None:
        raise _fail(f"`{pid}@{old_version}` has no end date: say when {version} starts",
                    help="give --effective-from YYYY-MM-DD")
    _check_date(start, str(old_meta.get("effective_from", "")))
    shutil.copytree(old_dir, new_dir)
    path = new_dir / "policy.yaml"
    text = path.read_text(encoding="utf-8")
    text = set_key(text, "version", _quoted(version))
    text = set_key(text, "derived_from", _quoted(old_version), before="status")
    text = set_key(text, "status", "draft")
    text = set_key(text, "effective_from", _quoted(start))
    text = drop_key(text, "effective_until")
    text = set_key(text, "changes", f"[]  # the changes from {old_version}, one item each")
    path.write_text(text, encoding="utf-8")
    _check_meta(path, {"version": version, "status": "draft", "effective_from": start,
                       "derived_from": old_version}, absent=("effective_until",))
    draft_editor_schemas(policy_dir, pid, version, new_dir)
    return new_dir


def draft_editor_schemas(policy_dir: Path, pid: str, version: str, new_dir: Path) -> None:
    """Point a draft's modelines at its generated editor schemas and write them.

    Only in a repository layout, where `schemas/` sits next to the policies (what the
    relative modelines assume); see engine/editor/modelines.py.
    """
    root = policy_dir.resolve().parent
    if not (root / "schemas").is_dir():
        return
    point_modelines(new_dir, generated_dir(root, pid, version))
    draft, _ = validate_version(load_version_source(new_dir), lint=False)
    if draft is not None:
        generate_editor_schemas([draft], root / "schemas" / "generated")


# ---------------------------------------------------------------- release


@dataclass(frozen=True)
class ReleaseResult:
    path: Path
    checksums: dict[str, str]  # files recorded
    notes: tuple[str, ...] = ()  # what was checked, and warnings


def _validated(path: Path) -> tuple[Policy, list[Diagnostic]]:
    policy, found = validate_version(load_version_source(path))
    if policy is None or has_errors(found):
        raise VersionError([d for d in found if d.severity == "error"]
                           or [Diagnostic("version", "invalid policy version", str(path))])
    return policy, found


def _check_policy_set(policy_dir: Path, pid: str) -> None:
    """Every version of the policy, with the timeline of released versions."""
    found = validate_report([policy_dir / pid], policy_dir, checksums=False).diagnostics
    if has_errors(found):
        raise VersionError([d for d in found if d.severity == "error"])


def _compiled_versions(policy_dir: Path, draft: Policy) -> dict[str, dict[str, CompiledPolicy]]:
    """Every valid version under `policy_dir`, with `draft` in place of its directory."""
    versions: dict[str, dict[str, CompiledPolicy]] = {}
    for path in find_version_dirs(policy_dir):
        policy, found = validate_version(load_version_source(path))
        if policy is not None and not has_errors(found):
            versions.setdefault(policy.id, {})[policy.version] = compile_policy(policy)
    versions.setdefault(draft.id, {})[draft.version] = compile_policy(draft)
    return versions


def _change_help(result: Any, version: str) -> str:
    by_date = result.carried.by_date if result.carried else None
    keep = (f"pin the fixture to the version it was written for (`policy_version: "
            f"\"{by_date}\"`) and add a fixture for {version}") if by_date else \
        f"give the fixture a date or a `policy_version` for {version}"
    return f"review the change: if {version} is right, {keep}; or release with " \
           "--accept-changes"


def _fixture_failures(policy_dir: Path, fixtures: Path, policy: Policy, backend: str,
                      accept_changes: bool = False) -> tuple[list[Diagnostic], list[str]]:
    """Run every fixture under the draft (treated as released); problems and notes.

    Fixtures pinned to another version stay pinned; the others run under the draft
    (engine/fixtures/carry.py). A fixture whose expectation the draft changes is a
    `fixture-changed` problem unless `accept_changes`; a fixture written for an older
    version that already differed before is only counted in the notes.
    """
    try:
        from engine.fixtures import CHANGED, OUTDATED, PASS, RunOptions, run
    except ImportError:
        return [], ["fixtures not run: the fixture runner (engine.fixtures) is not available"]
    from engine.api import PolicyStore

    released = dataclasses.replace(policy, status="released")
    report = run(PolicyStore(_compiled_versions(policy_dir, released)), [fixtures],
                 RunOptions(backend=backend, coverage=True, policy_version=policy.version))
    problems = [d for d in report.diagnostics if d.severity == "error"]
    problems += [Diagnostic("fixture-failed", r.summary(), r.fixture.display, r.line)
                 for r in report.results if r.status not in (PASS, CHANGED, OUTDATED)]
    changed = [r for r in report.results if r.status == CHANGED]
    changes = [f"fixture `{r.fixture.test_id}`: {r.summary()}" for r in changed]
    if not accept_changes:
        problems += [Diagnostic("fixture-changed", text, r.fixture.display, r.line,
                                help=_change_help(r, policy.version))
                     for r, text in zip(changed, changes, strict=True)]
    cov = next((c for c in report.coverage or () if (c.policy_id, c.version) ==
                (policy.id, policy.version)), None)
    if cov is None or cov.percent < 100.0:
        missing = ", ".join(cov.uncovered) if cov else "every rule"
        problems.append(Diagnostic("fixture-coverage", f"fixtures do not fire every rule of "
                                   f"{policy.id} {policy.version}: {missing}", str(fixtures),
                                   help="add fixtures that fire these rules"))
    fixtures_run, carried = (cov.fixtures, cov.carried) if cov else (0, 0)
    pinned = sum(r.how == "pinned" and r.version != policy.version for r in report.results)
    notes = [f"{report.count(PASS)} fixture(s) passed, {fixtures_run} under {policy.version}, "
             "rule coverage 100%",
             f"{carried} of them written for earlier versions (carried forward), "
             f"{fixtures_run - carried} for {policy.version}; {pinned} pinned to other versions"]
    if report.count(OUTDATED):
        notes.append(f"{report.count(OUTDATED)} fixture(s) written for older versions already "
                     "differ under the version this one supersedes: not counted")
    notes += [f"accepted change: {text}" for text in changes]
    return problems, notes


def release_version(policy_dir: Path, ref: str, fixtures: Path = Path("fixtures"),
                    backend: str = DEFAULT_BACKEND, accept_changes: bool = False) -> ReleaseResult:
    """Check draft `ref`, mark it released and record its checksums.

    Every fixture runs under the draft (pinned ones stay pinned) and must fire every rule
    of it; a fixture whose expectation the draft changes blocks the release unless
    `accept_changes`.
    """
    pid, version = parse_ref(ref, policy_dir)
    path = policy_dir / pid / version
    if not (path / "policy.yaml").is_file():
        raise _fail(f"no version `{pid}@{version}` in `{policy_dir}`")
    if _meta(path).get("status") != "draft":
        raise _fail(f"`{pid}@{version}` is not a draft (released versions are immutable)",
                    help=f"start a new version: echri version new NEXT --from {pid}@{version}")
    policy, found = _validated(path)
    problems, fixture_notes = _fixture_failures(policy_dir, fixtures, policy, backend,
                                                accept_changes)
    if problems:
        raise VersionError(problems)
    policy_yaml = path / "policy.yaml"
    original = policy_yaml.read_text(encoding="utf-8")
    policy_yaml.write_text(set_key(original, "status", "released"), encoding="utf-8")
    try:
        _check_meta(policy_yaml, {"status": "released"})
        _validated(path)
        _check_policy_set(policy_dir, pid)
    except VersionError:
        policy_yaml.write_text(original, encoding="utf-8")
        raise
    sums = file_checksums(path, policy_dir)
    write_checksums(policy_dir, {**read_checksums(policy_dir), **sums})
    notes = [f"validated ({sum(d.severity != 'error' for d in found)} warning(s))",
             *fixture_notes]
    if not policy.changes:
        notes.append("warning: policy.yaml lists no `changes` for reviewers")
    return ReleaseResult(path, sums, tuple(notes))


# ---------------------------------------------------------------- checksums


@dataclass
class ChecksumReport:
    added: list[str] = field(default_factory=list)  # files newly recorded
    changed: list[str] = field(default_factory=list)  # released files changed or added
    missing: list[str] = field(default_factory=list)  # recorded files that are gone
    versions: list[str] = field(default_factory=list)  # released versions seen

    @property
    def ok(self) -> bool:
        return not self.changed and not self.missing


def record_checksums(policy_dir: Path, write: bool = True) -> ChecksumReport:
    """Record checksums of released versions that have none; report changed files.

    A version that already has checksums is only checked: a file added to it, changed or
    removed is reported, never recorded (released versions are immutable).
    """
    known = read_checksums(policy_dir)
    report, merged = ChecksumReport(), dict(known)
    for path in find_version_dirs(policy_dir):
        if _meta(path).get("status") != "released":
            continue
        base = path.relative_to(policy_dir).as_posix()
        report.versions.append(base)
        actual = file_checksums(path, policy_dir)
        recorded = {rel: d for rel, d in known.items() if rel.startswith(f"{base}/")}
        if not recorded:
            report.added += sorted(actual)
            merged.update(actual)
            continue
        report.changed += sorted(rel for rel in actual if recorded.get(rel) != actual[rel])
    report.missing = sorted(rel for rel in known if not (policy_dir / rel).is_file())
    if write and report.added and report.ok:
        write_checksums(policy_dir, merged)
    return report
