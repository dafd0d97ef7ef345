"""Fuzz the engine: generated and mutated licence cases through every version and backend.

    python tools/fuzz.py --cases 100000 --jobs 2 [--seed 0] [--out .fuzz/findings.jsonl]
    python tools/fuzz.py --replay .fuzz/findings.jsonl     # which findings still show today

Case sources ("arms", ARM_WEIGHTS):
- `schema`: hypothesis-jsonschema on a preprocessed copy of schemas/case.schema.json (local
  `$ref`s resolved, each id slot widened to also draw the policies' vocabularies, else nearly
  every case stops at unknown-id; `to_strategy` says what else and why);
- `mutation`: one to three structural mutations (MUTATIONS) of a case of the fixture suite;
- `generator`: the realistic mixes of engine/generator.py;
- `monotonic`: a fixture case with one escalation of an already classified item (one more
  control entry, or a declared category), which must never be decided less severely;
- `fixture`: the fixture cases themselves (first chunk only).

Every case is evaluated with `store.evaluate(case, policy_version=V, backend=B)` for each
released V and both backends, and once more on the durable backend after the rest of its
chunk (durable-rules sessions live across cases). Classes (CLASSES): `crash` (an exception
other than CaseError / VersionSelectionError, or a worker process killed by the case),
`engine-error` (a decision with that finding), `invalid-output` (decision JSON that cannot
be encoded or breaks decision.schema.json), `fail-open` (an approval despite an unknown id,
a non-finite number, a missing required fact or a look-alike control entry; or an unknown
id without an `unknown-id` finding), `disagreement` (durable and python decisions differ),
`nondeterminism` (the re-run, or two processes with other PYTHONHASHSEEDs, give other
JSON), `monotonicity`, and `fuzzer-error` (a bug of this script). With `--jobs 1` a case
that kills the process ends the run.

Output: counts per class and kind on stdout; the smallest examples per class and kind (the
smallest greedily shrunk) as JSON lines in `--out`, with the case and what went wrong (NaN
and huge integers as Python's json reads them, nesting deeper than OUT_DEPTH as
`{"$deep": [steps], "leaf": ...}`, see `portable`). Exit 1 when anything was found.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import traceback
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import fastjsonschema
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

import engine
from engine import conditions
from engine.cases import normalize
from engine.compiler import CompiledPolicy
from engine.facts import is_item_fact
from engine.generator import generate_cases
from engine.predicates import compile_condition
from engine.schemas import is_valid_fast

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("durable", "python")
APPROVALS = ("approve", "approve_with_conditions")
EXPECTED = (engine.CaseError, engine.VersionSelectionError)
CLASSES = ("crash", "engine-error", "invalid-output", "fail-open", "disagreement",
           "nondeterminism", "monotonicity", "fuzzer-error")
# the schema arm costs 10-20 ms a case in hypothesis alone (3-5x the others): 6 %
ARM_WEIGHTS = {"schema": 0.06, "mutation": 0.59, "generator": 0.10, "monotonic": 0.25}
CHUNK = 250
OUT_DEPTH = 60
Run = dict[tuple[str, str], Any]  # (version, backend) → Decision or the exception raised


# --------------------------------------------------------------------------- the target

@dataclass(frozen=True)
class Requirement:
    """An information requirement: `field` must be present wherever `when` holds."""

    id: str
    field: str
    item_scope: bool
    when: Callable[[Mapping[str, Any]], bool]


@dataclass
class Target:
    """The loaded store, its released versions and the fixture cases (shared by fork)."""

    store: engine.PolicyStore
    policies: dict[str, CompiledPolicy]
    fixtures: list[tuple[str, dict[str, Any]]]
    requirements: dict[str, tuple[Requirement, ...]] = field(default_factory=dict)
    base_runs: dict[int, Run] = field(default_factory=dict)

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(self.policies)

    def vocab(self, name: str) -> list[str]:
        """The union of a vocabulary over the released versions, sorted."""
        return sorted(set().union(*(known(cp, name) for cp in self.policies.values())))

    def entries(self) -> list[str]:
        return sorted(set().union(*(cp.control_map for cp in self.policies.values())))


def known(cp: CompiledPolicy, vocab: str) -> frozenset[str]:
    if vocab == "destinations":
        return cp.vocab.get(vocab, frozenset()) | frozenset(cp.destinations)
    return cp.vocab.get(vocab, frozenset())


def requirements(cp: CompiledPolicy) -> tuple[Requirement, ...]:
    out = []
    for rule in cp.policy.rules:
        if rule.field is None:
            continue
        when = rule.when if rule.when is not None else conditions.All(())
        scope = is_item_fact(rule.field) or any(
            is_item_fact(f) for f in conditions.facts_used(when))
        out.append(Requirement(rule.id, rule.field, scope,
                               compile_condition(conditions.to_nnf(when))))
    return tuple(out)


def load_fixtures(root: Path) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(root.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("case"), dict):
            out.append((path.relative_to(root).with_suffix("").as_posix(), data["case"]))
    return out


def build_target(policies: Path = ROOT / "policies",
                 fixtures: Path = ROOT / "fixtures") -> Target:
    store = engine.load(policies)
    released = {}
    for versions in store.versions.values():
        for v, cp in sorted(versions.items()):
            if cp.policy.status == "released":
                released[v] = cp
    target = Target(store, released, load_fixtures(fixtures))
    target.requirements = {v: requirements(cp) for v, cp in released.items()}
    return target


# --------------------------------------------------------------------------- case paths

# Where a case holds vocabulary ids ("*" = each list entry) and which vocabulary.
SLOTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("destination",), "destinations"),
    (("end_user", "type"), "end_user_types"),
    (("end_user", "country"), "destinations"),
    (("end_user", "flags", "*"), "red_flags"),
    (("end_use", "purpose"), "end_use_purposes"),
    (("assurances", "*"), "assurances"),
    (("exporter", "country"), "destinations"),
    (("items", "*", "category"), "categories"),
    (("intermediaries", "*", "role"), "intermediary_roles"),
    (("intermediaries", "*", "country"), "destinations"),
    (("consignees", "*", "country"), "destinations"),
    (("purchaser", "country"), "destinations"),
    (("reexport", "previous_consignee", "country"), "destinations"),
    (("payment", "route_country"), "destinations"),
    (("payment", "currency"), "currencies"),
)
ENTRY_SLOT = (("items", "*", "control_entries", "*"), "control_entries")


def locate(node: Any, path: Sequence[str], where: str = "") -> Iterator[tuple[Any, Any, str]]:
    """(container, key, JSON path) of every value at `path`."""
    step, rest = path[0], path[1:]
    if step == "*":
        keys: Sequence[Any] = range(len(node)) if isinstance(node, list) else ()
    else:
        keys = (step,) if isinstance(node, dict) and step in node else ()
    for key in keys:
        here = f"{where}[{key}]" if step == "*" else f"{where}.{key}".lstrip(".")
        if rest:
            yield from locate(node[key], rest, here)
        else:
            yield node, key, here


def nodes(root: Any) -> Iterator[tuple[Any, Any, str]]:
    """(container, key, JSON path) of every value in the tree (iterative: deep is fine)."""
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, where = stack.pop()
        pairs = node.items() if isinstance(node, dict) else enumerate(node) \
            if isinstance(node, list) else ()
        for key, value in pairs:
            here = f"{where}[{key}]" if isinstance(node, list) else f"{where}.{key}".lstrip(".")
            yield node, key, here
            if isinstance(value, dict | list):
                stack.append((value, here))


def clone(value: Any) -> Any:
    """A deep copy of JSON-like data that does not recurse (copy.deepcopy fails at ~1,000)."""
    if not isinstance(value, dict | list):
        return value
    root: Any = {} if isinstance(value, dict) else []
    stack = [(value, root)]
    while stack:
        src, dst = stack.pop()
        for key, v in (src.items() if isinstance(src, dict) else enumerate(src)):
            new: Any = {} if isinstance(v, dict) else [] if isinstance(v, list) else v
            if isinstance(v, dict | list):
                stack.append((v, new))
            if isinstance(dst, dict):
                dst[key] = new
            else:
                dst.append(new)
    return root


def short(value: Any, limit: int = 60) -> str:
    """A short JSON rendering of any value (repr recurses, and deep values are mutated in)."""
    text = dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


def get(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


# --------------------------------------------------------------------------- text and entries

# Letters of other scripts that look like Latin letters and digits (the usual spoofs).
CYRILLIC = {"A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "K": "К", "M": "М", "O": "О",
            "P": "Р", "T": "Т", "X": "Х", "Y": "У", "a": "а", "c": "с", "e": "е", "i": "і",
            "j": "ј", "o": "о", "p": "р", "x": "х", "y": "у", "s": "ѕ", "0": "О", "3": "З"}
_UNSPOOF = str.maketrans({cyr: lat for lat, cyr in CYRILLIC.items() if lat.isalpha()})
# Letter-category characters that render as nothing (Hangul fillers, Khmer inherent vowels).
INVISIBLE = frozenset("\u115f\u1160\u17b4\u17b5\u3164\uffa0")


def visible_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] not in "CZ" and unicodedata.category(ch) not in (
        "Mn", "Me") and ch not in INVISIBLE


def visible(value: Any) -> bool:
    """A text a person can read: at least one visible character."""
    return isinstance(value, str) and any(visible_char(ch) for ch in value)


def canonical(entry: str) -> str:
    """DESIGN.md's canonical form of a control entry (an independent copy): NFKC, cases."""
    text = unicodedata.normalize("NFKC", entry).strip()
    regime, colon, rest = text.partition(":")
    if colon:  # regime-qualified (`eu_2019_125:II.1`): cases of ASCII letters only
        head, dot, tail = rest.partition(".")
        return (re.sub("[A-Z]", lambda m: m[0].lower(), regime) + ":"
                + re.sub("[a-z]", lambda m: m[0].upper(), head) + dot
                + re.sub("[A-Z]", lambda m: m[0].lower(), tail))
    head, _, rest = text.partition(".")
    return head.upper() + ("." + rest.lower() if rest else "")


