"""Load and validate a register set: `settings.yaml`, `*.notices.yaml`, `*.notes.yaml` and
the CSV files `settings.yaml` imports (OpenSanctions `targets.simple.csv` format).

YAML files are read with line marks (engine/loader.py) and checked against their schema
(schemas/register-*.schema.json), so every problem has file:line:col. Then cross-checks:
duplicate notice or note ids (`duplicate-id`), CSV headers (`csv-header`), files the set does not
know (`unknown-file`, with did-you-mean), and the lints `notice-expired` (warning): a notice
whose validity ended before the lint date is ignored by screening, and `note-expired`
(warning): a risk note past its review date.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.diagnostics import Diagnostic, suggest
from engine.loader import Document, load_yaml_bytes
from engine.registers.model import (
    DEFAULT_VALIDITY_YEARS,
    Listed,
    NamedParty,
    Notice,
    RegisterInfo,
    RegisterSet,
    RiskNote,
    Settings,
)
from engine.schemas import check_document

SETTINGS = "settings.yaml"
SUFFIXES = {".notices.yaml": "register-notices", ".notes.yaml": "register-notes"}
OPENSANCTIONS_COLUMNS = ("id", "schema", "name", "aliases", "birth_date", "countries",
                         "addresses", "identifiers", "sanctions", "phones", "emails",
                         "dataset", "first_seen", "last_seen", "last_change")
MAX_CSV_BYTES = 256 * 1024 * 1024


class RegisterError(Exception):
    """The register set is invalid; `diagnostics` says where."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(f"{len(diagnostics)} problem(s) in the registers")
        self.diagnostics = diagnostics


def digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _doc(path: Path, display: str, kind: str, problems: list[Diagnostic]
         ) -> tuple[Document | None, bytes]:
    raw = path.read_bytes()
    doc = load_yaml_bytes(raw, display)
    problems.extend(doc.diagnostics)
    if not doc.ok:
        return None, raw
    found = check_document(doc, kind)
    problems.extend(found)
    return (None if found else doc), raw


def _party(raw: dict[str, Any] | None) -> NamedParty | None:
    if not raw:
        return None
    return NamedParty(raw["name"], tuple(raw.get("aliases") or ()), raw.get("country"))


def notice_from(raw: dict[str, Any], register: str) -> Notice:
    """A Notice from its schema-valid register form."""
    items = raw.get("items") or {}
    return Notice(
        id=raw["id"], notifying_state=raw["notifying_state"],
        date_of_denial=raw["date_of_denial"], destination=raw["destination"],
        ground=raw["ground"], contact_point=raw["contact_point"], tlp=raw["tlp"],
        register=register, validity_years=raw.get("validity_years", DEFAULT_VALIDITY_YEARS),
        end_user=_party(raw.get("end_user")),
        consignees=tuple(p for p in map(_party, raw.get("consignees") or ()) if p),
        categories=tuple(items.get("categories") or ()),
        control_entries=tuple(items.get("control_entries") or ()),
        revoked=raw.get("revoked"), consultation=raw.get("consultation"))


def _unique(doc: Document, key: str, noun: str, seen: dict[str, str],
            problems: list[Diagnostic]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, raw entry) of the entries of `doc[key]` whose id no earlier file of the set
    has; a repeated id is a `duplicate-id` error naming the file that has it first."""
    for i, raw in enumerate(doc.data[key]):
        if raw["id"] in seen:
            problems.append(doc.diagnostic((key, i, "id"), "duplicate-id",
                                           f"{noun} `{raw['id']}` is also in "
                                           f"`{seen[raw['id']]}`"))
            continue
        seen[raw["id"]] = doc.path
        yield i, raw


def _notices(doc: Document, register: str, seen: dict[str, str], lint_day: str,
             problems: list[Diagnostic]) -> list[Notice]:
    out = []
    for i, raw in _unique(doc, "notices", "notice", seen, problems):
        n = notice_from(raw, register)
        if n.expires <= lint_day:
            problems.append(doc.diagnostic(
                ("notices", i, "date_of_denial"), "notice-expired",
                f"notice `{n.id}` expired on {n.expires}: screening ignores it",
                help="remove it, or import the notifying state's renewal", severity="warning"))
        out.append(n)
    return out


def note_from(raw: dict[str, Any], register: str) -> RiskNote:
    """A RiskNote from its schema-valid register form."""
    return RiskNote(raw["id"], dict(raw["subject"]), raw["shared_by"], raw["source"],
                    raw["tlp"], raw["review_by"], raw["text"], register, raw.get("revoked"),
                    tuple(raw.get("factors") or ()))


def _notes(doc: Document, register: str, seen: dict[str, str], lint_day: str,
           problems: list[Diagnostic]) -> list[RiskNote]:
    out = []
    for i, raw in _unique(doc, "notes", "note", seen, problems):
        n = note_from(raw, register)
        if n.factors and "destination" not in n.subject:
            problems.append(doc.diagnostic(
                ("notes", i, "factors"), "note-factors-without-destination",
                f"note `{n.id}` adds factors but names no destination",
                help="give subject.destination, or remove factors"))
            continue
        if n.review_by < lint_day:
            problems.append(doc.diagnostic(
                ("notes", i, "review_by"), "note-expired",
                f"note `{n.id}` was due for review on {n.review_by}",
                help="remove it, or import the sharing state's reviewed note",
                severity="warning"))
        out.append(n)
    return out


def _split(cell: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in cell.split(";") if p.strip())


def load_csv(raw: bytes, display: str, register: str, kind: str, source: str,
             problems: list[Diagnostic]) -> list[Listed]:
    """Rows of an OpenSanctions `targets.simple.csv` (multi-valued cells split on `;`)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Diagnostic("encoding", f"not UTF-8 ({exc.reason})", display))
        return []
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != OPENSANCTIONS_COLUMNS:
        got = ", ".join(header or ())
        problems.append(Diagnostic(
            "csv-header", f"header is `{got}`, not the OpenSanctions targets.simple.csv "
            "columns", display, 1, 1, help="expected: " + ",".join(OPENSANCTIONS_COLUMNS)))
        return []
    out = []
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(OPENSANCTIONS_COLUMNS):
            problems.append(Diagnostic("csv-row", f"{len(row)} cells, expected "
                                       f"{len(OPENSANCTIONS_COLUMNS)}", display, line, 1))
            continue
        cell = dict(zip(OPENSANCTIONS_COLUMNS, row, strict=True))
        if not cell["id"].strip() or not cell["name"].strip():
            problems.append(Diagnostic("csv-row", "a row needs an `id` and a `name`",
                                       display, line, 1))
            continue
        out.append(Listed(cell["id"].strip(), cell["name"].strip(), _split(cell["aliases"]),
                          frozenset(c.upper() for c in _split(cell["countries"])), kind,
                          register, cell["dataset"].strip() or source, cell["sanctions"],
                          cell["schema"].strip()))
    return out


