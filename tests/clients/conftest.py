"""Fixtures for the client tests: both clients (async and the generated sync one) over mocks.

`clients_support.py` next to this file holds the helpers (recorded answers, a fake Live server,
a uniform way to call a method of either client); it is put on `sys.path` here because the
suite runs in importlib mode, where test folders are not packages.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from clients_support import Harness


@pytest.fixture(params=["async", "sync"])
def harness(request: pytest.FixtureRequest) -> Harness:
    """Build and drive an AsyncMatomo (MockTransport) or a Matomo (SyncMockTransport)."""
    return Harness(str(request.param))
