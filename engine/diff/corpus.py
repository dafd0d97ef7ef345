"""The cases a behavioural diff evaluates: fixtures, JSON Lines cases, recorded decisions.

- fixtures: the `case:` block of every `*.yaml` file under a directory (fixtures/**);
- cases: a JSON Lines file, one case per line (the `echri evaluate --batch` input), or one
  `{"case": {...}, ...}` record per line;
- recorded decisions (for replay): one `{"case": {...}, "decision": {...}}` per line, the
  decision being the decision JSON the engine produced earlier.

Lines or files that cannot be used are kept as `Skipped` entries with their reason, so a
report always says how much of the corpus it covers. JSON Lines files are read as bytes, line
by line (engine.loader.read_lines): a line that is not UTF-8, too large, nested too deeply or
not strict JSON is skipped with its line number, and the other lines are still used.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from engine.loader import decode_line, load_json_text, load_yaml_file, read_lines


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a decision is compared on (the same for recorded and fresh decisions)."""

    outcome: str
    rules: frozenset[str]
    conditions: frozenset[str] = frozenset()
    assurances: frozenset[str] = frozenset()  # required assurances
    requests: frozenset[str] = frozenset()  # fields of information requests
    version: str = ""  # "policy-id version" that decided it
    # "id version digest" of each register the case was screened against (engine/registers/)
    registers: frozenset[str] = frozenset()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Recorded:
        """From decision JSON (engine.decision.Decision.to_dict())."""
        policy = d.get("policy") or {}
        return cls(
            outcome=str(d["decision"]),
            rules=frozenset(str(f["rule"]) for f in d.get("findings") or ()),
            conditions=frozenset(str(c["id"]) for c in d.get("conditions") or ()),
            assurances=frozenset(map(str, d.get("required_assurances") or ())),
            requests=frozenset(str(r["field"]) for r in d.get("information_requests") or ()),
            version=f"{policy.get('id', '?')} {policy.get('version', '?')}",
            registers=register_keys(d.get("registers") or ()))


def register_keys(provenance: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """"id version digest" of each register of a decision's `registers` provenance."""
    return frozenset(f"{r.get('id')} {r.get('version')} {r.get('digest')}"
                     for r in provenance if isinstance(r, Mapping))


@dataclass(frozen=True, slots=True)
class CorpusCase:
    origin: str  # fixture file, or FILE:LINE
    case: Mapping[str, Any]
    recorded: Recorded | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    origin: str
    reason: str


@dataclass(slots=True)
class Corpus:
    cases: list[CorpusCase] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # what was read, for the report

    def extend(self, other: Corpus) -> None:
        self.cases += other.cases
        self.skipped += other.skipped
        self.sources += other.sources

    def screened_otherwise(self, registers: frozenset[str]) -> int:
        """How many recorded decisions were screened against other registers than
        `registers` (register_keys; empty: none), so may not replay the same."""
        return sum(1 for c in self.cases
                   if c.recorded is not None and c.recorded.registers != registers)


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def load_fixtures(root: Path, policy_id: str | None = None) -> Corpus:
    """The `case:` of every fixture under `root`, or `root/<policy_id>` when that exists."""
    if policy_id is not None and (root / policy_id).is_dir():
        root = root / policy_id
    out = Corpus()
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()) \
        if root.is_dir() else []
    for path in files:
        name = _display(path)
        doc = load_yaml_file(path, display=name)
        case = doc.data.get("case") if isinstance(doc.data, dict) else None
        if not doc.ok or not isinstance(case, dict):
            out.skipped.append(Skipped(name, "not a fixture with a `case:` mapping"))
            continue
        out.cases.append(CorpusCase(name, case))
    out.sources.append(f"{len(out.cases)} fixture(s) under {_display(root)}/")
    return out


def _parse_line(origin: str, text: str, replay: bool) -> CorpusCase | Skipped:
    data, problems = load_json_text(text, origin)
    if problems:
        return Skipped(origin, problems[0].message)
    if not isinstance(data, dict):
        return Skipped(origin, "a line must be a JSON object")
    if not replay:
        case = data["case"] if isinstance(data.get("case"), dict) else data
        return CorpusCase(origin, case)
    decision, case = data.get("decision"), data.get("case")
    if not isinstance(case, dict) or not isinstance(decision, dict):
        return Skipped(origin, "a recorded decision line needs `case` and `decision` objects")
    if not isinstance(decision.get("decision"), str):
        return Skipped(origin, "the recorded decision has no `decision` outcome string")
    try:
        return CorpusCase(origin, case, Recorded.from_dict(decision))
    except KeyError as exc:
        return Skipped(origin, f"the recorded decision is incomplete (missing {exc})")
    except (TypeError, AttributeError):
        return Skipped(origin, "the recorded decision does not have the shape of decision JSON")


def _collect(lines: Iterable[tuple[int, str | None, str]], name: str, replay: bool) -> Corpus:
    """Entries from (line number, text or None, why not) triples; blank lines are ignored."""
    out = Corpus()
    for n, text, why in lines:
        if text is not None and not text.strip():
            continue
        entry = Skipped(f"{name}:{n}", why) if text is None \
            else _parse_line(f"{name}:{n}", text, replay)
        if isinstance(entry, Skipped):
            out.skipped.append(entry)
        else:
            out.cases.append(entry)
    what = "recorded decision(s)" if replay else "case(s)"
    out.sources.append(f"{len(out.cases)} {what} from {name}")
    return out


def read_jsonl(lines: Iterable[str], name: str, replay: bool = False) -> Corpus:
    """Cases (or recorded decisions with their cases) from JSON Lines given as text."""
    return _collect(((n, line, "") for n, line in enumerate(lines, start=1)), name, replay)


def _decoded(stream: IO[bytes]) -> Iterator[tuple[int, str | None, str]]:
    for raw in read_lines(stream):
        text, why = decode_line(raw)
        yield raw.number, text, why


def load_jsonl(path: Path, replay: bool = False) -> Corpus:
    """Cases (or recorded decisions) from a JSON Lines file; raises OSError if unreadable."""
    with path.open("rb") as stream:
        return _collect(_decoded(stream), _display(path), replay)
