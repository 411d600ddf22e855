"""The sandbox as its own process for the benchmarks, with counters the benchmarks can read.

Run: .venv/bin/python benchmarks/_server.py --port 0 --days 61 --visits-per-day 200 --latency-ms 50
The first line printed is the base URL. `--processes N` serves from N processes sharing the
listening socket (the same seeded world in each) for a figure bound by the sandbox rendering
visits, not by a configured latency; each process then keeps its own counters and latency, so
the `/_bench/` endpoints below answer for whichever process takes the request.

Everything under `/index.php` is the real `matomo_client.sandbox` app; this wrapper only adds,
at the ASGI level (so at the server):

* `GET /_bench/stats`: requests served, most requests in flight at once, bytes sent, requests
  per Matomo method, and (with `--log`) every request's parameters without the token;
* `POST /_bench/reset`: zero those counters (the response cache below is kept);
* `POST /_bench/latency?ms=N`: the latency of every answer from now on (the harness sets 0
  while it fills the cache with untimed runs, then the figure's latency again);
* `--cache`: keep each 200 answer by request body and serve repeats from memory after the same
  latency. The sandbox renders visits in Python (~0.17 ms per visit with actions, ~4.6 KB of
  JSON each): on one core that, not the configured latency, would bound every figure. A real
  Matomo spends that time in MySQL, which is what `--latency-ms` stands for; a warm cache turns
  the sandbox into the "server that answers in 50 ms" the latency-bound figures are about.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

import anyio

from matomo_client.sandbox import Faults, Sandbox, SandboxConfig

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BenchApp:
    """ASGI wrapper: counters, an optional exact-request cache, then the sandbox."""

    def __init__(self, sandbox: Sandbox, *, cache: bool, log: bool) -> None:
        # The token is the same for every request, so the cache key leaves it out.
        self.sandbox = sandbox
        self.cache_on = cache
        self.log_on = log
        self.cache: dict[bytes, list[Message]] = {}
        self.latency_s = sandbox.config.latency_ms / 1000
        self.reset()

    def reset(self) -> None:
        """Zero the counters (not the cache)."""
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.bytes_sent = 0
        self.cache_hits = 0
        self.statuses: Counter[int] = Counter()
        self.methods: Counter[str] = Counter()
        self.log: list[dict[str, str]] = []
        self.sandbox.max_in_flight = 0

    def set_latency(self, ms: float) -> None:
        """Answer cache hits and the sandbox's own answers after `ms` from now on."""
        self.latency_s = ms / 1000
        self.sandbox.config = replace(self.sandbox.config, latency_ms=ms)

    def stats(self) -> dict[str, Any]:
        """The counters as JSON-able values."""
        return {
            "requests": self.requests,
            "max_in_flight": self.max_in_flight,
            "sandbox_max_in_flight": self.sandbox.max_in_flight,
            "bytes_sent": self.bytes_sent,
            "cache_hits": self.cache_hits,
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "methods": dict(self.methods),
            "log": self.log,
        }

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        """Serve one ASGI scope."""
        if scope["type"] != "http":
            await self.sandbox.app(scope, receive, send)
            return
        path = scope.get("path", "/")
        if path.startswith("/_bench/"):
            if path == "/_bench/reset":
                self.reset()
            elif path == "/_bench/latency":
                ms = float(dict(parse_qsl(scope.get("query_string", b"").decode()))["ms"])
                self.set_latency(ms)
            await _send_json(send, self.stats() if path == "/_bench/stats" else {"ok": True})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = scope.get("query_string", b"").decode("latin-1")
        params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        params.update(parse_qsl(query, keep_blank_values=True))  # GET wins, as in Matomo
        params.pop("token_auth", None)
        self.requests += 1
        self.methods[params.get("method", "")] += 1
        if self.log_on:
            self.log.append(params)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            key = repr(sorted(params.items())).encode()  # same request, any parameter order
            messages = self.cache.get(key) if self.cache_on else None
            if messages is not None:
                self.cache_hits += 1
                await anyio.sleep(self.latency_s)
            else:
                messages = await self._forward(scope, body, key)
        finally:
            self.in_flight -= 1
        for m in messages:
            if m["type"] == "http.response.start":
                self.statuses[m["status"]] += 1
            self.bytes_sent += len(m.get("body", b""))
            await send(m)

    async def _forward(
        self, scope: MutableMapping[str, Any], body: bytes, key: bytes
    ) -> list[Message]:
        sent = False
        captured: list[Message] = []

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            captured.append(message)

        await self.sandbox.app(scope, replay, capture)
        status = next((m["status"] for m in captured if m["type"] == "http.response.start"), 0)
        if self.cache_on and status == 200:
            self.cache[key] = captured
        return captured


async def _send_json(send: Send, value: Any) -> None:
    data = json.dumps(value).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def main(argv: list[str] | None = None) -> None:
    """Parse flags, print the URL, serve until terminated."""
    import uvicorn

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--days", type=int, default=61)
    p.add_argument("--visits-per-day", type=int, default=200)
    p.add_argument("--today", type=date.fromisoformat, required=True)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--rate-429", type=float, default=0.0)
    p.add_argument("--retry-after", type=int, default=1)
    p.add_argument("--cache", action="store_true")
    p.add_argument("--log", action="store_true")
    p.add_argument("--processes", type=int, default=1)
    a = p.parse_args(argv)
    config = SandboxConfig(
        days=a.days,
        visits_per_day=a.visits_per_day,
        today=a.today,
        latency_ms=a.latency_ms,
        faults=Faults(rate_429=a.rate_429, retry_after_s=a.retry_after),
    )
    app = BenchApp(Sandbox(config), cache=a.cache, log=a.log)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", a.port))
    sock.listen(128)
    sys.stdout.write(f"http://127.0.0.1:{sock.getsockname()[1]}/\n")
    sys.stdout.flush()
    children = _fork_servers(a.processes - 1)
    server_config = uvicorn.Config(
        app, log_level="warning", lifespan="off", interface="asgi3", access_log=False
    )
    try:
        uvicorn.Server(server_config).run(sockets=[sock])
    finally:
        for pid in children:
            os.kill(pid, signal.SIGTERM)


def _fork_servers(n: int) -> list[int]:
    """Fork `n` more serving processes (before any event loop or thread exists); in the
    parent, their pids; in a child, []. A child ends with its parent, even a killed one."""
    children = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            with contextlib.suppress(OSError, AttributeError):
                libc = ctypes.CDLL(None, use_errno=True)
                libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG (Linux)
            if os.getppid() == 1:  # the parent died before prctl
                os._exit(0)
            return []
        children.append(pid)
    return children


if __name__ == "__main__":
    main()
