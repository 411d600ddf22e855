"""The `matomo` command loads its heavy dependencies only when a command needs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import REPO, clean_env

HEAVY = ("httpx", "httpcore", "aiohttp", "pydantic", "duckdb", "pyarrow", "rich")
HEAVY += ("matomo_client.sandbox",)

# Runs in a fresh interpreter: this test process has imported everything already.
_PROBE = """
import json, sys
{setup}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _probe(setup: str, modules: tuple[str, ...] = HEAVY, **env: str) -> list[str]:
    """What a fresh interpreter prints running `setup`, then which of `modules` it imported."""
    code = _PROBE.format(setup=setup, heavy=modules)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=clean_env(**env),
        timeout=60,
        check=True,
    ).stdout.splitlines()


def _loaded_after(setup: str, modules: tuple[str, ...] = HEAVY) -> list[str]:
    """Which of `modules` a fresh interpreter has imported after running `setup`."""
    loaded: list[str] = json.loads(_probe(setup, modules)[-1])
    return loaded


def test_help_loads_no_heavy_dependency() -> None:
    """`matomo --help` and `matomo export visits --help` import none of httpx, pydantic,
    duckdb, pyarrow, rich, the sandbox or the export engine."""
    setup = (
        "from matomo_client.cli.app import cli\n"
        "cli.main(['--help'], standalone_mode=False)\n"
        "cli.main(['export', 'visits', '--help'], standalone_mode=False)\n"
        "cli.main(['export', 'reports', '--help'], standalone_mode=False)"
    )
    engine = (
        "matomo_client.export.engine",
        "matomo_client.export.run",
        "matomo_client.export.reports",
    )
    assert _loaded_after(setup, HEAVY + engine) == []


def test_import_package_is_light_and_names_still_resolve() -> None:
    """`import matomo_client` loads no heavy dependency; the first use of a public name does."""
    assert _loaded_after("import matomo_client") == []
    assert _loaded_after("import matomo_client\nmatomo_client.AsyncMatomo") == []
    typed = _loaded_after("import matomo_client\nmatomo_client.Visit")
    assert typed == ["pydantic"]
    made = _loaded_after("import matomo_client\nmatomo_client.AsyncMatomo('http://m.example/')")
    assert "httpx" in made
    assert "aiohttp" not in made


def test_an_export_never_loads_pydantic(served_sandbox: str, tmp_path: Path) -> None:
    """`matomo export visits` reads sites, pages and counts as raw JSON: it runs to the end
    without importing pydantic or the models (about 0.2 s before its first request)."""
    target = tmp_path / "x.duckdb"
    setup = (
        "from matomo_client.cli import main\n"
        "try:\n"
        f"    main(['export', 'visits', '--url', {served_sandbox!r}, '--site', '1,2',\n"
        f"          '--from', 'last3', '--to', 'yesterday', '--out', {str(target)!r}, '--quiet'])\n"
        "except SystemExit as e:\n"
        "    print('exit', e.code)"
    )
    out = _probe(setup, (*HEAVY, "matomo_client.models"), MATOMO_TOKEN="sandbox-token")
    assert "exit 0" in out, out
    loaded = json.loads(out[-1])
    assert "duckdb" in loaded  # it did export...
    assert "aiohttp" in loaded  # ...over the network
    assert "pydantic" not in loaded
    assert "matomo_client.models" not in loaded


def test_a_client_on_another_transport_never_imports_httpx() -> None:
    """The default transport's httpx is imported only by a client that uses it: one on the
    aiohttp transport, as the `matomo` command's, loads aiohttp and not httpx."""
    setup = (
        "from matomo_client import AsyncMatomo\n"
        "from matomo_client.transports import AiohttpTransport\n"
        "AsyncMatomo('http://m.example/', transport=AiohttpTransport('http://m.example/'))"
    )
    loaded = _loaded_after(setup)
    assert "aiohttp" in loaded
    assert not {"httpx", "httpcore"} & set(loaded)


def test_the_command_talks_to_a_server_over_aiohttp() -> None:
    """The `matomo` command's client for a server URL is on the aiohttp transport."""
    setup = (
        "import anyio\n"
        "from matomo_client.cli.connection import Connection\n"
        "async def main():\n"
        "    async with Connection('http://m.example/', 'tok').client(skip_preflight=True) as m:\n"
        "        print(type(m._transport).__name__)\n"
        "anyio.run(main)"
    )
    out = _probe(setup)
    assert out[0] == "AiohttpTransport"
    loaded = json.loads(out[-1])
    assert "aiohttp" in loaded
    assert not {"httpx", "httpcore"} & set(loaded)


