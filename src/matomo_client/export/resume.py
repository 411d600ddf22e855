"""What a resumed target's manifest must agree with, and what is recorded beside the command.

`_Run.open_sink` records the sites' timezones and how action times are stored
(`_kept_timezones`, `_kept_action_times`), refuses a site whose timezone changed since its
windows were written (`_check_timezones`), and warns of sites an earlier run exported that
this one cannot see, or whose actions an earlier version stored in site-local time.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .errors import ExportUsageError
from .runlog import sites_text
from .state import JobInfo, WindowRecord

__all__ = ["MIXED", "UTC_TIMES", "gone_warning", "local_action_times_warning"]

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
