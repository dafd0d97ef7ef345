"""`echri serve` on a real loopback port: the CLI's decisions, concurrency, every problem."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.decisionlog import read_log, verify_log
from tests._server import ROOT, Server, cli_batch, decision_bytes, fixture_cases, running

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
FIXTURES = fixture_cases()
EXAMPLE = json.loads((ROOT / "examples/08-laptops-german-university.json").read_text())
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("service")
    with running(tmp, "--max-batch-items", "300", "--max-body-bytes", "200000") as s:
        yield s


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The CLI's decision bytes per fixture file (one batch per pinned version)."""
    tmp = tmp_path_factory.mktemp("cli")
    out: dict[str, bytes] = {}
    for pinned in sorted({p or "" for _, _, p in FIXTURES}):
        group = [(name, case) for name, case, p in FIXTURES if (p or "") == pinned]
        args = ("--policy-version", pinned) if pinned else ()
        lines = cli_batch([c for _, c in group], tmp, *args)
        out.update((name, line) for (name, _), line in zip(group, lines, strict=True))
    return out


def _post(client: httpx.Client, case: Any, pinned: str | None = None) -> httpx.Response:
    params = {"policy_version": pinned} if pinned else {}
    return client.post("/v1/decisions", json=case, params=params)


def test_every_fixture_gets_the_cli_decision_byte_for_byte(server: Server,
                                                           expected: dict[str, bytes]) -> None:
    with server.client() as client:
        for name, case, pinned in FIXTURES:
            response = _post(client, case, pinned)
            cli = expected[name]
            if cli.startswith(b'{"case_id":') and b'"error"' not in cli[:300]:
                assert response.status_code == 200, (name, response.text)
                assert decision_bytes(response) == cli, name
            else:  # the CLI wrote an error record: the service gives a problem
                assert response.status_code == 422, (name, response.text)


def test_sixteen_concurrent_clients_get_the_sequential_decisions(server: Server) -> None:
    cases = [(case, pinned) for _, case, pinned in FIXTURES[:32]]
    with server.client() as client:
        sequential = [decision_bytes(_post(client, c, p)) for c, p in cases]

    def one_client(k: int) -> list[bytes]:
        order = cases[k:] + cases[:k]  # every client in another order
        with server.client() as client:
            got = [decision_bytes(_post(client, c, p)) for c, p in order]
        return got[len(cases) - k:] + got[:len(cases) - k]

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one_client, range(16)))
    assert all(r == sequential for r in results)


def test_the_envelope_carries_a_time_ordered_id_and_the_contract_versions(server: Server) -> None:
    with server.client() as client:
        first = client.post("/v1/decisions", json=EXAMPLE).json()
        second = client.post("/v1/decisions", json={**EXAMPLE, "contract_version": "1"}).json()
    assert list(first) == ["decision_id", "contract_version", "case_contract_version",
                           "decision"]
    assert UUID7.match(first["decision_id"]) and first["decision_id"] < second["decision_id"]
    assert first["contract_version"] == "1"
    assert (first["case_contract_version"], second["case_contract_version"]) == (None, "1")
    assert first["decision"] == second["decision"]


BAD: list[tuple[str, dict[str, Any], int, str, str | None]] = [
    ("malformed", {"content": b'{"case_id": ', "headers": {"content-type": "application/json"}},
     400, "malformed-json", None),
    ("invalid-utf8", {"content": b'{"case_id": "\xff"}',
                      "headers": {"content-type": "application/json"}}, 400, "malformed-json",
     None),
    ("duplicate-key", {"content": b'{"case_id": "a", "case_id": "b"}',
                       "headers": {"content-type": "application/json"}}, 400, "malformed-json",
     None),
    ("nan", {"content": b'{"case_id": NaN}', "headers": {"content-type": "application/json"}},
     400, "malformed-json", None),
    ("text-plain", {"content": b"{}", "headers": {"content-type": "text/plain"}}, 415,
     "unsupported-media-type", None),
    ("no-content-type", {"content": b"{}"}, 415, "unsupported-media-type", None),
    ("too-large", {"content": b" " * 200001, "headers": {"content-type": "application/json"}},
     413, "too-large", None),
    ("contract", {"json": {**EXAMPLE, "items": [{"id": "a", "quantity": -1}]}}, 422,
     "contract-violation", "/items/0/quantity"),
    ("unknown-key", {"json": {**EXAMPLE, "colour": "red"}}, 422, "contract-violation",
     "/colour"),
    ("missing-key", {"json": {k: v for k, v in EXAMPLE.items() if k != "destination"}}, 422,
     "contract-violation", "/destination"),
    ("case-contract-version", {"json": {**EXAMPLE, "contract_version": "9"}}, 422,
     "contract-violation", "/contract_version"),
    ("not-in-force", {"json": {**EXAMPLE, "submitted": "1999-01-01"}}, 422, "policy-version",
     "/submitted"),
    ("not-an-object", {"json": [1, 2]}, 422, "contract-violation", ""),
]


