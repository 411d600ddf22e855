"""A head start: the first pages of a visits export, asked for beside the sites.

An export plans its windows in each site's timezone, so its first Live request used to wait
for the sites' round trip. When the plan cannot depend on the timezones (site ids given,
days that are the same and closed in every timezone, a target that does not exist yet) and
the client's token is known to be good (a client whose preflight has answered, or one sending
no token: with a wrong token each page would count as a failed login towards Matomo's block),
the first page of each of the first runs is asked for at once, beside the sites, holding a
request slot of the export's. A run takes its first page from here if it was
asked for with the same parameters; any other (a plan that came out otherwise) is cancelled
when the export ends. A page that failed with an error the client does not retry is asked for
again by its run, which then sees the error the ordinary way; one the client already retried as
often as its policy allows is that run's error, not tried as often again.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import anyio

from .._core.params import Params
from .._core.retry import is_transient
from ..errors import MatomoError
from .arguments import _sites_param
from .schema import LIVE_HIDDEN
from .windows import Window, group_runs, plan_days, resolve_day, run_days, site_tz

__all__ = ["HeadStart", "first_page_params", "live_params", "run_cursor", "with_head_start"]

T = TypeVar("T")

_HIDDEN = ",".join(LIVE_HIDDEN)  # presentation keys Matomo need not send (see schema.py)
# Requests in flight beside the head start's: the preflight's and the sites'.
_BESIDE = 2
# The timezones furthest apart (UTC-12 and UTC+14): a plan they agree on is every site's.
_EXTREMES = ("Etc/GMT+12", "Etc/GMT-14")


def run_cursor(run: Sequence[Window], page_size: int, segment: str | None) -> Any:
    """The `Cursor` of the first page of a run of several closed days (`pages.fetch_run`):
    their range, from its start (no `minTimestamp`: nothing here depends on the timezone)."""
    from .. import Cursor, DateRange, Limit, Period

    period = Period.range(DateRange.between(run[0].day, run[-1].day))
    return Cursor(run[0].id_site, period, Limit(page_size), segment)


def first_page_params(run: Sequence[Window], page_size: int, segment: str | None) -> Params:
    """The parameters of the first Live request of a run of several closed days."""
    return live_params(run_cursor(run, page_size, segment).params())


def live_params(params: Params) -> Params:
    """A Live page's parameters as the export sends them (no presentation-only keys)."""
    return params.set("hideColumns", _HIDDEN).set("hideColumnsRecursively", 1)


def _is_new(target: object) -> bool:
    """Whether `target` is a local path of which nothing exists yet (no file or folder whose
    name starts with its name: the file, a DuckDB log, a parts folder, a journal)."""
    if not isinstance(target, (str, os.PathLike)):
        return False  # a Sink of the caller's
    text = os.fspath(target)
    if "://" in text or text.strip() in ("", ":memory:"):
        return False
    path = Path(text)
    try:
        return not any(p.name.startswith(path.name) for p in path.parent.iterdir())
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _plan(
    ids: Sequence[int],
    start: date | str,
    end: date | str,
    now: datetime,
    settle: timedelta,
    tz_name: str,
) -> list[Window]:
    tz = site_tz(tz_name)
    today = now.astimezone(tz).date()
    first, last = resolve_day(start, today), resolve_day(end, today)
    return [w for i in ids for w in plan_days(i, first, last, tz, now, settle)]


class HeadStart:
    """The first pages of an export's first runs, asked for while the sites are."""

    def __init__(self, client: Any, pages: Sequence[Params], in_flight: Any) -> None:
        self.client = client
        self.pages = list(pages)
        self.in_flight = in_flight
        self._asked: dict[Params, anyio.Event] = {}
        self._bodies: dict[Params, bytes] = {}
        self._errors: dict[Params, MatomoError] = {}  # retried to the end: the run's error

    @classmethod
    def plan(
        cls,
        client: Any,
        in_flight: Any,
        *,
        sites: Any,
        start: date | str,
        end: date | str,
        target: object,
        page_size: int,
        segment: str | None,
        concurrency: int,
        now: datetime | None,
        settle: timedelta,
    ) -> HeadStart | None:
        """A head start for this export, or None when its first requests depend on what the
        sites' answer or the target holds."""
        count = concurrency - _BESIDE
        if count < 1 or not _is_new(target) or not _token_proven(client):
            return None
        ids = _sites_param(sites)
        if isinstance(ids, str):
            return None  # every site: which ones is the sites' answer
        now = now or datetime.now(timezone.utc)
        try:  # every site has the days one site has: planning them all cost seconds at 1,000
            plans = [_plan(ids[:1], start, end, now, settle, tz) for tz in _EXTREMES]
        except ValueError:
            return None  # the export reports it
        days = [[(w.day, w.closed) for w in p] for p in plans]
        if not plans[0] or days[0] != days[1] or not all(w.closed for w in plans[0]):
            return None
        span = run_days(len(plans[0]) * len(ids), concurrency)  # as the export runs them
        runs_a_site = -(-len(plans[0]) // span)
        first = _plan(ids[: -(-count // runs_a_site)], start, end, now, settle, _EXTREMES[0])
        runs = group_runs(first, span)[:count]
        pages = [first_page_params(r, page_size, segment) for r in runs if len(r) > 1]
        return cls(client, pages, in_flight) if pages else None

    def start(self, tg: anyio.abc.TaskGroup) -> None:
        """Ask for every page, in tasks of `tg`."""
        for params in self.pages:
            self._asked[params] = anyio.Event()
            tg.start_soon(self._fetch, params)

    async def _fetch(self, params: Params) -> None:
        from ..endpoints.live import LivePageBody

        asked = self._asked[params]  # `take` may pop it meanwhile
        try:
            async with self.in_flight:
                body = await self.client.execute(LivePageBody(params), preflight=False)
            self._bodies[params] = body
        except MatomoError as e:
            if is_transient(e):  # the policy's tries are spent: asking again would double them
                self._errors[params] = e
        except Exception:  # its run asks again, and meets the error the ordinary way
            pass
        finally:
            asked.set()

    async def take(self, params: Params) -> bytes | None:
        """The body asked for with exactly `params` (once), or None; raise the error of a
        page the client retried as often as its policy allows."""
        asked = self._asked.pop(params, None)
        if asked is None:
            return None
        await asked.wait()
        error = self._errors.pop(params, None)
        if error is not None:
            raise error
        return self._bodies.pop(params, None)


def _token_proven(client: Any) -> bool:
    """Whether the client's credentials have been accepted already (its preflight answered) or
    it sends none. Until then every page asked for ahead, like every request with a wrong token,
    would count as a failed login towards Matomo's brute-force block (20 an hour per IP)."""
    auth = getattr(client, "_auth", None)
    return (
        getattr(client, "_version", None) is not None or getattr(auth, "style", "") == "anonymous"
    )


async def with_head_start(head: HeadStart | None, export: Callable[[], Awaitable[T]]) -> T:
    """`await export()` with `head`'s pages asked for meanwhile; the ones no run took are
    cancelled when it ends. Its exception is raised as it is, not in an exception group."""
    if head is None:
        return await export()
    failure: BaseException | None = None
    async with anyio.create_task_group() as tg:
        head.start(tg)
        try:
            result = await export()
        except BaseException as e:  # raised below, once the head start's tasks are gone
            failure = e
        tg.cancel_scope.cancel()
    if failure is not None:
        raise failure
    return result
