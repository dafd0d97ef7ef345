"""POST /v1/decisions (engine/service/fastpath.py) answers what Starlette's route answered.

Both applications run in process: one as `create_app` builds it, one without the fast
route, so Starlette's route and handlers answer; every kind of request, good and bad, must
get the same status, headers (but the request id) and body from both.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from engine.service.app import create_app
from engine.service.config import ServiceConfig

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = json.loads((ROOT / "examples/08-laptops-german-university.json").read_text())
TOKEN = "s3cret-token"
JSON = [(b"content-type", b"application/json")]


def _json(case: Any) -> bytes:
    return json.dumps(case).encode()


# (name, headers, body chunks, query string)
REQUESTS: list[tuple[str, list[tuple[bytes, bytes]], list[bytes], bytes]] = [
    ("decision", JSON, [_json(EXAMPLE)], b""),
    ("in-chunks", JSON, [_json(EXAMPLE)[:40], _json(EXAMPLE)[40:]], b""),
    ("pinned", JSON, [_json(EXAMPLE)], b"policy_version=2025.1"),  # not the one in force
    ("pinned-unknown", JSON, [_json(EXAMPLE)], b"policy_version=1999.9"),
    ("unknown-policy", JSON, [_json(EXAMPLE)], b"policy=nope"),
    ("charset", [(b"content-type", b"Application/JSON; charset=utf-8")], [_json(EXAMPLE)], b""),
    ("engine-policy", JSON, [_json({**EXAMPLE, "submitted": "1999-01-01"})], b""),
    ("contract", JSON, [_json({**EXAMPLE, "items": [{"id": "a", "quantity": -1}]})], b""),
    ("not-an-object", JSON, [b"[1, 2]"], b""),
    ("malformed", JSON, [b'{"case_id": '], b""),
    ("bad-utf8", JSON, [b'{"case_id": "\xff"}'], b""),
    ("duplicate-key", JSON, [b'{"case_id": "a", "case_id": "b"}'], b""),
    ("text-plain", [(b"content-type", b"text/plain")], [b"{}"], b""),
    ("no-content-type", [], [b"{}"], b""),
    ("declared-too-large", [*JSON, (b"content-length", b"999999")], [b"{}"], b""),
    ("streamed-too-large", JSON, [b" " * 3000, b" " * 3000], b""),
]


def _apps(tmp: Path, tokens: bool) -> list[Starlette]:
    token_file = tmp / "tokens"
    token_file.write_text(TOKEN + "\n")
    apps = []
    for fast in (True, False):
        cfg = ServiceConfig(policy_dir=str(ROOT / "policies"), max_body_bytes=5000,
                            token_file=str(token_file) if tokens else None)
        app = create_app(cfg)
        if not fast:  # the stack is built at the first request: leave the route out
            app.user_middleware = [m for m in app.user_middleware
                                   if m.cls.__name__ != "DecisionRoute"]
        apps.append(app)
    return apps


async def _call(app: Starlette, method: str, headers: list[tuple[bytes, bytes]],
                chunks: list[bytes], query: bytes) -> tuple[int, list[Any], bytes]:
    scope = {"type": "http", "method": method, "path": "/v1/decisions", "root_path": "",
             "raw_path": b"/v1/decisions", "query_string": query, "headers": headers,
             "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 8181),
             "client": ("127.0.0.1", 40000)}
    messages = [{"type": "http.request", "body": c, "more_body": k < len(chunks) - 1}
                for k, c in enumerate(chunks)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    headers_out = [h for h in start["headers"] if h[0] != b"x-request-id"]
    return start["status"], headers_out, _without_ids(body)


def _without_ids(body: bytes) -> bytes:
    """The body with its decision id (a new UUIDv7 per response) blanked."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, dict) and "decision_id" in data:
        data["decision_id"] = "-"
    return json.dumps(data).encode()


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[bool, list[Starlette]]]:
    tmp = tmp_path_factory.mktemp("fastpath")
    apps = {False: _apps(tmp, tokens=False), True: _apps(tmp, tokens=True)}
    for pair in apps.values():
        for app in pair:
            app.state.echri.start()
    yield apps
    for pair in apps.values():
        for app in pair:
            app.state.echri.close()


@pytest.mark.parametrize(("name", "headers", "chunks", "query"), REQUESTS,
                         ids=[r[0] for r in REQUESTS])
def test_the_fast_route_answers_what_starlette_answered(
        started: dict[bool, list[Starlette]], name: str, headers: list[tuple[bytes, bytes]],
        chunks: list[bytes], query: bytes) -> None:
    fast, plain = started[False]
    got = asyncio.run(_call(fast, "POST", headers, chunks, query))
    assert got == asyncio.run(_call(plain, "POST", headers, chunks, query))
    assert got[0] in (200, 400, 413, 415, 422)


@pytest.mark.parametrize("authorization", [None, b"Bearer wrong", b"Basic abc",
                                           f"Bearer {TOKEN}".encode()])
def test_bearer_tokens_are_checked_as_starlette_checked_them(
        started: dict[bool, list[Starlette]], authorization: bytes | None) -> None:
    fast, plain = started[True]
    headers = JSON + ([(b"authorization", authorization)] if authorization else [])
    got = asyncio.run(_call(fast, "POST", headers, [_json(EXAMPLE)], b""))
    assert got == asyncio.run(_call(plain, "POST", headers, [_json(EXAMPLE)], b""))
    assert got[0] == (200 if authorization == f"Bearer {TOKEN}".encode() else 401)


def test_other_methods_on_the_path_are_starlettes(started: dict[bool, list[Starlette]]) -> None:
    fast, plain = started[False]
    for method in ("GET", "PUT", "DELETE"):
        got = asyncio.run(_call(fast, method, JSON, [b""], b""))
        assert got == asyncio.run(_call(plain, method, JSON, [b""], b""))
        assert got[0] == 405


def test_a_bug_in_the_route_is_a_logged_internal_problem_not_a_traceback(
        started: dict[bool, list[Starlette]], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    from engine.service import decisions

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(decisions, "envelope", broken)
    status, headers, body = asyncio.run(_call(started[False][0], "POST", JSON,
                                              [_json(EXAMPLE)], b""))
    problem = json.loads(body)
    assert status == 500 and (b"content-type", b"application/problem+json") in headers
    assert problem["code"] == "internal" and "RuntimeError" in problem["detail"]
    assert "internal error on POST /v1/decisions" in caplog.text


def test_a_decision_that_cannot_be_logged_is_not_given(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # the log is the audit trail: no record on disk, no decision (503), on both routes
    from engine.decisionlog.writer import LogWriteError, LogWriter

    monkeypatch.setenv("ECHRI_LOG_KEY", "test-key")
    apps = []
    for fast in (True, False):
        app = create_app(ServiceConfig(policy_dir=str(ROOT / "policies"),
                                       log_dir=str(tmp_path / f"log-{fast}"), log_fsync="1"))
        if not fast:
            app.user_middleware = [m for m in app.user_middleware
                                   if m.cls.__name__ != "DecisionRoute"]
        app.state.echri.start()
        apps.append(app)

    def full(self: LogWriter, batch: Any) -> Any:
        raise LogWriteError(28, "decision log write failed: No space left on device")

    monkeypatch.setattr(LogWriter, "write_prepared", full)
    try:
        got = [asyncio.run(_call(app, "POST", JSON, [_json(EXAMPLE)], b"")) for app in apps]
    finally:
        for app in apps:
            app.state.echri.close()
    assert got[0] == got[1]
    status, _, body = got[0]
    assert status == 503 and json.loads(body)["code"] == "decision-log-unavailable"
