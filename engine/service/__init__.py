"""`echri serve`: the engine as an HTTP service (Starlette on uvicorn).

Modules: config (the settings a worker process reads) → problems (RFC 9457 documents) →
auth (bearer tokens) → metrics (Prometheus) → openapi (built from schemas/*.json) →
state (policies, decision log, engine thread, reload) → decisions (one case, a batch) →
app (routes, middleware, lifespan).
"""
