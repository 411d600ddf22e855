"""Website URL rows, the `label` request parameter and getReportMetadata's `idSites`, as Matomo 5
has them (plugins/Referrers/API.php getWebsites / getUrlsFromWebsiteId and the UrlsFromWebsiteId
filter, Referrers' getPathFromUrl; core/API/DataTableManipulator/LabelFilter.php and
DataTablePostProcessor::applyLabelFilter; plugins/API/API.php getReportMetadata)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import httpx
import pytest
from sandbox_support import (
    TOKEN,
    VIEWER_TOKEN,
    api,
    client_for,
    recorded_config,
    recorded_json,
    recorded_sandbox,
)

from matomo_client.sandbox import Sandbox

_MONTH = {"idSite": 1, "period": "month", "date": "2026-10-01"}
_DAYS = {"idSite": 1, "period": "day", "date": "2026-10-01,2026-10-04"}


async def _rows(**params: Any) -> Any:
    return await recorded_json(**{**_MONTH, **params})


async def _pairs(
    client: httpx.AsyncClient, pairs: list[tuple[str, str]], token: str = TOKEN
) -> Any:
    """POST with repeated keys (`label[]`, `idSites[]`), as PHP clients send arrays."""
    body = [("module", "API"), ("format", "JSON"), ("token_auth", token), *pairs]
    response = await client.post(
        "index.php",
        content=urlencode(body),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    return response.json()


def _path(url: str) -> str:
    """getPathFromUrl for the sandbox's referrer URLs (no query, no anchor)."""
    return urlsplit(url).path.lstrip("/") or "index"


# -- Referrers.getUrlsFromWebsiteId and getWebsites' URL rows ------------------------------
@pytest.mark.anyio
async def test_urls_from_website_id_rows_are_paths_with_url_and_segment() -> None:
    """Rows are labelled by path, the full URL in `url`, then `referrerUrl==<URL>` (no
    `referrerType==website;`); the segment selects exactly the row's visits."""
    expanded = await _rows(method="Referrers.getWebsites", expanded=1, filter_limit=-1)
    assert expanded
    async with client_for(recorded_sandbox()) as client:
        for website in expanded:
            urls = [row["label"] for row in website["subtable"]]
            rows = await _rows(
                method="Referrers.getUrlsFromWebsiteId", idSubtable=website["idsubdatatable"]
            )
            assert [row["url"] for row in rows] == urls
            for row in rows:
                assert row["label"] == _path(row["url"])
                assert not row["label"].startswith(("/", "https:"))
                assert row["segment"] == f"referrerUrl=={quote_plus(row['url'])}"
                assert list(row)[-2:] == ["url", "segment"]
                summary = (
                    await api(client, method="VisitsSummary.get", segment=row["segment"], **_MONTH)
                ).json()
                assert summary["nb_visits"] == row["nb_visits"], row["label"]


@pytest.mark.anyio
async def test_websites_expanded_subtables_are_the_archived_url_rows() -> None:
    """getWebsites' AddSegmentByLabel is not applied to subtables: their rows are bare."""
    for website in await _rows(method="Referrers.getWebsites", expanded=1, filter_limit=-1):
        assert website["segment"] == f"referrerName=={quote_plus(website['label'])}"
        for row in website["subtable"]:
            assert row["label"].startswith("https://" + website["label"] + "/")
            assert "segment" not in row
            assert "url" not in row


@pytest.mark.anyio
async def test_websites_flat_rows_are_host_slash_path_with_url() -> None:
    """flat=1: UrlsFromWebsiteId on the subtables, joined by "/" (GetWebsites' separator); no
    segment, as AddSegmentByLabel is skipped for flat."""
    expanded = await _rows(method="Referrers.getWebsites", expanded=1, filter_limit=-1)
    flat = await _rows(method="Referrers.getWebsites", flat=1, filter_limit=-1)
    want = {
        f"{site['label']}/{_path(row['label'])}": (row["label"], row["nb_visits"])
        for site in expanded
        for row in site["subtable"]
    }
    assert {row["label"]: (row["url"], row["nb_visits"]) for row in flat} == want
    for row in flat:
        assert "segment" not in row
        assert "idsubdatatable" not in row


@pytest.mark.anyio
async def test_processed_urls_from_website_id() -> None:
    """getProcessedReport shows the same path labels and url/segment metadata."""
    rows = await _rows(method="Referrers.getUrlsFromWebsiteId", idSubtable=1)
    report = await _rows(
        method="API.getProcessedReport",
        apiModule="Referrers",
        apiAction="getUrlsFromWebsiteId",
        idSubtable=1,
    )
    assert [r["label"] for r in report["reportData"]] == [r["label"] for r in rows]
    assert [r["label"] for r in rows] == ["wiki/Laufschuh"]  # de.wikipedia.org's path
    assert report["reportMetadata"] == [{"url": r["url"], "segment": r["segment"]} for r in rows]


