"""Sites 4, 5, ... of `SandboxConfig.extra_sites`: a Matomo with hundreds of sites to export from.

Each site is drawn from `random.Random("site/seed/id")` alone, so asking for more sites never
changes the ones already there, nor sites 1-3: a timezone (half-hour offsets such as
Asia/Kolkata, southern-hemisphere summer time such as Australia/Sydney), the Shop's or the
Blog's pages, ecommerce or not, goals or not, a small share of `visits_per_day` (some sites
get none), and a creation day inside the configured days (`created_at`): no visit before it.
"""

from __future__ import annotations

import random

from . import catalog as c

__all__ = ["MAX_EXTRA_SITES", "extra_sites"]

#: the most extra sites a sandbox has (idVisit blocks are numbered for this many)
MAX_EXTRA_SITES = 10_000

# (timezone, Matomo's timezone_name, currency)
_ZONES: tuple[tuple[str, str, str], ...] = (
    ("UTC", "UTC", "USD"),
    ("Europe/Berlin", "Germany - Berlin", "EUR"),
    ("Europe/London", "United Kingdom", "GBP"),
    ("America/New_York", "United States - New York", "USD"),
    ("America/Los_Angeles", "United States - Los Angeles", "USD"),
    ("America/Sao_Paulo", "Brazil - São Paulo", "BRL"),
    ("America/St_Johns", "Canada - St. John’s", "CAD"),
    ("Asia/Kolkata", "India", "INR"),
    ("Asia/Kathmandu", "Nepal", "NPR"),
    ("Asia/Tokyo", "Japan", "JPY"),
    ("Australia/Sydney", "Australia - Sydney", "AUD"),
    ("Australia/Adelaide", "Australia - Adelaide", "AUD"),
    ("Pacific/Auckland", "New Zealand - Auckland", "NZD"),
)
# code -> (name, symbol)
_CURRENCIES: dict[str, tuple[str, str]] = {
    "USD": ("US Dollar", "$"),
    "EUR": ("Euro", "€"),
    "GBP": ("British Pound", "£"),
    "BRL": ("Brazilian Real", "R$"),
    "CAD": ("Canadian Dollar", "CA$"),
    "INR": ("Indian Rupee", "₹"),
    "NPR": ("Nepalese Rupee", "NPRs"),
    "JPY": ("Japanese Yen", "¥"),
    "AUD": ("Australian Dollar", "A$"),
    "NZD": ("New Zealand Dollar", "NZ$"),
}
# shares of visits_per_day: one site in eight has no visits at all
_VOLUMES = (0.0, 0.02, 0.05, 0.05, 0.1, 0.1, 0.2, 0.3)


def _site(seed: int, id_site: int) -> c.SiteInfo:
    rng = random.Random(f"site/{seed}/{id_site}")
    tz, tz_name, currency = _ZONES[int(rng.random() * len(_ZONES))]
    ecommerce = rng.random() < 0.3
    like_shop = ecommerce or rng.random() < 0.4
    template = c.SITES[0] if like_shop else c.SITES[1]
    goals: tuple[tuple[int, str, float], ...] = ()
    if rng.random() < 0.5:
        goals = template.goals if rng.random() < 0.7 else template.goals[:1]
    volume = _VOLUMES[int(rng.random() * len(_VOLUMES))]
    created_at = rng.random() ** 2  # more old sites than new ones
    kind = "Store" if ecommerce else "Site" if like_shop else "Blog"
    host = f"{kind.lower()}{id_site}.example.com"
    name, symbol = _CURRENCIES[currency]
    return c.SiteInfo(
        id=id_site,
        name=f"{kind} {id_site}",
        main_url=f"https://{host}",
        timezone=tz,
        timezone_name=tz_name,
        currency=currency,
        currency_name=name,
        currency_symbol=symbol,
        ecommerce=ecommerce,
        creator_login="admin",
        volume=volume,
        pages=template.pages,
        downloads=tuple(
            u.replace(template.main_url, f"https://{host}") for u in template.downloads
        ),
        outlinks=template.outlinks,
        goals=goals,
        custom_dimensions=False,
        created_at=created_at,
    )


def extra_sites(seed: int, count: int, first_id: int = len(c.SITES) + 1) -> tuple[c.SiteInfo, ...]:
    """`count` extra sites numbered from `first_id`, drawn from `seed`."""
    if not 0 <= count <= MAX_EXTRA_SITES:
        raise ValueError(f"extra_sites must be between 0 and {MAX_EXTRA_SITES}, got {count}")
    return tuple(_site(seed, i) for i in range(first_id, first_id + count))
