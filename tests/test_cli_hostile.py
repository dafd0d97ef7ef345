"""The CLI and the loaders under hostile input: exit codes and one-line messages, never a
traceback. Single cases (deep nesting, huge integers), YAML 1.2 booleans (the Norway
problem), forbidden characters in policy files, malformed replay / diff lines and an
unbounded `--policy-dir`.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.loader import load_json_text, load_yaml_bytes
from engine.repository import PolicySearchError, find_version_dirs
from tests.data.diff.demo import cases, write_new, write_old

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "tests" / "data" / "minimal" / "policies"
CASE = json.loads((ROOT / "examples" / "03-imsi-catcher-brazil-police.json").read_text())
EXAMPLE = str(ROOT / "examples" / "03-imsi-catcher-brazil-police.json")


def cli(*args: str, stdin: bytes | str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def evaluate(stdin: bytes | str, *args: str) -> tuple[int, str, str]:
    return cli("evaluate", "-", "--policy-dir", str(MINIMAL), "--backend", "python", *args,
               stdin=stdin)


def one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if not line.startswith("  help:")]
    assert len(lines) == 1, err
    return lines[0]


# -- single case: nesting and size are bounded where the case is read ----------------------

def _yaml_case(extra: str) -> str:
    return f"case_id: Y-1\nsubmitted: '2026-04-15'\ndestination: BR\nitems: [{{id: a}}]\n{extra}"


@pytest.mark.parametrize(("text", "code"), [
    ("[" * 5000 + "]" * 5000, "json-too-deep"),
    ('{"case_id": "J-1", "x": ' + '{"a": ' * 1500 + "1" + "}" * 1500 + "}", "json-too-deep"),
    ('{"case_id": "J-1", "items": [{"id": "a", "value": ' + "9" * 5000 + "}]}", "json-number"),
    (_yaml_case("x: " + "[" * 1500 + "]" * 1500 + "\n"), "yaml-too-deep"),
    (_yaml_case("x:\n" + "".join("  " * i + "- \n" for i in range(1, 1200))), "yaml-too-deep"),
    (_yaml_case("x: " + "[" * 300 + "]" * 300 + "\n"), "yaml-too-deep"),
    (_yaml_case("x: " + "9" * 5000 + "\n"), "yaml-number"),
])
def test_deep_or_huge_single_case_exits_2_with_one_line(text: str, code: str) -> None:
    status, _, err = evaluate(text)
    assert status == 2
    assert f"error[{code}]" in one_line_error(err)


def test_single_case_file_deep_json_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 10_000 + "]" * 10_000)
    status, _, err = cli("evaluate", str(path), "--policy-dir", str(MINIMAL))
    assert status == 2 and f"{path}: error[json-too-deep]" in one_line_error(err)


def test_single_case_invalid_utf8_exits_2_with_its_location() -> None:
    status, _, err = evaluate(b'{"case_id": "caf\xe9"}')
    assert status == 2 and "<stdin>:1:17: error[encoding]" in one_line_error(err)


def test_single_case_with_a_lone_surrogate_never_crashes_the_writer() -> None:
    text = json.dumps(dict(CASE, case_id="SUR-\ud800"))  # written as the escape `\ud800`
    for fmt in ("json", "text"):
        status, out, err = evaluate(text, "--format", fmt)
        assert status in (0, 2) and "Traceback" not in err, err
        if status == 0 and fmt == "json":
            assert json.loads(out)["case_id"] == "SUR-\ud800"


# -- YAML 1.2 booleans ----------------------------------------------------------------------

def test_yaml_booleans_follow_yaml_1_2() -> None:
    doc = load_yaml_bytes(b"a: NO\nb: yes\nc: on\nd: off\ne: y\nf: n\ng: No\nh: OFF\n"
                          b"t1: true\nt2: True\nt3: TRUE\nf1: false\nf2: False\nf3: FALSE\n"
                          b"odd: tRUE\nlist: [NO, yes, true]\n", "x.yaml")
    assert doc.ok
    assert doc.data == {"a": "NO", "b": "yes", "c": "on", "d": "off", "e": "y", "f": "n",
                        "g": "No", "h": "OFF", "t1": True, "t2": True, "t3": True,
                        "f1": False, "f2": False, "f3": False, "odd": "tRUE",
                        "list": ["NO", "yes", True]}


def test_yaml_case_destination_no_is_norway() -> None:
    status, out, err = evaluate(_yaml_case("").replace("destination: BR", "destination: NO"))
    assert status == 0, err
    decision = json.loads(out)
    assert not any(f["rule"] == "unknown-id" for f in decision["findings"]), decision


def test_yaml_case_yes_is_not_a_boolean() -> None:
    extra = "exporter: {name: X, due_diligence: {hrdd_policy: yes}}\n"
    status, _, err = evaluate(_yaml_case(extra))
    assert status == 2 and "hrdd_policy" in err


def test_fixture_yaml_follows_yaml_1_2_booleans(tmp_path: Path) -> None:
    from engine.fixtures.load import discover, load_fixture

    path = tmp_path / "fixtures" / "demo" / "norway.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("# yaml-language-server: $schema=../../schemas/fixture.schema.json\n"
                    "description: Norway is a country, not false\n"
                    "case: {case_id: F-1, submitted: '2026-04-15', destination: NO,\n"
                    "       items: [{id: a}], end_user: {country: NO}}\n"
                    "expect: {decision: approve}\n")
    fixture, problems = load_fixture(discover([path])[0])
    assert fixture is not None, problems
    assert fixture.case["destination"] == "NO" and fixture.case["end_user"]["country"] == "NO"


# -- forbidden characters in policy files ---------------------------------------------------

@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b"])
def test_forbidden_character_in_a_policy_file_has_file_line_and_column(tmp_path: Path,
                                                                        char: str) -> None:
    root = tmp_path / "policies"
    shutil.copytree(MINIMAL, root)
    rules = root / "demo" / "2026.1" / "rules" / "main.yaml"
    lines = rules.read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace("title: ", f"title: A{char}")  # line 4
    rules.write_text("".join(lines))
    column = lines[3].index(char) + 1
    status, out, err = cli("validate", str(root), "--no-lint")
    assert status == 1 and "Traceback" not in err
    assert (f"demo/2026.1/rules/main.yaml:4:{column}: error[yaml-character]: character "
            f"U+{ord(char):04X} is not allowed in YAML") in out


# -- replay and diff --cases ----------------------------------------------------------------

@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_old(tmp_path / "pol")
    write_new(tmp_path / "pol")
    return tmp_path


def _recorded_lines(root: Path) -> list[bytes]:
    from engine.api import evaluate_with
    from engine.backends.python import PythonBackend
    from engine.diff import load_pair

    old, _ = load_pair("demo@2026.1", "demo@2026.2", root / "pol")
    backend = PythonBackend(old.compiled)
    return [json.dumps({"case": c, "decision": evaluate_with(old.compiled, backend, c)
                        .to_dict()}).encode() for c in cases()]


BAD_RECORDS = [
    b"{not json",
    b'{"case": {}, "decision": []}',
    b'{"case": {"case_id": "x"}, "decision": {"decision": "deny", "policy": [1]}}',
    b'{"case": {"case_id": "x"}, "decision": {"decision": "deny", "findings": [1]}}',
    b'{"case": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    b'{"case": {"case_id": "caf\xe9"}}',
]


def test_replay_reports_each_malformed_record_with_its_line_and_skips_it(demo: Path) -> None:
    good = _recorded_lines(demo)
    path = demo / "decisions.jsonl"
    path.write_bytes(b"\n".join([good[0], *BAD_RECORDS, *good[1:]]) + b"\n")
    status, out, err = cli("replay", "--cases", str(path), "--policy", "demo@2026.2",
                           "--policy-dir", "pol", "--format", "json")
    assert status == 0 and "Traceback" not in err
    for n in range(2, 2 + len(BAD_RECORDS)):
        assert f"decisions.jsonl:{n}: warning[skipped-line]: " in err, err
    assert "decisions.jsonl:1:" not in err
    assert "nesting deeper than 100 levels" in err
    report = json.loads(out)
    assert len(report["behavioural"]["skipped"]) == len(BAD_RECORDS)


def test_replay_exits_2_when_every_line_is_skipped(demo: Path) -> None:
    path = demo / "decisions.jsonl"
    path.write_bytes(b"\n".join(BAD_RECORDS) + b"\n")
    status, _, err = cli("replay", "--cases", str(path), "--policy", "demo@2026.2",
                         "--policy-dir", "pol")
    assert status == 2 and "Traceback" not in err
    assert "error[no-records]" in err and f"{len(BAD_RECORDS)} line(s) skipped" in err


def test_diff_cases_with_a_deeply_nested_line_skips_that_line(demo: Path) -> None:
    path = demo / "cases.jsonl"
    lines = [json.dumps(c).encode() for c in cases()]
    path.write_bytes(b"\n".join([lines[0], b"[" * 10_000 + b"]" * 10_000, *lines[1:]]) + b"\n")
    status, out, err = cli("diff", "demo@2026.1", "demo@2026.2", "--policy-dir", "pol",
                           "--cases", str(path), "--no-fixtures")
    assert status == 0 and "Traceback" not in err
    assert "cases.jsonl:2: warning[skipped-line]: nesting deeper than 100 levels" in err
    assert "skipped: cases.jsonl:2: nesting deeper than 100 levels" in out


# -- the search for policy versions is bounded ----------------------------------------------

def test_policy_dir_root_fails_fast_with_exit_2() -> None:
    start = time.monotonic()
    status, _, err = cli("evaluate", EXAMPLE,
                         "--policy-dir", "/")
    assert status == 2 and "policy search stopped" in err and "Traceback" not in err
    assert time.monotonic() - start < 10


def test_search_is_bounded_in_entries(tmp_path: Path) -> None:
    for i in range(60):
        (tmp_path / f"f{i}").touch()
    with pytest.raises(PolicySearchError, match="more than 50 entries under"):
        find_version_dirs(tmp_path, max_entries=50)
    assert find_version_dirs(tmp_path, max_entries=100) == []


def test_search_is_bounded_in_depth_with_exit_2(tmp_path: Path) -> None:
    shutil.copytree(MINIMAL, tmp_path / "policies")
    deep = tmp_path / "policies" / "a" / "b" / "c" / "d" / "e" / "f" / "g"
    deep.mkdir(parents=True)
    with pytest.raises(PolicySearchError, match="more than 6 levels below"):
        find_version_dirs(tmp_path / "policies")
    status, _, err = cli("validate", str(tmp_path / "policies"))
    assert status == 2 and "error[policy-search]" in err and "Traceback" not in err
    deep.rmdir()  # policies/a/.../f is 6 levels below: allowed
    assert find_version_dirs(tmp_path / "policies") == [tmp_path / "policies/demo/2026.1"]


def test_symlink_loops_do_not_loop(tmp_path: Path) -> None:
    root = tmp_path / "policies"
    shutil.copytree(MINIMAL, root)
    (root / "demo" / "2026.1" / "rules" / "loop").symlink_to(root, target_is_directory=True)
    (root / "self").symlink_to(".", target_is_directory=True)
    assert find_version_dirs(root) == [root / "demo" / "2026.1"]
    status, _, err = cli("evaluate", EXAMPLE,
                         "--policy-dir", str(root), "--backend", "python")
    assert status == 0, err


def test_json_loader_limits_are_diagnostics() -> None:
    assert load_json_text('{"a": 1e400}')[1][0].code == "json-number"
    assert load_json_text("[" * 101 + "]" * 101)[1][0].code == "json-too-deep"
    assert load_json_text("[" * 100 + "]" * 100)[1] == []
    assert load_json_text("[" + "[]," * 500 + "[]]")[1] == []  # many brackets, not deep
