"""Viewer users: a token with view access to some sites only answers like Matomo 5.11.2's
user `viewer` (recorded cases 012, 157, 201, 202, 203), beyond the shapes the fidelity test
compares: the exact sites, the per-item bulk error, the same data as the super user sees."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sandbox_support import TOKEN, VIEWER_TOKEN, api_json, client_for, load_case, recorded_config

from matomo_client.sandbox import Sandbox, SandboxConfig, parse_viewers
from matomo_client.sandbox.__main__ import main as sandbox_main

pytestmark = pytest.mark.anyio

DAY = {"period": "day", "date": "2026-11-28"}


def _sandbox(**viewers: Any) -> Sandbox:
    return Sandbox(recorded_config(viewers=viewers or {VIEWER_TOKEN: {2}}))


async def _as(
    client: httpx.AsyncClient, token: str = VIEWER_TOKEN, **params: Any
) -> httpx.Response:
    """POST an API call with `token` in the body."""
    data = {"module": "API", "format": "JSON", "token_auth": token}
    data.update({k: str(v) for k, v in params.items()})
    return await client.post("index.php", data=data)


async def test_viewer_lists_only_its_sites_without_creator_login() -> None:
    """Both site lists hold exactly the viewer's sites, and rows lack creator_login as in 012."""
    recorded = json.loads(load_case(12)[1])
    async with client_for(_sandbox()) as client:
        sites = (await _as(client, method="SitesManager.getSitesWithAtLeastViewAccess")).json()
        ids = (await _as(client, method="SitesManager.getSitesIdWithAtLeastViewAccess")).json()
        one = (await _as(client, method="SitesManager.getSiteFromId", idSite=2)).json()
        admin = await api_json(client, method="SitesManager.getSitesWithAtLeastViewAccess")
    assert [s["idsite"] for s in sites] == [s["idsite"] for s in recorded] == [2]
    assert list(sites[0]) == list(recorded[0])
    assert {k: sites[0][k] for k in ("name", "main_url", "timezone")} == {
        k: recorded[0][k] for k in ("name", "main_url", "timezone")
    }
    assert ids == [2]
    assert "creator_login" not in one
    # the super user still sees every site, with the creator's login
    assert [s["idsite"] for s in admin] == [1, 2, 3]
    assert all("creator_login" in s for s in admin)


async def test_viewer_of_several_sites_sees_them_all() -> None:
    """A viewer of sites 1 and 3 lists both, and idSite=all covers exactly those two."""
    async with client_for(_sandbox(**{"multi": {3, 1}})) as client:
        ids = await _as(client, "multi", method="SitesManager.getSitesIdWithAtLeastViewAccess")
        every = await _as(client, "multi", method="VisitsSummary.get", idSite="all", **DAY)
    assert ids.json() == [1, 3]
    assert every.status_code == 200
    assert sorted(every.json()) == ["1", "3"]


async def test_viewer_gets_the_super_users_data_for_its_site() -> None:
    """202: the viewer's VisitsSummary for site 2 is the super user's, byte for byte."""
    async with client_for(_sandbox()) as client:
        as_viewer = await _as(client, method="VisitsSummary.get", idSite=2, **DAY)
        as_admin = await _as(client, TOKEN, method="VisitsSummary.get", idSite=2, **DAY)
    assert as_viewer.status_code == 200
    assert as_viewer.content == as_admin.content
    assert set(as_viewer.json()) == set(json.loads(load_case(202)[1]))


async def test_idsite_all_as_viewer_is_keyed_by_its_sites_only() -> None:
    """idSite=all for a viewer of site 2 is a Map with the one key "2" (Matomo resolves
    `all` to the sites the user can view); idSite=1,2 fails on site 1."""
    async with client_for(_sandbox()) as client:
        every = await _as(client, method="VisitsSummary.get", idSite="all", **DAY)
        mixed = await _as(client, method="VisitsSummary.get", idSite="2,1", **DAY)
        single = await _as(client, method="VisitsSummary.get", idSite=2, **DAY)
    assert every.status_code == 200
    assert every.json() == {"2": single.json()}
    assert mixed.status_code == 401
    assert mixed.json() == json.loads(load_case(201)[1])


async def test_bulk_fails_per_item_with_the_recorded_message() -> None:
    """157: in one bulk request the site-2 item succeeds and the site-1 item carries the exact error."""
    request, body = load_case(157)
    recorded = json.loads(body)
    params = {k: v for k, v in request["params"].items() if k not in ("module", "format")}
    async with client_for(_sandbox()) as client:
        response = await _as(client, **params)
        site2 = await _as(
            client, method="VisitsSummary.get", idSite=2, period="day", date="yesterday"
        )
    assert response.status_code == 200
    items = response.json()
    assert len(items) == 2
    assert items[0] == site2.json()
    assert items[1] == recorded[1]