def load_registers(directory: str | Path, lint_day: str | None = None
                   ) -> tuple[RegisterSet | None, list[Diagnostic]]:
    """The register set in `directory` and every problem found (None when an error)."""
    root = Path(directory)
    lint_day = lint_day or dt.date.today().isoformat()
    problems: list[Diagnostic] = []
    if not (root / SETTINGS).is_file():
        return None, [Diagnostic("no-registers", f"no `{SETTINGS}` in `{root}`", str(root))]
    sdoc, _ = _doc(root / SETTINGS, str(root / SETTINGS), "register-settings", problems)
    settings, imports = Settings(), []
    if sdoc is not None:
        th = sdoc.data.get("thresholds") or {}
        settings = Settings(float(th.get("match", 92)), float(th.get("review", 80)),
                            float(th.get("country_penalty", 10)))
        if settings.review > settings.match:
            problems.append(sdoc.diagnostic(("thresholds", "review"), "thresholds",
                                            "the review threshold is above the match threshold"))
        imports = list(sdoc.data.get("imports") or ())
    infos: list[RegisterInfo] = []
    notices: list[Notice] = []
    notes: list[RiskNote] = []
    listed: list[Listed] = []
    seen: dict[str, str] = {}
    seen_notes: dict[str, str] = {}
    files = sorted(p.name for p in root.iterdir() if p.is_file())
    imported = {i["file"] for i in imports}
    for name in files:
        path, display = root / name, str(root / name)
        kind = next((k for s, k in SUFFIXES.items() if name.endswith(s)), None)
        if kind is None:
            if name != SETTINGS and name not in imported and not name.startswith("."):
                stem = name.split(".")[0]
                hint = suggest(name, [*imported, *(stem + s for s in SUFFIXES)])
                problems.append(Diagnostic(
                    "unknown-file", f"`{name}` is not a register file", display,
                    help=hint or "name it *.notices.yaml or *.notes.yaml, or import it in "
                                 "settings.yaml"))
            continue
        doc, raw = _doc(path, display, kind, problems)
        if doc is None:
            continue
        head = doc.data["register"]
        infos.append(RegisterInfo(head["id"], head["kind"], head["version"], digest(raw), name))
        if kind == "register-notices":
            notices.extend(_notices(doc, head["id"], seen, lint_day, problems))
        else:
            notes.extend(_notes(doc, head["id"], seen_notes, lint_day, problems))
    for i, imp in enumerate(imports):
        path = root / imp["file"]
        if not path.is_file():
            assert sdoc is not None
            hint = suggest(imp["file"], [f for f in files if f.endswith(".csv")])
            problems.append(sdoc.diagnostic(("imports", i, "file"), "unknown-file",
                                            f"imported file `{imp['file']}` does not exist",
                                            help=hint))
            continue
        raw = path.read_bytes()[:MAX_CSV_BYTES]
        listed.extend(load_csv(raw, str(path), imp["id"], imp["kind"], imp["source"], problems))
        infos.append(RegisterInfo(imp["id"], imp["kind"], imp["version"], digest(raw),
                                  imp["file"]))
    ids = [r.id for r in infos]
    for dup in sorted({x for x in ids if ids.count(x) > 1}):
        problems.append(Diagnostic("duplicate-id", f"register id `{dup}` is used twice",
                                   str(root)))
    problems.sort(key=Diagnostic.sort_key)
    if any(p.severity == "error" for p in problems):
        return None, problems
    rs = RegisterSet(settings, tuple(sorted(infos, key=lambda r: r.id)), tuple(notices),
                     tuple(listed), tuple(notes))
    return rs, problems


def load(directory: str | Path) -> RegisterSet:
    """The register set, or RegisterError with every error."""
    rs, problems = load_registers(directory)
    if rs is None:
        raise RegisterError([p for p in problems if p.severity == "error"])
    return rs
