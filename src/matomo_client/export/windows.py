"""Windows: the unit of export work, one (site, day in the site's timezone).

A window owns the visits whose last action falls in `[start, end)` (its local midnight to the
next one, as UTC seconds). Matomo's `period=day` bounds are inclusive at both ends, so a visit at
exactly midnight comes back for two days; keeping only the owned ones makes each visit belong to
one window, which is also how `VisitsSummary.nb_visits` counts it.

A window is *closed* once its end is `settle` in the past: Matomo ends a visit after 30 minutes
without an action, so after that no visit can move in or out. Windows not closed yet (today,
and the first hour of yesterday) are exported, marked open, and fetched again on the next run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from .._core.periods import site_tz

__all__ = [
    "DEFAULT_SETTLE",
    "MAX_RUN_DAYS",
    "PERIODS",
    "Window",
    "group_runs",
    "lanes_for",
    "plan_days",
    "resolve_day",
    "run_days",
    "site_tz",
]

DEFAULT_SETTLE = timedelta(hours=1)
# The periods a reports export can cut its rows by (here, not in `reports`: the CLI reads it
# for `--period` without importing the export engine).
PERIODS = ("day", "week", "month", "year")
# The most closed days of one site fetched as one stream of pages (see `group_runs`).
MAX_RUN_DAYS = 7
_LAST_N = re.compile(r"^(last|previous)([0-9]+)$")


def resolve_day(spec: date | str, today: date) -> date:
    """A `--from`/`--to` value as a day: a date, `YYYY-MM-DD`, today, yesterday, lastN, previousN.

    `lastN` starts N-1 days before today (Matomo's `last7` includes today); `previousN` starts N
    days before today. Raises `ValueError` with a readable message for anything else.
    """
    if isinstance(spec, datetime):
        return spec.date()
    if isinstance(spec, date):
        return spec
    s = spec.strip().lower()
    if s == "today":
        return today
    if s == "yesterday":
        return today - timedelta(days=1)
    m = _LAST_N.match(s)
    if m:
        n = int(m.group(2))
        if n < 1:
            raise ValueError(f"invalid date {spec!r}: N in lastN/previousN must be at least 1")
        try:
            return today - timedelta(days=n - 1 if m.group(1) == "last" else n)
        except OverflowError:
            raise ValueError(f"invalid date {spec!r}: N is too large") from None
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise ValueError(
            f"invalid date {spec!r}: use YYYY-MM-DD, today, yesterday, lastN or previousN"
        ) from None


@dataclass(frozen=True, order=True)
class Window:
    """One (site, day) of work, with its UTC bounds and whether it is closed."""

    id_site: int
    day: date
    start_ts: int  # UTC seconds of local midnight starting the day (inclusive)
    end_ts: int  # UTC seconds of the next local midnight (exclusive)
    closed: bool

    @property
    def key(self) -> str:
        """A stable text key: `1/2024-01-31`."""
        return f"{self.id_site}/{self.day.isoformat()}"


def _midnight_ts(day: date, tz: tzinfo) -> int:
    local = datetime(day.year, day.month, day.day, tzinfo=tz)
    return int(local.timestamp())


def local_today(tz: tzinfo, now: datetime) -> date:
    """Today's date in `tz` at the instant `now` (aware)."""
    return now.astimezone(tz).date()


def plan_days(
    id_site: int,
    start: date,
    end: date,
    tz: tzinfo,
    now: datetime,
    settle: timedelta = DEFAULT_SETTLE,
) -> list[Window]:
    """The windows of one site from `start` to `end` inclusive, never past today (site time)."""
    today = local_today(tz, now)
    last = min(end, today)
    now_ts = now.timestamp()
    out: list[Window] = []
    d = start
    while d <= last:
        nxt = d + timedelta(days=1)
        s, e = _midnight_ts(d, tz), _midnight_ts(nxt, tz)
        out.append(Window(id_site, d, s, e, closed=now_ts >= e + settle.total_seconds()))
        d = nxt
    return out


def run_days(windows: int, concurrency: int) -> int:
    """How many days a run of windows spans: about three runs for each request slot, at most
    `MAX_RUN_DAYS`. Longer runs share more pages (each run ends on a short one) and an export
    of few runs takes them all at once (`lanes_for`), so that they end together; shorter ones
    leave more pages to ask for side by side while a run's page becomes rows."""
    return max(1, min(MAX_RUN_DAYS, windows // (3 * concurrency)))


def lanes_for(runs: int, concurrency: int) -> int:
    """How many runs go on side by side: every one, when there are at most `5 * concurrency`,
    so that they end together instead of the last few alone with request slots idle; otherwise
    `2 * concurrency`, so that a run waiting for its page to become rows leaves its request slot
    to another (the tail is then a small part of the whole, and memory stays bounded)."""
    return runs if runs <= 5 * concurrency else 2 * concurrency


def group_runs(windows: Sequence[Window], days: int) -> list[list[Window]]:
    """`windows` in runs of up to `days` consecutive closed days of one site.

    A run is fetched as one stream of pages over its days (`period=range`), so pages fill
    across days instead of each day ending on a short page of its own: a week of a site with
    150 visits a day takes 2 requests at page size 1000 instead of 7. Each window is still
    written and recorded on its own once the stream has passed its end. A window not closed
    yet (visits may still arrive) stays alone. Consecutive days that take several runs share
    them out evenly (10 days in runs of up to 7: 5 and 5, not 7 and 3), so that the runs of an
    export end close together.
    """
    blocks: list[list[Window]] = []
    for w in windows:
        last = blocks[-1] if blocks else None
        if (
            last is not None
            and w.closed
            and last[-1].closed
            and last[-1].id_site == w.id_site
            and last[-1].day + timedelta(days=1) == w.day
            and last[-1].end_ts == w.start_ts
        ):
            last.append(w)
        else:
            blocks.append([w])
    runs: list[list[Window]] = []
    for block in blocks:
        count = -(-len(block) // max(1, days))
        size, longer = divmod(len(block), count)
        start = 0
        for i in range(count):
            end = start + size + (i < longer)
            runs.append(block[start:end])
            start = end
    return runs
