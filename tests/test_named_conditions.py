"""Named, reusable conditions: `definitions:` in rules files, `{ref: id}` in conditions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import conditions
from engine.api import evaluate_with
from engine.backends import BACKENDS
from engine.cases import check_case
from engine.compiler import CompiledPolicy, compile_policy
from engine.diagnostics import Diagnostic
from engine.model import build_policy
from engine.repository import load_version_source
from engine.validator import validate_version
from tests import support

ALLIED_PRIVATE = {
    "id": "allied-private-user", "title": "Private end user in a low-band destination",
    "when": {"all": [{"fact": "end_user.government", "equals": False},
                     {"fact": "destination.band", "equals": "low"}]},
}
SURVEILLANCE = {
    "id": "surveillance-item", "title": "Cyber-surveillance item",
    "when": {"fact": "item.groups", "contains": "cyber_surveillance"},
}


def rule(rule_id: str, when: dict[str, Any], outcome: str = "refer") -> dict[str, Any]:
    return {"id": rule_id, "title": rule_id, "description": "d", "commitments": ["coc-1"],
            "basis": [{"source": "src"}], "when": when, "outcome": outcome,
            "message": f"{rule_id} for {{items}}"}


RULES = [
    rule("refer-surveillance-not-allied",
         {"all": [{"ref": "surveillance-item"}, {"not": {"ref": "allied-private-user"}}]}),
    rule("approve-allied", {"ref": "allied-private-user"}, "approve"),
]


def write(root: Path, definitions: list[dict[str, Any]], rules: list[dict[str, Any]] = RULES
          ) -> Path:
    path = support.write_version(root, rules=rules)
    (path / "rules" / "definitions.yaml").write_text(
        yaml.safe_dump({"definitions": definitions}, sort_keys=False), encoding="utf-8")
    return path


def problems(path: Path) -> list[Diagnostic]:
    """Errors, leaving out the demo destination table's (it lists three codes only)."""
    return [d for d in validate_version(load_version_source(path))[1]
            if d.severity == "error" and not (d.file or "").endswith("destinations.yaml")]


def compiled(path: Path) -> CompiledPolicy:
    return compile_policy(build_policy(load_version_source(path)))


def decide(path: Path, backend: str, **changes: Any) -> Any:
    assert problems(path) == []
    policy = compiled(path)
    case = support.case(**changes)
    check_case(case)
    return evaluate_with(policy, BACKENDS[backend](policy), case)


def test_a_definition_used_by_two_rules_validates(tmp_path: Path) -> None:
    assert problems(write(tmp_path, [ALLIED_PRIVATE, SURVEILLANCE])) == []


@pytest.mark.parametrize("backend", ["durable", "python"])
def test_named_conditions_decide_like_the_inline_conditions(tmp_path: Path,
                                                            backend: str) -> None:
    path = write(tmp_path, [ALLIED_PRIVATE, SURVEILLANCE])
    items = [{"id": "s", "category": "network_surveillance", "value": 10}]
    allied = decide(path, backend, items=items)
    assert "approve-allied" in allied.rules
    assert "refer-surveillance-not-allied" not in allied.rules
    police = decide(path, backend, items=items,
                    end_user={"name": "P", "country": "NO", "type": "law_enforcement"})
    assert "refer-surveillance-not-allied" in police.rules and police.decision == "refer"


def test_the_ir_is_the_expanded_condition(tmp_path: Path) -> None:
    named = write(tmp_path / "a", [ALLIED_PRIVATE, SURVEILLANCE])
    inline_rules = [rule("refer-surveillance-not-allied",
                         {"all": [SURVEILLANCE["when"], {"not": ALLIED_PRIVATE["when"]}]}),
                    rule("approve-allied", ALLIED_PRIVATE["when"], "approve")]
    inline = support.write_version(tmp_path / "b", rules=inline_rules)
    assert compiled(named).ir()["rules"] == compiled(inline).ir()["rules"]


def test_explanations_show_the_name_and_its_expansion(tmp_path: Path) -> None:
    policy = compiled(write(tmp_path, [ALLIED_PRIVATE, SURVEILLANCE]))
    readable = policy.rule("approve-allied").readable  # type: ignore[union-attr]
    assert readable.startswith("allied-private-user (= ")
    assert "end_user.government" in readable


def test_an_unknown_name_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    rules = [rule("approve-allied", {"ref": "allied-private-usr"}, "approve")]
    [found] = [d for d in problems(write(tmp_path, [ALLIED_PRIVATE], rules))
               if d.code != "unused-definition"]
    assert found.code == "unknown-definition" and found.file.endswith("rules/main.yaml")
    assert found.line is not None and "allied-private-user" in (found.help or "")


def test_a_cycle_is_rejected(tmp_path: Path) -> None:
    a = {"id": "a", "title": "A", "when": {"any": [{"ref": "b"}]}}
    b = {"id": "b", "title": "B", "when": {"not": {"ref": "a"}}}
    found = problems(write(tmp_path, [a, b], [rule("r", {"ref": "a"})]))
    assert any(d.code == "definition-cycle" and "a → b → a" in d.message for d in found)


def test_a_vocabulary_error_is_reported_in_the_definition(tmp_path: Path) -> None:
    bad = {"id": "bad", "title": "Bad", "when": {"fact": "end_user.type", "equals": "polise"}}
    path = write(tmp_path, [bad], [rule("r", {"ref": "bad"})])
    found = problems(path)
    assert [d.code for d in found] == ["unknown-ref"]
    lines = (path / "rules" / "definitions.yaml").read_text(encoding="utf-8").splitlines()
    assert found[0].file.endswith("rules/definitions.yaml")
    assert "polise" in lines[(found[0].line or 0) - 1]


def test_band_rules_cannot_use_named_conditions() -> None:
    _, found = conditions.parse({"ref": "x"}, (), None, ("destination.factors",), None)
    assert [p.code for p in found] == ["ref-not-allowed"]


def test_duplicate_definition_ids_are_reported(tmp_path: Path) -> None:
    found = problems(write(tmp_path, [ALLIED_PRIVATE, ALLIED_PRIVATE, SURVEILLANCE]))
    assert any("allied-private-user" in d.message and "duplicate" in d.code for d in found)


def test_an_unused_definition_is_a_lint_warning(tmp_path: Path) -> None:
    unused = {"id": "never-used", "title": "Unused", "when": {"fact": "case.item_count",
                                                             "gt": 1}}
    path = write(tmp_path, [ALLIED_PRIVATE, SURVEILLANCE, unused])
    from engine.validator.context import Context
    from engine.validator.lint import run_lints

    src = load_version_source(path)
    found = run_lints(Context(src, build_policy(src)))  # the demo table fails other checks
    [warning] = [d for d in found if d.code == "unused-definition"]
    assert "never-used" in warning.message and warning.severity == "warning"
