"""PostgreSQL target as a warehouse uses it: roles without CREATE, tables made by hand, schemas."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest

from matomo_client.export import TargetError, open_target
from matomo_client.export.rows import build_visit_batches
from matomo_client.export.state import DONE, JobInfo, WindowRecord, fingerprint

RECORDED = Path(__file__).parent.parent / "recorded"
PAGE = json.loads(
    (RECORDED / "049_Live.getLastVisitsDetails_limit5_offset0.response.json").read_text()
)
DAY = date(2026, 11, 29)


def _export(url: str) -> None:
    """One visits window of the recorded page, written through the sink."""
    params = {"kind": "visits", "sites": [1]}
    visits, actions = build_visit_batches(PAGE)
    rec = WindowRecord("visits", 1, DAY, DONE, len(visits), len(actions), bounds=None)
    with open_target(url) as sink:
        sink.start_job(JobInfo("visits", params, fingerprint(params)), restart=False)
        sink.write_window("visits", [rec], [visits, actions])
        assert sink.load_state("visits").windows[(1, DAY)].visits == len(PAGE)


def _run(url: str, *sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as con:
        for statement in sql:
            con.execute(statement)  # type: ignore[arg-type]


@pytest.fixture
def writer(pg_url: str) -> Iterator[tuple[str, str]]:
    """A login role with no rights of its own in the test database; its URL and name."""
    role = "w_" + uuid.uuid4().hex[:10]
    _run(pg_url, f"CREATE ROLE {role} LOGIN")
    yield pg_url.replace("postgres:@", f"{role}@"), role
    _run(pg_url, f"DROP OWNED BY {role}", f"DROP ROLE {role}")


def _grant_tables(owner_url: str, role: str, privileges: str) -> None:
    _run(owner_url, f"GRANT {privileges} ON ALL TABLES IN SCHEMA public TO {role}")


def test_a_role_without_create_writes_the_tables_an_owner_made(
    pg_url: str, writer: tuple[str, str]
) -> None:
    """The usual warehouse set-up: the owner's first export made the tables, the ETL role may
    read and write them but not create in the schema. CREATE TABLE IF NOT EXISTS refused it
    ("permission denied for schema public") although every table was there."""
    url, role = writer
    _export(pg_url)
    _grant_tables(pg_url, role, "SELECT, INSERT, DELETE")
    _export(url)
    with psycopg.connect(pg_url) as con:
        n = con.execute("SELECT count(*), count(DISTINCT id_visit) FROM visits").fetchone()
    assert n == (len(PAGE), len(PAGE))


def test_a_role_without_create_on_an_empty_schema_is_told_what_it_needs(
    writer: tuple[str, str],
) -> None:
    """With the tables missing, CREATE on the schema is needed: the error says so."""
    url, _ = writer
    with pytest.raises(TargetError) as info:
        _export(url)
    message = str(info.value)
    assert "permission denied for schema public" in message
    assert "CREATE on the schema" in message
    assert "LINE 1" not in message


def test_an_unreadable_export_state_is_a_target_error(pg_url: str, writer: tuple[str, str]) -> None:
    """A manifest the role may not read was an "internal error (InsufficientPrivilege)" from
    `load_state`, exit 1 with a traceback hint: it is a target error naming the rights."""
    url, role = writer
    _export(pg_url)
    _grant_tables(pg_url, role, "SELECT, INSERT, DELETE")
    _run(pg_url, f"REVOKE SELECT ON _matomo_export FROM {role}")
    with open_target(url) as sink, pytest.raises(TargetError) as info:
        sink.load_state("visits")
    message = str(info.value)
    assert message.startswith("cannot read the export state in postgresql://")
    assert "permission denied for table _matomo_export" in message
    assert "SELECT, INSERT and DELETE" in message


def test_a_search_path_naming_no_existing_schema_says_to_create_it(pg_url: str) -> None:
    """`?options=-csearch_path%3Dwh` before `CREATE SCHEMA wh`: PostgreSQL's own "no schema
    has been selected to create in", quoting a CREATE TABLE, did not say which schema."""
    url = pg_url + "&options=-csearch_path%3D%22Warehouse%22"  # mixed case: quoted
    with pytest.raises(TargetError) as info:
        _export(url)
    message = str(info.value)
    assert 'search_path ("Warehouse")' in message
    assert "CREATE SCHEMA" in message
    _run(pg_url, 'CREATE SCHEMA "Warehouse"')
    _export(url)
    _export(url)  # the tables found in a schema whose name is not lower case
    with psycopg.connect(pg_url) as con:
        (n,) = con.execute('SELECT count(*) FROM "Warehouse".visits').fetchone() or (0,)
    assert n == len(PAGE)


def _instants(url: str) -> dict[int, Any]:
    with psycopg.connect(url) as con:
        con.execute("SET TimeZone TO 'UTC'")
        rows = con.execute("SELECT id_visit, last_action_timestamp FROM visits").fetchall()
    return {int(i): t for i, t in rows}


def test_timestamps_are_utc_instants_in_a_timestamptz_column_made_by_hand(pg_url: str) -> None:
    """A DBA turns `last_action_timestamp` into `timestamptz` (instants kept) in a database
    whose TimeZone is not UTC: the export's UTC wall times were read as New York times, five
    hours off."""
    with psycopg.connect(pg_url) as con:
        (name,) = con.execute("SELECT current_database()").fetchone() or ("",)
    _run(pg_url, f"ALTER DATABASE {name} SET TimeZone TO 'America/New_York'")
    _export(pg_url)
    _run(
        pg_url,
        "ALTER TABLE visits ALTER COLUMN last_action_timestamp TYPE timestamptz "
        "USING last_action_timestamp AT TIME ZONE 'UTC'",
        "DELETE FROM visits",
        "DELETE FROM _matomo_export",
    )
    _export(pg_url)
    want = {
        int(v["idVisit"]): datetime.fromtimestamp(int(v["lastActionTimestamp"]), timezone.utc)
        for v in PAGE
    }
    assert _instants(pg_url) == want


def test_a_schema_in_use_names_the_session_holding_it(pg_url: str) -> None:
    """An export whose machine stopped (or lost the network) keeps its session, and the
    schema's lock, until the server notices, possibly hours: "wait for that one to end" did not
    say which session that is, nor how to end it."""
    holder = open_target(pg_url)
    holder.open()
    try:
        pid = holder._con.info.backend_pid  # type: ignore[attr-defined]
        with pytest.raises(TargetError) as info:
            open_target(pg_url).open()
    finally:
        holder.close()
    message = str(info.value)
    assert "is in use by another export" in message
    assert f"server process {pid}, connected since " in message
    assert f"SELECT pg_terminate_backend({pid})" in message
    _export(pg_url)  # free again once the holder is gone
