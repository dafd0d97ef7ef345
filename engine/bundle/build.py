"""Build a bundle from a policy directory: every file of the tree plus `manifest.json`.

The files are those below the policy directory (every version, drafts included, and
`CHECKSUMS`), stored under `policies/`; hidden files and directories (`.git`, editors'
files) are left out, and a symbolic link is refused. The policies are loaded with
`engine.load` first, so a bundle never holds a set the service would refuse, and the
manifest records the digests the service will report.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

from engine.bundle.archive import DEFAULT_LIMITS, Limits, check_name, write_archive
from engine.bundle.manifest import (
    MANIFEST_NAME,
    POLICY_ROOT,
    FileEntry,
    Manifest,
    sha256_hex,
)
from engine.version import __version__


class BuildError(ValueError):
    """The policy directory cannot be bundled (link, too large, unusable name, no revision)."""


def git_revision(path: Path) -> str | None:
    """`git rev-parse HEAD` in `path`, or None when it is not in a git work tree."""
    try:
        run = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    revision = run.stdout.strip()
    return revision if run.returncode == 0 and revision else None


def collect_files(policy_dir: Path, limits: Limits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """The files to bundle, `policies/<relative path>` → bytes (bounded like extraction)."""
    if not policy_dir.is_dir():
        raise BuildError(f"`{policy_dir}` is not a directory")
    files: dict[str, bytes] = {}
    total = 0
    for folder, dirs, names in os.walk(policy_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = Path(folder)
        for name in [d for d in dirs if (base / d).is_symlink()]:
            raise BuildError(f"`{base / name}` is a symbolic link: bundles hold files only")
        for name in sorted(n for n in names if not n.startswith(".")):
            path = base / name
            if path.is_symlink() or not path.is_file():
                raise BuildError(f"`{path}` is not a regular file: bundles hold files only")
            rel = path.relative_to(policy_dir).as_posix()
            try:
                member = check_name(f"{POLICY_ROOT}/{rel}")
            except ValueError:
                raise BuildError(f"`{path}` has a name bundles do not allow") from None
            data = path.read_bytes()
            total += len(data)
            if (len(files) >= limits.max_members or len(data) > limits.max_member_bytes
                    or total > limits.max_total_bytes):
                raise BuildError(f"`{policy_dir}` is over the bundle limits")
            files[member] = data
    return files


def policy_entries(policy_dir: Path) -> tuple[dict[str, str], ...]:
    """id, version, status and content digest of each version (raises PolicyLoadError)."""
    from engine.api import load

    store = load(policy_dir)
    return tuple({"id": pid, "version": v, "status": cp.policy.status, "digest": cp.digest}
                 for pid in store.policy_ids for v, cp in sorted(store.versions[pid].items()))


def build_bundle(policy_dir: Path, revision: str | None = None,
                 limits: Limits = DEFAULT_LIMITS) -> tuple[bytes, Manifest]:
    """The bundle bytes (unsigned) and its manifest.

    `revision` defaults to the git HEAD of the policy directory; BuildError without either.
    Loading errors of the policies raise PolicyLoadError.
    """
    revision = revision or git_revision(policy_dir)
    if not revision:
        raise BuildError("no revision: the policy directory is not in a git work tree, "
                         "give one with --revision")
    files = collect_files(policy_dir, limits)
    manifest = Manifest(
        revision=revision, created_by=f"echri {__version__}",
        files={name: FileEntry(sha256_hex(data), len(data)) for name, data in files.items()},
        policies=policy_entries(policy_dir))
    out = io.BytesIO()
    write_archive({**files, MANIFEST_NAME: manifest.stored()}, out)
    return out.getvalue(), manifest
