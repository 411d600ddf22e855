"""A transport that answers Live pages instantly from pre-serialised visits (no server).

`ReplayLive.build(sites, days)` renders each (site, day) of an in-process sandbox once, keeps
every visit as its own JSON bytes sorted by (last action, idVisit), and then answers
`Live.getLastVisitsDetails` (`period=day` or `range`, `filter_limit`, `filter_offset`, ascending,
`minTimestamp` strictly after) by joining the chosen visits' bytes: a page costs a memcpy,
so a client's own CPU is all that is measured. Every body served is kept in `served`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import anyio
import httpx
import orjson

from matomo_client._core.http import Request, Response
from matomo_client.sandbox import Sandbox, SandboxConfig
from matomo_client.transports import request_params

TOKEN = "sandbox-token"
_JSON = {"content-type": "application/json; charset=utf-8"}


@dataclass
class DayVisits:
    """One (site, day): visits as JSON bytes, with their last-action seconds, ascending."""

    ts: list[int]
    bodies: list[bytes]


@dataclass
class ReplayLive:
    """The replay transport (see the module docstring)."""

    days: dict[tuple[int, str], DayVisits]
    sites: bytes
    served: list[bytes] = field(default_factory=list)
    keep_served: bool = False
    runs: dict[tuple[int, str], DayVisits] = field(default_factory=dict)  # date=A,B answers

    @property
    def visits(self) -> int:
        """How many visits the replay holds."""
        return sum(len(d.ts) for d in self.days.values())

    @classmethod
    def build(
        cls, config: SandboxConfig, sites: list[int], days: list[date], rendered: int = 0
    ) -> ReplayLive:
        """Render the sandbox's visits once and keep them serialised.

        With `rendered=N`, only the first N days are rendered (the sandbox renders in Python at
        ~0.2 ms a visit); later days are copies of them moved by whole days, with new ids.
        """
        replay: ReplayLive = anyio.run(_build, config, sites, days[:rendered] if rendered else days)
        if rendered:
            for site in sites:
                for i, d in enumerate(days[rendered:], start=rendered):
                    src = days[i % rendered]
                    replay.days[(site, d.isoformat())] = _moved(
                        replay.days[(site, src.isoformat())], (d - src).days, i
                    )
        return replay

    async def send(self, request: Request) -> Response:
        """Answer one request like Matomo would, from memory."""
        p = request_params(request)
        method = p.get("method")
        if method == "API.getMatomoVersion":
            return Response(200, _JSON, b'{"value":"5.11.2"}')
        if method == "SitesManager.getSitesWithAtLeastViewAccess":
            return Response(200, _JSON, self.sites)
        if method != "Live.getLastVisitsDetails" or p.get("period") not in ("day", "range"):
            return Response(200, _JSON, b'{"result":"error","message":"not replayed"}')
        day = self._visits(int(p["idSite"]), p["date"])
        if day is None:
            return Response(200, _JSON, b"[]")
        lo = bisect.bisect_right(day.ts, int(p["minTimestamp"])) if "minTimestamp" in p else 0
        lo += int(p.get("filter_offset", 0) or 0)
        limit = int(p.get("filter_limit", 100))
        chosen = day.bodies[lo:] if limit < 0 else day.bodies[lo : lo + limit]
        body = b"[" + b",".join(chosen) + b"]"
        if self.keep_served:
            self.served.append(body)
        return Response(200, _JSON, body)

    def _visits(self, site: int, when: str) -> DayVisits | None:
        """One day's visits, or a run's (`date=A,B`: its days' visits one after another)."""
        if "," not in when:
            return self.days.get((site, when))
        if (site, when) not in self.runs:  # made once, then kept
            first, last = (date.fromisoformat(x) for x in when.split(","))
            run = DayVisits([], [])
            for i in range((last - first).days + 1):
                day = self.days.get((site, (first + timedelta(days=i)).isoformat()))
                if day is not None:
                    run.ts += day.ts
                    run.bodies += day.bodies
            self.runs[(site, when)] = run
        return self.runs[(site, when)]


def _moved(template: DayVisits, days: int, copy: int) -> DayVisits:
    """A day's visits moved `days` days later, ids made unique by the copy number."""
    shift = days * 86_400
    bodies = []
    for body in template.bodies:
        v = orjson.loads(body)
        v["idVisit"] = int(v["idVisit"]) + copy * 10_000_000
        for key in ("serverTimestamp", "firstActionTimestamp", "lastActionTimestamp"):
            if isinstance(v.get(key), int):
                v[key] += shift
        if isinstance(v.get("serverDate"), str):
            v["serverDate"] = (
                date.fromisoformat(v["serverDate"]) + timedelta(days=days)
            ).isoformat()
        for action in v.get("actionDetails") or ():
            if isinstance(action.get("timestamp"), int):
                action["timestamp"] += shift
        bodies.append(orjson.dumps(v))
    return DayVisits([t + shift for t in template.ts], bodies)


async def _build(config: SandboxConfig, sites: list[int], days: list[date]) -> ReplayLive:
    sandbox = Sandbox(config)
    transport = httpx.ASGITransport(app=sandbox.app)
    out: dict[tuple[int, str], DayVisits] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox/") as client:

        async def call(**params: Any) -> Any:
            form = {"module": "API", "format": "JSON", "token_auth": TOKEN, **params}
            r = await client.post("index.php", data={k: str(v) for k, v in form.items()})
            r.raise_for_status()
            return orjson.loads(r.content)

        site_list = await call(method="SitesManager.getSitesWithAtLeastViewAccess", filter_limit=-1)
        for site in sites:
            for d in days:
                visits = await call(
                    method="Live.getLastVisitsDetails",
                    idSite=site,
                    period="day",
                    date=d.isoformat(),
                    filter_limit=-1,
                    filter_sort_order="asc",
                )
                visits.sort(key=lambda v: (int(v["lastActionTimestamp"]), int(v["idVisit"])))
                out[(site, d.isoformat())] = DayVisits(
                    [int(v["lastActionTimestamp"]) for v in visits],
                    [orjson.dumps(v) for v in visits],
                )
    return ReplayLive(out, orjson.dumps(site_list))
