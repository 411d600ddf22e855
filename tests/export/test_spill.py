"""A busy day's rows wait on disk, not in memory, and every target gets the same rows.

`spill.SPILL_ROWS` is set low, so that each window of a small sandbox spills page after page;
the export must write exactly the rows an export that held them in memory writes, and leave no
file behind, also when it stops part way.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from export_readers import read_rows
from export_sandbox import sandbox_client

from matomo_client.export import engine, export_visits, spill
from matomo_client.export.sinks import duckdb as duckdb_sink
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)
FIRST, LAST = TODAY - timedelta(days=4), TODAY  # closed days in runs, and today's open window
TARGETS = ["x.duckdb", "x.parquet", "x.jsonl", "x.csv", "x.sqlite", "postgres"]


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here: both are covered by the engine tests."""
    return "asyncio"


@pytest.fixture
def spills(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> list[Path]:
    """Each spill file written; the spill directories go under tmp_path/'tmp'."""
    if "postgres" in request.node.name:  # its server's files stay in the usual place
        request.getfixturevalue("pg_server")
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    written: list[Path] = []
    real = spill.write_parts

    def write_parts(path: Path, parts: Any) -> None:
        written.append(path)
        real(path, parts)

    monkeypatch.setattr(spill, "write_parts", write_parts)
    return written


def _target(name: str, tmp_path: Path, request: pytest.FixtureRequest, tag: str) -> str:
    if name != "postgres":
        return str(tmp_path / f"{tag}-{name}")
    import psycopg

    base = str(request.getfixturevalue("pg_server").get_uri())
    db = f"spill_{tag}_{tmp_path.name.lower()[-12:]}".replace("-", "_")
    with psycopg.connect(base, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {db}")
    return base.replace("/postgres?", f"/{db}?")


def _listing(path: Path) -> list[Path]:
    return list(path.iterdir())


def _rows(target: str, table: str) -> list[tuple[Any, ...]]:
    key = ("id_visit", "id_action") if table == "actions" else ("id_visit",)
    rows = read_rows(target, table)
    return sorted(tuple(str(r.get(c)) for c in sorted(r)) for r in rows if all(k in r for k in key))


async def _export(sb: Sandbox, target: str, workers: int) -> int:
    async with sandbox_client(sb) as m:
        summary = await export_visits(
            m,
            sites=[1, 2],
            start=FIRST,
            end=LAST,
            target=target,
            page_size=7,
            concurrency=2,
            workers=workers,
            now=NOW,
            reconcile=False,
        )
    return summary.visits


@pytest.mark.parametrize("name", TARGETS)
async def test_spilled_windows_write_the_rows_held_ones_write(
    name: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    spills: list[Path],
) -> None:
    """With a threshold of 30 rows, every window spills; the target's rows are the same."""
    sb = Sandbox(SandboxConfig(seed=11, days=8, visits_per_day=40, today=TODAY))
    held = _target(name, tmp_path, request, "held")
    visits = await _export(sb, held, workers=0)
    assert not spills
    monkeypatch.setattr(spill, "SPILL_ROWS", 30)
    monkeypatch.setattr(spill, "SPILL_MIN", 10)
    monkeypatch.setattr(duckdb_sink, "_INSERT_ROWS", 50)  # DuckDB inserts a big window in slices
    spilled = _target(name, tmp_path, request, "spilled")
    workers = 1 if name in ("x.duckdb", "x.jsonl") else 0
    made: list[spill.SpillDir] = []

    class Recorded(spill.SpillDir):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(engine, "SpillDir", Recorded)
    assert await _export(sb, spilled, workers=workers) == visits
    assert len(spills) > 10
    assert [d.held for d in made] == [0]  # every window's rows were counted out when handed on
    for table in ("visits", "actions"):
        assert _rows(spilled, table) == _rows(held, table)
    assert _listing(tmp_path / "tmp") == []  # the spill directory is removed


async def test_an_export_that_stops_leaves_no_spilled_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spills: list[Path]
) -> None:
    """An export stopped part way (here by its progress callback) removes its spill files;
    the re-run finishes with each visit once."""
    monkeypatch.setattr(spill, "SPILL_ROWS", 30)
    monkeypatch.setattr(spill, "SPILL_MIN", 10)
    sb = Sandbox(SandboxConfig(seed=12, days=8, visits_per_day=40, today=TODAY))
    target = str(tmp_path / "x.duckdb")

    class Stop(Exception):
        pass

    def stop_after_a_write(event: Any) -> None:
        if event.windows_done >= 2:
            raise Stop

    async with sandbox_client(sb) as m:
        with pytest.raises(Stop):
            await export_visits(
                m,
                sites=[1, 2],
                start=FIRST,
                end=LAST,
                target=target,
                page_size=7,
                concurrency=2,
                workers=0,
                now=NOW,
                progress=stop_after_a_write,
            )
    assert spills
    assert _listing(tmp_path / "tmp") == []
    await _export(sb, target, workers=0)
    ids = [(r["id_site"], r["id_visit"]) for r in read_rows(target, "visits")]
    assert len(ids) == len(set(ids))
    days = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    truth = {(s, v.id_visit) for s in (1, 2) for d in days for v in sb.world.day_visits(s, d)}
    assert set(ids) <= truth
    assert len(ids) > 0