def folded(entry: str) -> str:
    """What a person reads in `entry`: compatibility forms, look-alikes and invisibles undone."""
    text = unicodedata.normalize("NFKC", entry).translate(_UNSPOOF)
    head, _, rest = canonical("".join(ch for ch in text if visible_char(ch))).partition(".")
    head = "".join("0" if ch == "O" and i != 1 else ch for i, ch in enumerate(head))
    return head + ("." + rest if rest else "")


def match(entry: str, control_map: Mapping[str, str]) -> str | None:
    parts = entry.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in control_map:
            return control_map[prefix]
    return None


def risk(cp: CompiledPolicy, category: str) -> int:
    levels = cp.policy.risk_levels
    level = cp.policy.categories[category].risk
    return levels.index(level) if level in levels else len(levels)


def candidates(item: Mapping[str, Any], cp: CompiledPolicy) -> set[str]:
    """The categories an item names: its known declared category and its mapped entries."""
    out = {c for raw in item.get("control_entries") or () if isinstance(raw, str)
           if (c := match(canonical(raw), cp.control_map)) is not None}
    if item.get("category") in known(cp, "categories"):
        out.add(item["category"])
    return out


# --------------------------------------------------------------------------- the oracle

def unknown_ids(case: Mapping[str, Any], cp: CompiledPolicy) -> list[tuple[str, str]]:
    """(vocabulary, `path=value`) of each value the version's vocabularies do not know."""
    out = []
    for path, vocab in SLOTS:
        allowed = known(cp, vocab)
        for node, key, where in locate(case, path):
            value = node[key]
            if value is not None and value not in allowed:
                out.append((vocab, f"{where}={value!r}"))
    return out


def non_finite(case: Any) -> list[str]:
    return [f"{w}={v!r}" for n, k, w in nodes(case)
            if isinstance(v := n[k], float) and not math.isfinite(v)]


def _known_value(vocab: str) -> Callable[[Any, Any, CompiledPolicy], bool]:
    keys = {"end_user_types": ("end_user", "type"), "end_use_purposes": ("end_use", "purpose")}
    return lambda c, i, cp: get(c, *keys[vocab]) in known(cp, vocab)


def _in_destination(c: Any, i: Any, cp: CompiledPolicy) -> bool:
    dest = known(cp, "destinations")
    return get(c, "end_user", "country") in dest and c.get("destination") in dest


def _roles(c: Any, i: Any, cp: CompiledPolicy) -> bool:
    roles = known(cp, "intermediary_roles")
    return any(get(e, "role") in roles for e in c.get("intermediaries") or ())


# A raw-case reading of "this required fact is present", independent of engine/cases/.
PRESENT: dict[str, Callable[[Any, Any, CompiledPolicy], bool]] = {
    "end_user.type": _known_value("end_user_types"),
    "end_user.government": _known_value("end_user_types"),
    "end_use.purpose": _known_value("end_use_purposes"),
    "exporter.name": lambda c, i, cp: visible(get(c, "exporter", "name")),
    "end_user.name": lambda c, i, cp: visible(get(c, "end_user", "name")),
    "end_use.description": lambda c, i, cp: visible(get(c, "end_use", "description")),
    "item.description": lambda c, i, cp: visible(get(i, "description")),
    "end_user.in_destination": _in_destination,
    "intermediaries.roles": _roles,
    "exporter.hrdd_policy":
        lambda c, i, cp: isinstance(get(c, "exporter", "due_diligence", "hrdd_policy"), bool),
    "exporter.transaction_assessment": lambda c, i, cp: isinstance(
        get(c, "exporter", "due_diligence", "transaction_assessment"), bool),
}


def missing_facts(case: Mapping[str, Any], cp: CompiledPolicy,
                  reqs: Sequence[Requirement]) -> list[tuple[str, str]]:
    """(field, where) of each required fact that is missing: `when` on the engine's facts."""
    norm = normalize(case, cp)
    out = []
    for r in reqs:
        check = PRESENT.get(r.field)
        for where, item, views in _scopes(case, norm, r.item_scope):
            for facts in views:
                present = check(case, item, cp) if check else r.field in facts
                if r.when(facts) and not present:
                    out.append((r.field, f"{r.id} at {where}"))
                    break
            else:
                continue
            break
    return out


