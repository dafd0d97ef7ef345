"""The bundle manifest: what a bundle holds, and the canonical bytes a signature covers.

The manifest lists every file of the bundle (path → sha256 and size) and the policy
versions as `engine.load` compiles them (id, version, status, content digest). It is stored
as `manifest.json`; the signature is over its *canonical* form (sorted keys, compact,
ASCII escapes), so the stored file's formatting does not matter.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

FORMAT = "echri-bundle/1"
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "signature.json"
POLICY_ROOT = "policies"
RESERVED = (MANIFEST_NAME, SIGNATURE_NAME)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEYS = {"format", "revision", "created_by", "root", "files", "policies"}


class ManifestError(ValueError):
    """The manifest is not a valid `echri-bundle/1` manifest."""


def canonical_json(data: Any) -> bytes:
    """Sorted keys, compact separators, ASCII escapes: the bytes that are hashed or signed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class FileEntry:
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Manifest:
    revision: str
    created_by: str
    files: dict[str, FileEntry]
    policies: tuple[dict[str, str], ...]
    format: str = FORMAT

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format, "revision": self.revision, "created_by": self.created_by,
            "root": POLICY_ROOT,
            "files": {path: {"sha256": e.sha256, "size": e.size}
                      for path, e in sorted(self.files.items())},
            "policies": [dict(p) for p in self.policies],
        }

    def canonical(self) -> bytes:
        """The bytes the signature covers."""
        return canonical_json(self.to_dict())

    def stored(self) -> bytes:
        """`manifest.json` as written into the bundle (readable, deterministic)."""
        return (json.dumps(self.to_dict(), sort_keys=True, indent=2, ensure_ascii=True)
                + "\n").encode()


def parse_manifest(data: bytes) -> Manifest:
    """The manifest stored in a bundle; raises ManifestError when it is not valid."""
    try:
        raw = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestError(f"`{MANIFEST_NAME}` is not JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise ManifestError(f"`{MANIFEST_NAME}` is not a JSON object")
    if set(raw) != _KEYS:  # strict, so that every stored key is covered by the signature
        raise ManifestError(f"`{MANIFEST_NAME}` must have exactly the keys "
                            f"{', '.join(sorted(_KEYS))}")
    if raw.get("format") != FORMAT:
        raise ManifestError(f"unknown bundle format `{raw.get('format')}` (expected `{FORMAT}`)")
    if raw.get("root") != POLICY_ROOT:
        raise ManifestError(f"unknown bundle root `{raw.get('root')}`")
    for key in ("revision", "created_by"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ManifestError(f"`{key}` is missing or not a string")
    files = raw.get("files")
    if not isinstance(files, dict):
        raise ManifestError("`files` is missing or not an object")
    entries: dict[str, FileEntry] = {}
    for path, entry in files.items():
        if not (isinstance(entry, dict) and set(entry) == {"sha256", "size"}
                and isinstance(entry["sha256"], str)
                and _HEX64.fullmatch(entry["sha256"]) and type(entry["size"]) is int):
            raise ManifestError(f"the entry of `{path}` needs `sha256` (hex) and `size`")
        if not path.startswith(POLICY_ROOT + "/"):
            raise ManifestError(f"`{path}` is outside `{POLICY_ROOT}/`")
        entries[path] = FileEntry(entry["sha256"], entry["size"])
    policies = raw.get("policies")
    if not (isinstance(policies, list) and all(
            isinstance(p, dict) and all(isinstance(v, str) for v in p.values())
            for p in policies)):
        raise ManifestError("`policies` is missing or not a list of objects of strings")
    return Manifest(raw["revision"], raw["created_by"], entries, tuple(policies))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key `{key}`")
        out[key] = value
    return out
