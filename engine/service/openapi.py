"""The OpenAPI 3.1 document of the service, built from schemas/*.json.

The case and decision contracts are the schema files themselves (OpenAPI 3.1 schemas are
JSON Schema 2020-12): their `$defs` are hoisted into `components/schemas` as
`<Name>_<def>` and their local `$ref`s rewritten, so there is one source of truth. The
envelope, batch, policy, health and problem schemas are defined here.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from engine.schemas import SCHEMA_DIR
from engine.service.problems import PROBLEM_TYPE, PROBLEMS
from engine.version import __version__

CONTRACT_VERSION = "1"  # of the decision contract (schemas/decision.schema.json) and envelope

def _case_contract_versions() -> tuple[str, ...]:
    """The `contract_version` values the case schema accepts (echoed by the service)."""
    raw = json.loads((SCHEMA_DIR / "case.schema.json").read_text(encoding="utf-8"))
    field = raw.get("properties", {}).get("contract_version", {})
    return tuple(field.get("enum", ()))


CASE_CONTRACT_VERSIONS = _case_contract_versions()
_DROP = ("$schema", "$id", "$defs")


def _rewrite(node: Any, name: str) -> Any:
    if isinstance(node, dict):
        out = {k: _rewrite(v, name) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            out["$ref"] = f"#/components/schemas/{name}_{ref[len('#/$defs/'):]}"
        return out
    if isinstance(node, list):
        return [_rewrite(v, name) for v in node]
    return node


def contract_schemas(kind: str, name: str) -> dict[str, Any]:
    """`schemas/<kind>.schema.json` as components: `name` and its hoisted `$defs`."""
    raw = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8"))
    out = {f"{name}_{k}": _rewrite(v, name) for k, v in raw.get("$defs", {}).items()}
    out[name] = _rewrite({k: v for k, v in raw.items() if k not in _DROP}, name)
    return out


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
    return {"content": {media: {"schema": schema}}}


_STR = {"type": "string"}
_NULL_STR = {"type": ["string", "null"]}
LOCAL_SCHEMAS: dict[str, Any] = {
    "DecisionEnvelope": {
        "type": "object", "additionalProperties": False,
        "required": ["decision_id", "contract_version", "case_contract_version", "decision"],
        "properties": {"decision_id": {"type": "string", "format": "uuid"},
                       "contract_version": {"const": CONTRACT_VERSION},
                       "case_contract_version": {"enum": [*CASE_CONTRACT_VERSIONS, None]},
                       "decision": _ref("Decision")}},
    "BatchResult": {
        "type": "object", "required": ["line"], "properties": {
            "line": {"type": "integer", "minimum": 1},
            "decision_id": {"type": "string", "format": "uuid"},
            "case_contract_version": {"enum": [*CASE_CONTRACT_VERSIONS, None]},
            "decision": _ref("Decision"), "case_id": _NULL_STR,
            "error": _ref("ProblemError"),
            "problems": {"type": "array", "items": _ref("ProblemError")}}},
    "BatchResponse": {
        "type": "object", "additionalProperties": False,
        "required": ["contract_version", "count", "decided", "results"],
        "properties": {"contract_version": {"const": CONTRACT_VERSION},
                       "count": {"type": "integer"}, "decided": {"type": "integer"},
                       "results": {"type": "array", "items": _ref("BatchResult")}}},
    "ProblemError": {
        "type": "object", "required": ["code", "pointer", "detail"],
        "properties": {"code": _STR, "pointer": _STR, "detail": _STR}},
    "Problem": {
        "type": "object", "required": ["type", "title", "status", "detail", "code", "errors"],
        "properties": {"type": {"type": "string", "format": "uri"}, "title": _STR,
                       "status": {"type": "integer"}, "detail": _STR,
                       "code": {"enum": sorted(PROBLEMS)}, "instance": _STR,
                       "errors": {"type": "array", "items": _ref("ProblemError")}}},
    "PolicySummary": {
        "type": "object",
        "required": ["id", "version", "title", "status", "effective_from", "effective_until",
                     "digest", "rules"],
        "properties": {"id": _STR, "version": _STR, "title": _STR,
                       "status": {"enum": ["released", "draft"]}, "effective_from": _STR,
                       "effective_until": _NULL_STR, "digest": _STR,
                       "rules": {"type": "integer"}}},
    "PolicyList": {
        "type": "object", "required": ["policies", "loaded_at"],
        "properties": {"policies": {"type": "array", "items": _ref("PolicySummary")},
                       "loaded_at": _STR, "source": _STR}},
    "PolicyDetail": {
        "allOf": [_ref("PolicySummary")], "type": "object",
        "properties": {"precedence": {"type": "array", "items": _STR},
                       "default_outcome": _STR,
                       "changes": {"type": "array", "items": _STR},
                       "rule_list": {"type": "array", "items": {
                           "type": "object", "required": ["id", "title", "outcome", "scope"],
                           "properties": {"id": _STR, "title": _STR, "outcome": _STR,
                                          "scope": {"enum": ["case", "item"]}}}}}},
    "Health": {"type": "object", "required": ["status"], "properties": {"status": _STR}},
    "Ready": {"type": "object", "required": ["ready"], "properties": {
        "ready": {"type": "boolean"}, "policies": {"type": "array", "items": _STR},
        "loaded_at": _NULL_STR, "last_reload": {"type": ["object", "null"]},
        "decision_log": {"type": ["object", "null"]},
        "worker": {"type": "integer"}, "workers": {"type": "integer"},
        "replacing_workers": {"type": "boolean"}}},
}


def _problems(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "a problem document",
                     **_json(_ref("Problem"), PROBLEM_TYPE)} for c in codes}


def _paths(admin: bool) -> dict[str, Any]:
    version_params = [
        {"name": "policy", "in": "query", "required": False, "schema": _STR,
         "description": "policy id when several are loaded"},
        {"name": "policy_version", "in": "query", "required": False, "schema": _STR,
         "description": "force a version instead of the one in force on `submitted`"}]
    batch_body = {"required": True, "content": {
        "application/json": {"schema": {"type": "array", "items": {}}},
        "application/x-ndjson": {"schema": {"type": "string"}}}}
    paths: dict[str, Any] = {
        "/v1/decisions": {"post": {
            "summary": "Decide one licence case", "operationId": "decide",
            "parameters": version_params,
            "requestBody": {"required": True, **_json(_ref("Case"))},
            "responses": {"200": {"description": "the decision and its id",
                                  **_json(_ref("DecisionEnvelope"))},
                          **_problems(400, 401, 413, 415, 422, 503)}}},
        "/v1/decisions:batch": {"post": {
            "summary": "Decide many cases (a JSON array or JSON Lines), in order",
            "operationId": "decideBatch", "parameters": version_params,
            "requestBody": batch_body,
            "responses": {"200": {"description": "one result per case, in order",
                                  **_json(_ref("BatchResponse"))},
                          **_problems(400, 401, 413, 415, 503)}}},
        "/v1/policies": {"get": {
            "summary": "Loaded policy versions", "operationId": "listPolicies",
            "responses": {"200": {"description": "every loaded version",
                                  **_json(_ref("PolicyList"))}, **_problems(401, 503)}}},
        "/v1/policies/{policy_id}/{version}": {"get": {
            "summary": "One policy version", "operationId": "getPolicy",
            "parameters": [{"name": n, "in": "path", "required": True, "schema": _STR}
                           for n in ("policy_id", "version")],
            "responses": {"200": {"description": "the version",
                                  **_json(_ref("PolicyDetail"))},
                          **_problems(401, 404, 503)}}},
        "/healthz": {"get": {"summary": "Alive", "operationId": "health", "security": [],
                             "responses": {"200": {"description": "alive",
                                                   **_json(_ref("Health"))}}}},
        "/readyz": {"get": {"summary": "Policies loaded and self-tested", "operationId": "ready",
                            "security": [],
                            "responses": {"200": {"description": "ready", **_json(_ref("Ready"))},
                                          "503": {"description": "not ready",
                                                  **_json(_ref("Ready"))}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics",
                             "security": [],
                             "responses": {"200": {"description": "text exposition format",
                                                   **_json(_STR, "text/plain")}}}},
    }
    if admin:
        paths["/v1/admin/reload"] = {"post": {
            "summary": "Reload the policies (atomically; a failed reload keeps the old set)",
            "operationId": "reload",
            "responses": {"200": {"description": "reloaded", **_json(_ref("Ready"))},
                          "202": {"description": "several workers: the new set passed its "
                                                 "checks, the workers are being replaced",
                                  **_json(_ref("Ready"))},
                          **_problems(401, 403, 422)}}}
    return paths


@cache
def openapi_document(auth: bool = False, admin: bool = False) -> bytes:
    """The OpenAPI 3.1 document, as JSON bytes."""
    schemas = {**contract_schemas("case", "Case"), **contract_schemas("decision", "Decision"),
               **copy.deepcopy(LOCAL_SCHEMAS)}
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "ECHRI policy engine", "version": __version__,
                 "description": "Decisions on export-licence cases under the ECHRI policies. "
                                "The decision body is the `echri evaluate` output."},
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": _paths(admin),
        "components": {"schemas": schemas},
    }
    if auth:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        doc["security"] = [{"bearer": []}]
    return json.dumps(doc, ensure_ascii=True, indent=1).encode("ascii")
