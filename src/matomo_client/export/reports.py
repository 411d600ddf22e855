"""`export_reports`: aggregate reports in long form, few round trips, never truncated.

Per site, the periods not done yet are grouped into chunks of consecutive periods; each chunk
is one `API.getBulkRequest` (split by size by the client) holding one multi-period request per
report (`period=day&date=A,B`, `filter_limit=-1`, `flat=1`), or one per period for the reports
Matomo refuses for several periods (`_ONE_PERIOD`). A chunk Matomo fails to answer as a whole
(memory or time limits) is asked again in halves; a report it fails on even alone is
skipped with a warning, its periods left open (an error for a named report). A site's periods
before its `ts_created`, where Matomo has no data, are recorded without a request. A chunk's
rows and its periods' manifest records are written in one transaction. Periods that are not
over yet are marked open and fetched again on the next run. Which reports are asked for
(report specs, the check of named reports, a site's report list) is `report_specs.py`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

import anyio

from ..errors import (
    ApiError,
    ApiErrorKind,
    HttpStatusError,
    MatomoError,
    NonJsonBodyError,
    TransportError,
)
from .arguments import (
    SitesArg,
    _check_common,
    _date_spec,
    _sites_param,
    before_creation,
    nothing_to_export,
)
from .errors import ExportUsageError
from .progress import ExportSummary, ProgressCallback
from .report_plan import (
    CHUNK,
    before_created,
    chunks,
    period_key_start,
    period_start,
    plan_periods,
    with_left_open,
)
from .report_specs import (
    ReportSpec,
    _check_named,
    _params_text,
    _site_reports,
    _spec_text,
    _unique_specs,
    parse_report,
)
from .rows import build_report_rows
from .run import SiteInfo, _api_error, _Run
from .schema import REPORTS, Batch
from .sinks import DEFAULT_TARGET, Sink
from .state import DONE, OPEN, WindowRecord
from .windows import DEFAULT_SETTLE, PERIODS

__all__ = ["PERIODS", "ReportSpec", "export_reports", "period_start"]

# Why a report of a bulk answer may fail this time only (a deadlock, a time limit; access taken
# away, which may be given back): its periods stay open. Other refusals (no such report for the
# site, a parameter it refuses) would fail every time.
_MAY_PASS = frozenset(
    {
        ApiErrorKind.RATE_LIMITED,
        ApiErrorKind.TOO_SLOW,
        ApiErrorKind.UNKNOWN,
        ApiErrorKind.AUTH,
        ApiErrorKind.PERMISSION,
    }
)
# A bulk answer whose every report failed with one of these: the site itself is out of reach
# (access removed mid-run, the token revoked), not a report. The export stops, as for visits.
_NO_ACCESS = frozenset({ApiErrorKind.AUTH, ApiErrorKind.PERMISSION})


def _rows_of(value: Any) -> list[dict[str, Any]]:
    """A period's value as rows: a DataTable is a list, a simple table one dict, empty `[]`.

    A simple table cut to one column (`?columns=nb_visits`, `?showColumns=...`) is a bare
    value inside a Map keyed by period (`{"2024-01-01": 27}`), `{"value": 27}` alone.
    """
    if isinstance(value, list):
        return [r for r in value if isinstance(r, dict)]
    if isinstance(value, dict):
        if "value" in value and len(value) == 1:
            return [{"label": None, "value": value["value"]}]
        return [value]
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return [{"label": None, "value": value}]
    return []


async def export_reports(
    client: Any,
    *,
    sites: SitesArg = "all",
    start: date | str = "yesterday",
    end: date | str = "yesterday",
    period: str = "day",
    reports: Sequence[str] | None = None,
    segment: str | None = None,
    target: str | os.PathLike[str] | Sink | None = DEFAULT_TARGET,
    concurrency: int = 4,
    restart: bool = False,
    strict: bool | None = None,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
    settle: timedelta = DEFAULT_SETTLE,
) -> ExportSummary:
    """Export aggregate reports (long form, table `reports`), resumable like `export_visits`.

    `reports`: `Module.method` names (`Goals.get?idGoal=1` for parameters; one name may be
    given as a string), or None for every report in `API.getReportMetadata`. A report that
    fails is an error when named explicitly (or `strict=True`), and a warning in the summary
    otherwise.
    """
    if period not in PERIODS:
        raise ExportUsageError(f"invalid period {period!r}: use day, week, month or year")
    _check_common(1, concurrency, start, end, segment)
    if isinstance(reports, str):  # one report, not a report per character ('V', 'i', ...)
        reports = [reports]
    elif reports is not None and not reports:  # it exported every report, as None does
        raise ExportUsageError("no report to export: name some, or reports=None for every one")
    wanted = _unique_specs([parse_report(r) for r in reports]) if reports else None
    strict = (wanted is not None) if strict is None else strict
    kind = f"reports:{period}"
    params: dict[str, Any] = {
        "kind": kind,
        "sites": _sites_param(sites),
        "from": _date_spec(start),
        "to": _date_spec(end),
        "segment": segment or None,
        # As specs, not as typed: `Goals.get?` and `Goals.get`, or parameters in another
        # order, ask for the same rows and are the same options.
        "reports": sorted(map(_spec_text, wanted)) if wanted else None,
    }
    run, site_list = await _Run.start(client, kind, target, concurrency, progress, sites)
    try:
        if wanted:
            await _check_named(client, site_list, wanted)
        now = now or datetime.now(timezone.utc)
        plan = plan_periods(site_list, period, start, end, now, settle)
    except BaseException:
        await run.close()
        raise
    summary = run.summary
    summary.sites = [s.id_site for s in site_list]
    summary.windows_total = len(plan)
    if not plan:
        summary.warnings.append(nothing_to_export(start, end))
    for site in site_list:
        mine = [(first, last) for s, first, last, _ in plan if s.id_site == site.id_site]
        if site.created and mine and all(before_created(site, last) for _, last in mine):
            # asked nothing, recorded done: without a word it looked like a site without data
            summary.warnings.append(
                before_creation(site.id_site, mine[0][0], mine[-1][1], site.created)
            )
    try:
        if restart and plan:
            # `restart` deletes what the target holds: not for a segment Matomo refuses.
            await _probe(client, plan[0][0].id_site, period, plan[0][1], segment)
        recorded = await run.open_sink(params, restart)
        plan = with_left_open(plan, recorded, site_list, period, now, settle)
        summary.windows_total = len(plan)
        todo = [
            x for x in plan if getattr(recorded.get((x[0].id_site, x[1])), "status", None) != DONE
        ]
        summary.windows_skipped = len(plan) - len(todo)
        run.log_start(params, [d for x in plan for d in x[1:3]])
        run.emit("exporting")
        work = chunks(site_list, todo, CHUNK[period])
        report_lists: dict[int, list[ReportSpec]] = {}
        # One request per site for its report list, not one per chunk in flight at the start.
        listing: dict[int, anyio.Lock] = {}

        async def one(item: tuple[SiteInfo, list[tuple[date, date, bool]]]) -> None:
            site, periods = item
            where = f"site {site.id_site}, {periods[0][0]}..{periods[-1][1]}"
            try:
                if before_created(site, periods[-1][1]):  # empty in Matomo: not asked
                    batch, again = Batch.empty(REPORTS), False
                else:
                    async with listing.setdefault(site.id_site, anyio.Lock()):
                        if site.id_site not in report_lists:
                            report_lists[site.id_site] = await _site_reports(
                                client, site.id_site, wanted
                            )
                    specs = report_lists[site.id_site]
                    batch, again = await _fetch_parts(
                        run, site.id_site, period, periods, specs, segment, strict
                    )
            except MatomoError as e:
                raise _api_error(e, f"cannot export reports of {where}") from e
            counts: dict[date, int] = {}
            for d in batch.columns["date"]:
                counts[d] = counts.get(d, 0) + 1
            done = OPEN if again else DONE  # a report that may pass next time: not done
            recs = [
                WindowRecord(kind, site.id_site, s, done if closed else OPEN, rows=counts.get(s, 0))
                for s, _, closed in periods
            ]
            await run.in_thread(run.sink.write_window, kind, recs, [batch])
            summary.windows_exported += len(recs)
            summary.windows_open += sum(r.status == OPEN for r in recs)
            summary.report_rows += len(batch)
            run.emit("exporting", where)
            run.log_reports(where, recs, len(batch))

        await run.run_all(work, one)
        run.emit("finishing")
        await run.in_thread(run.sink.finish)
        run.emit("done")
        run.log_end()
    except BaseException as e:
        run.log_end(e)
        raise
    finally:
        await run.close()
    return summary


async def _fetch_parts(
    run: _Run,
    id_site: int,
    period: str,
    periods: list[tuple[date, date, bool]],
    specs: list[ReportSpec],
    segment: str | None,
    strict: bool,
    alone: set[str] | None = None,
) -> tuple[Batch, bool]:
    """`_fetch_chunk`, asked again in halves (of the periods, then of the reports) while
    Matomo fails on an answer that may be too big for it: PHP's memory or time limit, or the
    client's timeout (a month of every report of a big site is hundreds of MB inside PHP; the
    whole export stopped there).

    Unless `strict`, a report Matomo fails on alone for one period, while the rest of the
    split answers, is skipped with a warning for the rest of the chunk (`alone` collects it)
    and the chunk left open: one report PHP cannot produce stopped every report of every
    site, on every re-run. When nothing of the split answers, the error is raised (Matomo is
    down, not one report)."""
    alone = set() if alone is None else alone
    try:
        return await _fetch_chunk(run, id_site, period, periods, specs, segment, strict)
    except MatomoError as e:
        if not _maybe_too_big(e) or (len(periods) == 1 and len(specs) <= 1):
            raise
    if len(periods) > 1:
        half = len(periods) // 2
        parts = [(periods[:half], specs), (periods[half:], specs)]
    else:
        half = len(specs) // 2
        parts = [(periods, specs[:half]), (periods, specs[half:])]
    out, again = Batch.empty(REPORTS), False
    failed: MatomoError | None = None
    answered = False
    for some_periods, some_specs in parts:
        some_specs = [x for x in some_specs if _spec_text(x) not in alone]
        if not some_specs:  # a report skipped above: its periods stay open
            again = True
            continue
        try:
            batch, more = await _fetch_parts(
                run, id_site, period, some_periods, some_specs, segment, strict, alone
            )
        except MatomoError as e:
            if strict or len(some_periods) > 1 or len(some_specs) > 1 or not _maybe_too_big(e):
                raise
            failed = failed or e
            alone.add(_spec_text(some_specs[0]))
            _skipped(run, id_site, some_specs[0], some_periods[0][0], e)
            again = True
            continue
        answered = True
        for name, col in batch.columns.items():
            out.columns[name].extend(col)
        again = again or more
    if failed is not None and not answered:
        raise failed
    return out, again


async def _probe(client: Any, id_site: int, period: str, day: date, segment: str | None) -> None:
    """Ask Matomo for one period's visit count with `segment`: raise what the reports would."""
    from .._core.params import Params

    params = Params().id_site(id_site).set("period", period).set("date", day.isoformat())
    try:
        await client.call("VisitsSummary.get", params.segment(segment))
    except MatomoError as e:
        raise _api_error(e, f"cannot export reports of site {id_site}") from e


