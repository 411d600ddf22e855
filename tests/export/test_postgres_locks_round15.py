"""PostgreSQL target beside other sessions: another session's lock on an export table (a BI
tool's open transaction, an admin's `LOCK TABLE`/`ALTER TABLE`) held the export, silently,
for as long as it lasted. A wait now ends after `lock_timeout` with an error naming the table
and the session; the window's transaction is rolled back and a new run resumes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from export_fakeworld import FakeMatomo

from matomo_client.export import TargetError, export_visits, open_target
from matomo_client.export.rows import build_visit_batches
from matomo_client.export.sinks import postgres
from matomo_client.export.state import DONE, JobInfo, WindowRecord, fingerprint

RECORDED = Path(__file__).parent.parent / "recorded"
PAGE = json.loads(
    (RECORDED / "049_Live.getLastVisitsDetails_limit5_offset0.response.json").read_text()
)
DAY = date(2026, 11, 29)
# Longer than any lock wait of these tests, far shorter than the old code's (none).
GIVE_UP = 10.0
# The sink's own limit, as shipped (None before it had one).
DEFAULT_LOCK_TIMEOUT = getattr(postgres, "LOCK_TIMEOUT", None)


@pytest.fixture(autouse=True)
def short_lock_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sink's own `lock_timeout` (used when nothing else sets one), short for the tests."""
    monkeypatch.setattr(postgres, "LOCK_TIMEOUT", "300ms", raising=False)


def _export(url: str, restart: bool = False) -> None:
    """One visits window of the recorded page, written through the sink."""
    params = {"kind": "visits", "sites": [1]}
    visits, actions = build_visit_batches(PAGE)
    rec = WindowRecord("visits", 1, DAY, DONE, len(visits), len(actions), bounds=None)
    with open_target(url) as sink:
        sink.start_job(JobInfo("visits", params, fingerprint(params)), restart=restart)
        sink.write_window("visits", [rec], [visits, actions])


@pytest.fixture
def other(pg_url: str) -> Iterator[psycopg.Connection[Any]]:
    """Another program's session on the target's database, as a BI tool opens it."""
    con = psycopg.connect(pg_url + "&application_name=bi-tool")
    yield con
    con.close()


def _while_held(release: Callable[[], None], run: Callable[[], None]) -> BaseException | None:
    """`run()` in a thread while another session holds its lock; what it raised (None if it
    succeeded). An export still waiting after GIVE_UP seconds fails the test, once the lock
    is released so that its thread ends."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            run()
        except BaseException as e:
            outcome.append(e)
        else:
            outcome.append(None)

    thread = threading.Thread(target=target, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(GIVE_UP)
    waited = time.monotonic() - started
    release()
    thread.join(GIVE_UP)
    assert waited < GIVE_UP, f"the export still waited for the lock after {GIVE_UP} s"
    return outcome[0]


def _counts(url: str) -> tuple[int, int, int]:
    with psycopg.connect(url) as con:
        row = con.execute(
            "SELECT (SELECT count(*) FROM visits), "
            "(SELECT count(DISTINCT (id_site, id_visit)) FROM visits), "
            "(SELECT count(*) FROM actions)"
        ).fetchone()
    assert row is not None
    return row


def _check_lock_error(error: BaseException | None, table: str, pid: int) -> str:
    assert isinstance(error, TargetError), error
    message = str(error)
    assert "waited 300ms (lock_timeout)" in message
    assert f"for a lock on table {table}" in message
    assert f"server process {pid} (bi-tool, idle in transaction" in message
    assert f"SELECT pg_terminate_backend({pid})" in message
    assert "run the export again" in message
    assert "lock_timeout%3D" in message  # how to wait longer
    return message


def test_a_table_an_admin_locked_fails_in_time_naming_table_and_session(
    pg_url: str, other: psycopg.Connection[Any]
) -> None:
    """`LOCK TABLE visits` (as ALTER TABLE, VACUUM FULL take it) in an open transaction held
    the export for as long as it stayed open, without a word."""
    _export(pg_url)
    before = _counts(pg_url)
    other.execute("LOCK TABLE visits IN ACCESS EXCLUSIVE MODE")
    error = _while_held(other.rollback, lambda: _export(pg_url))
    message = _check_lock_error(error, "visits", other.info.backend_pid)
    assert "holds AccessExclusiveLock on visits" in message
    assert _counts(pg_url) == before
    _export(pg_url)  # free again
    assert _counts(pg_url) == before


def test_rows_another_session_locked_fail_in_time_naming_the_table(
    pg_url: str, other: psycopg.Connection[Any]
) -> None:
    """A BI tool's `SELECT ... FOR UPDATE` left open on the visits a window replaces."""
    _export(pg_url)
    other.execute("SELECT id_visit FROM visits FOR UPDATE").fetchall()
    error = _while_held(other.rollback, lambda: _export(pg_url))
    _check_lock_error(error, "visits", other.info.backend_pid)