@pytest.mark.parametrize(("name", "request_args", "status", "code", "pointer"), BAD,
                         ids=[b[0] for b in BAD])
def test_every_client_error_is_a_problem_document(server: Server, name: str,
                                                  request_args: dict[str, Any], status: int,
                                                  code: str, pointer: str | None) -> None:
    with server.client() as client:
        response = client.post("/v1/decisions", **request_args)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"].endswith("/" + code) and body["title"] and body["detail"]
    if pointer is not None:
        assert pointer in [e["pointer"] for e in body["errors"]], body


def test_unknown_route_and_wrong_method_are_problems(server: Server) -> None:
    with server.client() as client:
        missing = client.get("/v2/nothing")
        wrong = client.get("/v1/decisions")
        no_version = client.get("/v1/policies/echri-baseline/1999.1")
        unknown_version = client.post("/v1/decisions", json=EXAMPLE,
                                      params={"policy_version": "1999.1"})
    assert (missing.status_code, missing.json()["code"]) == (404, "not-found")
    assert (wrong.status_code, wrong.json()["code"]) == (405, "method-not-allowed")
    assert wrong.headers["allow"] == "POST"
    assert (no_version.status_code, no_version.headers["content-type"]) == (404, PROBLEM)
    assert unknown_version.json()["errors"][0]["code"] == "unknown-version"


def test_a_batch_keeps_the_order_and_gives_error_records(server: Server) -> None:
    cases = [case for _, case, pinned in FIXTURES[:20] if not pinned]
    mixed: list[Any] = [*cases[:3], 7, {"case_id": "x"}, *cases[3:]]
    with server.client() as client:
        singles = [decision_bytes(_post(client, c)) for c in cases]
        as_array = client.post("/v1/decisions:batch", json=mixed)
        lines = b"".join(json.dumps(c).encode() + b"\n" for c in mixed) + b"{nope\n"
        as_jsonl = client.post("/v1/decisions:batch", content=lines,
                               headers={"content-type": "application/x-ndjson"})
    for response, extra in ((as_array, 0), (as_jsonl, 1)):
        assert response.status_code == 200
        body = response.json()
        assert (body["count"], body["decided"]) == (len(mixed) + extra, len(cases))
        results = body["results"]
        assert [r["line"] for r in results] == list(range(1, len(mixed) + extra + 1))
        assert results[3]["error"]["code"] == "contract-violation"
        assert results[4]["case_id"] == "x"
        decided = [json.dumps(r["decision"], ensure_ascii=False, separators=(",", ":")).encode()
                   for r in results if "decision" in r]
        assert decided == singles
    assert as_jsonl.json()["results"][-1]["error"]["code"] == "malformed-json"


def test_batch_limits_and_media_types(server: Server) -> None:
    with server.client() as client:
        too_many = client.post("/v1/decisions:batch", json=[EXAMPLE] * 301)
        not_array = client.post("/v1/decisions:batch", json={"case_id": "x"})
        wrong_type = client.post("/v1/decisions:batch", content=b"[]",
                                 headers={"content-type": "text/csv"})
    assert (too_many.status_code, too_many.json()["code"]) == (413, "too-many-items")
    assert (not_array.status_code, not_array.json()["code"]) == (400, "invalid-request")
    assert wrong_type.status_code == 415


def test_policies_health_readiness_metrics_and_openapi(server: Server) -> None:
    with server.client() as client:
        listed = client.get("/v1/policies").json()["policies"]
        one = client.get("/v1/policies/echri-baseline/2026.1").json()
        health, ready = client.get("/healthz"), client.get("/readyz").json()
        client.post("/v1/decisions", json=EXAMPLE)
        metrics = client.get("/metrics").text
        spec = client.get("/openapi.json").json()
    assert [(p["id"], p["version"]) for p in listed] == [("echri-baseline", "2025.1"),
                                                         ("echri-baseline", "2026.1"),
                                                         ("echri-baseline", "2027.1")]
    assert all(p["digest"].startswith("sha256:") for p in listed)
    assert one["rules"] == len(one["rule_list"]) and one["status"] == "released"
    assert health.json() == {"status": "ok"} and ready["ready"] is True
    assert 'echri_decisions_total{outcome="approve",policy="echri-baseline",version="2026.1"}' \
        in metrics
    assert 'echri_http_requests_total{method="POST",route="/v1/decisions",status="200"}' \
        in metrics
    assert "echri_http_request_duration_seconds_bucket" in metrics
    assert 'echri_errors_total{code="not-found"}' in metrics or "echri_errors_total" in metrics
    decision_schema = json.loads((ROOT / "schemas/decision.schema.json").read_text())
    assert spec["openapi"] == "3.1.0"
    assert spec["components"]["schemas"]["Decision"]["required"] == decision_schema["required"]
    assert "contract_version" in spec["components"]["schemas"]["Case"]["properties"]


