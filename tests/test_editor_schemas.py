"""Editor schemas (engine/editor/): generated per version, never stale, never stricter than
the validator, and they know the vocabulary (fact names, category ids, definition refs).

The last test drives yaml-language-server over LSP when it is installed
(`npm install yaml-language-server`; `YAML_LANGUAGE_SERVER=/path/to/yaml-language-server`
or on PATH); it is skipped otherwise, so `make test` does not need npm.
"""

from __future__ import annotations

import json
import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from engine.cli import main
from engine.editor import KINDS, version_schemas
from engine.facts import FACTS
from engine.model import Policy
from engine.repository import find_version_dirs, load_version_source
from engine.schemas import file_kind
from engine.validator import validate_paths, validate_version
from engine.versions import new_version

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
GENERATED = ROOT / "schemas" / "generated"
VERSION_DIRS = find_version_dirs(POLICIES)
IDS = [p.relative_to(POLICIES).as_posix() for p in VERSION_DIRS]
LATEST = VERSION_DIRS[-1]


@cache
def policy(path: Path) -> Policy:
    found, diagnostics = validate_version(load_version_source(path), lint=False)
    assert found is not None, diagnostics
    return found


@cache
def schemas(path: Path) -> dict[str, Draft202012Validator]:
    return {k: Draft202012Validator(json.loads(t)) for k, t in
            version_schemas(policy(path)).items()}


def errors(path: Path, kind: str, data: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in schemas(path)[kind].iter_errors(data)]


def test_generated_schemas_are_up_to_date() -> None:
    """`echri schema generate --check` over every version: completion cannot go stale."""
    result = CliRunner().invoke(main, ["schema", "generate", "--check", "--policy-dir",
                                       str(POLICIES), "--output", str(GENERATED)])
    assert result.exit_code == 0, (result.output, "run `make schemas`")
    assert sorted(p.relative_to(GENERATED).as_posix() for p in GENERATED.rglob("*.json")) \
        == sorted(f"{i}/{k}.schema.json" for i in IDS for k in KINDS)


