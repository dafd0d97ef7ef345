"""The fast paths of screening give what the plain algorithm gives, score for score.

The reference below is the screening of before the precomputed blocks and the caches: the
name keys by NFKC, unidecode and a regular expression, the candidates as the sorted union of
the postings, one `process.extract` over them, the first best kept per target. The new code
must agree with it on the labelled set and on generated names (typos, word swaps, legal
forms, Cyrillic and accented spellings), at several cutoffs, cold and with warm caches.
"""

from __future__ import annotations

import dataclasses
import random
import re
import string
import unicodedata
from pathlib import Path

import pytest
from rapidfuzz import fuzz, process
from unidecode import unidecode

from engine.registers import load
from engine.registers import screening as s
from engine.registers.model import RegisterSet, Settings

DATA = Path(__file__).parent / "data" / "registers"
_OTHER = re.compile(r"[^a-z0-9]+")
CYRILLIC = str.maketrans("abvgdezijklmnoprstufhc", "абвгдезийклмнопрстуфхц")
ACCENTS = str.maketrans("aeiouncs", "äéîöüñçş")
FORMS = ("LLC", "Ltd", "GmbH", "S.A.", "OOO", "O.O.O.", "Co.", "the", "Pte. Ltd.")


def _ref_key(name: str) -> str:
    text = unidecode(unicodedata.normalize("NFKC", name)).casefold()
    joined: list[str] = []
    run = False
    for w in _OTHER.sub(" ", text).split():
        if len(w) == 1 and run:
            joined[-1] += w
        else:
            joined.append(w)
            run = len(w) == 1
    kept = [w for w in joined if w not in s.LEGAL_FORMS]
    return " ".join(kept or joined)


def _ref_keys(name: str) -> tuple[str, ...]:
    german = name.translate(s.GERMAN)
    keys = (_ref_key(name), _ref_key(german)) if german != name else (_ref_key(name),)
    return tuple(k for k in dict.fromkeys(keys) if k)


def _ref_query(name: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    keys = _ref_keys(name)
    return (keys, tuple(" ".join(sorted(k.split())) for k in keys),
            tuple(w for k in keys for w in k.split() if len(w) >= 2))


def _ref_best(idx: s.Index, keys: tuple[str, ...],
              cutoff: float) -> dict[int, tuple[float, str, str]]:
    postings = [idx.by_token.get(w) or idx.by_token.get("~" + w[:s.PREFIX], ())
                for k in keys for w in k.split() if len(w) >= 2]
    rare = [p for p in postings if p and len(p) <= idx.common]
    cands = sorted({c for p in rare or postings for c in p})
    choices = [idx.sorted_keys[c] for c in cands]
    best: dict[int, tuple[float, str, str]] = {}
    for q in keys:
        for _, score, pos in process.extract(" ".join(sorted(q.split())), choices,
                                             scorer=fuzz.ratio, score_cutoff=cutoff,
                                             limit=None):
            owner = idx.owner[cands[pos]]
            if owner not in best or score > best[owner][0]:
                best[owner] = (score, q, idx.keys[cands[pos]])
    return best


def _variants(name: str, rng: random.Random) -> list[str]:
    words = name.split()
    swapped = words[:]
    rng.shuffle(swapped)
    i = rng.randrange(len(name))
    return [name, name.upper(), name[:i] + name[i + 1:], name[:i] + "x" + name[i:],
            " ".join(swapped), " ".join(words[1:]), f"{name} {rng.choice(FORMS)}",
            f"{rng.choice(FORMS)} {name}", name.lower().translate(CYRILLIC),
            name.translate(ACCENTS), name.replace(" ", "."), ", ".join(words),
            name.replace("ue", "ü").replace("ss", "ß")]


def _names(rs: RegisterSet, rng: random.Random) -> list[str]:
    out = [v for e in rs.listed for n in (e.name, *e.aliases) for v in _variants(n, rng)]
    return [*out, "", " ", "S.A.", "a b c", "Ltd Ltd", "日本電気", "Straße GmbH", "x"]


SYLLABLES = ("ka", "ri", "to", "me", "sa", "lo", "vin", "dar", "nek", "por", "tal", "mi")


def _generated(rs: RegisterSet, rng: random.Random, n: int) -> list[str]:
    """Fresh names made of the register's words and made-up ones (as the bench's), with
    legal forms, single letters, digits, punctuation, case, Cyrillic and accents."""
    words = sorted({w for e in rs.listed for w in s.name_key(e.name).split()})
    out = []
    for _ in range(n):
        parts = [rng.choice(words) if rng.random() < 0.6 else
                 "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3)))
                 for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.3:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(FORMS))
        if rng.random() < 0.1:
            parts.append(rng.choice(("A.B.", "x", "7", "2nd", "I I")))
        name = rng.choice((" ", "-", ", ", ".")).join(parts)
        out.append(rng.choice((name, name.title(), name.upper(), name.translate(CYRILLIC),
                               name.translate(ACCENTS))))
    return out


@pytest.fixture(scope="module")
def labelled() -> RegisterSet:
    return load(DATA / "names")


def test_ascii_names_take_the_short_way_to_the_same_key() -> None:
    rng = random.Random(3)
    alphabet = string.printable + "\x00\x7f"
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
             for _ in range(3000)]
    names += ["S.A.", "O.O.O. Foo", "A B C Ltd", "the co", "X-Ray Systems, L.L.C."]
    for n in names:
        assert s.name_key(n) == _ref_key(n), n
        assert s.name_keys(n) == _ref_keys(n), n
        assert s.query(n) == _ref_query(n), n


