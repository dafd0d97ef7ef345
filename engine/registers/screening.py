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
The index keeps each token's keys ready for rapidfuzz (one tuple a token, a rare token's
copied side by side in memory) and the scores of the names it has screened, by name: the
same parties recur from case to case, and a name seen before costs one look-up. A name
seen for the first time costs its key (ASCII: one `bytes.translate` and a set look-up for
single letters and legal forms), a dict look-up a word, and one rapidfuzz call, whose
fixed cost and per-choice cost are most of what is left (see DESIGN.md, Screening). A name
without hits costs no call beyond `Index.hits`; a hit that the country penalty takes below
`review` (the usual hit of a party with a country) is dropped before its message is built.
Exact pre-filters before rapidfuzz were measured and do not pay: rapidfuzz rejects a choice
in about 60 ns, less than any per-choice test costs in Python, and a length window (`ratio`
≤ 200·min(la, lb)/(la + lb)) leaves nine in ten of a fresh name's choices at cutoff 80.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

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
# the words `name_key` joins or drops: one set look-up a word tells whether any is there
_SPECIAL = LEGAL_FORMS | frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
PREFIX = 4
COMMON, COMMON_MIN = 0.01, 50  # a token in more keys than this is common (see Index)
HITS_CACHED = 8192  # names whose scores an index keeps (Index.hits)
_EXTRACT, _RATIO = process.extract, fuzz.ratio  # bound once, not looked up per name


_OTHER = re.compile(r"[^a-z0-9]+")
# ASCII bytes folded as `name_key` folds them: A-Z to a-z, a-z and 0-9 kept, every other
# byte a space (`split` then merges the spaces); one `bytes.translate`, the fastest way
_FOLD = bytes(c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 or 48 <= c <= 57 else 32
              for c in range(256))
GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                        "ß": "ss"})


def name_keys(name: str) -> tuple[str, ...]:
    """`name_key` of the name, and of its German umlaut spelling (`Müller` → `mueller`)
    when that differs: both transliterations occur in real lists."""
    if name.isascii():  # the usual case: no umlaut, so one key (see `name_key`)
        key = " ".join(_key_words(name))
        return (key,) if key else ()
    german = name.translate(GERMAN)
    first = name_key(name)
    keys = (first, name_key(german)) if german != name else (first,)
    return tuple(k for k in dict.fromkeys(keys) if k)


def name_key(name: str) -> str:
    """The comparable form of a name (see the module docstring); `` for a blank name."""
    return " ".join(_key_words(name))


def _key_words(name: str) -> list[str]:
    """The words of `name_key(name)`."""
    if name.isascii():  # NFKC and unidecode leave ASCII as it is; casefold is lower
        return _joined(name.encode().translate(_FOLD).decode().split())
    text = unidecode(unicodedata.normalize("NFKC", name)).casefold()
    if text.isascii():  # what unidecode gives ([a-z0-9] = isalnum)
        return _joined(text.encode().translate(_FOLD).decode().split())
    return _joined(_OTHER.sub(" ", text).split())


def _joined(words: list[str]) -> list[str]:
    """Runs of single letters joined, legal forms out (the last steps of `name_key`)."""
    if _SPECIAL.isdisjoint(words):  # the usual case: no single letter, no legal form
        return words
    if min(map(len, words)) == 1:  # S.A. → s a → sa; O.O.O. → ooo
        joined: list[str] = []
        run = False  # the last word was built from single letters
        for w in words:
            if len(w) == 1 and run:
                joined[-1] += w
            else:
                joined.append(w)
                run = len(w) == 1
        words = joined
    if LEGAL_FORMS.isdisjoint(words):
        return words
    return [w for w in words if w not in LEGAL_FORMS] or words


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
    """What screening needs of a party's name."""

    keys: tuple[str, ...]  # `name_keys`
    sorted_keys: tuple[str, ...]  # their words sorted (ratio on them = token_sort_ratio)
    words: tuple[str, ...]  # the words that block candidates (two letters or more)


