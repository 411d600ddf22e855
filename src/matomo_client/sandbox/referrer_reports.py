"""Referrers.* report builders: channel types, websites, search engines, keywords, campaigns.

The day facts keep one accumulator per (type, name, detail) referrer, where detail is the
keyword for search and campaign visits and the URL otherwise; each report groups those
keys its own way. Segments and subtable URLs are written as the recorded 5.11.2 rows show.
Every subtable row is archived bare (label and metrics; search ones without goals, no row for a
campaign visit without keyword): `expanded` subtables show them so, and each subtable method
adds its own filters' metadata (`subtable_rows`: Referrers.getKeywordsFromSearchEngineId,
getSearchEnginesFromKeywordId, getKeywordsFromCampaignId, getUrlsFromWebsiteId). A getSocials
`flat` row takes its network's url, logo and segment (Matomo's Flattener), and
Referrers.getUrlsForSocial relabels them (`urls_for_social`). A website's URLs are grouped by
path, with the URL as `url` (the UrlsFromWebsiteId filter): getWebsites `flat` rows are
`host/path`, and Referrers.getUrlsFromWebsiteId adds `referrerUrl==<URL>`. Every `flat` row ends
with the Flattener's dimension keys (`Referrers_Website`, `Referrers_WebsitePage`...:
`_with_dimensions`; getAll's rows `Referrers_Referrer`). In flat mode getSearchEngines and
getKeywords rows have no segment and their leaves the engine's url and logo (`_search_flat`);
getCampaigns' keyword rows keep their own segment, prefixed once more (with `expanded`, their
campaign's: `expanded_flat`); getReferrerType is not flattened (its subtables are dropped).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus, urlsplit

from . import catalog as c
from .aggregates import Acc, Facts
from .report_rows import Builder, Row, flatten, group, numbered, visit_row

__all__ = [
    "REFERRER_BUILDERS",
    "expanded_flat",
    "merged_subtables",
    "subtable_rows",
    "urls_for_social",
]

_REF_TYPES = {"direct": 1, "search": 2, "website": 3, "campaign": 6, "social": 7}
_REF_NAMES = {
    "direct": "Direct Entry",
    "search": "Search Engines",
    "website": "Websites",
    "campaign": "Campaigns",
    "social": "Social Networks",
}


def _referrers(f: Facts) -> dict[Any, Acc]:
    return f.tables.get("referrer", {})


def referrer_type(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """Referrers.getReferrerType with subtables per type."""
    rows = []
    by_type = group(_referrers(f), lambda k: k[0])
    for rtype, acc in by_type.items():
        meta: dict[str, Any] = {
            "segment": f"referrerType=={rtype}",
            "referrer_type": _REF_TYPES[rtype],
        }
        row = visit_row(_REF_NAMES[rtype], acc, is_day, meta)
        if rtype != "direct":
            field = 2 if rtype == "search" else 1

            def sub_key(k: Any, field: int = field) -> Any:
                return k[field]

            subs = group({k: a for k, a in _referrers(f).items() if k[0] == rtype}, sub_key)
            row["_sub"] = [
                visit_row(str(name), a, is_day, {"segment": _type_sub_segment(rtype, str(name))})
                for name, a in subs.items()
            ]
        rows.append(row)
    if flat:  # GetReferrerType does not support flattening: its subtables are removed
        return [{k: v for k, v in row.items() if k != "_sub"} for row in rows]
    for row in rows:  # a row's subtable id is its referrer type (SetGetReferrerTypeSubtables)
        if row.get("_sub"):
            row["idsubdatatable"] = row["referrer_type"]
    return rows


def referrer_all(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
    """Referrers.getAll: every non-direct referrer, search ones by keyword."""
    rows = []
    grouped = group(
        {k: a for k, a in _referrers(f).items() if k[0] != "direct"},
        lambda k: (k[0], k[2] if k[0] == "search" else k[1]),
    )
    for (rtype, label), acc in grouped.items():
        seg = f"referrerType=={rtype};" + (
            f"referrerKeyword=={_keyword(label)}"
            if rtype == "search"
            else f"referrerName=={quote_plus(label)}"
        )
        rows.append(
            visit_row(label, acc, is_day, {"segment": seg, "referer_type": _REF_TYPES[rtype]})
        )
    if flat:  # the Flattener still gives each row its label under the report's dimension id
        return [{**row, "Referrers_Referrer": row["label"].strip()} for row in rows]
    return rows


def _by_name(
    rtype: str,
    sub_field: int,
    seg_name: str,
    meta: Callable[[str], dict[str, Any]],
    dims: tuple[str, str],
) -> Builder:
    def build(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
        items = {k: a for k, a in _referrers(f).items() if k[0] == rtype}
        top = group(items, lambda k: k[1] if sub_field else k[2])
        rows = []
        for name, acc in top.items():
            segment = {"segment": _top_segment(rtype, seg_name, str(name))}
            # AddSegmentByLabel runs first, getSearchEngines' url and logo are queued (recorded
            # 098); getSocials adds url and logo first (recorded 104)
            first, then = (
                (segment, meta(str(name))) if rtype == "search" else (meta(str(name)), segment)
            )
            row = visit_row(str(name), acc, is_day, {**first, **then})
            inner = group(
                {k: a for k, a in items.items() if (k[1] if sub_field else k[2]) == name},
                lambda k: k[2] if sub_field else k[1],
            )
            row["_sub"] = [  # as archived: label and metrics only (expanded shows them so)
                visit_row(_archived(str(n)) if rtype == "search" else str(n), a, is_day, {})
                for n, a in inner.items()
                if n or rtype != "campaign"  # a campaign visit without keyword: no keyword row
            ]
            if rtype == "search":  # recorded 099: conversions are not archived in subtables
                for child in row["_sub"]:
                    for key in ("goals", "nb_conversions", "revenue"):
                        child.pop(key, None)
            if rtype == "website":  # UrlsFromWebsiteId: grouped by path, the URL kept as `url`
                row["_paths"] = _website_paths(inner, is_day)
            rows.append(row)
        rows = numbered(rows)
        if flat and rtype == "social":  # Flattener: a URL row takes its network's metadata
            for row in rows:
                inherited = {k: row[k] for k in ("url", "logo", "segment") if k in row}
                row["_sub"] = [{**child, **inherited} for child in row["_sub"]]
        if flat and rtype == "website":
            rows = [{**row, "_sub": row["_paths"]} for row in rows]
        if flat and rtype == "search":
            rows = [_search_flat(row, bool(sub_field)) for row in rows]
        if flat and rtype == "campaign":  # loaded through getKeywordsFromCampaignId
            rows = [{**row, "_sub": _campaign_keywords(row, again=True)} for row in rows]
        return flatten(_with_dimensions(rows, dims), sep) if flat else rows

    sep = "/" if rtype == "website" else " - "  # getWebsites' recursive label separator is "/"
    return build


def _search_flat(row: Row, by_engine: bool) -> Row:
    """A getSearchEngines or getKeywords row in flat mode (API.php's `$flat` branches): no
    segment. A keyword under an engine is relabelled by KeywordNotDefined; each row takes the
    keyword's search link as `url` and the engine's `logo`. getKeywords' keyword is read before
    KeywordNotDefined runs, so "" when undefined."""
    top = {k: v for k, v in row.items() if k != "segment"}
    keyword = _archived(str(row["label"]))
    if not by_engine:
        top["label"] = keyword
    children = []
    for child in row["_sub"]:
        engine = str(row["label"] if by_engine else child["label"])
        shown = {
            "label": child["label"] or "Keyword not defined",
            "url": _backlink(engine, str(child["label"]) if by_engine else keyword),
        }
        logo = _engine_meta(engine).get("logo")
        children.append({**child, **shown, **({} if logo is None else {"logo": logo})})
    return {**top, "_sub": children}


def _campaign_keywords(row: Row, again: bool = False) -> list[Row]:
    """A campaign's keyword rows as Referrers.getKeywordsFromCampaignId gives them: the segment
    `referrerName==<campaign>;referrerType==campaign;referrerKeyword==<keyword>`, the campaign as
    is (PrependSegment's; recorded 103). `again`: a flat getCampaigns row, whose table still runs
    getCampaigns' queued PrependSegment once more."""
    prefix = "referrerType==campaign;" if again else ""
    prefix += f"referrerName=={row['label']};referrerType==campaign;referrerKeyword=="
    return [{**child, "segment": prefix + quote_plus(child["label"])} for child in row["_sub"]]


def _archived(label: str) -> str:
    """A keyword label as archived: "" for "Keyword not defined"."""
    return "" if label == "Keyword not defined" else label


def _with_dimensions(rows: list[Row], dims: tuple[str, str]) -> list[Row]:
    """The Flattener's dimension metadata: each row its label (trimmed) under the report's
    dimension id, a subtable row also its parent's (after the metadata it took from the parent)."""
    top, sub = dims
    out = []
    for row in rows:
        value = str(row["label"]).strip()
        children = [
            {**child, top: value, sub: str(child["label"]).strip()}
            for child in row.get("_sub") or []
        ]
        out.append({**row, "_sub": children} if children else {**row, top: value})
    return out


def expanded_flat(method: str, rows: list[Row]) -> list[Row]:
    """A report's `flat=1&expanded=1` rows. getCampaigns (which has no `flat` parameter) then
    has its keyword subtables loaded bare with it, not through getKeywordsFromCampaignId: each
    keyword row copies its campaign's segment (Flattener), prefixed by the queued PrependSegment.
    The other reports are expanded in flat mode anyway."""
    if method != "Referrers.getCampaigns":
        return rows
    return [
        {**row, "segment": _top_segment("campaign", "referrerName", row["Referrers_Campaign"])}
        if "Referrers_Keyword" in row
        else row
        for row in rows
    ]


def _type_sub_segment(rtype: str, name: str) -> str:
    """The segment of a getReferrerType subtable row: search rows are keywords (recording 093)."""
    if rtype == "search":
        return f"referrerType==search;referrerKeyword=={_keyword(name)}"
    return f"referrerType=={rtype};referrerName=={quote_plus(name)}"


def _keyword(keyword: str) -> str:
    """A keyword as a segment value: Matomo leaves it empty for "Keyword not defined"."""
    return "" if keyword == "Keyword not defined" else quote_plus(keyword)


def _top_segment(rtype: str, seg_name: str, name: str) -> str:
    """A by-name report row's segment, as recorded: websites by name alone, the other types
    with their `referrerType` first (recordings 097, 098, 101, 102, 104)."""
    value = _keyword(name) if seg_name == "referrerKeyword" else quote_plus(name)
    prefix = "" if rtype == "website" else f"referrerType=={rtype};"
    return f"{prefix}{seg_name}=={value}"


def _engine_keywords(row: Row) -> list[Row]:
    """Referrers.getKeywordsFromSearchEngineId's rows (recorded 099): the segment
    `referrerName==<engine>;referrerType==search;referrerKeyword==<keyword>`, then the keyword's
    search link as `url`. The undefined keyword ("") gets no segment (AddSegmentByLabel runs
    before KeywordNotDefined), then "Keyword not defined" and Matomo's FAQ link."""
    engine = str(row["label"])
    out = []
    for child in row["_sub"]:
        keyword = str(child["label"])
        meta = {"label": keyword or "Keyword not defined"}
        if keyword:
            meta["segment"] = (
                f"referrerName=={engine};referrerType==search;"
                f"referrerKeyword=={quote_plus(keyword)}"
            )
        out.append({**child, **meta, "url": _backlink(engine, keyword)})
    return out


def _keyword_engines(row: Row) -> list[Row]:
    """Referrers.getSearchEnginesFromKeywordId's rows: the segment `referrerKeyword==<keyword>;
    referrerType==search;referrerName==<engine>` (the keyword as archived, not encoded:
    PrependSegment's), then the keyword's search link as `url` and the engine's `logo` (the
    SearchEnginesFromKeywordId filter)."""
    keyword = _archived(str(row["label"]))
    out = []
    for child in row["_sub"]:
        engine = str(child["label"])
        meta = {
            "segment": (
                f"referrerKeyword=={keyword};referrerType==search;"
                f"referrerName=={quote_plus(engine)}"
            ),
            "url": _backlink(engine, keyword),
        }
        logo = _engine_meta(engine).get("logo")
        if logo is not None:
            meta["logo"] = logo
        out.append({**child, **meta})
    return out


# the link Matomo gives a search engine's "Keyword not defined" row (recording 099)
_NO_KEYWORD_URL = "https://matomo.org/faq/general/faq_144"
# an engine's result page for a keyword (searchengine-and-social-list's SearchEngines.yml
# `backlink`, `{k}` last): "search?q=" unless listed
_BACKLINKS = {"DuckDuckGo": "?q="}


def _backlink(engine: str, keyword: str) -> str:
    """SearchEngine's getBackLinkFromUrlAndKeyword: Matomo's FAQ for an undefined ("") keyword,
    else the engine's result page for it ("+" in the keyword left as is)."""
    if not keyword:
        return _NO_KEYWORD_URL
    path = _BACKLINKS.get(engine, "search?q=")
    keyword = quote_plus(keyword).replace("%2B", "+")
    return f"{_engine_meta(engine).get('url', '')}/{path}{keyword}"


def _engine_meta(name: str) -> dict[str, Any]:
    engine = next((e for e in c.SEARCH_ENGINES if e[0] == name), None)
    if engine is None:
        return {}
    return {"url": engine[1], "logo": f"plugins/Morpheus/icons/dist/searchEngines/{engine[2]}.png"}


def _social_meta(name: str) -> dict[str, Any]:
    host = dict(c.SOCIALS).get(name, "")
    return {"url": host, "logo": f"plugins/Morpheus/icons/dist/socials/{host}.png"}


def merged_subtables(rows: list[Row]) -> list[Row]:
    """Matomo's DataTable::mergeSubtables: every row's subtable rows, in order, as one table
    (rows are appended, not summed; Referrers.getUrlsForSocial without idSubtable)."""
    return [child for row in rows for child in row.get("_sub", [])]


# Referrers' removeUrlProtocol
_PROTOCOL = re.compile(r"^[a-zA-Z_-]+://")


def urls_for_social(rows: list[Row]) -> list[Row]:
    """Referrers.getUrlsForSocial's rows: the segment `referrerUrl==<URL>` (AddSegmentByLabel),
    the URL as `url` and, as label, the URL without its protocol (the UrlsForSocial filter)."""
    out = []
    for row in rows:
        url = str(row["label"])
        relabelled = {k: v for k, v in row.items() if k not in ("segment", "url")}
        relabelled["label"] = _PROTOCOL.sub("", url, count=1)
        if url:
            relabelled["segment"] = f"referrerUrl=={quote_plus(url)}"
        relabelled["url"] = url
        out.append(relabelled)
    return out


def _url_path(url: str) -> str:
    """Referrers' getPathFromUrl: path (no leading "/") and query, `index` when both are empty."""
    parts = urlsplit(url)
    query = parts.query
    fragment = parts.fragment
    if "?" in fragment:  # UrlHelper reads a query after the anchor as the query
        query = fragment.split("?", 1)[1]
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if query or "?" in url:
        path += f"?{query}"
    return path or "index"


def _website_paths(urls: dict[Any, Acc], is_day: bool) -> list[Row]:
    """A website's URL rows as the UrlsFromWebsiteId filter leaves them: `url` set from the
    archived label, then rows of the same path summed into the first (GroupBy)."""
    by_path: dict[str, str] = {}
    for url in urls:
        by_path.setdefault(_url_path(str(url)), str(url))
    grouped = group(urls, lambda url: _url_path(str(url)))
    return [visit_row(path, acc, is_day, {"url": by_path[path]}) for path, acc in grouped.items()]


def _website_urls(row: Row) -> list[Row]:
    """Referrers.getUrlsFromWebsiteId's rows: grouped by path, `url` then the segment
    `referrerUrl==<URL>` (MetadataCallbackAddMetadata)."""
    return [
        {**child, "segment": f"referrerUrl=={quote_plus(child['url'])}"} for child in row["_paths"]
    ]


# each subtable method's rows, from its report's row (the archived subtable as its filters leave it)
_SUBTABLE_ROWS: dict[str, Callable[[Row], list[Row]]] = {
    "Referrers.getKeywordsFromSearchEngineId": _engine_keywords,
    "Referrers.getSearchEnginesFromKeywordId": _keyword_engines,
    "Referrers.getKeywordsFromCampaignId": _campaign_keywords,
    "Referrers.getUrlsFromWebsiteId": _website_urls,
}


def subtable_rows(method: str, rows: list[Row]) -> list[Row]:
    """A by-name report's `rows` with, as subtables, the rows of its subtable method `method`
    (Referrers.getKeywordsFromSearchEngineId...); any other method's rows as they are."""
    decorate = _SUBTABLE_ROWS.get(method)
    if decorate is None:
        return rows
    return [
        {**row, "_sub": decorate(row)} if row.get("_sub") or "_paths" in row else row
        for row in rows
    ]


# each by-name report's flat dimension keys: its dimension's id, and its subtable report's
# (Flattener: `Module_Dimension`; Reports/Get*.php, the subtable one via actionToLoadSubTables)
_WEBSITE = ("Referrers_Website", "Referrers_WebsitePage")
_ENGINE = ("Referrers_SearchEngine", "Referrers_Keyword")
_KEYWORD = ("Referrers_Keyword", "Referrers_SearchEngine")
_CAMPAIGN = ("Referrers_Campaign", "Referrers_Keyword")
_SOCIAL = ("Referrers_SocialNetwork", "Referrers_WebsitePage")

REFERRER_BUILDERS: dict[str, Builder] = {
    "Referrers.getReferrerType": referrer_type,
    "Referrers.getAll": referrer_all,
    "Referrers.getWebsites": _by_name("website", 1, "referrerName", lambda n: {}, _WEBSITE),
    "Referrers.getSearchEngines": _by_name("search", 1, "referrerName", _engine_meta, _ENGINE),
    "Referrers.getKeywords": _by_name("search", 0, "referrerKeyword", lambda n: {}, _KEYWORD),
    "Referrers.getCampaigns": _by_name("campaign", 1, "referrerName", lambda n: {}, _CAMPAIGN),
    "Referrers.getSocials": _by_name("social", 1, "referrerName", _social_meta, _SOCIAL),
}