def test_the_export_state_locked_at_the_start_fails_in_time(
    pg_url: str, other: psycopg.Connection[Any]
) -> None:
    """A lock on the manifest table held the job's start (its header's rewrite)."""
    _export(pg_url)
    other.execute("LOCK TABLE _matomo_export IN SHARE MODE")
    error = _while_held(other.rollback, lambda: _export(pg_url))
    message = _check_lock_error(error, "_matomo_export", other.info.backend_pid)
    assert message.startswith("cannot write the export state to ")


def test_an_alter_table_queued_behind_a_reader_is_named(
    pg_url: str, other: psycopg.Connection[Any]
) -> None:
    """A reader's long SELECT blocks nothing an export does, but an ALTER TABLE queued behind
    it does: the session to look at is the ALTER's, which only waits for its lock."""
    _export(pg_url)
    other.execute("SELECT count(*) FROM visits").fetchall()
    admin = psycopg.connect(pg_url + "&application_name=admin", autocommit=True)
    pid = admin.info.backend_pid
    altering = threading.Thread(
        target=admin.execute, args=("ALTER TABLE visits ADD COLUMN note text",), daemon=True
    )
    altering.start()
    try:
        time.sleep(0.3)  # the ALTER is queued now
        error = _while_held(other.rollback, lambda: _export(pg_url))
    finally:
        other.rollback()
        altering.join(GIVE_UP)
        admin.close()
    assert isinstance(error, TargetError), error
    message = str(error)
    assert f"server process {pid} (admin, active" in message
    assert "waits for AccessExclusiveLock on visits" in message


def test_a_reader_in_an_open_transaction_does_not_hold_the_export(
    pg_url: str, other: psycopg.Connection[Any]
) -> None:
    """A dashboard's SELECTs in a transaction left open (ACCESS SHARE) hold no write, not even
    `--restart`'s deletes."""
    _export(pg_url)
    before = _counts(pg_url)
    for table in ("visits", "actions", "reports", "_matomo_export"):
        other.execute(f"SELECT count(*) FROM {table}").fetchall()
    assert _while_held(other.rollback, lambda: _export(pg_url)) is None
    other.execute("SELECT count(*) FROM visits").fetchall()
    assert _while_held(other.rollback, lambda: _export(pg_url, restart=True)) is None
    assert _counts(pg_url) == before


def test_the_sink_sets_a_lock_timeout_only_where_nothing_else_does(pg_url: str) -> None:
    """PostgreSQL's default is to wait forever: the export sets its own limit, unless the URL,
    the role or the database sets one (0 included: waiting forever is then asked for)."""

    def lock_timeout(url: str) -> str:
        sink = open_target(url)
        sink.open()
        try:
            return str(sink._con.execute("SHOW lock_timeout").fetchone()[0])  # type: ignore[attr-defined]
        finally:
            sink.close()

    assert lock_timeout(pg_url) == "300ms"
    assert lock_timeout(pg_url + "&options=-clock_timeout%3D5s") == "5s"
    assert lock_timeout(pg_url + "&options=-clock_timeout%3D0") == "0"
    name = pg_url.split("/")[3].split("?")[0]
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f"ALTER DATABASE {name} SET lock_timeout = '7s'")
    assert lock_timeout(pg_url) == "7s"


def test_the_default_wait_is_a_minute(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the tests' setting the limit is a minute: no lock an export meets in normal work
    conflicts (autovacuum's does not), a forgotten transaction no longer holds it for ever."""
    assert DEFAULT_LOCK_TIMEOUT == "1min"
    monkeypatch.setattr(postgres, "LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT)
    sink = open_target(pg_url)
    sink.open()
    try:
        assert sink._con.execute("SHOW lock_timeout").fetchone()[0] == "1min"  # type: ignore[attr-defined]
    finally:
        sink.close()


def test_an_export_stopped_by_a_lock_resumes_exactly_once(
    pg_url: str, other: psycopg.Connection[Any]
) -> None:
    """The days before the lock stay written, the window the lock stopped is rolled back, and
    the same export run again once the lock is gone holds every visit once, as an export that
    was never stopped does."""
    import anyio

    world = FakeMatomo(today=DAY, days=8, per_day=6)
    now = datetime(2026, 11, 29, 12, tzinfo=timezone.utc)

    async def run(start: str) -> None:
        async with world.client() as m:
            await export_visits(
                m, sites="all", start=start, end="2026-11-28", target=pg_url, workers=0,
                now=now, page_size=4,
            )  # fmt: skip

    anyio.run(run, "2026-11-25")
    first = _counts(pg_url)
    other.execute("LOCK TABLE actions IN EXCLUSIVE MODE")
    error = _while_held(other.rollback, lambda: anyio.run(run, "2026-11-22"))
    assert isinstance(error, TargetError), error
    assert "for a lock on table actions" in str(error)
    assert _counts(pg_url) == first
    anyio.run(run, "2026-11-22")
    visits, distinct, actions = _counts(pg_url)
    assert visits == distinct == len(world.all_ids()) - 2 * 6  # all but the 29th, today
    assert visits > first[0]
    # An export that was never stopped holds the same rows.
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("DELETE FROM visits")
        con.execute("DELETE FROM actions")
        con.execute("DELETE FROM _matomo_export")
    anyio.run(run, "2026-11-22")
    assert _counts(pg_url) == (visits, distinct, actions)
