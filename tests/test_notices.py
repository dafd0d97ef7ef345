"""`echri notices export|import`: redaction, determinism, and imports that change nothing
when a file is malformed, expired or conflicting."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import main
from engine.decisionlog.record import build_record, encode_line
from engine.registers import load_registers
from engine.registers.notices import export_notices, import_notices

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "registers"
STREAM = "0" * 31 + "1"
STATE = "XA"  # synthetic: a user-assigned ISO code standing for this (fictitious) authority


def _record(i: int, case: dict[str, Any], outcome: str = "deny") -> dict[str, Any]:
    decision = {"case_id": case["case_id"], "decision": outcome,
                "policy": {"id": "echri-baseline", "version": "2026.1", "digest": "x"},
                "engine": {"version": "0", "backend": "python"},
                "findings": [{"rule": "deny-example", "outcome": outcome,
                              "commitments": ["coc-1"]}]}
    return build_record(decision_id=f"id-{i}", case=case, masked_case=case,
                        masking={"mode": "hmac"}, decision=decision, latency_ms=1.0,
                        source="test", time=f"2026-0{1 + i % 9}-1{i % 10}T00:00:00.000000Z")


def _write_log(directory: Path, records: list[dict[str, Any]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / f"decisions-{STREAM}-000001.jsonl", "wb") as fh:
        for r in records:
            fh.write(encode_line(r))
    return directory


def _case(i: int, end_user: str, exporter: str, consignee: str | None = None
          ) -> dict[str, Any]:
    case: dict[str, Any] = {
        "case_id": f"C-{i}", "submitted": "2026-03-02", "destination": "NO",
        "exporter": {"name": exporter, "country": "SE"},
        "end_user": {"name": end_user, "country": "NO", "type": "law_enforcement"},
        "items": [{"id": "a", "category": "general_it", "control_entries": ["5A002.a"]}]}
    if consignee is not None:
        case["consignees"] = [{"name": consignee, "country": "NO"}]
    return case


def test_export_is_redacted_deterministic_and_importable(tmp_path: Path) -> None:
    log = _write_log(tmp_path / "log", [
        _record(1, _case(1, "Example Trading LLC", "Exporter Alpha AB")),
        _record(2, _case(2, "hmac-sha256:" + "a" * 64, "Exporter Alpha AB")),
        _record(3, _case(3, "Example Trading LLC", "Exporter Alpha AB"), "approve")])
    first = export_notices(log, STATE, "AMBER", "licensing@xa.example")
    again = export_notices(log, STATE, "AMBER", "licensing@xa.example")
    assert first.text == again.text and first.manifest == again.manifest
    assert "Exporter Alpha" not in first.text and "hmac-sha256" not in first.text
    assert first.manifest["notices"] == 1 and first.manifest["skipped_unshareable"] == 1
    assert first.manifest["sha256"] == "sha256:" + hashlib.sha256(
        first.text.encode()).hexdigest()
    out = tmp_path / "xa.notices.yaml"
    out.write_text(first.text, encoding="utf-8")
    report = import_notices([out], tmp_path / "reg", today="2026-12-01")
    assert report.ok and len(report.added) == 1
    rs, problems = load_registers(tmp_path / "reg", lint_day="2026-12-01")
    assert rs is not None and not problems and rs.notices[0].end_user is not None
    assert rs.notices[0].end_user.name == "Example Trading LLC"


_names = st.text(st.characters(whitelist_categories=("Lu", "Ll")), min_size=3, max_size=12)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_names, _names, st.sampled_from(["clear", "hmac", "full"]),
                          st.booleans()), min_size=1, max_size=6))
def test_export_never_contains_exporter_or_masked_names(tmp_path: Path,
                                                         rows: list[Any]) -> None:
    records, masked, exporters = [], [], []
    for i, (person, company, mode, deny) in enumerate(rows):
        exporter = f"Exporter {company} Exportco"
        exporters.append(exporter)
        name = {"clear": f"Listed {company} Corp",
                "hmac": "hmac-sha256:" + hashlib.sha256(person.encode()).hexdigest(),
                "full": "[masked]"}[mode]
        if mode != "clear":
            masked.append(name)
        records.append(_record(i, _case(i, name, exporter, consignee="[masked]"),
                               "deny" if deny else "approve"))
    log = _write_log(tmp_path / f"log-{abs(hash(str(rows)))}", records)
    result = export_notices(log, STATE, "GREEN", "c@xa.example")
    doc = yaml.safe_load(result.text)
    for exporter in exporters:
        assert exporter not in result.text
    for name in masked:
        assert name not in result.text
    assert "[masked]" not in result.text and "hmac-sha256" not in result.text
    clear_denials = sum(1 for _, _, mode, deny in rows if deny and mode == "clear")
    assert len(doc["notices"]) <= clear_denials
    assert all("exporter" not in json.dumps(n) for n in doc["notices"])
    shutil.rmtree(log)


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def _notices_file(path: Path, notices: list[dict[str, Any]], rid: str = "xb-denials") -> Path:
    path.write_text(yaml.safe_dump({"register": {"id": rid, "kind": "denial_notifications",
                                                 "version": "1"}, "notices": notices}),
                    encoding="utf-8")
    return path


def _notice(nid: str = "XB-2026-100", **over: Any) -> dict[str, Any]:
    n = {"id": nid, "notifying_state": "XB", "date_of_denial": "2026-05-01",
         "destination": "NO", "end_user": {"name": "Imaginary Systems SA"},
         "items": {"categories": ["general_it"]}, "ground": "coc-1",
         "contact_point": "x@xb.example", "tlp": "GREEN"}
    n.update(over)
    return n


def _register(tmp_path: Path) -> Path:
    d = tmp_path / "reg"
    shutil.copytree(EXAMPLE, d)
    return d


def test_bad_files_change_nothing(tmp_path: Path) -> None:
    d = _register(tmp_path)
    before = _snapshot(d)
    good = _notices_file(tmp_path / "good.yaml", [_notice()])
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("register: {id: x\nnotices: [", encoding="utf-8")
    invalid = _notices_file(tmp_path / "invalid.yaml", [_notice(tlp="PURPLE")])
    conflict = _notices_file(tmp_path / "conflict.yaml", [_notice(ground="other")])
    other_state = _notices_file(tmp_path / "state.yaml",
                                [_notice("XA-2025-001", notifying_state="XC")])
    for bad in (malformed, invalid, conflict, other_state):
        report = import_notices([good, bad], d, today="2026-12-01")
        assert not report.ok, bad.name
        assert _snapshot(d) == before, bad.name
    expired = _notices_file(tmp_path / "expired.yaml",
                            [_notice("XB-2020-001", date_of_denial="2020-01-01")])
    report = import_notices([expired], d, today="2026-12-01")
    assert report.ok and report.expired == ["XB-2020-001"] and not report.written
    assert _snapshot(d) == before


def test_merge_dedup_revocation_and_expiry(tmp_path: Path) -> None:
    d = _register(tmp_path)
    good = _notices_file(tmp_path / "good.yaml", [_notice()])
    report = import_notices([good, good], d, today="2026-12-01")
    assert report.ok and report.added == ["XB-2026-100"]
    assert report.dropped == ["XB-2022-007"]  # the stored notice had expired
    assert import_notices([good], d, today="2026-12-01").unchanged == ["XB-2026-100"]
    revoked = _notices_file(tmp_path / "rev.yaml", [_notice(revoked="2026-11-01")])
    assert import_notices([revoked], d, today="2026-12-01").revoked == ["XB-2026-100"]
    rs, problems = load_registers(d, lint_day="2026-12-01")
    assert rs is not None and not [p for p in problems if p.severity == "error"]
    (n,) = [n for n in rs.notices if n.id == "XB-2026-100"]
    assert n.revoked == "2026-11-01" and not n.active_on("2026-12-01")
    assert "XB-2022-007" not in {n.id for n in rs.notices}


def test_cli_export_and_import(tmp_path: Path) -> None:
    log = _write_log(tmp_path / "log", [_record(1, _case(1, "Example Trading LLC", "Exp AB"))])
    out = tmp_path / "out.notices.yaml"
    runner = CliRunner()
    r = runner.invoke(main, ["notices", "export", "--from", str(log), "--state", "xa",
                             "--contact", "c@xa.example", "--output", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(Path(f"{out}.manifest.json").read_text())["notices"] == 1
    r = runner.invoke(main, ["notices", "import", str(out), "--into", str(tmp_path / "reg"),
                             "--today", "2026-12-01"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["added"] == [yaml.safe_load(out.read_text())["notices"][0]["id"]]
    bad = tmp_path / "bad.yaml"
    bad.write_text("notices: 3\n", encoding="utf-8")
    r = runner.invoke(main, ["notices", "import", str(bad), "--into", str(tmp_path / "reg")])
    assert r.exit_code == 2 and "nothing was imported" in r.output
