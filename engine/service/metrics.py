"""Prometheus metrics of one worker process (`GET /metrics`).

With several workers, set PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode)
to have /metrics aggregate every worker; otherwise each worker reports its own counts.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry(auto_describe=True)
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

REQUESTS = Counter("echri_http_requests_total", "HTTP requests by route and status",
                   ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram("echri_http_request_duration_seconds", "HTTP request latency by route",
                    ["route"], buckets=LATENCY_BUCKETS, registry=REGISTRY)
DECISIONS = Counter("echri_decisions_total", "Decisions by outcome and policy version",
                    ["outcome", "policy", "version"], registry=REGISTRY)
ERRORS = Counter("echri_errors_total", "Problem responses and batch error records by code",
                 ["code"], registry=REGISTRY)
ENGINE_ERRORS = Counter("echri_engine_errors_total",
                        "Fail-closed decisions (engine-error findings)", registry=REGISTRY)
LOG_RECORDS = Counter("echri_decision_log_records_total", "Records written to the decision log",
                      registry=REGISTRY)
RELOADS = Counter("echri_policy_reloads_total", "Policy reloads by result", ["result"],
                  registry=REGISTRY)
READY = Gauge("echri_ready", "1 when the policies are loaded and self-tested",
              registry=REGISTRY, multiprocess_mode="max")


def exposition() -> tuple[bytes, str]:
    """The text exposition format and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
