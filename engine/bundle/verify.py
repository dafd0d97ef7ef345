"""Sign, verify and extract bundles.

Verification reads the archive once (bounded, safe names only), then checks, collecting
every problem: the manifest is present and valid, the signature is present and verifies
with the given key over the manifest's canonical JSON, every file listed is present with
its sha256 and size, and no file is present that the manifest does not list. Extraction
writes the files that were verified, from memory, into a new private temporary directory.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from engine.bundle.archive import (
    DEFAULT_LIMITS,
    Limits,
    UnsafeArchive,
    read_archive,
    write_archive,
    write_tree,
)
from engine.bundle.manifest import (
    MANIFEST_NAME,
    POLICY_ROOT,
    RESERVED,
    SIGNATURE_NAME,
    Manifest,
    ManifestError,
    parse_manifest,
    sha256_hex,
)
from engine.bundle.signing import (
    SignatureFileError,
    load_private_key,
    load_public_key,
    parse_signature,
    sign_manifest,
    signature_ok,
)
from engine.diagnostics import Diagnostic, DiagnosticError


class BundleVerificationError(DiagnosticError):
    """The bundle failed verification: every problem is attached."""


@dataclass
class Verification:
    """The outcome of reading a bundle: problems (empty: verified), manifest, files."""

    path: Path
    problems: list[Diagnostic] = field(default_factory=list)
    manifest: Manifest | None = None
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, code: str, message: str) -> None:
        self.problems.append(Diagnostic(code, message, str(self.path)))


def check_contents(path: Path, limits: Limits = DEFAULT_LIMITS) -> Verification:
    """Read the bundle and check its files against its manifest (not the signature).

    Raises UnreadableArchive; an unsafe archive is a problem (`unsafe-archive`).
    """
    result = Verification(path)
    try:
        members = read_archive(path, limits)
    except UnsafeArchive as exc:
        result.problem("unsafe-archive", f"the archive is refused: {exc}")
        return result
    if MANIFEST_NAME not in members:
        result.problem("manifest-missing", f"the bundle has no `{MANIFEST_NAME}`")
        return result
    try:
        manifest = parse_manifest(members[MANIFEST_NAME])
    except ManifestError as exc:
        result.problem("manifest-invalid", str(exc))
        return result
    result.manifest = manifest
    for name, entry in sorted(manifest.files.items()):
        data = members.get(name)
        if data is None:
            result.problem("file-missing", f"`{name}` is in the manifest but not in the bundle")
        elif len(data) != entry.size or sha256_hex(data) != entry.sha256:
            result.problem("digest-mismatch", f"`{name}` does not match its manifest digest")
    for name in sorted(set(members) - set(manifest.files) - set(RESERVED)):
        result.problem("file-not-in-manifest", f"`{name}` is in the bundle but not in the "
                                               "manifest")
    result.files = {n: d for n, d in members.items() if n in manifest.files or n in RESERVED}
    return result


def verify_bundle(path: Path, key: Ed25519PublicKey | Path,
                  limits: Limits = DEFAULT_LIMITS) -> Verification:
    """Every problem of the bundle at `path` checked with the verify key `key`.

    Raises UnreadableArchive (not a tar.gz) and KeyFileError (the key cannot be used).
    """
    public = load_public_key(key) if isinstance(key, Path) else key
    result = check_contents(path, limits)
    if result.manifest is None:
        return result
    signature = result.files.get(SIGNATURE_NAME)
    if signature is None:
        result.problem("signature-missing", f"the bundle has no `{SIGNATURE_NAME}` "
                                            "(sign it with `echri bundle sign`)")
        return result
    try:
        document = parse_signature(signature)
    except SignatureFileError as exc:
        result.problem("signature-invalid", str(exc))
        return result
    if not signature_ok(result.manifest.canonical(), document, public):
        result.problem("bad-signature", "the signature does not verify with the given key "
                                        "(manifest edited, or signed with another key)")
    return result


def sign_bundle(path: Path, key_path: Path, limits: Limits = DEFAULT_LIMITS) -> Manifest:
    """Add or replace `signature.json` in the bundle at `path` (rewritten atomically).

    A bundle whose files do not match its manifest is not signed (BundleVerificationError).
    """
    key = load_private_key(key_path)
    result = check_contents(path, limits)
    if result.manifest is None or result.problems:
        raise BundleVerificationError(result.problems)
    files = dict(result.files)
    files[SIGNATURE_NAME] = sign_manifest(result.manifest.canonical(), key)
    out = io.BytesIO()
    write_archive(files, out)
    write_atomically(path, out.getvalue())
    return result.manifest


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` (a temporary file in the same directory, then rename)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def extracted(path: Path, key: Ed25519PublicKey | Path,
              limits: Limits = DEFAULT_LIMITS) -> Iterator[tuple[Path, Manifest]]:
    """Verify the bundle, extract it into a private temporary directory and yield
    (its policies directory, the manifest); the directory is removed afterwards.

    Raises BundleVerificationError when verification fails.
    """
    result = verify_bundle(path, key, limits)
    if not result.ok or result.manifest is None:
        raise BundleVerificationError(result.problems)
    root = Path(tempfile.mkdtemp(prefix="echri-bundle-"))  # mode 0700
    try:
        write_tree({n: d for n, d in result.files.items() if n not in RESERVED}, root)
        yield root / POLICY_ROOT, result.manifest
    finally:
        shutil.rmtree(root, ignore_errors=True)