# a Query built as the tuple it is: a NamedTuple's own constructor is a Python function,
# one more call for every name screened for the first time
_new = tuple.__new__


def query(name: str) -> Query:
    """The `Query` of a name (not cached: `Index.hits` keeps results by name)."""
    if name.isascii():  # one key (as `name_keys`)
        words = name.encode().translate(_FOLD).decode().split()
        if _SPECIAL.isdisjoint(words):  # nothing to join or drop (the usual case)
            if not words:
                return Query((), (), ())
            return _new(Query, ((" ".join(words),), (" ".join(sorted(words)),),
                                tuple(words)))
        words = _joined(words)
        return Query((" ".join(words),), (" ".join(sorted(words)),),
                     tuple(w for w in words if len(w) >= 2))
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
        # ascending key positions (tuples of ints, which the garbage collector then skips)
        self.by_token = {tok: tuple(p) for tok, p in by_token.items()}
        self.common = max(COMMON_MIN, int(len(self.keys) * COMMON))
        # a token's sorted keys (the choices for rapidfuzz, one tuple built once); a rare
        # token has its own copies of them, made one after another, so that a fresh name,
        # screened when the rest of the case has emptied the processor's caches, has them
        # read from a few adjacent memory pages, not from all over the heap
        self.choices = {tok: tuple(self.sorted_keys[k].encode().decode() for k in p)
                        if len(p) <= self.common else tuple(self.sorted_keys[k] for k in p)
                        for tok, p in self.by_token.items()}
        self._hits: dict[float, dict[str, Hits]] = {}  # see `hits`

    def hits(self, name: str, cutoff: float) -> Hits:
        """`_best` of the name, by target; cached by name: the index never changes, and
        the same parties recur from case to case (a name seen before costs a look-up)."""
        cached = self._hits.get(cutoff)
        if cached is None:
            cached = self._hits[cutoff] = {}
        found = cached.get(name)
        if found is None:
            if len(cached) >= HITS_CACHED:
                cached.clear()
            q = query(name)
            best = _best(self, q, cutoff) if q[0] else None
            found = cached[name] = tuple(sorted(best.items())) if best else ()
        return found

    def blocks(self, words: Iterable[str]) -> tuple[list[str], tuple[str, ...]]:
        """The tokens whose keys are the candidates of a name of `words`, and their choices
        in one tuple: each word, or for a word no key has (a typo?), its 4-letter prefix.

        A token that many keys share (`trading`, `~tech`: more than `COMMON` of them) only
        blocks when the name has no rarer token: it would bring in much of the register
        and decide nothing that a rarer token or prefix does not already bring in."""
        get = self.choices.get
        common = self.common
        rare: list[str] = []
        other: list[str] = []
        for w in words:
            choices = get(w)
            if choices is None:
                w = "~" + w[:PREFIX]
                choices = get(w)
                if choices is None:
                    continue
            if len(choices) <= common:
                if w not in rare:
                    rare.append(w)
            elif w not in other:
                other.append(w)
        tokens = rare or other
        # only the tuples of the tokens that block (a common token's tuple is long); a key
        # under two of the tokens is scored twice, to the same score
        return tokens, _concat(self.choices, tokens)


def _concat(table: Mapping[str, tuple[Any, ...]], tokens: list[str]) -> tuple[Any, ...]:
    """The tokens' tuples of `table` one after another: for one token (the usual case) its
    own tuple, not a copy; else joined in C. `Index.choices` and `Index.by_token` hold a
    token's keys and their positions in the same order, so both are joined alike."""
    if len(tokens) == 1:
        return table[tokens[0]]
    return sum(map(table.__getitem__, tokens), ())


def _targets(rs: RegisterSet) -> list[Target]:
    """Every listed entry and the parties of every notice, active or not (see `index_for`)."""
    out = []
    for e in rs.listed:
        keys = tuple(dict.fromkeys(k for n in (e.name, *e.aliases) for k in name_keys(n)))
        out.append(Target(e.kind, e.register, e.id, e.name, keys, e.countries, e.source))
    for n in rs.notices:
        for role, p in n.parties():
            keys = tuple(dict.fromkeys(k for n in _names(p) for k in name_keys(n)))
            countries = frozenset({p.country}) if p.country else frozenset()
            out.append(Target("denied", n.register, n.id, p.name, keys, countries,
                              f"{n.notifying_state} denial of {n.date_of_denial} ({role})", n))
    return out


