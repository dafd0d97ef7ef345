"""Service settings: built by `echri serve`, passed to worker processes as JSON.

uvicorn starts workers as new processes, so the settings travel in the environment
variable ECHRI_SERVICE_CONFIG; each worker loads the policies itself (once).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

ENV_CONFIG = "ECHRI_SERVICE_CONFIG"
DEFAULT_MAX_BODY = 1024 * 1024  # bytes of one request body (a case, or a batch)
DEFAULT_MAX_BATCH_BODY = 16 * 1024 * 1024
DEFAULT_MAX_BATCH_ITEMS = 1000
# requests a connection carries before the response says `connection: close` (nginx's
# keepalive_requests): workers share one listening socket, a connection stays with the
# worker that accepted it, and a client pool reuses the same few connections, so without a
# limit one worker could carry most of the load while another idles (measured: 85 % of
# the requests of a run on one of two workers); a client that reconnects is accepted by
# whichever worker gets to it first, usually the less busy one
DEFAULT_KEEPALIVE_REQUESTS = 100


@dataclass(frozen=True)
class ServiceConfig:
    policy_dir: str = "policies"
    backend: str = "durable"
    log_dir: str | None = None
    log_fsync: str = "always"  # always | seconds
    log_rotate_bytes: int = 64 * 1024 * 1024
    log_rotate_daily: bool = True
    mask: str = "hmac"
    mask_paths: tuple[str, ...] | None = None  # None: the default set
    mask_key_file: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BODY
    max_batch_items: int = DEFAULT_MAX_BATCH_ITEMS
    token_file: str | None = None  # bearer tokens for /v1/*; None: no authentication
    admin_token_file: str | None = None  # enables POST /v1/admin/reload
    bundle: str | None = None  # a signed policy bundle, used instead of policy_dir
    verify_key: str | None = None  # its Ed25519 public key (PEM), required with bundle
    registers: str | None = None  # register set to screen parties against (engine/registers/)
    workers: int = 1  # worker processes; above 1 uvicorn's supervisor is the parent process
    keepalive_requests: int = DEFAULT_KEEPALIVE_REQUESTS  # per connection; 0: no limit
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServiceConfig:
        data = json.loads(text)
        if data.get("mask_paths") is not None:
            data["mask_paths"] = tuple(data["mask_paths"])
        return cls(**data)


def from_environment() -> ServiceConfig:
    """The settings of this worker (defaults when the variable is not set)."""
    text = os.environ.get(ENV_CONFIG)
    return ServiceConfig.from_json(text) if text else ServiceConfig()
