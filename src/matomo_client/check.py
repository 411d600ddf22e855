"""`check_server`: is this Matomo ready for an export? The library behind `matomo check`.

It checks, in as few requests as it can: the server answers as a Matomo this client speaks to
(the preflight), the token is accepted, which sites it can view, and, per site in one bulk
request, whether the visits log is on and how many reports are exposed.
"""

from __future__ import annotations

from dataclasses import dataclass

from matomo_client._async.client import AsyncMatomo
from matomo_client._core.params import Params
from matomo_client.errors import ApiError, ApiErrorKind, MatomoError

__all__ = ["CheckLine", "check_server"]


@dataclass(frozen=True)
class CheckLine:
    """One finding: ok or not, what was checked (`server`, `token`, `sites`...), detail, error."""

    ok: bool
    what: str
    detail: str
    error: MatomoError | None = None


def _live_probe(id_site: int) -> tuple[str, Params]:
    # One visit without actions is the cheapest question that fails when the visits log is off.
    params = (
        Params()
        .id_site(id_site)
        .set("period", "day")
        .set("date", "today")
        .set("filter_limit", 1)
        .set("doNotFetchActions", 1)
    )
    return "Live.getLastVisitsDetails", params


async def check_server(client: AsyncMatomo) -> list[CheckLine]:
    """Every finding about `client`'s server; it stops at the first check the others depend on."""
    from ._sync.client import Matomo

    if isinstance(client, Matomo):
        raise TypeError("check_server needs an AsyncMatomo, not the blocking Matomo")
    lines: list[CheckLine] = []
    try:
        version = await client.preflight()
    except MatomoError as e:
        auth = isinstance(e, ApiError) and e.kind is ApiErrorKind.AUTH
        lines.append(CheckLine(False, "token" if auth else "server", str(e), e))
        return lines
    lines.append(CheckLine(True, "server", f"Matomo {version or '(version unknown)'}"))
    lines.append(CheckLine(True, "token", "accepted"))
    try:
        visible = await client.sites.list()
    except MatomoError as e:
        lines.append(CheckLine(False, "sites", str(e), e))
        return lines
    names = ", ".join(f"{s.id_site} {s.name or ''}".strip() for s in visible)
    lines.append(
        CheckLine(
            bool(visible), "sites", f"{len(visible)} visible" + (f": {names}" if names else "")
        )
    )
    if not visible:
        return lines
    probes: list[tuple[str, Params]] = []
    for s in visible:
        probes.append(_live_probe(s.id_site))
        probes.append(
            ("API.getReportMetadata", Params().id_site(s.id_site).set("filter_limit", -1))
        )
    try:
        results = await client.api.bulk(probes)
    except MatomoError as e:
        lines.append(CheckLine(False, "visits log", str(e), e))
        return lines
    for i, s in enumerate(visible):
        label = f"site {s.id_site} {s.name or ''}".rstrip()
        live, meta = results[2 * i], results[2 * i + 1]
        if live.ok:
            lines.append(CheckLine(True, "visits log", f"{label}: on"))
        else:
            lines.append(CheckLine(False, "visits log", label, live.error))
        if meta.ok and isinstance(meta.value, list):
            lines.append(
                CheckLine(bool(meta.value), "reports", f"{label}: {len(meta.value)} exposed")
            )
        else:
            lines.append(CheckLine(False, "reports", label, meta.error))
    return lines
