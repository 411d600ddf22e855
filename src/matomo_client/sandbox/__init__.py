"""A Matomo-compatible sandbox server with synthetic data and fault injection.

    from matomo_client.sandbox import Sandbox, SandboxConfig, Faults
    sb = Sandbox(SandboxConfig(seed=1, days=90, visits_per_day=50))
    transport = httpx.ASGITransport(app=sb.app)   # in-process, or serve() over HTTP

Pieces: `world` generates visits lazily per (site, day); `aggregates` sums them into
cached per-day facts; `reports`/`datatable` shape report rows; `api` dispatches methods
with Matomo 5.11.2's validation and error texts; `app` is the ASGI layer with auth,
faults and counters; `server` runs it under uvicorn.
"""

from .app import LoggedRequest, Sandbox
from .config import Faults, SandboxConfig
from .server import serve

__all__ = ["Faults", "LoggedRequest", "Sandbox", "SandboxConfig", "serve"]
