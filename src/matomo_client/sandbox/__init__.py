"""A Matomo-compatible sandbox server with synthetic data and fault injection.

    from matomo_client.sandbox import Sandbox, SandboxConfig, Faults
    sb = Sandbox(SandboxConfig(seed=1, days=90, visits_per_day=50))
    transport = httpx.ASGITransport(app=sb.app)   # in-process, or serve() over HTTP

Pieces: `world` keeps the sites and a bounded cache of days, generated lazily per
(site, day) by `generate` as compact `records`; `day_sums` sums a day and `aggregates`
caches closed days and merges them into any period; `reports`, `referrer_reports` and
`datatable` shape report rows, `metadata` and `settings` the catalogue's report list,
goals and custom dimensions; `render`/`render_actions` build Live's dicts; `api`
dispatches methods with Matomo 5.11.2's validation and error texts; `app` is the ASGI
layer with auth, faults and counters; `server` runs it under uvicorn (`serve_in_thread`
for blocking clients in tests).
"""

from .app import LoggedRequest, Sandbox
from .config import Faults, SandboxConfig, parse_viewers
from .server import serve, serve_in_thread

__all__ = [
    "Faults",
    "LoggedRequest",
    "Sandbox",
    "SandboxConfig",
    "parse_viewers",
    "serve",
    "serve_in_thread",
]
