"""`export_reports`: aggregate reports in long form, few round trips, never truncated.

Per site, the periods not done yet are grouped into chunks of consecutive periods; each chunk
is one `API.getBulkRequest` (split by size by the client) holding one multi-period request per
report (`period=day&date=A,B`, `filter_limit=-1`, `flat=1`). A chunk's rows and its periods'
manifest records are written in one transaction. Periods that are not over yet are marked
open and fetched again on the next run.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ..errors import ApiErrorKind, MatomoError
from .errors import ExportUsageError
from .progress import ExportSummary, ProgressCallback
from .rows import build_report_rows
from .run import (
    SiteInfo,
    SitesArg,
    _api_error,
    _check_common,
    _date_spec,
    _Run,
    _sites_param,
    nothing_to_export,
)
from .schema import REPORTS, Batch
from .sinks import DEFAULT_TARGET, Sink
from .state import DONE, OPEN, WindowRecord
from .windows import DEFAULT_SETTLE, PERIODS, resolve_day, site_tz

__all__ = ["PERIODS", "ReportSpec", "export_reports", "period_start"]

_CHUNK = {"day": 31, "week": 13, "month": 12, "year": 5}
_SKIP_MODULES = frozenset({"MultiSites"})  # cross-site reports; each site is exported itself

ReportSpec = tuple[str, dict[str, str]]  # ("Goals.get", {"idGoal": "1"})


def period_start(period: str, d: date) -> date:
    """The first day of the period containing `d` (weeks start on Monday, as in Matomo)."""
    if period == "day":
        return d
    if period == "week":
        return d - timedelta(days=d.weekday())
    if period == "month":
        return d.replace(day=1)
    if period == "year":
        return d.replace(month=1, day=1)
    raise ExportUsageError(f"invalid period {period!r}: use day, week, month or year")


def _period_end(period: str, start: date) -> date:
    """The last day of the period starting at `start`."""
    if period == "day":
        return start
    if period == "week":
        return start + timedelta(days=6)
    if period == "month":
        nxt = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return nxt - timedelta(days=1)
    return start.replace(month=12, day=31)


def _period_key_start(key: str) -> date:
    """The first day of a Map key: `2024-01-31`, `2024-01-29,2024-02-04`, `2024-01`, `2024`."""
    first = key.split(",")[0]
    if len(first) == 4:
        return date(int(first), 1, 1)
    if len(first) == 7:
        return date(int(first[:4]), int(first[5:7]), 1)
    return date.fromisoformat(first)


def parse_report(spec: str) -> ReportSpec:
    """`Module.method` or `Module.method?param=value&...` as a report spec."""
    from .._core.url import check_method

    method, _, query = spec.partition("?")
    try:
        check_method(method)
    except ValueError:
        raise ExportUsageError(
            f"invalid report {spec!r}: use Module.method, e.g. Actions.getPageUrls"
        ) from None
    params: dict[str, str] = {}
    for pair in filter(None, query.split("&")):
        k, eq, v = pair.partition("=")
        if not k or not eq:
            raise ExportUsageError(f"invalid report {spec!r}: write its parameters as name=value")
        if k in _RESERVED:
            raise ExportUsageError(
                f"invalid report {spec!r}: {k} is set by the export (use --site, --from, --to, "
                "--period, --segment), not in a report's parameters"
            )
        params[k] = v
    return method, params


# Set by the export for every report: a report's own parameters may not change them (idSite=2
# stored site 2's rows under site 1; period= or date= wrote no rows and recorded the days done;
# segment= wrote one segment's rows under the job's --segment).
_RESERVED = frozenset(
    {
        "idSite", "period", "date", "segment", "format", "module", "method", "flat",
        "filter_limit", "filter_offset", "token_auth", "force_api_session",
    }
)  # fmt: skip


# Why a report of a bulk answer may fail this time only (a deadlock, a time limit): its periods
# stay open. Other refusals (no such report for the site, no access) would fail every time.
_MAY_PASS = frozenset({ApiErrorKind.RATE_LIMITED, ApiErrorKind.TOO_SLOW, ApiErrorKind.UNKNOWN})


def _params_text(params: dict[str, str]) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params))


def _rows_of(value: Any) -> list[dict[str, Any]]:
    """A period's value as rows: a DataTable is a list, a simple table one dict, empty `[]`."""
    if isinstance(value, list):
        return [r for r in value if isinstance(r, dict)]
    if isinstance(value, dict):
        if "value" in value and len(value) == 1:
            return [{"label": None, "value": value["value"]}]
        return [value]
    return []


async def _check_named(
    client: Any, site_list: Sequence[SiteInfo], wanted: list[ReportSpec]
) -> None:
    """Refuse a named report that no site's API.getReportMetadata lists (a typo, or a method
    that is not a report), before the target records anything. The sites are asked one at a
    time until every name is found: usually one request."""
    missing = {method for method, _ in wanted}
    for site in site_list:
        if not missing:
            return
        try:
            meta = await client.api.report_metadata(site.id_site)
        except MatomoError as e:
            raise _api_error(e, "cannot list the reports") from e
        missing -= {f"{m.module}.{m.action}" for m in meta}
    if missing:
        names = ", ".join(sorted(missing))
        raise ExportUsageError(
            f"unknown report {names}: Matomo's report list (API.getReportMetadata) does not "
            "have it; `matomo call API.getReportMetadata idSite=1` shows the reports"
        )


