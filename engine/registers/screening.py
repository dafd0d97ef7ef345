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
The index keeps each token's keys ready for rapidfuzz (one call a token, no list built per
case) and the scores of the names it has screened, as `query` keeps the keys of a name:
the same parties recur from case to case, and a name seen before costs two look-ups.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from rapidfuzz import fuzz, process
from unidecode import unidecode

from engine.registers.model import NamedParty, Notice, RegisterSet, Settings

LEGAL_FORMS = frozenset({
    "llc", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "co", "company",
    "plc", "gmbh", "ag", "kg", "mbh", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "oy",
    "ab", "as", "aps", "oao", "ooo", "zao", "pao", "ao", "tov", "jsc", "ojsc", "cjsc", "pjsc",
    "llp", "lp", "pte", "pty", "bhd", "sdn", "kk", "fze", "fzco", "fzc", "fzllc", "dmcc",
    "sro", "spzoo", "doo", "ad", "jv", "the",
})
PREFIX = 4
COMMON, COMMON_MIN = 0.01, 50  # a token in more keys than this is common (see Index)
HITS_CACHED = 8192  # names whose scores an index keeps (Index.hits)


_OTHER = re.compile(r"[^a-z0-9]+")
# the same on ASCII text, one character at a time (`split` then merges the spaces)
_ASCII_OTHER = str.maketrans({c: " " for c in map(chr, range(128))
                              if not ("a" <= c <= "z" or "0" <= c <= "9")})
GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                        "ß": "ss"})


def name_keys(name: str) -> tuple[str, ...]:
    """`name_key` of the name, and of its German umlaut spelling (`Müller` → `mueller`)
    when that differs: both transliterations occur in real lists."""
    if name.isascii():  # the usual case: no umlaut, so one key (see `name_key`)
        key = _joined_key(name.lower())
        return (key,) if key else ()
    german = name.translate(GERMAN)
    first = name_key(name)
    keys = (first, name_key(german)) if german != name else (first,)
    return tuple(k for k in dict.fromkeys(keys) if k)


def name_key(name: str) -> str:
    """The comparable form of a name (see the module docstring); `` for a blank name."""
    if name.isascii():  # NFKC and unidecode leave ASCII as it is; casefold is lower
        return _joined_key(name.lower())
    return _joined_key(unidecode(unicodedata.normalize("NFKC", name)).casefold())


def _joined_key(text: str) -> str:
    """`name_key` of a folded ASCII text: runs of single letters joined, legal forms out."""
    # unidecode gives ASCII ([a-z0-9] = isalnum); translate is the faster way there
    spaced = text.translate(_ASCII_OTHER) if text.isascii() else _OTHER.sub(" ", text)
    words = spaced.split()
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


class Query(NamedTuple):
    """What screening needs of a party's name, computed once per distinct name."""

    keys: tuple[str, ...]  # `name_keys`
    sorted_keys: tuple[str, ...]  # their words sorted (ratio on them = token_sort_ratio)
    words: tuple[str, ...]  # the words that block candidates (two letters or more)


@lru_cache(maxsize=4096)
def query(name: str) -> Query:
    """The `Query` of a name; cached, since the same parties recur from case to case."""
    keys = name_keys(name)
    split = [k.split() for k in keys]
    return Query(keys, tuple(" ".join(sorted(ws)) for ws in split),
                 tuple(w for ws in split for w in ws if len(w) >= 2))


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


# (target, (score, name key, entry key)) of the targets a name scores `review` or more with
Hits = tuple[tuple[int, tuple[float, str, str]], ...]


