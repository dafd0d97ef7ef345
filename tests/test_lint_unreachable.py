"""The `unreachable-factor` lint: a rule that needs a factor no destination has."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.repository import load_version_source
from engine.validator import validate_version

MINIMAL = Path(__file__).parent / "data" / "minimal" / "policies" / "demo" / "2026.1"
EXTRA_FACTOR = """
  - {id: shutdowns, title: Internet shutdowns}
"""
RULE = """# yaml-language-server: $schema=../../../../../../schemas/rules.schema.json
rules:
  - id: refer-shutdowns
    title: Shutdowns
    description: A rule on a factor no destination has.
    commitments: [coc-1]
    basis: [{source: demo-law}]
    when: %s
    outcome: refer
    message: "shutdowns for {items}"
"""


def _warnings(tmp_path: Path, when: str) -> list[tuple[str, str]]:
    version = tmp_path / "demo" / "2026.1"
    shutil.copytree(MINIMAL, version)
    bands = version / "risk_bands.yaml"
    text = bands.read_text().replace("\nbands:", EXTRA_FACTOR.rstrip() + "\nbands:")
    text = text.replace("{fact: destination.factors, contains: misuse}",
                        "{fact: destination.factors, contains_any: [misuse, shutdowns]}")
    bands.write_text(text)
    (version / "rules" / "extra.yaml").write_text(RULE % when)
    _, diags = validate_version(load_version_source(version))
    assert not [d for d in diags if d.severity == "error"], diags
    return [(d.code, d.message) for d in diags]


def test_rule_needing_an_unassigned_factor_is_reported(tmp_path: Path) -> None:
    found = _warnings(tmp_path, "{fact: destination.factors, contains: shutdowns}")
    assert found == [("unreachable-factor", "rule `refer-shutdowns` can never fire: it needs "
                      "destination factor `shutdowns`, which no destination has")]


def test_rule_with_another_way_to_fire_is_not_reported(tmp_path: Path) -> None:
    found = _warnings(tmp_path, "{fact: destination.factors, contains_any: [shutdowns, misuse]}")
    assert found == []
