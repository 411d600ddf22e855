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