def test_request_ids_are_echoed_or_made(server: Server) -> None:
    with server.client() as client:
        given = client.get("/healthz", headers={"x-request-id": "req-42"})
        made = client.get("/healthz", headers={"x-request-id": "bad id <script>"})
    assert given.headers["x-request-id"] == "req-42"
    assert UUID7.match(made.headers["x-request-id"])


def test_a_connection_is_closed_after_its_keepalive_requests(server: Server) -> None:
    # --keepalive-requests (100 by default): the response that reaches it says
    # `connection: close` and the client carries on over a new connection
    with server.client() as client:
        answers = [client.get("/healthz") for _ in range(101)]
    closes = [k for k, r in enumerate(answers) if r.headers.get("connection") == "close"]
    assert all(r.status_code == 200 for r in answers)
    assert closes and closes[0] <= 99  # earlier when the port carried a connection before


def test_connection_counts_close_every_limit_th_request_per_connection() -> None:
    from engine.service.app import ConnectionCounts

    counts = ConnectionCounts(3)
    a = {"client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8181)}
    b = {"client": ("127.0.0.1", 5001), "server": ("127.0.0.1", 8181)}
    assert [counts.last_request(a) for _ in range(7)] == [False, False, True] * 2 + [False]
    assert [counts.last_request(b) for _ in range(3)] == [False, False, True]
    assert not ConnectionCounts(0).last_request(a)  # 0: no limit
    assert not counts.last_request({"client": None})  # no address (a unix socket)
    counts.CONNECTIONS = 2  # a full table is cleared, never grown without bound
    for port in range(10):
        counts.last_request({"client": ("127.0.0.1", port), "server": None})
    assert len(counts.counts) <= 2


def test_the_service_logs_every_decision_masked_and_chained(server: Server) -> None:
    case = {**EXAMPLE, "case_id": "LOG-1", "intermediaries": [{"name": "Jan Novak"}]}
    with server.client() as client:
        ids = [client.post("/v1/decisions", json=case,
                           headers={"x-request-id": f"log-{k}"}).json()["decision_id"]
               for k in range(3)]
    assert server.log_dir is not None
    records = {e.record["decision_id"]: e.record for e in read_log(server.log_dir)
               if e.record}
    assert set(ids) <= set(records)
    record = records[ids[0]]
    assert record["request_id"] == "log-0" and record["source"] == "service"
    assert record["case"]["intermediaries"][0]["name"].startswith("hmac-sha256:")
    assert record["case"]["end_user"]["name"].startswith("hmac-sha256:")
    assert record["case"]["exporter"]["name"] == EXAMPLE["exporter"]["name"]
    assert record["case_digest"].startswith("sha256:") and record["latency_ms"] >= 0
    assert record["policy"] == record["decision"]["policy"]
    assert "Jan Novak" not in (server.log_dir.glob("*.jsonl").__next__()).read_text()
    assert verify_log(server.log_dir).ok


def test_replay_reads_the_service_log(server: Server) -> None:
    assert server.log_dir is not None
    run = subprocess.run([sys.executable, "-m", "engine", "replay", "--log",
                          str(server.log_dir), "--policy", "echri-baseline@2026.1",
                          "--format", "json"], cwd=ROOT, capture_output=True, check=False)
    assert run.returncode == 0, run.stderr
    assert b"logged decision(s)" in run.stdout


def test_bad_decision_log_options_stop_serve_before_it_starts(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "engine", "serve", "--log-dir",
                          str(tmp_path), "--port", "1"], cwd=ROOT, capture_output=True,
                         env={"PATH": "/usr/bin"}, check=False, timeout=60)
    assert run.returncode == 2 and b"needs a key" in run.stderr


def test_a_service_without_a_decision_log_needs_no_masking_key(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the masker is the decision log's: without --log-dir no key is asked for (a worker
    # process asked for one and died with a traceback when serve had not checked it)
    from engine.service.config import ServiceConfig
    from engine.service.state import ServiceState

    monkeypatch.delenv("ECHRI_LOG_KEY", raising=False)
    state = ServiceState(ServiceConfig(policy_dir=str(ROOT / "policies")))
    state.start()
    try:
        assert state.ready and state.masker is None and state.committer is None
    finally:
        state.close()
