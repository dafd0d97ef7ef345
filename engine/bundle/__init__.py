"""Policy bundles: a policy tree, a manifest of its files, an Ed25519 signature.

    build (build.py) → sign / verify / extract (verify.py), over archive.py (deterministic
    tar.gz, safe bounded reading), manifest.py (format, canonical JSON), signing.py (keys)

The format is described in docs/DESIGN.md ("Policy bundles").
"""

from __future__ import annotations

from engine.bundle.archive import DEFAULT_LIMITS, Limits, UnreadableArchive, UnsafeArchive
from engine.bundle.build import BuildError, build_bundle, git_revision
from engine.bundle.manifest import FORMAT, MANIFEST_NAME, SIGNATURE_NAME, Manifest
from engine.bundle.signing import KeyFileError, generate_key, load_public_key
from engine.bundle.verify import (
    BundleVerificationError,
    Verification,
    check_contents,
    extracted,
    sign_bundle,
    verify_bundle,
    write_atomically,
)

__all__ = [
    "DEFAULT_LIMITS", "FORMAT", "MANIFEST_NAME", "SIGNATURE_NAME", "BuildError",
    "BundleVerificationError", "KeyFileError", "Limits", "Manifest", "UnreadableArchive",
    "UnsafeArchive", "Verification", "build_bundle", "check_contents", "extracted",
    "generate_key", "git_revision", "load_public_key", "sign_bundle", "verify_bundle",
    "write_atomically",
]
