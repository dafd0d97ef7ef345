#!/usr/bin/env python3
"""Generate ``policies/echri-baseline/<version>/destinations.yaml``.

The destination table is built from the reference CSVs in ``shared/reference`` (see
``destinations.md`` there) plus the curated, sourced tables in ``data/destinations/`` for
facts that are not in the CSVs (Subscribing States of the Code, UN Human Rights Council
country mandates, version-specific changes such as the Iran snapback or Cambodia's removal
from D:5).  ``data/destinations/README.md`` says what each table holds and how it is used;
``tools/destinations/`` holds the helpers (tables, text, facts, render).

Usage::

    python tools/build_destinations.py --version 2025.1
    python tools/build_destinations.py --version 2026.1 --reference ../shared/reference
    python tools/build_destinations.py --check-data        # only check data/destinations

The output is deterministic: destinations sorted by code, factors sorted by id, no
timestamps.  ``tests/test_destinations.py`` re-runs the generator and compares bytes.

Conventions of the generated file
---------------------------------
* ``as_of`` is the date of the newest source that confirms the fact *for the snapshot of the
  version*, capped at the snapshot date (2025.1: 2025-01, 2026.1: 2026-07).  Format
  ``YYYY-MM``; ``YYYY`` where the reference gives only a year (spyware reports, shutdown
  data years).
* Every factor has ``source`` (a sources.yaml id), ``as_of`` and a ``note`` that names the
  instrument / report, the year and the evidence level ([V] verified, [S] secondary,
  [R] recollection, [?] uncertain), as in the reference.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import yaml
from destinations import facts
from destinations.model import Destination, Version, base_destinations
from destinations.render import render
from destinations.tables import DATA_DIR, DataError, Problem, Tables, display, load_tables

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = REPO_ROOT.parent / "shared" / "reference"
POLICY_DIR = REPO_ROOT / "policies" / "echri-baseline"


def read_csv(reference: Path, name: str) -> list[dict[str, str]]:
    """The rows of a reference CSV, cells stripped."""
    with (reference / name).open(encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def versions(data: Tables) -> dict[str, Version]:
    """The versions of versions.csv by name."""
    return {row["version"]: Version.from_row(row) for row in data["versions.csv"]}


def check_vocabulary(dests: dict[str, Destination], data: Tables) -> None:
    """Every factor cites a factor id of factors.csv and a source id of sources.csv."""
    factor_ids = {row["id"] for row in data["factors.csv"]}
    source_ids = {row["id"] for row in data["sources.csv"]}
    for dest in dests.values():
        for factor in dest.factors.values():
            if factor.id not in factor_ids:
                raise ValueError(f"{dest.code}: unknown factor id {factor.id!r}")
            if factor.source not in source_ids:
                raise ValueError(f"{dest.code}: unknown source id {factor.source!r}")


#: Curated rows that must match a reference row: (data file, columns, reference file, columns).
MATCHES = (
    ("embargo_overrides.csv", ("code", "body"), "arms_embargoes.csv", ("iso2", "body")),
    ("spyware_sources.csv", ("code",), "spyware_documented.csv", ("iso2",)),
    ("shutdown_attribution.csv", ("located",), "internet_shutdowns_2023_2024.csv", ("iso2",)),
)


def check_matches(reference: Path, data: Tables, data_dir: Path) -> None:
    """Raise ``DataError`` for curated rows that refer to no reference row (stale overrides)."""
    problems = []
    for name, columns, ref_name, ref_columns in MATCHES:
        known = {tuple(r[c] for c in ref_columns) for r in read_csv(reference, ref_name)}
        for row in data[name]:
            key = tuple(row[c] for c in columns)
            if key not in known:
                message = f"{', '.join(key)} matches no row of reference file `{ref_name}`"
                problems.append(Problem(display(data_dir / name), row.line, "no-match", message))
    levels = {r["evidence_level"] for r in data["spyware_levels.csv"]}
    for finding in read_csv(reference, "spyware_documented.csv"):
        if finding["evidence_level"] not in levels:
            message = f"evidence level `{finding['evidence_level']}` has no row"
            problems.append(
                Problem(display(data_dir / "spyware_levels.csv"), 0, "no-match", message)
            )
    if problems:
        raise DataError(problems)


def build(reference: Path, data: Tables, cfg: Version) -> dict[str, Destination]:
    """The destination table of version *cfg*."""
    dests = base_destinations(data["destination_comments.csv"])
    embargo_rows = read_csv(reference, "arms_embargoes.csv")
    facts.apply_freedom_house(dests, read_csv(reference, cfg.fiw_file), cfg)
    facts.apply_embargoes(dests, embargo_rows, data, cfg)
    bans = read_csv(reference, "eu_internal_repression_telecom.csv")
    facts.apply_eu_bans(dests, bans, embargo_rows, data, cfg)
    facts.apply_us_groups(dests, read_csv(reference, "us_country_groups.csv"), data, cfg)
    facts.apply_coc(dests, data, cfg)
    facts.apply_hrc_mandates(dests, data, cfg)
    facts.apply_spyware(dests, read_csv(reference, "spyware_documented.csv"), data, cfg)
    facts.apply_shutdowns(dests, read_csv(reference, "internet_shutdowns_2023_2024.csv"), data)
    if cfg.use_fotn_proxy:
        facts.apply_fotn_proxy(dests, read_csv(reference, "freedom_on_the_net_2025.csv"))
    check_vocabulary(dests, data)
    return dests


def output_path(version: str) -> Path:
    return POLICY_DIR / version / "destinations.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", help="policy version to build (a row of versions.csv)")
    parser.add_argument(
        "--reference",
        type=Path,
        default=DEFAULT_REFERENCE,
        help="folder with the reference CSVs (default: ../shared/reference)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DATA_DIR,
        help="folder with the curated tables (default: data/destinations)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="output file (default: policies/echri-baseline/<version>/destinations.yaml)",
    )
    parser.add_argument(
        "--check-data", action="store_true", help="only check the curated tables, write nothing"
    )
    args = parser.parse_args(argv)
    try:
        data = load_tables(args.data)
    except DataError as error:
        print(error, file=sys.stderr)
        return 1
    if args.check_data:
        print(f"{len(data)} data files ok", file=sys.stderr)
        return 0
    known = versions(data)
    if args.version not in known:
        parser.error(f"--version must be one of {', '.join(sorted(known))}")
    cfg = known[args.version]
    if not args.reference.is_dir():
        parser.error(f"reference folder not found: {args.reference}")
    try:
        check_matches(args.reference, data, args.data)
    except DataError as error:
        print(error, file=sys.stderr)
        return 1
    text = render(build(args.reference, data, cfg), cfg)
    yaml.safe_load(text)  # sanity check: the output parses
    out = args.output or output_path(cfg.version)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
