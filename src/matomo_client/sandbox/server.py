"""Serve a sandbox over HTTP with uvicorn (used by `matomo sandbox` and `python -m`).

`serve` runs until interrupted; `serve_in_thread` serves a `Sandbox` you hold from a
background thread, for blocking clients (`Matomo`) in tests, and stops it on exit.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from .app import Sandbox
from .config import SandboxConfig

__all__ = ["serve", "serve_in_thread"]

# POSIX: a restarted sandbox binds its port again at once, not after TIME_WAIT. On Windows the
# option lets a second server bind a port in use, with no error (as asyncio, leave it off there).
_REUSE_ADDRESS = os.name == "posix" and sys.platform != "cygwin"


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        if _REUSE_ADDRESS:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit this: without it Nagle holds the body uvicorn writes after
        # the headers until the client's delayed ACK, about 40 ms added to every request.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        # Listening before the URL is given out: a client that connects at once waits in the
        # backlog until uvicorn accepts, instead of being refused.
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def _url(host: str, sock: socket.socket) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{sock.getsockname()[1]}/"


def _server(sandbox: Sandbox, log_level: str, *, embedded: bool = False) -> Any:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    # embedded: uvicorn leaves the host program's logging configuration alone
    config = uvicorn.Config(
        sandbox.app,
        log_level=log_level,
        lifespan="on",
        interface="asgi3",
        log_config=None if embedded else LOGGING_CONFIG,
    )
    return uvicorn.Server(config)


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
    # nobody can read the request log of a served sandbox: keeping it would grow without end
    sandbox = Sandbox(SandboxConfig(**options), keep_requests=False)
    sock = _listen(host, port)
    stream = out or sys.stdout
    stream.write(f"Matomo sandbox listening on {_url(host, sock)}\n")
    stream.write(f"token: {sandbox.config.token}\n")
    for n, sites in enumerate(sandbox.config.viewers.values(), start=1):
        stream.write(f"viewer #{n}: view access to sites {','.join(map(str, sorted(sites)))}\n")
    stream.flush()
    try:
        _server(sandbox, log_level).run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def serve_in_thread(
    sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning"
) -> Iterator[str]:
    """Serve `sandbox` over HTTP from a daemon thread while the block runs; yields its base URL.

    For blocking clients in tests: `with serve_in_thread(sb) as url: Matomo(url, auth=...)`.
    Port 0 (the default) picks a free port. The server stops when the block ends.
    """
    sock = _listen(host, port)
    server = _server(sandbox, log_level, embedded=True)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="matomo-sandbox", daemon=True
    )
    thread.start()
    try:
        yield _url(host, sock)
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
