"""The per-site methods of the Reporting API: SitesManager's site rows and MultiSites.getAll.

`SiteMethods` is a mixin of `api.Api`, which registers these handlers in its dispatch table
and provides what they read: the world, the caller's viewable sites, the `idSite` parameter,
the periods and the facts of a period. A site row is shaped as recorded (012: other users'
logins hidden from a viewer); MultiSites.getAll's rows come from `multisites.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .aggregates import Facts
from .datatable import apply_filters
from .dates import ApiFailure, Period, Periods
from .multisites import enhanced_flag, multi_sites_row, previous_period, shown_metrics
from .segments import parse_segment
from .world import World

if TYPE_CHECKING:
    from .api import Access

__all__ = ["NEED_SOME_VIEW", "SiteMethods"]

NEED_SOME_VIEW = (
    "You can't access this resource as it requires view access for at least one website."
)


class SiteMethods:
    """The SitesManager and MultiSites handlers of `Api`: each takes (params, access)."""

    # provided by `Api`
    world: World

    if TYPE_CHECKING:

        def _site_ids_param(
            self, params: Mapping[str, str], access: Access
        ) -> tuple[list[int], bool]: ...

        def _visible_sites(self, access: Access) -> list[int]: ...

        def _periods(self, params: Mapping[str, str], ids: list[int]) -> Periods: ...

        def _facts(
            self,
            id_site: int,
            period: Period,
            params: Mapping[str, str],
            dimensions: bool = False,
        ) -> Facts: ...

    # -- SitesManager --------------------------------------------------------------------
    def _site_row(self, id_site: int, access: Access) -> dict[str, Any]:
        s = self.world.site(id_site)
        row = {
            "idsite": s.id,
            "name": s.name,
            "description": "",
            "main_url": s.main_url,
            "ts_created": self.world.created(s.id),
            "ecommerce": 1 if s.ecommerce else 0,
            "sitesearch": 1,
            "sitesearch_keyword_parameters": "",
            "sitesearch_category_parameters": "",
            "timezone": s.timezone,
            "currency": s.currency,
            "exclude_unknown_urls": 0,
            "excluded_ips": "",
            "excluded_parameters": "",
            "excluded_user_agents": "",
            "excluded_referrers": "",
            "group": "",
            "type": "website",
            "keep_url_fragment": 0,
            "creator_login": s.creator_login,
            "timezone_name": s.timezone_name,
            "currency_name": s.currency_name,
        }
        if not access.superuser:  # other users' logins stay hidden (recorded 012)
            del row["creator_login"]
        return row

    def _sites(self, params: Mapping[str, str], access: Access) -> Any:
        # paged, then its columns deleted, by `Api.call` (column_delete.plain_array)
        return [self._site_row(i, access) for i in self._visible_sites(access)]

    def _site_ids(self, params: Mapping[str, str], access: Access) -> Any:
        return self._visible_sites(access)

    def _site_from_id(self, params: Mapping[str, str], access: Access) -> Any:
        ids, _ = self._site_ids_param(params, access)
        return self._site_row(ids[0], access)

    # -- MultiSites ----------------------------------------------------------------------
    def _multi_sites(self, params: Mapping[str, str], access: Access) -> Any:
        """MultiSites.getAll: a row per viewable site with visits (`multisites.py`), keyed by
        period for several periods; dates are read in UTC, as for several sites."""
        ids = self._visible_sites(access)
        if not ids:
            raise ApiFailure(NEED_SOME_VIEW, 401)
        periods = self._periods(params, [*ids, 0])  # several sites: today in UTC
        parse_segment(params.get("segment"), self.world.sites, ids)
        enhanced = enhanced_flag(params.get("enhanced"))  # also keeps the sites without visits
        shown = shown_metrics(params)
        # the sites without visits are dropped if nb_visits is fetched; else by site, as sorted
        # by a missing nb_visits (then the label, the site id then)
        drop_empty = not enhanced and (shown is None or "nb_visits" in shown)
        sort = "nb_visits" if shown is None or "nb_visits" in shown else None

        def rows(p: Period) -> list[Any]:
            found = []
            for i in ids:
                now = self._facts(i, p, params)
                if now.nb_visits or not drop_empty:
                    before = self._facts(i, previous_period(p), params)
                    site = self.world.site(i)
                    found.append(multi_sites_row(site, p, now, before, enhanced, shown))
            column = params.get("filter_sort_column") or sort
            if column != "nb_visits" or sort is None:
                return apply_filters(found, params, default_sort=sort)
            # Sort runs while the label is still the site id (the name is a queued filter):
            # ties in nb_visits go by id, ascending (descending under filter_sort_order=asc)
            descending = (params.get("filter_sort_order") or "desc").lower() != "asc"
            found.sort(key=lambda r: (r["nb_visits"], -r["idsite"]), reverse=descending)
            unsorted = {k: v for k, v in params.items() if k != "filter_sort_column"}
            return apply_filters(found, unsorted, default_sort=None)

        if periods.multi:
            return {p.key: rows(p) for p in periods.items}
        return rows(periods.items[0])
