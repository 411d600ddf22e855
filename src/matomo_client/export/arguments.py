"""An export's arguments checked before anything is asked or opened, and the warnings of a
date range with nothing to export.

`export_visits` and `export_reports` check their page size, concurrency, dates and segment
with `_check_common`, their sites with `_sites_param` (which is also what the manifest records)
and their client with `_check_async`; `run.py` re-exports these names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from .._core.periods import EARLIEST_DAY, MAX_LIMIT
from .errors import ExportUsageError
from .windows import resolve_day

__all__ = ["MAX_PAGE_SIZE", "SitesArg", "before_creation", "nothing_to_export"]

SitesArg = Sequence[int] | int | str

MAX_PAGE_SIZE = MAX_LIMIT  # the most rows one request may ask for (`Limit`)


def _date_spec(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else str(value).strip().lower()


def _check_common(
    page_size: int,
    concurrency: int,
    start: date | str,
    end: date | str,
    segment: str | None = None,
) -> None:
    """Refuse a bad page size, concurrency, date range or segment before anything is asked or
    opened."""
    if segment:
        from .._core.params import Params

        try:
            Params().segment(segment)
        except ValueError as e:  # longer than Matomo reads
            raise ExportUsageError(f"--segment: {e}") from None
    if page_size < 1:
        raise ExportUsageError(f"page size must be at least 1, not {page_size}")
    if page_size > MAX_PAGE_SIZE:
        raise ExportUsageError(f"page size must be at most {MAX_PAGE_SIZE:,}, not {page_size:,}")
    if concurrency < 1:
        raise ExportUsageError(f"concurrency must be at least 1, not {concurrency}")
    # Each site resolves today, lastN... in its own timezone: its today is one of these days
    # (UTC-12 to UTC+14). A range is refused when it is empty for every one of them.
    now = datetime.now(timezone.utc)
    earliest = (now - timedelta(hours=12)).date()
    todays = [earliest + timedelta(days=i) for i in range(3)]
    todays = [t for t in todays if t <= (now + timedelta(hours=14)).date()]
    try:
        spans = [(resolve_day(start, t), resolve_day(end, t)) for t in todays]
    except ValueError as e:
        raise ExportUsageError(str(e)) from None
    if all(a > b for a, b in spans):
        raise ExportUsageError(f"--from {_date_spec(start)} is after --to {_date_spec(end)}")
    a = spans[0][0]  # the earliest start (lastN reaches back furthest from the earliest today)
    if a < EARLIEST_DAY:
        raise ExportUsageError(
            f"--from {_date_spec(start)} is before {EARLIEST_DAY}, which Matomo refuses"
        )


def nothing_to_export(start: date | str, end: date | str) -> str:
    """The warning of an export whose days all lie after today in every site's timezone."""
    return (
        f"nothing to export: {_date_spec(start)} to {_date_spec(end)} lies after today "
        "in the sites' timezones"
    )


def before_creation(id_site: int, first: date, last: date, created: date) -> str:
    """The warning of a site whose days all lie before it was created (a mistyped year?)."""
    return (
        f"site {id_site}: nothing from {first} to {last}, which lies before the site was "
        f"created ({created})"
    )


def _sites_param(sites: SitesArg) -> str | list[int]:
    if isinstance(sites, str):
        if sites.strip().lower() == "all":
            return "all"
        try:
            ids = sorted({int(s) for s in sites.split(",") if s.strip()})
        except ValueError:
            raise ExportUsageError(f"invalid site {sites!r}: use a site id or 'all'") from None
    elif isinstance(sites, int):
        ids = [sites]
    else:
        ids = sorted({int(s) for s in sites})
    if not ids:  # it exported nothing, with a warning that the range lies after today
        raise ExportUsageError("no site to export: give a site id, several, or 'all'")
    return ids


def _check_async(client: Any) -> None:
    """Refuse the blocking client, whose calls return results where awaitables are needed."""
    from .._sync.client import Matomo

    if isinstance(client, Matomo):
        raise ExportUsageError(
            "the export needs an AsyncMatomo, not the blocking Matomo: "
            "async with AsyncMatomo(...) as m: await export_visits(m, ...), "
            "or run it with anyio.run / asyncio.run"
        )
