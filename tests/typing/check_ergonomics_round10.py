"""Checked by mypy (tests/typing/test_typing.py), never run: types an integration relies on.

Lines ending in `# type: ignore[code]` must be errors (strict mypy warns about unused ignores).
"""

from __future__ import annotations

from pydantic import BaseModel
from typing_extensions import assert_type

import matomo_client
from matomo_client import AsyncMatomo, Matomo, Params, Site
from matomo_client.endpoints import CallTyped
from matomo_client.transports import (
    AiohttpTransport,
    AsyncHttpxTransport,
    HttpxTransport,
    SyncMockTransport,
)


class Country(BaseModel):
    """A user's own row model."""

    label: str
    nb_visits: int


class ShopClient(Matomo):
    """A user's subclass with its own helpers."""

    def shop_name(self) -> str | None:
        """The name of site 1."""
        return self.sites.get(1).name


class AsyncShopClient(AsyncMatomo):
    """The async twin of `ShopClient`."""

    async def shop_name(self) -> str | None:
        """The name of site 1."""
        return (await self.sites.get(1)).name


def check_endpoints_without_a_client(transport: SyncMockTransport) -> None:
    """An escape-hatch endpoint value is typed by the result type it is given."""
    endpoint = CallTyped("UserCountry.getCountry", Params().id_site(1), list[Country])
    assert_type(endpoint, CallTyped[list[Country]])
    assert_type(endpoint.execute_sync(transport), list[Country])
    assert_type(
        CallTyped("SitesManager.getSiteFromId", Params(), Site).execute_sync(transport), Site
    )


def check_subclasses_keep_their_type() -> None:
    """`with Subclass(...) as m` gives the subclass, so its own methods type-check."""
    with ShopClient("https://stats.example.com/") as m:
        assert_type(m, ShopClient)
        assert_type(m.shop_name(), str | None)
    with HttpxTransport("https://stats.example.com/") as transport:
        assert_type(transport, HttpxTransport)


async def check_async_subclasses_keep_their_type() -> None:
    """`async with Subclass(...) as m` gives the subclass."""
    async with AsyncShopClient("https://stats.example.com/") as m:
        assert_type(m, AsyncShopClient)
        assert_type(await m.shop_name(), str | None)
    async with AsyncHttpxTransport("https://stats.example.com/") as transport:
        assert_type(transport, AsyncHttpxTransport)


def check_misspelt_names_are_refused() -> None:
    """A misspelt public name is an error, not a silent `Any`."""
    matomo_client.AsyncMatomoo("https://stats.example.com/")  # type: ignore[attr-defined]
    matomo_client.endpoints.GetMatomoVersionn()  # type: ignore[attr-defined]
    matomo_client.transports.AiohttpTransportt("https://x.example/")  # type: ignore[attr-defined]


class TracedTransport(AiohttpTransport):
    """A user's subclass of the aiohttp transport."""

    def traced(self) -> bool:
        return True


async def check_aiohttp_transport_subclass_keeps_its_type() -> None:
    """`async with Subclass(...) as t` gives the subclass."""
    async with TracedTransport("https://stats.example.com/") as transport:
        assert_type(transport, TracedTransport)
