"""Which reports an export of reports asks for: report specs, checked and listed.

A spec is `Module.method` with the report's own parameters (`parse_report`; the parameters the
export sets itself are refused). Named reports are checked against the sites'
`API.getReportMetadata` before the target records anything (`_check_named`); without names, a
site's every report is exported but the cross-site ones (`_site_reports`). `reports.py`
re-exports these names.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import get_close_matches
from typing import Any

import anyio

from ..errors import MatomoError
from .errors import ExportUsageError
from .run import _api_error
from .sites import SiteInfo

__all__ = ["ReportSpec", "parse_report"]

_META_AT_ONCE = 8  # sites whose report lists `_check_named` asks for side by side
_SKIP_MODULES = frozenset({"MultiSites"})  # cross-site reports; each site is exported itself

ReportSpec = tuple[str, dict[str, str]]  # ("Goals.get", {"idGoal": "1"})


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
        "filter_limit", "filter_offset", "token_auth", "force_api_session", "format_metrics",
    }
)  # fmt: skip


def _params_text(params: dict[str, str]) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params))


def _spec_text(spec: ReportSpec) -> str:
    """A report spec as text: `Module.method`, then its parameters sorted, if it has any."""
    method, params = spec
    return f"{method}?{_params_text(params)}" if params else method


async def _check_named(
    client: Any, site_list: Sequence[SiteInfo], wanted: list[ReportSpec]
) -> None:
    """Refuse a named report that no site's API.getReportMetadata lists (a typo, or a method
    that is not a report), before the target records anything. The first site is asked, then,
    while a name is missing, the others `_META_AT_ONCE` at a time (one after the other, a typo
    with 500 sites waited for 500 requests in a row)."""
    missing = {method for method, _ in wanted}
    ids = [s.id_site for s in site_list]
    known: set[str] = set()
    at, size = 0, 1  # usually the first site lists every name: one request
    while missing and at < len(ids):
        found: list[set[str] | MatomoError] = []
        async with anyio.create_task_group() as tg:
            for id_site in ids[at : at + size]:
                tg.start_soon(_report_names, client, id_site, found)
        for f in found:
            if isinstance(f, MatomoError):
                raise _api_error(f, "cannot list the reports") from f
            missing -= f
            known |= f
        at, size = at + size, _META_AT_ONCE
    if missing:
        names = ", ".join(sorted(missing))
        close = [m for x in sorted(missing) for m in get_close_matches(x, known, 1, 0.8)]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        # the hint named idSite=1 whatever --site was: `--site 2 --report Goals.getItemsSku`
        # (ecommerce only) sent the user to a list that has it
        raise ExportUsageError(
            f"unknown report {names}: Matomo's report list (API.getReportMetadata) does not "
            f"have it{hint}; `matomo call API.getReportMetadata idSite={ids[0] if ids else 1}` "
            "shows the reports"
        )


async def _report_names(client: Any, id_site: int, out: list[set[str] | MatomoError]) -> None:
    """Add the `Module.method` names of a site's reports (or the error) to `out`."""
    try:
        meta = await client.api.report_metadata(id_site)
    except MatomoError as e:
        out.append(e)
        return
    out.append({f"{m.module}.{m.action}" for m in meta})


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
