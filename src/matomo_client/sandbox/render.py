"""Turn compact `Visit` records into the dicts `Live.getLastVisitsDetails` returns.

Keys, their order and value kinds (int vs string vs null, presentation fields, icons)
follow the rows recorded from Matomo 5.11.2. One quirk is kept on purpose: an action's
`timestamp` and `serverTimePretty` are shifted by the site's UTC offset, while the visit's
`lastActionTimestamp` / `serverTimestamp` are true UTC (visible on the Berlin site).
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timezone
from typing import Any

from . import catalog as c
from .records import (
    CART,
    DOWNLOAD,
    EVENT,
    GOAL,
    ORDER,
    OUTLINK,
    PAGE,
    SEARCH,
    Action,
    Order,
    Visit,
    page_url,
    utc_offset,
)

__all__ = ["money", "pretty_duration", "render_visit"]

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_TYPE_NAMES = {
    "direct": "Direct Entry",
    "search": "Search Engines",
    "website": "Websites",
    "campaign": "Campaigns",
    "social": "Social Networks",
}
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_MORPHEUS = "plugins/Morpheus/images/"
_ICONS = "plugins/Morpheus/icons/dist/"


def money(value: float) -> int | float:
    """A PHP-like JSON number: whole values print as integers."""
    value = round(value, 2)
    return int(value) if value == int(value) else value


def pretty_duration(seconds: int) -> str:
    """Matomo's short duration text: '0s', '48s', '3 min 32s', '1 hours 5 min'."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} hours {minutes} min"
    if minutes:
        return f"{minutes} min {secs}s"
    return f"{secs}s"


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def _pretty_date(d: datetime) -> str:
    return f"{_DAYS[d.weekday()]}, {_MONTHS[d.month - 1]} {d.day}, {d.year}"


def _clock(d: datetime) -> str:
    return f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}"


def _pretty_stamp(d: datetime) -> str:
    return f"{_MONTHS[d.month - 1][:3]} {d.day}, {d.year} {_clock(d)}"


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
        self.visitor_id = _hex("visitor", seed, visit.id_site, visit.visitor)
        self.fingerprint = _hex("fp", seed, visit.id_site, visit.visitor, visit.device)

    def pageview_id(self) -> str:
        """The next six-character page view id."""
        bits = self.rng.getrandbits(36)
        chars = []
        for _ in range(6):
            bits, digit = divmod(bits, 62)
            chars.append(_ALNUM[digit])
        return "".join(chars)


def _hex(*parts: object) -> str:
    return hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).hexdigest()


def render_visit(
    visit: Visit, site: c.SiteInfo, seed: int, *, with_actions: bool
) -> dict[str, Any]:
    """The Matomo Live dict of one visit (`seed`: the world's, for the derived details)."""
    details = _Details(visit, seed)
    offset = utc_offset(visit.last_ts, site.timezone)
    first_local = _utc(visit.first_ts + utc_offset(visit.first_ts, site.timezone))
    last_local = _utc(visit.last_ts + offset)
    last_utc = _utc(visit.last_ts)
    first_utc = _utc(visit.first_ts)
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
        "actionDetails": _actions(visit, site, details) if with_actions else [],
        "goalConversions": conversions,
        "siteCurrency": site.currency,
        "siteCurrencySymbol": site.currency_symbol,
        "serverDate": last_utc.date().isoformat(),
        "visitServerHour": str(last_utc.hour),
        "lastActionTimestamp": visit.last_ts,
        "lastActionDateTime": f"{last_utc.date().isoformat()} {_clock(last_utc)}",
        "siteName": site.name,
        "serverTimestamp": visit.last_ts,
        "firstActionTimestamp": visit.first_ts,
        "serverTimePretty": _clock(last_local),
        "serverDatePretty": _pretty_date(last_local),
        "serverDatePrettyFirstAction": _pretty_date(first_local),
        "serverTimePrettyFirstAction": _clock(first_local),
        "userId": visit.user_id,
        "visitorType": visitor_type,
        "visitorTypeIcon": "plugins/Live/images/returningVisitor.png" if visit.returning else None,
        "visitConverted": 1 if conversions else 0,
        "visitConvertedIcon": _MORPHEUS + "goal.svg" if conversions else None,
        "visitCount": details.visit_count,
        "visitEcommerceStatus": ecommerce_status,
        "visitEcommerceStatusIcon": (
            None
            if ecommerce_status == "none"
            else _MORPHEUS + ("ecommerceOrder.svg" if orders else "ecommerceAbandonedCart.svg")
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
        "deviceTypeIcon": f"{_ICONS}devices/{dev[0].lower()}.png",
        "deviceBrand": dev[1],
        "deviceModel": dev[2],
        "operatingSystem": f"{dev[3]} {os_version}".strip(),
        "operatingSystemName": dev[3],
        "operatingSystemIcon": f"{_ICONS}os/{dev[4]}.png",
        "operatingSystemCode": dev[4],
        "operatingSystemVersion": os_version,
        "browserFamily": browser[2],
        "browserFamilyDescription": browser[3],
        "browser": f"{browser[0]} {browser[1]}",
        "browserName": browser[0],
        "browserIcon": f"{_ICONS}browsers/{visit.browser}.png",
        "browserCode": visit.browser,
        "browserVersion": browser[1],
    }
    if ref.type == "search":
        engine = next(e for e in c.SEARCH_ENGINES if e[0] == ref.name)
        out["referrerSearchEngineUrl"] = engine[1]
        out["referrerSearchEngineIcon"] = f"{_ICONS}searchEngines/{engine[2]}.png"
    elif ref.type == "social":
        host = dict(c.SOCIALS)[ref.name]
        out["referrerSocialNetworkUrl"] = host
        out["referrerSocialNetworkIcon"] = f"{_ICONS}socials/{host}.png"
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
            "countryFlag": f"{_ICONS}flags/{country_code}.png",
            "region": None,
            "regionCode": None,
            "city": None,
            "location": country,
            "latitude": None,
            "longitude": None,
            "visitLocalTime": _clock(first_utc),
            "visitLocalHour": str(first_utc.hour),
            "daysSinceLastVisit": days_last,
            "secondsSinceLastVisit": since_last,
            "resolution": details.resolution,
            "plugins": "cookie, pdf" if desktop else "",
            "pluginsIcons": (
                [
                    {"pluginIcon": f"{_ICONS}plugins/cookie.png", "pluginName": "cookie"},
                    {"pluginIcon": f"{_ICONS}plugins/pdf.png", "pluginName": "pdf"},
                ]
                if desktop
                else None
            ),
        }
    )
    if site.custom_dimensions:
        out["dimension1"] = "returning" if visit.returning else "new"
    return out