class Index:
    """Every normalised key of every target, and the keys by token and token prefix."""

    def __init__(self, targets: Iterable[Target]):
        self.targets = tuple(targets)
        self.keys: list[str] = []
        self.sorted_keys: list[str] = []  # words sorted: ratio on them = token_sort_ratio
        self.owner: list[int] = []
        by_token: dict[str, list[int]] = {}
        for i, t in enumerate(self.targets):
            for key in t.keys:
                for tok in _tokens(key):
                    by_token.setdefault(tok, []).append(len(self.keys))
                self.keys.append(key)
                self.sorted_keys.append(_sorted_words(key))
                self.owner.append(i)
        # ascending key positions (tuples of ints, which the garbage collector then skips),
        # and their sorted keys: a token's choices for rapidfuzz, built once
        self.by_token = {tok: tuple(p) for tok, p in by_token.items()}
        self.choices = {tok: tuple(self.sorted_keys[k] for k in p)
                        for tok, p in self.by_token.items()}
        self.common = max(COMMON_MIN, int(len(self.keys) * COMMON))
        self._hits: dict[tuple[tuple[str, ...], float], Hits] = {}  # see `hits`

    def hits(self, q: Query, cutoff: float) -> Hits:
        """`_best` of the name, by target; cached: the index never changes, and the same
        parties recur from case to case."""
        found = self._hits.get((q.keys, cutoff))
        if found is None:
            if len(self._hits) >= HITS_CACHED:
                self._hits.clear()
            found = self._hits[q.keys, cutoff] = tuple(sorted(_best(self, q, cutoff).items()))
        return found

    def blocks(self, words: Iterable[str]) -> list[str]:
        """The tokens whose keys are the candidates of a name of `words`: each word, or
        for a word no key has (a typo?), its 4-letter prefix.

        A token that many keys share (`trading`, `~tech`: more than `COMMON` of them) only
        blocks when the name has no rarer token: it would bring in much of the register
        and decide nothing that a rarer token or prefix does not already bring in."""
        tokens = [t for t in dict.fromkeys(map(self._token, words)) if t is not None]
        rare = [t for t in tokens if len(self.by_token[t]) <= self.common]
        return rare or tokens

    def _token(self, word: str) -> str | None:
        if word in self.by_token:
            return word
        prefix = "~" + word[:PREFIX]
        return prefix if prefix in self.by_token else None


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
    out: list[ScreenMatch] = []
    for role, name, country in parties:
        if name:
            out.extend(_screen_party(idx, rs.settings, role, name, country))
    return tuple(out)


def _screen_party(idx: Index, s: Settings, role: str, name: str,
                  country: str | None) -> list[ScreenMatch]:
    q = query(name)
    if not q.keys:
        return []
    hits = idx.hits(q, s.review)
    if not hits:
        return []  # the usual case: nothing within `review` of the name
    found: list[ScreenMatch] = []
    for i, (score, key, k) in hits:
        t = idx.targets[i]
        why = f"`{key}` ~ `{k}` ({score:.0f})"
        if country and t.countries and country not in t.countries:
            score -= s.country_penalty
            why += f", country {country} not {'/'.join(sorted(t.countries))}"
        if score < s.review:
            continue
        kind = t.kind if score >= s.match else "near_match"
        found.append(ScreenMatch(role, name, kind, t.kind, t.register, t.ref, t.name,
                                 round(score, 1), why, t.source, t.notice))
    found.sort(key=lambda m: (-m.score, m.register, m.ref))
    return found


def _best(idx: Index, q: Query, cutoff: float) -> dict[int, tuple[float, str, str]]:
    """(score, name key, entry key) of the best key of every target scoring `cutoff` or
    more; on a tie, the first spelling of the name, then the first key of the target (what
    one call over the sorted union of the tokens' keys kept first: the rule, not an order)."""
    blocks = idx.blocks(q.words)
    if not blocks:
        return {}
    # the tokens' keys in one list, for one rapidfuzz call a spelling (tuples joined in C;
    # a key under two of the tokens is scored twice, to the same score)
    keys = sum((idx.by_token[t] for t in blocks), ())
    choices = sum((idx.choices[t] for t in blocks), ())
    best: dict[int, tuple[float, int, int]] = {}  # target: score, spelling, key
    for n, sorted_key in enumerate(q.sorted_keys):
        for _, score, pos in process.extract(sorted_key, choices, scorer=fuzz.ratio,
                                             score_cutoff=cutoff, limit=None):
            k = keys[pos]
            owner = idx.owner[k]
            seen = best.get(owner)
            if seen is None or score > seen[0] or (score == seen[0] and (n, k) < seen[1:]):
                best[owner] = (score, n, k)
    return {i: (score, q.keys[n], idx.keys[k]) for i, (score, n, k) in best.items()}
