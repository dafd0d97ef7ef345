"""The curated tables in ``data/destinations/`` (see the README there): load and check.

Every file is a CSV with a fixed header, declared in ``TABLES`` below as column -> kind.
This registry *is* the header check: an unknown or missing column, an empty required cell,
an unknown source id, factor id, version or country code, a malformed date or a duplicate
key fails with ``file:line: error[code]: message``.  All problems are collected, sorted by
location and raised together as ``DataError``.

Kinds: ``id`` (a slug), ``text``, ``bool`` (yes/no), ``year`` (YYYY), ``month`` (YYYY-MM),
``as_of`` (YYYY or YYYY-MM), ``country`` (ISO 3166-1 alpha-2 or XK), ``source`` (an id of
sources.csv), ``factor`` (an id of factors.csv; ``factor|excluded`` also allows the word
``excluded``), ``version`` (a version of versions.csv).  A trailing ``?`` marks an optional
cell.  Files are checked in the order below, so later files can refer to earlier ones.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pycountry

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "destinations"


@dataclass(frozen=True)
class Table:
    columns: dict[str, str]
    key: tuple[str, ...] = ()  # columns that identify a row (unique); () = no key


_FACT = {"version": "version", "code": "country", "source": "source", "as_of": "as_of"}

#: Every data file and its columns, in checking order.
TABLES: dict[str, Table] = {
    "sources.csv": Table({"id": "id", "extra": "bool", "note": "text?"}, ("id",)),
    "factors.csv": Table({"id": "id", "note": "text?"}, ("id",)),
    "versions.csv": Table(
        {
            "version": "id",
            "snapshot": "month",
            "fiw_file": "text",
            "fiw_source": "source",
            "fiw_as_of": "month",
            "spyware_max_year": "year",
            "use_fotn_proxy": "bool",
            "with_latest_actions": "bool",
            "us_groups_note": "text?",
        },
        ("version",),
    ),
    "coc_subscribers.csv": Table(
        {"code": "country", "source": "source", "as_of": "as_of", "note": "text"}, ("code",)
    ),
    "hrc_mandates.csv": Table({**_FACT, "note": "text"}, ("version", "code")),
    "us_d5_extra.csv": Table({**_FACT, "note": "text"}, ("version", "code")),
    "embargo_overrides.csv": Table(
        {
            "code": "country",
            "body": "text",
            "factor": "factor|excluded?",
            "valid_from": "month?",
            "note": "text",
        },
        ("code", "body"),
    ),
    "note_overrides.csv": Table(
        {"version": "version", "code": "country", "factor": "factor", "note": "text"},
        ("version", "code", "factor"),
    ),
    "shutdown_attribution.csv": Table(
        {"located": "country", "ordered_by": "country", "note": "text"}, ("located",)
    ),
    "spyware_levels.csv": Table(
        {"evidence_level": "id", "factor": "factor|excluded", "note": "text?"},
        ("evidence_level",),
    ),
    "spyware_sources.csv": Table(
        {"code": "country", "source": "source", "note": "text?"}, ("code",)
    ),
    "destination_comments.csv": Table({"code": "country", "comment": "text"}),
}

#: Country codes a row may name: ISO 3166-1 alpha-2 plus Kosovo's user-assigned XK.
COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries) | {"XK"}

_PATTERNS = {
    "id": re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*"),
    "bool": re.compile(r"yes|no"),
    "year": re.compile(r"\d{4}"),
    "month": re.compile(r"\d{4}-(0[1-9]|1[0-2])"),
    "as_of": re.compile(r"\d{4}(-(0[1-9]|1[0-2]))?"),
}
#: Kinds whose values must be ids of an earlier file: kind -> (file, column, what).
_REFERENCES = {
    "source": ("sources.csv", "id", "source id"),
    "factor": ("factors.csv", "id", "factor id"),
    "version": ("versions.csv", "version", "version"),
}


class Row(dict[str, str]):
    """One data row (column -> stripped cell); ``line`` is its line in the file."""

    def __init__(self, cells: dict[str, str], line: int) -> None:
        super().__init__(cells)
        self.line = line


Tables = dict[str, list[Row]]


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    code: str
    message: str
    help: str = ""

    def __str__(self) -> str:
        text = f"{self.path}:{self.line}: error[{self.code}]: {self.message}"
        return f"{text}\n  help: {self.help}" if self.help else text


class DataError(Exception):
    """Raised with every problem found in the data files."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _did_you_mean(value: str, known: set[str] | frozenset[str]) -> str:
    close = difflib.get_close_matches(value, sorted(known), n=1)
    return f"did you mean `{close[0]}`?" if close else ""


