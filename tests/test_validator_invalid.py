"""Broken inputs for the validator, one file per case in tests/data/invalid/.

Each file starts with header comments (plain ASCII, even when the rest is not UTF-8):

    # target: rules/extra.yaml      where the file goes in a copy of the minimal version
    # expect: unknown-ref 12        the one diagnostic it must produce: code and line

The test copies tests/data/minimal/policies/demo/2026.1 to a temporary policies root,
drops the file in (adding or replacing the target) and validates. The copy is made without
CHECKSUMS: the version is still `released`, so the validator also reports `checksum-missing`
for it, which is dropped here (only `checksum-*` codes) so that each file states its own
problem alone; checksums are tested in tests/test_validator.py. Validating the copy as a
draft instead would mean rewriting policy.yaml, which some cases replace.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.validator import validate_paths

DATA = Path(__file__).parent / "data"
MINIMAL_VERSION = DATA / "minimal" / "policies" / "demo" / "2026.1"
CASES = sorted((DATA / "invalid").glob("*.yaml"))


def header(case: Path) -> tuple[str, str, int]:
    """(target, code, line) from the leading `# target:` and `# expect:` comments."""
    fields: dict[str, str] = {}
    for raw in case.read_bytes().splitlines():
        if not raw.startswith(b"#"):
            break
        key, _, value = raw.decode("ascii", errors="replace").lstrip("# ").partition(":")
        fields.setdefault(key.strip(), value.strip())
    code, line = fields["expect"].split()
    return fields["target"], code, int(line)


def test_there_are_cases_for_every_required_kind() -> None:
    codes = {header(c)[1] for c in CASES}
    assert len(CASES) >= 14
    assert {"duplicate-key", "yaml-too-many-nodes", "unknown-ref", "schema", "yaml-syntax",
            "encoding", "yaml-tag", "unknown-operator", "unknown-fact", "template-unknown-fact",
            "duplicate-id", "control-entry-conflict", "fact-not-allowed", "never-fires",
            "conflicting-rules"} <= codes


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_invalid_file_gives_its_one_diagnostic(case: Path, tmp_path: Path) -> None:
    target, code, line = header(case)
    version = tmp_path / "policies" / "demo" / "2026.1"
    shutil.copytree(MINIMAL_VERSION, version)
    dest = version / target
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(case, dest)

    found = [d for d in validate_paths([tmp_path / "policies"])
             if not d.code.startswith("checksum-")]

    assert [(d.code, d.file, d.line) for d in found] == [(code, str(dest), line)], \
        f"{case.name}: got " + "; ".join(f"{d.location} {d.code}: {d.message}" for d in found)
    assert found[0].message and "\n" not in found[0].message
