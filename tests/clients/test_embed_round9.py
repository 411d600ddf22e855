"""The clients embedded in other programs: forked worker processes, threads, cancellation."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from matomo_client import Auth, Matomo


class _Handler(BaseHTTPRequestHandler):
    """Answers every request with Matomo's version, keeping the connection open."""

    protocol_version = "HTTP/1.1"
    ports: list[int]  # the client port of each request, in order

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        self.rfile.read(length)
        body = json.dumps({"value": "5.11.2"}).encode()
        self.ports.append(self.client_address[1])
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def keepalive_server() -> Iterator[tuple[str, list[int]]]:
    ports: list[int] = []
    handler = type("Handler", (_Handler,), {"ports": ports})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", ports
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # 3.12+: the server's thread
def test_a_forked_child_does_not_reuse_its_parents_connections(
    keepalive_server: tuple[str, list[int]],
) -> None:
    """A process forked after the blocking client made a request opens its own connection
    instead of writing to the parent's pooled one (which garbles both processes' requests)."""
    url, ports = keepalive_server
    with Matomo(url, auth=Auth.token("t" * 32), skip_preflight=True) as m:
        assert m.call("API.getMatomoVersion") == {"value": "5.11.2"}  # pools a connection
        pid = os.fork()
        if pid == 0:  # the child: one request, then leave without running the parent's cleanup
            code = 1
            try:
                code = 0 if m.call("API.getMatomoVersion") == {"value": "5.11.2"} else 2
            finally:
                sys.stdout.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert m.call("API.getMatomoVersion") == {"value": "5.11.2"}
    assert len(ports) == 3
    parent_port = ports[0]
    assert ports[1] != parent_port  # the child's request came on a connection of its own
    assert ports[2] == parent_port  # and the parent's pooled connection is still intact
