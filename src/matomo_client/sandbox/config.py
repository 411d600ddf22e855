"""Options of the sandbox: the world to generate and the faults to inject.

Both are frozen dataclasses so a configuration can be shared between the app, the
world and the tests without anyone changing it under the others' feet.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from .extra_sites import MAX_EXTRA_SITES

__all__ = ["Faults", "SandboxConfig", "parse_viewers"]


@dataclass(frozen=True)
class Faults:
    """Probabilities (0..1) of misbehaving like a real server or the proxy in front of it.

    Each request draws once from a seeded Random: the first matching fault in the order
    hang, 429, 5xx, HTML page, truncated body is applied.

    `max_failed_logins` is Matomo's brute-force detection instead (plugins/Login, default 20
    failures per IP in 60 minutes; None leaves it off): once more requests than that have
    failed to log in (an unknown token) within 60 minutes, every API request that carries a
    token, valid or not, gets Matomo's HTTP 500 "Too many failed logins" page (recorded
    229-230); anonymous requests still answer (231). `Sandbox.unblock_logins()` lifts it, as
    `console login:unblock-blocked-ips` does (232).
    """

    error_5xx_rate: float = 0.0
    rate_429: float = 0.0
    retry_after_s: int = 1
    truncated_rate: float = 0.0
    html_error_rate: float = 0.0
    hang_rate: float = 0.0
    hang_s: float = 30.0
    max_failed_logins: int | None = None

    def __post_init__(self) -> None:
        for name in (
            "error_5xx_rate",
            "rate_429",
            "truncated_rate",
            "html_error_rate",
            "hang_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{name} must be between 0 and 1, got {value!r}")
        if self.retry_after_s < 0 or self.hang_s < 0:
            raise ValueError("Faults.retry_after_s and Faults.hang_s must not be negative")
        limit = self.max_failed_logins
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise ValueError(f"Faults.max_failed_logins must be None or >= 0, got {limit!r}")

    @property
    def any(self) -> bool:
        """Whether any random fault can happen at all (the brute-force block is not drawn)."""
        return any(
            (
                self.error_5xx_rate,
                self.rate_429,
                self.truncated_rate,
                self.html_error_rate,
                self.hang_rate,
            )
        )


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that defines a sandbox: same config (and seed) gives the same data.

    `today` defaults to the real current UTC date; then visits of today only become
    visible once the real clock passes them, as on a real server. `live_traffic` instead
    advances a virtual clock by `live_step_s` seconds per request, so new visits arrive
    and visits in progress grow while a client pages (deterministic per request sequence).
    The virtual clock starts at noon UTC of a fixed `today` (else at the real time) and does
    not move to the next day: once it passes today's last visit, nothing more arrives (with
    the default 300 s a request, after about 144 requests from noon). Lower `live_step_s`
    for a longer run with traffic.

    `viewers` maps more tokens to the site ids each may view, like Matomo users with view
    access to some sites only: they see those sites and get Matomo's 401 for any other
    site and for super-user methods. The super user's `token` cannot also be a viewer's.

    `extra_sites` adds sites 4 to 3 + `extra_sites` (up to 10,000) after the default three,
    which stay as they are: their settings (timezone, creation day inside the days, ecommerce,
    goals) and a small share of `visits_per_day` are drawn from the seed (`extra_sites.py`).
    """

    seed: int = 1
    days: int = 90
    visits_per_day: int = 50
    token: str = "sandbox-token"
    today: date | None = None
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    faults: Faults = field(default_factory=Faults)
    live_traffic: bool = False
    live_step_s: int = 300
    accept_token_in_get: bool = False
    live_disabled_sites: frozenset[int] = frozenset()
    extra_sites: int = 0
    # not hashed: a mapping is not hashable (configs compare equal field by field still)
    viewers: Mapping[str, frozenset[int]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days must be >= 1, got {self.days}")
        if self.visits_per_day < 0:
            raise ValueError(f"visits_per_day must be >= 0, got {self.visits_per_day}")
        if not self.token:
            raise ValueError("token must not be empty")
        if not all(0 <= v < math.inf for v in (self.latency_ms, self.latency_jitter_ms)):
            # NaN would add no latency without a word, infinity would hang every request
            raise ValueError("latency must be a finite number >= 0")
        if self.live_step_s < 1:
            raise ValueError("live_step_s must be >= 1")
        extra = self.extra_sites
        if (
            isinstance(extra, bool)
            or not isinstance(extra, int)
            or not 0 <= extra <= MAX_EXTRA_SITES
        ):
            raise ValueError(
                f"extra_sites must be an integer from 0 to {MAX_EXTRA_SITES}, got {extra!r}"
            )
        # accept any iterable of ints for convenience, store a frozenset
        object.__setattr__(self, "live_disabled_sites", frozenset(self.live_disabled_sites))
        viewers: dict[str, frozenset[int]] = {}
        for token, sites in self.viewers.items():
            # messages name the viewer by position: tokens never appear in them
            which = f"viewer #{len(viewers) + 1}"
            if not token or token == "anonymous":
                raise ValueError(f"{which}: the token must not be empty or 'anonymous'")
            if token == self.token:
                raise ValueError(f"{which}: the token is the super user's token")
            ids = frozenset(sites)
            if any(isinstance(i, bool) or not isinstance(i, int) or i < 1 for i in ids):
                raise ValueError(f"{which}: site ids must be integers >= 1")
            viewers[token] = ids
        object.__setattr__(self, "viewers", MappingProxyType(viewers))

    def __repr__(self) -> str:
        # never show the token, even in a test failure
        extra = f"extra_sites={self.extra_sites}, " if self.extra_sites else ""
        return (
            f"SandboxConfig(seed={self.seed}, days={self.days}, "
            f"visits_per_day={self.visits_per_day}, today={self.today!r}, "
            f"live_traffic={self.live_traffic}, faults={self.faults!r}, {extra}"
            f"viewers={sorted(sorted(sites) for sites in self.viewers.values())})"
        )


def parse_viewers(specs: Iterable[str]) -> dict[str, frozenset[int]]:
    """`--viewer TOKEN:ID[,ID...]` values to `SandboxConfig.viewers` (a repeated token adds sites).

    Raises ValueError with a message that never repeats the token.
    """
    viewers: dict[str, frozenset[int]] = {}
    for n, spec in enumerate(specs, start=1):
        token, sep, ids = spec.rpartition(":")
        parts = [p.strip() for p in ids.split(",")]
        if (
            not sep
            or not token
            or not all(p.isascii() and p.isdigit() and int(p) >= 1 for p in parts)
        ):
            raise ValueError(f"viewer #{n}: expected TOKEN:ID[,ID...] with site ids >= 1")
        viewers[token] = viewers.get(token, frozenset()) | {int(p) for p in parts}
    return viewers
