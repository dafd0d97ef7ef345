"""`echri version new|release|checksums`: drafts, releases and CHECKSUMS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from engine.cli import main
from engine.repository import read_checksums
from engine.validator import validate_paths
from engine.versions import (
    VersionError,
    default_effective_from,
    new_version,
    record_checksums,
    release_version,
)
from tests.data.diff.demo import write_old
from tests.support import case

MODELINE = "# yaml-language-server: $schema=../../../schemas/policy.schema.json\n"
AUGUST = "2026-08-01"


@pytest.fixture
def policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pol/demo/2026.1 (released, policy.yaml with a comment), working dir = tmp_path."""
    monkeypatch.chdir(tmp_path)
    version = write_old(tmp_path / "pol")
    meta = version / "policy.yaml"
    meta.write_text(MODELINE + "# keep me\n" + meta.read_text())
    return tmp_path / "pol"


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def fixture_cases() -> dict[str, tuple[dict[str, Any], str, list[str]]]:
    """One fixture per rule of the demo policy: (case, decision, rules that fire)."""
    police = {"name": "A", "type": "law_enforcement", "flags": []}
    return {
        "embargo": (case(destination="KP", end_user={**police, "country": "KP"},
                         items=[{"id": "i1", "category": "network_surveillance"}]),
                    "deny", ["deny-embargo", "assure-surveillance"]),
        "high": (case(destination="BY", end_user={**police, "country": "BY"},
                      items=[{"id": "i1", "category": "intrusion_software"}]),
                 "refer", ["refer-high"]),
        "large": (case(items=[{"id": "i1", "category": "general_it", "value": 200000}]),
                  "approve_with_conditions", ["condition-large"]),
        "restricted": (case(end_user={"name": "A", "country": "NO", "type": "private_company",
                                      "flags": ["restricted_party"]}),
                       "deny", ["deny-restricted"]),
        "unclassified": (case(items=[{"id": "i1", "value": 10}]), "request_information",
                         ["info-unclassified"]),
        "no-type": (case(end_user={"name": "A", "country": "NO", "flags": []}),
                    "request_information", ["info-end-user-type"]),
    }


def write_fixtures(root: Path, only: tuple[str, ...] | None = None) -> Path:
    folder = root / "fixtures" / "demo" / "rules"
    folder.mkdir(parents=True, exist_ok=True)
    for name, (data, decision, rules) in fixture_cases().items():
        if only is not None and name not in only:
            continue
        data = {**data, "submitted": AUGUST, "case_id": name}
        body = {"description": f"fires {rules[0]}", "case": data,
                "expect": {"decision": decision, "rules": rules}}
        text = "# yaml-language-server: $schema=../../../schemas/fixture.schema.json\n"
        (folder / f"{name}.yaml").write_text(text + yaml.safe_dump(body, sort_keys=False))
    return root / "fixtures"


def test_new_version_is_a_draft_copy_with_new_metadata(policies: Path) -> None:
    code, out, err = cli("version", "new", "2026.2", "--from", "demo@2026.1",
                         "--effective-from", "2026-07-01", "--policy-dir", str(policies))
    assert code == 0, err
    assert "created draft" in out
    text = (policies / "demo/2026.2/policy.yaml").read_text()
    assert text.startswith(MODELINE + "# keep me\n")
    meta = yaml.safe_load(text)
    assert (meta["version"], meta["status"], meta["effective_from"], meta["derived_from"]) == \
        ("2026.2", "draft", "2026-07-01", "2026.1")
    assert meta["changes"] == [] and "effective_until" not in meta
    assert (policies / "demo/2026.2/rules/main.yaml").read_bytes() == \
        (policies / "demo/2026.1/rules/main.yaml").read_bytes()
    problems = validate_paths([policies / "demo/2026.2"], policies, checksums=False)
    assert [d for d in problems if d.severity == "error"] == []


