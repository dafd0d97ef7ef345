"""Registers: validation with locations, provenance, screening facts and built-in findings
(no-undercut consultation, screening-review, screening-match) under the released policies."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.api import PolicyStore, load
from engine.cases import normalize
from engine.registers import load_registers
from engine.registers.model import RegisterSet
from tests.support import baseline_case

DATA = Path(__file__).parent / "data" / "registers"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "registers"
LINT_DAY = "2026-03-02"


@pytest.fixture(scope="module")
def store() -> PolicyStore:
    return load("policies")


@pytest.fixture(scope="module")
def registers() -> RegisterSet:
    rs, _ = load_registers(EXAMPLE, lint_day=LINT_DAY)
    assert rs is not None
    return rs


def _with(store: PolicyStore, rs: RegisterSet | None) -> PolicyStore:
    return PolicyStore(store.versions, registers=rs)


def _case(name: str, **over: Any) -> dict[str, Any]:
    return baseline_case(end_user={"name": name, "country": "NO", "type": "law_enforcement"},
                         **over)


def test_a_notice_counts_only_on_its_days_and_one_index_serves_them_all(
        registers: RegisterSet) -> None:
    """XB-2022-007 denied 2022-01-10 for three years: no match before, a match within,
    none from the expiry on; the set's one index serves every day (an index per day was
    rebuilt for each new date a batch brought)."""
    from engine.registers.screening import index_for, screen

    rs = dataclasses.replace(registers, _index={}, _cache={})
    party = [("end_user", "Fictional Optics GmbH", "NO")]
    days = {"2022-01-09": False, "2022-01-10": True, "2023-07-01": True,
            "2025-01-09": True, "2025-01-10": False, "2026-06-01": False}
    for day, within in days.items():
        found = [m.ref for m in screen(rs, day, party) if m.kind == "denied"]
        assert found == (["XB-2022-007"] if within else []), day
    assert list(rs._index.values()) == [index_for(rs)]
    revoked = dataclasses.replace(rs, notices=tuple(
        dataclasses.replace(n, revoked="2023-01-01") if n.id == "XB-2022-007" else n
        for n in rs.notices), _index={}, _cache={})
    assert [m.ref for m in screen(revoked, "2022-06-01", party)] == ["XB-2022-007"]
    assert [m.ref for m in screen(revoked, "2023-07-01", party)] == []


def test_invalid_set_reports_every_problem_with_its_location() -> None:
    rs, problems = load_registers(DATA / "invalid")
    assert rs is None
    got = {(Path(p.file or "").name, p.line, p.column, p.code, p.help) for p in problems}
    assert ("bad.notices.yaml", 12, 10, "schema", "did you mean `AMBER`?") in got
    assert ("settings.yaml", 3, 25, "schema", "did you mean `review`?") in got
    assert ("stray.notice.yaml", None, None, "unknown-file",
            "did you mean `stray.notices.yaml`?") in got


def test_csv_header_duplicates_and_missing_import(tmp_path: Path) -> None:
    d = tmp_path / "r"
    shutil.copytree(EXAMPLE, d)
    (d / "restricted.csv").write_text("id,name,countries\nx1,Example,xa\n", encoding="utf-8")
    text = (d / "denials.notices.yaml").read_text(encoding="utf-8")
    (d / "more.notices.yaml").write_text(
        text.replace("example-denials", "more-denials"), encoding="utf-8")
    rs, problems = load_registers(d, lint_day=LINT_DAY)
    assert rs is None
    codes = {(Path(p.file or "").name, p.code, p.line) for p in problems}
    assert ("restricted.csv", "csv-header", 1) in codes
    assert ("more.notices.yaml", "duplicate-id", 6) in codes
    settings = (d / "settings.yaml").read_text(encoding="utf-8")
    (d / "restricted.csv").unlink()
    (d / "restricted2.csv").write_text("", encoding="utf-8")
    (d / "settings.yaml").write_text(settings, encoding="utf-8")
    _, problems = load_registers(d, lint_day=LINT_DAY)
    missing = [p for p in problems if p.code == "unknown-file" and p.file
               and p.file.endswith("settings.yaml")]
    assert missing and missing[0].line == 6 and missing[0].help == \
        "did you mean `restricted2.csv`?"


def test_expired_notice_is_a_lint_warning() -> None:
    rs, problems = load_registers(EXAMPLE, lint_day=LINT_DAY)
    assert rs is not None
    (w,) = [p for p in problems if p.code == "notice-expired"]
    assert w.severity == "warning" and w.line == 17 and "XB-2022-007" in w.message


def test_notice_match_refers_for_consultation(store: PolicyStore,
                                               registers: RegisterSet) -> None:
    plain = store.evaluate(_case("Example Trading LLC"))
    assert plain.decision == "approve" and "registers" not in plain.to_dict()
    d = _with(store, registers).evaluate(_case("Example Trading LLC"))
    assert d.decision == "refer"
    (f,) = [f for f in d.findings if f.rule == "no-undercut-consultation"]
    assert f.outcome == "refer"
    assert "XA-2025-001" in f.message and "of XA" in f.message
    assert "licensing@xa.example" in f.message
    prov = d.to_dict()["registers"]
    assert [r["id"] for r in prov] == ["example-denials", "example-notes", "example-restricted"]
    assert all(r["digest"].startswith("sha256:") for r in prov)
    from engine.schemas import check_data

    assert check_data("decision", d.to_dict()) == []
    assert check_data("decision", d.to_dict() | {"registers": [{"id": "x"}]}) != []


def test_expired_notice_gives_no_consultation(store: PolicyStore,
                                              registers: RegisterSet) -> None:
    s = _with(store, registers)
    active = s.evaluate(_case("Fictional Optics GmbH", submitted="2025-01-05"))
    assert "no-undercut-consultation" in active.rules
    expired = s.evaluate(_case("Fictional Optics GmbH"))  # denied 2022-01-10, 3 years
    assert expired.decision == "approve"
    assert not {"no-undercut-consultation", "screening-match"} & set(expired.rules)


def test_other_destination_or_items_is_not_identical(store: PolicyStore,
                                                     registers: RegisterSet) -> None:
    s = _with(store, registers)
    other = s.evaluate(_case("Example Trading LLC",
                             items=[{"id": "a", "category": "general_it", "quantity": 1,
                                     "value": 10, "description": "x"}],
                             destination="IS"))
    assert "no-undercut-consultation" not in other.rules
    assert "screening-match" in other.rules  # still a party of another state's denial


def test_recorded_consultation_silences_the_finding(store: PolicyStore,
                                                     registers: RegisterSet) -> None:
    case = _case("Someone Else", consignees=[{"name": "Sample Logistics Ltd",
                                             "country": "NO"}],
                 items=[{"id": "a", "control_entries": ["4A005.a"], "quantity": 1,
                         "value": 10, "description": "x"}])
    d = _with(store, registers).evaluate(case)
    assert "no-undercut-consultation" not in d.rules
    assert "screening-match" not in d.rules
    n = normalize(case, store.in_force("2026-03-02"), registers)
    assert n.facts["screening.notices"] == {"XB-2026-002"}
    assert n.facts["parties.screening"] == {"denied"}
    assert n.facts["end_user.screening"] == frozenset()


def test_near_miss_is_never_silent(store: PolicyStore, registers: RegisterSet) -> None:
    d = _with(store, registers).evaluate(_case("Example Trading Group"))
    (f,) = [f for f in d.findings if f.rule == "screening-review"]
    assert f.outcome == "request_information" and d.decision == "request_information"
    assert "Example Trading LLC" in f.message and "score" in f.message


def test_transliterated_restricted_party(store: PolicyStore, registers: RegisterSet) -> None:
    d = _with(store, registers).evaluate(_case("Пример Безопасность ООО"))
    (f,) = [f for f in d.findings if f.rule == "screening-match"]
    assert "OOO Primer Bezopasnost" in f.message and "example-restricted" in f.message
    n = normalize(_case("Primer Bezopasnost"), store.in_force("2026-03-02"), registers)
    assert n.facts["end_user.screening"] == {"restricted"}


def test_without_registers_the_facts_are_empty(store: PolicyStore) -> None:
    n = normalize(_case("Example Trading LLC"), store.in_force("2026-03-02"))
    for name in ("end_user.screening", "parties.screening", "screening.notices"):
        assert n.facts[name] == frozenset()
        assert all(v.facts[name] == frozenset() for v in n.views)
    assert n.screening is None


@pytest.mark.parametrize("name", ["Example Trading LLC", "Example Trading Group",
                                  "Primer Bezopasnost", "Nobody In Particular"])
def test_both_backends_agree_with_registers(store: PolicyStore, registers: RegisterSet,
                                            name: str) -> None:
    s = _with(store, registers)
    a = s.evaluate(_case(name), backend="python")
    b = s.evaluate(_case(name), backend="durable")
    assert a.to_dict() | {"engine": None} == b.to_dict() | {"engine": None}
    checked = s.evaluate(_case(name), self_check=True)
    assert "engine-error" not in checked.rules


# content digests of the released versions (as tests/test_implicated_parties.py records them)
RELEASED_DIGESTS = {
    "2025.1": "sha256:4788b6374f1da49655a6e3cc47613ab6d38290aeae82b2441c480df293f6e307",
    "2026.1": "sha256:b7fcec35123d460b007102c8153ea8d8dc8610074371a83c1d623d3ada562e48",
}


def test_released_digests_are_unchanged(store: PolicyStore) -> None:
    for version, recorded in RELEASED_DIGESTS.items():
        assert store.get(version).digest == recorded


def test_every_fixture_decides_as_before_when_nothing_matches(
        store: PolicyStore, tmp_path: Path) -> None:
    """A register set nobody in the fixtures matches adds only the provenance."""
    import yaml

    d = tmp_path / "r"
    d.mkdir()
    (d / "settings.yaml").write_text("registers: echri-registers/1\n", encoding="utf-8")
    (d / "x.notices.yaml").write_text(
        "register: {id: x, kind: denial_notifications, version: '1'}\nnotices:\n"
        "  - {id: XA-1, notifying_state: XA, date_of_denial: '2026-01-01', destination: 'NO',"
        " end_user: {name: Zzyzx Qwerty Imaginary}, items: {categories: [general_it]},"
        " ground: synthetic, contact_point: x@xa.example, tlp: GREEN}\n", encoding="utf-8")
    rs, _ = load_registers(d)
    assert rs is not None
    screened = _with(store, rs)
    root = Path(__file__).resolve().parent.parent / "fixtures"
    count = 0
    for path in sorted(root.rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or "case" not in doc:
            continue
        version = doc.get("policy_version")
        try:
            plain = store.evaluate(doc["case"], policy_version=version, backend="python")
        except Exception:  # a fixture that expects an input error
            continue
        with_registers = screened.evaluate(doc["case"], policy_version=version,
                                           backend="python")
        body = with_registers.to_dict()
        assert body.pop("registers") == [dict(r) for r in rs.provenance()]
        assert body == plain.to_dict(), path.name
        count += 1
    assert count > 200


def test_cli_evaluate_and_validate_with_registers(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from engine.cli import main

    case = tmp_path / "case.json"
    case.write_text(json.dumps(_case("Example Trading LLC")), encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(main, ["evaluate", str(case), "--registers", str(EXAMPLE)])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body["decision"] == "refer" and body["registers"][0]["id"] == "example-denials"
    plain = runner.invoke(main, ["evaluate", str(case)])
    assert json.loads(plain.stdout)["decision"] == "approve"
    bad = runner.invoke(main, ["evaluate", str(case), "--registers", str(DATA / "invalid")])
    assert bad.exit_code == 2 and "bad.notices.yaml:12:10" in bad.output
    v = runner.invoke(main, ["validate", "policies", "--registers", str(DATA / "invalid")])
    assert v.exit_code == 1 and "settings.yaml:3:25: error[schema]" in v.output


def test_service_screens_with_registers() -> None:
    from starlette.testclient import TestClient

    from engine.service.app import create_app
    from engine.service.config import ServiceConfig

    cfg = ServiceConfig(backend="python", mask="none", registers=str(EXAMPLE))
    with TestClient(create_app(cfg)) as client:
        r = client.post("/v1/decisions", json=_case("Example Trading LLC"))
        assert r.status_code == 200, r.text
        body = r.json()["decision"]
        assert body["decision"] == "refer"
        assert "no-undercut-consultation" in {f["rule"] for f in body["findings"]}
        assert body["registers"][0]["id"] == "example-denials"


def test_service_builds_the_screening_index_before_the_first_request() -> None:
    """The self-test at start builds the set's one index: no request pays for it, whatever
    its `submitted` date (an index per day was built on the event loop by the first request
    of each new date)."""
    from starlette.testclient import TestClient

    from engine.registers.screening import index_for
    from engine.service.app import create_app
    from engine.service.config import ServiceConfig

    cfg = ServiceConfig(backend="python", mask="none", registers=str(EXAMPLE))
    app = create_app(cfg)
    with TestClient(app) as client:
        rs = app.state.echri.store.registers
        built = list(rs._index.values())
        assert len(built) == 1
        for day in ("2025-03-01", "2026-02-02", "2026-11-30"):
            r = client.post("/v1/decisions", json=_case("Nobody Known Ltd", submitted=day))
            assert r.status_code == 200, r.text
        assert list(rs._index.values()) == built and built[0] is index_for(rs)


REGISTER_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "echri-baseline" \
    / "registers"


def test_register_fixtures_pass_only_with_their_registers(tmp_path: Path) -> None:
    """The register fixtures are in the regression suite and run with the set they name."""
    from click.testing import CliRunner

    from engine.cli import main

    runner = CliRunner()
    root = REGISTER_FIXTURES.parent.parent
    suite = runner.invoke(main, ["test", str(root), "-k", "echri-baseline/registers/",
                                 "--backend", "python"])
    assert suite.exit_code == 0, suite.output
    assert "4 fixtures: 4 passed" in suite.output
    bare = tmp_path / "fixtures" / "echri-baseline" / "registers"
    bare.mkdir(parents=True)
    for path in sorted(REGISTER_FIXTURES.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert "\nregisters: ../../../examples/registers\n" in text, path.name
        (bare / path.name).write_text(text.replace(
            "\nregisters: ../../../examples/registers\n", "\n"), encoding="utf-8")
    args = ["test", str(bare), "--backend", "python"]
    without = runner.invoke(main, args)
    assert without.exit_code == 1 and "3 failed" in without.output
    # `--registers DIR` still applies to fixtures that name no set
    given = runner.invoke(main, [*args, "--registers", str(EXAMPLE)])
    assert given.exit_code == 0 and "4 fixtures: 4 passed" in given.output, given.output


def _register_fixtures(root: Path, registers: str) -> Path:
    """The register fixtures as root/fixtures/echri-baseline/registers/, naming `registers`."""
    folder = root / "fixtures" / "echri-baseline" / "registers"
    folder.mkdir(parents=True)
    for path in sorted(REGISTER_FIXTURES.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        (folder / path.name).write_text(text.replace(
            "registers: ../../../examples/registers", f"registers: {registers}"),
            encoding="utf-8")
    return root / "fixtures"


def test_a_fixture_set_is_loaded_once_and_wins_over_the_run(store: PolicyStore,
                                                            tmp_path: Path) -> None:
    from engine.fixtures import PASS, RunOptions, run
    from engine.fixtures.registers import REGISTER_SETS

    shutil.copytree(EXAMPLE, tmp_path / "regs")
    fixtures = _register_fixtures(tmp_path, "../../../regs")
    nothing, _ = load_registers(DATA / "names")  # a set none of these names is in
    assert nothing is not None
    before = REGISTER_SETS.loads
    report = run(_with(store, nothing), [fixtures], RunOptions("python"))
    assert [r.status for r in report.results] == [PASS] * 4, [r.diff() for r in report.results]
    assert REGISTER_SETS.loads == before + 1
    assert {r.decision.to_dict()["registers"][0]["id"] for r in report.results
            if r.decision is not None} == {"example-denials"}
    # an edited set is read again, not served from the cache
    notices = tmp_path / "regs" / "denials.notices.yaml"
    notices.write_text(notices.read_text(encoding="utf-8").replace(
        "{name: Example Trading LLC, aliases: [Example Trade Company]",
        "{name: Zzyzx Imaginary Works"), encoding="utf-8")
    again = run(store, [fixtures], RunOptions("python", select=("notice-match",)))
    assert REGISTER_SETS.loads == before + 2 and again.count("fail") == 1


def test_a_set_that_does_not_load_makes_its_fixtures_errors(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from engine.cli import main

    shutil.copytree(DATA / "invalid", tmp_path / "bad")
    fixtures = _register_fixtures(tmp_path, "../../../bad")
    (fixtures / "echri-baseline" / "registers" / "near-miss.yaml").write_text(
        (fixtures / "echri-baseline" / "registers" / "near-miss.yaml").read_text(
            encoding="utf-8").replace("../../../bad", "../../../missing"), encoding="utf-8")
    result = CliRunner().invoke(main, ["test", str(fixtures), "--backend", "python",
                                       "--format", "json"])
    assert result.exit_code == 2, result.output
    import json

    body = json.loads(result.stdout)
    errors = {Path(r["file"]).name: r for r in body["results"] if r["status"] == "error"}
    assert set(errors) == {"near-miss.yaml", "notice-expired.yaml", "notice-match.yaml",
                           "transliterated.yaml"}, body
    text = json.dumps(errors)
    assert "fixture-registers" in text and "bad.notices.yaml:12:10" in text
    assert "register set `../../../missing` does not load" in text


def test_update_keeps_the_registers_key(store: PolicyStore, tmp_path: Path) -> None:
    from engine.fixtures import PASS, RunOptions, run

    shutil.copytree(EXAMPLE, tmp_path / "regs")
    fixtures = _register_fixtures(tmp_path, "../../../regs")
    path = fixtures / "echri-baseline" / "registers" / "notice-match.yaml"
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("decision: refer", "decision: approve"), encoding="utf-8")
    report = run(store, [path], RunOptions("python", update=True))
    assert [u.written for u in report.updates] == [True]
    assert path.read_text(encoding="utf-8") == original  # registers: kept, expect restored
    assert run(store, [path], RunOptions("python")).results[0].status == PASS


def test_fixture_schema_takes_a_relative_registers_directory() -> None:
    import yaml

    from engine.schemas import check_data

    doc = yaml.safe_load((REGISTER_FIXTURES / "notice-match.yaml").read_text(encoding="utf-8"))
    assert check_data("fixture", doc) == []
    assert check_data("fixture", doc | {"registers": "/srv/registers"}) != []
    assert check_data("fixture", doc | {"registers": ""}) != []
    assert check_data("fixture", doc | {"register": "x"}) != []  # misspelt: not silently ignored
