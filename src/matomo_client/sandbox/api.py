"""The Reporting API dispatcher: `module=API&method=Module.action` to a decoded JSON value.

`Api.call(params, access)` validates like Matomo 5.11.2 (method syntax, plugin, method,
access, idSite, period, date; recorded cases 192-218) and runs the method. `Access` is the
super user, a viewer of some sites (recorded cases 012, 157, 201-203) or anonymous. Failures raise
`ApiFailure(message, status)`; `app.py` renders them. Values are plain JSON data, shaped
as recorded: Maps keyed by site then period, `[]` for empty periods inside a Map.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, unquote

from .aggregates import Facts, FactsCache, compute_day, dimension_facts, facts_for
from .column_delete import delete_columns, labelled, plain_array
from .custom_dimension import custom_dimension_rows, dimension_scope, flat_dimension_rows
from .datatable import apply_filters, find_subtable, leaf_rows, limit_and_offset
from .dates import ApiFailure, Period, Periods, resolve
from .event_reports import EVENT_SUBTABLE_METHODS, event_builder
from .label_filter import by_labels, requested_labels, subtable_request, unlimited
from .live_api import LiveMethods
from .live_profile import live_counters
from .meta_pages import report_pages_metadata, segments_metadata
from .metadata import report_metadata, requested_metadata
from .page_lookup import PageLookupMethods
from .processed_report import processed_report
from .referrer_reports import expanded_flat, merged_subtables, subtable_rows, urls_for_social
from .reports import BUILDERS, drop_untimed
from .row_evolution import row_evolution
from .segments import parse_segment, request_has_custom_dimensions, request_site
from .settings import PHP_VERSION, configured_custom_dimensions, site_goals
from .site_api import NEED_SOME_VIEW, SiteMethods
from .subtable_report import with_subtable_reports
from .summaries import FREQUENCY_SEGMENTS
from .summary_api import SUMMARY_SCALARS, SummaryMethods
from .visit_reports import (
    DIMENSION_BUILDERS,
    ITEM_METHODS,
    NATURAL_ORDER,
    PAGE_BUILDERS,
    days_to_conversion_builder,
    items_builder,
)
from .world import World

__all__ = ["MATOMO_VERSION", "Access", "Api"]

MATOMO_VERSION = "5.11.2"
# plugins of a stock Matomo 5 that the sandbox does not implement: their methods are "unknown"
_KNOWN_PLUGINS = frozenset(
    [
        "API",
        "Actions",
        "Annotations",
        "Contents",
        "CoreAdminHome",
        "CustomDimensions",
        "DevicePlugins",
        "DevicesDetection",
        "Events",
        "Goals",
        "ImageGraph",
        "Live",
        "MultiSites",
        "PagePerformance",
        "Referrers",
        "Resolution",
        "SegmentEditor",
        "SitesManager",
        "Tour",
        "UserCountry",
        "UserId",
        "UserLanguage",
        "UsersManager",
        "VisitFrequency",
        "VisitTime",
        "VisitorInterest",
        "VisitsSummary",
    ]
)
# subtable methods that are another report's idSubtable
_SUBTABLE_ALIASES = {
    "Referrers.getKeywordsFromSearchEngineId": "Referrers.getSearchEngines",
    "Referrers.getSearchEnginesFromKeywordId": "Referrers.getKeywords",
    "Referrers.getKeywordsFromCampaignId": "Referrers.getCampaigns",
    "Referrers.getUrlsFromWebsiteId": "Referrers.getWebsites",
    "Referrers.getUrlsForSocial": "Referrers.getSocials",
    **EVENT_SUBTABLE_METHODS,
}
# the subtable method whose idSubtable is optional (plugins/Referrers/API.php)
_ALL_SOCIAL_URLS = "Referrers.getUrlsForSocial"
_OWN_SUBTABLE_METHOD = frozenset(
    {
        "Referrers.getSearchEngines",
        "Referrers.getKeywords",
        "Referrers.getCampaigns",
        "Referrers.getWebsites",
        "Referrers.getSocials",
    }
)
# the method that loads these reports' subtables (`actionToLoadSubTables`); others: their own
_SUBTABLE_METHOD = {v: k for k, v in _SUBTABLE_ALIASES.items() if v in _OWN_SUBTABLE_METHOD}
# reports whose rows have PagePerformance's timing columns
_PAGE_REPORTS = frozenset({"Actions.getPageUrls", "Actions.getPageTitles", *PAGE_BUILDERS})
_ALL_BUILDERS = {**BUILDERS, **PAGE_BUILDERS, **DIMENSION_BUILDERS}
_DAYS_TO_CONVERSION = "Goals.getDaysToConversion"
# reports over the dimension and item tables, summed apart (`dimension_facts`)
_DIMENSION_REPORTS = frozenset({*DIMENSION_BUILDERS, *ITEM_METHODS, _DAYS_TO_CONVERSION})
# reports Matomo's archiver sorts by another column than nb_visits
_DEFAULT_SORT = dict.fromkeys(ITEM_METHODS, "revenue")
# Referrers methods that refuse several sites (plugins/Referrers/API.php, checkSingleSite)
_SINGLE_SITE_ONLY = frozenset({"Referrers.getReferrerType", "Referrers.getAll"})
# super-user-only methods of a stock Matomo 5 (`Piwik::checkUserHasSuperUserAccess()` first
# thing in the method): anyone else gets this 401 (recorded 203); the sandbox runs only some
_SUPERUSER_ONLY = frozenset(
    {
        "API.getPhpVersion",
        "SitesManager.addSite",
        "SitesManager.deleteSite",
        "SitesManager.getAllSites",
        "SitesManager.getAllSitesId",
    }
)
_NO_METADATA_SITE = (
    "Calling API.getReportMetadata without any idSite is no longer supported since Matomo "
    '3.0.0. Please specify at least one idSite via the "idSite" parameter.'
)
_NEED_SUPERUSER = "You can't access this resource as it requires a 'superuser' access."


@dataclass(frozen=True)
class Access:
    """Who is calling: the super user, a viewer of `sites`, or anonymous (no sites)."""

    superuser: bool
    sites: frozenset[int] = frozenset()

    def can_view(self, id_site: int) -> bool:
        """Whether this caller has at least view access to `id_site`."""
        return self.superuser or id_site in self.sites

    def __repr__(self) -> str:
        return f"Access(superuser={self.superuser}, sites={sorted(self.sites)})"


class Api(SummaryMethods, SiteMethods, LiveMethods, PageLookupMethods):
    """Methods of the sandbox over one `World` (others in `summary_api.py`, `site_api.py`,
    `live_api.py` and `page_lookup.py`)."""

    def __init__(self, world: World, live_disabled_sites: frozenset[int] = frozenset()) -> None:
        self.world = world
        self.live_disabled_sites = live_disabled_sites
        self.day_cache = FactsCache()
        self.dimension_cache = FactsCache()
        # VisitFrequency's new and returning visits of closed days, when no segment narrows them
        self.frequency_cache = {kind: FactsCache() for kind in FREQUENCY_SEGMENTS}
        self._methods: dict[str, Callable[[Mapping[str, str], Access], Any]] = {
            "API.getMatomoVersion": self._version,
            "API.getPiwikVersion": self._version,
            "API.getReportMetadata": self._report_metadata,
            "API.getBulkRequest": self._bulk,
            "API.getProcessedReport": lambda p, a: processed_report(self, p, a),
            "API.getRowEvolution": lambda p, a: row_evolution(self, p, a),
            "SitesManager.getSitesWithAtLeastViewAccess": self._sites,
            "SitesManager.getSitesIdWithAtLeastViewAccess": self._site_ids,
            "SitesManager.getSiteFromId": self._site_from_id,
            "SitesManager.getAllSitesId": self._site_ids,
            "VisitsSummary.get": self._visits_summary,
            "Live.getLastVisitsDetails": self._live,
            "Actions.get": self._actions_get,
            "Goals.get": self._goals_get,
            "Goals.getGoals": self._goals,
            "CustomDimensions.getConfiguredCustomDimensions": self._custom_dimensions,
            "API.getPhpVersion": lambda params, access: dict(PHP_VERSION),
            "API.getIpFromHeader": self._ip_from_header,
            "UsersManager.hasSuperUserAccess": lambda p, access: {"value": access.superuser},
            "VisitFrequency.get": self._visit_frequency,
            "Referrers.get": self._merged_object,
            "PagePerformance.get": self._merged_object,
            "API.get": self._merged_object,
            "Live.getMostRecentVisitorId": self._most_recent_visitor,
            "Live.getCounters": lambda p, a: live_counters(world, self._site_ids_param(p, a)[0], p),
            "Live.getVisitorProfile": self._visitor_profile,
            "MultiSites.getAll": labelled(self._multi_sites, ""),
            "API.getReportPagesMetadata": lambda p, a: report_pages_metadata(
                self.world.site(self._site_ids_param(p, a)[0][0]), self.world.today
            ),
            "API.getSegmentsMetadata": self._segments_metadata,
            "CustomDimensions.getCustomDimension": self._custom_dimension,
        }
        for name in SUMMARY_SCALARS:
            self._methods[f"VisitsSummary.{name}"] = self._summary_scalar
        for name in [*_ALL_BUILDERS, *_SUBTABLE_ALIASES, *ITEM_METHODS, _DAYS_TO_CONVERSION]:
            self._methods[name] = self._report
        self._methods["VisitTime.getByDayOfWeek"] = labelled(self._by_day_of_week, "")
        self._methods["Actions.getPageUrl"] = self._page_lookup
        self._methods["Actions.getPageTitle"] = self._page_lookup

    # -- dispatch ------------------------------------------------------------------------
    def call(self, params: Mapping[str, str], access: Access) -> Any:
        """Run `params['method']` and return its decoded JSON value (or raise ApiFailure)."""
        method = params.get("method", "").strip()
        if not method:
            raise ApiFailure(
                "The parameter 'method' isn't set in the Request, and a default value wasn't "
                "provided."
            )
        module, dot, action = method.partition(".")
        if not dot or not module or not action or "." in action:
            raise ApiFailure("The method name is invalid. Expected 'module.methodName'")
        if method in _SUPERUSER_ONLY and not access.superuser:
            raise ApiFailure(_NEED_SUPERUSER, 401)
        handler = self._methods.get(method)
        if handler is None:
            if module not in _KNOWN_PLUGINS:
                raise ApiFailure(f"The plugin {module} was not found.", 404)
            raise ApiFailure(
                f"The method '{action}' does not exist or is not available in the module "
                f"'\\Piwik\\Plugins\\{module}\\API'.",
                400,
            )
        with request_site(params):  # custom dimension segments depend on it (`segments.py`)
            return plain_array(method, handler(params, access), params)

    # -- access and parameters -----------------------------------------------------------
    def _site_ids_param(self, params: Mapping[str, str], access: Access) -> tuple[list[int], bool]:
        raw = params.get("idSite")
        if raw is None or raw.strip() == "":
            raise ApiFailure("Please specify a value for 'idSite'.", 400)
        raw = raw.strip()
        if raw == "all":  # every site the caller can view, always keyed by site
            visible = self._visible_sites(access)
            if not visible:
                raise ApiFailure(NEED_SOME_VIEW, 401)
            return visible, True
        ids = []
        for part in raw.split(","):
            part = part.strip()
            if not (part.isascii() and part.isdigit()) or int(part) <= 0:  # not '²'
                raise ApiFailure("Website IDs could not be read from the request, ie. idSite=")
            if int(part) not in ids:  # Matomo drops repeats: `1,1` is one site, not a Map
                ids.append(int(part))
        for id_site in ids:
            if not access.can_view(id_site):
                raise ApiFailure(
                    "You can't access this resource as it requires 'view' access for the "
                    f"website id = {id_site}.",
                    401,
                )
            if id_site not in self.world.sites:
                raise ApiFailure(
                    "An unexpected website was found in the request: website id was set to "
                    f"'{id_site}' ."
                )
        return ids, len(ids) > 1

    def _require_view(self, access: Access) -> None:
        if not access.superuser and not access.sites:
            raise ApiFailure(NEED_SOME_VIEW, 401)

    def _visible_sites(self, access: Access) -> list[int]:
        return sorted(i for i in self.world.sites if access.can_view(i))

    # -- API / Goals / CustomDimensions --------------------------------------------------
    def _version(self, params: Mapping[str, str], access: Access) -> Any:
        self._require_view(access)
        return {"value": MATOMO_VERSION}

    def _report_metadata(self, params: Mapping[str, str], access: Access) -> Any:
        """API.getReportMetadata: without idSite (or idSite=0, empty to PHP), `idSites` as given,
        or the first of `idSites[]`."""
        id_site = params.get("idSite", "")
        if id_site in ("", "0"):
            listed = [v for k, v in params.items() if k.startswith("idSites[")]
            id_site = listed[0] if listed else params.get("idSites", "")
            if id_site in ("", "0"):
                raise ApiFailure(_NO_METADATA_SITE)
        ids, _ = self._site_ids_param({"idSite": id_site}, access)
        rows = report_metadata(self.world.site(ids[0]), self.world.today)
        if params.get("showSubtableReports", "") not in ("", "0"):  # PHP: "false" is true
            rows = with_subtable_reports(rows)
        return requested_metadata(rows, params, self.world.site_today(ids[0]))  # paged by call

    def _ip_from_header(self, params: Mapping[str, str], access: Access) -> Any:
        self._require_view(access)
        return {"value": "127.0.0.1"}  # the sandbox serves 127.0.0.1 only

    def _goals(self, params: Mapping[str, str], access: Access) -> Any:
        ids, _ = self._site_ids_param(params, access)
        return [row for i in ids for row in site_goals(self.world.site(i))]

    def _custom_dimensions(self, params: Mapping[str, str], access: Access) -> Any:
        ids, _ = self._site_ids_param(params, access)
        return configured_custom_dimensions(self.world.site(ids[0]))

    def _segments_metadata(self, params: Mapping[str, str], access: Access) -> Any:
        """API.getSegmentsMetadata (`meta_pages.py`): `idSites`, if given, must be viewable."""
        if (params.get("idSites") or "").strip():
            self._site_ids_param({"idSite": params["idSites"]}, access)
        self._require_view(access)
        # listed for the HTTP request's site, not for `idSites` as such (`segments.py`)
        return segments_metadata(request_has_custom_dimensions(self.world.sites))

    def _custom_dimension(self, params: Mapping[str, str], access: Access) -> Any:
        """CustomDimensions.getCustomDimension (`custom_dimension.py`) of each site asked."""
        ids = self._site_ids_param(params, access)[0]
        scopes = {i: dimension_scope(self.world.site(i), params) for i in ids}
        segment = parse_segment(params.get("segment"), self.world.sites, ids)
        labels = requested_labels(params)  # rows without subtables here

        def one(i: int, p: Period) -> tuple[Any, bool]:
            rows = custom_dimension_rows(
                self.world, i, p, scopes[i], segment, lambda: self._facts(i, p, params)
            )
            rows = flat_dimension_rows(rows, params)
            value = apply_filters(rows, unlimited(params) if labels else params)
            value = delete_columns(value, params)
            if labels:
                value = by_labels(value, labels, "", lambda row: None)
            return value, not value

        return self._per_site_period(params, access, one)

    def _bulk(self, params: Mapping[str, str], access: Access) -> Any:
        entries = sorted(
            (
                (int(k[5:-1]), v)
                for k, v in params.items()
                if k.startswith("urls[")
                and k.endswith("]")
                and k[5:-1].isascii()
                and k[5:-1].isdigit()
            ),
        )
        if not entries:
            raise ApiFailure("Please specify a value for 'urls'.", 400)
        inherited = {k: v for k, v in params.items() if not k.startswith("urls[")}
        # a sub-request without `method` inherits API.getBulkRequest and is dropped below
        results = []
        for _, query in entries:
            if "=" not in query and "%3D" in query.upper():
                query = unquote(query)  # entries URL-encoded once more, as official clients do
            sub = dict(inherited)
            sub.update(parse_qsl(query, keep_blank_values=True))
            sub["format"] = "json"
            if sub.get("method") == "API.getBulkRequest":
                continue
            try:
                results.append(self.call(sub, access))
            except ApiFailure as failure:
                results.append({"result": "error", "message": failure.message})
        limit, offset = limit_and_offset(params)
        return results[offset:] if limit < 0 else results[offset : offset + limit]

    # -- periods -------------------------------------------------------------------------
    def _periods(self, params: Mapping[str, str], ids: list[int]) -> Periods:
        # relative dates are read in the site's timezone, for several sites in UTC
        today = self.world.site_today(ids[0]) if len(ids) == 1 else self.world.today
        return resolve(params.get("period"), params.get("date"), today)

    def _facts(
        self, id_site: int, period: Period, params: Mapping[str, str], dimensions: bool = False
    ) -> Facts:
        last = self.world.site_today(id_site)
        days = [d for d in period.days() if self.world.first_day <= d <= last]
        return self._days_facts(id_site, days, params, dimensions)

    def _days_facts(
        self, id_site: int, days: list[date], params: Mapping[str, str], dimensions: bool = False
    ) -> Facts:
        segment = parse_segment(params.get("segment"), self.world.sites, [id_site])
        if dimensions:
            return dimension_facts(self.world, self.dimension_cache, id_site, days, segment)
        if segment is None:
            return facts_for(self.world, self.day_cache, id_site, days)
        total = Facts()
        for day in days:
            visits = tuple(v for v in self.world.day_visits(id_site, day) if segment(v))
            total.add(compute_day(self.world, visits, id_site, day, segment))
        return total

    def _per_site_period(
        self,
        params: Mapping[str, str],
        access: Access,
        one: Callable[[int, Period], tuple[Any, bool]],
    ) -> Any:
        """Run `one(site, period) -> (value, is_empty)` and shape the Map as Matomo keys it."""
        ids, multi_site = self._site_ids_param(params, access)
        periods = self._periods(params, ids)
        # invalid segments fail before any work
        parse_segment(params.get("segment"), self.world.sites, ids)

        def for_site(id_site: int) -> Any:
            if not periods.multi:
                value, empty = one(id_site, periods.items[0])
                if multi_site:
                    return [] if empty else value
                # alone, a bare value is wrapped (recording 035: {"value": 23})
                return value if isinstance(value, (dict, list)) else {"value": value}
            out = {}
            for p in periods.items:
                value, empty = one(id_site, p)
                out[p.key] = [] if empty else value
            return out

        if multi_site:
            return {str(i): for_site(i) for i in ids}
        return for_site(ids[0])

    # -- reports -------------------------------------------------------------------------
    def _report(self, params: Mapping[str, str], access: Access) -> Any:
        method = params["method"]
        if method in ITEM_METHODS:
            builder = items_builder(method, params)
        elif method == _DAYS_TO_CONVERSION:
            builder = days_to_conversion_builder(params)
        else:
            builder = _ALL_BUILDERS[_SUBTABLE_ALIASES.get(method, method)]
        dimensions = method in _DIMENSION_REPORTS
        default_sort = None if method in NATURAL_ORDER else _DEFAULT_SORT.get(method, "nb_visits")
        flat = params.get("flat") in ("1", "true")
        id_subtable = params.get("idSubtable")
        if method in _OWN_SUBTABLE_METHOD:
            id_subtable = None  # recorded 100: these reports ignore idSubtable
        elif method == "Referrers.getReferrerType" and id_subtable is not None:
            raw = id_subtable.strip()  # a referrer type; any other value: the whole report
            id_subtable = raw if raw.isdigit() and int(raw) in (2, 3, 6, 7) else None
        elif method == _ALL_SOCIAL_URLS and not (id_subtable or "").strip():
            id_subtable = None  # optional: every social network's URLs (mergeSubtables)
        elif method in _SUBTABLE_ALIASES and id_subtable is None:
            raise ApiFailure("Please specify a value for 'idSubtable'.", 400)
        page_url, page_name = params.get("pageUrl"), params.get("pageName")
        labels = requested_labels(params)  # Matomo's LabelFilter (`label_filter.py`)
        shown = unlimited(params) if labels else params
        if method in _SINGLE_SITE_ONLY:
            self._single_site_and_period(method, params, access)

        def one(id_site: int, p: Period) -> tuple[Any, bool]:
            f = self._facts(id_site, p, params, dimensions)
            build = event_builder(method, params) if method.startswith("Events.") else builder
            # a subtable's rows are not flattened; nor are the merged social URLs (no subtables)
            as_flat = flat and id_subtable is None and method != _ALL_SOCIAL_URLS
            rows = build(f, self.world.site(id_site), p.kind == "day", as_flat)
            if as_flat and params.get("expanded") in ("1", "true"):
                rows = expanded_flat(method, rows)
            rows = subtable_rows(method, rows)  # Referrers' subtable methods: their own rows
            if id_subtable is not None:
                rows = find_subtable(rows, id_subtable)
            elif method == _ALL_SOCIAL_URLS:
                rows = merged_subtables(rows)
            if method == _ALL_SOCIAL_URLS:
                rows = urls_for_social(rows)
            if page_url is not None:
                rows = [r for r in leaf_rows(rows) if r.get("url") == page_url]
            if page_name is not None:
                rows = [r for r in rows if r["label"].strip() == page_name.strip()]
            value = apply_filters(rows, shown, default_sort=default_sort)
            if method in _PAGE_REPORTS:
                value = drop_untimed(value)
            value = delete_columns(value, params)  # hideColumns / showColumns, then the label
            if labels:

                def load(row: dict[str, Any]) -> list[Any] | None:
                    if as_flat or row.get("idsubdatatable") is None:
                        return None
                    sub = _SUBTABLE_METHOD.get(method, method)
                    query = subtable_request(params, sub, id_site, p, row["idsubdatatable"])
                    found = self.call(query, access)
                    return found if isinstance(found, list) else []

                value = by_labels(value, labels, method, load)
            return value, not value

        return self._per_site_period(params, access, one)

    def _single_site_and_period(
        self, method: str, params: Mapping[str, str], access: Access
    ) -> None:
        """Matomo's Referrers.getReferrerType and getAll refuse several sites; getAll (which
        merges getReferrerType's subtables) also refuses several periods."""
        ids, multi_site = self._site_ids_param(params, access)
        if multi_site:
            raise ApiFailure(f"{method} with multiple sites is not supported (yet).")
        if method == "Referrers.getAll" and self._periods(params, ids).multi:
            raise ApiFailure(f"{method} with multiple sites or dates is not supported (yet).")
