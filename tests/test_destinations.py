"""Destination data: coverage, vocabulary, sources and reproducibility of destinations.yaml.

Uses plain ``yaml.safe_load`` (no engine loader), so it runs before the engine exists.
"""

from __future__ import annotations

import re
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
VERSIONS = ("2025.1", "2026.1")

#: Source ids defined in sources.yaml for destination data.
ALLOWED_SOURCES = {
    "fh-fiw-2025",
    "fh-fiw-2026",
    "fh-fotn-2025",
    "access-now-keepiton",
    "sipri-embargoes",
    "swedish-isp-embargo-list",
    "citizen-lab",
    "amnesty-security-lab",
    "us-ear-country-groups",
    "eu-sanctions-map",
    "ohchr-hrc-country-mandates",
    "echri-subscribing-states-2023",
}
#: Also defined in sources.yaml and cited for Turkey (Access Now's 2018 FinSpy report); see
#: EXTRA_SOURCES in tools/build_destinations.py.
EXTRA_SOURCES = {"access-now-finspy-turkey"}

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
