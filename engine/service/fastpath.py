"""POST /v1/decisions as a plain ASGI app, in front of Starlette's router.

Every licensing-system call is this one route, so it skips what Starlette adds to each
request (routing over every route, the Request and Response objects, the exception
middleware and its wrappers): in process, about 0.1-0.15 ms of the 0.7-0.9 ms a decision
took without a decision log. Everything else (the other routes, 404 and 405, HEAD and GET
on this path) goes to Starlette. It runs inside RequestContext (request ids, access log,
metrics, keep-alive limit), and answers exactly what Starlette's route and handlers do:
both make the body with `decision_body`, and this one builds the response Starlette's
Response and exception handlers would (the same status, headers and bytes, problem
documents included).
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.service import decisions as dec
from engine.service.auth import check_bearer
from engine.service.metrics import ERRORS
from engine.service.problems import PROBLEM_TYPE, Problem
from engine.service.state import ServiceState

log = logging.getLogger("echri.service")
PATH = "/v1/decisions"
JSON = b"application/json"


class DecisionRoute:
    def __init__(self, app: ASGIApp, state: ServiceState):
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST" \
                or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        try:
            body = await decision_body(self.state, scope, receive)
            status, media, extra = 200, JSON, {}
        except ClientDisconnect:  # nobody is left to answer
            return
        except Problem as p:
            ERRORS.labels(p.code).inc()
            body = json.dumps(p.to_dict(PATH), ensure_ascii=True).encode()
            status, media, extra = p.status, PROBLEM_TYPE.encode(), p.headers
        except Exception as exc:  # as Starlette's internal handler: a problem, logged
            log.exception("internal error on POST %s", PATH)
            ERRORS.labels("internal").inc()
            problem = Problem("internal", f"internal error ({type(exc).__name__})")
            body = json.dumps(problem.to_dict(), ensure_ascii=True).encode()
            status, media, extra = 500, PROBLEM_TYPE.encode(), {}
        # in Starlette's order: the problem's own headers, then length and type
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
        headers += [(b"content-length", str(len(body)).encode()), (b"content-type", media)]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def decision_body(state: ServiceState, scope: Scope, receive: Receive) -> bytes:
    """The decision envelope of a POST /v1/decisions request (Problem for what the client
    got wrong); Starlette's route for the path answers with it too."""
    headers = _headers(scope)
    tokens = scope["app"].state.tokens
    if tokens:
        check_bearer(headers.get("authorization"), tokens)
    if dec.media_type(headers) not in dec.JSON_TYPES:
        raise Problem("unsupported-media-type", "send the case as `application/json`")
    raw = await dec.read_body(receive, headers.get("content-length"),
                              state.config.max_body_bytes)
    case = dec.parse_json(raw)
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                           keep_blank_values=True))
    decided = dec.decide(state, case, dec.request_options(query), scope["state"]["request_id"])
    await dec.write_log(state, decided)
    dec.count(decided)
    return dec.envelope(decided).encode()


def _headers(scope: Scope) -> dict[str, str]:
    """Request headers by lower-case name, the first of repeated ones (as Starlette's)."""
    out: dict[str, str] = {}
    for name, value in scope.get("headers") or ():
        out.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return out