@pytest.mark.parametrize(
    "method", ["SitesManager.addSite", "SitesManager.getAllSitesId", "API.getPhpVersion"]
)
async def test_super_user_methods_refuse_the_viewer(method: str) -> None:
    """203: super-user-only methods answer a viewer with the recorded 401 and message."""
    recorded = json.loads(load_case(203)[1])
    async with client_for(_sandbox()) as client:
        response = await _as(client, method=method, siteName="x", **{"urls[0]": "https://x.test"})
        admin_ids = await api_json(client, method="SitesManager.getAllSitesId")
    assert response.status_code == 401
    assert response.json() == recorded
    assert admin_ids == [1, 2, 3]


async def test_viewer_without_sites_is_refused_like_anonymous() -> None:
    """A viewer with no site gets 'at least one website' for the version and idSite=all (188)."""
    recorded = json.loads(load_case(188)[1])
    async with client_for(_sandbox(nobody=set())) as client:
        version = await _as(client, "nobody", method="API.getMatomoVersion")
        every = await _as(client, "nobody", method="VisitsSummary.get", idSite="all", **DAY)
        sites = await _as(client, "nobody", method="SitesManager.getSitesWithAtLeastViewAccess")
    assert version.status_code == every.status_code == 401
    assert version.json() == every.json() == recorded
    assert sites.json() == []


async def test_viewer_token_in_bearer_header_and_get_query() -> None:
    """The viewer's token works as a Bearer header; in the query string only when GET tokens are accepted."""
    strict = _sandbox()
    lenient = Sandbox(recorded_config(viewers={VIEWER_TOKEN: {2}}, accept_token_in_get=True))
    params = {
        "module": "API",
        "format": "JSON",
        "method": "SitesManager.getSitesIdWithAtLeastViewAccess",
    }
    async with client_for(strict) as client:
        bearer = await client.post(
            "index.php", data=params, headers={"Authorization": f"Bearer {VIEWER_TOKEN}"}
        )
        refused = await client.get("index.php", params={**params, "token_auth": VIEWER_TOKEN})
    async with client_for(lenient) as client:
        accepted = await client.get("index.php", params={**params, "token_auth": VIEWER_TOKEN})
    assert bearer.json() == [2]
    assert refused.status_code == 401
    assert accepted.json() == [2]


async def test_access_granted_later_through_the_viewer_map() -> None:
    """Changing `sandbox.viewers` grants access from the next request on, without a restart."""
    sb = _sandbox()
    async with client_for(sb) as client:
        before = await _as(client, method="VisitsSummary.get", idSite=1, **DAY)
        sb.viewers[VIEWER_TOKEN] = frozenset({1, 2})
        after = await _as(client, method="VisitsSummary.get", idSite=1, **DAY)
    assert before.status_code == 401
    assert after.status_code == 200
    assert "nb_visits" in after.json()


async def test_viewer_token_stays_out_of_the_log_and_repr() -> None:
    """Neither the request log nor the config's repr holds a viewer's token."""
    sb = _sandbox()
    async with client_for(sb) as client:
        await _as(client, method="VisitsSummary.get", idSite=1, **DAY)
    assert VIEWER_TOKEN not in repr(sb.requests)
    assert VIEWER_TOKEN not in repr(sb.config)
    assert "viewers=[[2]]" in repr(sb.config)


def test_parse_viewers_and_config_validation() -> None:
    """`--viewer TOKEN:IDS` values parse (a token may contain ':'); bad ones fail without echoing the token."""
    assert parse_viewers(["a:1,2", "b:c:3", "a:4"]) == {
        "a": frozenset({1, 2, 4}),
        "b:c": frozenset({3}),
    }
    for bad in ["secret-tok", "secret-tok:", "secret-tok:0", "secret-tok:x", ":1"]:
        with pytest.raises(ValueError, match="expected TOKEN:ID") as info:
            parse_viewers([bad])
        assert "secret-tok" not in str(info.value)
    with pytest.raises(ValueError, match="super user's token") as info:
        SandboxConfig(viewers={TOKEN: {1}})
    assert TOKEN not in str(info.value)
    with pytest.raises(ValueError, match="site ids must be integers >= 1"):
        SandboxConfig(viewers={"secret-tok": {0}})
    with pytest.raises(ValueError, match="must not be empty or 'anonymous'"):
        SandboxConfig(viewers={"anonymous": {1}})
    # the mapping is copied and read-only: the caller's dict cannot change a config
    mine = {"v": {2}}
    config = SandboxConfig(viewers=mine)
    mine["v"].add(1)
    assert config.viewers == {"v": frozenset({2})}
    with pytest.raises(TypeError):
        config.viewers["w"] = frozenset({1})  # type: ignore[index]


def test_python_m_sandbox_passes_viewers_to_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m matomo_client.sandbox --viewer T:1,2 --viewer U:3` hands serve() the viewer map."""
    seen: dict[str, Any] = {}

    def fake_serve(host: str, port: int, **options: Any) -> None:
        seen.update(options)

    monkeypatch.setattr("matomo_client.sandbox.__main__.serve", fake_serve)
    sandbox_main(["--port", "0", "--viewer", "T:1,2", "--viewer", "U:3"])
    assert seen["viewers"] == {"T": frozenset({1, 2}), "U": frozenset({3})}
    with pytest.raises(SystemExit):
        sandbox_main(["--viewer", "sandbox-token:1"])
