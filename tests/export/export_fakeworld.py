"""A tiny in-memory Matomo for export tests, served through the library's `MockTransport`.

It answers the calls the exporter makes with Matomo's semantics: Live day windows inclusive of
the next midnight (site timezone), `minTimestamp` strict, ascending order by last action then
id; VisitsSummary day series counting each visit on its last action's local day; report
metadata and bulk requests for one simple report.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from matomo_client import AsyncMatomo, Auth, MockTransport
from matomo_client._core.http import Request, Response
from matomo_client.transports.mock import json_response, request_params

SITES = [(1, "Shop", "UTC"), (2, "Blog", "Europe/Berlin"), (3, "Empty", "UTC")]


@dataclass
class FakeMatomo:
    """Deterministic visits for sites 1 and 2 over `days` days ending `today` (UTC)."""

    today: date
    days: int = 5
    per_day: int = 7
    seed: int = 1
    disabled_sites: set[int] = field(default_factory=set)
    summary_offset: dict[tuple[int, date], int] = field(default_factory=dict)
    visits: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        rnd = random.Random(self.seed)
        vid = 0
        for id_site, name, tz in SITES[:2]:
            zone = ZoneInfo(tz) if tz != "UTC" else timezone.utc
            for n in range(self.days):
                d = self.today - timedelta(days=self.days - 1 - n)
                midnight = int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp())
                # 23 hours: the shortest local day (DST), so every visit stays on its day
                stamps = [midnight + rnd.randrange(0, 82800) for _ in range(self.per_day)]
                stamps[0] = midnight  # a visit exactly at midnight: Matomo returns it twice
                stamps[1] = stamps[2]  # two visits in the same second
                for ts in stamps:
                    vid += 1
                    self.visits.append(self._visit(id_site, name, vid, ts, rnd))

    @staticmethod
    def _visit(id_site: int, name: str, vid: int, ts: int, rnd: random.Random) -> dict[str, Any]:
        n_actions = rnd.randrange(1, 4)
        first = ts - 60 * (n_actions - 1)
        return {
            "idSite": id_site,
            "idVisit": vid,
            "visitorId": f"{vid:016x}",
            "serverTimestamp": ts,
            "firstActionTimestamp": first,
            "lastActionTimestamp": ts,
            "lastActionDateTime": "ignored",
            "serverDate": datetime.fromtimestamp(first, timezone.utc).date().isoformat(),
            "visitServerHour": str(datetime.fromtimestamp(first, timezone.utc).hour),
            "visitDuration": ts - first,
            "visitDurationPretty": "pretty",
            "actions": n_actions,
            "siteName": name,
            "totalEcommerceItems": "2",
            "countryFlag": "plugins/flag.png",
            "dimension1": f"dim-{vid % 3}",
            "actionDetails": [
                {
                    "type": "action",
                    "url": f"https://{name.lower()}.example/p/{i}",
                    "pageTitle": f"Page {i} – {name}",
                    "timestamp": first + 60 * i,
                    "timeSpent": 60,
                    "timeSpentPretty": "1 min",
                    "icon": "x.png",
                    "pageviewPosition": i + 1,
                    "dimension2": "cat",
                }
                for i in range(n_actions)
            ],
        }

    # --- serving --------------------------------------------------------------------------
    def _tz(self, id_site: int) -> Any:
        tz = next(t for i, _, t in SITES if i == id_site)
        return timezone.utc if tz == "UTC" else ZoneInfo(tz)

    def _midnight(self, id_site: int, d: date) -> int:
        return int(datetime(d.year, d.month, d.day, tzinfo=self._tz(id_site)).timestamp())

    def owned(self, id_site: int, d: date) -> list[dict[str, Any]]:
        """The visits whose last action is on local day `d` (what nb_visits counts)."""
        lo, hi = self._midnight(id_site, d), self._midnight(id_site, d + timedelta(days=1))
        return [
            v for v in self.visits if v["idSite"] == id_site and lo <= v["lastActionTimestamp"] < hi
        ]

    def all_ids(self, id_site: int | None = None) -> set[tuple[int, int]]:
        """(id_site, id_visit) of every visit."""
        return {
            (v["idSite"], v["idVisit"])
            for v in self.visits
            if id_site is None or v["idSite"] == id_site
        }

    def handle(self, request: Request) -> Response:
        """Answer one request."""
        p = request_params(request)
        self.requests.append(p)
        method = p.get("method", "")
        if method == "API.getBulkRequest":
            form = dict(parse_qsl(request.body.decode()))
            out = []
            i = 0
            while f"urls[{i}]" in form:
                sub = dict(parse_qsl(form[f"urls[{i}]"], keep_blank_values=True))
                out.append(self._answer(sub.get("method", ""), sub))
                i += 1
            return json_response(out)
        return json_response(self._answer(method, p))

    def _answer(self, method: str, p: dict[str, str]) -> Any:
        if method == "SitesManager.getSitesWithAtLeastViewAccess":
            return [
                {"idsite": str(i), "name": n, "timezone": t, "ts_created": "2020-01-01 00:00:00"}
                for i, n, t in SITES
            ]
        if method == "Live.getLastVisitsDetails":
            return self._live(p)
        if method == "VisitsSummary.get":
            id_site = int(p["idSite"])
            a, b = (date.fromisoformat(x) for x in p["date"].split(","))
            out: dict[str, Any] = {}
            d = a
            while d <= b:
                n = len(self.owned(id_site, d)) + self.summary_offset.get((id_site, d), 0)
                out[d.isoformat()] = {"nb_visits": n, "nb_actions": 0} if n else []
                d += timedelta(days=1)
            return out
        if method == "API.getReportMetadata":
            return [
                {"category": "x", "name": "Visits", "module": "VisitsSummary", "action": "get"},
                {"category": "x", "name": "All", "module": "MultiSites", "action": "getAll"},
            ]
        if method == "VisitsSummary.get" or method == "Actions.getPageUrls":
            return []
        return {"result": "error", "message": f"The method '{method}' does not exist."}

    def _live(self, p: dict[str, str]) -> Any:
        id_site = int(p["idSite"])
        if id_site in self.disabled_sites:
            return {
                "result": "error",
                "message": "Visits log is deactivated in website settings. A user with at least "
                f"admin access can enable this feature in the settings for this website "
                f"(idSite={id_site}).",
            }
        if p.get("period") == "range":  # A,B: 00:00 of A to 00:00 after B, both inclusive
            a, b = (date.fromisoformat(x) for x in p["date"].split(","))
        else:
            a = b = date.fromisoformat(p["date"])
        lo, hi = self._midnight(id_site, a), self._midnight(id_site, b + timedelta(days=1))
        rows = [
            v
            for v in self.visits
            if v["idSite"] == id_site and lo <= v["lastActionTimestamp"] <= hi  # both inclusive
        ]
        if "minTimestamp" in p:
            rows = [v for v in rows if v["lastActionTimestamp"] > int(p["minTimestamp"])]
        rows.sort(key=lambda v: (v["lastActionTimestamp"], v["idVisit"]))
        if p.get("filter_sort_order") != "asc":
            rows.reverse()
        off, lim = int(p.get("filter_offset", 0)), int(p.get("filter_limit", 100))
        return rows[off : off + lim] if lim >= 0 else rows[off:]

    def client(self, transport: Any = None) -> AsyncMatomo:
        """A real client wired to this fake (or to `transport`, which may wrap `handle`)."""
        return AsyncMatomo(
            "https://matomo.test/",
            auth=Auth.token("fake-token-123"),
            transport=transport or MockTransport(self.handle),
            skip_preflight=True,
        )
