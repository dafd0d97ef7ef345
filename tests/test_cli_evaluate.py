"""The `echri evaluate` / `echri explain` commands and the batch mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main

ROOT = Path(__file__).resolve().parent.parent
POLICIES = str(ROOT / "policies")
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def example(name: str) -> dict:
    return json.loads(next(p for p in EXAMPLES if name in p.name).read_text())


@pytest.mark.parametrize("backend", ["durable", "python"])
def test_evaluate_prints_a_decision_that_matches_the_schema(backend: str) -> None:
    from engine.schemas import check_data

    code, out, _ = run("evaluate", str(EXAMPLES[0]), "--policy-dir", POLICIES,
                       "--backend", backend)
    assert code == 0
    decision = json.loads(out)
    assert check_data("decision", decision) == []
    assert decision["engine"]["backend"] == backend
    assert decision["policy"]["version"] == "2026.1"


def test_explain_prints_text_for_people() -> None:
    code, out, _ = run("explain", str(EXAMPLES[0]), "--policy-dir", POLICIES)
    assert code == 0
    assert out.startswith(f"case {example('01')['case_id']}: ")
    assert "findings:" in out


def test_yaml_case_from_stdin_and_policy_version_pin() -> None:
    import yaml

    text = yaml.safe_dump(example("08"))
    code, out, _ = run("evaluate", "-", "--policy-dir", POLICIES, "--policy-version", "2025.1",
                       stdin=text)
    assert code == 0 and json.loads(out)["policy"]["version"] == "2025.1"


def test_invalid_case_exits_2_listing_every_problem_with_its_path() -> None:
    bad = dict(example("08"), destinaton="DE")
    bad["items"] = [{"id": "a", "value": "lots"}]
    code, _, err = run("evaluate", "-", "--policy-dir", POLICIES, stdin=json.dumps(bad))
    assert code == 2
    assert "destinaton" in err and "items[0].value" in err


def test_malformed_json_exits_2_with_line_and_column() -> None:
    code, _, err = run("evaluate", "-", "--policy-dir", POLICIES, stdin='{"case_id": "x",\n  oops}')
    assert code == 2 and "<stdin>:2:" in err and "json-syntax" in err


def test_no_version_in_force_is_a_clear_error() -> None:
    old = dict(example("08"), submitted="2019-05-01")
    code, _, err = run("evaluate", "-", "--policy-dir", POLICIES, stdin=json.dumps(old))
    assert code == 2 and "no released version" in err


def test_usage_errors_exit_2() -> None:
    assert run("evaluate", "--policy-dir", POLICIES)[0] == 2
    assert run("evaluate", "x.json", "--batch", "y.jsonl")[0] == 2


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_batch_keeps_order_and_turns_bad_lines_into_error_records(tmp_path: Path,
                                                                  jobs: str) -> None:
    cases = [json.loads(p.read_text()) for p in EXAMPLES]
    lines = [json.dumps(c) for c in cases]
    lines.insert(3, "{not json")
    lines.insert(5, json.dumps({"case_id": "BAD-1", "items": []}))
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, out, err = run("evaluate", "--batch", str(path), "--jobs", jobs,
                         "--policy-dir", POLICIES, "--backend", "python")
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == len(lines)
    assert records[3]["line"] == 4 and "error" in records[3]
    assert records[5] == {**records[5], "line": 6, "case_id": "BAD-1", "error": "invalid case"}
    decided = [r["case_id"] for r in records if "decision" in r]
    assert decided == [c["case_id"] for c in cases]
    assert code == 2 and "2 line(s)" in err


def test_batch_output_is_identical_across_backends_and_jobs(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(p.read_text().replace("\n", "") + "\n" for p in EXAMPLES))
    outs = set()
    for backend, jobs in (("durable", "1"), ("durable", "2"), ("python", "2")):
        code, out, _ = run("evaluate", "--batch", str(path), "--jobs", jobs,
                           "--policy-dir", POLICIES, "--backend", backend)
        assert code == 0
        outs.add(out.replace(f'"backend":"{backend}"', '"backend":"-"'))
    assert len(outs) == 1


def test_invalid_policies_exit_1(tmp_path: Path) -> None:
    (tmp_path / "demo" / "2026.1").mkdir(parents=True)
    (tmp_path / "demo" / "2026.1" / "policy.yaml").write_text("policy: [unclosed\n")
    code, _, err = run("evaluate", str(EXAMPLES[0]), "--policy-dir", str(tmp_path))
    assert code == 1 and "yaml-syntax" in err


def test_readme_decision_example_is_current() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("The output of `echri evaluate examples/03")
    block = readme[readme.index("```json", start) + 7:]
    shown = json.loads(block[: block.index("```")])
    code, out, _ = run("evaluate", str(ROOT / "examples" / "03-imsi-catcher-brazil-police.json"),
                       "--policy-dir", POLICIES)
    assert code == 0 and json.loads(out) == shown, "README example is stale: regenerate it"
