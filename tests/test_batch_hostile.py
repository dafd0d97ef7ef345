"""`echri evaluate --batch` under hostile input: one record per line, in order, never a crash.

One JSON Lines file holds a bad line of every kind between valid cases; it is run once with
`--jobs 1` and once with `--jobs 2`, and each test checks the record of its line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.cli import main

ROOT = Path(__file__).resolve().parent.parent
POLICIES = str(ROOT / "policies")
MINIMAL = str(ROOT / "tests" / "data" / "minimal" / "policies")  # loads faster
CASE = json.loads((ROOT / "examples" / "03-imsi-catcher-brazil-police.json").read_text())
GOOD = json.dumps(CASE).encode()
SURROGATE_CASE = json.dumps(dict(CASE, case_id="SUR-\ud800")).encode()  # written `\ud800`

# (name, raw line without its LF); the line number is the position + 1
LINES: list[tuple[str, bytes]] = [
    ("bom", b"\xef\xbb\xbf" + GOOD),
    ("good", GOOD),
    ("blank", b""),
    ("spaces", b"   \t "),
    ("invalid_utf8", GOOD[:20] + b"\xff\xfe" + GOOD[20:]),
    ("bare_cr", GOOD + b"\r" + GOOD),
    ("crlf", GOOD + b"\r"),  # a CRLF line ending: accepted
    ("deep", b"[" * 10_000 + b"]" * 10_000),
    ("deep_case", GOOD[:-1] + b', "x": ' + b"{\"a\": " * 10_000 + b"1" + b"}" * 10_000 + b"}"),
    ("huge", b'{"case_id": "' + b"x" * (50 * 1024 * 1024) + b'"}'),
    ("duplicate_key", b'{"case_id": "D-1", "case_id": "D-2"}'),
    ("nan", b'{"case_id": "N-1", "items": [{"id": "a", "value": NaN}]}'),
    ("infinity", b'{"case_id": "N-2", "items": [{"id": "a", "value": -Infinity}]}'),
    ("big_int", b'{"case_id": "I-1", "items": [{"id": "a", "value": ' + b"9" * 5000 + b"}]}"),
    ("later_bom", b"\xef\xbb\xbf" + GOOD),
    ("surrogate", SURROGATE_CASE),
    ("invalid_case", json.dumps({"case_id": "BAD-1", "items": []}).encode()),
    ("last_good", GOOD),
    ("truncated", GOOD[:40]),  # the last line, no LF
]
NUMBER = {name: i + 1 for i, (name, _) in enumerate(LINES)}
DECIDED = {"bom", "good", "crlf", "last_good"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "hostile.jsonl"
    path.write_bytes(b"\n".join(raw for _, raw in LINES))  # no final LF: truncated last line
    return path


@pytest.fixture(scope="module", params=["1", "2"], ids=["jobs1", "jobs2"])
def run(request: pytest.FixtureRequest, hostile: Path) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(main, ["evaluate", "--batch", str(hostile), "--jobs",
                                       request.param, "--policy-dir", POLICIES,
                                       "--backend", "python"])
    return result.exit_code, result.stdout_bytes, result.stderr


@pytest.fixture(scope="module")
def records(run: tuple[int, bytes, str]) -> list[dict[str, Any]]:
    _, out, _ = run
    return [json.loads(line) for line in out.decode("utf-8").splitlines()]


def record(records: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = records[NUMBER[name] - 1]
    assert found["line"] == NUMBER[name]
    return found


def test_one_record_per_line_in_order_each_with_its_line_number(
        records: list[dict[str, Any]]) -> None:
    assert [r["line"] for r in records] == list(range(1, len(LINES) + 1))
    for name, _ in LINES:
        r = record(records, name)
        assert ("decision" in r) == (name in DECIDED) or name == "surrogate", (name, r)
        assert ("error" in r) != ("decision" in r), (name, r)


def test_exit_2_names_the_error_lines_and_never_a_traceback(run: tuple[int, bytes, str]
                                                             ) -> None:
    code, _, err = run
    assert code == 2
    assert "Traceback" not in err and "line(s) were not decided" in err


def test_output_is_valid_utf8_json_with_a_lone_surrogate(run: tuple[int, bytes, str],
                                                         records: list[dict[str, Any]]) -> None:
    _, out, _ = run
    out.decode("utf-8")  # strict: raises on a lone surrogate written raw
    r = record(records, "surrogate")
    assert r["case_id"] == "SUR-\ud800"  # decided or refused, its id round-trips


def test_decisions_carry_line_and_the_decision_contract(records: list[dict[str, Any]]) -> None:
    from engine.schemas import check_data

    for name in DECIDED:
        r = dict(record(records, name))
        assert next(iter(r)) == "line"
        del r["line"]
        assert check_data("decision", r) == [] and r["case_id"] == CASE["case_id"]


def test_utf8_bom_on_line_1_is_accepted(records: list[dict[str, Any]]) -> None:
    assert record(records, "bom")["decision"] == record(records, "good")["decision"]


def test_crlf_line_ending_is_accepted(records: list[dict[str, Any]]) -> None:
    assert record(records, "crlf")["decision"] == record(records, "good")["decision"]


@pytest.mark.parametrize(("name", "message"), [
    ("blank", "blank line"),
    ("spaces", "blank line"),
    ("invalid_utf8", "invalid UTF-8 byte 0xff at column 21"),
    ("bare_cr", "carriage return (CR) at column"),
    ("deep", "nesting deeper than 100 levels"),
    ("deep_case", "nesting deeper than 100 levels"),
    ("huge", "line too large"),
    ("duplicate_key", "duplicate key `case_id`"),
    ("nan", "`NaN` is not a valid JSON number"),
    ("infinity", "`-Infinity` is not a valid JSON number"),
    ("big_int", "integer of 5000 characters is too long"),
    ("later_bom", "byte order mark (BOM) is only allowed at the start"),
    ("truncated", "expecting value at column 41"),
])
def test_each_bad_line_is_an_error_record_for_that_line_only(
        records: list[dict[str, Any]], name: str, message: str) -> None:
    r = record(records, name)
    assert message in r["error"] and "decision" not in r
    assert set(r) <= {"line", "case_id", "error", "problems"}


def test_invalid_case_keeps_its_id_and_lists_problems(records: list[dict[str, Any]]) -> None:
    r = record(records, "invalid_case")
    assert r["case_id"] == "BAD-1" and r["error"] == "invalid case" and r["problems"]


def test_cr_only_line_endings_make_one_error_line_and_the_rest_is_decided(
        tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(GOOD + b"\n" + GOOD + b"\r" + GOOD + b"\r" + GOOD + b"\n" + GOOD + b"\n")
    result = CliRunner().invoke(main, ["evaluate", "--batch", str(path), "--policy-dir",
                                       MINIMAL, "--backend", "python"])
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["line"], "decision" in r) for r in records] == [(1, True), (2, False), (3, True)]
    assert result.exit_code == 2


def test_max_line_bytes_option_and_stdin_bytes() -> None:
    stdin = GOOD + b"\n" + GOOD + b" " * 200 + b"\n"
    result = CliRunner().invoke(main, ["evaluate", "--batch", "-", "--max-line-bytes",
                                       str(len(GOOD) + 100), "--policy-dir", MINIMAL,
                                       "--backend", "python"], input=stdin)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert "decision" in records[0]
    assert records[1] == {"line": 2, "case_id": None,
                          "error": f"line too large: {len(GOOD) + 200} bytes, over the limit "
                                   f"of {len(GOOD) + 100}"}
    assert result.exit_code == 2


def test_all_decided_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_bytes(GOOD + b"\r\n" + GOOD)  # CRLF, last line without LF
    result = CliRunner().invoke(main, ["evaluate", "--batch", str(path), "--policy-dir",
                                       MINIMAL, "--backend", "python"])
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["line"] for line in result.stdout.splitlines()] == [1, 2]


def test_an_internal_error_on_one_line_is_its_record_and_exits_1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.api import PolicyStore

    real = PolicyStore.evaluate

    def flaky(self: PolicyStore, case: Any, **kw: Any) -> Any:
        if case.get("case_id") == "BOOM":
            raise RuntimeError("boom")
        return real(self, case, **kw)

    monkeypatch.setattr(PolicyStore, "evaluate", flaky)
    path = tmp_path / "boom.jsonl"
    path.write_bytes(json.dumps(dict(CASE, case_id="BOOM")).encode() + b"\n" + GOOD + b"\n")
    result = CliRunner().invoke(main, ["evaluate", "--batch", str(path), "--policy-dir",
                                       MINIMAL, "--backend", "python"])
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0] == {"line": 1, "case_id": "BOOM", "error": "internal error: RuntimeError"}
    assert "decision" in records[1]
    assert result.exit_code == 1 and "Traceback" not in result.stderr


def test_unreadable_batch_file_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["evaluate", "--batch", str(tmp_path / "absent.jsonl"),
                                       "--policy-dir", MINIMAL, "--backend", "python"])
    assert result.exit_code == 2 and "error[io-error]" in result.stderr
