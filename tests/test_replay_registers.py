"""`echri replay --registers DIR`: decisions logged with a register set replay the same with
it, and without it the difference is reported (with a warning that says why)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.decisionlog.reader import read_log
from tests.support import baseline_case

DATA = Path(__file__).parent / "data" / "registers"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "registers"
REGISTERS = str(EXAMPLE)
POLICY = "echri-baseline@2026.1"
# a notice match (no-undercut consultation), a near match, a transliterated restricted
# party and a party nobody lists (fictitious names of examples/registers)
NAMES = ("Example Trading LLC", "Example Trading Group", "Primer Bezopasnost",
         "Oslo Politidistrikt")


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("replay")
    cases = tmp / "cases.jsonl"
    cases.write_text("".join(json.dumps(baseline_case(
        case_id=f"R-{i}", end_user={"name": n, "country": "NO", "type": "law_enforcement"}))
        + "\n" for i, n in enumerate(NAMES)), encoding="utf-8")
    # names in clear: the default masking pseudonymises them, and a replay cannot match a
    # register entry by a pseudonym
    r = CliRunner().invoke(main, ["evaluate", "--batch", str(cases), "--log", str(tmp / "log"),
                                  "--mask", "none", "--registers", REGISTERS])
    assert r.exit_code == 0, r.output
    outcomes = [json.loads(line)["decision"] for line in r.stdout.splitlines()]
    assert outcomes == ["refer", "request_information", "refer", "approve"]
    return tmp / "log"


def _replay(*args: str) -> tuple[int, dict[str, Any], str]:
    r = CliRunner().invoke(main, ["replay", "--policy", POLICY, "--format", "json",
                                  "--fail-on", "any", *args])
    return r.exit_code, json.loads(r.stdout), r.stderr


def test_logged_decisions_replay_the_same_with_their_registers(log_dir: Path) -> None:
    code, report, stderr = _replay("--log", str(log_dir), "--registers", REGISTERS)
    assert code == 0, stderr
    assert report["behavioural"]["changes"] == [] and "warning[registers]" not in stderr
    assert sum(map(sum, report["behavioural"]["matrix"])) == len(NAMES)


def test_without_registers_the_difference_is_reported(log_dir: Path) -> None:
    code, report, stderr = _replay("--log", str(log_dir))
    assert code == 1  # --fail-on any
    changes = {c["case_id"]: c for c in report["behavioural"]["changes"]}
    assert set(changes) == {"R-0", "R-1", "R-2"}
    assert "no-undercut-consultation" in json.dumps(changes["R-0"])
    # every logged decision names the set, the one nothing matched included
    assert "warning[registers]: 4 recorded decision(s) were screened against registers, " \
        "and --registers was not given" in stderr


def test_another_register_set_is_warned_about(log_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(EXAMPLE, other)
    notes = other / "notes.notes.yaml"
    notes.write_text(notes.read_text(encoding="utf-8").replace("2027-06-01", "2027-07-01"),
                     encoding="utf-8")
    code, report, stderr = _replay("--log", str(log_dir), "--registers", str(other))
    assert code == 0 and report["behavioural"]["changes"] == []  # a note decides nothing
    assert "other registers (or none; ids, versions or digests)" in stderr


def test_recorded_decisions_file_and_bad_registers(log_dir: Path, tmp_path: Path) -> None:
    lines = tmp_path / "recorded.jsonl"
    lines.write_text("".join(json.dumps({"case": e.record["case"],
                                         "decision": e.record["decision"]}) + "\n"
                             for e in read_log(log_dir) if e.record), encoding="utf-8")
    code, report, _ = _replay("--cases", str(lines), "--registers", REGISTERS)
    assert code == 0 and report["behavioural"]["changes"] == []
    r = CliRunner().invoke(main, ["replay", "--policy", POLICY, "--cases", str(lines),
                                  "--registers", str(DATA / "invalid")])
    assert r.exit_code == 2 and "the registers in" in r.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_diff_screens_both_versions_against_the_registers(tmp_path: Path, jobs: str) -> None:
    case = tmp_path / "cases.jsonl"
    case.write_text("\n".join(json.dumps(baseline_case(
        case_id=f"D-{k}", end_user={"name": name, "country": "NO", "type": "law_enforcement"}))
        for k, name in enumerate(NAMES)) + "\n", encoding="utf-8")

    def matrix(*extra: str) -> dict[tuple[str, str], int]:
        result = CliRunner().invoke(main, [
            "diff", "echri-baseline@2025.1", POLICY, "--no-fixtures", "--cases", str(case),
            "--format", "json", "--jobs", jobs, *extra])
        assert result.exit_code == 0, result.output
        b = json.loads(result.stdout)["behavioural"]
        return {(o, n): b["matrix"][i][j] for i, o in enumerate(b["outcomes"])
                for j, n in enumerate(b["outcomes"]) if b["matrix"][i][j]}

    assert matrix() == {("approve", "approve"): 4}
    screened = matrix("--registers", REGISTERS)
    assert screened[("refer", "refer")] == 2  # the notice match and the restricted party
    assert sum(screened.values()) == 4 and ("approve", "approve") in screened