def _actions(visit: Visit, site: c.SiteInfo, details: _Details) -> list[dict[str, Any]]:
    out = []
    acts = visit.actions
    current_url: str | None = None
    current_pid = 0
    pageview = ""
    # one UTC offset per visit unless it spans a DST change
    offset: int | None = utc_offset(visit.first_ts, site.timezone)
    if utc_offset(visit.last_ts, site.timezone) != offset:
        offset = None
    for i, a in enumerate(acts):
        shifted = a.ts + (utc_offset(a.ts, site.timezone) if offset is None else offset)
        stamp = _pretty_stamp(_utc(shifted))
        # a goal reached on a page view carries that page view's id
        goal_pageview = pageview if a.kind == GOAL and i and acts[i - 1].kind == PAGE else None
        if a.kind in (PAGE, SEARCH):
            pageview = details.pageview_id()
        if a.kind == PAGE:
            current_url = page_url(site, a.ref, a.query)
            current_pid = a.ref + 1
            page_row = _page(a, acts[i + 1 :], site, current_url, stamp, shifted, pageview)
            page_row["pageId"] = visit.id_visit * 64 + i
            out.append(page_row)
        elif a.kind in (DOWNLOAD, OUTLINK):
            url = (site.downloads if a.kind == DOWNLOAD else site.outlinks)[a.ref]
            icon = "download" if a.kind == DOWNLOAD else "link"
            row: dict[str, Any] = {
                "type": "download" if a.kind == DOWNLOAD else "outlink",
                "url": url,
                "pageTitle": None,
                "pageIdAction": 1000 + a.ref + (100 if a.kind == OUTLINK else 0),
                "idpageview": "",
                "serverTimePretty": stamp,
                "pageId": visit.id_visit * 64 + i,
                "pageviewPosition": a.position,
                "icon": f"{_MORPHEUS}{icon}.png",
                "iconSVG": f"{_MORPHEUS}{icon}.svg",
                "title": "Download" if a.kind == DOWNLOAD else "Outlink",
                "subtitle": url,
                "timestamp": shifted,
            }
            _dim(row, site, None)
            out.append(row)
        elif a.kind == EVENT:
            category, action, name, value = c.EVENTS[a.ref]
            row = {
                "type": "event",
                "url": current_url,
                "pageIdAction": current_pid,
                "idpageview": "",
                "serverTimePretty": stamp,
                "pageId": visit.id_visit * 64 + i,
                "eventCategory": category,
                "eventAction": action,
                "pageviewPosition": a.position,
                "timestamp": shifted,
                "icon": f"{_MORPHEUS}event.png",
                "iconSVG": f"{_MORPHEUS}event.svg",
                "title": "Event",
                "subtitle": f'Category: "{category}\', Action: "{action}"',
                "eventName": name,
            }
            if value is not None:
                row["eventValue"] = money(value)
            _dim(row, site, None)
            out.append(row)
        elif a.kind == SEARCH:
            keyword, category = c.SITE_SEARCH_KEYWORDS[a.ref]
            row = {
                "type": "search",
                "url": None,
                "pageIdAction": None,
                "idpageview": pageview,
                "serverTimePretty": stamp,
                "pageId": visit.id_visit * 64 + i,
                "siteSearchKeyword": keyword,
                "siteSearchCategory": category,
                "siteSearchCount": a.ref % 3 * 4,
                "pageviewPosition": a.position,
                "icon": f"{_MORPHEUS}search.png",
                "iconSVG": f"{_MORPHEUS}search.svg",
                "title": "Site Search",
                "subtitle": keyword,
                "timestamp": shifted,
            }
            _dim(row, site, None)
            out.append(row)
        elif a.kind == GOAL:
            goal_name, revenue = next((g[1], g[2]) for g in site.goals if g[0] == a.ref)
            row = {
                "type": "goal",
                "goalName": goal_name,
                "goalId": a.ref,
                "idpageview": goal_pageview or None,
                "revenue": money(revenue),
                "goalPageId": visit.id_visit * 64 + i - 1,
                "serverTimePretty": stamp,
                "url": current_url,
                **_ref_fields(visit),
                "icon": f"{_MORPHEUS}goal.png",
                "iconSVG": f"{_MORPHEUS}goal.svg",
                "title": "Goal conversion",
                "subtitle": goal_name,
                "timestamp": shifted,
            }
            _dim(row, site, None)
            out.append(row)
        elif a.order is not None:
            out.append(_ecommerce(a, a.order, visit, site, stamp, shifted))
    return out


