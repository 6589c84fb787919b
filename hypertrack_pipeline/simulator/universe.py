"""The simulated exchange's static world: perp coins, ERC-20 tokens and deterministic addresses.

Coins carry Hyperliquid's ``szDecimals`` (size lot = 10**-szDecimals); prices follow the exchange's
rule of at most 5 significant figures and at most ``6 - szDecimals`` decimals, so simulated prices
look like real ones and round-trip through the wire format unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Coin:
    """A perp market: name, size decimals, starting price, volatility factor, base half-spread."""

    name: str
    sz_decimals: int
    start_px: float
    vol_factor: float  # multiplies the regime's per-second volatility
    half_spread: float  # fraction of mid in the calm regime
    max_leverage: int = 20


# A plausible perp universe (prices are only starting points of the random walk).
COINS: tuple[Coin, ...] = (
    Coin("BTC", 5, 95_000.0, 0.8, 0.00004, 40),
    Coin("ETH", 4, 3_300.0, 1.0, 0.00005, 25),
    Coin("SOL", 2, 190.0, 1.2, 0.00008, 20),
    Coin("HYPE", 2, 25.0, 1.4, 0.0001, 10),
    Coin("XRP", 0, 2.2, 1.2, 0.0001, 20),
    Coin("DOGE", 0, 0.35, 1.4, 0.00012, 10),
    Coin("AVAX", 2, 35.0, 1.3, 0.0001, 10),
    Coin("LINK", 1, 20.0, 1.3, 0.0001, 10),
    Coin("ARB", 1, 0.8, 1.5, 0.00015, 10),
    Coin("SUI", 1, 4.0, 1.5, 0.00012, 10),
    Coin("BNB", 3, 650.0, 0.9, 0.00008, 10),
    Coin("LTC", 2, 100.0, 1.1, 0.0001, 10),
    Coin("OP", 1, 1.8, 1.5, 0.00015, 10),
    Coin("APT", 2, 9.0, 1.5, 0.00015, 10),
    Coin("INJ", 1, 22.0, 1.5, 0.00015, 10),
    Coin("TIA", 1, 5.0, 1.6, 0.00015, 10),
    Coin("SEI", 0, 0.4, 1.6, 0.00015, 10),
    Coin("WIF", 0, 1.5, 1.8, 0.0002, 5),
    Coin("kPEPE", 0, 0.012, 1.8, 0.0002, 5),  # 1000 PEPE, as the real exchange lists it
    Coin("ENA", 0, 0.8, 1.6, 0.00015, 10),
)
COIN_BY_NAME = {c.name: c for c in COINS}
BIG_COINS = ("BTC", "ETH", "SOL")  # where whales trade (deep books)


def select_coins(spec: int | str | tuple[str, ...] | list[str]) -> tuple[Coin, ...]:
    """Coins for a run: a count (the first N of the universe) or names (comma text or sequence)."""
    from hypertrack_pipeline.errors import UserError

    if isinstance(spec, int):
        if not 1 <= spec <= len(COINS):
            raise UserError(f"--coins must be between 1 and {len(COINS)}, got {spec}")
        return COINS[:spec]
    names = [n.strip().upper() for n in (spec.split(",") if isinstance(spec, str) else spec)]
    names = [n for n in names if n]
    if not names:
        raise UserError("--coins: no coin given")
    if len(set(names)) != len(names):
        raise UserError(f"--coins: duplicate coin in {','.join(names)}")
    unknown = [n for n in names if n not in COIN_BY_NAME]
    if unknown:
        raise UserError(f"--coins: unknown coin(s) {','.join(unknown)}; known: {','.join(COIN_BY_NAME)}")
    return tuple(COIN_BY_NAME[n] for n in names)


def coin_meta(coins: tuple[Coin, ...]) -> dict:
    """The ``{"type": "meta"}`` Info response for these coins (what the protocol server answers)."""
    return {
        "universe": [
            {"name": c.name, "szDecimals": c.sz_decimals, "maxLeverage": c.max_leverage} for c in coins
        ]
    }


@dataclass(frozen=True)
class Token:
    """An ERC-20 contract on the simulated HyperEVM."""

    address: str
    symbol: str
    decimals: int


def random_addresses(rng: np.random.Generator, n: int, taken: set[str] | None = None) -> list[str]:
    """``n`` distinct lowercase 0x-addresses drawn from ``rng`` (deterministic for a seed)."""
    taken = set() if taken is None else taken
    out: list[str] = []
    while len(out) < n:
        blob = rng.bytes(20 * (n - len(out))).hex()
        for i in range(len(blob) // 40):
            addr = "0x" + blob[i * 40 : (i + 1) * 40]
            if addr not in taken:
                taken.add(addr)
                out.append(addr)
    return out


def make_tokens(rng: np.random.Generator, n: int, taken: set[str]) -> tuple[Token, ...]:
    """``n`` ERC-20 tokens with decimals 18, 6 or 8 (6 and 8 like bridged stablecoins and BTC)."""
    addrs = random_addresses(rng, n, taken)
    decimals = rng.choice(np.array([18, 18, 18, 6, 8]), size=n)
    return tuple(Token(a, f"TK{i:02d}", int(d)) for i, (a, d) in enumerate(zip(addrs, decimals, strict=True)))
