"""What a resumed target's manifest must agree with, what is recorded beside the command, and
the days an earlier run left open or never covered (`with_left_open`, `holes`).

`_Run.open_sink` records the sites' timezones and how action times are stored
(`_kept_timezones`, `_kept_action_times`), refuses a site whose timezone changed since its
windows were written (`_check_timezones`), and warns of sites an earlier run exported that
this one cannot see, or whose actions an earlier version stored in site-local time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from .errors import ExportUsageError
from .runlog import sites_text
from .sites import SiteInfo
from .state import OPEN, JobInfo, WindowRecord
from .windows import Window, plan_days, site_tz

__all__ = [
    "MIXED",
    "UTC_TIMES",
    "gone_warning",
    "holes",
    "local_action_times_warning",
    "with_left_open",
]

# How a visits export stores action times: "utc" (the offset Matomo adds taken off), or "mixed"
# once a target written before that (no such record) is resumed.
UTC_TIMES = "utc"
MIXED = "mixed"


def _check_timezones(
    old: JobInfo | None,
    params: dict[str, Any],
    windows: dict[tuple[int, date], WindowRecord],
    target: str,
) -> None:
    """Refuse to resume a visits export whose site changed its timezone since a window was
    recorded: its days now start at other hours, so visits near midnight would be written
    twice (file targets) or counted on two days."""
    before = (old.params.get("timezones") if old else None) or {}
    now = params.get("timezones") or {}
    sites = {id_site for id_site, _ in windows}
    for key, tz in sorted(now.items()):
        was = before.get(key, tz)
        if was != tz and int(key) in sites:
            raise ExportUsageError(
                f"site {key}'s timezone changed from {was or 'UTC'} to {tz or 'UTC'} since "
                f"{target} was last exported: its days now start at other hours, and resuming "
                "would write visits near midnight twice. Export into another target, or "
                "restart to export it again"
            )


def _kept_action_times(old: JobInfo | None, windows: dict[tuple[int, date], WindowRecord]) -> str:
    """This run's record of how the target's action times are stored: as before when the
    target holds windows, else as this version stores them."""
    if old is None or not windows:
        return UTC_TIMES
    return UTC_TIMES if old.params.get("action_times") == UTC_TIMES else MIXED


def _kept_timezones(
    old: JobInfo | None,
    params: dict[str, Any],
    windows: dict[tuple[int, date], WindowRecord],
) -> dict[str, Any]:
    """This run's sites' timezones, and those recorded of the sites with windows that this run
    has not (out of `all` for a while): a site back with another timezone after a run without
    it was not refused, and wrote visits near midnight twice."""
    before = (old.params.get("timezones") if old else None) or {}
    now = dict(params.get("timezones") or {})
    recorded = {str(id_site) for id_site, _ in windows}
    for key, tz in before.items():
        if key in recorded and key not in now:
            now[key] = tz
    return now


def local_action_times_warning(
    params: dict[str, Any], windows: dict[tuple[int, date], WindowRecord]
) -> str | None:
    """The warning of the sites not in UTC whose actions an earlier version stored as Matomo
    sends their times (the site's wall-clock time read as UTC), beside this version's instants."""
    zones = params.get("timezones") or {}
    local = sorted({s for s, _ in windows if zones.get(str(s)) not in (None, "", "UTC")})
    if not local:
        return None
    which = sites_text(local)
    return (
        f"{which}: actions exported by an earlier version hold Matomo's site-local times "
        "(read as UTC, an hour late in Berlin's winter), not UTC instants as this "
        "version's do; export again with --restart (restart=True) to store them all in UTC"
    )


def gone_warning(windows: dict[tuple[int, date], WindowRecord], site_ids: list[int]) -> str | None:
    """The warning of the sites an earlier run of `all` exported that the token sees no more:
    they dropped out of the summary without a word (a rolling export then misses their days)."""
    gone = sorted({id_site for id_site, _ in windows} - set(site_ids))
    if not gone:
        return None
    which = sites_text(gone)
    return (
        f"{which}: exported by an earlier run, not visible to this token now (deleted, "
        "or view access removed): left as exported, not updated"
    )


def with_left_open(
    windows: list[Window],
    recorded: dict[tuple[int, date], WindowRecord],
    site_list: Sequence[SiteInfo],
    now: datetime,
    settle: timedelta,
) -> list[Window]:
    """`windows` and those an earlier run left open (today then) that they no longer cover
    (`--from today`, or runs missed): fetched again, not left incomplete."""
    planned = {(w.id_site, w.day) for w in windows}
    order = {s.id_site: i for i, s in enumerate(site_list)}
    tzs = {s.id_site: site_tz(s.timezone) for s in site_list}
    extra = [
        w
        for (id_site, day), rec in recorded.items()
        if rec.status == OPEN and id_site in order and (id_site, day) not in planned
        for w in plan_days(id_site, day, day, tzs[id_site], now, settle)
    ]
    if not extra:
        return windows
    return sorted([*windows, *extra], key=lambda w: (order[w.id_site], w.day))


def holes(
    windows: list[Window],
    recorded: dict[tuple[int, date], WindowRecord],
    site_list: Sequence[SiteInfo],
) -> list[str]:
    """A warning for each run of days never exported between this run's range and the days a
    site already has in the target (a cron run missed, or a range moved on too far): the
    summary was ok and those days were silently missing. Days before the site was created
    are not missing: Matomo has no visit there (its `ts_created` moves back before any). Sites
    missing the same days share one warning (a missed cron run of `all`: one line, not 300)."""
    gaps: dict[tuple[date, date], list[int]] = {}
    done_of: dict[int, list[date]] = {}
    for id_site, day in recorded:
        done_of.setdefault(id_site, []).append(day)
    planned_of: dict[int, list[date]] = {}
    for w in windows:
        planned_of.setdefault(w.id_site, []).append(w.day)
    for site in site_list:
        done = sorted(done_of.get(site.id_site, ()))
        planned = planned_of.get(site.id_site)
        if not done or not planned:
            continue
        first, last = min(planned), max(planned)
        before = [d for d in done if d < first]
        after = [d for d in done if d > last]
        for lo, hi in (
            (before[-1] if before else None, first),
            (last, after[0] if after else None),
        ):
            if lo is not None and hi is not None and (hi - lo).days > 1:
                a, b = lo + timedelta(days=1), hi - timedelta(days=1)
                # none before its creation (west of UTC, a local day starts the day before)
                if site.created is not None:
                    a = max(a, site.created - timedelta(days=1))
                    if a > b:
                        continue
                gaps.setdefault((a, b), []).append(site.id_site)
    warnings = []
    for (a, b), sites in sorted(gaps.items()):
        which = sites_text(sorted(sites))
        days = f"{a}" if a == b else f"{a} to {b}"
        warnings.append(
            f"{which}: {days} never exported into this target (no run's range covered "
            f"{'it' if a == b else 'them'}); an export from {a} to {b} fills the gap"
        )
    return warnings
