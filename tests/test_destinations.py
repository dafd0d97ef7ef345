"""Destination data: coverage, vocabulary, sources and reproducibility of destinations.yaml.

Uses plain ``yaml.safe_load`` (no engine loader), so it runs before the engine exists.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pycountry
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
POLICY_DIR = REPO_ROOT / "policies" / "echri-baseline"
GENERATOR = REPO_ROOT / "tools" / "build_destinations.py"
REFERENCE = REPO_ROOT.parent / "shared" / "reference"
VERSIONS = ("2025.1", "2026.1", "2027.1")

DATA = REPO_ROOT / "data" / "destinations"


def data_rows(name: str, data: Path = DATA) -> list[dict[str, str]]:
    with (data / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


#: Source ids the destination table may cite (data/destinations/sources.csv); ``extra: yes``
#: is a source cited for a single fact (Access Now's 2018 FinSpy report, Turkey), which
#: risk_bands.yaml does not cite.
ALLOWED_SOURCES = {r["id"] for r in data_rows("sources.csv") if r["extra"] == "no"}
EXTRA_SOURCES = {r["id"] for r in data_rows("sources.csv") if r["extra"] == "yes"}

AS_OF = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
MODELINE = "# yaml-language-server: $schema=../../../schemas/{kind}.schema.json"


def load(version: str, name: str) -> Any:
    return yaml.safe_load((POLICY_DIR / version / name).read_text(encoding="utf-8"))


def destinations(version: str) -> dict[str, Any]:
    return load(version, "destinations.yaml")["destinations"]


def factor_ids(version: str) -> set[str]:
    return {f["id"] for f in load(version, "risk_bands.yaml")["factors"]}


def all_factors(version: str) -> list[tuple[str, dict[str, Any]]]:
    return [(code, f) for code, d in destinations(version).items() for f in d["factors"]]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", ["destinations", "risk_bands"])
def test_modeline_first(version: str, kind: str) -> None:
    first = (POLICY_DIR / version / f"{kind}.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == MODELINE.format(kind=kind)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_iso_code_and_kosovo_present(version: str) -> None:
    expected = {c.alpha_2 for c in pycountry.countries} | {"XK"}
    codes = set(destinations(version))
    assert expected - codes == set(), "missing destinations"
    assert codes - expected == set(), "unknown destination codes"


@pytest.mark.parametrize("version", VERSIONS)
def test_entries_are_well_formed(version: str) -> None:
    for code, dest in destinations(version).items():
        assert isinstance(dest["name"], str) and dest["name"], code
        assert isinstance(dest["factors"], list), code
        fh = dest.get("freedom_house")
        if fh is not None:
            assert fh["status"] in {"free", "partly_free", "not_free"}, code
            assert isinstance(fh["score"], int) and 0 <= fh["score"] <= 100, code
            assert fh["source"] in {"fh-fiw-2025", "fh-fiw-2026"}, code
            assert AS_OF.match(str(fh["as_of"])), code
        ids = [f["id"] for f in dest["factors"]]
        assert len(ids) == len(set(ids)), f"{code}: duplicate factor ids"


@pytest.mark.parametrize("version", VERSIONS)
def test_risk_bands_factor_vocabulary(version: str) -> None:
    assert factor_ids(version) == {
        "arms_embargo",
        "arms_embargo_partial",
        "arms_embargo_political",
        "eu_internal_repression_ban",
        "eu_telecom_monitoring_ban",
        "coc_subscriber",
        "serious_violations_established",
        "surveillance_misuse_documented",
        "spyware_customer",
        "internet_shutdowns",
        "no_surveillance_oversight",
        "us_arms_embargo_d5",
        "us_embargo_e",
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_factor_ids_are_in_risk_bands(version: str) -> None:
    known = factor_ids(version)
    unknown = {(code, f["id"]) for code, f in all_factors(version) if f["id"] not in known}
    assert unknown == set()


@pytest.mark.parametrize("version", VERSIONS)
def test_factor_sources_and_as_of(version: str) -> None:
    allowed = ALLOWED_SOURCES | EXTRA_SOURCES
    for code, f in all_factors(version):
        assert f["source"] in allowed, (code, f["id"], f["source"])
        assert AS_OF.match(str(f.get("as_of", ""))), (code, f["id"], f.get("as_of"))
        assert isinstance(f.get("note"), str) and f["note"].strip(), (code, f["id"])


@pytest.mark.parametrize("version", VERSIONS)
def test_risk_bands_sources_allowed(version: str) -> None:
    for factor in load(version, "risk_bands.yaml")["factors"]:
        for citation in factor.get("sources", []):
            assert citation["source"] in ALLOWED_SOURCES, (factor["id"], citation)


def test_versions_differ_where_expected() -> None:
    old, new = destinations("2025.1"), destinations("2026.1")

    def ids(table: dict[str, Any], code: str) -> set[str]:
        return {f["id"] for f in table[code]["factors"]}

    assert "us_arms_embargo_d5" in ids(old, "KH") and "us_arms_embargo_d5" not in ids(new, "KH")
    assert "surveillance_misuse_documented" in ids(new, "IT") - ids(old, "IT")
    assert not any(f["id"] == "no_surveillance_oversight" for _, f in all_factors("2025.1"))
    assert any(f["id"] == "no_surveillance_oversight" for _, f in all_factors("2026.1"))
    iran_old = next(f for f in old["IR"]["factors"] if f["id"] == "arms_embargo")
    iran_new = next(f for f in new["IR"]["factors"] if f["id"] == "arms_embargo")
    assert "UNSCR 1737" not in iran_old["note"] and "UNSCR 1737" in iran_new["note"]
    assert old["AD"]["freedom_house"]["source"] == "fh-fiw-2025"
    assert new["AD"]["freedom_house"]["source"] == "fh-fiw-2026"


@pytest.mark.skipif(
    not REFERENCE.is_dir(), reason=f"reference folder {REFERENCE} (../shared/reference) is absent"
)
@pytest.mark.parametrize("version", VERSIONS)
def test_generator_is_deterministic_and_files_up_to_date(version: str, tmp_path: Path) -> None:
    outputs = []
    for run in (1, 2):
        out = tmp_path / f"run{run}.yaml"
        subprocess.run(
            [
                sys.executable,
                str(GENERATOR),
                "--version",
                version,
                "--reference",
                str(REFERENCE),
                "--output",
                str(out),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1], "generator output is not deterministic"
    committed = (POLICY_DIR / version / "destinations.yaml").read_bytes()
    assert committed == outputs[0], (
        f"policies/echri-baseline/{version}/destinations.yaml is out of date: run "
        f"python tools/build_destinations.py --version {version}"
    )


# ------------------------------------------------------------- data/destinations tables


def check_data(data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), "--check-data", "--data", str(data)],
        capture_output=True,
        text=True,
    )


def test_every_data_file_validates() -> None:
    result = check_data(DATA)
    assert result.returncode == 0, result.stderr
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for path in sorted(DATA.glob("*.csv")):
        assert f"`{path.name}`" in readme, f"{path.name} is not described in README.md"


@pytest.mark.parametrize("version", VERSIONS)
def test_data_sources_are_defined_in_sources_yaml(version: str) -> None:
    defined = {s["id"] for s in load(version, "sources.yaml")["sources"]}
    assert (ALLOWED_SOURCES | EXTRA_SOURCES) - defined == set()


def test_data_factors_are_the_risk_bands_vocabulary() -> None:
    assert {r["id"] for r in data_rows("factors.csv")} == factor_ids("2026.1")


#: (file, row to edit (one of its cells), column, new value, expected error code)
BAD_EDITS = [
    ("coc_subscribers.csv", "FR", "source", "echri-subscribing-states-2024", "unknown-source"),
    ("hrc_mandates.csv", "BY", "code", "XY", "unknown-country"),
    ("spyware_sources.csv", "TR", "source", "access-now-finspy", "unknown-source"),
    ("note_overrides.csv", "2025.1", "factor", "arms_embargo_total", "unknown-factor"),
    ("us_d5_extra.csv", "2025.1", "version", "2025.2", "unknown-version"),
    ("shutdown_attribution.csv", "UA", "ordered_by", "SU", "unknown-country"),
    ("hrc_mandates.csv", "AF", "as_of", "Oct 2024", "bad-value"),
    ("coc_subscribers.csv", "DE", "note", "", "missing-field"),
]


@pytest.mark.parametrize(("name", "first", "column", "value", "code"), BAD_EDITS)
def test_bad_data_row_fails_with_file_and_line(
    tmp_path: Path, name: str, first: str, column: str, value: str, code: str
) -> None:
    data = tmp_path / "destinations"
    shutil.copytree(DATA, data)
    rows = data_rows(name, data)
    index = next(i for i, r in enumerate(rows) if first in r.values())
    rows[index][column] = value
    with (data / name).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    result = check_data(data)
    assert result.returncode == 1
    line = index + 2  # the header is line 1
    expected = f"{data / name}:{line}: error[{code}]: `{column}`"
    assert expected in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2, result.stderr  # one problem (+ help)


def test_unknown_column_fails_on_the_header(tmp_path: Path) -> None:
    data = tmp_path / "destinations"
    shutil.copytree(DATA, data)
    path = data / "spyware_levels.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("evidence_level,factor,note", "evidence_level,factr,note", 1))
    result = check_data(data)
    assert result.returncode == 1
    assert f"{path}:1: error[unknown-column]: unknown column `factr`" in result.stderr
    assert "help: did you mean `factor`?" in result.stderr
    assert f"{path}:1: error[missing-column]: missing column `factor`" in result.stderr


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"reference folder {REFERENCE} is absent")
def test_override_without_reference_row_fails(tmp_path: Path) -> None:
    data = tmp_path / "destinations"
    shutil.copytree(DATA, data)
    path = data / "embargo_overrides.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("IR,UN,"))
    lines[line - 1] = lines[line - 1].replace("IR,UN,", "IR,OSCE,", 1)
    path.write_text("".join(lines), encoding="utf-8")
    command = [sys.executable, str(GENERATOR), "--version", "2026.1", "--data", str(data)]
    command += ["--reference", str(REFERENCE), "--output", str(tmp_path / "out.yaml")]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1
    assert f"{path}:{line}: error[no-match]: IR, OSCE matches no row" in result.stderr
    assert not (tmp_path / "out.yaml").exists()
