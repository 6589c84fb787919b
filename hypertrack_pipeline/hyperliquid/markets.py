"""Which coins to record: perps, spot pairs and builder-dex perps, within the subscription limit.

Hyperliquid names a market by its wire coin: perps ``BTC``, spot pairs ``PURR/USDC`` or ``@107``,
builder-dex perps ``xyz:NVDA``. The lists come from Info ``meta``, ``spotMeta`` and ``perpDexs`` +
``meta {dex}``. Each coin costs one subscription per recorded WebSocket stream, and an IP may hold
at most 1000 subscriptions (Hyperliquid docs, "Rate limits"; :data:`~.pacing.MAX_SUBSCRIPTIONS`): when
the coins asked for need more, the highest-volume coins (24 h notional, from the ``…AndAssetCtxs``
requests) are kept and the rest left out, by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.hyperliquid.info import InfoClient
from hypertrack_pipeline.hyperliquid.pacing import MAX_SUBSCRIPTIONS

MARKET_KINDS = ("perp", "spot", "dex")


def parse_markets(text: str) -> tuple[str, ...]:
    """``perp,spot,dex`` (any subset, ``all`` for the three) → kinds in the canonical order."""
    parts = {p.strip().lower() for p in text.split(",") if p.strip()}
    if "all" in parts:
        parts = set(MARKET_KINDS) | (parts - {"all"})
    bad = sorted(parts - set(MARKET_KINDS))
    if bad or not parts:
        raise UserError(f"--markets: expected a comma list of {', '.join(MARKET_KINDS)} (or all), got {text!r}")
    return tuple(k for k in MARKET_KINDS if k in parts)


def market_kind(name: str) -> str:
    """perp, spot or dex from the wire name alone."""
    if name.startswith("@") or "/" in name:
        return "spot"
    return "dex" if ":" in name else "perp"


def list_coins(info: InfoClient, kinds: tuple[str, ...]) -> list[str]:
    """Every listed coin of the asked kinds, perps first, then spot pairs, then each dex's perps."""
    coins: list[str] = []
    if "perp" in kinds:
        coins += info.perp_coins()
    if "spot" in kinds:
        coins += info.spot_pairs()
    if "dex" in kinds:
        for dex in info.perp_dexs():
            coins += info.perp_coins(dex)
    return list(dict.fromkeys(coins))


def coin_volumes(info: InfoClient, coins: list[str]) -> dict[str, float]:
    """24 h notional volume of the coins, from one ``…AndAssetCtxs`` request per market kind / dex."""
    volumes: dict[str, float] = {}
    kinds = {market_kind(c) for c in coins}
    if "perp" in kinds:
        volumes.update(info.day_volumes("perp"))
    if "spot" in kinds:
        volumes.update(info.day_volumes("spot"))
    for dex in dict.fromkeys(c.split(":", 1)[0] for c in coins if market_kind(c) == "dex"):
        volumes.update(info.day_volumes("perp", dex))
    return volumes


@dataclass(frozen=True)
class Selection:
    """The coins to subscribe and those left out to stay within the subscription limit."""

    kept: list[str]
    left_out: list[str]
    streams: int
    limit: int

    def line(self) -> str:
        """The one line a user reads when coins were left out (empty when none were)."""
        if not self.left_out:
            return ""
        n = len(self.kept) + len(self.left_out)
        return (f"{n} coins × {self.streams} streams = {n * self.streams} subscriptions exceed Hyperliquid's limit "
                f"of {self.limit}: recording the {len(self.kept)} highest-volume coins, left out "
                f"{len(self.left_out)}: {', '.join(self.left_out)}")


def fit_subscriptions(coins: list[str], streams: int, volumes: dict[str, float] | None = None,
                      limit: int = MAX_SUBSCRIPTIONS) -> Selection:
    """Keep at most ``limit // streams`` coins, the highest by ``volumes`` (a coin without a volume
    counts as 0; ties keep the listed order); the kept coins stay in their listed order."""
    if streams <= 0 or len(coins) * streams <= limit:
        return Selection(list(coins), [], streams, limit)
    room = limit // streams
    vol = volumes or {}
    ranked = sorted(range(len(coins)), key=lambda i: (-vol.get(coins[i], 0.0), i))
    keep = set(ranked[:room])
    return Selection([c for i, c in enumerate(coins) if i in keep],
                     [coins[i] for i in ranked[room:]], streams, limit)
