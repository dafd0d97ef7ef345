"""`echri notes export|import`: shared risk notes redacted under a TLP marking, exported
deterministically, and imports that change nothing when a file is malformed, expired or
conflicting. Every state code (XA, XB, XC) is a user-assigned ISO code standing for a
fictitious state; every name is invented."""

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
from engine.registers import load_registers
from engine.registers.model import TLP
from engine.registers.notes import export_notes, import_notes

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "registers"
TODAY = "2026-12-01"
MASKED = "hmac-sha256:" + "b" * 64


def _note(nid: str, **over: Any) -> dict[str, Any]:
    n = {"id": nid, "subject": {"destination": "NO"}, "shared_by": "XA",
         "source": "synthetic assessment", "tlp": "GREEN", "review_by": "2027-06-01",
         "text": f"Fictitious note {nid}."}
    n.update(over)
    return n


def _notes_file(path: Path, notes: list[dict[str, Any]], rid: str = "xb-notes",
                version: str = "2026-11-30") -> Path:
    path.write_text(yaml.safe_dump({"register": {"id": rid, "kind": "risk_notes",
                                                 "version": version}, "notes": notes}),
                    encoding="utf-8")
    return path


def _register(tmp_path: Path) -> Path:
    d = tmp_path / "reg"
    shutil.copytree(EXAMPLE, d)
    return d


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def _own_notes(tmp_path: Path) -> Path:
    d = _register(tmp_path)
    _notes_file(d / "xa.notes.yaml", [
        _note("xa-clear", tlp="CLEAR"),
        _note("xa-amber", tlp="AMBER", subject={"end_user": "Example Trading LLC",
                                               "technology": "intrusion_software"}),
        _note("xa-red", tlp="RED"),
        _note("xa-old", review_by="2026-11-30"),
        _note("xa-masked-only", subject={"end_user": MASKED}),
        _note("xa-masked", subject={"end_user": "[masked]", "destination": "IS"}),
        _note("xa-revoked", revoked="2026-10-01"),
    ], rid="xa-notes", version="2026-11-15")
    _notes_file(d / "xb.notes.yaml", [_note("xb-1", shared_by="XB")], rid="xb-notes",
                version="2026-12-01")
    return d


def test_export_is_redacted_under_its_marking(tmp_path: Path) -> None:
    d = _own_notes(tmp_path)
    result = export_notes(d, "XA", "AMBER", today=TODAY)
    assert not result.problems
    doc = yaml.safe_load(result.text)
    notes = {n["id"]: n for n in doc["notes"]}
    # note-1 of examples/registers is XA's too; xb-1 is another state's
    assert sorted(notes) == ["note-1", "xa-amber", "xa-clear", "xa-masked", "xa-revoked"]
    assert {n["tlp"] for n in notes.values()} == {"AMBER"}
    assert notes["xa-masked"]["subject"] == {"destination": "IS"}
    assert notes["xa-amber"]["subject"]["end_user"] == "Example Trading LLC"
    assert notes["xa-revoked"]["revoked"] == "2026-10-01"  # the revocation travels
    assert MASKED not in result.text and "[masked]" not in result.text
    assert doc["register"] == {"id": "xa-notes", "kind": "risk_notes", "version": "2026-11-30"}
    m = result.manifest
    assert (m["format"], m["shared_by"], m["tlp"], m["notes"]) == \
        ("echri-notes-export/1", "XA", "AMBER", 5)
    assert (m["withheld_tlp"], m["expired"], m["skipped_unshareable"]) == (1, 1, 1)
    assert m["sha256"] == "sha256:" + hashlib.sha256(result.text.encode()).hexdigest()
    red = export_notes(d, "XA", "RED", today=TODAY)
    assert "xa-red" in red.text and red.manifest["withheld_tlp"] == 0
    green = export_notes(d, "XA", "GREEN", today=TODAY)
    assert "xa-amber" not in green.text and green.manifest["withheld_tlp"] == 3


def test_export_is_deterministic(tmp_path: Path) -> None:
    d = _own_notes(tmp_path)
    first = export_notes(d, "XA", "AMBER", today=TODAY)
    # the same notes in another order and another file give the same bytes
    doc = yaml.safe_load((d / "xa.notes.yaml").read_text(encoding="utf-8"))
    (d / "xa.notes.yaml").unlink()
    _notes_file(d / "a-other.notes.yaml", list(reversed(doc["notes"])), rid="xa-notes",
                version="2026-11-15")
    again = export_notes(d, "XA", "AMBER", today=TODAY)
    assert first.text == again.text and first.manifest == again.manifest


