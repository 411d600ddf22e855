"""Options of the sandbox: the world to generate and the faults to inject.

Both are frozen dataclasses so a configuration can be shared between the app, the
world and the tests without anyone changing it under the others' feet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

__all__ = ["Faults", "SandboxConfig"]


@dataclass(frozen=True)
class Faults:
    """Probabilities (0..1) of misbehaving like a real server or the proxy in front of it.

    Each request draws once from a seeded Random: the first matching fault in the order
    hang, 429, 5xx, HTML page, truncated body is applied.
    """

    error_5xx_rate: float = 0.0
    rate_429: float = 0.0
    retry_after_s: int = 1
    truncated_rate: float = 0.0
    html_error_rate: float = 0.0
    hang_rate: float = 0.0
    hang_s: float = 30.0

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

    @property
    def any(self) -> bool:
        """Whether any fault can happen at all."""
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

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days must be >= 1, got {self.days}")
        if self.visits_per_day < 0:
            raise ValueError(f"visits_per_day must be >= 0, got {self.visits_per_day}")
        if not self.token:
            raise ValueError("token must not be empty")
        if self.latency_ms < 0 or self.latency_jitter_ms < 0:
            raise ValueError("latency must not be negative")
        if self.live_step_s < 1:
            raise ValueError("live_step_s must be >= 1")
        # accept any iterable of ints for convenience, store a frozenset
        object.__setattr__(self, "live_disabled_sites", frozenset(self.live_disabled_sites))

    def __repr__(self) -> str:
        # never show the token, even in a test failure
        return (
            f"SandboxConfig(seed={self.seed}, days={self.days}, "
            f"visits_per_day={self.visits_per_day}, today={self.today!r}, "
            f"live_traffic={self.live_traffic}, faults={self.faults!r})"
        )
