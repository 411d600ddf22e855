"""Helpers for the reliability tests: an ASGI app served on 127.0.0.1 from a thread, a marker token.

Serving over real HTTP (uvicorn in a background thread of the test process) matters here: hung
responses only turn into client timeouts over a socket (`httpx.ASGITransport` has no timeouts),
and the test still holds the `Sandbox` object, so it can read `sb.world` and `sb.requests` and
flip faults on and off between runs.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import uvicorn

#: Alphanumeric, so it also survives being URL-encoded or echoed inside a method name.
MARKER = "RelMarkerTok9c4e1b7a"

App = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


@contextmanager
def served(app: App, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` with uvicorn on a free port of `host` in a daemon thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="critical",
        lifespan="off",
        interface="asgi3",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def scan_text(text: str, secret: str = MARKER) -> list[str]:
    """The lines of `text` that contain `secret` (case-insensitive): should always be empty."""
    return [line for line in text.splitlines() if secret.lower() in line.lower()]
