"""What the SQL targets (DuckDB, SQLite, PostgreSQL) share: tables, manifest, window transactions.

Each window is one transaction: delete the rows an earlier run wrote for the same visits (by
`(id_site, id_visit)`) or the same report dates, insert the new rows, and upsert the window's
manifest rows. Either all of it is visible after a crash or none of it is.

The visit deletes scan whole tables (DuckDB has no key index), so they are skipped for a window
that provably has no rows in the target yet (`_Fresh`): every visit belongs to the one window
holding its last action, and only a visit of a window fetched while open can later move (forward
in time, into a later window). A window is fresh when the manifest had no record of it at job
start, it is closed now, no window of its site was recorded open on or before its day (an open
window's visit may have grown into it), and no record of its site lies within two days of it (a
changed site timezone moves day bounds by up to 26 hours). Visits without a last-action time
are always deleted by id.
"""

from __future__ import annotations

import abc
import contextlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import orjson

from ..errors import TargetError
from ..schema import ACTIONS, REPORTS, VISITS, Batch, ColumnType, Table
from ..state import DONE, ExportState, JobInfo, WindowRecord, utcnow
from .base import Sink, period_of, tables_for, ts_to_datetime

__all__ = ["MANIFEST_TABLE", "SqlSink"]

MANIFEST_TABLE = "_matomo_export"
_JOB = "job"

# (name, type) of the manifest columns; `type` is a ColumnType mapped by the dialect.
MANIFEST_COLUMNS: tuple[tuple[str, ColumnType], ...] = (
    ("kind", ColumnType.TEXT),
    ("id_site", ColumnType.INT),
    ("day", ColumnType.DATE),
    ("status", ColumnType.TEXT),
    ("visits", ColumnType.INT),
    ("actions", ColumnType.INT),
    ("report_rows", ColumnType.INT),
    ("nb_visits", ColumnType.INT),
    ("params", ColumnType.TEXT),
    ("fingerprint", ColumnType.TEXT),
    ("updated_at", ColumnType.TIMESTAMP),
)


# How far (in days) a recorded window of a site makes a fresh window of it need its deletes.
_NEIGHBOURS = timedelta(days=2)


@dataclass
class _Fresh:
    """What the visits manifest held at job start, and what this run wrote: see the module doc."""

    recorded: dict[int, set[date]] = field(default_factory=dict)
    written: set[tuple[int, date]] = field(default_factory=set)
    first_open: dict[int, date] = field(default_factory=dict)

    def add(self, id_site: int, day: date, status: str, at_start: bool) -> None:
        """Note a window record (read at job start, or about to be written by this run)."""
        if at_start:
            self.recorded.setdefault(id_site, set()).add(day)
        self.written.add((id_site, day))
        if status != DONE:
            first = self.first_open.get(id_site)
            self.first_open[id_site] = day if first is None else min(first, day)

    def needs_deletes(self, rec: WindowRecord) -> bool:
        """False only when no row of this window's visits can be in the target yet."""
        if rec.status != DONE or rec.bounds is None or (rec.id_site, rec.day) in self.written:
            return True
        first_open = self.first_open.get(rec.id_site)
        if first_open is not None and first_open <= rec.day:
            return True
        # Windows of this run share the site's timezone: only earlier runs' records count here.
        lo, hi = rec.day - _NEIGHBOURS, rec.day + _NEIGHBOURS
        return any(lo <= d <= hi for d in self.recorded.get(rec.id_site, ()))


def manifest_row(rec: WindowRecord) -> tuple[Any, ...]:
    """A window record as a manifest row, in `MANIFEST_COLUMNS` order."""
    return (
        rec.kind,
        rec.id_site,
        rec.day,
        rec.status,
        rec.visits,
        rec.actions,
        rec.rows,
        rec.nb_visits,
        None,
        None,
        rec.updated_at,
    )


