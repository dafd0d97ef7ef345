"""Find policy sets and versions on disk, read their files, digest and checksum them.

Layout: `<root>/<policy-id>/<version>/policy.yaml` plus the other files of the version.
A version's *content digest* is sha256 over its normalised content (the loaded data of
every file, keyed by relative path, as canonical JSON), so comments and formatting do not
change it. *Checksums* (`<root>/CHECKSUMS`) are over the raw bytes of each file of each
released version: they make released versions immutable.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engine.diagnostics import Diagnostic, DiagnosticError
from engine.loader import Document, load_yaml_file
from engine.schemas import file_kind

CHECKSUMS_FILE = "CHECKSUMS"
MAX_SEARCH_DEPTH = 6  # levels below the root: <root>/<policy>/<version>/rules/ needs 3
MAX_SEARCH_ENTRIES = 20_000


@dataclass(slots=True)
class VersionSource:
    """The raw files of one policy version, as loaded (before validation)."""

    path: Path
    display: str  # path shown in diagnostics
    docs: dict[str, Document] = field(default_factory=dict)  # relpath → document
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[tuple[str, Document]]:
        return [(rel, d) for rel, d in sorted(self.docs.items()) if file_kind(rel) == kind]

    def one(self, kind: str) -> Document | None:
        found = self.of_kind(kind)
        return found[0][1] if found else None

    @property
    def meta(self) -> dict[str, object]:
        doc = self.one("policy")
        return doc.data if doc and isinstance(doc.data, dict) else {}

    @property
    def policy_id(self) -> str:
        return str(self.meta.get("policy", self.path.parent.name))

    @property
    def version(self) -> str:
        return str(self.meta.get("version", self.path.name))

    def digest(self) -> str:
        return content_digest(self)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def version_files(path: Path) -> list[Path]:
    """The YAML files of a version directory (bounded like the search for versions)."""
    files = [folder / name for folder, names in _walk(path, MAX_SEARCH_DEPTH, MAX_SEARCH_ENTRIES)
             for name in names]
    return sorted(p for p in files if p.suffix in (".yaml", ".yml") and p.is_file())


def load_version_source(path: Path) -> VersionSource:
    """Load every YAML file of a version directory, keeping all problems."""
    src = VersionSource(path=path, display=_display(path))
    for file in version_files(path):
        rel = file.relative_to(path).as_posix()
        doc = load_yaml_file(file, display=f"{src.display}/{rel}")
        if file_kind(rel) is None:
            src.diagnostics.append(Diagnostic(
                "unknown-file", f"`{rel}` is not a policy file kind", doc.path,
                help="policy files are policy.yaml, sources.yaml, categories.yaml, "
                     "risk_bands.yaml, destinations.yaml, end_users.yaml, assurances.yaml, "
                     "information.yaml, rules/*.yaml and optionally sanctions.yaml and "
                     "implicated_parties.yaml"))
            continue
        src.docs[rel] = doc
    return src


class PolicySearchError(DiagnosticError):
    """The search for policy versions was stopped: the tree is too deep or too large."""


def _search_stopped(root: Path, why: str) -> PolicySearchError:
    return PolicySearchError([Diagnostic(
        "policy-search", f"policy search stopped: {why}", str(root),
        help="point --policy-dir (or PATH) at the policies folder")])


def _walk(root: Path, max_depth: int, max_entries: int) -> Iterator[tuple[Path, list[str]]]:
    """Breadth-first (directory, other entry names), bounded.

    Symbolic links to directories are not followed (as `Path.rglob`), so a link loop cannot
    loop; a directory reached twice (bind mounts) is listed once.
    """
    queue: deque[tuple[Path, int]] = deque([(root, 0)])
    seen: set[tuple[int, int]] = set()
    entries = 0
    while queue:
        path, depth = queue.popleft()
        files: list[str] = []
        dirs: list[str] = []
        try:
            st = path.stat()
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(path) as it:
                for entry in it:  # counted one by one: a huge directory stops early
                    entries += 1
                    if entries > max_entries:
                        raise _search_stopped(
                            root, f"more than {max_entries} entries under `{root}`")
                    is_dir = entry.is_dir(follow_symlinks=False)
                    (dirs if is_dir else files).append(entry.name)
        except OSError:  # unreadable or vanished: as rglob does, skip it
            continue
        if dirs and depth >= max_depth:
            raise _search_stopped(root, f"`{path / min(dirs)}` is more than {max_depth} "
                                  f"levels below `{root}`")
        queue.extend((path / name, depth + 1) for name in sorted(dirs))
        yield path, files


def find_version_dirs(root: Path, max_depth: int = MAX_SEARCH_DEPTH,
                      max_entries: int = MAX_SEARCH_ENTRIES) -> list[Path]:
    """Every directory under `root` (or `root` itself) that holds a policy.yaml.

    The search is bounded (`--policy-dir /` must fail fast, not hang): PolicySearchError
    when a directory is more than `max_depth` levels below `root` or more than `max_entries`
    entries are visited.
    """
    if (root / "policy.yaml").is_file():
        return [root]
    return sorted(path for path, files in _walk(root, max_depth, max_entries)
                  if "policy.yaml" in files and (path / "policy.yaml").is_file())


def content_digest(src: VersionSource) -> str:
    content = {rel: doc.data for rel, doc in sorted(src.docs.items())}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def file_checksums(version_dir: Path, root: Path) -> dict[str, str]:
    """sha256 of the raw bytes of every file of a version, keyed by path relative to root."""
    out = {}
    for file in version_files(version_dir):
        out[file.relative_to(root).as_posix()] = hashlib.sha256(file.read_bytes()).hexdigest()
    return out


def read_checksums(root: Path) -> dict[str, str]:
    path = root / CHECKSUMS_FILE
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest, _, rel = line.partition("  ")
        out[rel.strip()] = digest.strip()
    return out


def write_checksums(root: Path, checksums: dict[str, str]) -> None:
    lines = ["# sha256 of every file of every released policy version (`echri version release`)"]
    lines += [f"{digest}  {rel}" for rel, digest in sorted(checksums.items())]
    (root / CHECKSUMS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