def _scopes(case: Mapping[str, Any], norm: Any,
            item_scope: bool) -> list[tuple[str, Any, Sequence[Mapping[str, Any]]]]:
    """(where, raw item, fact views): an item under each candidate category, or the case."""
    if not item_scope:
        return [("case", None, [norm.facts])]
    return [(f"items[{k}]", case["items"][k], getattr(it, "views", ()) or [it.facts])
            for k, it in enumerate(norm.items)]


def lookalike_entries(case: Mapping[str, Any], cp: CompiledPolicy) -> list[str]:
    """Entries that read as a mapped entry of a riskier category than the item otherwise has."""
    out = []
    for k, item in enumerate(case.get("items") or ()):
        seen = candidates(item, cp)
        top = max((risk(cp, c) for c in seen), default=-1)
        for raw in item.get("control_entries") or ():
            hidden = match(folded(raw), cp.control_map)
            if hidden and match(canonical(raw), cp.control_map) is None \
                    and risk(cp, hidden) > top:
                out.append(f"items[{k}] entry {raw!r} reads as {folded(raw)} ({hidden})")
    return out


def finding(cls: str, kind: str, detail: str, version: str = "", backend: str = "") -> dict:
    return {"class": cls, "kind": kind, "detail": detail, "version": version,
            "backend": backend}


def crash(exc: BaseException, v: str, b: str) -> dict:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/engine/" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return finding("crash", f"{type(exc).__name__}@{where}",
                   f"{type(exc).__name__}: {str(exc)[:300]}", v, b)


def output_problems(d: engine.Decision, v: str, b: str) -> list[dict]:
    try:
        text = d.to_json()
        text.encode("utf-8")
        json.loads(text, parse_constant=_reject_constant)
    except (UnicodeEncodeError, ValueError) as exc:
        return [finding("invalid-output", type(exc).__name__, str(exc)[:300], v, b)]
    if not is_valid_fast("decision", d.to_dict()):
        return [finding("invalid-output", "decision-schema",
                        "the decision breaks schemas/decision.schema.json", v, b)]
    return []


def _reject_constant(name: str) -> Any:
    raise ValueError(f"the decision JSON holds `{name}`, which is not JSON")


def engine_errors(d: engine.Decision, v: str, b: str) -> list[dict]:
    out = []
    for f in d.findings:
        if f.rule == "engine-error":
            m = re.search(r"failed with (\w+)", f.message)
            out.append(finding("engine-error", m.group(1) if m else "?", f.message[:300], v, b))
    return out


def fail_open(case: Mapping[str, Any], d: engine.Decision, cp: CompiledPolicy,
              reqs: Sequence[Requirement]) -> list[tuple[str, str]]:
    """(kind, detail) of each reason the decision fails open."""
    unknown = unknown_ids(case, cp)
    out = []
    if unknown and not any(f.rule == "unknown-id" for f in d.findings):
        out.append((f"unreported-unknown-id:{unknown[0][0]}", unknown[0][1]))
    if d.decision not in APPROVALS:
        return out
    out += [(f"unknown-id:{vocab}", what) for vocab, what in unknown[:1]]
    out += [("non-finite", what) for what in non_finite(case)[:1]]
    out += [(f"missing-fact:{f}", what) for f, what in missing_facts(case, cp, reqs)]
    out += [("lookalike-entry", what) for what in lookalike_entries(case, cp)[:1]]
    return out


def classify_one(target: Target, case: Mapping[str, Any], v: str, b: str, res: Any) -> list:
    if isinstance(res, EXPECTED):
        return []
    if isinstance(res, BaseException):
        return [crash(res, v, b)]
    out = output_problems(res, v, b) + engine_errors(res, v, b)
    if out:
        return out
    reasons = fail_open(case, res, target.policies[v], target.requirements[v])
    return out + [finding("fail-open", kind, f"{res.decision}: {what}", v, b)
                  for kind, what in reasons]


def signature(res: Any) -> str:
    if isinstance(res, BaseException):
        return f"!{type(res).__name__}: {res}"
    return res.to_json()


def _comparable(res: Any) -> Any:
    if isinstance(res, BaseException):
        return f"!{type(res).__name__}"
    data = res.to_dict()
    data["engine"].pop("backend", None)
    return data


def disagreement(v: str, a: Any, b: Any) -> list[dict]:
    left, right = _comparable(a), _comparable(b)
    if left == right:
        return []
    if isinstance(left, str) or isinstance(right, str):
        kind, detail = "exception", f"durable {str(left)[:120]} / python {str(right)[:120]}"
    elif left["decision"] != right["decision"]:
        kind, detail = "outcome", f"durable {left['decision']} / python {right['decision']}"
    else:
        keys = sorted(k for k in left if left[k] != right[k])
        kind, detail = f"field:{keys[0]}", f"the decisions differ in {', '.join(keys)}"
    return [finding("disagreement", kind, detail, v)]


def classify(target: Target, case: Mapping[str, Any], run: Run) -> list[dict]:
    """Findings of one case; when both backends agree, the oracle checks one decision."""
    found = []
    for v in target.versions:
        durable, python = run[v, "durable"], run[v, "python"]
        differ = disagreement(v, durable, python)
        found += differ
        if differ:
            found += classify_one(target, case, v, "durable", durable)
            found += classify_one(target, case, v, "python", python)
        else:
            found += classify_one(target, case, v, "both", durable)
    return found


def rerun_diffs(first: Run, second: Run, kind: str = "rerun") -> list[dict]:
    return [finding("nondeterminism", f"{kind}:{b}", "the same case gave different JSON "
                    f"({signature(first[v, b])[:80]} ... / {signature(second[v, b])[:80]} ...)",
                    v, b)
            for (v, b) in second if signature(first[v, b]) != signature(second[v, b])]


def run_all(target: Target, case: Mapping[str, Any], backends: Sequence[str] = BACKENDS,
            versions: Sequence[str] | None = None) -> Run:
    if INFLIGHT is not None:  # so that a case that kills the process can be found
        (INFLIGHT / f"{os.getpid()}.json").write_text(f"{CHUNK_INDEX}\n{dumps(case)}",
                                                     encoding="utf-8")
    out: Run = {}
    for v in versions or target.versions:
        for b in backends:
            refused = next((r for r in out.values() if isinstance(r, engine.CaseError)), None)
            if refused is not None:  # the contract check runs before version and backend
                out[v, b] = refused  # are chosen (PolicyStore.evaluate): the same answer
                continue
            try:
                out[v, b] = target.store.evaluate(case, policy_version=v, backend=b)
            except Exception as exc:  # classified by classify_one
                out[v, b] = exc
    return out


# --------------------------------------------------------------------------- monotonicity

@dataclass(frozen=True)
class Escalation:
    """One more reason for concern on one item: an added control entry or declared category."""

    item: str
    op: str  # add-entry | declare-category
    value: str

    def apply(self, case: Mapping[str, Any]) -> dict[str, Any]:
        out = clone(dict(case))
        for item in out.get("items") or ():
            if item.get("id") == self.item:
                if self.op == "add-entry":
                    item["control_entries"] = [*(item.get("control_entries") or ()), self.value]
                else:
                    item["category"] = self.value
        return out


def escalations(target: Target, case: Mapping[str, Any]) -> list[Escalation]:
    """Every escalation of an item that some version classifies (declared only if undeclared)."""
    out = []
    for item in case.get("items") or ():
        if not any(candidates(item, cp) for cp in target.policies.values()):
            continue
        out += [Escalation(item["id"], "add-entry", e) for e in target.entries()]
        if item.get("category") is None:
            out += [Escalation(item["id"], "declare-category", c)
                    for c in target.vocab("categories")]
    return out


