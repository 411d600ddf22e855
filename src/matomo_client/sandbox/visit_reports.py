"""Report builders over the visit dimension and item tables (`dimensions.py`), and the
entry and exit page reports (rows of the page reports).

DevicesDetection, Resolution, UserLanguage, UserCountry.getContinent, VisitTime and
VisitorInterest, UserCountry.getCity and UserId.getUsers rows are visit rows, shaped as the
recorded Matomo 5.11.2 answers (cases 125-140): goals on the reports that show them, Matomo's
zero rows for device types and hours, each bucket of VisitorInterest. Goals.getItems* (cases
112-115) join product page views with the items of orders (or abandoned carts with
`abandonedCarts=1`). Site search keywords and categories (86-88) and Goals.getDaysToConversion
(116) read their own tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote_plus

from . import catalog as c
from .aggregates import Acc, Facts, merge_acc
from .dimensions import (
    CONVERSION_DAY_BUCKETS,
    DAYS_TO_CONVERSION,
    DURATION_BUCKETS,
    PAGES_BUCKETS,
    USER_LAST,
)
from .formats import money
from .report_rows import Builder, Row, flat_keyed, visit_row
from .reports import page_titles, page_urls

__all__ = [
    "DIMENSION_BUILDERS",
    "ITEM_METHODS",
    "NATURAL_ORDER",
    "PAGE_BUILDERS",
    "days_to_conversion_builder",
    "items_builder",
]

_ICONS = "plugins/Morpheus/icons/dist/"
# every device type Matomo's DeviceDetector knows: those without visits are zero rows
_DEVICE_TYPES = (
    "Desktop",
    "Smartphone",
    "Tablet",
    "Camera",
    "Car browser",
    "Console",
    "Feature phone",
    "Peripheral",
    "Phablet",
    "Portable media player",
    "Smart display",
    "Smart speaker",
    "Tv",
    "Wearable",
)
_LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "it": "Italian",
    "fr": "French",
    "pl": "Polish",
    "nl": "Dutch",
    "pt": "Portuguese",
    "ja": "Japanese",
}
_REGION_NAMES = {code.upper(): name for _, _, name, code in c.COUNTRIES}
# the labels Matomo archives for the ranges (LogAggregator::getSelectsFromRangedColumn: `low-high`,
# the open range `low+1` and a urlencoded "+"); queued filters beautify them after flattening
_DURATION_RANGES = (
    *("0-10", "11-30", "31-60", "60-120", "120-240"),
    *("240-420", "420-600", "600-900", "900-1800", "1801%2B"),
)
_PAGES_RANGES = (*(f"{n}-{n}" for n in range(1, 6)), "6-7", "8-10", "11-14", "15-20", "21%2B")
_CONVERSION_DAY_RANGES = (
    *(f"{n}-{n}" for n in range(8)),
    *("8-14", "15-30", "31-60", "61-120", "121-364", "365%2B"),
)
_GOAL_KEYS = ("goals", "nb_conversions", "revenue")


def _row(label: str, acc: Acc, is_day: bool, meta: dict[str, Any], goals: bool) -> Row:
    row = visit_row(label, acc, is_day, meta)
    if not goals:
        for key in _GOAL_KEYS:
            row.pop(key, None)
    return row


def _grouped(f: Facts, table: str, key: Any) -> dict[Any, Acc]:
    out: dict[Any, Acc] = {}
    for k, acc in f.tables.get(table, {}).items():
        merge_acc(out.setdefault(key(k), {}), acc)
    return out


def device_types(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """DevicesDetection.getType: every device type, zero rows for those without visits."""
    rows = []
    table = f.tables.get("device_type", {})
    for name in _DEVICE_TYPES:
        code = name.lower()
        meta = {
            "segment": f"deviceType=={quote_plus(code)}",
            "logo": f"{_ICONS}devices/{code.replace(' ', '_')}.png",
        }
        acc = table.get(name)
        rows.append(
            _row(name, acc, is_day, meta, True) if acc else {"label": name, "nb_visits": 0, **meta}
        )
    return rows


def device_brands(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """DevicesDetection.getBrand."""
    return [
        _row(
            brand,
            acc,
            is_day,
            {
                "logo": f"{_ICONS}brand/{'unk' if brand == 'Unknown' else brand}.png",
                "segment": f"deviceBrand=={quote_plus(brand)}",
            },
            True,
        )
        for brand, acc in f.tables.get("device_brand", {}).items()
    ]


def os_families(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """DevicesDetection.getOsFamilies (rows without a segment, as recorded)."""
    return [
        _row(name, acc, is_day, {"logo": f"{_ICONS}os/{code}.png"}, False)
        for (name, code), acc in f.tables.get("os_family", {}).items()
    ]


def os_versions(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """DevicesDetection.getOsVersions."""
    return [
        _row(
            f"{name} {version}".strip(),
            acc,
            is_day,
            {
                "segment": f"operatingSystemCode=={code};operatingSystemVersion=={version}",
                "logo": f"{_ICONS}os/{code}.png",
            },
            False,
        )
        for (name, code, version), acc in f.tables.get("os_version", {}).items()
    ]


def browser_versions(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """DevicesDetection.getBrowserVersions."""
    return [
        _row(
            f"{c.BROWSERS[code][0]} {version}",
            acc,
            is_day,
            {
                "segment": f"browserCode=={code};browserVersion=={version}",
                "logo": f"{_ICONS}browsers/{code}.png",
            },
            False,
        )
        for (code, version), acc in f.tables.get("browser_version", {}).items()
    ]


def resolutions(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """Resolution.getResolution."""
    return [
        _row(size, acc, is_day, {"segment": f"resolution=={size}"}, False)
        for size, acc in f.tables.get("resolution", {}).items()
    ]


def _language_name(code: str) -> str:
    language, _, region = code.partition("-")
    name = _LANGUAGE_NAMES.get(language, language)
    if region:
        return f"{name} - {_REGION_NAMES.get(region.upper(), region.upper())} ({code})"
    return f"{name} ({code})"


def language_codes(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """UserLanguage.getLanguageCode: 'English - United States (en-us)'."""
    return [
        _row(_language_name(code), acc, is_day, {"segment": f"languageCode=={code}"}, False)
        for code, acc in f.tables.get("language_code", {}).items()
    ]


def languages(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """UserLanguage.getLanguage: languages without their region."""
    return [
        _row(
            _LANGUAGE_NAMES.get(code, code),
            acc,
            is_day,
            {"segment": f"languageCode=={code},languageCode=@{code}-"},
            False,
        )
        for code, acc in f.tables.get("language", {}).items()
    ]


def continents(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """UserCountry.getContinent (recorded 125: `code` repeats the name, no segment)."""
    return [
        _row(name, acc, is_day, {"code": name}, True)
        for (name, _), acc in f.tables.get("continent", {}).items()
    ]


def server_time(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """VisitTime.getVisitInformationPerServerTime: the site's hours 00-23 of visit starts,
    segments on the UTC hour; hours without visits are zero rows."""
    by_hour = _grouped(f, "server_hour", lambda k: k[0])
    shifts = _grouped(f, "server_hour", lambda k: (k[0] - k[1]) % 24)
    # the site's offset from UTC in hours for most visits (a period across DST has two)
    shift = max(shifts, key=lambda k: shifts[k]["nb_visits"], default=0)
    return _hours(by_hour, lambda hour: f"visitStartServerHour=={(hour - shift) % 24}", is_day)


def local_time(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """VisitTime.getVisitInformationPerLocalTime: the visitors' hours 00-23."""
    return _hours(f.tables.get("local_hour", {}), lambda hour: f"visitLocalHour=={hour}", is_day)