@pytest.mark.parametrize("cutoff", [0.0, 50.0, 80.0, 95.5, 100.0])
def test_scores_as_the_plain_algorithm(labelled: RegisterSet, cutoff: float) -> None:
    idx = s.index_for(labelled)
    for name in _names(labelled, random.Random(int(cutoff))):
        q = s.query(name)
        assert q.keys == _ref_keys(name), name
        assert s._best(idx, q, cutoff) == _ref_best(idx, q.keys, cutoff), name


@pytest.mark.parametrize("cutoff", [0.0, 60.0, 80.0, 92.0, 100.0])
def test_the_index_hits_are_the_plain_algorithms(labelled: RegisterSet, cutoff: float,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # what screening uses: a name's parts, its blocks and scores, the cache by name
    idx = s.index_for(labelled)
    rng = random.Random(11 + int(cutoff))
    names = [*_names(labelled, rng), *_generated(labelled, rng, 3000)]
    hit = 0
    for cold in (True, False):  # computed, then from the cache
        for name in names:
            want = tuple(sorted(_ref_best(idx, _ref_keys(name), cutoff).items()))
            assert idx.hits(name, cutoff) == want, (name, cold)
            hit += bool(want)
    assert hit > len(names) // 10  # matches and near matches, not only misses
    monkeypatch.setattr(s, "HITS_CACHED", 3)
    for name in names[:500]:
        assert idx.hits(name, cutoff) == tuple(
            sorted(_ref_best(idx, _ref_keys(name), cutoff).items())), name


def test_screen_is_the_same_cold_and_warm(labelled: RegisterSet,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    parties = [("end_user", n, c) for n, c in zip(_names(labelled, random.Random(5)),
                                                  ["XA", None, "XB", "XC"] * 1000,
                                                  strict=False)]
    first = [s.screen(labelled, "2026-06-01", [p]) for p in parties]
    assert sum(map(len, first)) > 100  # matches and near matches, not only misses
    assert [s.screen(labelled, "2026-06-01", [p]) for p in parties] == first  # warm
    monkeypatch.setattr(s, "HITS_CACHED", 2)  # evicted all the time
    s.index_for(labelled)._hits.clear()
    assert [s.screen(labelled, "2026-06-01", [p]) for p in parties] == first
    assert s.screen(labelled, "2026-06-01", parties) == tuple(m for f in first for m in f)


def _ref_screen(rs: RegisterSet, name: str, country: str | None) -> list[s.ScreenMatch]:
    """A party's matches as they were built: the message first, then the country penalty,
    then the cut at `review`."""
    idx, st = s.index_for(rs), rs.settings
    found = []
    for i, (score, key, k) in sorted(_ref_best(idx, _ref_keys(name), st.review).items()):
        t = idx.targets[i]
        why = f"`{key}` ~ `{k}` ({score:.0f})"
        if country and t.countries and country not in t.countries:
            score -= st.country_penalty
            why += f", country {country} not {'/'.join(sorted(t.countries))}"
        if score < st.review:
            continue
        kind = t.kind if score >= st.match else "near_match"
        found.append(s.ScreenMatch("end_user", name, kind, t.kind, t.register, t.ref, t.name,
                                   round(score, 1), why, t.source, t.notice))
    return sorted(found, key=lambda m: (-m.score, m.register, m.ref))


@pytest.mark.parametrize("settings", [Settings(), Settings(92.0, 80.0, 0.0),
                                      Settings(95.0, 60.0, 25.0), Settings(70.0, 70.0, 10.0)])
def test_screen_is_the_plain_screening(labelled: RegisterSet, settings: Settings) -> None:
    # the country penalty, the cut at `review` and the messages, for every country case:
    # none given, the entry's, another one, an empty one
    rs = dataclasses.replace(labelled, settings=settings, _index={}, _cache={})
    rng = random.Random(17)
    names = [*_names(labelled, rng), *_generated(labelled, rng, 500)]
    seen = 0
    for name in names:
        for country in (None, "", "XA", "XB", "NO"):
            got = s.screen(rs, "2026-06-01", [("end_user", name, country)])
            assert list(got) == _ref_screen(rs, name, country), (name, country)
            seen += len(got)
    assert seen > len(names)  # matches and near matches, not only misses


def test_a_tie_goes_to_the_first_spelling_then_the_first_key(tmp_path: Path) -> None:
    # two aliases of the entry score the same with the name, as do the name's two spellings
    (tmp_path / "settings.yaml").write_text(
        "registers: echri-registers/1\nimports:\n  - {id: t, file: t.csv, format: "
        "opensanctions-simple, kind: restricted, version: '1', source: test}\n",
        encoding="utf-8")
    header = ("id,schema,name,aliases,birth_date,countries,addresses,identifiers,sanctions,"
              "phones,emails,dataset,first_seen,last_seen,last_change\n")
    (tmp_path / "t.csv").write_text(
        header + "t1,Company,Muller Optik,Mueller Optik;Mullar Optik,,xa,,,,,,test,,,\n",
        encoding="utf-8")
    rs = load(tmp_path)
    idx = s.index_for(rs)
    for name in ("Müller Optik", "Mullir Optik", "Optik Müller"):
        q = s.query(name)
        assert s._best(idx, q, 50.0) == _ref_best(idx, q.keys, 50.0), name
    rs2 = dataclasses.replace(rs, settings=Settings(match=99.0, review=50.0))
    (m,) = s.screen(rs2, "2026-06-01", [("end_user", "Mullir Optik", None)])
    assert m.why.startswith("`mullir optik` ~ `muller optik`")  # not the later alias
