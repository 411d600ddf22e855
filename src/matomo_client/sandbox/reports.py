"""Report builders: group merged `Facts` into the rows Matomo's report methods return.

Each builder gets the facts of one period of one site and returns either an object
(VisitsSummary.get, Goals.get, Actions.get) or a list of rows (with `_sub` children and
`idsubdatatable` for hierarchical reports). Actions, country and browser builders live
here, Referrers.* in `referrer_reports.py`, Events.* in `event_reports.py`, shared row
helpers in `report_rows.py`. Row keys and value kinds follow the recorded 5.11.2 answers:
day periods carry `nb_uniq_visitors` (and some counters as strings for Actions), longer
periods `sum_daily_*`; rates are `"46%"` strings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus, unquote

from . import catalog as c
from .aggregates import Acc, Facts, merge_acc
from .datatable import percent
from .event_reports import EVENT_BUILDERS
from .formats import money
from .records import page_url
from .referrer_reports import REFERRER_BUILDERS
from .report_rows import (
    Builder,
    Row,
    flat_keyed,
    goals_block,
    numbered,
    segment_value,
    uniq_keys,
    visit_row,
)

__all__ = [
    "BUILDERS",
    "actions_object",
    "drop_untimed",
    "goals_object",
    "summary_object",
]

_CART = "idgoal=ecommerceAbandonedCart"
_PERF = ("network", "server", "transfer", "dom_processing", "dom_completion", "on_load")


def _rate(part: float, whole: float) -> str:
    if not whole:
        return "0%"
    text = f"{round(part / whole * 100, 2):.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def summary_object(f: Facts, kind: str, format_metrics: str = "bc") -> dict[str, Any]:
    """VisitsSummary.get for one period (zeros when there are no visits)."""
    out: dict[str, Any] = {}
    if kind in ("day", "week", "month"):
        out["nb_uniq_visitors"] = len(f.visitors)
        out["nb_users"] = len(f.users)
    visits = f.nb_visits
    out.update(
        nb_visits=visits,
        nb_actions=f.nb_actions,
        nb_visits_converted=f.nb_visits_converted,
        bounce_count=f.bounce_count,
        sum_visit_length=f.sum_visit_length,
        max_actions=f.max_actions,
    )
    if format_metrics == "0":
        out["bounce_rate"] = round(f.bounce_count / visits, 2) if visits else 0
    else:
        out["bounce_rate"] = percent(f.bounce_count, visits)
    per_visit = round(f.nb_actions / visits, 1) if visits else 0
    out["nb_actions_per_visit"] = int(per_visit) if per_visit == int(per_visit) else per_visit
    avg = round(f.sum_visit_length / visits) if visits else 0
    if format_metrics in ("1", "all"):
        from .formats import pretty_duration

        out["avg_time_on_site"] = pretty_duration(avg)
    else:
        out["avg_time_on_site"] = avg
    return out


def actions_object(f: Facts, kind: str) -> dict[str, Any]:
    """Actions.get: totals of the action kinds."""
    del kind
    pages = f.tables.get("page", {})
    downloads = f.tables.get("download", {})
    outlinks = f.tables.get("outlink", {})
    return {
        "nb_pageviews": f.nb_pageviews,
        "nb_uniq_pageviews": sum(a.get("nb_visits", 0) for a in pages.values()),
        "nb_downloads": f.nb_downloads,
        "nb_uniq_downloads": sum(a.get("nb_visits", 0) for a in downloads.values()),
        "nb_outlinks": f.nb_outlinks,
        "nb_uniq_outlinks": sum(a.get("nb_visits", 0) for a in outlinks.values()),
        "nb_searches": f.nb_searches,
        "nb_keywords": f.nb_keywords,
        # Matomo counts the day's action rows (`server_time`), not the visits' actions
        "hits": f.nb_pageviews + f.nb_downloads + f.nb_outlinks + f.nb_searches + f.nb_events,
    }


# Goals.get's extra columns for the ecommerce goals (Goals::getGoalColumns in Matomo 5)
_ECOMMERCE_COLUMNS = {
    "ecommerceOrder": (
        "revenue_subtotal",
        "revenue_tax",
        "revenue_shipping",
        "revenue_discount",
        "items",
        "avg_order_revenue",
    ),
    "ecommerceAbandonedCart": ("items", "avg_order_revenue"),
}


def goals_object(f: Facts, kind: str, id_goal: str | None = None) -> dict[str, Any]:
    """Goals.get: conversions overall, for new and for returning visits.

    Overall figures leave abandoned carts out and count converted visits once, however
    many goals they converted (Matomo takes VisitsSummary's nb_visits_converted);
    `idGoal=ecommerceOrder` and `ecommerceAbandonedCart` add their order parts, items and
    average order revenue.
    """
    del kind
    if id_goal:
        names = [k for k in f.goals if k == f"idgoal={id_goal}"]
    else:
        names = [k for k in f.goals if k.startswith("idgoal=") and k != _CART]
    extra = _ECOMMERCE_COLUMNS.get(id_goal or "", ())
    total: Acc = {}
    for name in names:
        merge_acc(total, f.goals[name])
    out: dict[str, Any] = {}
    for suffix in ("", "_new_visit", "_returning_visit"):
        visits = f.goals.get("nb_visits" + suffix, 0)
        converted = (total if id_goal else f.goals).get("nb_visits_converted" + suffix, 0)
        conversions = total.get("nb_conversions" + suffix, 0)
        revenue = total.get("revenue" + suffix, 0)
        out["nb_conversions" + suffix] = conversions
        out["nb_visits_converted" + suffix] = converted
        out["revenue" + suffix] = money(revenue)
        for key in extra:
            if key == "avg_order_revenue":
                out[key + suffix] = money(revenue / conversions) if conversions else 0
            elif key == "items":
                out[key + suffix] = total.get(key + suffix, 0)
            else:
                out[key + suffix] = money(total.get(key + suffix, 0))
        out["conversion_rate" + suffix] = _rate(converted, visits)
    return out


# -- Actions ---------------------------------------------------------------------------


def _page_metrics(label: str, acc: Acc, is_day: bool, leaf: bool) -> Row:
    row: Row = {"label": label, "nb_visits": acc.get("nb_visits", 0)}
    as_text: Callable[[Any], Any] = (lambda v: str(v)) if is_day else (lambda v: v)
    if is_day and leaf and "nb_uniq_visitors" in acc:
        row["nb_uniq_visitors"] = acc["nb_uniq_visitors"]
    row["nb_hits"] = acc.get("nb_hits", 0)
    row["sum_time_spent"] = acc.get("sum_time_spent", 0)
    # every page row has the timing columns (0 and null when untimed); `drop_untimed` then
    # removes those no row of the answered table has, as PagePerformance does
    for name in _PERF:
        n = acc.get(f"nb_hits_with_time_{name}", 0)
        row[f"nb_hits_with_time_{name}"] = as_text(n)
        row[f"min_time_{name}"] = f"{acc[f'min_time_{name}']:.4f}" if n else None
        row[f"max_time_{name}"] = f"{acc[f'max_time_{name}']:.4f}" if n else None
    if acc.get("entry_nb_visits"):
        if is_day and leaf:
            row["entry_nb_uniq_visitors"] = acc.get("entry_nb_uniq_visitors", 0)
        for key in (
            "entry_nb_visits",
            "entry_nb_actions",
            "entry_sum_visit_length",
            "entry_bounce_count",
        ):
            row[key] = as_text(acc.get(key, 0))
    if acc.get("exit_nb_visits"):
        if is_day and leaf:
            row["exit_nb_uniq_visitors"] = acc.get("exit_nb_uniq_visitors", 0)
        row["exit_nb_visits"] = as_text(acc["exit_nb_visits"])
    if acc.get("goals"):
        goals = goals_block(acc)
        for name, metrics in goals.items():
            rate = round(metrics["nb_conversions"] / max(1, row["nb_visits"]), 3)
            goals[name] = _with_page_rate(metrics, rate)
        row["goals"] = goals
    if leaf and not is_day:
        uniq_keys(
            row, acc, False, ("nb_uniq_visitors", "entry_nb_uniq_visitors", "exit_nb_uniq_visitors")
        )
    if acc.get("nb_hits_following_search") and not is_day:
        row["nb_hits_following_search"] = acc["nb_hits_following_search"]
    total = 0.0
    for name in _PERF:
        n = acc.get(f"nb_hits_with_time_{name}", 0)
        avg = round(acc.get(f"sum_time_{name}", 0) / n, 3) if n else 0
        total += avg
        row[f"avg_time_{name}"] = avg
    row["avg_page_load_time"] = round(total, 3)
    row["avg_time_on_page"] = round(row["sum_time_spent"] / row["nb_hits"]) if row["nb_hits"] else 0
    row["bounce_rate"] = percent(acc.get("entry_bounce_count", 0), acc.get("entry_nb_visits", 0))
    row["exit_rate"] = percent(acc.get("exit_nb_visits", 0), row["nb_visits"])
    return row


def drop_untimed(rows: list[Row]) -> list[Row]:
    """An answered page table without the timings none of its rows has, as Matomo's
    PagePerformance drops them per table (`subtable` rows included); rows have 0 and null."""
    for name in _PERF:
        count = f"nb_hits_with_time_{name}"
        if any(row.get(count) not in (None, 0, "0") for row in rows):
            continue
        _delete_keys(rows, (count, f"min_time_{name}", f"max_time_{name}", f"avg_time_{name}"))
    return rows


def _delete_keys(rows: list[Row], keys: tuple[str, ...]) -> None:
    for row in rows:
        for key in keys:
            row.pop(key, None)
        if isinstance(row.get("subtable"), list):
            _delete_keys(row["subtable"], keys)


def _with_page_rate(metrics: dict[str, Any], rate: float) -> dict[str, Any]:
    """A page goal's metrics with `nb_conversions_page_rate` after `nb_conversions_page_uniq`."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        out[key] = value
        if key == "nb_conversions_page_uniq":
            out["nb_conversions_page_rate"] = rate
    return out


def page_urls(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """Actions.getPageUrls: folders by first path segment, or flat URL rows."""
    leaves: list[tuple[str | None, str, Row]] = []
    for (index, query), acc in f.tables.get("page", {}).items():
        path = site.pages[index].path
        url = page_url(site, index, query)
        segments = path.strip("/").split("/")
        if flat:
            label = path + query
            row = _page_metrics(label, acc, is_day, True)
            row.update(url=url, Actions_PageUrl=label, segment=f"pageUrl=={segment_value(url)}")
            row["_acc"] = acc
            leaves.append((None, label, row))
        elif path == "/":
            label = "/index" if not query else "/" + query
            row = _page_metrics(label, acc, is_day, True)
            row.update(url=url, segment=f"pageUrl=={segment_value(url)}")
            leaves.append((None, label, row))
        elif len(segments) == 1:
            label = path + query
            row = _page_metrics(label, acc, is_day, True)
            row.update(url=url, segment=f"pageUrl=={segment_value(url)}")
            leaves.append((None, label, row))
        else:
            label = "/" + "/".join(segments[1:]) + query
            row = _page_metrics(label, acc, is_day, True)
            row.update(url=url, segment=f"pageUrl=={segment_value(url)}")
            row["_acc"] = acc
            leaves.append((segments[0], label, row))
    return _folders(
        leaves, f, site, is_day, "pageUrl=^", lambda folder: site.main_url + "/" + folder
    )


def _folders(
    leaves: list[tuple[str | None, str, Row]],
    f: Facts,
    site: c.SiteInfo,
    is_day: bool,
    seg_prefix: str,
    folder_url: Callable[[str], str],
) -> list[Row]:
    del f, site
    rows: list[Row] = []
    folders: dict[str, list[Row]] = {}
    accs: dict[str, Acc] = {}
    for folder, _, row in leaves:
        if folder is None:
            rows.append(row)
        else:
            folders.setdefault(folder, []).append(row)
            merge_acc(accs.setdefault(folder, {}), row["_acc"])
    for folder, children in folders.items():
        row = _page_metrics(folder, accs[folder], is_day, False)
        row["segment"] = f"{seg_prefix}{segment_value(folder_url(folder))}"
        row["_sub"] = children
        rows.append(row)
    return numbered(rows)


def page_titles(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """Actions.getPageTitles (our titles have no '/' so the tree is one level)."""
    rows = []
    for title, acc in f.tables.get("title", {}).items():
        label = title if flat else " " + title
        row = _page_metrics(label, acc, is_day, True)
        if flat:
            row["Actions_PageTitle"] = title
        row["segment"] = f"pageTitle=={quote(quote_plus(title), safe='')}"
        rows.append(row)
    return rows


def _link_report(table: str, seg_name: str, flat_key: str) -> Builder:
    def build(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
        urls = site.downloads if table == "download" else site.outlinks
        hosts: dict[str, list[Row]] = {}
        accs: dict[str, Acc] = {}
        flat_rows = []
        for index, acc in f.tables.get(table, {}).items():
            url = urls[index]
            host, _, rest = url.split("://", 1)[1].partition("/")
            raw_path = "/" + rest
            row: Row = {
                "label": "",
                "nb_visits": acc.get("nb_visits", 0),
                "nb_hits": acc.get("nb_hits", 0),
                "sum_time_spent": 0,
            }
            if acc.get("nb_hits_following_search"):
                row["nb_hits_following_search"] = acc["nb_hits_following_search"]
            uniq_keys(row, acc, is_day, ("nb_uniq_visitors",))
            row["url"] = url
            if flat:
                row["label"] = host + unquote(raw_path)
                row[flat_key] = host + raw_path
                row["segment"] = f"{seg_name}=={segment_value(url)}"
                flat_rows.append(row)
            else:
                row["label"] = unquote(raw_path)
                row["segment"] = f"{seg_name}=={segment_value(url)}"
                hosts.setdefault(host, []).append(row)
                merge_acc(accs.setdefault(host, {}), {k: acc[k] for k in ("nb_visits", "nb_hits")})
                if acc.get("nb_hits_following_search"):
                    merge_acc(
                        accs[host], {"nb_hits_following_search": acc["nb_hits_following_search"]}
                    )
        if flat:
            return flat_rows
        rows = []
        for host, children in hosts.items():
            acc = accs[host]
            row = {
                "label": host,
                "nb_visits": acc["nb_visits"],
                "nb_hits": acc["nb_hits"],
                "sum_time_spent": 0,
            }
            if acc.get("nb_hits_following_search"):
                row["nb_hits_following_search"] = acc["nb_hits_following_search"]
            row["_sub"] = children
            rows.append(row)
        return numbered(rows)

    return build


# -- other visit reports ---------------------------------------------------------------


def countries(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """UserCountry.getCountry."""
    rows = []
    for index, acc in f.tables.get("country", {}).items():
        _, _, name, code = c.COUNTRIES[index]
        meta = {
            "code": code,
            "logo": f"plugins/Morpheus/icons/dist/flags/{code}.png",
            "segment": f"countryCode=={code}",
            "logoHeight": 16,
        }
        rows.append(visit_row(name, acc, is_day, meta))
    return rows


def browsers(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """DevicesDetection.getBrowsers."""
    rows = []
    for code, acc in f.tables.get("browser", {}).items():
        meta = {
            "logo": f"plugins/Morpheus/icons/dist/browsers/{code}.png",
            "segment": f"browserCode=={code}",
        }
        rows.append(visit_row(c.BROWSERS[code][0], acc, is_day, meta))
    return rows


BUILDERS: dict[str, Builder] = {
    "Actions.getPageUrls": page_urls,
    "Actions.getPageTitles": page_titles,
    "Actions.getDownloads": _link_report("download", "downloadUrl", "Actions_DownloadUrl"),
    "Actions.getOutlinks": _link_report("outlink", "outlinkUrl", "Actions_ClickedUrl"),
    **REFERRER_BUILDERS,
    # flat: the translated name / browser name, before the segment Matomo adds from segmentValue
    "UserCountry.getCountry": flat_keyed(countries, "UserCountry_Country", "segment"),
    "DevicesDetection.getBrowsers": flat_keyed(browsers, "DevicesDetection_BrowserName", "segment"),
    **EVENT_BUILDERS,
}
