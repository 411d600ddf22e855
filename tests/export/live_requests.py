"""The days a Live request asks for: one (`date=2024-05-08`) or a run of them (`2024-05-08,2024-05-10`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta


def days_asked(params: Mapping[str, str]) -> list[str]:
    """Each day of the request's `date`, as `YYYY-MM-DD`, first to last."""
    first, _, last = params["date"].partition(",")
    a = date.fromisoformat(first)
    b = date.fromisoformat(last) if last else a
    return [(a + timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]
