"""Ed25519 keys and detached signatures over the manifest's canonical JSON.

`signature.json` (inside the bundle, next to `manifest.json`):

    {"format": "echri-bundle-signature/1", "algorithm": "ed25519",
     "key_id": "sha256:<hex of the raw public key>",
     "manifest_sha256": "<hex of the canonical manifest>", "signature": "<base64>"}

`key_id` and `manifest_sha256` help a person see which key and manifest were used; only the
signature, checked with the verify key given, decides.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from engine.bundle.manifest import sha256_hex

SIGNATURE_FORMAT = "echri-bundle-signature/1"
ALGORITHM = "ed25519"


class KeyFileError(ValueError):
    """A key file cannot be read or is not an Ed25519 key."""


class SignatureFileError(ValueError):
    """`signature.json` is not a valid signature document."""


def generate_key(path: Path) -> Path:
    """Write a new private key (PEM, PKCS#8, mode 0600) to `path` and its public key to
    `path.pub`; returns the public key's path. Refuses to overwrite."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    pub_path = path.with_name(path.name + ".pub")
    for target, data, mode in ((path, pem, 0o600), (pub_path, public, 0o644)):
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    return pub_path


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key `{path}` ({exc.strerror or exc})") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file `path` (unencrypted PKCS#8)."""
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"`{path}` is not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"`{path}` is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in the PEM file `path`."""
    try:
        key = serialization.load_pem_public_key(_read(path))
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"`{path}` is not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"`{path}` is not an Ed25519 public key")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + sha256_hex(raw)


def sign_manifest(canonical: bytes, key: Ed25519PrivateKey) -> bytes:
    """`signature.json` for the canonical manifest bytes."""
    document = {"format": SIGNATURE_FORMAT, "algorithm": ALGORITHM,
                "key_id": key_id(key.public_key()), "manifest_sha256": sha256_hex(canonical),
                "signature": base64.b64encode(key.sign(canonical)).decode("ascii")}
    return json.dumps(document, sort_keys=True, indent=2).encode() + b"\n"


def parse_signature(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SignatureFileError(f"`signature.json` is not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != SIGNATURE_FORMAT:
        raise SignatureFileError(f"`signature.json` is not a `{SIGNATURE_FORMAT}` document")
    if doc.get("algorithm") != ALGORITHM or not isinstance(doc.get("signature"), str):
        raise SignatureFileError("`signature.json` needs `algorithm: ed25519` and `signature`")
    return doc


def signature_ok(canonical: bytes, signature: dict[str, Any], key: Ed25519PublicKey) -> bool:
    """Whether the signature document signs `canonical` with `key`."""
    try:
        key.verify(base64.b64decode(signature["signature"], validate=True), canonical)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