class SqlSink(Sink):
    """Base of the SQL sinks; subclasses supply the driver calls and the type names."""

    placeholder = "?"
    type_names: ClassVar[dict[ColumnType, str]]
    #: Declared primary keys need NOT NULL columns and an index; DuckDB's are skipped (below).
    use_primary_keys = True
    #: The visits manifest as of `start_job` (None before: then every window deletes).
    _fresh: _Fresh | None = None

    # --- driver hooks ---------------------------------------------------------------------
    @abc.abstractmethod
    def _connect(self) -> None: ...

    @abc.abstractmethod
    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abc.abstractmethod
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abc.abstractmethod
    def _begin(self) -> None: ...

    @abc.abstractmethod
    def _commit(self) -> None: ...

    @abc.abstractmethod
    def _rollback(self) -> None: ...

    @abc.abstractmethod
    def _insert(self, batch: Batch) -> None: ...

    @abc.abstractmethod
    def _delete_visits(self, table: Table, id_site: int, ids: list[int]) -> None:
        """Delete the rows of `table` belonging to these visits of one site."""

    def _adapt(self, value: Any) -> Any:
        """A manifest value as the driver wants it."""
        return value

    # --- shared ---------------------------------------------------------------------------
    def _type(self, t: ColumnType) -> str:
        return self.type_names[t]

    def _create_table(self, table: Table) -> None:
        cols = ", ".join(f"{c.name} {self._type(c.type)}" for c in table.columns)
        pk = ""
        if self.use_primary_keys and table is not REPORTS:
            pk = f", PRIMARY KEY ({', '.join(table.key)})"
        self._exec(f"CREATE TABLE IF NOT EXISTS {table.name} ({cols}{pk})")

    def _columns_of(self, names: Sequence[str]) -> dict[str, set[str]]:
        """The column names of those of the tables `names` that exist in the current schema."""
        rows = self._query(
            "SELECT table_name, column_name FROM information_schema.columns "
            f"WHERE table_schema = current_schema() AND table_name IN ({self._ph(len(names))})",
            names,
        )
        found: dict[str, set[str]] = defaultdict(set)
        for table, column in rows:
            found[str(table)].add(str(column).lower())
        return found

    def _check_tables_are_ours(self) -> None:
        """Refuse a database whose `visits`, `actions`, `reports` or manifest table is another
        program's (it lacks our key columns), before anything is created or written there."""
        keys = {t.name: t.key for t in (VISITS, ACTIONS, REPORTS)}
        keys[MANIFEST_TABLE] = ("kind", "id_site", "day", "status")
        existing = self._columns_of(list(keys))
        for name, key in keys.items():
            columns = existing.get(name)
            missing = [k for k in key if k not in (columns or ())]
            if columns and missing:
                raise TargetError(
                    f"{self.target} already has a table {name} that is not a matomo-client "
                    f"export table (it has no {', '.join(missing)} column): export into another "
                    "database, or rename or drop that table"
                )
        self._check_columns(existing)

    def _check_columns(self, existing: dict[str, set[str]]) -> None:
        """Refuse, before anything is fetched, an export table that lacks columns this version
        writes (dropped by hand, or made by another version): each window's insert would fail.
        `--restart` keeps the tables, so the message says how to add them."""
        tables = (VISITS, ACTIONS, REPORTS)
        declared = {t.name: [(c.name, c.type) for c in t.columns] for t in tables}
        declared[MANIFEST_TABLE] = list(MANIFEST_COLUMNS)
        for name, columns in declared.items():
            have = existing.get(name)
            missing = [(c, t) for c, t in columns if have and c not in have]
            if missing:
                names = ", ".join(c for c, _ in missing[:3])
                adds = "; ".join(
                    f"ALTER TABLE {name} ADD COLUMN {c} {self._type(t)}" for c, t in missing[:3]
                )
                if len(missing) > 3:
                    names += f" and {len(missing) - 3} more"
                    adds += "; ..."
                raise TargetError(
                    f"{self.target}: table {name} has no column {names}, which this export "
                    f"writes: add {'it' if len(missing) == 1 else 'them'} ({adds}), or export "
                    "into another target"
                )

    def _create_tables(self) -> None:
        for table in (VISITS, ACTIONS, REPORTS):
            self._create_table(table)
        cols = ", ".join(f"{n} {self._type(t)}" for n, t in MANIFEST_COLUMNS)
        self._exec(f"CREATE TABLE IF NOT EXISTS {MANIFEST_TABLE} ({cols})")
        self._create_indexes()

    def _create_indexes(self) -> None:
        self._exec("CREATE INDEX IF NOT EXISTS reports_window ON reports (id_site, period, date)")
        # Replacing a window deletes its visits by last action time: keep that a range scan.
        self._exec(
            "CREATE INDEX IF NOT EXISTS visits_window ON visits (id_site, last_action_timestamp)"
        )

    def _failure(self, error: Exception) -> str:
        """What a driver error says, and what to do about it where the dialect knows."""
        return str(error)

    @contextlib.contextmanager
    def _transaction(self, what: str) -> Iterator[None]:
        try:  # BEGIN waits for another program's write (SQLite) and can fail too
            self._begin()
        except Exception as e:
            raise TargetError(f"cannot write {what} to {self.target}: {self._failure(e)}") from e
        try:
            yield
        except BaseException as e:
            with contextlib.suppress(Exception):
                self._rollback()
            if isinstance(e, Exception) and not isinstance(e, TargetError):
                raise TargetError(
                    f"cannot write {what} to {self.target}: {self._failure(e)}"
                ) from e
            raise
        else:
            try:
                self._commit()
            except Exception as e:
                with contextlib.suppress(Exception):
                    self._rollback()
                raise TargetError(
                    f"cannot write {what} to {self.target}: {self._failure(e)}"
                ) from e

    def open(self) -> None:
        """Connect and create the tables (idempotent)."""
        try:
            self._connect()
            self._check_tables_are_ours()
            self._create_tables()
        except TargetError:
            raise
        except Exception as e:
            raise TargetError(f"cannot open {self.target}: {self._failure(e)}") from e

    def _ph(self, n: int) -> str:
        return ", ".join([self.placeholder] * n)

    def load_state(self, kind: str) -> ExportState:
        """Read the manifest rows of `kind`."""
        names = ", ".join(n for n, _ in MANIFEST_COLUMNS)
        try:  # not readable (a missing privilege), or the connection was lost since `open`
            rows = self._query(
                f"SELECT {names} FROM {MANIFEST_TABLE} WHERE kind = {self.placeholder}", (kind,)
            )
        except Exception as e:
            raise TargetError(
                f"cannot read the export state in {self.target}: {self._failure(e)}"
            ) from e
        state = ExportState(kind)
        for r in rows:
            d = dict(zip((n for n, _ in MANIFEST_COLUMNS), r, strict=True))
            if d["status"] == _JOB:
                state.job = JobInfo(
                    kind,
                    orjson.loads(d["params"]),
                    d["fingerprint"],
                    _as_datetime(d["updated_at"]),
                )
                continue
            rec = WindowRecord(
                kind=kind,
                id_site=int(d["id_site"]),
                day=_as_date(d["day"]),
                status=d["status"],
                visits=d["visits"],
                actions=d["actions"],
                rows=d["report_rows"],
                nb_visits=d["nb_visits"],
                updated_at=_as_datetime(d["updated_at"]),
            )
            state.windows[(rec.id_site, rec.day)] = rec
        return state

    def _insert_manifest(self, values: Sequence[Any]) -> None:
        # By name: a column dropped and added again by hand is now the table's last.
        names = ", ".join(n for n, _ in MANIFEST_COLUMNS)
        self._exec(
            f"INSERT INTO {MANIFEST_TABLE} ({names}) VALUES ({self._ph(len(values))})",
            [self._adapt(v) for v in values],
        )

    def _upsert_records(self, records: Sequence[WindowRecord]) -> None:
        """Replace the manifest rows of these windows (a dialect may do it in one statement)."""
        for rec in records:
            self._upsert_record(rec)

    def _upsert_record(self, rec: WindowRecord) -> None:
        p = self.placeholder
        self._exec(
            f"DELETE FROM {MANIFEST_TABLE} WHERE kind = {p} AND id_site = {p} AND day = {p}",
            (rec.kind, rec.id_site, self._adapt(rec.day)),
        )
        self._insert_manifest(manifest_row(rec))

    def start_job(self, job: JobInfo, restart: bool) -> None:
        """Write the job header; with `restart` drop the kind's rows and manifest first."""
        p = self.placeholder
        self._fresh = None
        with self._transaction("the export state"):
            if restart:
                if job.kind == "visits":
                    self._exec("DELETE FROM visits")
                    self._exec("DELETE FROM actions")
                else:
                    self._exec(f"DELETE FROM reports WHERE period = {p}", (period_of(job.kind),))
                self._exec(f"DELETE FROM {MANIFEST_TABLE} WHERE kind = {p}", (job.kind,))
            self._exec(
                f"DELETE FROM {MANIFEST_TABLE} WHERE kind = {p} AND status = {p}", (job.kind, _JOB)
            )
            self._insert_manifest(
                (
                    job.kind,
                    None,
                    None,
                    _JOB,
                    None,
                    None,
                    None,
                    None,
                    orjson.dumps(job.params, option=orjson.OPT_SORT_KEYS).decode(),
                    job.fingerprint,
                    job.created_at,
                )
            )
            fresh = self._read_fresh(job.kind) if job.kind == "visits" else None
        self._fresh = fresh

    def _read_fresh(self, kind: str) -> _Fresh:
        p = self.placeholder
        fresh = _Fresh()
        rows = self._query(
            f"SELECT id_site, day, status FROM {MANIFEST_TABLE} WHERE kind = {p} AND status <> {p}",
            (kind, _JOB),
        )
        for id_site, day, status in rows:
            fresh.add(int(id_site), _as_date(day), str(status), at_start=True)
        return fresh

    def write_window(
        self, kind: str, records: Sequence[WindowRecord], batches: Sequence[Batch]
    ) -> None:
        """Replace the windows' rows and manifest records in one transaction."""
        tables_for(kind)  # validates the kind
        what = ", ".join(f"site {r.id_site} {r.day}" for r in records[:3])
        if kind == "visits":
            deleting, ranged = self._windows_to_clear(records, batches[0])
        with self._transaction(what):
            if kind == "visits":
                visits = batches[0]
                by_site: dict[int, list[int]] = defaultdict(list)
                if deleting:
                    site_ids = zip(visits.column("id_site"), visits.column("id_visit"), strict=True)
                    for s, v in site_ids:
                        if s in deleting:
                            by_site[s].append(v)
                for rec in records:
                    if rec.bounds is not None and (rec.id_site, rec.day) in ranged:
                        self._delete_visits_in_window(rec.id_site, rec.bounds)
                for s, ids in by_site.items():
                    self._delete_visits(VISITS, s, ids)
                    self._delete_visits(ACTIONS, s, ids)
            else:
                self._delete_reports(period_of(kind), records)
            for b in batches:
                if len(b):
                    self._insert(b)
            self._upsert_records(records)

    def _delete_reports(self, period: str, records: Sequence[WindowRecord]) -> None:
        """Delete the rows of the records' periods: one statement per site and up to 500
        periods (one a period took 0.36 ms each in DuckDB: minutes for years of days)."""
        p = self.placeholder
        days: dict[int, list[Any]] = defaultdict(list)
        for rec in records:
            days[rec.id_site].append(self._adapt(rec.day))
        for id_site, dates in days.items():
            for i in range(0, len(dates), 500):
                some = dates[i : i + 500]
                self._exec(
                    f"DELETE FROM reports WHERE id_site = {p} AND period = {p} "
                    f"AND date IN ({self._ph(len(some))})",
                    (id_site, period, *some),
                )

    def _windows_to_clear(
        self, records: Sequence[WindowRecord], visits: Batch
    ) -> tuple[set[int], set[tuple[int, date]]]:
        """The sites whose windows in this call need the visit deletes (see the module doc),
        and the windows among them whose visits are also deleted by their time range.

        Deletes by id go by site: one window of a site that needs them clears the site's visits
        of the whole call (a scan costs the same whatever the number of ids). A delete by time
        range is one statement a window, so only the windows that need it get one (a window
        written open made hundreds of fresh windows of its site pay one each, ~1 s each in a
        big PostgreSQL table). The windows are then noted as recorded, before the write:
        noting too much only costs deletes.
        """
        fresh = self._fresh
        if fresh is None:
            ranged = {(r.id_site, r.day) for r in records}
            sites = {r.id_site for r in records}
        else:
            ranged = {(r.id_site, r.day) for r in records if fresh.needs_deletes(r)}
            sites = {s for s, _ in ranged}
            if visits.has_nulls("last_action_timestamp"):
                untimed = visits.column("last_action_timestamp")
                sites.update(
                    s for s, t in zip(visits.column("id_site"), untimed, strict=True) if t is None
                )
            for r in records:
                fresh.add(r.id_site, r.day, r.status, at_start=False)
        return sites, ranged

    def _delete_visits_in_window(self, id_site: int, bounds: tuple[int, int]) -> None:
        p = self.placeholder
        lo, hi = (self._adapt(ts_to_datetime(b)) for b in bounds)
        in_window = (
            f"SELECT id_visit FROM visits WHERE id_site = {p} "
            f"AND last_action_timestamp >= {p} AND last_action_timestamp < {p}"
        )
        self._exec(
            f"DELETE FROM actions WHERE id_site = {p} AND id_visit IN ({in_window})",
            (id_site, id_site, lo, hi),
        )
        self._exec(
            f"DELETE FROM visits WHERE id_site = {p} "
            f"AND last_action_timestamp >= {p} AND last_action_timestamp < {p}",
            (id_site, lo, hi),
        )

    def record_windows(self, records: Sequence[WindowRecord]) -> None:
        """Update manifest records (reconciliation) in one transaction."""
        if not records:
            return
        with self._transaction("the export state"):
            self._upsert_records(records)


def _as_date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v))


def _as_datetime(v: Any) -> datetime:
    if isinstance(v, datetime):
        return v.replace(tzinfo=None)
    if v is None:
        return utcnow()
    return datetime.fromisoformat(str(v))
