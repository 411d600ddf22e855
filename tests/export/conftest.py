"""Fixtures for the export tests: a PostgreSQL server from the `pgserver` wheel, targets."""

from __future__ import annotations

import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Helper modules (export_fakeworld, export_readers) sit next to the tests.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """A real PostgreSQL server for the session (skipped, with the reason, if it cannot start)."""
    try:
        with warnings.catch_warnings():
            # Its import asks platformdirs for XDG_RUNTIME_DIR, unset for root in CI: /tmp is fine.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            import pgserver
    except ImportError as e:  # pragma: no cover - the dev extra ships it
        pytest.skip(f"pgserver is not installed ({e}); PostgreSQL target not tested")
    tmp = tempfile.mkdtemp(prefix="matomo-pg-")
    try:
        server = pgserver.get_server(tmp, cleanup_mode="stop")
    except Exception as e:  # pragma: no cover - depends on the machine
        pytest.skip(f"could not start PostgreSQL from the pgserver wheel: {e}")
    yield server
    server.cleanup()


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """A fresh, empty database on the session's server; its URL."""
    import uuid

    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    base = pg_server.get_uri()
    with psycopg.connect(base, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    return str(base.replace("/postgres?", f"/{name}?"))
