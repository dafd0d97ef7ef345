"""Masking of personal data in logged cases: configured JSON pointers, three modes.

A path is a JSON pointer whose segments may be `*` (every element of a list, or every
value of an object): `/intermediaries/*/name`. Modes:

- `hmac` (default): a present string becomes `hmac-sha256:<hex>` keyed with a secret, so
  the same name is linkable across records without being readable;
- `full`: a present string becomes `[masked]` (not linkable);
- `none`: nothing is masked.

Only text that counts as present (engine/cases/text.py: something visible is left) is masked,
and a masked value stays present, so a masked case is decided exactly like the original:
names are tested with `exists`, and matched against the entries of implicated_parties.yaml,
so a name that is one of those entries' names or aliases (`keep`: the names of public,
listed organisations, engine/api.py `PolicyStore.listed_names`) is kept as it is and a
replay of the masked case still matches it (docs/DESIGN.md, decision log). Blank or missing
values are kept as they are.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.cases.text import visible_text
from engine.implicated import normalise_name

MASK_MODES = ("hmac", "none", "full")
# The case contract has no natural-person field; these are the names of parties that may be
# a person (an end user, intermediary, consignee, purchaser or a re-export's previous
# consignee can be an individual or a sole trader). The exporter is the applicant, an
# organisation, and is kept; so are free-text descriptions. Other paths with --mask-path
# (which replaces this set).
DEFAULT_MASK_PATHS: tuple[str, ...] = ("/end_user/name", "/intermediaries/*/name",
                                       "/consignees/*/name", "/purchaser/name",
                                       "/reexport/previous_consignee/name")
FULL_MASK = "[masked]"


class MaskingError(ValueError):
    """The masking configuration cannot be used (unknown mode, bad path, missing key)."""


def parse_pointer(path: str) -> tuple[str, ...]:
    """The segments of a JSON pointer (`~1` is `/`, `~0` is `~`)."""
    if not path.startswith("/"):
        raise MaskingError(f"mask path `{path}` is not a JSON pointer (it must start with `/`)")
    return tuple(s.replace("~1", "/").replace("~0", "~") for s in path[1:].split("/"))


def _replaced(node: Any, segments: Sequence[str], change: Callable[[Any], Any]) -> Any:
    """`node` with `change` applied to every value the pointer names (missing parts are
    skipped). The input is never changed: a container on the way is copied, shallowly,
    only when something under it changes, so the rest is shared, not copied."""
    head, rest = segments[0], segments[1:]
    if isinstance(node, dict):
        keys: Iterable[Any] = list(node) if head == "*" else [head] if head in node else []
    elif isinstance(node, list):
        keys = range(len(node)) if head == "*" else \
            [int(head)] if head.isdigit() and int(head) < len(node) else []
    else:
        return node
    out = node
    for key in keys:
        old = node[key]
        new = _replaced(old, rest, change) if rest else change(old)
        if new is not old:
            if out is node:
                out = dict(node) if isinstance(node, dict) else list(node)
            out[key] = new
    return out


@dataclass(frozen=True)
class Masker:
    mode: str = "hmac"
    paths: tuple[str, ...] = DEFAULT_MASK_PATHS
    key: bytes = b""
    _pointers: tuple[tuple[str, ...], ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in MASK_MODES:
            raise MaskingError(f"unknown masking mode `{self.mode}` (use hmac, none or full)")
        if self.mode == "hmac" and not self.key:
            raise MaskingError("masking mode `hmac` needs a key: give a key file or set "
                               "ECHRI_LOG_KEY, or choose --mask none or --mask full")
        object.__setattr__(self, "_pointers", tuple(parse_pointer(p) for p in self.paths))

    @property
    def key_id(self) -> str | None:
        """A short public id of the key (which key masked a record), never the key itself."""
        if self.mode != "hmac":
            return None
        return "sha256:" + hashlib.sha256(b"echri-mask-key-id:" + self.key).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        """What the record says about its masking."""
        out: dict[str, Any] = {"mode": self.mode,
                               "paths": list(self.paths) if self.mode != "none" else []}
        if self.key_id:
            out["key_id"] = self.key_id
        return out

    def pseudonym(self, text: str) -> str:
        if self.mode == "full":
            return FULL_MASK
        digest = hmac.new(self.key, text.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return "hmac-sha256:" + digest.hexdigest()

    def mask(self, case: Any, keep: frozenset[str] = frozenset()) -> Any:
        """`case` masked (the input is never changed; what is not masked is shared with it,
        so treat the result as read-only); a value whose normalised form
        (engine/implicated.py) is in `keep` stays as it is."""
        if self.mode == "none":
            return case

        def change(value: Any) -> Any:
            # present as normalisation reads it: a blank name stays blank, so the
            # masked case asks for it as the original does
            if visible_text(value) is not None and \
                    not (keep and normalise_name(value) in keep):
                return self.pseudonym(value)
            return value

        out = case
        for pointer in self._pointers:
            if pointer:
                out = _replaced(out, pointer, change)
        return out


def read_key(path: str | None, env_value: str | None) -> bytes:
    """The masking key: the bytes of `path` (stripped), else the environment value."""
    if path:
        try:
            with open(path, "rb") as stream:
                key = stream.read().strip()
        except OSError as exc:
            raise MaskingError(f"cannot read the mask key file `{path}`: "
                               f"{exc.strerror or exc}") from exc
        if not key:
            raise MaskingError(f"the mask key file `{path}` is empty")
        return key
    return (env_value or "").encode("utf-8")


ENV_LOG_KEY = "ECHRI_LOG_KEY"


def make_masker(mode: str, paths: Sequence[str] | None, key_file: str | None) -> Masker:
    """A Masker from options: default paths when `paths` is None or empty, the key from
    `key_file` or the ECHRI_LOG_KEY variable (`hmac` only)."""
    key = read_key(key_file, os.environ.get(ENV_LOG_KEY)) if mode == "hmac" else b""
    return Masker(mode, tuple(paths) if paths else DEFAULT_MASK_PATHS, key)
