"""`export_reports` against Matomo's report semantics: rows as the report API gives them."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from export_readers import read_rows
from export_sandbox import sandbox_client as _client

from matomo_client.export import export_reports
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here."""
    return "asyncio"


async def test_a_report_named_twice_is_exported_once(tmp_path: Path) -> None:
    """`--report A --report A` (or the same parameters in another order) writes each row once."""
    sb = Sandbox(SandboxConfig(seed=3, days=6, visits_per_day=15, today=TODAY))
    target = str(tmp_path / "r.jsonl")
    day = TODAY - timedelta(days=2)
    async with _client(sb) as m:
        summary = await export_reports(
            m,
            sites=[1],
            start=day,
            end=day,
            target=target,
            now=NOW,
            reports=[
                "VisitsSummary.get",
                "Actions.getPageTitles",
                "VisitsSummary.get",
                "Goals.get?idGoal=1&showAllGoalSpecificMetrics=0",
                "Goals.get?showAllGoalSpecificMetrics=0&idGoal=1",
            ],
        )
    rows = read_rows(target, "reports")
    keys = Counter((r["report"], r["report_params"], r["label"]) for r in rows)
    assert [k for k, n in keys.items() if n > 1] == []
    assert {k[0] for k in keys} == {"VisitsSummary.get", "Actions.getPageTitles", "Goals.get"}
    assert summary.report_rows == len(rows)
