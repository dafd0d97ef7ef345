"""Read policy files from a git revision without touching the working tree.

Only git's object store is used: `git ls-tree` lists the files of a directory at a
revision and one `git cat-file --batch` process streams their contents. Nothing is checked
out, so uncommitted work in the working tree is never disturbed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath

POLICY_SUFFIXES = (".yaml", ".yml")


class GitError(Exception):
    """A git command failed (not a repository, unknown revision, missing path)."""


def _git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], input=data,
                              capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise GitError("git is not installed") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(message[-1] if message else f"git {args[0]} failed")
    return done.stdout


def toplevel(start: Path) -> Path:
    """The root of the working tree that contains `start`."""
    out = _git(start, "rev-parse", "--show-toplevel")
    return Path(out.decode("utf-8").strip()).resolve()


def check_revision(repo: Path, ref: str) -> str:
    """The commit id `ref` names (raises GitError for an unknown revision)."""
    out = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return out.decode("ascii").strip()


def list_dirs(repo: Path, ref: str, path: str) -> list[str]:
    """Names of the sub-directories of `path` (relative to the top level) at `ref`."""
    try:
        out = _git(repo, "ls-tree", "-z", f"{ref}:{path}")
    except GitError:
        return []
    names = []
    for entry in out.split(b"\0"):
        meta, _, name = entry.partition(b"\t")
        if meta.split(b" ")[1:2] == [b"tree"]:
            names.append(name.decode("utf-8"))
    return sorted(names)


def _blobs(repo: Path, ref: str, path: str) -> list[tuple[str, str]]:
    """(path relative to `path`, blob id) of every policy file under `path` at `ref`."""
    out = _git(repo, "ls-tree", "-r", "-z", ref, "--", f"{path}/")
    found = []
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        _mode, kind, blob = meta.decode("ascii").split(" ")
        rel = PurePosixPath(name.decode("utf-8")).relative_to(path).as_posix()
        if kind == "blob" and rel.endswith(POLICY_SUFFIXES):
            found.append((rel, blob))
    return sorted(found)


def _cat_batch(repo: Path, blobs: list[str]) -> list[bytes]:
    out = _git(repo, "cat-file", "--batch", data="".join(b + "\n" for b in blobs).encode())
    contents, pos = [], 0
    for _ in blobs:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split(b" ")[2])
        start = header_end + 1
        contents.append(out[start:start + size])
        pos = start + size + 1  # content is followed by a newline
    return contents


def read_tree(repo: Path, ref: str, path: str) -> dict[str, bytes]:
    """Every policy file (`*.yaml`) under `path` at `ref`, keyed by its relative path."""
    blobs = _blobs(repo, ref, path)
    if not blobs:
        return {}
    contents = _cat_batch(repo, [blob for _, blob in blobs])
    return {rel: raw for (rel, _), raw in zip(blobs, contents, strict=True)}
