"""The Starlette application: routes, problem responses, request ids, metrics, lifespan.

`create_app()` is the uvicorn factory (`echri serve` runs it in every worker process).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.decisionlog import uuid7
from engine.schemas import printable
from engine.service import decisions as dec
from engine.service.auth import check_bearer, read_tokens
from engine.service.config import ServiceConfig, from_environment
from engine.service.decisions import JSON_TYPES, JSONL_TYPES, Decided
from engine.service.fastpath import DecisionRoute, decision_body
from engine.service.metrics import ERRORS, LATENCY, READY, REQUESTS, exposition
from engine.service.openapi import openapi_document
from engine.service.problems import Problem
from engine.service.state import ServiceState

log = logging.getLogger("echri.service")
access = logging.getLogger("echri.access")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
BATCH_SLICE = 50
_TASKS: set[asyncio.Task[Any]] = set()


def _state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.echri
    return state


async def _body(request: Request, limit: int) -> bytes:
    return await dec.read_body(request.receive, request.headers.get("content-length"), limit)


def _authorize(request: Request) -> None:
    tokens = request.app.state.tokens
    if tokens:
        check_bearer(request.headers.get("authorization"), tokens)


async def decide(request: Request) -> Response:
    """POST /v1/decisions when DecisionRoute (engine/service/fastpath.py) does not answer it
    (a `root_path`); the same body."""
    body = await decision_body(_state(request), request.scope, request.receive)
    return Response(body, media_type="application/json")


async def decide_batch(request: Request) -> Response:
    _authorize(request)
    state = _state(request)
    media = dec.media_type(request.headers)
    if media not in JSON_TYPES + JSONL_TYPES:
        raise Problem("unsupported-media-type",
                      "send a JSON array (`application/json`) or JSON Lines "
                      "(`application/x-ndjson`)")
    items = dec.batch_items(await _body(request, state.config.max_batch_bytes),
                            media in JSONL_TYPES)
    limit = state.config.max_batch_items
    if len(items) > limit:
        raise Problem("too-many-items", f"{len(items)} cases, over the limit of {limit}")
    options, rid = dec.request_options(request.query_params), request.state.request_id

    parts: list[str | Decided] = []
    for k, (line, case, problem) in enumerate(items):
        if k % BATCH_SLICE == BATCH_SLICE - 1:
            await asyncio.sleep(0)  # let other requests in between slices of a long batch
        try:
            if problem is not None:
                raise problem
            parts.append(dec.decide(state, case, options, rid))
        except Problem as p:
            parts.append(json.dumps(dec.batch_error(line, case, p), ensure_ascii=True))
    results = [p for p in parts if isinstance(p, Decided)]
    await dec.write_logs(state, results)  # every record on disk before the answer
    for result in results:
        dec.count(result)
    decided = len(results)
    texts = [p if isinstance(p, str) else dec.batch_result(line, p)
             for p, (line, _, _) in zip(parts, items, strict=True)]
    body = (f'{{"contract_version": "1", "count": {len(items)}, "decided": {decided}, '
            f'"results": [{", ".join(texts)}]}}')
    return Response(body, media_type="application/json")


def _summary(cp: Any) -> dict[str, Any]:
    p = cp.policy
    return {"id": p.id, "version": p.version, "title": p.title, "status": p.status,
            "effective_from": p.effective_from, "effective_until": p.effective_until,
            "digest": cp.digest, "rules": len(cp.rules)}


def _store(request: Request) -> Any:
    store = _state(request).store
    if store is None:
        raise Problem("not-ready", "the policies are not loaded yet")
    return store


async def policies(request: Request) -> Response:
    _authorize(request)
    store, state = _store(request), _state(request)
    listed = [_summary(store.versions[pid][v]) for pid in store.policy_ids
              for v in sorted(store.versions[pid])]
    return JSONResponse({"policies": listed, "loaded_at": state.loaded_at,
                         "source": state.source})


async def policy(request: Request) -> Response:
    _authorize(request)
    store = _store(request)
    pid, version = request.path_params["policy_id"], request.path_params["version"]
    cp = store.versions.get(pid, {}).get(version)
    if cp is None:
        raise Problem("not-found", f"no policy version `{pid}@{version}` is loaded")
    detail = _summary(cp) | {
        "precedence": list(cp.policy.precedence), "default_outcome": cp.default_outcome,
        "changes": list(cp.policy.changes),
        "rule_list": [{"id": r.id, "title": r.title, "outcome": r.outcome, "scope": r.scope}
                      for r in cp.rules]}
    return JSONResponse(detail)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def _ready_body(state: ServiceState) -> dict[str, Any]:
    writer = state.writer
    log_info = None if writer is None else {
        "directory": str(writer.config.directory), "stream": writer.stream,
        "records": writer.head[0]}
    return {"ready": state.ready, "policies": state.policy_names(),
            "loaded_at": state.loaded_at, "last_reload": state.last_reload,
            "decision_log": log_info, "worker": os.getpid(), "workers": state.config.workers}


async def readyz(request: Request) -> Response:
    state = _state(request)
    return JSONResponse(_ready_body(state), status_code=200 if state.ready else 503)


async def metrics(request: Request) -> Response:
    body, content_type = exposition()
    return Response(body, media_type=content_type)


async def openapi(request: Request) -> Response:
    cfg = _state(request).config
    return Response(openapi_document(bool(cfg.token_file), bool(cfg.admin_token_file)),
                    media_type="application/json")


async def admin_reload(request: Request) -> Response:
    """Reload the policies of every worker.

    One worker: in place, as SIGHUP does (200, or 422 and the old set kept). Several: this
    worker loads and self-tests the new set first (422 when it fails, and no worker is
    touched), then sends SIGHUP to uvicorn's supervisor, its parent, which replaces every
    worker one by one, each loading the new set (202: /readyz shows each new `worker`).
    """
    admin = request.app.state.admin_tokens
    if not admin:
        raise Problem("not-found", "the admin endpoint is off (start with --admin-token-file)")
    check_bearer(request.headers.get("authorization"), admin)
    state = _state(request)
    outcome = await state.reload()
    if not outcome["ok"]:
        raise Problem("reload-failed", outcome["error"])
    if state.config.workers > 1 and os.getppid() != 1:
        log.info("admin reload: asking the supervisor (pid %d) to replace the %d workers",
                 os.getppid(), state.config.workers)
        os.kill(os.getppid(), signal.SIGHUP)
        return JSONResponse(_ready_body(state) | {"replacing_workers": True}, status_code=202)
    return JSONResponse(_ready_body(state))


async def problem_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    ERRORS.labels(exc.code).inc()
    return exc.response(request.url.path)


async def http_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "invalid-request")
    problem = Problem(code, str(exc.detail))
    ERRORS.labels(code).inc()
    response = problem.response(request.url.path)
    if exc.status_code == 405 and exc.headers:
        response.headers.update(exc.headers)
    return response


async def internal_handler(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path)
    ERRORS.labels("internal").inc()
    return Problem("internal", f"internal error ({type(exc).__name__})").response()


ROUTES = [
    Route("/v1/decisions", decide, methods=["POST"]),
    Route("/v1/decisions:batch", decide_batch, methods=["POST"]),
    Route("/v1/policies", policies, methods=["GET"]),
    Route("/v1/policies/{policy_id}/{version}", policy, methods=["GET"]),
    Route("/v1/admin/reload", admin_reload, methods=["POST"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
]


def _route_name(path: str) -> str:
    if path.startswith("/v1/policies/"):
        return "/v1/policies/{policy_id}/{version}"
    return path if any(r.path == path for r in ROUTES) else "other"


class RequestContext:
    """Request id (X-Request-ID given or a new UUIDv7), access log line, metrics, and
    `connection: close` on the `keepalive_requests`-th response of a connection.

    A plain ASGI middleware (Starlette's BaseHTTPMiddleware costs a task per request).
    """

    def __init__(self, app: ASGIApp, keepalive_requests: int = 0):
        self.app = app
        self.served = ConnectionCounts(keepalive_requests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _REQUEST_ID.fullmatch(given) else str(uuid7())
        scope.setdefault("state", {})["request_id"] = rid
        started, status = time.perf_counter(), [500]
        last = self.served.last_request(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                extra = [(b"x-request-id", rid.encode("latin-1"))]
                if last:
                    extra.append((b"connection", b"close"))
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            path = scope.get("path", "")
            route = _route_name(path)
            REQUESTS.labels(scope.get("method", ""), route, str(status[0])).inc()
            LATENCY.labels(route).observe(elapsed)
            access.info("%s %s %s %d %.2fms", rid, scope.get("method"), printable(path),
                        status[0], elapsed * 1000)


class ConnectionCounts:
    """Requests served per open connection, by its (client, server) addresses, which no
    two open connections share (ASGI gives a request no handle on its connection).

    A connection that the client closes before its limit leaves its count behind: the
    table is cleared when it holds `CONNECTIONS` of them, which at worst lets a few
    connections carry up to twice the limit."""

    CONNECTIONS = 4096

    def __init__(self, limit: int):
        self.limit = limit
        self.counts: dict[tuple[Any, Any], int] = {}

    def last_request(self, scope: Scope) -> bool:
        """Count this request; True when it is its connection's last (0: no limit)."""
        client = scope.get("client")
        if not self.limit or client is None:
            return False
        key = (tuple(client), tuple(scope.get("server") or ()))
        served = self.counts.get(key, 0) + 1
        if served < self.limit:
            if len(self.counts) >= self.CONNECTIONS and key not in self.counts:
                self.counts.clear()
            self.counts[key] = served
            return False
        self.counts.pop(key, None)
        return True


def _install_sighup(state: ServiceState) -> None:
    """SIGHUP reloads the policies (when this process owns the signal)."""
    loop = asyncio.get_running_loop()

    def on_hup() -> None:
        log.info("SIGHUP: reloading the policies")
        task = loop.create_task(state.reload())
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGHUP, on_hup)


def create_app(config: ServiceConfig | None = None) -> Starlette:
    """The ASGI application (uvicorn factory); settings from ECHRI_SERVICE_CONFIG."""
    cfg = config or from_environment()
    state = ServiceState(cfg)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.start()  # on the loop thread, which decides
        _install_sighup(state)
        try:
            yield
        finally:
            READY.set(0)
            state.close()

    app = Starlette(routes=ROUTES, lifespan=lifespan,
                    middleware=[Middleware(RequestContext,
                                           keepalive_requests=cfg.keepalive_requests),
                                Middleware(DecisionRoute, state=state)],
                    exception_handlers={Problem: problem_handler, HTTPException: http_handler,
                                        Exception: internal_handler})
    app.state.echri = state
    app.state.tokens = read_tokens(cfg.token_file) if cfg.token_file else ()
    app.state.admin_tokens = read_tokens(cfg.admin_token_file) if cfg.admin_token_file else ()
    return app
