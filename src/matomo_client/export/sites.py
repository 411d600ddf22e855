"""The sites an export may read, from `SitesManager.getSitesWithAtLeastViewAccess` as JSON.

The export needs two facts of each site, its id and its timezone, so it reads them from the
decoded JSON rather than through the `Site` model: that keeps pydantic and the models out of
the `matomo` command's start (about 0.2 s before its first request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .._core.params import Params
from ..errors import DecodeError, MatomoError

__all__ = ["PreflightFailed", "SiteInfo", "visible_sites"]

_METHOD = "SitesManager.getSitesWithAtLeastViewAccess"


@dataclass(frozen=True)
class SiteInfo:
    """The site facts the engine needs."""

    id_site: int
    timezone: str | None
    # The UTC day of the site's `ts_created` (None: not given). Matomo archives nothing for a
    # period that ends more than two days before it, so its reports there are empty.
    created: date | None = field(default=None, compare=False)


class PreflightFailed(Exception):
    """The client's preflight (is this a Matomo it speaks to?) failed with `error`."""

    def __init__(self, error: MatomoError) -> None:
        super().__init__(str(error))
        self.error = error


def _site_id(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise DecodeError(_METHOD, f"a site's idsite is not an id: {value!r:.40}")


def read_sites(data: Any) -> dict[int, SiteInfo]:
    """The sites of a decoded answer, by id (`idsite` may come as text, `timezone` as "")."""
    if isinstance(data, dict) and not data:  # an empty PHP array can encode as {}
        return {}
    if not isinstance(data, list) or not all(isinstance(s, dict) for s in data):
        raise DecodeError(_METHOD, f"expected a list of sites, got {type(data).__name__}")
    sites: dict[int, SiteInfo] = {}
    for row in data:
        id_site = _site_id(row.get("idsite"))
        tz = row.get("timezone")
        tz = tz if isinstance(tz, str) and tz else None
        sites[id_site] = SiteInfo(id_site, tz, _created(row.get("ts_created")))
    return sites


def _created(value: Any) -> date | None:
    """The day of a `ts_created` value ("2024-01-31 10:00:00"), None if it is not one."""
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


async def visible_sites(client: Any) -> dict[int, SiteInfo]:
    """Every site the token can view, by id (one request, never cut at 100 sites).

    The client's preflight, if it has not run yet, goes alongside in the same round trip
    (this is the export's first call); its error, if any, is the one raised, as
    `PreflightFailed` when it is a `MatomoError`.
    """
    import anyio

    from ..endpoints.calls import Call

    endpoint = Call(_METHOD, Params().set("filter_limit", -1))
    answer: list[Any] = []
    failure: list[BaseException] = []

    async def ask() -> None:
        try:
            answer.append(await client.execute(endpoint, typed=False, preflight=False))
        except Exception as e:  # raised below, unless the preflight's error comes first
            failure.append(e)

    async with anyio.create_task_group() as tg:
        tg.start_soon(ask)
        try:
            await client.preflight()
        except MatomoError as e:
            failure.insert(0, PreflightFailed(e))
            tg.cancel_scope.cancel()
        except Exception as e:
            failure.insert(0, e)
            tg.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return read_sites(answer[0])
