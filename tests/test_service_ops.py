"""Operating the service: SIGKILL under load, tokens, reloads, workers, schemathesis."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from engine.decisionlog import read_log, verify_log
from tests._server import ROOT, running

EXAMPLE = json.loads((ROOT / "examples/08-laptops-german-university.json").read_text())


@pytest.mark.slow
def test_sigkill_during_load_keeps_every_acknowledged_decision(tmp_path: Path) -> None:
    acknowledged: list[str] = []
    stop = threading.Event()
    with running(tmp_path) as server:
        def client() -> None:
            with server.client() as http:
                while not stop.is_set():
                    try:
                        response = http.post("/v1/decisions", json=EXAMPLE)
                    except httpx.HTTPError:
                        return  # the server is gone
                    if response.status_code == 200:
                        acknowledged.append(response.json()["decision_id"])

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        stop.set()
        for t in threads:
            t.join(10)
    assert server.log_dir is not None and len(acknowledged) > 20
    logged = {e.record["decision_id"] for e in read_log(server.log_dir) if e.record}
    assert set(acknowledged) <= logged
    report = verify_log(server.log_dir)
    assert report.ok, report.errors  # a torn last line would be a warning only
    replay = subprocess.run([sys.executable, "-m", "engine", "replay", "--log",
                             str(server.log_dir), "--policy", "echri-baseline@2026.1",
                             "--fail-on", "any"], cwd=ROOT, capture_output=True, check=False)
    assert replay.returncode == 0, replay.stdout[-2000:]  # replayed, nothing changed


def _break(policy_dir: Path) -> None:
    rules = sorted((policy_dir / "echri-baseline/2026.1/rules").glob("*.yaml"))[0]
    rules.write_text(rules.read_text() + "\n  - id: broken\n", encoding="utf-8")


def _next_reload(http: httpx.Client, after: str) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready = http.get("/readyz").json()
        if ready["last_reload"]["at"] != after:
            return dict(ready)
        time.sleep(0.1)
    raise AssertionError("no reload happened")


@pytest.mark.slow
def test_tokens_admin_reload_and_sighup(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    (tmp_path / "tokens").write_text("# clients\nsecret-1\nsecret-2\n")
    (tmp_path / "admin").write_text("admin-token\n")
    with running(tmp_path, "--token-file", str(tmp_path / "tokens"), "--admin-token-file",
                 str(tmp_path / "admin"), policy_dir=policies, log=False) as server:
        auth = {"authorization": "Bearer secret-2"}
        with server.client() as http:
            assert http.post("/v1/decisions", json=EXAMPLE).status_code == 401
            wrong = http.get("/v1/policies", headers={"authorization": "Bearer nope"})
            assert wrong.status_code == 401 and wrong.headers["www-authenticate"]
            assert http.post("/v1/decisions", json=EXAMPLE, headers=auth).status_code == 200
            assert http.get("/healthz").status_code == 200
            assert http.get("/openapi.json").json()["security"] == [{"bearer": []}]
            assert http.post("/v1/admin/reload", headers=auth).status_code == 401
            admin = {"authorization": "Bearer admin-token"}
            assert http.post("/v1/admin/reload", headers=admin).json()["last_reload"]["ok"]
            _break(policies)
            failed = http.post("/v1/admin/reload", headers=admin)
            assert (failed.status_code, failed.json()["code"]) == (422, "reload-failed")
            before = http.get("/readyz").json()["last_reload"]["at"]
            server.process.send_signal(signal.SIGHUP)
            ready = _next_reload(http, before)
            assert ready["ready"] and ready["last_reload"]["ok"] is False
            assert ready["last_reload"]["error"]
            assert http.post("/v1/decisions", json=EXAMPLE, headers=auth).status_code == 200
            shutil.rmtree(policies)
            shutil.copytree(ROOT / "policies", policies)
            server.process.send_signal(signal.SIGHUP)
            assert _next_reload(http, ready["last_reload"]["at"])["last_reload"]["ok"]


@pytest.mark.slow
def test_admin_endpoint_is_off_by_default(tmp_path: Path) -> None:
    with running(tmp_path, "--workers", "2") as server, server.client() as http:
        assert http.post("/v1/admin/reload").status_code == 404
        ids = [http.post("/v1/decisions", json=EXAMPLE).json()["decision_id"]
               for _ in range(20)]
        assert len(set(ids)) == 20
    assert server.log_dir is not None
    report = verify_log(server.log_dir)
    assert report.ok and report.records == 20  # one stream per worker process


def test_schemathesis_finds_no_server_error_and_no_nonconforming_response(
        tmp_path: Path) -> None:
    pytest.importorskip("schemathesis")
    with running(tmp_path, log=False) as server:
        run = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "run",
             f"{server.url}/openapi.json", "--checks",
             "not_a_server_error,status_code_conformance,content_type_conformance,"
             "response_schema_conformance", "--max-examples", "8", "--seed", "7",
             "--phases", "fuzzing", "--generation-database", "none"],
            cwd=tmp_path, capture_output=True, check=False, timeout=300)
    assert run.returncode == 0, run.stdout.decode(errors="replace")[-4000:]


def _readyz_fresh(url: str, n: int) -> list[tuple[int, int | None]]:
    """(status, worker pid) of `n` GET /readyz, each on a new connection (so the kernel
    spreads them over the workers); status 0 when the connection failed."""
    out: list[tuple[int, int | None]] = []
    for _ in range(n):
        try:
            response = httpx.get(url + "/readyz", timeout=10)
        except httpx.HTTPError:
            out.append((0, None))
            continue
        out.append((response.status_code, response.json().get("worker")))
    return out


def _wait_replaced(url: str, old: set[int], workers: int) -> list[tuple[int, int | None]]:
    """Poll /readyz until `workers` pids answer, none of them in `old`; every answer seen."""
    seen: list[tuple[int, int | None]] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        batch = _readyz_fresh(url, 12)
        seen += batch
        recent = {pid for status, pid in seen[-24:] if status == 200}
        if len(recent) == workers and not recent & old:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"the workers were not replaced: {seen[-24:]}")


def _pids(answers: list[tuple[int, int | None]]) -> set[int]:
    return {pid for status, pid in answers if status == 200 and pid is not None}


@pytest.mark.slow
def test_sighup_with_two_workers_replaces_them_and_stays_ready(tmp_path: Path) -> None:
    with running(tmp_path, "--workers", "2") as server:
        old = _pids(_readyz_fresh(server.url, 30))
        assert len(old) == 2
        server.process.send_signal(signal.SIGHUP)  # the supervisor: `echri serve` itself
        seen = _wait_replaced(server.url, old, 2)
        assert all(status == 200 for status, _ in seen), seen  # never unready, never refused
        with server.client() as http:
            assert http.post("/v1/decisions", json=EXAMPLE).status_code == 200
    assert server.log_dir is not None
    assert verify_log(server.log_dir).ok  # the old workers closed their streams cleanly


@pytest.mark.slow
def test_admin_reload_with_two_workers_replaces_every_worker(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    (tmp_path / "admin").write_text("admin-token\n")
    admin = {"authorization": "Bearer admin-token"}
    with running(tmp_path, "--workers", "2", "--admin-token-file", str(tmp_path / "admin"),
                 policy_dir=policies, log=False) as server:
        old = _pids(_readyz_fresh(server.url, 30))
        assert len(old) == 2
        _break(policies)  # checked by the worker that gets it: no worker is replaced
        failed = httpx.post(server.url + "/v1/admin/reload", headers=admin, timeout=60)
        assert (failed.status_code, failed.json()["code"]) == (422, "reload-failed")
        time.sleep(1)
        assert _pids(_readyz_fresh(server.url, 20)) == old
        shutil.rmtree(policies)
        shutil.copytree(ROOT / "policies", policies)
        accepted = httpx.post(server.url + "/v1/admin/reload", headers=admin, timeout=60)
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["replacing_workers"] is True
        seen = _wait_replaced(server.url, old, 2)  # both, not only the one that was asked
        assert all(status == 200 for status, _ in seen), seen


def _sample(metrics: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in metrics.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, value = line.rsplit(" ", 1)
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


@pytest.mark.slow
def test_metrics_aggregate_both_workers_with_multiproc_dir(tmp_path: Path) -> None:
    prom = tmp_path / "prometheus"
    prom.mkdir()
    with running(tmp_path, "--workers", "2",
                 env={"PROMETHEUS_MULTIPROC_DIR": str(prom)}) as server:
        sent = 0
        while sent < 200:  # new connections, so both workers serve some
            response = httpx.post(server.url + "/v1/decisions", json=EXAMPLE, timeout=30)
            assert response.status_code == 200
            sent += 1
            if sent >= 40 and server.log_dir is not None and \
                    len(list(server.log_dir.glob("decisions-*.jsonl"))) == 2:
                break
        assert server.log_dir is not None
        assert len({e.record["stream"] for e in read_log(server.log_dir) if e.record}) == 2
        for _ in range(3):  # whichever worker answers, the totals are the same
            text = httpx.get(server.url + "/metrics", timeout=30).text
            assert _sample(text, "echri_decisions_total") == sent
            assert _sample(text, "echri_decision_log_records_total") == sent
            assert _sample(text, "echri_http_requests_total", route="/v1/decisions",
                           status="200") == sent
            assert _sample(text, "echri_ready") == 1  # max over the workers
