"""Websites from ``SitesManager.getSitesWithAtLeastViewAccess`` and ``getSiteFromId``.

Matomo sends the ``site`` table row as is (``plugins/SitesManager/Model.php``): snake_case
keys, ``idsite``, flags as ``0``/``1``, list settings as comma-separated text, and
``ts_created`` as ``"2026-08-01 00:00:00"`` in UTC. ``creator_login`` is only sent to super
users; ``timezone_name`` and ``currency_name`` are kept as extras.
"""

from __future__ import annotations

from pydantic import Field

from matomo_client.models._base import MatomoModel
from matomo_client.models._coerce import (
    LooseBool,
    LooseBoolOrNone,
    LooseInt,
    LooseIntOrNone,
    LooseStrOrNone,
    UtcDateTimeOrNone,
)

__all__ = ["Site"]


class Site(MatomoModel):
    """A website (or app) configured in Matomo."""

    id_site: LooseInt = Field(validation_alias="idsite", serialization_alias="idsite")
    """The site id."""
    name: LooseStrOrNone = None
    """The site's name."""
    main_url: LooseStrOrNone = None
    """The site's main URL."""
    timezone: LooseStrOrNone = None
    """The site's timezone (``UTC``, ``Europe/Berlin``, ``UTC+5.5``); days are cut in it."""
    currency: LooseStrOrNone = None
    """The site's currency code (``USD``)."""
    ecommerce: LooseBool = False
    """Whether ecommerce tracking is on."""
    created: UtcDateTimeOrNone = Field(
        default=None, validation_alias="ts_created", serialization_alias="ts_created"
    )
    """When the site was created (UTC); no visits can be older."""
    description: LooseStrOrNone = None
    """Free-text description."""
    type: LooseStrOrNone = None
    """``website``, ``intranet``, ``mobileapp``..."""
    group: LooseStrOrNone = None
    """The site's group (``""`` when none)."""
    sitesearch: LooseBoolOrNone = None
    """Whether site search tracking is on."""
    sitesearch_keyword_parameters: LooseStrOrNone = None
    """Site search keyword URL parameters, comma separated."""
    sitesearch_category_parameters: LooseStrOrNone = None
    """Site search category URL parameters, comma separated."""
    exclude_unknown_urls: LooseBoolOrNone = None
    """Whether tracking from URLs outside the site's URLs is refused."""
    excluded_ips: LooseStrOrNone = None
    """Excluded IPs and ranges, comma separated."""
    excluded_parameters: LooseStrOrNone = None
    """URL query parameters stripped from tracked URLs, comma separated."""
    excluded_user_agents: LooseStrOrNone = None
    """Excluded user agents, comma separated."""
    excluded_referrers: LooseStrOrNone = None
    """Referrers not counted as referrers, comma separated."""
    keep_url_fragment: LooseIntOrNone = None
    """URL fragment handling: 0 global default, 1 keep, 2 strip."""
    creator_login: LooseStrOrNone = None
    """Login of the user who created the site (sent to super users only)."""
