"""Version names and sort keys accept ASCII digits only, anchored at the real end."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.diff.sources import version_key
from engine.versions import VersionError, parse_ref


@pytest.mark.parametrize("ref", ["2099.1\n", "２０９９.１", "demo@2099.1\n", "2099.١"])
def test_version_names_are_ascii_and_anchored(ref: str, tmp_path: Path) -> None:
    with pytest.raises(VersionError, match="is not a version name"):
        parse_ref(ref, tmp_path, "demo")


def test_a_plain_version_name_parses(tmp_path: Path) -> None:
    assert parse_ref("demo@2099.1", tmp_path)[1] == "2099.1"


@pytest.mark.parametrize("version", ["2026.²", "２０２６.1", "2026.1\n"])
def test_version_key_never_raises_on_unicode_digits(version: str) -> None:
    assert version_key(version) == (-1,)
