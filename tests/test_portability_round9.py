"""Round 9 portability: what differs on Windows and macOS, simulated on this machine."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from matomo_client import AsyncMatomo, Auth
from matomo_client.export import ExportSummary, TargetError, export_visits
from matomo_client.sandbox import Sandbox, SandboxConfig

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)
# Pages of ~60 visits with their actions are over the 64 KB that go to worker processes.
BUSY = SandboxConfig(seed=2, days=6, visits_per_day=60, today=TODAY)


def _client(sb: Sandbox) -> AsyncMatomo:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
    return AsyncMatomo("http://sandbox.test/", auth=Auth.token(sb.config.token), http_client=http)


async def _export(target: Path, start: str, **options: Any) -> ExportSummary:
    async with _client(Sandbox(BUSY)) as m:
        return await export_visits(
            m, sites=[1], start=start, end="2024-05-14", target=str(target), now=NOW, **options
        )


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines())


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_workers_fall_back_when_the_event_loop_runs_no_subprocesses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows' SelectorEventLoop (Jupyter, psycopg) runs no subprocess: the pages are encoded
    in this process instead of the export failing with NotImplementedError."""
    tried = []

    def no_subprocess(self: Any, *args: Any, **kwargs: Any) -> Any:
        tried.append(1)
        raise NotImplementedError  # what asyncio's selector loop raises on Windows

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(type(loop), "_make_subprocess_transport", no_subprocess)
    summary = await _export(tmp_path / "x.jsonl", "2024-05-12", workers=2)
    assert tried
    assert summary.visits == _lines(tmp_path / "x.visits.jsonl") > 0


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.skipif(os.name != "posix", reason="the stand-in executable is a shell script")
async def test_a_frozen_application_never_runs_itself_as_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a frozen application (PyInstaller) `sys.executable` is the application: a worker
    started with it would run the application again; the pages stay in this process."""
    ran = tmp_path / "app-ran"
    app = tmp_path / "app"
    app.write_text(f"#!/bin/sh\ntouch '{ran}'\n")
    app.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app))
    summary = await _export(tmp_path / "x.jsonl", "2024-05-12", workers=2)
    assert not ran.exists()
    assert summary.visits == _lines(tmp_path / "x.visits.jsonl") > 0


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_restart_stops_when_an_old_part_cannot_be_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part `--restart` cannot delete (on Windows: open in another program) stops the run;
    it was kept silently and its old rows built into the new final file."""
    target = tmp_path / "x.jsonl"
    await _export(target, "2024-05-10", workers=0)
    held = "date=2024-05-10.jsonl"
    real_unlink = os.unlink

    def unlink(path: Any, *, dir_fd: int | None = None) -> None:
        if os.fsdecode(path).endswith(held):
            raise PermissionError(13, "Access is denied", os.fsdecode(path))
        real_unlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "unlink", unlink)
    with pytest.raises(TargetError, match=f"cannot delete the old parts in .*{held}"):
        await _export(target, "2024-05-13", workers=0, restart=True)
    monkeypatch.undo()  # the program let go of the file
    summary = await _export(target, "2024-05-13", workers=0, restart=True)
    assert summary.visits == _lines(tmp_path / "x.visits.jsonl") > 0
    assert not (tmp_path / "x.jsonl.parts" / "visits" / "site=1" / held).exists()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_final_file_open_elsewhere_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows cannot replace a file another program holds (Excel has x.visits.csv open):
    the error names that file, not only `Access is denied`."""
    real_replace = os.replace
    final = tmp_path / "x.visits.csv"

    def replace(src: Any, dst: Any) -> None:
        if Path(dst) == final:
            e = PermissionError(13, "Access is denied", os.fsdecode(src), None, os.fsdecode(dst))
            e.winerror = 5  # type: ignore[attr-defined]  # as Windows raises it
            raise e
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(TargetError) as caught:
        await _export(tmp_path / "x.csv", "2024-05-13", workers=0)
    assert f"{final}: Access is denied (is it open in another program?)" in str(caught.value)
    monkeypatch.undo()  # the program let go of the file
    again = await _export(tmp_path / "x.csv", "2024-05-13", workers=0)
    assert (again.windows_exported, again.windows_skipped) == (0, 2)  # written the first time
    assert _lines(final) > 1  # the header and the day's visits


def test_the_sandbox_server_leaves_so_reuseaddr_off_on_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On Windows SO_REUSEADDR lets a second sandbox bind a port in use, silently: it is set on
    POSIX only (as asyncio does), so a busy port is `cannot listen on ...` everywhere."""
    from matomo_client.sandbox import server

    options: list[tuple[int, int]] = []

    class Socket(socket.socket):
        def setsockopt(self, level: int, option: int, value: Any) -> None:  # type: ignore[override]
            options.append((level, option))
            super().setsockopt(level, option, value)

        def bind(self, address: Any) -> None:
            self.close()
            raise OSError(98, "stop here")

    monkeypatch.setattr(socket, "socket", Socket)
    for windows in (True, False):
        options.clear()
        monkeypatch.setattr(server, "_REUSE_ADDRESS", not windows)
        with pytest.raises(OSError, match="stop here"):
            server.serve("127.0.0.1", 0)
        reuse = (socket.SOL_SOCKET, socket.SO_REUSEADDR) in options
        assert reuse is not windows


def test_windows_gets_a_time_zone_database() -> None:
    """Windows has none of its own: zoneinfo needs the tzdata package there, or every site in
    a named timezone failed ("unknown site timezone 'Europe/Berlin'")."""
    root = Path(__file__).resolve().parent.parent
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    dependencies = text.split("dependencies = [", 1)[1].split("]", 1)[0]  # not tomllib: 3.10
    assert "\"tzdata>=2024.1; sys_platform == 'win32'\"" in dependencies


def test_a_machine_without_a_time_zone_database_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not "unknown site timezone": the zone is fine, the machine lacks the database."""
    import zoneinfo

    from matomo_client._core import periods

    def missing(name: str) -> Any:
        raise zoneinfo.ZoneInfoNotFoundError(name)

    monkeypatch.setattr(periods, "ZoneInfo", missing)
    monkeypatch.setattr(zoneinfo, "available_timezones", set)
    with pytest.raises(ValueError, match=r"no time zone database \(pip install tzdata\)"):
        periods.site_tz("Europe/Berlin")
