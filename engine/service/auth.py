"""Bearer tokens read from a file (one per line, `#` comments), compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from pathlib import Path

from engine.service.problems import Problem


class TokenFileError(ValueError):
    """The token file cannot be read or holds no token."""


def read_tokens(path: str) -> tuple[bytes, ...]:
    """SHA-256 digests of the tokens in `path` (so compares are of equal length)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenFileError(f"cannot read the token file `{path}`: {exc}") from exc
    tokens = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not tokens:
        raise TokenFileError(f"the token file `{path}` holds no token")
    return tuple(hashlib.sha256(t.encode()).digest() for t in tokens)


def check_bearer(header: str | None, tokens: Sequence[bytes]) -> None:
    """Raise Problem 401 unless `header` is `Bearer <one of tokens>`."""
    scheme, _, value = (header or "").partition(" ")
    given = hashlib.sha256(value.strip().encode("utf-8", "replace")).digest()
    matched = False
    for token in tokens:  # every token is compared: the time does not tell which matched
        matched |= hmac.compare_digest(given, token)
    if scheme.lower() != "bearer" or not value.strip() or not matched:
        raise Problem("unauthorized", "give `Authorization: Bearer <token>`",
                      headers={"WWW-Authenticate": 'Bearer realm="echri"'})
