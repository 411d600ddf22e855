"""Round 12 hygiene: what an embedder running under `-X dev` (and trio) sees after the calls return."""

from __future__ import annotations

import contextlib
import gc
import warnings
from datetime import date

import httpx
import pytest

from matomo_client import AsyncMatomo, Auth, Period
from matomo_client.sandbox import Sandbox, SandboxConfig


@pytest.mark.anyio
async def test_live_stream_closed_early_closes_its_inner_generator() -> None:
    """`aclosing(live.stream(...))` then `break` leaves no half-read generator for trio to warn about."""
    sb = Sandbox(SandboxConfig(seed=1, days=5, visits_per_day=30, today=date(2026, 11, 29)))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
    day = Period.day(date(2026, 11, 27))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        async with (
            http,
            AsyncMatomo(
                "http://sandbox.test/", auth=Auth.token(sb.config.token), http_client=http
            ) as m,
        ):
            async with contextlib.aclosing(m.live.stream(1, day, page_size=5)) as visits:
                async for _ in visits:
                    break
            gc.collect()
    assert not [w for w in caught if "stream_raw" in str(w.message)]