def _read(path: Path, table: Table, report: Callable[..., None]) -> list[Row]:
    """The rows of *path*, with header and row-shape problems reported."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        unknown = [c for c in header if c not in table.columns]
        missing = [c for c in table.columns if c not in header]
        for column in unknown:
            report(
                1,
                "unknown-column",
                f"unknown column `{column}`",
                _did_you_mean(column, set(table.columns)),
            )
        for column in missing:
            report(1, "missing-column", f"missing column `{column}`")
        if unknown or missing:
            return []
        rows, end = [], reader.line_num
        for cells in reader:
            line, end = end + 1, reader.line_num
            if not any(cells):
                continue  # a blank line
            if len(cells) > len(header):
                report(line, "unknown-column", f"{len(cells)} cells, the header has {len(header)}")
                continue
            cells += [""] * (len(header) - len(cells))
            rows.append(Row({k: v.strip() for k, v in zip(header, cells, strict=True)}, line))
        return rows


def _check_cell(kind: str, value: str, tables: Tables) -> tuple[str, str, str] | None:
    """(code, message, help) when *value* is not a valid *kind*, else None."""
    if kind == "text":
        return None
    if kind == "country":
        if value not in COUNTRIES:
            return "unknown-country", f"unknown country code `{value}`", ""
        return None
    if kind == "factor|excluded":
        return None if value == "excluded" else _check_cell("factor", value, tables)
    if kind in _REFERENCES:
        file, column, what = _REFERENCES[kind]
        known = {row[column] for row in tables.get(file, [])}
        if value not in known:
            return f"unknown-{kind}", f"unknown {what} `{value}`", _did_you_mean(value, known)
        return None
    if not _PATTERNS[kind].fullmatch(value):
        return "bad-value", f"`{value}` is not a valid {kind}", ""
    return None


def _check_rows(name: str, rows: list[Row], tables: Tables, report: Callable[..., None]) -> None:
    table = TABLES[name]
    seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        for column, spec in table.columns.items():
            kind, optional = spec.rstrip("?"), spec.endswith("?")
            if not row[column]:
                if not optional:
                    report(row.line, "missing-field", f"`{column}`: empty cell")
                continue
            if problem := _check_cell(kind, row[column], tables):
                code, message, hint = problem
                report(row.line, code, f"`{column}`: {message}", hint)
        if table.key:
            key = tuple(row[c] for c in table.key)
            if key in seen:
                report(
                    row.line,
                    "duplicate",
                    f"duplicate row `{', '.join(key)}`, first on line {seen[key]}",
                )
            seen.setdefault(key, row.line)
    if name == "embargo_overrides.csv":
        for row in rows:
            if not row["factor"] and not row["valid_from"]:
                report(row.line, "missing-field", "a row needs `factor` or `valid_from`")


def load_tables(data_dir: Path = DATA_DIR) -> Tables:
    """Every table of *data_dir*, checked; raises ``DataError`` listing all problems."""
    problems: list[Problem] = []
    tables: Tables = {}
    for name, table in TABLES.items():
        path = data_dir / name

        def report(line: int, code: str, message: str, hint: str = "", _p: Path = path) -> None:
            problems.append(Problem(display(_p), line, code, message, hint))

        if not path.is_file():
            report(0, "missing-file", f"data file `{name}` not found")
            continue
        rows = _read(path, table, report)
        _check_rows(name, rows, tables, report)
        tables[name] = rows
    for extra in sorted(data_dir.glob("*.csv")):
        if extra.name not in TABLES:
            problems.append(Problem(display(extra), 0, "unknown-file", "not a known data file"))
    if problems:
        raise DataError(problems)
    return tables