def monotonic(target: Target, case: Mapping[str, Any], esc: Escalation, base: Run,
              raised: Run) -> list[dict]:
    """Findings where the escalated case decides less severely than the base case."""
    item = next((i for i in case.get("items") or () if i.get("id") == esc.item), None)
    out = []
    for (v, b), before in base.items():
        cp, after = target.policies[v], raised[v, b]
        if item is None or not candidates(item, cp) or isinstance(before, BaseException) \
                or isinstance(after, BaseException):
            continue
        if cp.rank[after.decision] > cp.rank[before.decision]:
            out.append(finding(
                "monotonicity", f"{esc.op}:{before.decision}->{after.decision}",
                f"{esc.op} {esc.value!r} on item {esc.item}: {before.decision} "
                f"({', '.join(before.rules)}) became {after.decision} "
                f"({', '.join(after.rules)})", v, b))
    return out


# --------------------------------------------------------------------------- mutations

BAD_NUMBERS: tuple[Any, ...] = (
    math.nan, math.inf, -math.inf, -1, -0.0, 1e300, -1e300, 10**15, 10**15 - 1, 2**53 + 1,
    10**20, 10**400, 1e-300, 0.005, 0.015, True, "100")
WEIRD = ("", " ", "\t\n", "\u00a0", "\u3000", "\u2028", "\u200b", "\ufeff", "\u200b\ufeff",
         "\u200e", "\u202e", "\u2060", "\u3164", "\u0301", "\x00", "\x07", "\x1b[31m", "\x7f",
         "\x85", "\ud800", "\udfff", "a\ud800b")


@dataclass
class Mutator:
    """Structural mutations of a case (seeded `random.Random`, or hypothesis' `st.randoms`)."""

    rng: random.Random
    target: Target

    def any_node(self, case: Any, want: Callable[[Any, Any], bool] | None = None) -> Any:
        pairs = [p for p in nodes(case) if want is None or want(p[0], p[1])]
        return self.rng.choice(pairs) if pairs else None

    def slot(self, case: Any, entries: float = 0.3) -> tuple[Any, Any, str, str] | None:
        specs = [ENTRY_SLOT] if self.rng.random() < entries else list(SLOTS)
        found = [(n, k, w, vocab) for path, vocab in specs for n, k, w in locate(case, path)
                 if isinstance(n[k], str)]
        return self.rng.choice(found) if found else None

    def item(self, case: Any) -> dict[str, Any] | None:
        items = case.get("items")  # an earlier mutation may have replaced the list
        items = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
        return self.rng.choice(items) if items else None

    def pool(self, vocab: str) -> list[str]:
        return self.target.entries() if vocab == "control_entries" else self.target.vocab(vocab)

    def near_miss(self, value: str) -> str:
        rng, pos = self.rng, self.rng.randrange(max(len(value), 1))
        char = rng.choice("abcdefghijklmnopqrstuvwxyz_0123456789.ABCXYZ-")
        op = rng.choice(("replace", "delete", "insert", "case"))
        if op == "delete" and len(value) > 1:
            return value[:pos] + value[pos + 1:]
        if op == "insert":
            return value[:pos] + char + value[pos:]
        if op == "case" and value[pos:pos + 1].swapcase() != value[pos:pos + 1]:
            return value[:pos] + value[pos].swapcase() + value[pos + 1:]
        return value[:pos] + char + value[pos + 1:]

    def lookalike(self, value: str) -> str:
        spots = [i for i, ch in enumerate(value) if ch in CYRILLIC]
        if not spots:
            return value + CYRILLIC["A"]
        chosen = spots if self.rng.random() < 0.3 else [self.rng.choice(spots)]
        return "".join(CYRILLIC[ch] if i in chosen else ch for i, ch in enumerate(value))

    def weird(self, value: Any) -> str:
        junk = self.rng.choice(WEIRD)
        if not isinstance(value, str) or self.rng.random() < 0.5:
            return junk
        pos = self.rng.randrange(len(value) + 1)
        return value[:pos] + junk + value[pos:]

    def nested(self, value: Any) -> Any:
        depth = self.rng.choice((5, 40, 400, 2000))
        for _ in range(depth):
            value = {"x": value} if self.rng.random() < 0.5 else [value]
        return value


def m_drop_key(m: Mutator, case: Any) -> str | None:
    pick = m.any_node(case, lambda n, k: isinstance(n, dict))
    if pick is None:
        return None
    del pick[0][pick[1]]
    return f"drop {pick[2]}"


def m_dup_entry(m: Mutator, case: Any) -> str | None:
    pick = m.any_node(case, lambda n, k: isinstance(n, list))
    if pick is None:
        return None
    pick[0].insert(pick[1], clone(pick[0][pick[1]]))
    return f"duplicate {pick[2]}"


def m_remove_entry(m: Mutator, case: Any) -> str | None:
    pick = m.any_node(case, lambda n, k: isinstance(n, list))
    if pick is None:
        return None
    del pick[0][pick[1]]
    return f"remove {pick[2]}"


def m_near_miss(m: Mutator, case: Any) -> str | None:
    pick = m.slot(case)
    if pick is None:
        return None
    node, key, where, _ = pick
    node[key] = m.near_miss(node[key])
    return f"near-miss {where}={short(node[key])}"


def m_swap_id(m: Mutator, case: Any) -> str | None:
    pick = m.slot(case)
    if pick is None or not m.pool(pick[3]):
        return None
    node, key, where, vocab = pick
    node[key] = m.rng.choice(m.pool(vocab))
    return f"swap {where}={short(node[key])}"


def m_add_entry(m: Mutator, case: Any) -> str | None:
    item = m.item(case)
    if item is None:
        return None
    rng = m.rng
    if rng.random() < 0.6:
        entry = rng.choice(m.target.entries()) + rng.choice(("", "", ".a", ".1", ".b.2"))
        entry = entry.lower() if rng.random() < 0.2 else entry
    else:
        entry = f"{rng.randint(0, 9)}{rng.choice('ABCDEZ')}{rng.randint(0, 999):03d}"
    entries = item.get("control_entries")
    item["control_entries"] = [*(entries if isinstance(entries, list) else ()), entry]
    return f"add entry {short(entry)} to {short(item.get('id'))}"


def m_set_category(m: Mutator, case: Any) -> str | None:
    item = m.item(case)
    if item is None:
        return None
    roll, cats = m.rng.random(), m.target.vocab("categories")
    value = m.rng.choice(cats) if roll < 0.7 else m.near_miss(m.rng.choice(cats)) \
        if roll < 0.9 else None
    item["category"] = value
    return f"category of {short(item.get('id'))} = {short(value)}"


def m_bad_number(m: Mutator, case: Any) -> str | None:
    value = m.rng.choice(BAD_NUMBERS)
    if m.rng.random() < 0.2:
        pick = m.any_node(case)
        if pick is None:
            return None
        pick[0][pick[1]] = value
        return f"{pick[2]} = {short(value)}"
    item = m.item(case)
    if item is None:
        return None
    key = m.rng.choice(("value", "quantity"))
    item[key] = value
    return f"{key} of {short(item.get('id'))} = {short(value)}"


