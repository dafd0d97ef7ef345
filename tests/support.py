"""Build small policy versions on disk for unit tests of the core pipeline."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from engine.compiler import CompiledPolicy, compile_policy
from engine.model import build_policy
from engine.repository import load_version_source

BASE: dict[str, Any] = {
    "policy.yaml": {
        "policy": "demo", "version": "2026.1", "title": "Demo", "status": "released",
        "effective_from": "2026-01-01",
        "outcomes": {"precedence": ["deny", "refer", "request_information",
                                    "approve_with_conditions", "approve"],
                     "default": "approve"},
        "commitments": [{"id": "coc-1", "title": "Control exports"},
                        {"id": "coc-4", "title": "Assurances and information"}],
    },
    "sources.yaml": {"sources": [{"id": "src", "title": "Source", "confidence": "V"}]},
    "categories.yaml": {
        "risk_levels": ["low", "medium", "high", "critical"],
        "groups": [{"id": "cyber_surveillance", "title": "Cyber-surveillance"}],
        "categories": [
            {"id": "intrusion_software", "title": "Intrusion software", "description": "d",
             "risk": "critical", "groups": ["cyber_surveillance"],
             "control_entries": [{"entry": "4A005", "regime": "wassenaar"},
                                 {"entry": "4D004", "regime": "wassenaar"}],
             "sources": [{"source": "src"}]},
            {"id": "network_surveillance", "title": "Network surveillance", "description": "d",
             "risk": "high", "groups": ["cyber_surveillance"],
             "control_entries": [{"entry": "5A001.j", "regime": "wassenaar"}],
             "sources": [{"source": "src"}]},
            {"id": "general_it", "title": "General IT", "description": "d", "risk": "low",
             "control_entries": [], "sources": [{"source": "src"}]},
        ],
    },
    "risk_bands.yaml": {
        "factors": [{"id": "arms_embargo", "title": "Arms embargo"},
                    {"id": "misuse", "title": "Documented misuse"}],
        "bands": {"order": ["embargoed", "high", "elevated", "low"],
                  "rules": [
                      {"band": "embargoed",
                       "when": {"fact": "destination.factors", "contains": "arms_embargo"}},
                      {"band": "high", "when": {"any": [
                          {"fact": "destination.factors", "contains": "misuse"},
                          {"fact": "destination.freedom_status", "equals": "not_free"}]}},
                      {"band": "elevated",
                       "when": {"fact": "destination.freedom_score", "lt": 70}}],
                  "default": "low"},
    },
    "destinations.yaml": {"destinations": {
        "NO": {"name": "Norway", "factors": [],
               "freedom_house": {"status": "free", "score": 98, "source": "src", "as_of": "2026"}},
        "BR": {"name": "Brazil", "factors": [],
               "freedom_house": {"status": "free", "score": 72, "source": "src", "as_of": "2026"}},
        "XA": {"name": "Embargoland", "factors": [{"id": "arms_embargo", "source": "src",
                                                    "as_of": "2026"}]},
        "XB": {"name": "Misuseland", "factors": [{"id": "misuse", "source": "src",
                                                   "as_of": "2026"}],
               "freedom_house": {"status": "partly_free", "score": 50, "source": "src",
                                 "as_of": "2026"}},
    }},
    "end_users.yaml": {
        "end_user_types": [
            {"id": "law_enforcement", "title": "Police", "description": "d", "government": True},
            {"id": "private_company", "title": "Company", "description": "d",
             "government": False}],
        "red_flags": [{"id": "restricted_party", "title": "Restricted"},
                      {"id": "unusual_routing", "title": "Routing"}],
        "end_use_purposes": [{"id": "network_security", "title": "Security"},
                             {"id": "criminal_investigation", "title": "Investigation"}],
        "intermediary_roles": [{"id": "distributor", "title": "Distributor"}],
    },
    "assurances.yaml": {
        "assurances": [{"id": "end_use_certificate", "title": "EUC", "description": "d",
                        "contents": ["end use"]},
                       {"id": "no_reexport", "title": "No re-export", "description": "d",
                        "contents": ["no re-export"]}],
        "license_conditions": [{"id": "annual_report", "title": "Report",
                                "text": "Report annually."}],
    },
    "information.yaml": {"requirements": [
        {"id": "info-end-user-type", "title": "End-user type", "field": "end_user.type",
         "request": "Give the end-user type.", "commitments": ["coc-4"]}]},
}

RULES: list[dict[str, Any]] = [
    {"id": "deny-embargo", "title": "Embargo", "description": "d", "commitments": ["coc-1"],
     "basis": [{"source": "src", "pinpoint": "Art. 1"}],
     "when": {"all": [{"fact": "destination.band", "equals": "embargoed"},
                      {"fact": "item.groups", "contains": "cyber_surveillance"}]},
     "outcome": "deny", "message": "{category} to embargoed {destination.name}"},
    {"id": "refer-high", "title": "High", "description": "d", "commitments": ["coc-1"],
     "basis": [{"source": "src"}],
     "when": {"all": [{"fact": "destination.band", "equals": "high"},
                      {"fact": "item.category", "in": ["intrusion_software"]}]},
     "outcome": "refer", "message": "high risk {destination}"},
    {"id": "assure-surveillance", "title": "Assurances", "description": "d",
     "commitments": ["coc-4"], "basis": [{"source": "src"}],
     "when": {"fact": "item.groups", "contains": "cyber_surveillance"},
     "require_assurances": ["end_use_certificate"], "message": "EUC needed for {items}"},
    {"id": "condition-large", "title": "Large", "description": "d", "commitments": ["coc-4"],
     "basis": [{"source": "src"}], "when": {"fact": "item.value", "gte": 100000},
     "conditions": ["annual_report"], "message": "value {item.value}"},
    {"id": "deny-restricted", "title": "Restricted", "description": "d",
     "commitments": ["coc-1"], "basis": [{"source": "src"}],
     "when": {"fact": "end_user.flags", "contains": "restricted_party"},
     "outcome": "deny", "message": "restricted party"},
    {"id": "info-unclassified", "title": "Unclassified", "description": "d",
     "commitments": ["coc-4"], "basis": [{"source": "src"}],
     "when": {"fact": "item.classified", "equals": False},
     "outcome": "request_information", "message": "classify {items}"},
]


def write_version(root: Path, files: dict[str, Any] | None = None,
                  rules: list[dict[str, Any]] | None = None, **meta: Any) -> Path:
    """Write a demo version under root/demo/<version>/ and return its directory."""
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    data["policy.yaml"] = {**BASE["policy.yaml"], **meta}
    data.update(files or {})
    version = data["policy.yaml"]["version"]
    path = root / "demo" / version
    (path / "rules").mkdir(parents=True, exist_ok=True)
    for name, content in data.items():
        (path / name).write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    (path / "rules" / "main.yaml").write_text(
        yaml.safe_dump({"rules": RULES if rules is None else rules}, sort_keys=False),
        encoding="utf-8")
    return path


def validate_written(path: Path) -> list[Any]:
    """Diagnostics of the version written at `path` (validation, then lints when it has no
    error), with modelines added first; the demo destination table lists a few codes only,
    so its diagnostics are left out."""
    from engine.validator import validate_version
    from engine.validator.context import Context
    from engine.validator.lint import run_lints

    modeline = "# yaml-language-server: $schema={depth}schemas/{kind}.schema.json\n"
    for file in sorted(path.rglob("*.yaml")):
        kind = "rules" if file.parent.name == "rules" else file.stem
        depth = "../" * (len(file.relative_to(path).parts) + 2)
        file.write_text(modeline.format(depth=depth, kind=kind)
                        + file.read_text(encoding="utf-8"), encoding="utf-8")
    src = load_version_source(path)
    _, found = validate_version(src)
    found = [d for d in found if not d.file.endswith("destinations.yaml")]
    if not any(d.severity == "error" for d in found):  # lints run only without errors
        found += run_lints(Context(src, build_policy(src)))
    return found


def compiled(root: Path, **kwargs: Any) -> CompiledPolicy:
    return compile_policy(build_policy(load_version_source(write_version(root, **kwargs))))


def case(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "case_id": "T-1", "submitted": "2026-03-01",
        "exporter": {"name": "Exporter GmbH", "country": "NO",
                     "due_diligence": {"hrdd_policy": True, "transaction_assessment": True}},
        "items": [{"id": "i1", "category": "general_it", "value": 1000, "quantity": 1}],
        "destination": "NO",
        "end_user": {"name": "Firm AS", "country": "NO", "type": "private_company", "flags": []},
        "end_use": {"purpose": "network_security", "description": "firewall"},
        "assurances": [],
    }
    base.update(overrides)
    return base


def baseline_case(**overrides: Any) -> dict[str, Any]:
    """A case the shipped baseline policy approves as it stands (both released versions)."""
    base: dict[str, Any] = {
        "case_id": "BASE-1", "submitted": "2026-03-02", "destination": "NO",
        "exporter": {"name": "Exporter AB", "country": "SE",
                     "due_diligence": {"hrdd_policy": True, "transaction_assessment": True}},
        "end_user": {"name": "Oslo Politidistrikt", "country": "NO", "type": "law_enforcement"},
        "end_use": {"purpose": "criminal_investigation", "description": "casework"},
        "items": [{"id": "a", "category": "general_it", "description": "servers",
                   "quantity": 2, "value": 1000}],
        "assurances": ["end_use_certificate", "no_reexport"],
    }
    base.update(overrides)
    return base


def load_tool(name: str) -> ModuleType:
    """A script of tools/ (`fuzz`, `report_pdf`) imported as module `echri_<name>`: the
    tools are scripts, not a package."""
    path = Path(__file__).resolve().parent.parent / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"echri_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module
