"""Helpers for the `matomo` CLI tests: an isolated environment, CliRunner, served sandboxes.

A served sandbox is `python -m matomo_client.sandbox --port 0` in a subprocess on 127.0.0.1;
its first stdout line names the URL. Worlds are kept small so the tests stay fast.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from matomo_client.cli import cli, connection

REPO = Path(__file__).resolve().parents[2]
SANDBOX_TOKEN = "sandbox-token"
SMALL_WORLD = ("--days", "10", "--visits-per-day", "6")


def clean_env(**extra: str) -> dict[str, str]:
    """The process environment without any MATOMO_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATOMO_")}
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No MATOMO_* variable leaks in from the developer's shell; a small in-process world."""
    for key in list(os.environ):
        if key.startswith("MATOMO_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(connection, "sandbox_overrides", {"days": 10, "visits_per_day": 6})


def invoke(args: Sequence[str], env: dict[str, str] | None = None) -> Result:
    """Run `matomo ARGS` in-process with click's CliRunner (stdout and stderr apart)."""
    return CliRunner().invoke(cli, list(args), env=env or {}, catch_exceptions=False)


def run_cli(
    args: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m matomo_client.cli ARGS` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "matomo_client.cli", *args],
        env=env if env is not None else clean_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_error_line(stderr: str) -> str:
    """The single line of stderr, asserting there is exactly one and it starts with Error:."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    assert lines[0].startswith("Error: "), lines[0]
    assert "Traceback" not in stderr
    return lines[0]


@dataclass
class Served:
    """A sandbox served over HTTP by a subprocess."""

    url: str
    process: subprocess.Popen[str]


@contextlib.contextmanager
def serve(*argv: str, stderr: int = subprocess.DEVNULL) -> Iterator[Served]:
    """Run `python *argv` (a sandbox on `--port 0`), yield it once it printed its URL, stop it."""
    process = subprocess.Popen(
        [sys.executable, *argv], stdout=subprocess.PIPE, stderr=stderr, text=True, env=clean_env()
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if "http://" not in first:
        process.kill()
        process.wait()
        pytest.fail(f"the sandbox did not start: {first!r}")
    url = first[first.index("http://") :]
    try:
        yield Served(url, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve(*flags: str) -> Iterator[Served]:
    with serve("-m", "matomo_client.sandbox", "--port", "0", *SMALL_WORLD, *flags) as served:
        yield served


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    """A sandbox on a free 127.0.0.1 port, token `sandbox-token`."""
    yield from _serve()


@pytest.fixture(scope="session")
def served_live_off() -> Iterator[Served]:
    """A sandbox whose site 2 has the visits log deactivated."""
    yield from _serve("--live-disabled-site", "2")


@pytest.fixture
def closed_port_url() -> str:
    """A 127.0.0.1 URL where nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client gone first (BrokenPipeError): printed into the captured stderr


@contextlib.contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1 in a thread; yield its URL (with a final `/`)."""
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
