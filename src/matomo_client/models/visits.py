"""Raw visits from ``Live.getLastVisitsDetails``: `Visit`, its `Action` list, `EcommerceItem`.

Matomo builds each visit in ``plugins/Live/Visitor.php`` and the plugins' ``VisitorDetails``
classes; every core plugin may add keys, so anything not declared here is kept in
``model_extra`` (custom dimensions ``dimension1``..., ``location``, third-party plugin data).
Attributes are Matomo's camelCase keys in snake_case (``idVisit`` -> ``id_visit``). Times are
UTC: ``*_timestamp`` are unix seconds, ``last_action_date_time`` is an aware datetime. One
exception, Matomo's own: an action's ``timestamp`` is shifted by the site's UTC offset.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from matomo_client.models._base import MatomoModel
from matomo_client.models._coerce import (
    LooseBoolOrNone,
    LooseFloatOrNone,
    LooseInt,
    LooseIntOrNone,
    LooseStr,
    LooseStrOrNone,
    UtcDateTimeOrNone,
    to_list,
)

__all__ = ["Action", "EcommerceItem", "Visit"]


class _CamelModel(MatomoModel):
    """Live output uses camelCase keys; attributes are their snake_case."""

    model_config = ConfigDict(alias_generator=to_camel)


class EcommerceItem(_CamelModel):
    """One product line of an ecommerce order or abandoned cart (``itemDetails``)."""

    item_sku: LooseStrOrNone = Field(
        default=None, validation_alias="itemSKU", serialization_alias="itemSKU"
    )
    """The product SKU."""
    item_name: LooseStrOrNone = None
    """The product name."""
    item_category: LooseStrOrNone = None
    """The first product category (more come as ``itemCategory2``... extras)."""
    price: LooseFloatOrNone = None
    """Unit price in the site's currency."""
    quantity: LooseIntOrNone = None
    """Units bought."""
    categories: Annotated[list[LooseStr] | None, BeforeValidator(to_list)] = None
    """All product categories."""


class Action(_CamelModel):
    """One entry of a visit's ``actionDetails``: a pageview, event, goal, order, search..."""

    type: LooseStrOrNone = None
    """``action``, ``download``, ``outlink``, ``event``, ``goal``, ``search``, ``ecommerceOrder``,
    ``ecommerceAbandonedCart``, ``form``, ``media``... (plugins add types)."""
    url: LooseStrOrNone = None
    """The URL (pageviews, downloads, outlinks, goals)."""
    page_title: LooseStrOrNone = None
    """The page title as tracked."""
    page_id_action: LooseIntOrNone = None
    """The action id of the URL (``log_action.idaction``)."""
    idpageview: LooseStrOrNone = None
    """The 6-character pageview id the tracker sent, links events to their page."""
    page_id: LooseIntOrNone = None
    """The row id of this action (``log_link_visit_action.idlink_va``)."""
    timestamp: LooseIntOrNone = None
    """When the action happened, as Matomo writes it: unix seconds of the site's wall-clock time
    (the UTC instant plus the site's UTC offset then; UTC only on UTC sites). The export stores the
    UTC instant."""
    time_spent: LooseIntOrNone = None
    """Seconds spent on the page before the next action."""
    pageview_position: LooseIntOrNone = None
    """1-based position of this pageview in the visit."""
    title: LooseStrOrNone = None
    """Matomo's display title of the action (page title, goal name, order id)."""
    subtitle: LooseStrOrNone = None
    """Matomo's second line (URL, revenue summary, search result count)."""
    page_load_time_milliseconds: LooseIntOrNone = None
    """Total page load time in milliseconds."""
    product_view_sku: LooseStrOrNone = None
    """SKU of the product viewed on this page."""
    product_view_name: LooseStrOrNone = None
    """Name of the product viewed on this page."""
    product_view_price: LooseFloatOrNone = None
    """Price of the product viewed on this page."""
    product_view_categories: Annotated[list[LooseStr] | None, BeforeValidator(to_list)] = None
    """Categories of the product viewed on this page."""
    event_category: LooseStrOrNone = None
    """Event category."""
    event_action: LooseStrOrNone = None
    """Event action."""
    event_name: LooseStrOrNone = None
    """Event name."""
    event_value: LooseFloatOrNone = None
    """Event value."""
    goal_id: LooseIntOrNone = None
    """Id of the converted goal."""
    goal_name: LooseStrOrNone = None
    """Name of the converted goal."""
    goal_page_id: LooseIntOrNone = None
    """``page_id`` of the action that converted the goal."""
    site_search_keyword: LooseStrOrNone = None
    """The internal search keyword."""
    site_search_category: LooseStrOrNone = None
    """The internal search category."""
    site_search_count: LooseIntOrNone = None
    """How many results the internal search returned."""
    order_id: LooseStrOrNone = None
    """The ecommerce order id."""
    revenue: LooseFloatOrNone = None
    """Order, cart or goal revenue."""
    revenue_sub_total: LooseFloatOrNone = None
    """Order subtotal."""
    revenue_tax: LooseFloatOrNone = None
    """Order tax."""
    revenue_shipping: LooseFloatOrNone = None
    """Order shipping."""
    revenue_discount: LooseFloatOrNone = None
    """Order discount."""
    items: LooseIntOrNone = None
    """Number of items in the order or cart."""
    item_details: Annotated[list[EcommerceItem] | None, BeforeValidator(to_list)] = None
    """The order's or cart's product lines."""
    referrer_type: LooseStrOrNone = None
    """Attributed referrer type (ecommerce actions)."""
    referrer_name: LooseStrOrNone = None
    """Attributed referrer name (ecommerce actions)."""
    referrer_keyword: LooseStrOrNone = None
    """Attributed referrer keyword (ecommerce actions)."""


