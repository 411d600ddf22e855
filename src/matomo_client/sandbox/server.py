"""Serve a sandbox over HTTP with uvicorn (used by `matomo sandbox` and `python -m`)."""

from __future__ import annotations

import os
import socket
import sys
from typing import Any, TextIO

from .app import Sandbox
from .config import SandboxConfig

__all__ = ["serve"]

# POSIX: a restarted sandbox binds its port again at once, not after TIME_WAIT. On Windows the
# option lets a second server bind a port in use, with no error (as asyncio, leave it off there).
_REUSE_ADDRESS = os.name == "posix" and sys.platform != "cygwin"


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    out: TextIO | None = None,
    log_level: str = "warning",
    **options: Any,
) -> None:
    """Run a sandbox on `host:port` (0 picks a free port) until interrupted.

    `options` are `SandboxConfig` fields (seed, days, visits_per_day, token, faults, ...).
    The first line printed is the base URL, the second the super user's token, then one
    line per viewer with the sites it sees (never its token: whoever chose it knows it).
    """
    import uvicorn

    sandbox = Sandbox(SandboxConfig(**options))
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    if _REUSE_ADDRESS:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this: without it Nagle holds the body uvicorn writes after the
    # headers until the client's delayed ACK, about 40 ms added to every request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    # Listening before the URL is printed: a client that connects at once waits in the
    # backlog until uvicorn accepts, instead of being refused.
    sock.listen(2048)
    bound_port = sock.getsockname()[1]
    stream = out or sys.stdout
    shown = f"[{host}]" if ":" in host else host
    stream.write(f"Matomo sandbox listening on http://{shown}:{bound_port}/\n")
    stream.write(f"token: {sandbox.config.token}\n")
    for n, sites in enumerate(sandbox.config.viewers.values(), start=1):
        stream.write(f"viewer #{n}: view access to sites {','.join(map(str, sorted(sites)))}\n")
    stream.flush()
    config = uvicorn.Config(sandbox.app, log_level=log_level, lifespan="on", interface="asgi3")
    uvicorn.Server(config).run(sockets=[sock])
