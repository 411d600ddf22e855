"""UserId.getUsers over days where a visit of the day before converts after midnight: its
user had a row of conversions only and no latest visit, and the report crashed (KeyError, a 500
for the whole bulk request of a reports export)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sandbox_support import TOKEN, client_for

from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio


async def test_user_ids_of_every_day_answer_and_list_only_users_with_visits() -> None:
    """Thirty days of site 1, day by day: every day answers, and each row has visits and the
    visitor id of its latest visit (one of them crashed, with the default sandbox)."""
    sb = Sandbox(SandboxConfig(today=date(2026, 11, 30)))
    data = {
        "module": "API",
        "method": "UserId.getUsers",
        "idSite": "1",
        "period": "day",
        "date": "last30",
        "format": "JSON",
        "token_auth": TOKEN,
        "filter_limit": "-1",
    }
    async with client_for(sb) as client:
        response = await client.post("index.php", data=data)
    assert response.status_code == 200, response.text[:300]
    days: dict[str, Any] = response.json()
    assert len(days) == 30
    rows = [row for day in days.values() for row in day]
    assert rows  # the sandbox's shop has users
    assert all(row["nb_visits"] > 0 and row["idvisitor"] for row in rows)