_TLPS = st.sampled_from(TLP)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_TLPS, st.sampled_from(["clear", "hmac", "full", "none"]),
                          st.booleans()), min_size=1, max_size=6), _TLPS)
def test_export_never_shares_masked_names_or_stricter_notes(
        tmp_path: Path, rows: list[Any], marking: str) -> None:
    d = tmp_path / f"r-{abs(hash((str(rows), marking)))}"
    d.mkdir()
    notes, stricter = [], []
    for i, (tlp, mode, destination) in enumerate(rows):
        subject: dict[str, str] = {"destination": "NO"} if destination else {}
        if mode != "none":
            subject["end_user"] = {"clear": f"Listed Party {i} Corp", "full": "[masked]",
                                   "hmac": "hmac-sha256:" + hashlib.sha256(
                                       str(i).encode()).hexdigest()}[mode]
        subject = subject or {"technology": "intrusion_software"}
        notes.append(_note(f"xa-{i}", tlp=tlp, subject=subject))
        if TLP.index(tlp) > TLP.index(marking):
            stricter.append(f"xa-{i}")
    _notes_file(d / "xa.notes.yaml", notes, rid="xa-notes")
    result = export_notes(d, "XA", marking, today=TODAY)
    assert not result.problems
    shared = yaml.safe_load(result.text)["notes"]
    assert "hmac-sha256" not in result.text and "[masked]" not in result.text
    assert not {n["id"] for n in shared} & set(stricter)
    assert all(n["tlp"] == marking and n["subject"] for n in shared)
    m = result.manifest
    assert m["notes"] + m["withheld_tlp"] + m["skipped_unshareable"] == len(rows)
    shutil.rmtree(d)


def test_bad_files_change_nothing(tmp_path: Path) -> None:
    d = _register(tmp_path)
    before = _snapshot(d)
    good = _notes_file(tmp_path / "good.yaml", [_note("xb-100", shared_by="XB")])
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("register: {id: x\nnotes: [", encoding="utf-8")
    invalid = _notes_file(tmp_path / "invalid.yaml", [_note("xb-101", tlp="PURPLE")])
    conflict = _notes_file(tmp_path / "conflict.yaml",
                           [_note("xb-100", shared_by="XB", text="other text")])
    other_state = _notes_file(tmp_path / "state.yaml", [_note("note-1", shared_by="XC")])
    for bad in (malformed, invalid, conflict, other_state):
        report = import_notes([good, bad], d, today=TODAY)
        assert not report.ok, bad.name
        assert not report.written and _snapshot(d) == before, bad.name
    assert any(p.code == "conflict" and "note `note-1`" in p.message and "XC" in p.message
               for p in import_notes([other_state], d, today=TODAY).problems)
    expired = _notes_file(tmp_path / "expired.yaml",
                          [_note("xb-old", shared_by="XB", review_by="2026-11-30")])
    report = import_notes([expired], d, today=TODAY)
    assert report.ok and report.expired == ["xb-old"] and not report.written
    assert _snapshot(d) == before


def test_merge_dedup_revocation_and_review_expiry(tmp_path: Path) -> None:
    d = _register(tmp_path)
    _notes_file(d / "xb.notes.yaml", [_note("xb-1", shared_by="XB"),
                                      _note("xb-stale", shared_by="XB",
                                            review_by="2026-06-30")],
                rid="xb-notes", version="2026-06-01")
    good = _notes_file(tmp_path / "good.yaml",
                       [_note("xb-1", shared_by="XB"), _note("xb-2", shared_by="XB")],
                       version="2026-11-30")
    report = import_notes([good, good], d, today=TODAY)
    assert report.ok and report.added == ["xb-2"] and report.unchanged == ["xb-1"]
    assert report.dropped == ["xb-stale"]  # stored, past its review date
    assert report.written == ["xb.notes.yaml"]  # the file that held the register
    assert import_notes([good], d, today=TODAY).to_dict()["unchanged"] == ["xb-1", "xb-2"]
    reviewed = _notes_file(tmp_path / "reviewed.yaml",
                           [_note("xb-1", shared_by="XB", review_by="2028-01-01"),
                            _note("xb-2", shared_by="XB", revoked="2026-11-20")],
                           version="2026-12-01")
    report = import_notes([reviewed], d, today=TODAY)
    assert (report.updated, report.revoked) == (["xb-1"], ["xb-2"])
    rs, problems = load_registers(d, lint_day=TODAY)
    assert rs is not None and not [p for p in problems if p.severity == "error"]
    notes = {n.id: n for n in rs.notes}
    assert set(notes) == {"note-1", "xb-1", "xb-2"}
    assert notes["xb-1"].review_by == "2028-01-01" and notes["xb-1"].active_on(TODAY)
    assert notes["xb-2"].revoked == "2026-11-20" and not notes["xb-2"].active_on(TODAY)
    doc = yaml.safe_load((d / "xb.notes.yaml").read_text(encoding="utf-8"))
    assert doc["register"]["version"] == "2026-12-01"  # the sharing state's version
    assert [n["id"] for n in doc["notes"]] == ["xb-1", "xb-2"]