def _page(
    a: Action,
    rest: tuple[Action, ...],
    site: c.SiteInfo,
    url: str,
    stamp: str,
    shifted: int,
    pageview: str,
) -> dict[str, Any]:
    page = site.pages[a.ref]
    nxt = next((b for b in rest if b.ts > a.ts), None)
    spent = nxt.ts - a.ts if nxt is not None else 0
    row: dict[str, Any] = {
        "type": "action",
        "url": url,
        "pageTitle": page.title,
        "pageIdAction": a.ref + 1 + (500 if a.query else 0),
        "idpageview": pageview,
        "serverTimePretty": stamp,
        "pageId": 0,
    }
    product = next((p for p in c.PRODUCTS if p.sku == page.product), None)
    if product is not None:
        row["productViewPrice"] = money(product.price)
        row["productViewName"] = product.name
        row["productViewSku"] = product.sku
    if a.perf is not None:
        total = sum(a.perf)
        row["pageLoadTime"] = f"{total / 1000:.2f}s"
    row["timeSpent"] = spent
    row["timeSpentPretty"] = pretty_duration(spent)
    if a.perf is not None:
        row["pageLoadTimeMilliseconds"] = sum(a.perf)
    row.update(
        {
            "pageviewPosition": a.position,
            "title": page.title,
            "subtitle": url,
            "icon": "",
            "iconSVG": f"{_MORPHEUS}action.svg",
            "timestamp": shifted,
        }
    )
    if product is not None:
        row["productViewCategories"] = list(product.categories)
    _dim(row, site, page.kind)
    return row


def _dim(row: dict[str, Any], site: c.SiteInfo, value: str | None) -> None:
    if site.custom_dimensions:
        row["dimension2"] = value


def _ref_fields(visit: Visit) -> dict[str, Any]:
    ref = visit.referrer
    if ref.type == "direct":
        return {"referrerType": "direct", "referrerName": None, "referrerKeyword": None}
    return {"referrerType": ref.type, "referrerName": ref.name, "referrerKeyword": ref.keyword}


def _ecommerce(
    a: Action, order: Order, visit: Visit, site: c.SiteInfo, stamp: str, shifted: int
) -> dict[str, Any]:
    details: list[dict[str, Any]] = []
    for index, qty in order.items:
        p = c.PRODUCTS[index]
        details.append(
            {
                "itemSKU": p.sku,
                "itemName": p.name,
                "itemCategory": p.categories[0],
                "price": money(p.price),
                "quantity": qty,
                "categories": list(p.categories),
            }
        )
    names = ", ".join(d["itemName"] for d in details)
    revenue = money(order.revenue)
    subtitle = f"{site.currency_symbol}{revenue} revenue - {order.quantity} items: {names})"
    row: dict[str, Any] = {
        "type": "ecommerceOrder" if a.kind == ORDER else "ecommerceAbandonedCart"
    }
    if a.kind == ORDER:
        row.update(
            {
                "orderId": order.order_id,
                "revenue": revenue,
                "revenueSubTotal": money(order.subtotal),
                "revenueTax": money(order.tax),
                "revenueShipping": money(order.shipping),
                "revenueDiscount": money(order.discount),
            }
        )
    else:
        row["revenue"] = revenue
    name = "ecommerceOrder" if a.kind == ORDER else "ecommerceAbandonedCart"
    row.update(
        {
            "items": order.quantity,
            "serverTimePretty": stamp,
            "idpageview": None,
            **_ref_fields(visit),
            "itemDetails": details,
            "icon": f"{_MORPHEUS}{name}.png",
            "iconSVG": f"{_MORPHEUS}{name}.svg",
            "title": f"Ordered ({order.order_id})" if a.kind == ORDER else "Abandoned Cart",
            "subtitle": subtitle,
            "timestamp": shifted,
        }
    )
    _dim(row, site, None)
    return row
