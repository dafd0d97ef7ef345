"""`echri diff git:REF ...`: versions read from git's object store, working tree untouched."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from engine.cli import main
from engine.diff import SourceError, load_pair, load_spec
from tests.data.diff.demo import write_old

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True)
    return done.stdout


def set_threshold(version: Path, value: int) -> None:
    path = version / "rules" / "main.yaml"
    data = yaml.safe_load(path.read_text())
    for rule in data["rules"]:
        if rule["id"] == "condition-large":
            rule["when"] = {"fact": "item.value", "gte": value}
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two commits of policies/demo/2026.1 (threshold 100000, then 50000), then 20000
    uncommitted in the working tree."""
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "test@example.org")
    git(tmp_path, "config", "user.name", "Test")
    version = write_old(tmp_path / "policies")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "first")
    set_threshold(version, 50000)
    git(tmp_path, "commit", "-q", "-am", "second")
    set_threshold(version, 20000)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def threshold_change(args: list[str]) -> str:
    result = CliRunner().invoke(main, ["diff", *args, "--no-fixtures"])
    assert result.exit_code == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    return next(line for line in lines if line.startswith("when: item.value"))


def test_bare_revision_uses_the_same_directory(repo: Path) -> None:
    before = git(repo, "status", "--porcelain")
    text = (repo / "policies/demo/2026.1/rules/main.yaml").read_text()
    change = threshold_change(["git:HEAD~1", "policies/demo/2026.1"])
    assert change == "when: item.value ≥ 100000 → item.value ≥ 20000"
    assert git(repo, "status", "--porcelain") == before
    assert (repo / "policies/demo/2026.1/rules/main.yaml").read_text() == text


def test_revision_with_a_version_on_both_sides(repo: Path) -> None:
    change = threshold_change(["git:HEAD~1:demo@2026.1", "git:HEAD:demo@2026.1"])
    assert change == "when: item.value ≥ 100000 → item.value ≥ 50000"
    old, _ = load_pair("git:HEAD~1:policies/demo/2026.1", "policies/demo/2026.1")
    assert old.location == "git:HEAD~1:policies/demo/2026.1"
    assert old.source.docs["rules/main.yaml"].path == \
        "git:HEAD~1:policies/demo/2026.1/rules/main.yaml"


def test_new_draft_is_compared_with_the_version_it_derives_from(repo: Path) -> None:
    shutil.copytree(repo / "policies/demo/2026.1", repo / "policies/demo/2026.2")
    meta_path = repo / "policies/demo/2026.2/policy.yaml"
    meta = yaml.safe_load(meta_path.read_text())
    meta.update(version="2026.2", status="draft", derived_from="2026.1",
                effective_from="2026-07-01")
    meta_path.write_text(yaml.safe_dump(meta, sort_keys=False))
    old, new = load_pair("git:HEAD", "policies/demo/2026.2")
    assert old.location == "git:HEAD:policies/demo/2026.1"
    assert (old.policy.version, new.policy.version) == ("2026.1", "2026.2")


def test_unknown_revision_and_missing_path(repo: Path) -> None:
    with pytest.raises(SourceError, match="unknown git revision `nope`"):
        load_spec("git:nope:demo@2026.1")
    with pytest.raises(SourceError, match="no policy version at `policies/demo/1999.1`"):
        load_spec("git:HEAD:demo@1999.1")


def test_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(SourceError, match="needs a git repository"):
        load_spec("git:HEAD:demo@2026.1")
