"""What a generation costs, per provider and duration."""

from __future__ import annotations

from collections.abc import Iterable

from liveai.errors import InvalidInput
from liveai.settings import Settings


def offered(settings: Settings, provider: str) -> dict[int, int]:
    """Duration (seconds) -> credits for one provider; 'default' covers the rest."""
    table = settings.generation_prices
    return dict(table.get(provider) or table.get("default") or {})


def price_for(settings: Settings, provider: str, duration_s: int) -> int | None:
    return offered(settings, provider).get(duration_s)


def hold_amount(settings: Settings, providers: Iterable[str], duration_s: int) -> int:
    """The most any provider that offers this duration charges: failover never overdraws."""
    prices = [p for name in providers if (p := price_for(settings, name, duration_s)) is not None]
    if not prices:
        durations = sorted({d for name in providers for d in offered(settings, name)})
        raise InvalidInput(
            f"no provider offers a {duration_s} s video",
            hint=f"pick one of: {', '.join(f'{d}' for d in durations) or 'none configured'} s",
        )
    return max(prices)
