"""PostgreSQL target (`postgresql://...`, psycopg 3): `timestamp` (UTC), `date`, `jsonb`.

Rows are loaded with `COPY ... FROM STDIN`. The URL's password never appears in messages.

A statement waits at most `LOCK_TIMEOUT` for a lock another session holds (an open transaction
that wrote or `SELECT ... FOR UPDATE` the same rows, `LOCK TABLE`, `ALTER TABLE`, `VACUUM FULL`,
`CREATE INDEX`), unless the URL (`?options=-clock_timeout%3D10min`), the role, the database or
the server sets PostgreSQL's `lock_timeout`; then it fails naming the table and the session, and
its window's transaction is rolled back: a new run resumes there. Readers' `SELECT`s (ACCESS
SHARE) block nothing an export does.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import unquote

from ...errors import scrub
from ..errors import TargetError
from ..schema import ACTIONS, REPORTS, VISITS, Batch, ColumnType, Table
from .base import json_text, ts_to_datetime
from .sql import MANIFEST_TABLE, SqlSink

__all__ = ["PostgresSink", "redact_url", "url_passwords"]

# "mtmo": with the hash of the schema, the advisory lock every export to a schema takes.
_LOCK_KEY = 0x6D746D6F

#: How long a statement waits for another session's lock when nothing sets `lock_timeout`.
LOCK_TIMEOUT = "1min"
_LOCK_NOT_AVAILABLE = "55P03"
# The relation a row lock wait names in its context: `... in relation "visits"`.
_CONTEXT_RELATION = re.compile(r'in relation "([^"]+)"')


# `user:password@` (the user may be empty; an unencoded `@` in the password reaches the last one;
# libpq reads up to an `@` before any `/`, so `?` and `#` are part of a password), and the
# query's parameters, whose names libpq also percent-decodes.
_USERINFO = re.compile(r"(://[^:/@]*:)([^/]*)@")
_QUERY_PARAM = re.compile(r"([?&])([^=&#]*)=([^&#]*)")
_PASSWORD_KEYS = ("password", "sslpassword")


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***`: `user:password@` and, as libpq also takes
    them, `password=` and `sslpassword=` in the query string."""
    url = _USERINFO.sub(r"\1***@", url, count=1)

    def mask(m: re.Match[str]) -> str:
        if unquote(m[2]).lower() in _PASSWORD_KEYS:
            return f"{m[1]}{m[2]}=***"
        return m[0]

    return _QUERY_PARAM.sub(mask, url)


def url_passwords(url: str) -> list[str]:
    """The URL's passwords as written and percent-decoded, and the parts of one holding an `@`
    (libpq ends the password at the first `@` and reads the rest as the host)."""
    found = [m[3] for m in _QUERY_PARAM.finditer(url) if unquote(m[2]).lower() in _PASSWORD_KEYS]
    userinfo = _USERINFO.search(url)
    if userinfo:
        found.append(userinfo[2])
        found.extend(userinfo[2].split("@"))
    return [form for p in found if p for form in (p, unquote(p))]


def _connect_failure(url: str, error: Exception) -> str:
    """psycopg's message without the URL's passwords: libpq quotes what it cannot read (a stray
    `%` in the password, the whole URL), and reads what follows an `@` in the password as the
    host."""
    message = scrub(str(error), url_passwords(url)).strip()
    userinfo = _USERINFO.search(url)
    if userinfo and "@" in userinfo[2]:
        message += " (write an @ in the password as %40)"
    return message


# A `\u0000` escape in JSON text: after an even number of backslashes (`\\u0000` is the text
# "\u0000", not a NUL).
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def _jsonb_text(value: Any) -> str | None:
    """A nested value as JSON text for `jsonb`, which cannot hold NUL: NULs are left out of its
    strings and keys, as they are from text columns."""
    text = json_text(value)
    if text is not None and "\\u0000" in text:
        text = _NUL_ESCAPE.sub(r"\1", text)
    return text


