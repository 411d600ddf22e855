"""The Live methods of the Reporting API: the visits log, the latest visitor, a visitor profile.

`LiveMethods` is a mixin of `api.Api`, which registers these handlers in its dispatch table
and provides what they read: the world, the sites whose visits log is off, and the `idSite`
parameter. Live.getLastVisitsDetails is `live.py`'s, Live.getVisitorProfile
`live_profile.py`'s; a site whose log is off answers Matomo's error instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .dates import ApiFailure
from .live import live_visits
from .live_profile import visitor_profile
from .segments import parse_segment
from .world import World

if TYPE_CHECKING:
    from .api import Access

__all__ = ["LiveMethods"]

_LIVE_OFF = (
    "Visits log is deactivated in website settings. A user with at least admin access can "
    "enable this feature in the settings for this website (idSite={})."
)


class LiveMethods:
    """The Live handlers of `Api`: each takes (params, access) and returns JSON data."""

    # provided by `Api`
    world: World
    live_disabled_sites: frozenset[int]

    if TYPE_CHECKING:

        def _site_ids_param(
            self, params: Mapping[str, str], access: Access
        ) -> tuple[list[int], bool]: ...

    def _most_recent_visitor(self, params: Mapping[str, str], access: Access) -> Any:
        """Live.getMostRecentVisitorId: the visitorId of the latest visit (Live's first row),
        whatever the period; `false` when there is none."""
        query = {"idSite": params.get("idSite") or "", "filter_limit": "1"}
        query["doNotFetchActions"] = "1"
        if params.get("segment"):
            query["segment"] = params["segment"]
        visits = self._live(query, access)
        return {"value": visits[0]["visitorId"] if visits else False}

    def _visitor_profile(self, params: Mapping[str, str], access: Access) -> Any:
        """Live.getVisitorProfile (`live_profile.py`) of the first site asked, if its log is on."""
        id_site = self._site_ids_param(params, access)[0][0]
        if id_site in self.live_disabled_sites:
            raise ApiFailure(_LIVE_OFF.format(id_site))
        return visitor_profile(self.world, id_site, params)

    def _live(self, params: Mapping[str, str], access: Access) -> Any:
        ids, multi_site = self._site_ids_param(params, access)
        disabled = [i for i in ids if i in self.live_disabled_sites]
        if disabled and not multi_site:
            raise ApiFailure(_LIVE_OFF.format(disabled[0]))
        if disabled and len(disabled) == len(ids):
            joined = ",".join(map(str, disabled))
            raise ApiFailure(f"Visits log is deactivated for all given websites (idSite={joined}).")
        # the segment is read over every site asked, the deactivated ones too (several sites:
        # no custom dimension segments)
        parse_segment(params.get("segment"), self.world.sites, ids)
        ids = [i for i in ids if i not in self.live_disabled_sites]
        return live_visits(self.world, ids, params, several_sites=multi_site)
