"""The decision log: UUIDv7, masking, chain, rotation, torn lines, tampering, batch --log."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from engine.decisionlog import (
    GENESIS,
    LogConfig,
    LogWriter,
    Masker,
    MaskingError,
    build_record,
    read_log,
    uuid7,
    verify_log,
)
from engine.decisionlog.ids import uuid7_time_ms
from engine.decisionlog.writer import parse_fsync
from tests._server import ROOT

CASE: dict[str, Any] = {"case_id": "C-1", "end_user": {"name": "Ana Lopez"},
                        "exporter": {"name": "Acme SA"},
                        "intermediaries": [{"name": "Bo Li"}, {"name": " \u200b"}, {}]}


def _write(directory: Path, n: int, **config: Any) -> LogWriter:
    writer = LogWriter(LogConfig(directory, **config))
    masker = Masker("hmac", key=b"k")
    for k in range(n):
        case = {**CASE, "case_id": f"C-{k}"}
        writer.append(build_record(decision_id=str(uuid7()), case=case,
                                   masked_case=masker.mask(case), masking=masker.describe(),
                                   decision={"case_id": case["case_id"], "decision": "approve",
                                             "policy": {"id": "p", "version": "1"}},
                                   latency_ms=0.5, source="test"))
    writer.close()
    return writer


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("decisions-*.jsonl"))


def test_uuid7_is_version_7_and_strictly_increasing() -> None:
    ids = [uuid7() for _ in range(5000)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert abs(uuid7_time_ms(ids[0]) - uuid7_time_ms(ids[-1])) < 5000


def test_masking_modes_keep_presence_and_organisations() -> None:
    hmac_case = Masker("hmac", key=b"k").mask(CASE)
    assert hmac_case["end_user"]["name"].startswith("hmac-sha256:")
    assert hmac_case["intermediaries"][0]["name"] != hmac_case["end_user"]["name"]
    assert hmac_case["intermediaries"][1]["name"] == " \u200b"  # blank stays blank
    assert hmac_case["exporter"]["name"] == "Acme SA"
    assert CASE["end_user"]["name"] == "Ana Lopez"  # the input is not changed
    assert Masker("hmac", key=b"k").mask(CASE) == hmac_case  # linkable
    assert Masker("hmac", key=b"other").mask(CASE) != hmac_case
    assert Masker("full").mask(CASE)["end_user"]["name"] == "[masked]"
    assert Masker("none").mask(CASE) == CASE
    custom = Masker("full", paths=("/exporter/name",)).mask(CASE)
    assert custom["exporter"]["name"] == "[masked]" and custom["end_user"]["name"] == "Ana Lopez"


def _mask_in_place(masker: Masker, node: Any, segments: tuple[str, ...]) -> None:
    """The reference: every value the pointer names, replaced in a deep copy."""
    head, rest = segments[0], segments[1:]
    keys = (list(node) if head == "*" else [head] if head in node else []) \
        if isinstance(node, dict) else \
        (list(range(len(node))) if head == "*" else [int(head)]
         if head.isdigit() and int(head) < len(node) else []) if isinstance(node, list) else []
    for key in keys:
        if rest:
            _mask_in_place(masker, node[key], rest)
        elif isinstance(node[key], str) and node[key].strip(" \u200b"):
            node[key] = masker.pseudonym(node[key])


@pytest.mark.parametrize("paths", [None, ("/exporter/name", "/*/name"), ("/intermediaries/1",),
                                   ("/intermediaries/*/*", "/end_user/name"), ("/x/y/z",)])
def test_masking_copies_only_what_it_changes_and_is_the_deep_copy_reference(
        paths: tuple[str, ...] | None) -> None:
    import copy

    masker = Masker("full", paths=paths) if paths else Masker("full")
    case = copy.deepcopy(CASE) | {"consignees": [{"name": "Oy Ab"}, {"name": "Kai"}],
                                  "items": [{"id": "a"}]}
    before = copy.deepcopy(case)
    expected = copy.deepcopy(case)
    for path in masker.paths:
        _mask_in_place(masker, expected, tuple(path[1:].split("/")))
    masked = masker.mask(case)
    assert masked == expected and case == before  # the input is never changed
    assert masked["items"] is case["items"]  # untouched parts are shared, not copied
    if masked == case:
        assert masked is case


def test_masking_refuses_bad_settings() -> None:
    with pytest.raises(MaskingError, match="needs a key"):
        Masker("hmac")
    with pytest.raises(MaskingError, match="unknown masking mode"):
        Masker("partial")
    with pytest.raises(MaskingError, match="JSON pointer"):
        Masker("full", paths=("end_user.name",))
    assert parse_fsync("always") == 0.0 and parse_fsync("0.5") == 0.5
    with pytest.raises(ValueError):
        parse_fsync("sometimes")


def test_a_written_log_verifies_and_rotates_by_size(tmp_path: Path) -> None:
    _write(tmp_path, 30, rotate_bytes=3000, fsync_interval=1.0)
    assert len(_files(tmp_path)) > 3
    report = verify_log(tmp_path)
    assert report.ok and report.records == 30, report.errors
    first = next(read_log(tmp_path)).record
    assert first is not None and first["seq"] == 1 and first["prev"] == GENESIS
    assert "Ana Lopez" not in "".join(p.read_text() for p in _files(tmp_path))


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


@pytest.mark.parametrize("tamper", ["edit", "remove", "swap", "drop-file", "insert-copy"])
def test_any_tampering_is_found(tmp_path: Path, tamper: str) -> None:
    _write(tmp_path, 12, rotate_bytes=4000)
    files = _files(tmp_path)
    lines = _lines(files[0])
    if tamper == "edit":
        lines[1] = lines[1].replace('"approve"', '"deny"', 1)
    elif tamper == "remove":
        del lines[1]
    elif tamper == "swap":
        lines[0], lines[1] = lines[1], lines[0]
    elif tamper == "insert-copy":
        lines.insert(2, lines[1])
    if tamper == "drop-file":
        files[1].unlink()
    else:
        files[0].write_text("".join(lines), encoding="utf-8")
    report = verify_log(tmp_path)
    assert not report.ok and report.errors
    run = subprocess.run([sys.executable, "-m", "engine", "log", "verify", str(tmp_path)],
                         cwd=ROOT, capture_output=True, check=False)
    assert run.returncode == 1 and b"FAILED" in run.stdout


def test_a_torn_last_line_is_a_warning_and_is_skipped(tmp_path: Path) -> None:
    _write(tmp_path, 5)
    path = _files(tmp_path)[-1]
    with path.open("ab") as stream:
        stream.write(b'{"format":"echri-decision-log/1","seq":6,"ca')
    report = verify_log(tmp_path)
    assert report.ok and report.records == 5 and len(report.warnings) == 1
    assert "torn" in report.warnings[0]
    run = subprocess.run([sys.executable, "-m", "engine", "log", "verify", str(tmp_path)],
                         cwd=ROOT, capture_output=True, check=False)
    assert run.returncode == 0 and b"5 record(s) in 1 stream(s): ok" in run.stdout


def test_each_writer_is_its_own_stream(tmp_path: Path) -> None:
    a, b = _write(tmp_path, 3), _write(tmp_path, 2)
    report = verify_log(tmp_path)
    assert report.ok and set(report.streams) == {a.stream, b.stream}
    assert report.streams[a.stream].records == 3


def test_log_verify_usage_errors(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "engine", "log", "verify",
                          str(tmp_path / "none")], cwd=ROOT, capture_output=True, check=False)
    assert run.returncode == 2


def test_batch_log_matches_the_output_and_replays_unchanged(tmp_path: Path) -> None:
    examples = sorted((ROOT / "examples").glob("*.json"))
    cases = [json.loads(p.read_text()) for p in examples]
    source = tmp_path / "cases.jsonl"
    source.write_text("".join(json.dumps(c) + "\n" for c in cases) + "{bad\n")
    log_dir = tmp_path / "log"
    run = subprocess.run([sys.executable, "-m", "engine", "evaluate", "--batch", str(source),
                          "--log", str(log_dir), "--mask", "full", "--jobs", "2"],
                         cwd=ROOT, capture_output=True, check=False)
    assert run.returncode == 2  # the bad line is an error record
    outputs = [json.loads(line) for line in run.stdout.splitlines()]
    records = [e.record for e in read_log(log_dir) if e.record]
    assert len(records) == len(cases)
    for record, output in zip(records, outputs, strict=False):
        output.pop("line")
        assert record["decision"] == output and record["source"] == "batch"
        assert record["request_id"].endswith(f":{outputs.index(output) + 1}")
    assert verify_log(log_dir).ok
    replay = subprocess.run([sys.executable, "-m", "engine", "replay", "--log", str(log_dir),
                             "--policy", "echri-baseline@2026.1", "--format", "json"],
                            cwd=ROOT, capture_output=True, check=False)
    assert replay.returncode == 0, replay.stderr
    report = json.loads(replay.stdout)
    text = json.dumps(report)
    assert f"{len(cases)} logged decision(s)" in text


@pytest.mark.parametrize("from_file", [True, False])
def test_batch_log_groups_records_from_a_file_and_logs_each_line_from_a_pipe(
        tmp_path: Path, from_file: bool) -> None:
    """From a regular file the records of up to GROUP results share one write and one
    fsync, each written before its output line is given; from a pipe every line is logged
    before its answer (the caller may wait for it before sending the next case)."""
    import io

    import engine
    from engine.decisionlog.batchlog import GROUP, BatchLogger

    writes: list[int] = []

    class Counting(LogWriter):
        def write_prepared(self, batch: Any) -> Any:
            writes.append(len(batch))
            return super().write_prepared(batch)

    cases = [{**json.loads(p.read_text()), "case_id": f"C-{k}"}
             for k, p in enumerate(sorted((ROOT / "examples").glob("*.json")) * 25)]
    data = "".join(json.dumps(c) + "\n" for c in cases).encode()
    source = tmp_path / "cases.jsonl"
    source.write_bytes(data)
    writer = Counting(LogConfig(tmp_path / "log"))
    logger = BatchLogger(writer, Masker("full"), "cases.jsonl")
    store = engine.load(ROOT / "policies")
    options = {"policy_version": None, "policy_id": None, "backend": "python",
               "self_check": False}
    given = 0
    with (source.open("rb") if from_file else io.BytesIO(data)) as stream:
        for _ in logger.run(store, stream, options):
            given += 1
            assert writer.head[0] >= given  # its record is in the log before the line
    logger.close()
    assert given == len(cases) == sum(writes)
    expected = [GROUP, len(cases) - GROUP] if from_file else [1] * len(cases)
    assert writes == expected
    assert verify_log(tmp_path / "log").ok


def test_evaluate_log_needs_batch(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "engine", "evaluate",
                          str(ROOT / "examples/08-laptops-german-university.json"),
                          "--log", str(tmp_path)], cwd=ROOT, capture_output=True, check=False)
    assert run.returncode == 2 and b"--log needs --batch" in run.stderr


@pytest.fixture(scope="module")
def store() -> Any:
    from engine.api import load

    return load(ROOT / "policies")


def test_listed_names_stay_unmasked_so_a_masked_case_decides_the_same(store: Any) -> None:
    """A party that matches an implicated-party entry keeps its (public, listed) name in the
    log: replaying the masked case under a version with implicated_parties.yaml matches it
    as the original did; other names are still masked."""
    listed = store.listed_names()
    assert "hangzhou hikvision digital technology co ltd" in listed
    case = {"case_id": "C-L", "submitted": "2027-02-15",
            "exporter": {"name": "Acme SA", "country": "DE"},
            "items": [{"id": "I-1", "description": "Servers", "category": "general_it",
                       "value": 1000}],
            "destination": "MY",
            "end_user": {"name": "Ana Lopez", "country": "MY", "type": "private_company"},
            "intermediaries": [{"name": "Hangzhou Hikvision Digital Technology Co., Ltd.",
                                "country": "CN", "role": "distributor"}],
            "end_use": {"purpose": "other", "description": "Office use"}}
    masked = Masker("hmac", key=b"k").mask(case, listed)
    assert masked["end_user"]["name"].startswith("hmac-sha256:")
    assert masked["intermediaries"][0]["name"] == case["intermediaries"][0]["name"]
    original = store.evaluate(case, policy_version="2027.1").to_dict()
    replayed = store.evaluate(masked, policy_version="2027.1").to_dict()
    assert original["decision"] == replayed["decision"] == "deny"
    assert "deny-designated-party" in {f["rule"] for f in replayed["findings"]}
    # without the listed names the masked case would lose the match
    blind = store.evaluate(Masker("hmac", key=b"k").mask(case), policy_version="2027.1")
    assert "deny-designated-party" not in {f["rule"] for f in blind.to_dict()["findings"]}


@pytest.mark.parametrize("blank", ["\u3164", "\u0301\u0302", "\ue000", "\u2800", " \u200b"])
def test_a_blank_name_stays_blank_so_the_masked_case_asks_for_it_too(store: Any,
                                                                      blank: str) -> None:
    # a name with nothing visible counts as missing (engine/cases/text.py); masked into an
    # HMAC it would be present, and a replay of the log would not ask for it any more
    case = {"case_id": "C-B", "submitted": "2027-02-15",
            "exporter": {"name": "Acme SA", "country": "DE"},
            "items": [{"id": "I-1", "description": "Interception platform",
                       "category": "mobile_interception", "value": 1000}],
            "destination": "NO",
            "end_user": {"name": blank, "country": "NO", "type": "law_enforcement"},
            "end_use": {"purpose": "other", "description": "Lawful interception"}}
    masked = Masker("hmac", key=b"k").mask(case)
    assert masked["end_user"]["name"] == blank
    original = store.evaluate(case, policy_version="2027.1").to_dict()
    replayed = store.evaluate(masked, policy_version="2027.1").to_dict()
    assert "end_user.name" in {r["field"] for r in original["information_requests"]}
    assert replayed["information_requests"] == original["information_requests"]
    assert replayed["decision"] == original["decision"]