def test_check_reports_a_stale_file(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    args = ["schema", "generate", LATEST.name, "--policy-dir", str(POLICIES),
            "--output", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    stale = out / LATEST.relative_to(POLICIES) / "rules.schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    (stale.parent / "old.schema.json").write_text("{}\n", encoding="utf-8")
    result = CliRunner().invoke(main, [*args, "--check"])
    assert result.exit_code == 1
    assert "rules.schema.json: out of date" in result.output
    assert "old.schema.json: out of date" in result.output


@pytest.mark.parametrize("path", VERSION_DIRS, ids=IDS)
def test_generated_schemas_are_draft_2020_12(path: Path) -> None:
    for text in version_schemas(policy(path)).values():
        Draft202012Validator.check_schema(json.loads(text))


@pytest.mark.parametrize("path", VERSION_DIRS, ids=IDS)
def test_every_policy_file_and_fixture_passes_its_generated_schema(path: Path) -> None:
    """The generated schemas are never stricter than `echri validate`."""
    problems = []
    for file in sorted(path.rglob("*.yaml")):
        kind = file_kind(file.relative_to(path).as_posix())
        assert kind is not None, file
        problems += [f"{file}: {e}" for e in
                     errors(path, kind, yaml.safe_load(file.read_text("utf-8")))]
    for file in sorted((ROOT / "fixtures").rglob("*.yaml")):
        problems += [f"{file}: {e}" for e in
                     errors(path, "fixture", yaml.safe_load(file.read_text("utf-8")))]
    assert problems == []


def rules_file(when: dict[str, Any], **extra: Any) -> dict[str, Any]:
    rule = {"id": "r", "title": "t", "description": "d", "commitments": ["coc-1"],
            "basis": [{"source": next(iter(policy(LATEST).sources))}], "when": when,
            "outcome": "deny", "message": "m", **extra}
    return {"rules": [rule]}


def test_vocabulary_comes_from_the_registry_and_the_policy() -> None:
    schema = json.loads(version_schemas(policy(LATEST))["rules"])
    fact = schema["$defs"]["test"]["properties"]["fact"]
    assert fact["enum"] == list(FACTS)
    assert all(FACTS[n].description in d
               for n, d in zip(fact["enum"], fact["markdownEnumDescriptions"], strict=True))
    categories = schema["$defs"]["vocab_categories"]
    p = policy(LATEST)
    assert categories["enum"] == sorted(p.categories)
    assert categories["markdownEnumDescriptions"] == [p.categories[c].title
                                                      for c in sorted(p.categories)]
    assert schema["$defs"]["vocab_definitions"]["enum"] == sorted(p.definitions)


def test_a_known_condition_passes() -> None:
    category = sorted(policy(LATEST).categories)[0]
    assert errors(LATEST, "rules", rules_file(
        {"all": [{"fact": "item.category", "equals": category},
                 {"not": {"ref": sorted(policy(LATEST).definitions)[0]}},
                 {"at_least": 1, "of": [{"fact": "item.value", "gt": 10}]}]})) == []


def test_an_unknown_fact_name_fails() -> None:
    assert errors(LATEST, "rules", rules_file({"fact": "item.categroy", "equals": "x"})) \
        == ["$.rules[0].when.fact: 'item.categroy' is not one of " + repr(list(FACTS))]


def test_an_unknown_category_id_fails() -> None:
    found = errors(LATEST, "rules", rules_file({"fact": "item.category",
                                                "equals": "intrusion_sofware"}))
    assert len(found) == 1 and found[0].startswith(
        "$.rules[0].when.equals: 'intrusion_sofware' is not one of ")


def test_an_unknown_definition_ref_fails() -> None:
    found = errors(LATEST, "rules", rules_file({"not": {"ref": "no-such-definition"}}))
    assert len(found) == 1 and found[0].startswith(
        "$.rules[0].when.not.ref: 'no-such-definition' is not one of ")


def test_an_operator_of_another_type_is_named() -> None:
    """One plain message, not "more properties than limit" or "matches more than one"."""
    assert errors(LATEST, "rules", rules_file({"fact": "item.category", "lt": 3})) == [
        "$.rules[0].when: Additional properties are not allowed ('lt' was unexpected)"]
    found = errors(LATEST, "rules", rules_file({"all": [], "any": [{"ref": "x"}]}))
    assert "$.rules[0].when: Additional properties are not allowed ('any' was unexpected)" \
        in found
    assert not [e for e in found if "more than one" in e or "too many" in e]


def test_ids_of_rules_complete() -> None:
    assert errors(LATEST, "rules", rules_file(
        {"fact": "item.classified", "equals": True}, require_assurances=["no_such_one"]))
    band = {"factors": [], "bands": {"order": ["low"], "rules": [
        {"band": "low", "when": {"fact": "end_user.type", "equals": "military"}}],
        "default": "low"}}
    assert any("'end_user.type' is not one of" in e
               for e in errors(LATEST, "risk_bands", band))


def test_case_vocabulary_is_open() -> None:
    """Unknown ids in a case are findings of the engine, not schema errors."""
    fixture = yaml.safe_load(next((ROOT / "fixtures").rglob("*.yaml")).read_text("utf-8"))
    fixture["case"]["destination"] = "ZZ"
    assert errors(LATEST, "fixture", fixture) == []
    schema = json.loads(version_schemas(policy(LATEST))["fixture"])
    assert schema["$defs"]["vocab_destinations"]["enum"] == sorted(policy(LATEST).destinations)


def test_version_new_points_the_draft_at_its_generated_schemas(tmp_path: Path) -> None:
    shutil.copytree(POLICIES, tmp_path / "policies")
    (tmp_path / "schemas").mkdir()
    pid, old = LATEST.parent.name, LATEST.name
    draft = new_version(tmp_path / "policies", "2099.1", f"{pid}@{old}", "2099-01-01")
    out = tmp_path / "schemas" / "generated" / pid / "2099.1"
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{k}.schema.json" for k in KINDS)
    rules = sorted((draft / "rules").glob("*.yaml"))[0]
    first = rules.read_text("utf-8").splitlines()[0]
    assert first == ("# yaml-language-server: $schema=../../../../schemas/generated/"
                     f"{pid}/2099.1/rules.schema.json")
    assert (rules.parent / first.split("=", 1)[1]).resolve() == out / "rules.schema.json"
    assert (draft / "policy.yaml").read_text("utf-8").startswith(
        f"# yaml-language-server: $schema=../../../schemas/generated/{pid}/2099.1/"
        "policy.schema.json\n")
    problems = validate_paths([draft], tmp_path / "policies", checksums=False)
    assert [d for d in problems if d.severity == "error" or "modeline" in d.code] == []


def test_vscode_settings_map_released_files_to_generated_schemas() -> None:
    settings = json.loads((ROOT / ".vscode" / "settings.json").read_text("utf-8"))
    mapped = settings["yaml.schemas"]
    for schema in mapped:
        assert (ROOT / schema).is_file(), schema
    latest = f"schemas/generated/{LATEST.relative_to(POLICIES).as_posix()}/rules.schema.json"
    assert f"policies/{LATEST.relative_to(POLICIES).as_posix()}/rules/*.yaml" in \
        mapped[latest]


def _language_server() -> str | None:
    return os.environ.get("YAML_LANGUAGE_SERVER") or shutil.which("yaml-language-server")


@pytest.mark.skipif(_language_server() is None, reason="yaml-language-server not installed")
def test_yaml_language_server_completes_facts_and_ids(tmp_path: Path) -> None:
    from tests._lsp import LspClient

    schema = (GENERATED / LATEST.relative_to(POLICIES) / "rules.schema.json").resolve()
    settings = {"yaml": {"validate": True, "completion": True, "hover": True, "schemas": {},
                         "schemaStore": {"enable": False}}}
    server = _language_server()
    assert server is not None
    client = LspClient([server, "--stdio"], settings)
    try:
        client.request("initialize", {
            "processId": None, "rootUri": tmp_path.as_uri(),
            "capabilities": {"textDocument": {"completion": {"completionItem": {
                "documentationFormat": ["markdown"]}}}, "workspace": {"configuration": True}}})
        client.notify("initialized", {})
        client.notify("workspace/didChangeConfiguration", {"settings": settings})
        uri = (tmp_path / "r.yaml").as_uri()
        head = f"# yaml-language-server: $schema={schema.as_uri()}\nrules:\n  - id: x\n    when:\n"

        def complete(body: str, line: int, column: int, version: int) -> dict[str, Any]:
            if version == 1:
                client.notify("textDocument/didOpen", {"textDocument": {
                    "uri": uri, "languageId": "yaml", "version": 1, "text": head + body}})
            else:
                client.notify("textDocument/didChange", {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"text": head + body}]})
            found = client.request("textDocument/completion", {
                "textDocument": {"uri": uri}, "position": {"line": line, "character": column}})
            items = found["items"] if isinstance(found, dict) else found
            return {i["label"]: i for i in items}

        facts = complete("      fact: \n", 4, 12, 1)
        assert set(FACTS) <= set(facts)
        assert FACTS["item.category"].description in \
            facts["item.category"]["documentation"]["value"]
        values = complete("      fact: item.category\n      equals: \n", 5, 14, 2)
        p = policy(LATEST)
        assert set(values) == set(p.categories)
        some = sorted(p.categories)[0]
        assert p.categories[some].title in json.dumps(values[some])
        operators = complete("      fact: item.category\n      \n", 5, 6, 3)
        assert {"equals", "in", "exists"} <= set(operators)
        assert not {"lt", "contains"} & set(operators)
    finally:
        client.close()