def _names(p: NamedParty) -> tuple[str, ...]:
    return (p.name, *p.aliases)


def index_for(rs: RegisterSet) -> Index:
    """The index of the set's entries and notices, built once per set.

    It holds every notice, active or not, and `_matches` skips a notice not active on the
    case's day: an index per day (as before) was rebuilt for each new `submitted` date, a
    fraction of a second for 10,000 entries, so a batch or replay spanning a year of dates
    spent most of its time building indexes. The candidates of a name no longer depend on
    the day either."""
    cached: Index | None = rs._index.get("all")
    if cached is None:
        cached = rs._index["all"] = Index(_targets(rs))
    return cached


def screen(rs: RegisterSet, day: str,
           parties: Iterable[tuple[str, str | None, str | None]]) -> tuple[ScreenMatch, ...]:
    """Every match and near match of the (role, name, country) parties, best first per
    party; one result per (party, entry)."""
    idx = index_for(rs)
    s = rs.settings
    out: list[ScreenMatch] = []
    for role, name, country in parties:
        if name:
            hits = idx.hits(name, s.review)
            if hits:  # the usual case is none: nothing within `review` of the name
                out.extend(_matches(idx, s, day, role, name, country, hits))
    return tuple(out)


def _matches(idx: Index, s: Settings, day: str, role: str, name: str, country: str | None,
             hits: Hits) -> list[ScreenMatch]:
    """The matches and near matches of a party among the hits of its name; a party of a
    notice only while the notice is active on `day` (expired or revoked ones are ignored,
    and linted)."""
    found: list[ScreenMatch] = []
    for i, (raw, key, k) in hits:
        t = idx.targets[i]
        if t.notice is not None and not t.notice.active_on(day):
            continue
        penalised = bool(country and t.countries and country not in t.countries)
        score = raw - s.country_penalty if penalised else raw
        if score < s.review:
            continue  # the usual hit of a party with a country: the penalty takes it out
        why = f"`{key}` ~ `{k}` ({raw:.0f})"
        if penalised:
            why += f", country {country} not {'/'.join(sorted(t.countries))}"
        kind = t.kind if score >= s.match else "near_match"
        found.append(ScreenMatch(role, name, kind, t.kind, t.register, t.ref, t.name,
                                 round(score, 1), why, t.source, t.notice))
    found.sort(key=lambda m: (-m.score, m.register, m.ref))
    return found


def _best(idx: Index, q: Query, cutoff: float) -> dict[int, tuple[float, str, str]]:
    """(score, name key, entry key) of the best key of every target scoring `cutoff` or
    more; on a tie, the first spelling of the name, then the first key of the target (what
    one call over the sorted union of the tokens' keys kept first: the rule, not an order)."""
    keys, sorted_keys, words = q
    tokens, choices = idx.blocks(words)
    if not tokens:
        return {}
    # one rapidfuzz call a spelling, over the tokens' choices
    found = [_EXTRACT(k, choices, scorer=_RATIO, score_cutoff=cutoff, limit=None)
             for k in sorted_keys]
    if not any(found):
        return {}  # the usual case: no key within `cutoff` of the name
    positions = _concat(idx.by_token, tokens)
    best: dict[int, tuple[float, int, int]] = {}  # target: score, spelling, key
    for n, scored in enumerate(found):
        for _, score, pos in scored:
            k = positions[pos]
            owner = idx.owner[k]
            seen = best.get(owner)
            if seen is None or score > seen[0] or (score == seen[0] and (n, k) < seen[1:]):
                best[owner] = (score, n, k)
    return {i: (score, keys[n], idx.keys[k]) for i, (score, n, k) in best.items()}