def test_export_then_import_round_trip(tmp_path: Path) -> None:
    d = _own_notes(tmp_path)
    out = tmp_path / "xa.notes.yaml"
    out.write_text(export_notes(d, "XA", "AMBER", today=TODAY).text, encoding="utf-8")
    report = import_notes([out], tmp_path / "theirs", today=TODAY)
    assert report.ok and len(report.added) == 5
    assert sorted(report.written) == ["settings.yaml", "xa-notes.notes.yaml"]
    rs, problems = load_registers(tmp_path / "theirs", lint_day=TODAY)
    assert rs is not None and not problems
    assert {n.shared_by for n in rs.notes} == {"XA"}


def test_loader_lints_review_dates_and_duplicate_ids(tmp_path: Path) -> None:
    d = _register(tmp_path)
    _notes_file(d / "xb.notes.yaml", [_note("xb-stale", shared_by="XB",
                                            review_by="2026-06-30")])
    rs, problems = load_registers(d, lint_day=TODAY)
    assert rs is not None
    (w,) = [p for p in problems if p.code == "note-expired"]
    assert w.severity == "warning" and "xb-stale" in w.message and w.line is not None
    _notes_file(d / "xc.notes.yaml", [_note("xb-stale", shared_by="XB")], rid="xc-notes")
    rs, problems = load_registers(d, lint_day=TODAY)
    assert rs is None
    assert any(p.code == "duplicate-id" and "note `xb-stale`" in p.message for p in problems)


def test_cli_export_and_import(tmp_path: Path) -> None:
    d = _own_notes(tmp_path)
    out = tmp_path / "out.notes.yaml"
    runner = CliRunner()
    r = runner.invoke(main, ["notes", "export", "--from", str(d), "--state", "xa",
                             "--tlp", "AMBER", "--today", TODAY, "--output", str(out)])
    assert r.exit_code == 0, r.output
    manifest = json.loads(Path(f"{out}.manifest.json").read_text(encoding="utf-8"))
    assert manifest == json.loads(r.stdout) and manifest["notes"] == 5
    r = runner.invoke(main, ["notes", "import", str(out), "--into", str(tmp_path / "theirs"),
                             "--today", TODAY])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)["added"]) == 5
    bad = tmp_path / "bad.yaml"
    bad.write_text("notes: 3\n", encoding="utf-8")
    before = _snapshot(tmp_path / "theirs")
    r = runner.invoke(main, ["notes", "import", str(bad), "--into", str(tmp_path / "theirs")])
    assert r.exit_code == 2 and "nothing was imported" in r.output
    assert _snapshot(tmp_path / "theirs") == before
    (d / "xa.notes.yaml").write_text("register: [", encoding="utf-8")
    broken = tmp_path / "broken.notes.yaml"
    r = runner.invoke(main, ["notes", "export", "--from", str(d), "--state", "XA",
                             "--output", str(broken)])
    assert r.exit_code == 2 and "xa.notes.yaml" in r.output and not broken.exists()
    r = runner.invoke(main, ["notes", "export", "--from", str(d), "--state", "X1",
                             "--output", str(broken)])
    assert r.exit_code == 2 and "two-letter" in r.output


def test_note_factors_load_and_need_a_destination(tmp_path: Path) -> None:
    d = _register(tmp_path)
    _notes_file(d / "xa.notes.yaml", [_note("xa-f", factors=["arms_embargo"])], rid="xa-notes")
    rs, problems = load_registers(d, lint_day=TODAY)
    assert rs is not None and not [p for p in problems if p.severity == "error"]
    assert next(n for n in rs.notes if n.id == "xa-f").factors == ("arms_embargo",)
    _notes_file(d / "xa.notes.yaml", [_note("xa-f", factors=["arms_embargo"],
                                            subject={"technology": "intrusion_software"})],
                rid="xa-notes")
    rs, problems = load_registers(d, lint_day=TODAY)
    assert rs is None
    assert [p.code for p in problems if p.severity == "error"] == [
        "note-factors-without-destination"]
