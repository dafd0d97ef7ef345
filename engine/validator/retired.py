"""Ids are never reused: an id retired from a policy cannot come back with another meaning.

Fixtures, decision logs, replays and reviewers refer to rules, categories and vocabulary by
id, so an id must mean one thing for the life of the policy. Across the versions of one
policy, drafts included, ordered by `effective_from` (then version string), an id is
*reused* when it is absent from the immediately preceding version but present in an earlier
one: the first version without it retired it, and whatever it means now, it is another
meaning (`error[id-reused]`). An id present in every version since it first appeared is
fine. Ids are checked per kind (`KINDS`).

A rename is declared on the rule or category of the version that introduces the new id,
`renamed_from: <old id>`: the old id must be in the preceding version and gone from this
one (`error[renamed-from]` otherwise), and is retired from then on like any other. The diff
shows a declared rename as one change (engine/diff/structural.py). A `renamed_from` on an id
that was already in the preceding version is history carried over by `echri version new`
and is not checked again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from engine.diagnostics import Diagnostic, suggest
from engine.loader import Document
from engine.repository import VersionSource, load_version_source
from engine.validator.versions import VersionInfo

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class IdKind:
    label: str  # as said in messages
    file: str  # file kind (engine.schemas.file_kind)
    key: str  # the top-level list of the file that holds the elements


KINDS: tuple[IdKind, ...] = (
    IdKind("rule", "rules", "rules"),
    IdKind("information requirement", "information", "requirements"),
    IdKind("category", "categories", "categories"),
    IdKind("category group", "categories", "groups"),
    IdKind("destination factor", "risk_bands", "factors"),
    IdKind("end-user type", "end_users", "end_user_types"),
    IdKind("red flag", "end_users", "red_flags"),
    IdKind("end-use purpose", "end_users", "end_use_purposes"),
    IdKind("intermediary role", "end_users", "intermediary_roles"),
    IdKind("assurance", "assurances", "assurances"),
    IdKind("licence condition", "assurances", "license_conditions"),
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One element with an id, where it is written, and its declared former id."""

    id: str
    doc: Document
    at: JsonPath
    renamed_from: str | None


def entries(src: VersionSource, kind: IdKind) -> dict[str, Entry]:
    """The elements of one kind in a version, by id (the first one of a duplicated id)."""
    out: dict[str, Entry] = {}
    for _rel, doc in src.of_kind(kind.file):
        items = doc.data.get(kind.key) if isinstance(doc.data, dict) else None
        for i, item in enumerate(items if isinstance(items, list) else ()):
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                old = item.get("renamed_from")
                out.setdefault(item["id"], Entry(item["id"], doc, (kind.key, i),
                                                 old if isinstance(old, str) else None))
    return out


def _renamed(kind: IdKind, entry: Entry, old: str, versions: Sequence[str], n: int,
             prev: dict[str, Entry], ids: dict[str, Entry]) -> Iterator[Diagnostic]:
    what = f"{kind.label} `{entry.id}` is declared renamed from `{old}`"
    at = (*entry.at, "renamed_from")
    if n == 0:
        yield entry.doc.diagnostic(at, "renamed-from", f"{what}, but {versions[0]} is the "
                                   "first version of the policy", help="drop `renamed_from`")
    elif old not in prev:
        yield entry.doc.diagnostic(at, "renamed-from", f"{what}, which is not a {kind.label} "
                                   f"of {versions[n - 1]}",
                                   help=suggest(old, prev) or "name the id it had in "
                                   f"{versions[n - 1]}, or drop `renamed_from`")
    elif old in ids:
        yield entry.doc.diagnostic(at, "renamed-from", f"{what}, but `{old}` is still a "
                                   f"{kind.label} of {versions[n]}",
                                   help=f"remove `{old}`, or drop `renamed_from`")


def check_kind(kind: IdKind, versions: Sequence[str],
               history: Sequence[dict[str, Entry]]) -> Iterator[Diagnostic]:
    """Reused ids and wrong renames of one kind; `history[n]` holds `versions[n]`'s ids."""
    last_seen: dict[str, int] = {}
    for n, ids in enumerate(history):
        prev = history[n - 1] if n else {}
        for key, entry in ids.items():
            if key in prev:
                continue
            if key in last_seen:
                yield entry.doc.diagnostic(
                    (*entry.at, "id"), "id-reused",
                    f"{kind.label} `{key}` was retired in {versions[last_seen[key] + 1]} and "
                    f"cannot come back in {versions[n]} with another meaning",
                    help=f"give it a new id: ids are never reused (`{key}` was last in "
                         f"{versions[last_seen[key]]})")
            if entry.renamed_from is not None:
                yield from _renamed(kind, entry, entry.renamed_from, versions, n, prev, ids)
        last_seen.update((key, n) for key in ids)


def _ordered(infos: Iterable[VersionInfo]) -> dict[str, list[VersionInfo]]:
    """Versions per policy id in time order; a duplicated version string counts once."""
    groups: dict[str, dict[str, VersionInfo]] = {}
    for info in sorted(infos, key=lambda i: (i.start, i.version, i.display)):
        groups.setdefault(info.policy_id, {}).setdefault(info.version, info)
    return {pid: list(group.values()) for pid, group in groups.items()}


def check_retired_ids(infos: Iterable[VersionInfo]) -> list[Diagnostic]:
    """Ids that come back after being retired, and renames that do not hold, per policy."""
    out: list[Diagnostic] = []
    for group in _ordered(infos).values():
        sources = [load_version_source(info.path) for info in group]
        versions = [info.version for info in group]
        for kind in KINDS:
            out += check_kind(kind, versions, [entries(src, kind) for src in sources])
    return out
