"""`echri diff --proof FILE`: the diff report links to `echri analyze compare` (what is proven
over every case, the loosened and tightened regions with their witnesses) and refuses a
proof made for other versions or digests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.diff import (
    ProofError,
    diff_versions,
    load_pair,
    proof_from_data,
    read_jsonl,
    render,
    with_proof,
)
from tests.data.diff.demo import cases, write_new, write_old

PAIR = ["demo@2026.1", "demo@2026.2", "--policy-dir", "pol"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo pair (2026.2 removes `deny-restricted`: a loosening) and its proof, made
    once by the CLI as a reviewer would."""
    root = tmp_path_factory.mktemp("proof")
    write_old(root / "pol")
    write_new(root / "pol")
    (root / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases()))
    result = _in(root, ["analyze", "compare", *PAIR, "--items", "1", "--max-regions", "8",
                        "--format", "json", "--output", "proof.json"])
    assert result.exit_code == 0, result.output
    return root


def _in(root: Path, args: list[str]) -> Any:
    """The CLI run in `root` (the versions are looked up under `pol/` there)."""
    before = os.getcwd()
    os.chdir(root)
    try:
        return CliRunner().invoke(main, args)
    finally:
        os.chdir(before)


def _proof_data(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "proof.json").read_text())
    return data


def test_compare_json_names_both_versions_with_digests(workdir: Path) -> None:
    data = _proof_data(workdir)
    assert data["versions"]["old"]["version"] == "2026.1"
    assert data["versions"]["new"]["version"] == "2026.2"
    assert all(len(data["versions"][s]["digest"]) > 20 for s in ("old", "new"))
    loosened = [r for r in data["regions"] if r["direction"] == "loosened"]
    assert loosened and all(r["old_outcome"] == "deny" for r in loosened)
    assert all(r["region"].startswith("OLD deny") for r in loosened)


@pytest.mark.parametrize("fmt", ["markdown", "html", "text"])
def test_diff_report_links_each_direction_to_the_proof(workdir: Path, fmt: str) -> None:
    result = _in(workdir, ["diff", *PAIR, "--no-fixtures", "--cases", "cases.jsonl",
                           "--proof", "proof.json", "--format", fmt])
    assert result.exit_code == 0, result.output
    out = result.output
    data = _proof_data(workdir)
    loosened = [r for r in data["regions"] if r["direction"] == "loosened"]
    complete = data["complete"]["loosened"]
    headline = (f"proven: no loosening outside these {len(loosened)} region(s)" if complete
                else f"not proven: {len(loosened)} loosened region(s) found, more exist")
    assert headline in out
    assert "loosened: " in out and "tightened: " in out  # the summary line
    # every loosened region's witness is shown, as the case the engine re-decided
    for r in loosened:
        witness = json.dumps(r["witness"], ensure_ascii=False)
        if fmt == "html":
            assert r["witness"]["case_id"] in out
        else:
            assert witness in out or r["witness"]["case_id"] in out
    if fmt == "html":
        assert 'id="proof"' in out and 'href="#proof"' in out


def test_diff_json_carries_the_proof(workdir: Path) -> None:
    result = _in(workdir, ["diff", *PAIR, "--no-fixtures", "--proof", "proof.json",
                           "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["proof"]["new"]["version"] == "2026.2"
    assert data["summary"]["proof"].startswith("loosened: ")


def test_a_proof_of_other_versions_or_digests_is_refused(workdir: Path) -> None:
    data = _proof_data(workdir)
    data["versions"]["new"]["digest"] = "sha256:" + "0" * 64
    (workdir / "stale.json").write_text(json.dumps(data))
    result = _in(workdir, ["diff", *PAIR, "--no-fixtures", "--proof", "stale.json"])
    assert result.exit_code == 2
    assert "error[stale-proof]" in result.output and "has changed since" in result.output
    result = _in(workdir, ["diff", "demo@2026.1", "demo@2026.1", "--policy-dir", "pol",
                           "--no-fixtures", "--proof", "proof.json"])
    assert result.exit_code == 2
    assert "NEW of the proof is `demo@2026.2`, not `demo@2026.1`" in result.output
    (workdir / "junk.json").write_text('{"regions": []}')
    result = _in(workdir, ["diff", *PAIR, "--no-fixtures", "--proof", "junk.json"])
    assert result.exit_code == 2 and "error[proof]" in result.output


def test_proof_and_prove_are_exclusive(workdir: Path) -> None:
    result = _in(workdir, ["diff", *PAIR, "--no-fixtures", "--proof", "proof.json",
                           "--prove"])
    assert result.exit_code == 2 and "not both" in result.output
    result = _in(workdir, ["diff", *PAIR, "--no-fixtures", "--prove-parties", "2"])
    assert result.exit_code == 2 and "give both" in result.output


def _proof(complete: dict[str, bool], regions: list[dict[str, Any]],
           old: Any, new: Any) -> Any:
    side = lambda v: {"id": v.policy.id, "version": v.policy.version,  # noqa: E731
                      "digest": v.policy.digest}
    return proof_from_data({"versions": {"old": side(old), "new": side(new)}, "items": 2,
                            "max_regions": 1, "submitted": "2026-06-01", "complete": complete,
                            "regions": regions}, "proof.json")


def test_headlines_proven_none_proven_regions_and_cut(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_old(tmp_path / "pol")
    write_new(tmp_path / "pol")
    old, new = load_pair("demo@2026.1", "demo@2026.2", Path("pol"))
    report = diff_versions(old, new, read_jsonl([json.dumps(c) for c in cases()], "cases"))
    region = {"direction": "loosened", "region": "OLD deny with deny-restricted → NEW approve",
              "condition": "OLD deny with deny-restricted → NEW approve; in the witness …",
              "witness": {"case_id": "W-1"}}
    none = with_proof(report, _proof({"loosened": True, "tightened": True}, [], old, new),
                      old, new)
    text = render(none, "markdown")
    assert "proven: no case is loosened" in text
    # the corpus has loosened decisions the proof rules out: outside its bounds, said so
    assert report.behavioural is not None and report.behavioural.counts["loosened"]
    assert "lie outside the proof's bounds" in text
    cut = with_proof(report, _proof({"loosened": False, "tightened": True}, [region], old,
                                    new), old, new)
    text = render(cut, "text")
    assert "not proven: 1 loosened region(s) found, more exist (--max-regions 1)" in text
    assert "OLD deny with deny-restricted → NEW approve" in text
    html = render(cut, "html")
    assert "W-1" in html and "Proof over every case" in html
    with pytest.raises(ProofError, match="NEW of the proof is `demo@2026.1`, not `demo@2026.2`"):
        with_proof(report, _proof({"loosened": True, "tightened": True}, [], old, old),
                   old, new)


def test_prove_runs_the_analysis_for_the_pair(workdir: Path) -> None:
    result = _in(workdir, ["diff", *PAIR, "--no-fixtures", "--prove", "--format", "json"])
    assert result.exit_code == 0, result.output
    proof = json.loads(result.output)["proof"]
    assert proof["source"] == "--prove" and proof["items"] == 2 and proof["parties"] == 1
    assert proof["new"]["digest"] == _proof_data(workdir)["versions"]["new"]["digest"]
    assert any(r["direction"] == "loosened" for r in proof["regions"])
    result = _in(workdir, ["diff", *PAIR, "--no-fixtures", "--prove", "--prove-parties", "2",
                           "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["proof"]["parties"] == 2
