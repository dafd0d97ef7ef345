"""RFC 9457 problem documents (`application/problem+json`).

Every error response is a `Problem`: `type` (a URI naming the code), `title`, `status`,
`detail`, `code` and `errors` (each with a `code`, a JSON `pointer` into the request body
and a `detail`). Codes are listed in PROBLEMS; the OpenAPI document references the same
schema (engine/service/openapi.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "https://echri.example.org/problems/"
PROBLEMS: dict[str, tuple[int, str]] = {
    "malformed-json": (400, "The request body is not strict JSON"),
    "invalid-request": (400, "The request cannot be used"),
    "unauthorized": (401, "A valid bearer token is required"),
    "forbidden": (403, "This token may not do that"),
    "not-found": (404, "No such resource"),
    "method-not-allowed": (405, "Method not allowed on this resource"),
    "too-large": (413, "The request body is too large"),
    "unsupported-media-type": (415, "Unsupported content type"),
    "contract-violation": (422, "The case breaks the case contract"),
    "policy-version": (422, "No policy version can decide this case"),
    "too-many-items": (413, "The batch has too many cases"),
    "reload-failed": (422, "The policies failed to load: the loaded set is kept"),
    "not-ready": (503, "The policies are not loaded"),
    "decision-log-unavailable": (503, "The decision could not be logged, so it is not given"),
    "backend-unavailable": (503, "The rules engine cannot run here"),
    "internal": (500, "Internal error"),
}


@dataclass(frozen=True)
class ProblemError:
    code: str
    pointer: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "pointer": self.pointer, "detail": self.detail}


@dataclass
class Problem(Exception):
    code: str
    detail: str
    errors: Sequence[ProblemError] = field(default_factory=tuple)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> int:
        return PROBLEMS[self.code][0]

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": TYPE_BASE + self.code, "title": PROBLEMS[self.code][1],
                               "status": self.status, "detail": self.detail,
                               "code": self.code, "errors": [e.to_dict() for e in self.errors]}
        if instance:
            out["instance"] = instance
        return out

    def response(self, instance: str | None = None) -> Response:
        body = json.dumps(self.to_dict(instance), ensure_ascii=True)
        return Response(body, status_code=self.status, media_type=PROBLEM_TYPE,
                        headers=self.headers)


_AT = re.compile(r"^at `([^`]*)`: ")
_KEY = re.compile(r"^(?:missing required|unknown) key `([^`]*)`")
_STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def pointer_of(path: str) -> str:
    """`items[0].id` (as diagnostics print paths) → the JSON pointer `/items/0/id`."""
    parts = []
    for m in _STEP.finditer(path):
        part = m.group(1) if m.group(1) is not None else m.group(2)
        parts.append(part.replace("~", "~0").replace("/", "~1"))
    return "".join("/" + p for p in parts)


def diagnostic_errors(code: str, messages: Iterable[str]) -> list[ProblemError]:
    """One ProblemError per diagnostic message, its `at `path`: ` prefix as the pointer."""
    out = []
    for message in messages:
        m = _AT.match(message)
        pointer, detail = (pointer_of(m.group(1)), message[m.end():]) if m else ("", message)
        key = _KEY.match(detail)
        if key:
            pointer += "/" + key.group(1).replace("~", "~0").replace("/", "~1")
        out.append(ProblemError(code, pointer, detail))
    return out