# -- label= ---------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_label_keeps_the_named_row_past_limit_and_offset() -> None:
    """An exact label gives that row only; filter_limit/filter_offset do not apply, and
    `expanded` is dropped; an unknown label gives []."""
    every = await _rows(method="Referrers.getWebsites", filter_limit=-1)
    last = every[-1]
    assert len(every) > 2
    assert await _rows(method="Referrers.getWebsites", label=last["label"]) == [last]
    assert await _rows(
        method="Referrers.getWebsites", label=last["label"], filter_limit=1, filter_offset=1
    ) == [last]
    assert await _rows(method="Referrers.getWebsites", label=last["label"], expanded=1) == [last]
    assert await _rows(method="Referrers.getWebsites", label="nonexistent.example") == []
    # filter_pattern still runs first
    assert (
        await _rows(method="Referrers.getWebsites", label=last["label"], filter_pattern="^$") == []
    )


@pytest.mark.anyio
async def test_label_on_a_custom_dimension() -> None:
    """CustomDimensions.getCustomDimension answers the labelled row alone, past filter_limit."""
    rows = await _rows(method="CustomDimensions.getCustomDimension", idDimension=1, filter_limit=-1)
    assert len(rows) > 1
    assert await _rows(
        method="CustomDimensions.getCustomDimension",
        idDimension=1,
        label=rows[-1]["label"],
        filter_limit=1,
    ) == [rows[-1]]


@pytest.mark.anyio
async def test_label_zero_or_empty_filters_nothing() -> None:
    """PHP reads `label=0` and `label=` as empty: the table is answered whole."""
    plain = await _rows(method="Referrers.getWebsites", filter_limit=2)
    assert await _rows(method="Referrers.getWebsites", filter_limit=2, label="0") == plain
    assert await _rows(method="Referrers.getWebsites", filter_limit=2, label="") == plain


@pytest.mark.anyio
async def test_label_descends_into_subtables_through_the_subtable_method() -> None:
    """`a>b` is row b of row a's subtable as the report's subtable method answers it:
    getUrlsFromWebsiteId for websites, getUrlsForSocial for socials, the same for pages."""
    for parent, child_method in (
        ("Referrers.getWebsites", "Referrers.getUrlsFromWebsiteId"),
        ("Referrers.getSocials", "Referrers.getUrlsForSocial"),
        ("Referrers.getSearchEngines", "Referrers.getKeywordsFromSearchEngineId"),
        ("Actions.getPageUrls", "Actions.getPageUrls"),
    ):
        top = [r for r in await _rows(method=parent, filter_limit=-1) if "idsubdatatable" in r]
        assert top, parent
        row = top[0]
        children = await _rows(method=child_method, idSubtable=row["idsubdatatable"])
        child = children[-1]
        label = f"{row['label']}>{child['label']}"
        assert await _rows(method=parent, label=label) == [child], label
        assert await _rows(method=parent, label=f"{row['label']}>no such row") == []


@pytest.mark.anyio
async def test_label_is_url_decoded_and_page_titles_take_their_blank() -> None:
    """Labels (and each `>` part) are URL-decoded; `Cart` finds the page title ` Cart`."""
    about = [
        r
        for r in await _rows(method="Actions.getPageUrls", filter_limit=-1)
        if r["label"] == "about"
    ]
    children = await _rows(method="Actions.getPageUrls", idSubtable=about[0]["idsubdatatable"])
    page = next(r for r in children if r["label"] == "/über-uns")
    for label in ("about>/über-uns", "about>%2F%C3%BCber-uns", " about > /über-uns "):
        assert await _rows(method="Actions.getPageUrls", label=label) == [page], label
    titles = await _rows(method="Actions.getPageTitles", filter_limit=-1)
    cart = next(r for r in titles if r["label"] == " Cart")
    assert await _rows(method="Actions.getPageTitles", label="Cart") == [cart]
    assert await _rows(method="Actions.getPageTitles", label="@Cart") == [cart]
    assert await _rows(method="Actions.getPageUrls", label="Cart") == []


@pytest.mark.anyio
async def test_several_labels_in_their_order_and_a_comma_is_part_of_a_label() -> None:
    """label[]=a&label[]=b: one row per label found, in the labels' order (a repeated label
    repeats its row); `label=a,b` is one label."""
    every = {r["label"]: r for r in await _rows(method="Referrers.getWebsites", filter_limit=-1)}
    first, second = sorted(every)[:2]
    pairs = [(k, str(v)) for k, v in _MONTH.items()] + [("method", "Referrers.getWebsites")]
    asked = [second, "nonexistent.example", first, second]
    async with client_for(recorded_sandbox()) as client:
        value = await _pairs(client, pairs + [("label[]", label) for label in asked])
    assert value == [every[second], every[first], every[second]]
    assert await _rows(method="Referrers.getWebsites", label=f"{first},{second}") == []