class PostgresSink(SqlSink):
    """Writes to a PostgreSQL database."""

    placeholder = "%s"
    type_names: ClassVar[dict[ColumnType, str]] = {
        ColumnType.INT: "bigint",
        ColumnType.FLOAT: "double precision",
        ColumnType.TEXT: "text",
        ColumnType.TIMESTAMP: "timestamp",
        ColumnType.DATE: "date",
        ColumnType.JSON: "jsonb",
    }

    def __init__(self, url: str) -> None:
        self.url = url
        self.target = redact_url(url)
        self._con: Any = None
        self._lock_timeout = LOCK_TIMEOUT

    def _connect(self) -> None:
        try:
            import psycopg
        except ImportError as e:  # pragma: no cover - depends on the install
            raise RuntimeError(
                "PostgreSQL targets need psycopg: pip install 'matomo-client[postgres]'"
            ) from e
        try:
            self._con = psycopg.connect(self.url, autocommit=True)
        except Exception as e:
            # Not chained: the traceback's frames hold the URL, password and all.
            raise TargetError(
                f"cannot open {self.target}: {_connect_failure(self.url, e)}"
            ) from None
        # Timestamps are written as UTC wall times: into a `timestamptz` column (a table made
        # by hand) they are read in the session's TimeZone, the database's own otherwise.
        self._con.execute("SET TimeZone TO 'UTC'")
        # PostgreSQL waits for a lock without limit by default: a BI tool's open transaction or
        # an admin's ALTER TABLE held the export, silently, for as long as it lasted.
        self._lock_timeout = self._con.execute(
            "SELECT CASE WHEN source = 'default' THEN set_config('lock_timeout', %s, false) "
            "ELSE current_setting('lock_timeout') END FROM pg_settings WHERE name = 'lock_timeout'",
            [LOCK_TIMEOUT],
        ).fetchone()[0]
        schema, path = self._con.execute(
            "SELECT current_schema(), current_setting('search_path')"
        ).fetchone()
        if schema is None:  # else every CREATE TABLE: "no schema has been selected to create in"
            self._con.close()
            self._con = None
            raise TargetError(
                f"{self.target}: no schema of its search_path ({path}) exists that this role "
                "may use: create it (CREATE SCHEMA name), grant USAGE on it, or name another "
                "(?options=-csearch_path%3Dname in the URL)"
            )
        # One export at a time per schema (the tables' one: the URL's search_path picks it), as
        # DuckDB's file lock and the others' flock give: a session lock, released when the
        # connection closes (or its process dies). Exports into two schemas run side by side.
        locked = self._con.execute(
            "SELECT pg_try_advisory_lock(%s, hashtext(%s))", [_LOCK_KEY, schema]
        ).fetchone()[0]
        if not locked:
            holder = self._lock_holder(schema)
            self._con.close()
            self._con = None
            raise TargetError(
                f"{self.target} is in use by another export{holder}: wait for that one to end, "
                "or export to another database or schema"
            )

    def _lock_holder(self, schema: str) -> str:
        """Which session holds the schema's export lock, and how to end it: a session whose
        program is gone (its machine stopped, the network lost) holds it until the server
        notices, possibly hours."""
        try:
            row = self._con.execute(
                "SELECT l.pid, a.backend_start::timestamp(0) FROM pg_locks l "
                "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND l.classid = %s::bigint::oid"
                " AND l.objid = (hashtext(%s)::bigint & 4294967295)::oid",
                [_LOCK_KEY, schema],
            ).fetchone()
        except Exception:  # only a detail of the message
            return ""
        if row is None:
            return ""
        since = f", connected since {row[1]} UTC" if row[1] is not None else ""
        return (
            f" (the session of server process {row[0]}{since}; if that export is gone, end it "
            f"with SELECT pg_terminate_backend({row[0]}))"
        )

    def _create_tables(self) -> None:
        # CREATE TABLE IF NOT EXISTS needs the schema's CREATE right even when the table is
        # there: a role that may only write the tables an owner made was refused.
        names = [t.name for t in (VISITS, ACTIONS, REPORTS)] + [MANIFEST_TABLE]
        found = self._query(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relname = ANY(%s)",
            [names],
        )[0][0]
        if found < len(names):
            super()._create_tables()
        else:
            self._create_indexes()

    def _create_indexes(self) -> None:
        # CREATE INDEX IF NOT EXISTS takes its table's SHARE lock before it sees the index is
        # there: another program's open transaction that wrote to the table held the export at
        # its start, silently, until it ended.
        found = self._query(
            "SELECT to_regclass(format('%%I.reports_window', current_schema())), "
            "to_regclass(format('%%I.visits_window', current_schema()))"
        )[0]
        if None in found:
            super()._create_indexes()

    def _failure(self, error: Exception) -> str:
        """PostgreSQL's message; for a missing privilege, the ones an export needs; for a lock
        wait that ran out, the table, the sessions holding it up and what to do."""
        diag = getattr(error, "diag", None)
        if diag is not None and getattr(error, "sqlstate", None) == "42501":  # no privilege
            return (
                f"{diag.message_primary}: the export's role needs SELECT, INSERT and "
                f"DELETE on the tables visits, actions, reports and {MANIFEST_TABLE}, and "
                "CREATE on the schema while any of them is missing"
            )
        if diag is not None and getattr(error, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            return self._lock_failure(diag.context or "")
        return str(error)

    def _lock_failure(self, context: str) -> str:
        """A lock wait that ran out: which table, which sessions hold or queue for its locks,
        how to end them, and that a new run resumes (the transaction was rolled back)."""
        named = _CONTEXT_RELATION.search(context)
        tables, sessions = self._lock_holders(named[1] if named else None)
        where = ""
        if tables:
            where = f" on {'table' if len(tables) == 1 else 'tables'} {' and '.join(tables)}"
        if not sessions:  # released since
            held = "another session held"
        else:
            ends = ", ".join(f"SELECT pg_terminate_backend({pid})" for pid in list(sessions)[:3])
            held = (
                f"held up by another session: {'; '.join(list(sessions.values())[:3])}; end "
                f"that transaction or the session ({ends})"
            )
        return (
            f"waited {self._lock_timeout} (lock_timeout) for a lock{where}, {held}, then run "
            "the export again: it resumes where it stopped, what it wrote is kept (to wait "
            "longer, add options=-clock_timeout%3D10min to the URL)"
        )

    def _lock_holders(self, relation: str | None) -> tuple[list[str], dict[int, str]]:
        """The export tables other sessions hold a lock on that can hold up a write (any but a
        reader's ACCESS SHARE) or queue for one, and those sessions described by pid; those on
        `relation` (a table or its index) first."""
        names = [t.name for t in (VISITS, ACTIONS, REPORTS)] + [MANIFEST_TABLE]
        schema = "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
        try:
            rows = self._con.execute(
                "SELECT l.pid, c.relname, l.mode, l.granted, a.application_name, a.state, "
                "a.xact_start::timestamp(0) FROM pg_locks l "
                "JOIN pg_class c ON c.oid = l.relation "
                "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'relation' AND l.pid <> pg_backend_pid() "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                f" AND c.relnamespace = {schema} AND c.relname = ANY(%s)"
                " AND (NOT l.granted OR l.mode <> 'AccessShareLock') "
                "ORDER BY c.oid = (SELECT coalesce(i.indrelid, r.oid) FROM pg_class r "
                "LEFT JOIN pg_index i ON i.indexrelid = r.oid "
                f"WHERE r.relname = %s AND r.relnamespace = {schema}) DESC NULLS LAST, "
                "l.granted DESC, l.pid",
                [names, relation],
            ).fetchall()
        except Exception:  # only a detail of the message
            return [], {}
        tables: dict[str, None] = {}
        who: dict[int, str] = {}
        locks: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for pid, table, mode, granted, app, state, since in rows:
            tables[table] = None
            about = [x for x in (app, state) if x]
            if since is not None:
                about.append(f"transaction open since {since} UTC")
            who.setdefault(
                pid, f"server process {pid}" + (f" ({', '.join(about)})" if about else "")
            )
            locks[pid][f"{'holds' if granted else 'waits for'} {mode}"].append(table)
        sessions = {
            pid: text + "".join(f" {lock} on {' and '.join(on)}" for lock, on in locks[pid].items())
            for pid, text in who.items()
        }
        return list(tables), sessions

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._con.execute(sql, list(params) if params else None)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        result: list[tuple[Any, ...]] = self._con.execute(sql, list(params)).fetchall()
        return result

    def _begin(self) -> None:
        self._con.execute("BEGIN")

    def _commit(self) -> None:
        self._con.execute("COMMIT")

    def _rollback(self) -> None:
        self._con.execute("ROLLBACK")

    def _insert(self, batch: Batch) -> None:
        cols = []
        for c in batch.table.columns:
            values = batch.columns[c.name]
            if c.type is ColumnType.TIMESTAMP:
                values = [ts_to_datetime(v) for v in values]
            elif c.type is ColumnType.JSON:
                values = [_jsonb_text(v) for v in values]
            elif c.type is ColumnType.TEXT:
                # PostgreSQL text cannot hold NUL; Matomo data practically never has it.
                values = [v.replace("\x00", "") if v and "\x00" in v else v for v in values]
            cols.append(values)
        names = ", ".join(batch.table.column_names)
        with (
            self._con.cursor() as cur,
            cur.copy(f"COPY {batch.table.name} ({names}) FROM STDIN") as copy,
        ):
            for row in zip(*cols, strict=True):
                copy.write_row(row)

    def _delete_visits(self, table: Table, id_site: int, ids: list[int]) -> None:
        self._con.execute(
            f"DELETE FROM {table.name} WHERE id_site = %s AND id_visit = ANY(%s)", [id_site, ids]
        )

    def close(self) -> None:
        """Close the connection."""
        if self._con is not None:
            self._con.close()
            self._con = None
