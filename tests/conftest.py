"""Shared fixtures: every async test runs under asyncio and trio; retries never wait."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from matomo_client import set_testing

RECORDED = Path(__file__).parent / "recorded"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each anyio test under both asyncio and trio."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    """Retry decisions stay real; the waits become zero (like stamina's testing mode)."""
    set_testing(True)
    yield
    set_testing(False)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def served_sandbox() -> Iterator[str]:
    """The sandbox served by `python -m matomo_client.sandbox` on a free loopback port; yields its URL."""
    import subprocess
    import sys
    import time

    import httpx

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "matomo_client.sandbox", "--port", str(port), "--days", "30"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "index.php", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"the sandbox did not start: {err[-2000:]}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()
