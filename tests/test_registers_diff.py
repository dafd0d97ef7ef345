"""`echri registers diff OLD_DIR NEW_DIR`: entries added, removed and changed per register
kind, the register files and thresholds that changed, three formats and the exit codes of
the other diff commands. The data is the fictitious set of examples/registers."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from engine.cli import main
from engine.registers import load
from engine.registers.compare import diff_registers

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "registers"
CSV_HEADER = ("id,schema,name,aliases,birth_date,countries,addresses,identifiers,sanctions,"
              "phones,emails,dataset,first_seen,last_seen,last_change\n")


def _edit_yaml(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    head = "".join(line for line in path.read_text(encoding="utf-8").splitlines(True)
                   if line.startswith("#"))
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(doc)
    path.write_text(head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")


@pytest.fixture()
def pair(tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(EXAMPLE, old)
    shutil.copytree(EXAMPLE, new)

    def notices(doc: dict[str, Any]) -> None:
        doc["register"]["version"] = "2026-12-01"
        kept = [n for n in doc["notices"] if n["id"] != "XB-2022-007"]
        kept[0]["revoked"] = "2026-11-20"  # XA-2025-001
        kept.append({"id": "XB-2026-100", "notifying_state": "XB",
                     "date_of_denial": "2026-11-01", "destination": "NO",
                     "end_user": {"name": "Imaginary <b>Systems</b> @someone"},
                     "items": {"categories": ["general_it"]}, "ground": "coc-1",
                     "contact_point": "x@xb.example", "tlp": "GREEN"})
        doc["notices"] = kept

    def notes(doc: dict[str, Any]) -> None:
        doc["notes"][0]["review_by"] = "2028-01-01"
        doc["notes"].append({"id": "note-2", "subject": {"destination": "NO"},
                             "shared_by": "XA", "source": "synthetic", "tlp": "GREEN",
                             "review_by": "2027-12-31", "text": "Another fictitious note."})

    _edit_yaml(new / "denials.notices.yaml", notices)
    _edit_yaml(new / "notes.notes.yaml", notes)
    rows = (old / "restricted.csv").read_text(encoding="utf-8").splitlines(True)
    (new / "restricted.csv").write_text(
        rows[0] + rows[1].replace("Primer Security", "Primer Sekyuriti")
        + "ex-0003,Company,Invented Holdings Ltd,,,xa,,,Synthetic measure 3,,,Example list,"
          "2026-11-01,2026-11-30,2026-11-01\n", encoding="utf-8")
    (new / "implicated.csv").write_text(
        CSV_HEADER + "im-1,Company,Invented Surveillance Co,,,xb,,,,,,Synthetic report,"
        "2026-01-01,2026-11-30,2026-01-01\n", encoding="utf-8")
    settings = (new / "settings.yaml").read_text(encoding="utf-8")
    (new / "settings.yaml").write_text(
        settings.replace("match: 92", "match: 90") +
        "  - {id: example-implicated, file: implicated.csv, format: opensanctions-simple,\n"
        "     kind: implicated, version: \"2026-11-30\", source: Synthetic reports}\n",
        encoding="utf-8")
    return old, new


def test_entries_registers_and_thresholds(pair: tuple[Path, Path]) -> None:
    old, new = pair
    d = diff_registers(load(old), load(new), "old", "new")
    got = {(e.kind, e.id, e.change) for e in d.entries}
    assert got == {("notices", "XA-2025-001", "changed"), ("notices", "XB-2022-007", "removed"),
                   ("notices", "XB-2026-100", "added"), ("notes", "note-1", "changed"),
                   ("notes", "note-2", "added"), ("restricted", "ex-0001", "changed"),
                   ("restricted", "ex-0002", "removed"), ("restricted", "ex-0003", "added"),
                   ("implicated", "im-1", "added")}
    fields = {(e.id, f.field): (f.old, f.new) for e in d.entries for f in e.fields}
    assert fields[("XA-2025-001", "revoked")] == (None, "2026-11-20")
    assert fields[("note-1", "review_by")] == ("2027-06-01", "2028-01-01")
    assert fields[("ex-0001", "aliases")][1] == ["Пример Безопасность", "Primer Sekyuriti"]
    assert len({k for k in fields if k[0] == "XA-2025-001"}) == 1  # only what changed
    regs = {(r.id, r.change) for r in d.registers}
    assert regs == {("example-denials", "changed"), ("example-notes", "changed"),
                    ("example-restricted", "changed"), ("example-implicated", "added")}
    assert [(s.field, s.old, s.new) for s in d.settings] == [("thresholds.match", 92.0, 90.0)]
    assert (d.count("notices", "added"), d.count("restricted", "removed")) == (1, 1)


def test_same_set_and_moved_entries_are_no_change(tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(EXAMPLE, old)
    assert diff_registers(load(old), load(EXAMPLE)).empty
    new = tmp_path / "new"
    shutil.copytree(EXAMPLE, new)
    (new / "denials.notices.yaml").rename(new / "moved.notices.yaml")
    d = diff_registers(load(old), load(new))
    assert not d.entries and not d.registers  # same register id, version and bytes


def test_cli_formats(pair: tuple[Path, Path]) -> None:
    old, new = pair
    runner = CliRunner()
    r = runner.invoke(main, ["registers", "diff", str(old), str(new)])
    assert r.exit_code == 0, r.output
    assert "  - XB-2022-007 (example-denials): Fictional Optics GmbH" in r.stdout
    assert "  + XB-2026-100 (example-denials): Imaginary <b>Systems</b> @someone" in r.stdout
    assert "      revoked: (none) → 2026-11-20" in r.stdout
    assert "  ~ thresholds.match: 92.0 → 90.0" in r.stdout
    assert "summary: notices 1 added, 1 removed, 1 changed;" in r.stdout
    r = runner.invoke(main, ["registers", "diff", str(old), str(new), "--format", "json"])
    doc = json.loads(r.stdout)
    assert doc["format"] == "echri-registers-diff/1"
    assert doc["summary"]["implicated"] == {"added": 1, "removed": 0, "changed": 0}
    assert {e["id"] for e in doc["entries"] if e["change"] == "removed"} == \
        {"XB-2022-007", "ex-0002"}
    r = runner.invoke(main, ["registers", "diff", str(old), str(new), "--format", "markdown"])
    md = r.stdout
    assert "| Denial notifications | 1 | 1 | 1 |" in md and "### Risk notes" in md
    assert "<b>" not in md and "&lt;b&gt;" in md  # register text is escaped
    assert "@\u200b" in md or "@&#8203;" in md  # no @mention from another state's text


def test_cli_exit_codes(pair: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = pair
    runner = CliRunner()
    r = runner.invoke(main, ["registers", "diff", str(old), str(new), "--fail-on", "removed"])
    assert r.exit_code == 1
    assert "error[fail-on]: the register sets differ: 2 entries removed" in r.stderr
    assert "  notices XB-2022-007 (example-denials): removed" in r.stderr
    same = runner.invoke(main, ["registers", "diff", str(old), str(old), "--fail-on", "any"])
    assert same.exit_code == 0 and "no changes" in same.stdout
    out = tmp_path / "report.md"
    r = runner.invoke(main, ["registers", "diff", str(old), str(new), "--format", "markdown",
                             "-o", str(out), "--fail-on", "any"])
    assert r.exit_code == 1 and out.read_text(encoding="utf-8").startswith("## Register")
    (new / "notes.notes.yaml").write_text("register: [\n", encoding="utf-8")
    r = runner.invoke(main, ["registers", "diff", str(old), str(new)])
    assert r.exit_code == 2 and "notes.notes.yaml:" in r.stderr and "invalid" in r.stderr
    r = runner.invoke(main, ["registers", "diff", str(old), str(tmp_path / "missing")])
    assert r.exit_code == 2
