"""The days Live requests ask for: one (`date=2024-05-08`) or a run of them (`2024-05-08,2024-05-10`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any


def days_asked(params: Mapping[str, str]) -> list[str]:
    """Each day of the request's `date`, as `YYYY-MM-DD`, first to last."""
    first, _, last = params["date"].partition(",")
    a = date.fromisoformat(first)
    b = date.fromisoformat(last) if last else a
    return [(a + timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]


def live_days(requests: Iterable[Any]) -> Counter[tuple[int, str]]:
    """(idSite, day) of every day the Live requests among `requests` (the sandbox's records:
    `.method`, `.params`) asked for; a run of closed days is one request over several days."""
    return Counter(
        (int(r.params["idSite"]), day)
        for r in requests
        if r.method == "Live.getLastVisitsDetails"
        for day in days_asked(r.params)
    )