def test_a_page_encoder_loads_no_target_it_does_not_write() -> None:
    """A worker process encodes pages into Arrow or JSON lines: it imports neither the HTTP
    client nor pydantic nor any target's driver (DuckDB, SQLite, the file formats), nor what
    only the exporting process uses (subprocess, the sinks' base class and export state)."""
    setup = (
        "from matomo_client.export._workers import serve\n"
        "from matomo_client.export.encode import encode_page\n"
        "import matomo_client.export.sinks.arrow"
    )
    others = ("httpx", "pydantic", "duckdb", "sqlite3", "gzip", "csv", "rich")
    if sys.version_info >= (3, 11):  # on 3.10 `uuid` (orjson imports it) loads subprocess
        others += ("subprocess",)
    others += ("matomo_client.export.state",)
    sinks = tuple(
        f"matomo_client.export.sinks.{n}" for n in ("sqlite", "files", "postgres", "sql", "base")
    )
    assert _loaded_after(setup, others + sinks) == []


def test_only_big_pages_load_the_struct_decoder() -> None:
    """The exporting process encodes the small pages (workers take the big ones): they go the
    orjson way without importing msgspec; a big page imports it and teaches the structs."""
    page = (
        "from matomo_client import Cursor, Limit, Period\n"
        "from matomo_client.export import encode\n"
        "import datetime, orjson\n"
        "visit = {{'idSite': 1, 'idVisit': 1, 'lastActionTimestamp': 5, 'actionDetails': []}}\n"
        "body = orjson.dumps([visit, {{**visit, 'idVisit': 2, 'note': 'x' * {size}}}])\n"
        "cursor = Cursor(1, Period.day(datetime.date(2024, 5, 13)), Limit(10))\n"
        "rows = encode.encode_page(body, cursor, (0, 10), 'arrow')\n"
        "assert rows.ids == [1, 2]\n"
        "learnt = encode._STRUCTS is not None and encode._STRUCTS.decode(body) is not None\n"
        "assert learnt == (len(body) >= encode.MIN_STRUCT_BODY)\n"
    )
    assert _loaded_after(page.format(size=100), ("msgspec",)) == []
    assert _loaded_after(page.format(size=100_000), ("msgspec",)) == ["msgspec"]


def test_the_console_script_spares_the_collector_work_on_long_lived_objects() -> None:
    """The `matomo` script runs with the export's relaxed collector thresholds (its imports make
    no garbage) and freezes the heap once the command is done (the interpreter's exit then skips
    its last collection over everything imported), keeping the exit code."""
    setup = (
        "import gc\n"
        "from matomo_client.cli import main\n"
        "from matomo_client.export._gc import RELAXED_THRESHOLDS\n"
        "codes = []\n"
        "for argv in (['--help'], ['export', 'visits', '--no-such-option']):\n"
        "    gc.unfreeze()\n"
        "    gc.set_threshold(700, 10, 10)\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as e:\n"
        "        relaxed = gc.get_threshold() == RELAXED_THRESHOLDS\n"
        "        codes.append((e.code, gc.get_freeze_count() > 0, relaxed))\n"
        "print(json.dumps(codes))"
    )
    assert json.loads(_probe(setup)[-2]) == [[0, True, True], [2, True, True]]


def test_the_summary_table_loads_while_the_export_saves() -> None:
    """Without progress bars, rich loads when the export reports "saving" (in a thread, while
    the target is checkpointed), not before, so the summary does not wait for its import."""
    setup = """
import threading
from matomo_client.cli.display import ExportDisplay
from matomo_client.export import ExportProgress
display = ExportDisplay("visits", show=False)
def snapshot(phase):
    display(ExportProgress("visits", phase, 2, 2, 0, 10, 30, 0, 3, 0, "site 1, 2024-05-01"))
snapshot("exporting")
print(sorted(m for m in ("rich.console", "rich.table") if m in sys.modules))
snapshot("saving")
for t in threading.enumerate():
    if t is not threading.current_thread():
        t.join()
"""
    lines = _probe(setup, ("rich.console", "rich.table"))
    assert lines[-2] == "[]"
    assert json.loads(lines[-1]) == ["rich.console", "rich.table"]
