"""Control entries, free text and suggestions as normalisation reads them (memoised)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from engine.diagnostics import suggest
from engine.model import CONTROL_ENTRY, ENTRY_KINDS, canonical_entry, entry_regime

MEMO_LIMIT = 4096  # distinct texts per memo: bounded, whatever the cases hold


def control_entry(raw: Any) -> str | None:
    """A control entry in canonical form, or None when it is not one (memoised for text:
    cases repeat a few entries, and the answer depends on the text alone)."""
    return _canonical_text(raw) if type(raw) is str else _canonical(raw)


def _canonical(raw: Any) -> str | None:
    entry = canonical_entry(raw)
    return entry if CONTROL_ENTRY.fullmatch(entry) else None


_canonical_text = lru_cache(maxsize=MEMO_LIMIT)(_canonical)
# `suggest` per (value, vocabulary): difflib costs more than a whole case
memo_suggest = lru_cache(maxsize=MEMO_LIMIT)(suggest)


def entry_kind(entries: tuple[str, ...]) -> str | None:
    """The kind the entries' product groups agree on (`5D001.e` → software), else None.

    A regime-qualified entry (`eu_2019_125:II.1`) has no product group and is left out:
    the kind is what the other entries say.
    """
    if not entries:
        return None
    kinds = {ENTRY_KINDS.get(e[1]) if len(e) > 1 and e[0].isdigit() else None
             for e in entries if entry_regime(e) is None}
    return kinds.pop() if len(kinds) == 1 else None


def unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def visible_text(value: Any) -> str | None:
    """Free text, or None when nothing visible is left (it then counts as missing)."""
    if isinstance(value, str) and not _blank(value):
        return value
    return None


def _blank(text: str) -> bool:
    """Nothing visible: only whitespace, control, format (zero-width, BOM), unassigned or
    combining characters (a mark alone shows nothing) and blank letters (Hangul fillers)."""
    rest = text.strip(_ASCII_BLANK)  # ASCII whitespace and controls are blank: strip them
    if not rest:
        return True
    # a printable non-space ASCII character is never invisible: no need to look further
    if rest[0] < "\x7f" or _ASCII_VISIBLE.search(rest):
        return False
    return all(ch.isspace() or ch in _BLANK_LETTERS or unicodedata.category(ch) in _INVISIBLE
               for ch in rest)


_INVISIBLE = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zs", "Zl", "Zp", "Mn", "Me", "Mc"})
# letters (category Lo) that render as nothing
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_ASCII_BLANK = "".join(map(chr, range(0x21))) + "\x7f"  # controls and space (Cc, Zs)
_ASCII_VISIBLE = re.compile("[\x21-\x7e]")  # letters, digits, punctuation, symbols