class Visit(_CamelModel):
    """One visit as ``Live.getLastVisitsDetails`` returns it, with its actions."""

    id_site: LooseInt
    """The site id (``idSite``)."""
    id_visit: LooseInt
    """The visit id (``idVisit``), unique per Matomo install; the key to deduplicate on."""
    visitor_id: LooseStrOrNone = None
    """The visitor id, 16 hex characters."""
    visit_ip: LooseStrOrNone = None
    """The IP address as stored (usually anonymised: ``212.99.0.0``)."""
    fingerprint: LooseStrOrNone = None
    """Matomo's config id (a hash of the visitor's configuration)."""
    user_id: LooseStrOrNone = None
    """The User ID set by the site, if any."""
    visitor_type: LooseStrOrNone = None
    """``new``, ``returning`` or ``returningCustomer``."""
    visit_count: LooseIntOrNone = None
    """Visit number of this visitor (1 for the first visit)."""
    visit_converted: LooseBoolOrNone = None
    """Whether the visit converted a goal."""
    visit_ecommerce_status: LooseStrOrNone = None
    """``none``, ``ordered``, ``abandonedCart`` or ``orderedThenAbandonedCart``."""
    visit_duration: LooseIntOrNone = None
    """Visit length in seconds."""
    actions: LooseIntOrNone = None
    """Number of actions in the visit."""
    interactions: LooseIntOrNone = None
    """Number of interactions (pageviews, downloads, outlinks, searches, events...)."""
    searches: LooseIntOrNone = None
    """Number of internal searches."""
    events: LooseIntOrNone = None
    """Number of events."""
    goal_conversions: LooseIntOrNone = None
    """Number of goal conversions."""
    server_date: date | None = None
    """The visit's day (UTC)."""
    server_timestamp: LooseIntOrNone = None
    """Last action time, unix seconds (UTC)."""
    first_action_timestamp: LooseIntOrNone = None
    """First action time, unix seconds (UTC)."""
    last_action_timestamp: LooseIntOrNone = None
    """Last action time, unix seconds (UTC); the order Live pages in."""
    last_action_date_time: UtcDateTimeOrNone = None
    """Last action time as an aware UTC datetime."""
    visit_server_hour: LooseIntOrNone = None
    """Hour of the first action in UTC."""
    visit_local_time: LooseStrOrNone = None
    """The visitor's local time of day, ``HH:MM:SS``."""
    visit_local_hour: LooseIntOrNone = None
    """The visitor's local hour."""
    days_since_first_visit: LooseIntOrNone = None
    """Days since the visitor's first visit."""
    seconds_since_first_visit: LooseIntOrNone = None
    """Seconds since the visitor's first visit."""
    days_since_last_visit: LooseIntOrNone = None
    """Days since the visitor's previous visit."""
    seconds_since_last_visit: LooseIntOrNone = None
    """Seconds since the visitor's previous visit."""
    days_since_last_ecommerce_order: LooseIntOrNone = None
    """Days since the visitor's previous order."""
    seconds_since_last_ecommerce_order: LooseIntOrNone = None
    """Seconds since the visitor's previous order."""
    referrer_type: LooseStrOrNone = None
    """``direct``, ``search``, ``website``, ``campaign``, ``social``, ``ai_assistant``."""
    referrer_name: LooseStrOrNone = None
    """Search engine, website, campaign or network name."""
    referrer_keyword: LooseStrOrNone = None
    """Search keyword or campaign keyword (``""`` is kept: it differs from no keyword)."""
    referrer_keyword_position: LooseIntOrNone = None
    """Position of the result in the search engine, when known."""
    referrer_url: LooseStrOrNone = None
    """The referring URL."""
    referrer_search_engine_url: LooseStrOrNone = None
    """Home page of the referring search engine."""
    referrer_social_network_url: LooseStrOrNone = None
    """Home page of the referring social network."""
    referrer_ai_assistant_url: LooseStrOrNone = Field(
        default=None,
        validation_alias="referrerAIAssistantUrl",
        serialization_alias="referrerAIAssistantUrl",
    )
    """Home page of the referring AI assistant (Matomo 5.4+)."""
    device_type: LooseStrOrNone = None
    """``Desktop``, ``Smartphone``, ``Tablet``..."""
    device_brand: LooseStrOrNone = None
    """Device brand."""
    device_model: LooseStrOrNone = None
    """Device model."""
    operating_system: LooseStrOrNone = None
    """OS name and version (``Windows 10``)."""
    operating_system_name: LooseStrOrNone = None
    """OS name."""
    operating_system_code: LooseStrOrNone = None
    """OS short code (``WIN``)."""
    operating_system_version: LooseStrOrNone = None
    """OS version (text: ``17.6`` is not a number)."""
    browser: LooseStrOrNone = None
    """Browser name and version (``Chrome 129.0``)."""
    browser_name: LooseStrOrNone = None
    """Browser name."""
    browser_code: LooseStrOrNone = None
    """Browser short code (``CH``)."""
    browser_version: LooseStrOrNone = None
    """Browser version (text)."""
    browser_family: LooseStrOrNone = None
    """Browser engine (``Blink``)."""
    resolution: LooseStrOrNone = None
    """Screen resolution, ``WxH``."""
    plugins: LooseStrOrNone = None
    """Browser plugins, comma separated."""
    language: LooseStrOrNone = None
    """The browser language as Matomo names it."""
    language_code: LooseStrOrNone = None
    """The browser language code (``en-us``)."""
    continent: LooseStrOrNone = None
    """Continent name."""
    continent_code: LooseStrOrNone = None
    """Continent code (``eur``)."""
    country: LooseStrOrNone = None
    """Country name."""
    country_code: LooseStrOrNone = None
    """ISO country code, lower case."""
    region: LooseStrOrNone = None
    """Region name."""
    region_code: LooseStrOrNone = None
    """Region code."""
    city: LooseStrOrNone = None
    """City name."""
    latitude: LooseFloatOrNone = None
    """Latitude, when geolocation provides it."""
    longitude: LooseFloatOrNone = None
    """Longitude, when geolocation provides it."""
    site_name: LooseStrOrNone = None
    """The site's name."""
    site_currency: LooseStrOrNone = None
    """The site's currency code (``USD``)."""
    total_ecommerce_revenue: LooseFloatOrNone = None
    """Revenue of the visit's orders."""
    total_ecommerce_conversions: LooseIntOrNone = None
    """Number of orders in the visit."""
    total_ecommerce_items: LooseIntOrNone = None
    """Items ordered in the visit."""
    total_abandoned_carts_revenue: LooseFloatOrNone = None
    """Revenue of the visit's abandoned carts."""
    total_abandoned_carts: LooseIntOrNone = None
    """Number of abandoned carts."""
    total_abandoned_carts_items: LooseIntOrNone = None
    """Items in abandoned carts."""
    truncated_actions_count: LooseIntOrNone = None
    """Actions left out of ``action_details`` (only when the visit has more than 500)."""
    action_details: Annotated[list[Action], BeforeValidator(to_list)] = Field(default_factory=list)
    """The visit's actions in order; ``[]`` with ``doNotFetchActions=1``."""
