"""The `actionDetails` of a Live visit: one dict per page view, download, event, goal, order.

Keys, their order and value kinds follow the recorded Matomo 5.11.2 rows. An action's
`timestamp` and `serverTimePretty` are shifted by the site's UTC offset (a quirk kept on
purpose, visible on the Berlin site); page view ids come from the caller, drawn in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import catalog as c
from .formats import MORPHEUS, money, pretty_duration, pretty_stamp, utc
from .records import (
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

__all__ = ["render_actions"]


def render_actions(
    visit: Visit, site: c.SiteInfo, pageview_id: Callable[[], str]
) -> list[dict[str, Any]]:
    """The action rows of a visit; `pageview_id()` draws the next page view id."""
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
        stamp = pretty_stamp(utc(shifted))
        # a goal reached on a page view carries that page view's id
        goal_pageview = pageview if a.kind == GOAL and i and acts[i - 1].kind == PAGE else None
        if a.kind in (PAGE, SEARCH):
            pageview = pageview_id()
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
                "icon": f"{MORPHEUS}{icon}.png",
                "iconSVG": f"{MORPHEUS}{icon}.svg",
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
                "icon": f"{MORPHEUS}event.png",
                "iconSVG": f"{MORPHEUS}event.svg",
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
                "siteSearchCount": c.site_search_results(a.ref),
                "pageviewPosition": a.position,
                "icon": f"{MORPHEUS}search.png",
                "iconSVG": f"{MORPHEUS}search.svg",
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
                "icon": f"{MORPHEUS}goal.png",
                "iconSVG": f"{MORPHEUS}goal.svg",
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
            "iconSVG": f"{MORPHEUS}action.svg",
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
            "icon": f"{MORPHEUS}{name}.png",
            "iconSVG": f"{MORPHEUS}{name}.svg",
            "title": f"Ordered ({order.order_id})" if a.kind == ORDER else "Abandoned Cart",
            "subtitle": subtitle,
            "timestamp": shifted,
        }
    )
    _dim(row, site, None)
    return row