def m_deep_nest(m: Mutator, case: Any) -> str | None:
    pick = m.any_node(case)
    if pick is None:
        return None
    pick[0][pick[1]] = m.nested(pick[0][pick[1]])
    return f"nest {pick[2]} deeply"


def m_weird_string(m: Mutator, case: Any) -> str | None:
    strings = m.rng.random() < 0.8
    pick = m.any_node(case, lambda n, k: not strings or isinstance(n[k], str))
    if pick is None:
        return None
    pick[0][pick[1]] = m.weird(pick[0][pick[1]])
    return f"{pick[2]} = {short(pick[0][pick[1]])}"


def m_lookalike(m: Mutator, case: Any) -> str | None:
    pick = m.slot(case, entries=0.7)
    if pick is None:
        item = m.item(case)
        if item is None or not m.target.entries():
            return None
        item["control_entries"] = [m.lookalike(m.rng.choice(m.target.entries()))]
        return f"look-alike entry {short(item['control_entries'][0])} on {short(item.get('id'))}"
    node, key, where, _ = pick
    node[key] = m.lookalike(node[key])
    return f"look-alike {where}={short(node[key])}"


def m_destination(m: Mutator, case: Any) -> str | None:
    dests = m.target.vocab("destinations")
    roll = m.rng.random()
    value = m.rng.choice(dests)
    value = value if roll < 0.6 else value.lower() if roll < 0.7 else m.near_miss(value)
    case["destination"] = value
    return f"destination = {short(value)}"


MUTATIONS: dict[str, Callable[[Mutator, Any], str | None]] = {
    "drop-key": m_drop_key, "dup-entry": m_dup_entry, "remove-entry": m_remove_entry,
    "near-miss-id": m_near_miss, "swap-id": m_swap_id, "add-entry": m_add_entry,
    "set-category": m_set_category, "bad-number": m_bad_number, "deep-nest": m_deep_nest,
    "weird-string": m_weird_string, "lookalike": m_lookalike, "destination": m_destination,
}
# drop-key and deep-nest mostly produce contract violations: drawn less often
MUTATION_WEIGHTS = {"drop-key": 1, "deep-nest": 0.5}


def mutate(target: Target, rng: random.Random) -> tuple[str, dict[str, Any], list[str]]:
    """(fixture name, mutated copy of its case, what was done)."""
    name, base = rng.choice(target.fixtures)
    case = clone(base)
    m = Mutator(rng, target)
    names = list(MUTATIONS)
    weights = [MUTATION_WEIGHTS.get(n, 2) for n in names]
    done = []
    for op in rng.choices(names, weights, k=rng.choice((1, 1, 2, 3))):
        what = MUTATIONS[op](m, case)
        if what is not None:  # paths into deeply nested values get long: keep both ends
            done.append(f"{op}: {what if len(what) <= 160 else what[:100] + '...' + what[-50:]}")
    return name, case, done


# --------------------------------------------------------------------------- schema arm

def resolve_refs(node: Any, root: Mapping[str, Any]) -> Any:
    """The schema with every local `$ref` (`#/...`) replaced by what it points to."""
    if isinstance(node, list):
        return [resolve_refs(n, root) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: resolve_refs(v, root) for k, v in node.items() if k != "$ref"}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        pointed: Any = root
        for part in ref[2:].split("/"):
            pointed = pointed[part]
        out = {**resolve_refs(pointed, root), **out}
    return out


def _sub(schema: dict[str, Any], step: str) -> dict[str, Any]:
    return schema["items"] if step == "*" else schema["properties"][step]


def widen(schema: dict[str, Any], path: Sequence[str], values: Sequence[str]) -> None:
    """Let the slot at `path` also draw vocabulary ids (and keep its original schema)."""
    try:
        parent = schema
        for step in path[:-1]:
            parent = _sub(parent, step)
        key = "items" if path[-1] == "*" else path[-1]
        holder = parent if key == "items" else parent["properties"]
        holder[key] = {"anyOf": [{"enum": list(values)}, holder[key]]}
    except (KeyError, TypeError):  # the slot moved in the schema: drawn as the schema says
        return


def case_schema(target: Target) -> dict[str, Any]:
    """schemas/case.schema.json, refs resolved, id slots widened (a preprocessed copy)."""
    raw = json.loads((ROOT / "schemas" / "case.schema.json").read_text(encoding="utf-8"))
    schema = resolve_refs(raw, raw)
    for key in ("$defs", "$id", "$schema"):
        schema.pop(key, None)
    for path, vocab in (*SLOTS, ENTRY_SLOT):
        pool = target.entries() if vocab == "control_entries" else target.vocab(vocab)
        widen(schema, path, pool)
    return schema


def _types(schema: Mapping[str, Any]) -> list[str]:
    t = schema.get("type", [])
    return [t] if isinstance(t, str) else list(t)


def _rejects(check: Callable[[Any], Any], value: Any) -> bool:
    try:
        check(value)
    except fastjsonschema.JsonSchemaException:
        return True
    return False


# Caps on drawn sizes (items allows 500 entries, descriptions 5000 characters): hypothesis
# draws every entry and character separately, and long ones only cost time here (the
# mutations duplicate entries, the engine's own tests cover the limits).
MAX_ENTRIES = 4
MAX_LENGTH = 24


def _negated(schema: Mapping[str, Any]) -> st.SearchStrategy:
    check = fastjsonschema.compile(schema["not"])
    rest = {k: v for k, v in schema.items() if k != "not"}
    return to_strategy(rest).filter(lambda v: _rejects(check, v))


def _object(schema: Mapping[str, Any]) -> st.SearchStrategy:
    required = [k for k in schema.get("required", ()) if k in schema["properties"]]
    props = {k: to_strategy(v) for k, v in schema["properties"].items()}
    return st.fixed_dictionaries({k: props[k] for k in required},
                                 optional={k: s for k, s in props.items() if k not in required})


def _array(schema: Mapping[str, Any]) -> st.SearchStrategy:
    items = schema.get("items", {})
    # item ids must be unique (a rule of check_case, not of the schema): draw them so
    by_id = "id" in items.get("required", ())
    return st.lists(to_strategy(items), min_size=schema.get("minItems", 0),
                    max_size=min(schema.get("maxItems", MAX_ENTRIES), MAX_ENTRIES),
                    unique_by=(lambda v: v.get("id")) if by_id else None)


ANNOTATIONS = frozenset({"description", "title", "$comment", "examples", "default"})
BRANCHES = ("anyOf", "oneOf")


def _structural(schema: Any) -> bool:
    """Whether `schema` (or one of its branches) describes objects or arrays."""
    if not isinstance(schema, dict):
        return False
    if {"object", "array"} & set(_types(schema)) or "properties" in schema:
        return True
    return any(_structural(b) for k in (*BRANCHES, "allOf") for b in schema.get(k, ()))


