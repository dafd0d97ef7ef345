"""Screen the named parties of a case against a register set.

Names are compared after normalisation (`name_key`): Unicode NFKC, transliteration to ASCII
(`unidecode`: `Пример Трейдинг` → `primer treiding`), case folding, every run of other
characters → one space, runs of single letters joined (`S.A.` → `sa`), legal-form words
dropped (`LLC`, `OOO`, `GmbH`, `sa`, `Ltd`, ...; `LEGAL_FORMS`). The score is rapidfuzz's
`token_sort_ratio` (word order does not matter, typos cost a little), the best over the
entry's name and aliases, minus `country_penalty` when both sides give countries and they
differ (the country weights; it never hides an entry when a side gives none). Score ≥
`match` is a match of the entry's kind (`restricted`, `implicated`, `denied` for a party of
an active denial notice); `review` ≤ score < `match` is a `near_match`, which the decision
reports (`screening-review`), never silently drops.

Candidates come from an inverted index of normalised tokens and 4-letter token prefixes,
so a case is compared with the few entries that share a word with it, not with all of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from unidecode import unidecode

from engine.registers.model import NamedParty, Notice, RegisterSet

LEGAL_FORMS = frozenset({
    "llc", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "co", "company",
    "plc", "gmbh", "ag", "kg", "mbh", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "oy",
    "ab", "as", "aps", "oao", "ooo", "zao", "pao", "ao", "tov", "jsc", "ojsc", "cjsc", "pjsc",
    "llp", "lp", "pte", "pty", "bhd", "sdn", "kk", "fze", "fzco", "fzc", "fzllc", "dmcc",
    "sro", "spzoo", "doo", "ad", "jv", "the",
})
PREFIX = 4
COMMON, COMMON_MIN = 0.01, 50  # a token in more keys than this is common (see Index)


_OTHER = re.compile(r"[^a-z0-9]+")
GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                        "ß": "ss"})


def name_keys(name: str) -> tuple[str, ...]:
    """`name_key` of the name, and of its German umlaut spelling (`Müller` → `mueller`)
    when that differs: both transliterations occur in real lists."""
    german = name.translate(GERMAN)
    first = name_key(name)
    keys = (first, name_key(german)) if german != name else (first,)
    return tuple(k for k in dict.fromkeys(keys) if k)


def name_key(name: str) -> str:
    """The comparable form of a name (see the module docstring); `` for a blank name."""
    text = unidecode(unicodedata.normalize("NFKC", name)).casefold()
    words = _OTHER.sub(" ", text).split()  # unidecode gives ASCII: [a-z0-9] = isalnum
    joined: list[str] = []
    run = False  # the last word was built from single letters
    for w in words:  # S.A. → s a → sa; O.O.O. → ooo
        if len(w) == 1 and run:
            joined[-1] += w
        else:
            joined.append(w)
            run = len(w) == 1
    kept = [w for w in joined if w not in LEGAL_FORMS]
    return " ".join(kept or joined)


def _sorted_words(key: str) -> str:
    return " ".join(sorted(key.split()))


def _tokens(key: str) -> set[str]:
    out = set()
    for w in key.split():
        if len(w) >= 2:
            out.add(w)
            out.add("~" + w[:PREFIX])
    return out


@dataclass(frozen=True, slots=True)
class Target:
    """One screenable name set: a listed party or a party of a notice."""

    kind: str  # restricted | implicated | denied
    register: str
    ref: str  # listed entry id or notice id
    name: str  # display name
    keys: tuple[str, ...]
    countries: frozenset[str]
    source: str
    notice: Notice | None = None


@dataclass(frozen=True, slots=True)
class ScreenMatch:
    role: str
    party: str  # the name as the case gives it
    kind: str  # restricted | implicated | denied | near_match
    of: str  # the entry's kind (for a near match: what it nearly matched)
    register: str
    ref: str
    entry: str
    score: float
    why: str
    source: str = ""
    notice: Notice | None = None


class Index:
    """Every normalised key of every target, and the keys by token and token prefix."""

    def __init__(self, targets: Iterable[Target]):
        self.targets = tuple(targets)
        self.keys: list[str] = []
        self.sorted_keys: list[str] = []  # words sorted: ratio on them = token_sort_ratio
        self.owner: list[int] = []
        self.by_token: dict[str, list[int]] = {}
        for i, t in enumerate(self.targets):
            for key in t.keys:
                for tok in _tokens(key):
                    self.by_token.setdefault(tok, []).append(len(self.keys))
                self.keys.append(key)
                self.sorted_keys.append(_sorted_words(key))
                self.owner.append(i)

    def candidates(self, keys: Iterable[str]) -> list[int]:
        """Indexes of the keys sharing a word with one of `keys` (or, for a word no key
        has, its 4-letter prefix).

        A token that many keys share (`trading`, `~tech`: more than `COMMON` of them) only
        blocks when the name has no rarer token: it would bring in much of the register
        and decide nothing that a rarer token or prefix does not already bring in."""
        common = max(COMMON_MIN, int(len(self.keys) * COMMON))
        postings = [self._posting(w) for key in keys for w in key.split() if len(w) >= 2]
        rare = [p for p in postings if p and len(p) <= common]
        found: set[int] = set()
        for p in rare or postings:
            found.update(p)
        return sorted(found)

    def _posting(self, word: str) -> list[int]:
        """The keys with `word`; for a word no key has (a typo?), those sharing its prefix."""
        hit = self.by_token.get(word)
        return hit if hit is not None else self.by_token.get("~" + word[:PREFIX], [])


def _targets(rs: RegisterSet, day: str) -> list[Target]:
    out = []
    for e in rs.listed:
        keys = tuple(dict.fromkeys(k for n in (e.name, *e.aliases) for k in name_keys(n)))
        out.append(Target(e.kind, e.register, e.id, e.name, keys, e.countries, e.source))
    for n in rs.notices:
        if not n.active_on(day):
            continue  # expired or revoked notices are ignored (and linted)
        for role, p in n.parties():
            keys = tuple(dict.fromkeys(k for n in _names(p) for k in name_keys(n)))
            countries = frozenset({p.country}) if p.country else frozenset()
            out.append(Target("denied", n.register, n.id, p.name, keys, countries,
                              f"{n.notifying_state} denial of {n.date_of_denial} ({role})", n))
    return out


def _names(p: NamedParty) -> tuple[str, ...]:
    return (p.name, *p.aliases)


def index_for(rs: RegisterSet, day: str) -> Index:
    """The index of the entries and notices active on `day` (cached per day)."""
    cached = rs._index.get(day)
    if cached is None:
        if len(rs._index) > 64:
            rs._index.clear()
        cached = rs._index[day] = Index(_targets(rs, day))
    return cached


def screen(rs: RegisterSet, day: str,
           parties: Iterable[tuple[str, str | None, str | None]]) -> tuple[ScreenMatch, ...]:
    """Every match and near match of the (role, name, country) parties, best first per
    party; one result per (party, entry)."""
    idx = index_for(rs, day)
    s = rs.settings
    out: list[ScreenMatch] = []
    for role, name, country in parties:
        keys = name_keys(name) if name else ()
        if not keys:
            continue
        cands = idx.candidates(keys)
        best: dict[int, tuple[float, str, str]] = {}
        choices = [idx.sorted_keys[c] for c in cands]
        for q in keys:  # one vectorised rapidfuzz call per spelling of the name
            for _, score, pos in process.extract(_sorted_words(q), choices, scorer=fuzz.ratio,
                                                 score_cutoff=s.review, limit=None):
                owner = idx.owner[cands[pos]]
                if owner not in best or score > best[owner][0]:
                    best[owner] = (score, q, idx.keys[cands[pos]])
        found: list[ScreenMatch] = []
        for i, (score, q, k) in sorted(best.items()):
            t = idx.targets[i]
            why = f"`{q}` ~ `{k}` ({score:.0f})"
            if country and t.countries and country not in t.countries:
                score -= s.country_penalty
                why += f", country {country} not {'/'.join(sorted(t.countries))}"
            if score < s.review:
                continue
            kind = t.kind if score >= s.match else "near_match"
            found.append(ScreenMatch(role, name or "", kind, t.kind, t.register, t.ref, t.name,
                                     round(score, 1), why, t.source, t.notice))
        found.sort(key=lambda m: (-m.score, m.register, m.ref))
        out.extend(found)
    return tuple(out)
