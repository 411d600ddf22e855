"""The export state/manifest: what command filled a target, and which windows are done.

Every target keeps it next to the data (the `_matomo_export` table, or a
`<name>._matomo_export.jsonl` journal beside file targets), updated in the same transaction as
the window's rows (or right after its part file is in place), so a crash never leaves a window
marked done without its data. It records the command's parameters and their fingerprint (a
command asking other data of the same windows, another segment or other reports, is refused),
and per window: status (`done` when the window is closed, `open` when it must be fetched
again), rows exported, and Matomo's own `VisitsSummary.nb_visits` for reconciliation. It never
holds the API token: the parameters are built by the engine from an explicit list of fields.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from typing import Any

import orjson

from .errors import StateMismatchError

__all__ = ["DONE", "FREE_PARAMS", "OPEN", "ExportState", "JobInfo", "WindowRecord", "fingerprint"]

DONE = "done"
OPEN = "open"


# What a command may change from run to run against one target: which sites and days it covers
# (a window is one site's day, the same whatever the range around it), and what is recorded
# beside the command: the sites' timezones (`resume._check_timezones` guards them) and how action
# times were stored (`resume._kept_action_times`). What defines a window's data (the kind, the
# segment, the reports) may not change without a restart.
FREE_PARAMS = frozenset({"sites", "from", "to", "timezones", "action_times"})


def fingerprint(params: dict[str, Any]) -> str:
    """A short stable hash of the command's data-defining parameters (not `FREE_PARAMS`)."""
    defining = {k: v for k, v in params.items() if k not in FREE_PARAMS}
    return hashlib.sha256(orjson.dumps(defining, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def utcnow() -> datetime:
    """Now, naive UTC (the manifest's timestamp convention)."""
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True, slots=True)  # a resumed export may hold a million of them
class WindowRecord:
    """The manifest entry of one window: (kind, site, day) and what was exported."""

    kind: str  # "visits" or "reports"
    id_site: int
    day: date  # the day, or the first day of the report period
    status: str  # DONE or OPEN
    visits: int | None = None
    actions: int | None = None
    rows: int | None = None  # report rows
    nb_visits: int | None = None  # VisitsSummary.nb_visits, filled by reconciliation
    updated_at: datetime = field(default_factory=utcnow)
    # The window's UTC bounds while it is being written (not stored): SQL targets also delete
    # visits an earlier run wrote for this window that have since moved to another day.
    bounds: tuple[int, int] | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, int, date]:
        """(kind, id_site, day)."""
        return (self.kind, self.id_site, self.day)

    def with_nb_visits(self, nb: int | None) -> WindowRecord:
        """A copy carrying Matomo's visit count."""
        return replace(self, nb_visits=nb, updated_at=utcnow(), bounds=None)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "kind": self.kind,
            "id_site": self.id_site,
            "day": self.day.isoformat(),
            "status": self.status,
            "visits": self.visits,
            "actions": self.actions,
            "rows": self.rows,
            "nb_visits": self.nb_visits,
            "updated_at": self.updated_at.isoformat(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> WindowRecord:
        """The inverse of `to_json`."""
        return cls(
            kind=d["kind"],
            id_site=int(d["id_site"]),
            day=date.fromisoformat(d["day"]),
            status=d["status"],
            visits=d.get("visits"),
            actions=d.get("actions"),
            rows=d.get("rows"),
            nb_visits=d.get("nb_visits"),
            updated_at=datetime.fromisoformat(d["updated_at"]),
        )


@dataclass(frozen=True)
class JobInfo:
    """The manifest header of one export kind: the command that fills the target."""

    kind: str
    params: dict[str, Any]
    fingerprint: str
    created_at: datetime = field(default_factory=utcnow)


@dataclass
class ExportState:
    """Everything the manifest holds for one kind: the job header and the window records."""

    kind: str
    job: JobInfo | None = None
    windows: dict[tuple[int, date], WindowRecord] = field(default_factory=dict)

    def check_job(self, job: JobInfo, target: str) -> None:
        """Refuse a command that would fill a target's windows with other data (another segment
        or other reports) than the export it holds; other sites or days are welcome.

        A job that recorded no window yet (its first run failed before writing, say on a
        misspelt report or segment) holds nothing to protect: the new command replaces it.
        """
        if self.job is None or self.job.fingerprint == job.fingerprint or not self.windows:
            return
        old, new = self.job.params, job.params
        keys = (set(old) | set(new)) - FREE_PARAMS
        diff = sorted(k for k in keys if old.get(k) != new.get(k))
        if not diff and old:  # the same data, recorded with an older fingerprint
            return
        if not old:  # a state table edited by hand
            diff = []
        detail = (
            ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in diff)
            or "its recorded options cannot be read"  # a state table edited by hand
        )
        raise StateMismatchError(
            f"{target} already holds a {self.kind} export made with other options ({detail}); "
            "re-run with the same options to resume it, or pass restart to start over"
        )

    def done(self, id_site: int, day: date) -> bool:
        """True when the window is recorded as done (closed and exported)."""
        r = self.windows.get((id_site, day))
        return r is not None and r.status == DONE