def _merged(schema: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """The branches of `schema[key]`, each merged with the rest of `schema` (simple merge:
    the case schema never constrains one keyword both outside and inside a branch)."""
    rest = {k: v for k, v in schema.items() if k != key}
    return [{**rest, **branch} for branch in schema[key]]


def to_strategy(schema: Mapping[str, Any]) -> st.SearchStrategy:
    """A strategy for `schema`: the structure is built here, scalar leaves by from_schema.

    hypothesis-jsonschema 0.23.1 (the latest release) draws objects with `cu.many(...).more()`,
    a private Hypothesis API that hypothesis 6.170 removed: every object schema fails with
    `AttributeError: 'many' object has no attribute 'more'`. So objects (fixed properties,
    `additionalProperties: false` everywhere in the case schema) become
    `st.fixed_dictionaries`, arrays `st.lists`, `anyOf`/`oneOf`/type lists `st.one_of`
    (the case schema's `oneOf` branches are disjoint), `allOf` around objects is merged, and
    `enum` becomes `st.sampled_from`. A `not` becomes a filter with a compiled fastjsonschema
    validator (from_schema runs jsonschema on every draw for it, ten times slower).
    """
    schema = {k: v for k, v in schema.items() if k not in ANNOTATIONS}
    types = _types(schema)
    for key in BRANCHES:
        if key in schema and (_structural(schema) or "not" in schema):
            return st.one_of([to_strategy(b) for b in _merged(schema, key)])
    if "allOf" in schema and _structural(schema):
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            merged.update(part)
        return to_strategy(merged)
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    if "not" in schema:
        return _negated(schema)
    if len(types) > 1 and _structural(schema):
        return st.one_of([to_strategy({**schema, "type": t}) for t in types])
    if types == ["null"]:
        return st.none()
    if types == ["object"]:
        return _object(schema) if "properties" in schema else st.fixed_dictionaries({})
    if types == ["array"]:
        return _array(schema)
    return _leaf(schema)


def _leaf(schema: dict[str, Any]) -> st.SearchStrategy:
    if "string" in _types(schema) and schema.get("maxLength", 0) > MAX_LENGTH \
            and "pattern" not in schema:
        schema = {**schema, "maxLength": max(MAX_LENGTH, schema.get("minLength", 0))}
    return from_schema(schema)


def schema_strategy(target: Target) -> st.SearchStrategy:
    return to_strategy(case_schema(target))


def draw_examples(strategy: st.SearchStrategy, n: int, seed: int) -> list[Any]:
    """`n` examples of `strategy`, reproducibly: a @given test run to collect them.

    `derandomize=True` would give every chunk the same examples, so each chunk seeds it.
    """
    out: list[Any] = []

    @hypothesis_seed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    if n > 0:
        collect()
    return out[:n]


# --------------------------------------------------------------------------- probes

@dataclass
class Probe:
    """One generated case and where it came from."""

    arm: str
    case: Any
    origin: str = ""
    mutations: list[str] = field(default_factory=list)
    escalation: Escalation | None = None
    base: int | None = None  # index of the fixture the escalation applies to


def check_probe(target: Target, probe: Probe, run: Run | None = None) -> list[dict]:
    """Every finding of one probe (the nondeterminism re-run is done by the chunk)."""
    run = run if run is not None else run_all(target, probe.case)
    found = classify(target, probe.case, run)
    if probe.escalation is not None and probe.base is not None:
        base_case = target.fixtures[probe.base][1]
        if probe.base not in target.base_runs:
            target.base_runs[probe.base] = run_all(target, base_case)
        found += monotonic(target, base_case, probe.escalation, target.base_runs[probe.base],
                           run)
    return found


def monotonic_probe(target: Target, rng: random.Random) -> Probe | None:
    index = rng.randrange(len(target.fixtures))
    name, base = target.fixtures[index]
    options = escalations(target, base)
    if not options:
        return None
    esc = rng.choice(options)
    return Probe("monotonic", esc.apply(base), name, [f"{esc.op} {esc.value!r} on {esc.item!r}"],
                 esc, index)


def mutation_probe(target: Target, rng: random.Random) -> Probe:
    name, case, done = mutate(target, rng)
    return Probe("mutation", case, name, done)


def arm_counts(count: int) -> dict[str, int]:
    out = {arm: int(count * w) for arm, w in ARM_WEIGHTS.items()}
    out["mutation"] += count - sum(out.values())
    return out


def make_probes(target: Target, index: int, count: int, seed: int,
                strategy: st.SearchStrategy | None) -> list[Probe]:
    """The cases of one chunk; the same (index, count, seed) always gives the same cases."""
    rng = random.Random(f"fuzz:{seed}:{index}")
    counts = arm_counts(count)
    probes = [Probe("fixture", clone(c), n) for n, c in target.fixtures] \
        if index == 0 else []
    if strategy is None:  # no schema arm: mutations instead
        counts["mutation"] += counts.pop("schema")
    else:
        examples = draw_examples(strategy, counts["schema"], seed * 1_000_003 + index)
        probes += [Probe("schema", c) for c in examples]
        counts["mutation"] += counts["schema"] - len(examples)
    probes += [mutation_probe(target, rng) for _ in range(counts["mutation"])]
    latest = target.policies[target.versions[-1]]
    probes += [Probe("generator", c) for c in
               generate_cases(latest, counts["generator"], seed * 1_000_003 + index)]
    for _ in range(counts["monotonic"]):
        probes.append(monotonic_probe(target, rng) or mutation_probe(target, rng))
    return probes


# --------------------------------------------------------------------------- results

def portable(value: Any, depth: int = 0) -> Any:
    """A JSON-writable copy: a chain of one-entry containers deeper than OUT_DEPTH becomes
    `{"$deep": [key or 0, ...], "leaf": ...}` (a dict key, or 0 for a one-entry list)."""
    if isinstance(value, dict | list) and depth >= OUT_DEPTH and len(value) == 1:
        steps: list[Any] = []
        node = value
        while isinstance(node, dict | list) and len(node) == 1:
            key = next(iter(node)) if isinstance(node, dict) else 0
            steps.append(key)
            node = node[key]
        return {"$deep": steps, "leaf": portable(node)}
    if isinstance(value, dict):
        return {k: portable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v, depth + 1) for v in value]
    return value


