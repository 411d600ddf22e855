"""The `matomo` command loads its heavy dependencies only when a command needs them."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import REPO, clean_env

HEAVY = ("httpx", "httpcore", "pydantic", "duckdb", "pyarrow", "rich", "matomo_client.sandbox")

# Runs in a fresh interpreter: this test process has imported everything already.
_PROBE = """
import json, sys
{setup}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _loaded_after(setup: str) -> list[str]:
    code = _PROBE.format(setup=setup, heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=clean_env(),
        timeout=60,
        check=True,
    ).stdout
    loaded: list[str] = json.loads(out.strip().splitlines()[-1])
    return loaded


def test_help_loads_no_heavy_dependency() -> None:
    """`matomo --help` and `matomo export visits --help` import none of httpx, pydantic,
    duckdb, pyarrow, rich or the sandbox."""
    setup = (
        "from matomo_client.cli.app import cli\n"
        "cli.main(['--help'], standalone_mode=False)\n"
        "cli.main(['export', 'visits', '--help'], standalone_mode=False)"
    )
    assert _loaded_after(setup) == []


def test_import_package_is_light_and_names_still_resolve() -> None:
    """`import matomo_client` loads no heavy dependency; the first use of a public name does."""
    assert _loaded_after("import matomo_client") == []
    after_use = _loaded_after("import matomo_client\nmatomo_client.AsyncMatomo")
    assert "httpx" in after_use


def test_a_page_encoder_loads_no_target_it_does_not_write() -> None:
    """A worker process encodes pages into Arrow or JSON lines: it imports neither the HTTP
    client nor pydantic nor any target's driver (DuckDB, SQLite, the file formats)."""
    code = (
        "import json, sys\n"
        "from matomo_client.export._workers import serve\n"
        "from matomo_client.export.encode import encode_page\n"
        "import matomo_client.export.sinks.arrow\n"
        "others = ('httpx', 'pydantic', 'duckdb', 'sqlite3', 'gzip', 'csv', 'rich',\n"
        "          'matomo_client.export.sinks.sqlite', 'matomo_client.export.sinks.files',\n"
        "          'matomo_client.export.sinks.postgres', 'matomo_client.export.sinks.sql')\n"
        "print(json.dumps(sorted(m for m in others if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=clean_env(),
        timeout=60,
        check=True,
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []
