"""A window's pages become rows one page at a time, each visit kept once, in its latest copy.

Every sink form of the rows (Python columns, Arrow, JSON lines) and both places they are built
(this process, worker processes) give the same rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from matomo_client.export import encode, spill
from matomo_client.export import pages as pages_module
from matomo_client.export.encode import PageEncoder
from matomo_client.export.pages import fetch_window
from matomo_client.export.rows import build_visit_batches
from matomo_client.export.schema import Batch
from matomo_client.export.sinks.arrow import to_arrow
from matomo_client.export.sinks.files import jsonl_bytes
from matomo_client.export.spill import SpillDir
from matomo_client.export.windows import Window

DAY = date(2024, 3, 1)
START = 1_709_251_200  # 2024-03-01 00:00 UTC
WINDOW = Window(1, DAY, START, START + 86_400, closed=False)
FORMS = [("batch", 0), ("arrow", 0), ("jsonl", 0), ("arrow", 2), ("jsonl", 2)]


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
    def __init__(self, client: _Client) -> None:
        self.client = client
        self.calls = 0

    async def next_page_raw(self, cursor: Any) -> tuple[list[dict[str, Any]], Any]:
        """The ordinary read of the page the raw read could not use: `fallback`'s pages."""
        self.calls += 1
        page = self.client.fallback.pop(0)
        return page, (cursor if self.client.bodies else None)


class _Client:
    """Serves each page's body to `execute` (the raw read), as a Matomo would."""

    def __init__(
        self, pages: Sequence[list[dict[str, Any]] | bytes], fallback: Sequence[Any] = ()
    ) -> None:
        self.bodies = [p if isinstance(p, bytes) else orjson.dumps(p) for p in pages]
        self.fallback = list(fallback)
        self.live = _Live(self)
        self.methods: list[str] = []
        self.after: list[str | None] = []  # each request's minTimestamp

    async def execute(self, endpoint: Any) -> bytes:
        self.methods.append(endpoint.method)
        self.after.append(endpoint.params().get("minTimestamp"))
        return self.bodies.pop(0) if self.bodies else b"[]"


def _columns(batch: Batch) -> dict[str, list[Any]]:
    """Each column's values, whatever form the batch holds them in."""
    if batch.jsonl is not None:
        rows = [orjson.loads(line) for line in batch.jsonl.splitlines()]
        return {c: [r[c] for r in rows] for c in batch.table.column_names}
    if batch.arrow is not None:
        return {c: batch.column(c) for c in batch.table.column_names}
    return batch.columns


def _same(got: Batch, expected: Batch) -> bool:
    """`got` holds the rows of `expected` (columns), in `got`'s own form."""
    if got.jsonl is not None:
        return got.jsonl == jsonl_bytes(expected)
    if got.arrow is not None:
        return bool(got.arrow.equals(to_arrow(expected)))
    return got.columns == expected.columns


@pytest.fixture(params=FORMS, ids=[f"{f}-{w}workers" for f, w in FORMS])
async def encoder(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[PageEncoder]:
    form, workers = request.param
    monkeypatch.setattr(encode, "MIN_WORKER_BODY", 0)  # these pages are small
    e = PageEncoder(form, workers)
    yield e
    # As the export does: worker processes left to the garbage collector after their event
    # loop closed warned "Event loop is closed" on Python 3.12+, failing a later test.
    await e.aclose()


async def _rows(client: _Client, encoder: PageEncoder) -> tuple[Batch, Batch]:
    return await fetch_window(client, WINDOW, 1000, None, encoder)


@pytest.mark.anyio
async def test_pages_give_the_rows_the_whole_list_gives(encoder: PageEncoder) -> None:
    """Rows built page by page equal the rows built from all the window's visits at once."""
    pages = [
        [_visit(1, START + 10, 2), _visit(2, START + 20, 0)],
        [_visit(3, START + 30, 3), _visit(4, START + 40, 1)],
    ]
    visits, actions = await _rows(_Client(pages), encoder)
    whole_v, whole_a = build_visit_batches([v for p in pages for v in p])
    assert _same(visits, whole_v)
    assert _same(actions, whole_a)
    assert len(visits) == 4
    assert len(actions) == 6


@pytest.mark.anyio
async def test_a_visit_sent_again_on_a_later_page_keeps_only_its_latest_copy(
    encoder: PageEncoder,
) -> None:
    """A visit that grew between pages is stored once, with the later page's fields and actions."""
    pages = [
        [_visit(1, START + 10, 2, "/old"), _visit(2, START + 20, 1)],
        [_visit(1, START + 50, 3, "/new"), _visit(3, START + 60, 1)],
    ]
    visits, actions = await _rows(_Client(pages), encoder)
    v, a = _columns(visits), _columns(actions)
    assert sorted(v["id_visit"]) == [1, 2, 3]
    ones = [i for i, x in enumerate(v["id_visit"]) if x == 1]
    assert [v["actions"][i] for i in ones] == [3]
    urls = [u for x, u in zip(a["id_visit"], a["url"], strict=True) if x == 1]
    assert urls == ["/new/0", "/new/1", "/new/2"]
    assert len(actions) == 3 + 1 + 1


@pytest.mark.anyio
async def test_visits_outside_the_window_and_repeats_within_a_page_are_dropped(
    encoder: PageEncoder,
) -> None:
    """The next day's midnight visit is left to its window; a visit twice in a page counts once."""
    pages = [
        [
            _visit(1, START + 10, 1, "/first"),
            _visit(1, START + 15, 2, "/second"),
            _visit(9, START + 86_400, 1),
        ]
    ]
    visits, actions = await _rows(_Client(pages), encoder)
    assert _columns(visits)["id_visit"] == [1]
    assert _columns(actions)["url"] == ["/second/0", "/second/1"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [b'[{"idVisit": 1, "lastActi', b"<html>Service Unavailable</html>", b'{"a": 1}', b"[1, 2]"],
    ids=["truncated", "html", "object", "not-visits"],
)
async def test_a_page_that_is_not_ordinary_is_read_again_the_ordinary_way(
    encoder: PageEncoder, body: bytes
) -> None:
    """A body the encoder cannot use costs one ordinary read, whose page gives the rows."""
    good = [_visit(5, START + 5, 1)]
    client = _Client([body], fallback=[good])
    visits, actions = await _rows(client, encoder)
    assert client.live.calls == 1
    assert _columns(visits)["id_visit"] == [5]
    assert len(actions) == 1


@pytest.mark.anyio
async def test_pages_are_read_raw_from_live(encoder: PageEncoder) -> None:
    """Ordinary pages are fetched as bytes from Live.getLastVisitsDetails, no ordinary read."""
    client = _Client([[_visit(1, START + 1, 1)]])
    await _rows(client, encoder)
    assert client.methods == ["Live.getLastVisitsDetails"] * 2  # the page, then the empty one
    assert client.live.calls == 0


@pytest.mark.anyio
async def test_a_window_is_asked_from_its_own_midnight(encoder: PageEncoder) -> None:
    """The first request already bounds the window: Matomo reads today's date from yesterday's
    midnight (matomo#22543), and its visits would only be fetched to be dropped."""
    client = _Client([[_visit(1, START + 1, 1)]])
    await _rows(client, encoder)
    assert client.after[0] == str(START - 1)


def _listing(path: Path) -> list[Path]:
    return list(path.iterdir())


async def _spilled_rows(
    client: _Client, encoder: PageEncoder, spill_dir: SpillDir
) -> tuple[Batch, Batch]:
    visits, actions = await fetch_window(client, WINDOW, 1000, None, encoder, None, spill_dir)
    assert visits.deferred is not None  # on disk until the writer takes them
    assert actions.deferred is not None
    return visits.resolve(), actions.resolve()


@pytest.mark.anyio
async def test_a_spilled_window_gives_the_rows_it_would_have_held(
    encoder: PageEncoder, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Rows written to disk page by page (a busy day) come back as the same rows, each visit in
    its latest copy also when its first copy was on disk; the file is gone once read."""
    pages = [
        [_visit(1, START + 10, 2, "/old"), _visit(2, START + 20, 1)],
        [_visit(3, START + 30, 3), _visit(4, START + 40, 0)],
        [_visit(1, START + 50, 3, "/new"), _visit(5, START + 60, 1)],
    ]
    held = await _rows(_Client(pages), encoder)
    monkeypatch.setattr(spill, "SPILL_ROWS", 4)  # more than 4 rows in memory: to disk
    monkeypatch.setattr(spill, "SPILL_MIN", 0)
    spill_dir = SpillDir(tmp_path)
    visits, actions = await _spilled_rows(_Client(pages), encoder, spill_dir)
    assert _columns(visits) == _columns(held[0])
    assert _columns(actions) == _columns(held[1])
    assert sorted(_columns(visits)["id_visit"]) == [1, 2, 3, 4, 5]
    assert len(actions) == 3 + 1 + 3 + 0 + 1
    assert spill_dir.path is not None
    assert _listing(spill_dir.path) == []  # read back once, then removed
    spill_dir.close()
    assert _listing(tmp_path) == []


@pytest.mark.anyio
async def test_a_window_keeps_no_more_than_the_threshold_in_memory(
    encoder: PageEncoder, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A long day's rows go to disk as they pass the threshold: memory holds at most the
    threshold and one page, however many pages the day has; the row counts are known without
    reading them back."""
    monkeypatch.setattr(spill, "SPILL_ROWS", 10)
    monkeypatch.setattr(spill, "SPILL_MIN", 0)
    pages = [[_visit(10 * p + k, START + 10 * p + k, 2) for k in range(3)] for p in range(20)]
    held: list[int] = []
    real_add = pages_module._WindowRows.add

    def add(self: Any, part: Any) -> None:
        real_add(self, part)
        held.append(self.held)

    monkeypatch.setattr(pages_module._WindowRows, "add", add)
    visits, actions = await fetch_window(
        _Client(pages), WINDOW, 1000, None, encoder, None, SpillDir(tmp_path)
    )
    assert len(visits) == 60
    assert len(actions) == 120
    assert max(held) <= 10 + 9  # the threshold, then one page of 3 visits and 6 actions
    assert len(visits.resolve()) == 60
    assert len(actions.resolve()) == 120


def test_small_days_spill_too_once_twice_the_budget_is_held(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Past the budget, only a window of SPILL_MIN rows or more spills; past twice the budget
    (many small days in progress at a high concurrency), any window does."""
    monkeypatch.setattr(spill, "SPILL_ROWS", 100)
    monkeypatch.setattr(spill, "SPILL_MIN", 50)
    d = SpillDir(tmp_path)
    d.held = 90
    assert not d.due(60)
    d.held = 150
    assert d.due(60)
    assert not d.due(10)
    d.held = 201
    assert d.due(10)