def restore(value: Any) -> Any:
    """The inverse of `portable` (for --replay)."""
    if isinstance(value, dict) and set(value) == {"$deep", "leaf"}:
        node = restore(value["leaf"])
        for step in reversed(value["$deep"]):
            node = {step: node} if isinstance(step, str) else [node]
        return node
    if isinstance(value, dict):
        return {k: restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [restore(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(portable(value), ensure_ascii=True)


@dataclass
class Results:
    """Counts and the smallest examples per (class, kind); merged across chunks."""

    keep: int = 3
    cases: int = 0
    seconds: float = 0.0
    arms: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)  # evaluations refused with CaseError
    classes: Counter = field(default_factory=Counter)  # cases with at least one finding
    kinds: Counter = field(default_factory=Counter)
    examples: dict[tuple[str, str], list[dict]] = field(default_factory=dict)

    def add(self, probe: Probe, run: Run, found: list[dict]) -> None:
        self.cases += 1
        self.arms[probe.arm] += 1
        self.rejected[probe.arm] += sum(isinstance(r, engine.CaseError) for r in run.values())
        seen: set[tuple[str, str]] = set()
        for f in found:
            key = (f["class"], f["kind"])
            if key in seen:
                continue
            seen.add(key)
            self.kinds[key] += 1
            self.offer(key, self.record(probe, f))
        for cls in {k[0] for k in seen}:
            self.classes[cls] += 1

    @staticmethod
    def record(probe: Probe, f: dict) -> dict:
        """A finding with its case, in `portable` form (results are pickled between processes,
        and a case nested 2,000 deep cannot be)."""
        return {**f, "arm": probe.arm, "origin": probe.origin, "mutations": probe.mutations,
                "escalation": asdict(probe.escalation) if probe.escalation else None,
                "base": probe.base, "case": portable(probe.case)}

    def offer(self, key: tuple[str, str], record: dict) -> None:
        if "size" not in record:
            record["size"] = len(dumps(record["case"]))
        kept = self.examples.setdefault(key, [])
        kept.append(record)
        kept.sort(key=lambda r: r["size"])
        del kept[self.keep:]

    def merge(self, other: Results) -> None:
        self.cases += other.cases
        for mine, theirs in ((self.arms, other.arms), (self.rejected, other.rejected),
                             (self.classes, other.classes), (self.kinds, other.kinds)):
            mine.update(theirs)
        for key, records in other.examples.items():
            for r in records:
                self.offer(key, r)


TARGET: Target | None = None
STRATEGY: st.SearchStrategy | None = None
CHUNK_INDEX = -1


def run_chunk(job: tuple[int, int, int, int]) -> Results:
    """Generate, evaluate twice and classify the cases of one chunk."""
    global CHUNK_INDEX
    index, count, seed, keep = job
    CHUNK_INDEX = index
    assert TARGET is not None
    probes = make_probes(TARGET, index, count, seed, STRATEGY)
    runs = [run_all(TARGET, p.case) for p in probes]
    # the second pass, in reverse order, re-runs the stateful backend only (durable-rules
    # sessions live across cases; the python oracle is closures over each case's facts),
    # under one version per case in turn; a case the contract refused is not re-run
    vs = TARGET.versions
    again = {i: run_all(TARGET, probes[i].case, ("durable",), (vs[i % len(vs)],))
             for i in reversed(range(len(probes)))
             if not all(isinstance(r, engine.CaseError) for r in runs[i].values())}
    results = Results(keep)
    for i, probe in enumerate(probes):
        try:
            found = check_probe(TARGET, probe, runs[i]) + rerun_diffs(runs[i], again.get(i, {}))
        except Exception as exc:  # a bug of this oracle: reported, and the run goes on
            found = [finding("fuzzer-error", type(exc).__name__, traceback.format_exc()[-600:])]
        results.add(probe, runs[i], found)
    return results


# --------------------------------------------------------------------------- shrinking

def reproduces(target: Target, record: dict, case: Any) -> bool:
    """Whether `case` (the base case of a monotonicity record) shows the record's finding."""
    if record.get("escalation"):
        esc = Escalation(**record["escalation"])
        found = monotonic(target, case, esc, run_all(target, case),
                          run_all(target, esc.apply(case)))
    else:
        found = check_probe(target, Probe(record["arm"], case))
    return any(f["class"] == record["class"] and f["kind"] == record["kind"] for f in found)


def shrink(target: Target, record: dict, budget: int = 300) -> dict:
    """Greedily drop keys and list entries while the same (class, kind) still shows."""
    if record["class"] == "nondeterminism":
        return record  # depends on the cases evaluated before it: not reproducible alone
    esc = Escalation(**record["escalation"]) if record.get("escalation") else None
    case = restore(record["base_case"] if esc else record["case"])
    tries, progress = 0, True
    while progress and tries < budget:
        progress = False
        for container, key, _ in sorted(nodes(case), key=lambda p: -len(p[2])):
            candidate = _without(case, container, key)
            tries += 1
            if reproduces(target, record, candidate):
                case, progress = candidate, True
                break
            if tries >= budget:
                break
    if esc is not None:
        return {**record, "base_case": portable(case), "case": portable(esc.apply(case)),
                "shrunk": True}
    return {**record, "case": portable(case), "shrunk": True}


def _without(case: Any, container: Any, key: Any) -> Any:
    """A copy of `case` without `container[key]` (`container` is a node of `case`)."""
    saved = container[key]
    del container[key]
    try:
        return clone(case)
    finally:
        if isinstance(container, list):
            container.insert(key, saved)
        else:
            container[key] = saved


# --------------------------------------------------------------------------- hash seeds

def decide_lines(target: Target, cases: Sequence[Any]) -> list[str]:
    return [json.dumps([signature(r) for r in run_all(target, c).values()]) for c in cases]


def hash_seed_check(cases: Sequence[Any], policies: Path, fixtures: Path,
                    seeds: Sequence[str] = ("0", "4242")) -> list[tuple[int, str]]:
    """(index, detail) of cases decided differently by processes with other hash seeds."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "cases.jsonl"
        src.write_text("".join(dumps(c) + "\n" for c in cases), encoding="utf-8")
        outputs = []
        for s in seeds:
            env = {**os.environ, "PYTHONHASHSEED": s}
            done = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--decide", str(src),
                 "--policies", str(policies), "--fixtures", str(fixtures)],
                env=env, capture_output=True, text=True, check=True)
            outputs.append(done.stdout.splitlines())
    return [(i, f"PYTHONHASHSEED={seeds[0]} vs {seeds[1]}: different decision JSON")
            for i, (a, b) in enumerate(zip(*outputs, strict=True)) if a != b]


# --------------------------------------------------------------------------- report

def table(results: Results) -> str:
    lines = [f"{'class':<16}{'cases':>8}  kinds (cases)"]
    for cls in CLASSES:
        kinds = sorted(((k, n) for (c, k), n in results.kinds.items() if c == cls),
                       key=lambda p: (-p[1], p[0]))
        lines.append(f"{cls:<16}{results.classes[cls]:>8}  "
                     + (", ".join(f"{k} ({n})" for k, n in kinds[:6]) or "-")
                     + (f", ... {len(kinds) - 6} more" if len(kinds) > 6 else ""))
    return "\n".join(lines)


def header(results: Results, jobs: int, seed: int) -> str:
    arms = ", ".join(f"{a} {n}" for a, n in sorted(results.arms.items()))
    evals = results.cases * len(BACKENDS) * (len(TARGET.versions) if TARGET else 0)
    rejected = sum(results.rejected.values())
    rate = results.cases / results.seconds if results.seconds else 0
    return (f"fuzz: {results.cases} cases ({arms}) in {results.seconds:.1f} s "
            f"({rate:.0f} cases/s), {jobs} job(s), seed {seed}\n"
            f"evaluations: {evals} (versions x backends) and a durable re-run per case, "
            f"{rejected} refused by the case contract in the first pass")


def write_findings(path: Path, results: Results) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as out:
        for key in sorted(results.examples, key=lambda k: (CLASSES.index(k[0]), k[1])):
            for r in results.examples[key]:
                out.write(json.dumps(r, ensure_ascii=True) + "\n")  # cases are portable
                n += 1
    return n


# --------------------------------------------------------------------------- main

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=100_000, help="number of cases (default 100000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--out", type=Path, default=Path(".fuzz/findings.jsonl"))
    p.add_argument("--examples", type=int, default=3, help="examples kept per class and kind")
    p.add_argument("--no-shrink", action="store_true", help="keep examples as found")
    p.add_argument("--hash-seed-cases", type=int, default=400,
                   help="cases decided again under other PYTHONHASHSEEDs (0: skip)")
    p.add_argument("--policies", type=Path, default=ROOT / "policies")
    p.add_argument("--fixtures", type=Path, default=ROOT / "fixtures")
    p.add_argument("--replay", type=Path, help="re-check the cases of a findings file")
    p.add_argument("--decide", type=Path, help=argparse.SUPPRESS)  # hash-seed worker
    return p.parse_args(argv)


def chunk_jobs(args: argparse.Namespace) -> list[tuple[int, int, int, int]]:
    return [(i, min(CHUNK, args.cases - i * CHUNK), args.seed, args.examples)
            for i in range(max(1, math.ceil(args.cases / CHUNK)))]


def fuzz(target: Target, args: argparse.Namespace) -> Results:
    """Run every chunk (in worker processes forked after loading) and merge the results."""
    global TARGET, STRATEGY
    TARGET, STRATEGY = target, schema_strategy(target)
    for case in (c for _, c in target.fixtures[:1]):
        run_all(target, case)  # build every backend before forking
    results = Results(args.examples)
    start = time.perf_counter()
    pending, done = chunk_jobs(args), set[int]()
    while pending:
        with tempfile.TemporaryDirectory(prefix="echri-fuzz-") as inflight:
            try:
                _run_chunks(pending, args.jobs, inflight, results, done, start)
                pending = []
            except BrokenProcessPool:  # a worker died (a crash Python could not catch)
                poisoned = add_worker_crashes(results, Path(inflight), args)
                pending = [j for j in pending if j[0] not in done | poisoned]
    results.seconds = time.perf_counter() - start
    return results


def _run_chunks(jobs: list[tuple[int, int, int, int]], workers: int, inflight: str,
                results: Results, done: set[int], start: float) -> None:
    every = max(1, len(jobs) // 10)
    with _pool(workers, inflight) as pool:
        for job, part in zip(jobs, pool.map(run_chunk, jobs), strict=True):
            results.merge(part)
            done.add(job[0])
            if len(done) % every == 0:
                print(f"  {results.cases} cases, {time.perf_counter() - start:.0f} s",
                      file=sys.stderr)


class _Inline:
    """`--jobs 1`: the executor interface without processes."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def map(self, fn: Callable[[Any], Results], jobs: Sequence[Any]) -> Iterator[Results]:
        return map(fn, jobs)


INFLIGHT: Path | None = None  # worker processes: where each notes the case it evaluates


def _note_inflight(directory: str) -> None:
    global INFLIGHT
    INFLIGHT = Path(directory)


def _pool(workers: int, inflight: str) -> Any:
    """Worker processes forked from the main thread (the durable backend must not change
    threads); ProcessPoolExecutor, unlike multiprocessing.Pool, fails instead of hanging
    when a worker dies."""
    if workers <= 1:
        return _Inline()
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_note_inflight, initargs=(inflight,))


def decide_alone(text: str, args: argparse.Namespace) -> subprocess.CompletedProcess:
    """Decide one case (a `dumps` line) in a fresh process: does it kill the process?"""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.jsonl"
        path.write_text(text + "\n", encoding="utf-8")
        return subprocess.run([sys.executable, str(Path(__file__).resolve()), "--decide",
                               str(path), "--policies", str(args.policies),
                               "--fixtures", str(args.fixtures)],
                              capture_output=True, text=True, check=False)


def add_worker_crashes(results: Results, inflight: Path, args: argparse.Namespace) -> set[int]:
    """Record the in-flight cases that kill a process on their own; the chunks to skip."""
    notes = [n.read_text(encoding="utf-8").partition("\n") for n in inflight.glob("*.json")]
    poisoned = set()
    for chunk, _, text in sorted(notes):
        done = decide_alone(text, args)
        if done.returncode == 0:
            continue
        poisoned.add(int(chunk))
        why = f"signal {-done.returncode}" if done.returncode < 0 else f"exit {done.returncode}"
        last = (done.stderr.strip().splitlines() or [""])[-1][:300]
        add_extra(results, Probe("worker", restore(json.loads(text)), f"chunk {chunk}"),
                  finding("crash", f"worker-died:{why}",
                          f"deciding this case alone kills the process ({why}): {last}"))
    if not poisoned:  # not reproducible alone: skip every chunk that was in flight
        poisoned = {int(chunk) for chunk, _, _ in notes}
        add_extra(results, Probe("worker", {}, f"chunks {sorted(poisoned)}"), finding(
            "crash", "worker-died:unreproduced",
            "a worker process died; no in-flight case kills a process on its own"))
    return poisoned


def add_extra(results: Results, probe: Probe, f: dict) -> None:
    """A finding made outside the chunks (worker deaths, hash seeds)."""
    results.kinds[f["class"], f["kind"]] += 1
    results.classes[f["class"]] += 1
    results.offer((f["class"], f["kind"]), results.record(probe, f))


def add_hash_seed_findings(target: Target, results: Results, args: argparse.Namespace) -> None:
    if args.hash_seed_cases <= 0:
        return
    sample = make_probes(target, 0, args.hash_seed_cases, args.seed + 1, None)
    for i, detail in hash_seed_check([p.case for p in sample], args.policies, args.fixtures):
        add_extra(results, sample[i], finding("nondeterminism", "hash-seed", detail))


def shrink_examples(target: Target, results: Results) -> None:
    for records in results.examples.values():
        for n, r in enumerate(records):
            if r.get("escalation"):
                r["base_case"] = portable(target.fixtures[r["base"]][1])
            if n == 0:  # the smallest one per kind: shrinking all would cost minutes
                records[n] = shrink(target, r)
        records.sort(key=lambda r: len(json.dumps(r["case"])))


def replay(target: Target, args: argparse.Namespace) -> int:
    """Re-check recorded findings: print whether each still shows today."""
    still = 0
    for line in args.replay.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["class"] == "nondeterminism":
            state = "n/a"  # depends on what ran before it, or on other processes
        elif record["kind"].startswith("worker-died"):
            state = "still" if decide_alone(dumps(restore(record["case"])), args).returncode \
                else "fixed"
        else:
            base = record["case"]
            if record.get("escalation"):
                base = record.get("base_case") or target.fixtures[record["base"]][1]
            state = "still" if reproduces(target, record, restore(base)) else "fixed"
        still += state == "still"
        print(f"{state:<6} {record['class']}/{record['kind']} {record.get('origin') or ''}")
    return 1 if still else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # the engine logs every engine error with its traceback: here they are findings
    logging.getLogger("echri").setLevel(logging.CRITICAL)
    target = build_target(args.policies, args.fixtures)
    if args.decide:
        cases = [restore(json.loads(x)) for x in args.decide.read_text().splitlines()]
        print("\n".join(decide_lines(target, cases)))
        return 0
    if args.replay:
        return replay(target, args)
    results = fuzz(target, args)
    add_hash_seed_findings(target, results, args)
    if not args.no_shrink:
        shrink_examples(target, results)
    written = write_findings(args.out, results)
    print(header(results, args.jobs, args.seed))
    print(table(results))
    print(f"{written} example(s) written to {args.out}")
    return 1 if any(results.classes[c] for c in CLASSES) else 0


if __name__ == "__main__":
    sys.exit(main())
