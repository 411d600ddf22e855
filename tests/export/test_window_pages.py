"""A window's pages become rows one page at a time, each visit kept once, in its latest copy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest

from matomo_client.export.engine import _fetch_window
from matomo_client.export.schema import build_visit_batches
from matomo_client.export.windows import Window

DAY = date(2024, 3, 1)
START = 1_709_251_200  # 2024-03-01 00:00 UTC
WINDOW = Window(1, DAY, START, START + 86_400, closed=False)


def _visit(id_visit: int, last: int, n_actions: int, url: str = "/a") -> dict[str, Any]:
    return {
        "idSite": 1,
        "idVisit": id_visit,
        "lastActionTimestamp": last,
        "actions": n_actions,
        "actionDetails": [
            {"type": "action", "url": f"{url}/{k}", "timestamp": last - k} for k in range(n_actions)
        ],
    }


class _Live:
    def __init__(self, pages: Sequence[list[dict[str, Any]]]) -> None:
        self.pages = list(pages)

    async def next_page_raw(self, cursor: Any) -> tuple[list[dict[str, Any]], Any]:
        page = self.pages.pop(0)
        return page, (cursor if self.pages else None)


class _Client:
    def __init__(self, pages: Sequence[list[dict[str, Any]]]) -> None:
        self.live = _Live(pages)


async def _rows(pages: Sequence[list[dict[str, Any]]]) -> tuple[Any, Any]:
    return await _fetch_window(_Client(pages), WINDOW, 1000, None)


@pytest.mark.anyio
async def test_pages_give_the_rows_the_whole_list_gives() -> None:
    """Rows built page by page equal the rows built from all the window's visits at once."""
    pages = [
        [_visit(1, START + 10, 2), _visit(2, START + 20, 0)],
        [_visit(3, START + 30, 3), _visit(4, START + 40, 1)],
    ]
    visits, actions = await _rows(pages)
    whole_v, whole_a = build_visit_batches([v for p in pages for v in p])
    assert visits.columns == whole_v.columns
    assert actions.columns == whole_a.columns


@pytest.mark.anyio
async def test_a_visit_sent_again_on_a_later_page_keeps_only_its_latest_copy() -> None:
    """A visit that grew between pages is stored once, with the later page's fields and actions."""
    pages = [
        [_visit(1, START + 10, 2, "/old"), _visit(2, START + 20, 1)],
        [_visit(1, START + 50, 3, "/new"), _visit(3, START + 60, 1)],
    ]
    visits, actions = await _rows(pages)
    assert sorted(visits.columns["id_visit"]) == [1, 2, 3]
    ones = [i for i, v in enumerate(visits.columns["id_visit"]) if v == 1]
    assert [visits.columns["actions"][i] for i in ones] == [3]
    urls = [
        u
        for v, u in zip(actions.columns["id_visit"], actions.columns["url"], strict=True)
        if v == 1
    ]
    assert urls == ["/new/0", "/new/1", "/new/2"]
    assert len(actions) == 3 + 1 + 1


@pytest.mark.anyio
async def test_visits_outside_the_window_and_repeats_within_a_page_are_dropped() -> None:
    """The next day's midnight visit is left to its window; a visit twice in a page counts once."""
    pages = [
        [
            _visit(1, START + 10, 1, "/first"),
            _visit(1, START + 15, 2, "/second"),
            _visit(9, START + 86_400, 1),
        ]
    ]
    visits, actions = await _rows(pages)
    assert visits.columns["id_visit"] == [1]
    assert actions.columns["url"] == ["/second/0", "/second/1"]
