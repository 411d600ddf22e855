"""The page lookups of the Reporting API: Actions.getPageUrl and Actions.getPageTitle.

`PageLookupMethods` is a mixin of `api.Api`, which registers the handler in its dispatch table
and provides the report handler it reads: a lookup is Actions.getPageUrls (getPageTitles)
narrowed to the page asked, without the columns Matomo adds to those reports only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .dates import ApiFailure

if TYPE_CHECKING:
    from .api import Access

__all__ = ["PageLookupMethods"]

_LOOKUP_DROPPED = re.compile(
    r"segment$|avg_page_load_time$|nb_hits_with_time_"
    r"|(avg|min|max)_time_(network|server|transfer|dom_processing|dom_completion|on_load)$"
)


class PageLookupMethods:
    """The page lookup handler of `Api`: takes (params, access) and returns JSON data."""

    if TYPE_CHECKING:

        def _report(self, params: Mapping[str, str], access: Access) -> Any: ...

    def _page_lookup(self, params: Mapping[str, str], access: Access) -> Any:
        method = params["method"]
        required = "pageUrl" if method == "Actions.getPageUrl" else "pageName"
        if not params.get(required):
            raise ApiFailure(f"Please specify a value for '{required}'.", 400)
        base = "Actions.getPageUrls" if required == "pageUrl" else "Actions.getPageTitles"
        found = self._report({**params, "method": base, "filter_limit": "-1"}, access)
        # Matomo adds these to getPageUrls/getPageTitles only (their `.end` events): a single
        # page's row has no segment and no page performance columns (recordings 089, 090)
        return _without_lookup_extras(found)


def _without_lookup_extras(value: Any) -> Any:
    """A page lookup's rows (in a Map by period or site too) without `_LOOKUP_DROPPED`."""
    if isinstance(value, list):
        return [
            {k: v for k, v in row.items() if not _LOOKUP_DROPPED.match(k)}
            if isinstance(row, dict)
            else row
            for row in value
        ]
    if isinstance(value, dict):
        return {key: _without_lookup_extras(v) for key, v in value.items()}
    return value
