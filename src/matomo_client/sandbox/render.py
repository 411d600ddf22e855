"""Turn compact `Visit` records into the dicts `Live.getLastVisitsDetails` returns.

Keys, their order and value kinds (int vs string vs null, presentation fields, icons)
follow the rows recorded from Matomo 5.11.2. The visit's `lastActionTimestamp` /
`serverTimestamp` are true UTC; its actions are rendered by `render_actions.py`.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from . import catalog as c
from .formats import ICONS, MORPHEUS, clock, money, pretty_date, pretty_duration, utc
from .records import CART, EVENT, ORDER, PAGE, SEARCH, Visit, utc_offset
from .render_actions import render_actions

__all__ = ["render_visit", "visit_days_since_first", "visit_resolution", "visitor_hex"]

_TYPE_NAMES = {
    "direct": "Direct Entry",
    "search": "Search Engines",
    "website": "Websites",
    "campaign": "Campaigns",
    "social": "Social Networks",
}
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class _Details:
    """What only the Live API shows, drawn per visit from (seed, idVisit) when rendered.

    Page view ids are drawn in action order, so a visit that grows keeps its earlier ids.
    """

    def __init__(self, visit: Visit, seed: int) -> None:
        rng = random.Random(f"detail/{seed}/{visit.id_visit}")
        r = rng.random
        self.rng = rng
        self.ip = f"{2 + int(r() * 222)}.{int(r() * 256)}.0.0"
        resolutions = c.RESOLUTIONS[c.DEVICES[visit.device][0]]
        self.resolution = resolutions[int(r() * len(resolutions))]
        self.visit_count = 2 + int(r() * 11) if visit.returning else 1
        self.days_since_first = 1 + int(r() * 60) if visit.returning else 0
        since_last = int(r() * 31)
        self.days_since_last = min(self.days_since_first, since_last) if visit.returning else 0
        self.visitor_id = visitor_hex(seed, visit.id_site, visit.visitor)
        self.fingerprint = _hex("fp", seed, visit.id_site, visit.visitor, visit.device)

    def pageview_id(self) -> str:
        """The next six-character page view id."""
        bits = self.rng.getrandbits(36)
        chars = []
        for _ in range(6):
            bits, digit = divmod(bits, 62)
            chars.append(_ALNUM[digit])
        return "".join(chars)


def visit_resolution(visit: Visit, seed: int) -> str:
    """The screen resolution Live shows for `visit` (drawn from the seed and idVisit)."""
    rng = random.Random(f"detail/{seed}/{visit.id_visit}")
    rng.random()  # the IP's two draws come first (`_Details`)
    rng.random()
    resolutions = c.RESOLUTIONS[c.DEVICES[visit.device][0]]
    return resolutions[int(rng.random() * len(resolutions))]


def visit_days_since_first(visit: Visit, seed: int) -> int:
    """The `daysSinceFirstVisit` Live shows for `visit` (same draws as `_Details`)."""
    if not visit.returning:
        return 0
    rng = random.Random(f"detail/{seed}/{visit.id_visit}")
    for _ in range(4):  # the IP's two draws, the resolution's, the visit count's
        rng.random()
    return 1 + int(rng.random() * 60)


def visitor_hex(seed: int, id_site: int, visitor: int) -> str:
    """The 16 hex digit `visitorId` Live shows for a visitor of a site."""
    return _hex("visitor", seed, id_site, visitor)


def _hex(*parts: object) -> str:
    return hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).hexdigest()


def render_visit(
    visit: Visit, site: c.SiteInfo, seed: int, *, with_actions: bool
) -> dict[str, Any]:
    """The Matomo Live dict of one visit (`seed`: the world's, for the derived details)."""
    details = _Details(visit, seed)
    offset = utc_offset(visit.last_ts, site.timezone)
    first_local = utc(visit.first_ts + utc_offset(visit.first_ts, site.timezone))
    last_local = utc(visit.last_ts + offset)
    last_utc = utc(visit.last_ts)
    first_utc = utc(visit.first_ts)
    ref = visit.referrer
    dev = c.DEVICES[visit.device]
    browser = c.BROWSERS[visit.browser]
    continent, continent_code, country, country_code = c.COUNTRIES[visit.country]
    language = c.LANGUAGES[visit.language]
    orders = [a.order for a in visit.actions if a.kind == ORDER and a.order]
    carts = [a.order for a in visit.actions if a.kind == CART and a.order]
    conversions = visit.conversions
    n_search = sum(1 for a in visit.actions if a.kind == SEARCH)
    n_pages = sum(1 for a in visit.actions if a.kind == PAGE)
    if orders and carts:
        ecommerce_status = "orderedThenAbandonedCart"
    elif orders:
        ecommerce_status = "ordered"
    elif carts:
        ecommerce_status = "abandonedCart"
    else:
        ecommerce_status = "none"
    visitor_type = "new"
    if visit.returning:
        visitor_type = (
            "returningCustomer" if site.ecommerce and visit.visitor % 5 == 0 else "returning"
        )
    days_first, days_last = details.days_since_first, details.days_since_last
    since_first = days_first * 86400 + visit.visitor % 86400 if visit.returning else 0
    since_last = days_last * 86400 + visit.visitor % 3600 if visit.returning else 0
    os_version = dev[5]
    desktop = dev[0] == "Desktop"
    out: dict[str, Any] = {
        "idSite": visit.id_site,
        "idVisit": visit.id_visit,
        "visitIp": details.ip,
        "visitorId": details.visitor_id,
        "fingerprint": details.fingerprint,
        "actionDetails": render_actions(visit, site, details.pageview_id) if with_actions else [],
        "goalConversions": conversions,
        "siteCurrency": site.currency,
        "siteCurrencySymbol": site.currency_symbol,
        "serverDate": last_utc.date().isoformat(),
        "visitServerHour": str(last_utc.hour),
        "lastActionTimestamp": visit.last_ts,
        "lastActionDateTime": f"{last_utc.date().isoformat()} {clock(last_utc)}",
        "siteName": site.name,
        "serverTimestamp": visit.last_ts,
        "firstActionTimestamp": visit.first_ts,
        "serverTimePretty": clock(last_local),
        "serverDatePretty": pretty_date(last_local),
        "serverDatePrettyFirstAction": pretty_date(first_local),
        "serverTimePrettyFirstAction": clock(first_local),
        "userId": visit.user_id,
        "visitorType": visitor_type,
        "visitorTypeIcon": "plugins/Live/images/returningVisitor.png" if visit.returning else None,
        "visitConverted": 1 if conversions else 0,
        "visitConvertedIcon": MORPHEUS + "goal.svg" if conversions else None,
        "visitCount": details.visit_count,
        "visitEcommerceStatus": ecommerce_status,
        "visitEcommerceStatusIcon": (
            None
            if ecommerce_status == "none"
            else MORPHEUS + ("ecommerceOrder.svg" if orders else "ecommerceAbandonedCart.svg")
        ),
        "daysSinceFirstVisit": days_first,
        "secondsSinceFirstVisit": since_first,
        "daysSinceLastEcommerceOrder": 0,
        "secondsSinceLastEcommerceOrder": 0 if orders else None,
        "visitDuration": visit.duration,
        "visitDurationPretty": pretty_duration(visit.duration),
        "searches": n_search,
        "actions": visit.n_actions,
        "interactions": n_pages + n_search,
        "referrerType": ref.type,
        "referrerTypeName": _TYPE_NAMES[ref.type],
        "referrerName": ref.name,
        "referrerKeyword": ref.keyword,
        "referrerKeywordPosition": None,
        "referrerUrl": ref.url,
        "referrerSearchEngineUrl": None,
        "referrerSearchEngineIcon": None,
        "referrerSocialNetworkUrl": None,
        "referrerSocialNetworkIcon": None,
        "referrerAIAssistantUrl": None,
        "referrerAIAssistantIcon": None,
        "languageCode": language,
        "language": f"Language code {language}",
        "deviceType": dev[0],
        "deviceTypeIcon": f"{ICONS}devices/{dev[0].lower()}.png",
        "deviceBrand": dev[1],
        "deviceModel": dev[2],
        "operatingSystem": f"{dev[3]} {os_version}".strip(),
        "operatingSystemName": dev[3],
        "operatingSystemIcon": f"{ICONS}os/{dev[4]}.png",
        "operatingSystemCode": dev[4],
        "operatingSystemVersion": os_version,
        "browserFamily": browser[2],
        "browserFamilyDescription": browser[3],
        "browser": f"{browser[0]} {browser[1]}",
        "browserName": browser[0],
        "browserIcon": f"{ICONS}browsers/{visit.browser}.png",
        "browserCode": visit.browser,
        "browserVersion": browser[1],
    }
    if ref.type == "search":
        engine = next(e for e in c.SEARCH_ENGINES if e[0] == ref.name)
        out["referrerSearchEngineUrl"] = engine[1]
        out["referrerSearchEngineIcon"] = f"{ICONS}searchEngines/{engine[2]}.png"
    elif ref.type == "social":
        host = dict(c.SOCIALS)[ref.name]
        out["referrerSocialNetworkUrl"] = host
        out["referrerSocialNetworkIcon"] = f"{ICONS}socials/{host}.png"
    if site.ecommerce:
        order_items = sum(o.quantity for o in orders)
        cart_items = sum(o.quantity for o in carts)
        out["totalEcommerceRevenue"] = money(sum(o.revenue for o in orders))
        out["totalEcommerceConversions"] = len(orders)
        out["totalEcommerceItems"] = str(order_items) if order_items else 0
        out["totalAbandonedCartsRevenue"] = money(sum(o.revenue for o in carts))
        out["totalAbandonedCarts"] = len(carts)
        out["totalAbandonedCartsItems"] = str(cart_items) if cart_items else 0
    out.update(
        {
            "events": sum(1 for a in visit.actions if a.kind == EVENT),
            "continent": continent,
            "continentCode": continent_code,
            "country": country,
            "countryCode": country_code,
            "countryFlag": f"{ICONS}flags/{country_code}.png",
            "region": None,
            "regionCode": None,
            "city": None,
            "location": country,
            "latitude": None,
            "longitude": None,
            "visitLocalTime": clock(first_utc),
            "visitLocalHour": str(first_utc.hour),
            "daysSinceLastVisit": days_last,
            "secondsSinceLastVisit": since_last,
            "resolution": details.resolution,
            "plugins": "cookie, pdf" if desktop else "",
            "pluginsIcons": (
                [
                    {"pluginIcon": f"{ICONS}plugins/cookie.png", "pluginName": "cookie"},
                    {"pluginIcon": f"{ICONS}plugins/pdf.png", "pluginName": "pdf"},
                ]
                if desktop
                else None
            ),
        }
    )
    if site.custom_dimensions:
        out["dimension1"] = "returning" if visit.returning else "new"
    return out