async def _site_reports(
    client: Any, id_site: int, wanted: list[ReportSpec] | None
) -> list[ReportSpec]:
    if wanted is not None:
        return wanted
    meta = await client.api.report_metadata(id_site)
    out: list[ReportSpec] = []
    seen: set[tuple[str, str]] = set()
    for m in meta:
        if m.module in _SKIP_MODULES:
            continue
        params = {str(k): str(v) for k, v in (m.parameters or {}).items()}
        key = (f"{m.module}.{m.action}", _params_text(params))
        if key not in seen:
            seen.add(key)
            out.append((key[0], params))
    return out


def _unique_specs(specs: list[ReportSpec]) -> list[ReportSpec]:
    """`specs` without repeats (`--report A --report A`, or the same parameters in another
    order): each would write every row of its report once more."""
    out: dict[tuple[str, str], ReportSpec] = {}
    for method, params in specs:
        out.setdefault((method, _params_text(params)), (method, params))
    return list(out.values())


def _plan(
    site_list: list[SiteInfo],
    period: str,
    start: date | str,
    end: date | str,
    now: datetime,
    settle: timedelta,
) -> list[tuple[SiteInfo, date, date, bool]]:
    """Each site's periods from `start` to `end` in its timezone: (site, first day, last day,
    closed)."""
    plan: list[tuple[SiteInfo, date, date, bool]] = []
    for site in site_list:
        try:
            tz = site_tz(site.timezone)
        except ValueError as e:  # a timezone this machine's zone data does not know
            raise ExportUsageError(f"site {site.id_site}: {e}") from None
        today = now.astimezone(tz).date()
        a, b = resolve_day(start, today), min(resolve_day(end, today), today)
        p = period_start(period, a)
        while p <= b:
            last = _period_end(period, p)
            end_utc = datetime(last.year, last.month, last.day, tzinfo=tz) + timedelta(days=1)
            plan.append((site, p, last, now >= end_utc + settle))
            p = last + timedelta(days=1)
    return plan


def _chunks(starts: list[date], size: int) -> list[list[date]]:
    out: list[list[date]] = []
    for s in starts:
        if out and len(out[-1]) < size:
            out[-1].append(s)
        else:
            out.append([s])
    return out


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

    `reports`: `Module.method` names (`Goals.get?idGoal=1` for parameters), or None for every
    report in `API.getReportMetadata`. A report that fails is an error when named explicitly
    (or `strict=True`), and a warning in the summary otherwise.
    """
    if period not in PERIODS:
        raise ExportUsageError(f"invalid period {period!r}: use day, week, month or year")
    _check_common(1, concurrency, start, end, segment)
    wanted = _unique_specs([parse_report(r) for r in reports]) if reports else None
    strict = (wanted is not None) if strict is None else strict
    kind = f"reports:{period}"
    params: dict[str, Any] = {
        "kind": kind,
        "sites": _sites_param(sites),
        "from": _date_spec(start),
        "to": _date_spec(end),
        "segment": segment or None,
        "reports": sorted(set(reports)) if reports else None,
    }
    run, site_list = await _Run.start(client, kind, target, concurrency, progress, sites)
    try:
        if wanted:
            await _check_named(client, site_list, wanted)
        plan = _plan(site_list, period, start, end, now or datetime.now(timezone.utc), settle)
    except BaseException:
        await run.close()
        raise
    summary = run.summary
    summary.sites = [s.id_site for s in site_list]
    summary.windows_total = len(plan)
    if not plan:
        summary.warnings.append(nothing_to_export(start, end))
    try:
        recorded = await run.open_sink(params, restart)
        todo = [
            x for x in plan if getattr(recorded.get((x[0].id_site, x[1])), "status", None) != DONE
        ]
        summary.windows_skipped = len(plan) - len(todo)
        run.emit("exporting")
        work: list[tuple[SiteInfo, list[tuple[date, date, bool]]]] = []
        for site in site_list:
            mine = [(s, e, c) for (si, s, e, c) in todo if si.id_site == site.id_site]
            for chunk in _chunks([s for s, _, _ in mine], _CHUNK[period]):
                work.append((site, [m for m in mine if m[0] in set(chunk)]))
        report_lists: dict[int, list[ReportSpec]] = {}

        async def one(item: tuple[SiteInfo, list[tuple[date, date, bool]]]) -> None:
            site, periods = item
            where = f"site {site.id_site}, {periods[0][0]}..{periods[-1][1]}"
            try:
                if site.id_site not in report_lists:
                    report_lists[site.id_site] = await _site_reports(client, site.id_site, wanted)
                specs = report_lists[site.id_site]
                batch, again = await _fetch_chunk(
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

        await run.run_all(work, one)
        run.emit("finishing")
        await run.in_thread(run.sink.finish)
        run.emit("done")
    finally:
        await run.close()
    return summary


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
    first, last = periods[0][0], periods[-1][1]
    wanted_starts = {s for s, _, _ in periods}
    items = []
    for method, extra in specs:
        p = (
            Params()
            .id_site(id_site)
            .set("period", period)
            .set("date", f"{first.isoformat()},{last.isoformat()}")
            .set("filter_limit", -1)
            .set("flat", 1)
            .segment(segment)
        )
        for k, v in extra.items():
            p = p.set(k, v)
        items.append((method, p))
    results = await run.client.api.bulk(items)
    out = Batch.empty(REPORTS)
    again = False
    for (method, extra), res in zip(specs, results, strict=True):
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
        if not isinstance(value, dict):
            continue
        for key, period_value in value.items():
            try:
                start = _period_key_start(str(key))
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