def _hours(accs: Mapping[int, Any], segment: Callable[[int], str], is_day: bool) -> list[Row]:
    """Rows of the hours 00-23 with `segment(hour)`; an hour without visits is a zero row."""
    rows = []
    for hour in range(24):
        meta = {"segment": segment(hour)}
        acc = accs.get(hour)
        label = f"{hour:02d}"
        rows.append(_row(label, acc, is_day, meta, True) if acc else _zero(label, meta))
    return rows


def _zero(label: str, meta: dict[str, Any]) -> Row:
    return {"label": label, "nb_visits": 0, **meta}


def _buckets(table: str, buckets: tuple[tuple[float, str, str], ...]) -> Builder:
    def build(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
        counts = f.tables.get(table, {})
        return [
            {"label": label, "nb_visits": counts.get(i, {}).get("nb_visits", 0), "segment": seg}
            for i, (_, label, seg) in enumerate(buckets)
        ]

    return build


def cities(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """UserCountry.getCity: without a GeoIP database, one "Unknown" row (recorded 126)."""
    meta = {
        "city_name": "Unknown",
        "city": "xx",
        "region": "xx",
        "country": "xx",
        "country_name": "Unknown",
        "region_name": "Unknown",
        "logo": f"{_ICONS}flags/xx.png",
    }
    return [_row("Unknown", acc, is_day, meta, True) for acc in f.tables.get("city", {}).values()]


def users(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """UserId.getUsers: visits per user id, with the visitor id of the user's latest visit."""
    latest = f.tables.get(USER_LAST, {})
    return [
        _row(
            user,
            acc,
            is_day,
            {
                "idvisitor": latest[user]["last_visit"][2],
                "segment": f"userId=={quote_plus(user)}",
            },
            False,
        )
        for user, acc in f.tables.get("user", {}).items()
        # A visit of the day before that converts after midnight gives its user a row of
        # conversions only, and no latest visit of this period: Matomo lists users by visits.
        if user is not None and user in latest
    ]


def _search_keywords(no_result: bool) -> Builder:
    """Actions.getSiteSearchKeywords (or its keywords without results). Matomo deletes the
    unique visitor and entry columns of these rows. The sandbox credits a visit's exit to its
    last page view, as its page reports do, so keyword rows carry no exits."""

    def build(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
        rows = []
        for ref, acc in f.tables.get("search_keyword", {}).items():
            if no_result and c.site_search_results(ref):
                continue
            keyword = c.SITE_SEARCH_KEYWORDS[ref][0]
            hits, visits = acc["nb_hits"], acc["nb_visits"]
            rows.append(
                {
                    "label": keyword,
                    "nb_visits": visits,
                    "nb_hits": hits,
                    "sum_time_spent": acc["sum_time_spent"],
                    "nb_pages_per_search": _one_decimal(hits / visits) if visits else 0,
                    "avg_time_on_page": round(acc["sum_time_spent"] / hits) if hits else 0,
                    "bounce_rate": "0%",  # a search never opens a visit
                    "exit_rate": "0%",
                    "segment": f"siteSearchKeyword=={quote_plus(keyword)}",
                }
            )
        return rows

    return build


def search_categories(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """Actions.getSiteSearchCategories: searches with a category (recorded 088)."""
    rows = []
    for name, acc in f.tables.get("search_category", {}).items():
        hits, visits = acc["nb_hits"], acc["nb_visits"]
        row: Row = {"label": name, "nb_visits": visits, "nb_actions": hits}
        row["nb_uniq_visitors" if is_day else "sum_daily_nb_uniq_visitors"] = acc[
            "nb_uniq_visitors"
        ]
        row["nb_pages_per_search"] = _one_decimal(hits / visits) if visits else 0
        row["segment"] = f"siteSearchCategory=={quote_plus(name)}"
        rows.append(row)
    return rows


def days_to_conversion_builder(params: Mapping[str, str]) -> Builder:
    """Goals.getDaysToConversion: conversions of `idGoal` (default: every goal but the
    ecommerce ones, recorded 116) per range of days since the visitor's first visit."""
    id_goal = (params.get("idGoal") or "").strip()

    def wanted(name: str) -> bool:
        if id_goal:
            return name == f"idgoal={id_goal}"
        return "ecommerce" not in name

    def build(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
        if not f.nb_visits:  # Matomo archives nothing for a period without visits
            return []
        counts = [0] * len(CONVERSION_DAY_BUCKETS)
        for (name, bucket), acc in f.tables.get(DAYS_TO_CONVERSION, {}).items():
            if wanted(name):
                counts[bucket] += acc["nb_conversions"]
        return [
            {"label": label, "nb_conversions": n}
            for (_, label), n in zip(CONVERSION_DAY_BUCKETS, counts, strict=True)
        ]

    shown = (label for _, label in CONVERSION_DAY_BUCKETS)
    return flat_keyed(
        build, "Goals_DaysToConversion", value=_archived(shown, _CONVERSION_DAY_RANGES)
    )


# -- entry and exit pages --------------------------------------------------------------


def _entry_exit(base: Builder, kind: str, flat_key: str) -> Builder:
    """Entry (`kind='entry'`) or exit page rows: the rows of the page report `base` that
    have such visits, their flat label column and segment renamed (`entryPageUrl==`)."""
    count = f"{kind}_nb_visits"

    def keep(rows: list[Row]) -> list[Row]:
        out = []
        for row in rows:
            if not row.get(count):
                continue
            row = dict(row)
            if row.get("_sub"):
                row["_sub"] = keep(row["_sub"])
            for old in ("Actions_PageUrl", "Actions_PageTitle"):
                if old in row:
                    row[flat_key] = row.pop(old)
            segment = row.get("segment")
            if segment:
                row["segment"] = kind + segment[0].upper() + segment[1:]
            out.append(row)
        return out

    def build(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
        return keep(base(f, site, is_day, flat))

    return build


# -- ecommerce items ---------------------------------------------------------------------


def items_builder(method: str, params: Mapping[str, str]) -> Builder:
    """Goals.getItemsSku/Name/Category; `abandonedCarts=1` reads the abandoned carts' items."""
    carts = (params.get("abandonedCarts") or "").strip() in ("1", "true")
    action = method.partition(".")[2]

    def build(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
        if action == "getItemsCategory":
            named = [(name, name, acc) for name, acc in f.tables.get("item_category", {}).items()]
        else:
            named = []
            for index, acc in f.tables.get("item", {}).items():
                product = c.PRODUCTS[index]
                label = product.sku if action == "getItemsSku" else product.name
                named.append((label, label, acc))
        column = {"getItemsSku": "productSku", "getItemsName": "productName"}.get(
            action, "productCategory"
        )
        rows = []
        for label, value, acc in named:
            revenue = acc["cart_revenue" if carts else "revenue"]
            quantity = acc["cart_quantity" if carts else "quantity"]
            orders = acc["abandoned_carts" if carts else "orders"]
            if not acc["nb_visits"] and not orders:
                continue
            row: Row = {"label": label, "nb_visits": acc["nb_visits"]}
            row["nb_actions"] = acc["nb_actions"]
            uniq = "nb_uniq_visitors" if is_day else "sum_daily_nb_uniq_visitors"
            row[uniq] = acc["nb_uniq_visitors"]
            row["revenue"] = money(revenue)
            row["quantity"] = quantity
            row["abandoned_carts" if carts else "orders"] = orders
            row["avg_price"] = money(revenue / quantity) if quantity else 0
            row["avg_quantity"] = _one_decimal(quantity / orders) if orders else 0
            row["conversion_rate"] = _rate(orders, acc["nb_visits"])
            row["segment"] = f"{column}=={quote_plus(value)}"
            rows.append(row)
        return rows

    # flat: after the segment (AddSegmentByLabel), the label once "Value not defined" is renamed
    dimension = {"getItemsSku": "ProductSku", "getItemsName": "ProductName"}.get(
        action, "ProductCategory"
    )
    return flat_keyed(build, f"Ecommerce_{dimension}")


def _one_decimal(value: float) -> int | float:
    value = round(value, 1)
    return int(value) if value == int(value) else value


def _rate(part: float, whole: float) -> str:
    if not whole:
        return "0%"
    text = f"{round(part / whole * 100, 2):.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


# -- flat rows ---------------------------------------------------------------------------
# `flat=1` gives each row Matomo's Flattener metadata `<Plugin>_<Dimension>` (the report's
# dimension id): the label trimmed as it is when the table is flattened, i.e. after the report's
# own filters and before its queued ones. It follows the metadata those filters set and
# precedes what comes later: the `segment` made from a segmentValue, a queued `code`.


def _hour(label: str) -> str:
    """The archived hour of an hour row ("7" for "07"): getTimeLabel is a queued filter."""
    return str(int(label))


def _archived(shown: Iterable[str], ranges: tuple[str, ...]) -> Callable[[str], str]:
    """The archived range label of a shown one (BeautifyRangeLabels is a queued filter)."""
    return dict(zip(shown, ranges, strict=True)).__getitem__


PAGE_BUILDERS: dict[str, Builder] = {
    "Actions.getEntryPageUrls": _entry_exit(page_urls, "entry", "Actions_EntryPageUrl"),
    "Actions.getExitPageUrls": _entry_exit(page_urls, "exit", "Actions_ExitPageUrl"),
    "Actions.getEntryPageTitles": _entry_exit(page_titles, "entry", "Actions_EntryPageTitle"),
    "Actions.getExitPageTitles": _entry_exit(page_titles, "exit", "Actions_ExitPageTitle"),
}
#: the Goals.getItems* methods (their builder depends on `abandonedCarts`: `items_builder`)
ITEM_METHODS = frozenset({"Goals.getItemsSku", "Goals.getItemsName", "Goals.getItemsCategory"})
#: builders over the dimension and item tables (`aggregates.dimension_facts`)
DIMENSION_BUILDERS: dict[str, Builder] = {
    "DevicesDetection.getType": flat_keyed(device_types, "DevicesDetection_DeviceType"),
    "DevicesDetection.getBrand": flat_keyed(device_brands, "DevicesDetection_DeviceBrand"),
    "DevicesDetection.getOsFamilies": flat_keyed(os_families, "DevicesDetection_Os"),
    "DevicesDetection.getOsVersions": flat_keyed(os_versions, "DevicesDetection_OsVersion"),
    "DevicesDetection.getBrowserVersions": flat_keyed(
        browser_versions, "DevicesDetection_BrowserVersion"
    ),
    "Resolution.getResolution": flat_keyed(resolutions, "Resolution_Resolution", "segment"),
    "UserLanguage.getLanguage": flat_keyed(languages, "UserLanguage_Language"),
    "UserLanguage.getLanguageCode": flat_keyed(language_codes, "UserLanguage_Language", "segment"),
    "UserCountry.getContinent": flat_keyed(continents, "UserCountry_Continent", "code"),
    "VisitTime.getVisitInformationPerServerTime": flat_keyed(
        server_time, "CoreHome_VisitFirstActionTime", "segment", _hour
    ),
    "VisitTime.getVisitInformationPerLocalTime": flat_keyed(
        local_time, "VisitTime_LocalTime", "segment", _hour
    ),
    "VisitorInterest.getNumberOfVisitsPerVisitDuration": flat_keyed(
        _buckets("visit_duration", DURATION_BUCKETS),
        "VisitorInterest_VisitDuration",
        "segment",
        _archived((label for _, label, _ in DURATION_BUCKETS), _DURATION_RANGES),
    ),
    "VisitorInterest.getNumberOfVisitsPerPage": flat_keyed(
        _buckets("visit_pages", PAGES_BUCKETS),
        "VisitorInterest_PagesPerVisit",
        "segment",
        _archived((label for _, label, _ in PAGES_BUCKETS), _PAGES_RANGES),
    ),
    "UserCountry.getCity": flat_keyed(cities, "UserCountry_City"),
    "UserId.getUsers": users,  # GetUsers::supportsFlatten is false: no key
    "Actions.getSiteSearchKeywords": flat_keyed(_search_keywords(False), "Actions_Keyword"),
    "Actions.getSiteSearchNoResultKeywords": flat_keyed(
        _search_keywords(True), "Actions_KeywordwithNoSearchResult"
    ),
    "Actions.getSiteSearchCategories": flat_keyed(
        search_categories, "Actions_SearchCategory", "segment"
    ),
}
#: reports Matomo answers in their own order (hours, ranges), not by visits
NATURAL_ORDER = frozenset(
    {
        "VisitTime.getVisitInformationPerServerTime",
        "VisitTime.getVisitInformationPerLocalTime",
        "VisitorInterest.getNumberOfVisitsPerVisitDuration",
        "VisitorInterest.getNumberOfVisitsPerPage",
        "Goals.getDaysToConversion",
    }
)
