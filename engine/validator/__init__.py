"""The validator: schema, cross-references and lint of policy versions (`echri validate`).

One version goes through three passes (four for `echri validate`), each a module of this
package:

1. `schema_check` — the loader's problems (syntax, duplicate keys, tags, limits), missing
   files and JSON Schema errors, at file:line:col. Later passes need schema-valid data, so
   they run only when this one found no error.
2. `xref` — every id a file uses is defined once (`XREF_CHECKS`).
3. `lint` — allowed but suspicious content, such as a rule that can never fire (`LINTS`);
   only on a version without errors, to avoid echoes of an error.
4. `backends` (with `validate_report(..., backends=True)`, as `echri validate` runs it) —
   a version without errors is compiled for every backend and decides one smoke case on
   each, so a version that validates can always be evaluated.

Across versions, `versions` checks the timeline of released versions and their checksums.
All diagnostics are sorted by location.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.diagnostics import FORMATTERS, Diagnostic, has_errors
from engine.model import Policy, build_policy
from engine.repository import (
    VersionSource,
    find_version_dirs,
    load_version_source,
    version_files,
)
from engine.validator.backends import check_backends
from engine.validator.context import Context
from engine.validator.lint import LINTS, run_lints
from engine.validator.retired import check_retired_ids
from engine.validator.schema_check import check_source
from engine.validator.versions import check_checksums, check_version_sets, version_info
from engine.validator.xref import XREF_CHECKS, check_references

__all__ = [
    "LINTS",
    "XREF_CHECKS",
    "NoPolicyVersions",
    "ValidationReport",
    "find_versions",
    "render",
    "summary",
    "validate_paths",
    "validate_report",
    "validate_version",
]


class NoPolicyVersions(ValueError):
    """A path given to the validator holds no policy version (no policy.yaml)."""


@dataclass(frozen=True, slots=True)
class ValidationReport:
    diagnostics: tuple[Diagnostic, ...]
    versions: int
    files: int
    notes: tuple[str, ...] = ()  # what was not checked here, such as a missing backend

    def count(self, severity: str) -> int:
        return sum(1 for d in self.diagnostics if d.severity == severity)

    @property
    def files_with_problems(self) -> int:
        return len({d.file for d in self.diagnostics})


def _sorted(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=Diagnostic.sort_key)


def validate_version(src: VersionSource, *,
                     lint: bool = True) -> tuple[Policy | None, list[Diagnostic]]:
    """Validate one loaded version; the Policy is returned only when there is no error."""
    found = check_source(src)
    if has_errors(found):
        return None, _sorted(found)
    ctx = Context(src, build_policy(src))
    found += check_references(ctx)
    if lint and not has_errors(found):
        found += run_lints(ctx)
    return (None if has_errors(found) else ctx.policy), _sorted(found)


def find_versions(paths: Sequence[Path]) -> list[Path]:
    """Version directories under each path (a policies root, a policy set or a version)."""
    found: dict[Path, Path] = {}
    for path in paths:
        dirs = find_version_dirs(path) if path.is_dir() else []
        if not dirs:
            raise NoPolicyVersions(f"no policy version (a directory with policy.yaml) in "
                                   f"`{path}`")
        found.update((d.resolve(), d) for d in dirs)
    return sorted(found.values())


def validate_report(paths: Sequence[Path], root: Path | None = None, *, lint: bool = True,
                    checksums: bool = True, backends: bool = False) -> ValidationReport:
    """Validate every version under `paths`, their timeline and (optionally) checksums.

    `root` is the policies root holding CHECKSUMS; by default the grandparent of each
    version directory. With `backends`, every version without errors is also compiled and
    evaluated on each backend (`check_backends`). Raises NoPolicyVersions when a path holds
    no version.
    """
    dirs = find_versions(paths)
    found: list[Diagnostic] = []
    notes: list[str] = []
    infos = []
    files = 0
    for path in dirs:
        src = load_version_source(path)
        files += len(version_files(path))
        policy, diagnostics = validate_version(src, lint=lint)
        found += diagnostics
        if backends and policy is not None:
            problems, skipped = check_backends(policy, f"{src.display}/policy.yaml")
            found += problems
            notes += skipped
        info = version_info(src)
        if info is not None:
            infos.append(info)
    found += check_version_sets(infos)
    found += check_retired_ids(infos)  # engine/validator/retired.py: ids are never reused
    if checksums:
        found += check_checksums(infos, root)
    return ValidationReport(tuple(_sorted(found)), len(dirs), files, tuple(notes))


def validate_paths(paths: Sequence[Path], root: Path | None = None, *, lint: bool = True,
                   checksums: bool = True) -> list[Diagnostic]:
    """Every problem of the versions under `paths`, sorted by location."""
    return list(validate_report(paths, root, lint=lint, checksums=checksums).diagnostics)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(report: ValidationReport) -> str:
    """`2 errors, 1 warning in 2 files (checked 2 versions, 26 files)` or `ok: ...`."""
    checked = f"{_plural(report.versions, 'version')}, {_plural(report.files, 'file')}"
    if not report.diagnostics:
        return f"ok: {checked}, no problems"
    counts = f"{_plural(report.count('error'), 'error')}, " \
             f"{_plural(report.count('warning'), 'warning')}"
    return f"{counts} in {_plural(report.files_with_problems, 'file')} (checked {checked})"


def render(report: ValidationReport, fmt: str = "text") -> str:
    """The report in one of engine.diagnostics.FORMATTERS; text ends with the summary."""
    text = FORMATTERS[fmt](report.diagnostics)
    if fmt != "text":
        return text
    lines = [text] if text else []
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join([*lines, summary(report)])
