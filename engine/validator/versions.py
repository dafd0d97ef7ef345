"""Checks across the versions of a policy set, and of released versions against CHECKSUMS.

Timeline: the released versions of one policy, ordered by `effective_from`, must follow one
another without overlap or gap. `effective_until` is inclusive; a version without it runs
until the next one starts (or for ever). Drafts are exempt. Two versions with one version
string are an error whatever their status.

Immutability: every file of a released version has its sha256 in `<root>/CHECKSUMS`
(`echri version release` writes them). A changed, added or removed file is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

from engine.diagnostics import Diagnostic
from engine.loader import Document
from engine.repository import CHECKSUMS_FILE, VersionSource, file_checksums, read_checksums
from engine.schemas import check_document

RELEASED = "released"
IMMUTABLE = "released versions are immutable"


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """What the set-level checks need of one version (from a schema-valid policy.yaml)."""

    policy_id: str
    version: str
    status: str
    start: str
    until: str | None
    doc: Document  # policy.yaml, to point at its values
    path: Path  # the version directory
    display: str


def version_info(src: VersionSource) -> VersionInfo | None:
    """The version's metadata, or None when policy.yaml is missing or invalid."""
    doc = src.one("policy")
    if doc is None or not doc.ok or check_document(doc, "policy"):
        return None
    m = doc.data
    return VersionInfo(m["policy"], m["version"], m["status"], m["effective_from"],
                       m.get("effective_until"), doc, src.path, src.display)


def _day(text: str, days: int) -> str:
    return (date.fromisoformat(text) + timedelta(days=days)).isoformat()


def duplicate_versions(infos: Iterable[VersionInfo]) -> Iterator[Diagnostic]:
    seen: dict[str, VersionInfo] = {}
    for info in infos:
        if info.version in seen:
            yield info.doc.diagnostic(
                ("version",), "duplicate-version",
                f"version `{info.version}` of policy `{info.policy_id}` is also defined in "
                f"`{seen[info.version].display}`", help="give each version its own number")
        else:
            seen[info.version] = info


def timeline(infos: Iterable[VersionInfo]) -> Iterator[Diagnostic]:
    """Consecutive released versions neither overlap nor leave a gap."""
    released = sorted((i for i in infos if i.status == RELEASED),
                      key=lambda i: (i.start, i.version))
    for prev, cur in pairwise(released):
        if cur.start <= prev.start or (prev.until is not None and prev.until >= cur.start):
            end = f"is in force until {prev.until}" if cur.start > prev.start else \
                "starts the same day"
            yield cur.doc.diagnostic(
                ("effective_from",), "version-overlap",
                f"released version `{cur.version}` starts on {cur.start} while version "
                f"`{prev.version}` {end}",
                help=f"end `{prev.version}` the day before (`effective_until`), or start "
                     "this version later")
        elif prev.until is not None and _day(prev.until, 1) < cur.start:
            yield prev.doc.diagnostic(
                ("effective_until",), "version-gap",
                f"no released version of `{prev.policy_id}` is in force from "
                f"{_day(prev.until, 1)} to {_day(cur.start, -1)}",
                help=f"end `{prev.version}` on {_day(cur.start, -1)}, or drop its "
                     "`effective_until` to run it until the next version starts")


def check_version_sets(infos: Iterable[VersionInfo]) -> list[Diagnostic]:
    """Duplicate version strings and timeline problems, per policy id."""
    groups: dict[str, list[VersionInfo]] = {}
    for info in sorted(infos, key=lambda i: i.display):
        groups.setdefault(info.policy_id, []).append(info)
    return [d for group in groups.values()
            for d in (*duplicate_versions(group), *timeline(group))]


def _relative(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def _display(path: Path) -> str:
    return _relative(path, Path.cwd()) or str(path)


def verify_checksums(info: VersionInfo, root: Path,
                     recorded: dict[str, str]) -> Iterator[Diagnostic]:
    """Every file of a released version still has its recorded sha256."""
    base = _relative(info.path, root)
    prefix = f"{base}/"
    expected = {rel: d for rel, d in recorded.items() if rel.startswith(prefix)}
    listing = f"`{_display(root / CHECKSUMS_FILE)}`"
    if base is None or not expected:
        yield info.doc.diagnostic(
            ("status",), "checksum-missing",
            f"released version `{info.version}` of `{info.policy_id}` has no checksums in "
            f"{listing}", help="run `echri version release`")
        return
    actual = file_checksums(info.path.resolve(), root.resolve())
    for rel in sorted(expected.keys() | actual.keys()):
        if expected.get(rel) != actual.get(rel):
            name = rel[len(prefix):]
            yield Diagnostic("checksum-mismatch", _change(name, rel in expected, rel in actual,
                                                          info.version, listing),
                             f"{info.display}/{name}",
                             help="revert the change, and make it in a new version of the policy")


def _change(name: str, recorded: bool, present: bool, version: str, listing: str) -> str:
    if not present:
        what = f"was removed from released version `{version}`"
    elif not recorded:
        what = f"was added to released version `{version}`"
    else:
        what = f"differs from its checksum in {listing}"
    return f"`{name}` {what}: {IMMUTABLE}"


def check_checksums(infos: Iterable[VersionInfo], root: Path | None) -> list[Diagnostic]:
    """Checksum problems of every released version (root: the policies root, or inferred)."""
    out: list[Diagnostic] = []
    cache: dict[Path, dict[str, str]] = {}
    for info in infos:
        if info.status != RELEASED:
            continue
        base = root if root is not None else info.path.parent.parent
        if base not in cache:
            cache[base] = read_checksums(base)
        out.extend(verify_checksums(info, base, cache[base]))
    return out