def test_new_version_needs_a_start_date_after_the_old_one(policies: Path) -> None:
    with pytest.raises(VersionError, match="say when 2026.2 starts"):
        new_version(policies, "2026.2", "demo@2026.1")
    with pytest.raises(VersionError, match="must start after the old one"):
        new_version(policies, "2026.2", "demo@2026.1", "2025-12-31")
    with pytest.raises(VersionError, match="no version `demo@2024.1`"):
        new_version(policies, "2026.2", "demo@2024.1", "2026-07-01")
    path = new_version(policies, "2027.1", "2026.1")  # the only policy: no id needed
    assert yaml.safe_load((path / "policy.yaml").read_text())["effective_from"] == "2027-01-01"
    with pytest.raises(VersionError, match="already exists"):
        new_version(policies, "2027.1", "demo@2026.1")


def test_default_start_is_the_day_after_the_old_end() -> None:
    assert default_effective_from({"effective_until": "2025-12-31"}, "2026.1") == "2026-01-01"
    assert default_effective_from({"effective_from": "2026-01-01"}, "2026.2") is None


def test_release_checks_fixtures_then_records_checksums(policies: Path) -> None:
    new_version(policies, "2026.2", "demo@2026.1", "2026-07-01")
    write_fixtures(policies.parent, only=("embargo", "high"))
    code, _, err = cli("version", "release", "demo@2026.2", "--policy-dir", str(policies))
    assert code == 1
    assert "error[fixture-coverage]" in err and "condition-large" in err
    assert yaml.safe_load((policies / "demo/2026.2/policy.yaml").read_text())["status"] == \
        "draft"
    write_fixtures(policies.parent)
    code, out, err = cli("version", "release", "demo@2026.2", "--policy-dir", str(policies))
    assert code == 0, err
    assert "6 fixture(s) passed, 6 under 2026.2, rule coverage 100%" in out
    assert "warning: policy.yaml lists no `changes`" in out
    meta_text = (policies / "demo/2026.2/policy.yaml").read_text()
    assert "status: released\n" in meta_text and "# keep me" in meta_text
    sums = read_checksums(policies)
    assert sorted(sums) == sorted(f"demo/2026.2/{p.relative_to(policies / 'demo/2026.2')}"
                                  for p in (policies / "demo/2026.2").rglob("*.yaml"))
    code, _, err = cli("version", "release", "demo@2026.2", "--policy-dir", str(policies))
    assert code == 1 and "is not a draft" in err


def test_release_refuses_failing_fixtures(policies: Path) -> None:
    new_version(policies, "2026.2", "demo@2026.1", "2026-07-01")
    fixtures = write_fixtures(policies.parent)
    broken = fixtures / "demo/rules/large.yaml"
    broken.write_text(broken.read_text().replace("decision: approve_with_conditions",
                                                 "decision: approve"))
    with pytest.raises(VersionError) as exc:
        release_version(policies, "demo@2026.2", fixtures)
    assert [d.code for d in exc.value.diagnostics] == ["fixture-failed"]
    assert exc.value.diagnostics[0].file == "fixtures/demo/rules/large.yaml"


def test_checksums_recorded_once_then_guarded(policies: Path) -> None:
    code, out, _ = cli("version", "checksums", "--check", "--policy-dir", str(policies))
    assert code == 0 and "would record 9 new checksum(s)" in out
    assert read_checksums(policies) == {}
    code, out, _ = cli("version", "checksums", "--policy-dir", str(policies))
    assert code == 0 and "1 released version(s); recorded 9 new checksum(s)" in out
    assert [d for d in validate_paths([policies], policies) if d.severity == "error"] == []
    rules = policies / "demo/2026.1/rules/main.yaml"
    rules.write_text(rules.read_text() + "# edited\n")
    (policies / "demo/2026.1/rules/extra.yaml").write_text("rules: []\n")
    report = record_checksums(policies)
    assert report.changed == ["demo/2026.1/rules/extra.yaml", "demo/2026.1/rules/main.yaml"]
    assert report.added == [] and not report.ok
    code, _, err = cli("version", "checksums", "--policy-dir", str(policies))
    assert code == 1 and "released file changed" in err