@pytest.mark.anyio
async def test_label_on_flat_rows() -> None:
    """With flat=1 the flat label names a row; `>` finds nothing (flat rows have no subtable)."""
    flat = await _rows(method="Referrers.getWebsites", flat=1, filter_limit=-1)
    row = flat[-1]
    assert await _rows(method="Referrers.getWebsites", flat=1, label=row["label"]) == [row]
    host, _, path = row["label"].partition("/")
    assert await _rows(method="Referrers.getWebsites", flat=1, label=f"{host}>{path}") == []


@pytest.mark.anyio
async def test_label_per_period_and_per_site() -> None:
    """Each period's (and site's) table is filtered apart; a period without the row is []."""
    value = await recorded_json(method="Actions.getPageUrls", label="/cart", **_DAYS)
    assert list(value) == ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04"]
    for day, rows in value.items():
        one = await recorded_json(
            method="Actions.getPageUrls", idSite=1, period="day", date=day, filter_limit=-1
        )
        assert rows == [r for r in one if r["label"] == "/cart"], day
    nested = await recorded_json(
        method="Actions.getPageUrls", label="product>/trail-running-shoe", **_DAYS
    )
    for day, rows in nested.items():
        top = await recorded_json(method="Actions.getPageUrls", idSite=1, period="day", date=day)
        parent = [r for r in top if r["label"] == "product"]
        sub = await recorded_json(
            method="Actions.getPageUrls",
            idSite=1,
            period="day",
            date=day,
            idSubtable=parent[0]["idsubdatatable"],
            filter_limit=-1,
        )
        assert rows == [r for r in sub if r["label"] == "/trail-running-shoe"], day
    sites = await recorded_json(
        method="Referrers.getWebsites",
        idSite="1,2",
        period="month",
        date="2026-10-01",
        label="medium.com",
    )
    for site, rows in sites.items():
        every = await recorded_json(
            method="Referrers.getWebsites",
            idSite=site,
            period="month",
            date="2026-10-01",
            filter_limit=-1,
        )
        assert rows == [r for r in every if r["label"] == "medium.com"], site


@pytest.mark.anyio
async def test_processed_report_data_is_the_labelled_row() -> None:
    """getProcessedReport's inner request inherits `label`: reportData is that row's."""
    report = await _rows(
        method="API.getProcessedReport",
        apiModule="Referrers",
        apiAction="getWebsites",
        label="medium.com",
    )
    assert [r["label"] for r in report["reportData"]] == ["medium.com"]
    assert report["reportMetadata"] == [
        {
            "segment": "referrerName==medium.com",
            "idsubdatatable": report["reportMetadata"][0]["idsubdatatable"],
        }
    ]


# -- API.getReportMetadata with idSites -----------------------------------------------------
@pytest.mark.anyio
async def test_report_metadata_takes_id_sites_without_id_site() -> None:
    """Without idSite (or idSite=0), `idSites` is the site; `idSites[]` gives its first; with
    neither, Matomo's message; access is checked for the site used."""
    by_site = {
        i: await recorded_json(method="API.getReportMetadata", idSite=i, filter_limit=-1)
        for i in (1, 2, 3)
    }
    assert by_site[2] != by_site[3]
    assert (
        await recorded_json(method="API.getReportMetadata", idSites=2, filter_limit=-1)
        == by_site[2]
    )
    assert (
        await recorded_json(method="API.getReportMetadata", idSite=0, idSites=3, filter_limit=-1)
        == by_site[3]
    )
    assert (
        await recorded_json(method="API.getReportMetadata", idSite=1, idSites=3, filter_limit=-1)
        == by_site[1]
    )
    async with client_for(recorded_sandbox()) as client:
        pairs = [("method", "API.getReportMetadata"), ("filter_limit", "-1")]
        listed = await _pairs(client, [*pairs, ("idSites[]", "3"), ("idSites[]", "2")])
        assert listed == by_site[3]
        missing = (await api(client, method="API.getReportMetadata")).json()
        assert missing == {
            "result": "error",
            "message": "Calling API.getReportMetadata without any idSite is no longer supported "
            'since Matomo 3.0.0. Please specify at least one idSite via the "idSite" parameter.',
        }
    async with client_for(Sandbox(recorded_config(viewers={VIEWER_TOKEN: {2}}))) as client:
        denied = await _pairs(client, [*pairs, ("idSites", "1")], token=VIEWER_TOKEN)
        assert "'view' access for the website id = 1." in denied["message"]
        viewer = await _pairs(client, [*pairs, ("idSites", "2")], token=VIEWER_TOKEN)
        assert viewer == by_site[2]