def _skipped(run: _Run, id_site: int, spec: ReportSpec, start: date, e: MatomoError) -> None:
    """Warn of a report Matomo failed on alone (from `start` on in its chunk)."""
    msg = getattr(e, "message", None) or str(e)
    note = (
        f"site {id_site}: report {_spec_text(spec)} skipped from {start} ({msg}); Matomo fails "
        "on it alone; its periods stay open and the next run asks again"
    )
    if note not in run.summary.warnings:
        run.summary.warnings.append(note)


def _maybe_too_big(e: MatomoError) -> bool:
    """Whether Matomo may have failed for the size of the answer (a smaller one may pass)."""
    if isinstance(e, TransportError):
        return e.timeout
    if isinstance(e, HttpStatusError):
        return e.status >= 500
    if isinstance(e, NonJsonBodyError):  # PHP's fatal error page, or a body cut short
        return True
    return isinstance(e, ApiError) and bool(_LIMIT_HIT.search(e.message))


_LIMIT_HIT = re.compile(r"memory size|memory limit|execution time", re.IGNORECASE)


async def _fetch_chunk(
    run: _Run,
    id_site: int,
    period: str,
    periods: list[tuple[date, date, bool]],
    specs: list[ReportSpec],
    segment: str | None,
    strict: bool,
) -> tuple[Batch, bool]:
    """The rows of every report over the chunk's periods, and whether a report was skipped
    for a reason that may pass (its periods are then left open, to be fetched again)."""
    from .. import Params

    if not specs:  # none listed for the site (yet): not done, or a re-run would never ask again
        note = (
            f"site {id_site}: API.getReportMetadata lists no report to export; nothing written, "
            "the next run asks again"
        )
        if note not in run.summary.warnings:
            run.summary.warnings.append(note)
        return Batch.empty(REPORTS), True
    starts = [s for s, _, _ in periods]
    whole = f"{starts[0].isoformat()},{periods[-1][1].isoformat()}"

    def item(slot: tuple[ReportSpec, date | None]) -> tuple[str, Any]:
        (method, extra), one = slot
        p = Params().id_site(id_site).set("period", period)
        p = p.set("date", one.isoformat() if one else whole)
        # format_metrics=0: rates as fractions; Matomo's default writes them in the token
        # user's language ("18,42 %", "%65"), which no column can read.
        p = p.set("filter_limit", -1).set("flat", 1).set("format_metrics", 0).segment(segment)
        for k, v in extra.items():
            p = p.set(k, v)
        return method, p

    # (spec, period start) of each sub-request: None asks for every period of the chunk at
    # once (a Map keyed by period); a report that refuses that is asked one period at a time.
    slots: list[tuple[ReportSpec, date | None]] = [
        (spec, s) for spec in specs for s in (starts if spec[0] in _ONE_PERIOD else [None])
    ]
    results = list(await run.client.api.bulk([item(x) for x in slots]))
    refused = {k for k, (_, s) in enumerate(slots) if s is None and _one_period_only(results[k])}
    if refused:  # a plugin's report refusing it too: once more, one period at a time
        more: list[tuple[ReportSpec, date | None]] = [
            (slots[k][0], s) for k in sorted(refused) for s in starts
        ]
        answers = await run.client.api.bulk([item(x) for x in more])
        keep = [k for k in range(len(slots)) if k not in refused]
        slots = [slots[k] for k in keep] + more
        results = [results[k] for k in keep] + list(answers)
    kinds = {getattr(r.error, "kind", None) for r in results if not r.ok}
    if results and not any(r.ok for r in results) and kinds <= _NO_ACCESS:
        # each report "skipped" and the site's periods recorded done with no rows: a re-run
        # after access came back skipped them all
        error = next(r.error for r in results if r.error is not None)
        raise error
    out = Batch.empty(REPORTS)
    again = False
    wanted_starts = set(starts)
    for ((method, extra), one), res in zip(slots, results, strict=True):
        if not res.ok:
            msg = getattr(res.error, "message", None) or str(res.error)
            if strict:
                raise ExportUsageError(f"report {method} failed for site {id_site}: {msg}")
            note = f"site {id_site}: report {method} skipped ({msg})"
            if getattr(res.error, "kind", None) in _MAY_PASS:
                again = True
                note += "; the next run fetches its periods again"
            if note not in run.summary.warnings:
                run.summary.warnings.append(note)
            continue
        value = res.value
        if one is not None:  # one period's answer: its rows, not a Map keyed by period
            value = {one.isoformat(): value}
        if not isinstance(value, dict):
            continue
        for key, period_value in value.items():
            try:
                start = period_key_start(str(key))
            except ValueError:
                continue
            if start not in wanted_starts:
                continue
            rows = build_report_rows(
                id_site, period, start, method, _params_text(extra), _rows_of(period_value)
            )
            for name, col in rows.columns.items():
                out.columns[name].extend(col)
    return out, again


# Reports Matomo refuses for several periods at once ("Referrers.getAll with multiple sites or
# dates is not supported (yet).", "VisitTime.getByDayOfWeek does not support multiple dates."),
# both in every site's API.getReportMetadata: asked one period at a time.
_ONE_PERIOD = frozenset({"Referrers.getAll", "VisitTime.getByDayOfWeek"})
# The same refusal from other reports (plugins word it in these ways too).
_SEVERAL_REFUSED = re.compile(
    r"multiple (sites or )?dates|multi(ple)? periods? (is|are) not supported", re.IGNORECASE
)


def _one_period_only(res: Any) -> bool:
    """Whether a bulk answer is Matomo's refusal of several periods at once."""
    msg = getattr(res.error, "message", None) or ""
    return not res.ok and _SEVERAL_REFUSED.search(msg) is not None
