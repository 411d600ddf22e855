"""Segments: the sandbox picks the visits a filter over its unsegmented Live rows picks,
reads definitions as Matomo's `Segment` does, and fails with Matomo's texts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sandbox_support import api, api_json, client_for, recorded_config

from matomo_client.sandbox import Sandbox

Row = dict[str, Any]
LIVE = {
    "method": "Live.getLastVisitsDetails", "idSite": 1, "period": "range",
    "date": "2026-11-16,2026-11-29", "filter_limit": -1,
}  # fmt: skip


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    """The recorded world, with enough visits for every dimension value."""
    return Sandbox(recorded_config(visits_per_day=40))


def _keyword(v: Row) -> str:
    return "" if v["referrerKeyword"] == "Keyword not defined" else v["referrerKeyword"] or ""


def _urls(v: Row, kind: str) -> list[str]:
    return [a.get("url") or "" for a in v["actionDetails"] if a["type"] == kind]


def _titles(v: Row) -> list[str]:
    return [a.get("pageTitle") or "" for a in v["actionDetails"] if a["type"] == "action"]


CASES: list[tuple[str, Callable[[Row], bool]]] = [
    ("visitorType==new", lambda v: v["visitorType"] == "new"),
    ("visitorType==returning", lambda v: v["visitorType"] == "returning"),
    ("visitorType==returningCustomer", lambda v: v["visitorType"] == "returningCustomer"),
    ("visitorType==returning,visitorType==returningCustomer", lambda v: v["visitorType"] != "new"),
    ("deviceType==smartphone;countryCode==de,countryCode==at",
     lambda v: v["deviceType"] == "Smartphone" and v["countryCode"] in ("de", "at")),
    # wholly URL-encoded, as copied from a Matomo URL: Matomo decodes it first
    ("referrerType%3D%3Dsearch%3BbrowserCode%3D%3DCH",
     lambda v: v["referrerType"] == "search" and v["browserCode"] == "CH"),
    ("referrerName==spring+sale", lambda v: v["referrerName"] == "spring sale"),
    ("referrerName==spring%20sale", lambda v: v["referrerName"] == "spring sale"),
    ("referrerName==spring%2520sale", lambda v: v["referrerName"] == "spring sale"),
    # a backslash makes `,` part of the value; the OR still splits
    ("referrerName==spring sale\\,x,referrerName==Bing", lambda v: v["referrerName"] == "Bing"),
    ("referrerKeyword==laufschuhe+g%C3%BCnstig", lambda v: _keyword(v) == "laufschuhe günstig"),
    ("referrerKeyword==", lambda v: _keyword(v) == ""),
    ("referrerUrl=@wikipedia.org%2Fwiki", lambda v: "wikipedia.org/wiki" in (v["referrerUrl"] or "")),
    ("referrerUrl==", lambda v: not v["referrerUrl"]),
    ("userId=@%40example.com", lambda v: "@example.com" in (v["userId"] or "")),
    ("countryCode==zz", lambda v: False),
    # dimensions of actions: one matching action is enough; `!@` and `!=` mean none matches
    ("pageUrl=@cart", lambda v: any("cart" in u for u in _urls(v, "action"))),
    ("pageUrl!@cart", lambda v: not any("cart" in u for u in _urls(v, "action"))),
    ("pageUrl!=https%253A%252F%252Fshop.example.com%252Fcart",
     lambda v: "https://shop.example.com/cart" not in _urls(v, "action")),
    ("pageTitle=@%C3%BCber", lambda v: any("über" in t.lower() for t in _titles(v))),
    ("downloadUrl=@.pdf", lambda v: any(".pdf" in u for u in _urls(v, "download"))),
    ("outlinkUrl=^https", lambda v: bool(_urls(v, "outlink"))),
]  # fmt: skip


@pytest.mark.anyio
@pytest.mark.parametrize(("segment", "keep"), CASES, ids=[c[0] for c in CASES])
async def test_segments_pick_what_a_filter_over_every_visit_picks(
    sandbox: Sandbox, segment: str, keep: Callable[[Row], bool]
) -> None:
    """A segment's Live visits are exactly those the same condition picks from all visits."""
    async with client_for(sandbox) as client:
        every = await api_json(client, **LIVE)
        got = await api_json(client, **LIVE, segment=segment)
    assert sorted(v["idVisit"] for v in got) == sorted(v["idVisit"] for v in every if keep(v))
    assert any(v["visitorType"] == "returningCustomer" for v in every)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("segment", "message"),
    [
        ("notADimension==1", "Segment 'notADimension' is not a supported segment."),
        ("notADimension%3D%3D1", "Segment 'notADimension' is not a supported segment."),
        ("page url==x", "Segment 'page url' is not a supported segment."),
        ("browserCode=", "The segment condition 'browserCode=' is not valid."),
    ],
)
async def test_bad_segments_fail_with_matomos_texts(
    sandbox: Sandbox, segment: str, message: str
) -> None:
    """Matomo names the dimension of any condition with an operator, even encoded ones."""
    async with client_for(sandbox) as client:
        response = await api(
            client, method="VisitsSummary.get", idSite=1, period="day", date="2026-11-28",
            segment=segment,
        )  # fmt: skip
    assert response.json() == {"result": "error", "message": message}


@pytest.mark.anyio
@pytest.mark.parametrize(
    "method",
    [
        "Referrers.getSocials", "Actions.getPageUrls",
        "Actions.getPageTitles", "Actions.getDownloads", "Actions.getOutlinks",
        "Referrers.getReferrerType",  # its search rows are keywords: referrerKeyword==
    ],  # getWebsites' flat rows have no segment in Matomo (test_sandbox_labels_round27.py)
)  # fmt: skip
async def test_flat_rows_drill_down_to_their_visits(sandbox: Sandbox, method: str) -> None:
    """The segment of a flat row (`referrerUrl==`, `pageUrl==` twice encoded as Matomo writes
    it, `pageTitle==`...) counts that row's visits.

    Action rows count their visits on each action's day (Matomo's `server_time`), the
    segmented VisitsSummary on the visit's day: visits across midnight may differ, no others.
    """
    period = {"idSite": 1, "period": "month", "date": "2026-11-01"}
    async with client_for(sandbox) as client:
        rows = await api_json(client, method=method, flat=1, filter_limit=-1, **period)
        assert rows
        across = 0
        if method.startswith("Actions."):
            visits = await api_json(
                client, method="Live.getLastVisitsDetails", filter_limit=-1, **period
            )
            across = sum(
                v["actionDetails"][0]["timestamp"] // 86400
                != v["actionDetails"][-1]["timestamp"] // 86400
                for v in visits
            )  # site 1 is in UTC
        for row in rows:
            summary = await api_json(
                client, method="VisitsSummary.get", segment=row["segment"], **period
            )
            assert abs(summary["nb_visits"] - row["nb_visits"]) <= across, row["label"]
