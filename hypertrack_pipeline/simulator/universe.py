"""The simulated exchange's static world: perp, spot and builder-dex markets, ERC-20 tokens and
deterministic addresses.

Coins carry Hyperliquid's ``szDecimals`` (size lot = 10**-szDecimals); prices follow the exchange's
rule of at most 5 significant figures and at most ``6 - szDecimals`` decimals (``8 - szDecimals`` on
spot), so simulated prices look like real ones and round-trip through the wire format unchanged.

Markets are named as the real exchange names them: perps by their coin (``BTC``, ``kPEPE``), spot
pairs ``PURR/USDC`` (the one legacy name) or ``@<pair index>`` (``@107`` = HYPE/USDC), and perps of a
builder-deployed dex with the dex prefix (``xyz:NVDA``). Pair and token indices follow mainnet's
``spotMeta`` where they are well known; token ids, dex deployers and collateral token indices are
made up (deterministic), since nothing here may claim to be a real address.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

PERP, SPOT, DEX = "perp", "spot", "dex"  # the three kinds of market


@dataclass(frozen=True)
class Coin:
    """A market: name, size decimals, starting price, volatility factor, base half-spread.

    ``kind`` is perp (the default), spot (``base`` token against USDC; cannot be shorted) or dex (a
    perp of the builder-deployed dex named before the colon, margined in ``collateral``).
    """

    name: str
    sz_decimals: int
    start_px: float
    vol_factor: float  # multiplies the regime's per-second volatility
    half_spread: float  # fraction of mid in the calm regime
    max_leverage: int = 20
    kind: str = PERP
    base: str = ""  # spot: the base token's name
    collateral: str = "USDC"  # the fee / margin token of a perp; the quote token of a spot pair

    @property
    def max_px_decimals(self) -> int:
        """Price decimals allowed before szDecimals are taken off: 6 on perps, 8 on spot."""
        return 8 if self.kind == SPOT else 6

    @property
    def dex(self) -> str:
        """The dex prefix of a builder-dex perp (``xyz`` of ``xyz:NVDA``); empty otherwise."""
        return self.name.split(":", 1)[0] if self.kind == DEX else ""


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



@dataclass(frozen=True)
class SpotToken:
    """A HyperCore token as ``spotMeta.tokens`` lists it (``weiDecimals``: its balance precision)."""

    name: str
    index: int
    sz_decimals: int
    wei_decimals: int
    is_canonical: bool = True

    @property
    def token_id(self) -> str:
        """A made-up, stable 16-byte id (real ids are hashes of the deploy; none is claimed here)."""
        return "0x" + hashlib.sha256(f"hypertrack-token:{self.name}".encode()).hexdigest()[:32]


# Quote and collateral tokens first, then the spot bases (mainnet's indices for the well-known ones;
# the USDH and USDT0 indices are plausible, not checked).
TOKENS: tuple[SpotToken, ...] = (
    SpotToken("USDC", 0, 8, 8),
    SpotToken("PURR", 1, 0, 5),
    SpotToken("HYPE", 150, 2, 8),
    SpotToken("UBTC", 197, 5, 10),
    SpotToken("UETH", 221, 4, 9),
    SpotToken("USDT0", 268, 2, 8),
    SpotToken("USDH", 360, 2, 8),
)
TOKEN_BY_NAME = {t.name: t for t in TOKENS}

# Spot pairs: the name is the wire coin; the pair index is the number after "@" (PURR/USDC is pair 0).
SPOT_COINS: tuple[Coin, ...] = (
    Coin("@107", 2, 25.0, 1.4, 0.00012, 1, SPOT, "HYPE"),
    Coin("PURR/USDC", 0, 0.09, 1.8, 0.0003, 1, SPOT, "PURR"),
    Coin("@142", 5, 95_000.0, 0.8, 0.00008, 1, SPOT, "UBTC"),
    Coin("@151", 4, 3_300.0, 1.0, 0.0001, 1, SPOT, "UETH"),
)


@dataclass(frozen=True)
class PerpDex:
    """A builder-deployed perp dex (HIP-3): its short name (the coin prefix) and margin token."""

    name: str
    full_name: str
    collateral: str

    @property
    def deployer(self) -> str:
        """A made-up, stable deployer address."""
        return "0x" + hashlib.sha256(f"hypertrack-dex:{self.name}".encode()).hexdigest()[:40]


DEXES: tuple[PerpDex, ...] = (
    PerpDex("xyz", "XYZ", "USDC"),
    PerpDex("km", "Kinetiq Markets", "USDH"),
    PerpDex("cash", "dreamcash", "USDT0"),
)
DEX_BY_NAME = {d.name: d for d in DEXES}

DEX_COINS: tuple[Coin, ...] = (
    Coin("xyz:NVDA", 3, 180.0, 0.7, 0.0001, 10, DEX, collateral="USDC"),
    Coin("km:USTECH", 3, 589.0, 0.5, 0.0001, 20, DEX, collateral="USDH"),
    Coin("cash:TSLA", 3, 390.0, 0.9, 0.00012, 10, DEX, collateral="USDT0"),
    Coin("xyz:TSLA", 3, 390.0, 0.9, 0.00012, 10, DEX, collateral="USDC"),
    Coin("cash:NVDA", 3, 180.0, 0.7, 0.0001, 10, DEX, collateral="USDT0"),
)

ALL_COINS: tuple[Coin, ...] = COINS + SPOT_COINS + DEX_COINS
COIN_BY_NAME = {c.name: c for c in ALL_COINS}
_BY_FOLDED = {c.name.casefold(): c for c in ALL_COINS}
BIG_COINS = ("BTC", "ETH", "SOL")  # where whales trade (deep books)


def market_kind(name: str) -> str:
    """perp, spot or dex from a wire coin name alone (``@N`` and ``A/B`` are spot, ``dex:X`` a dex perp)."""
    if name.startswith("@") or "/" in name:
        return SPOT
    return DEX if ":" in name else PERP


def canonical_coin(name: str) -> str:
    """The universe's spelling of a coin name: exact first, then case-insensitive (``kpepe`` → ``kPEPE``,
    ``XYZ:nvda`` → ``xyz:NVDA``); an unknown name is returned stripped, unchanged."""
    name = name.strip()
    if name in COIN_BY_NAME:
        return name
    c = _BY_FOLDED.get(name.casefold())
    return c.name if c is not None else name


def select_coins(spec: int | str | tuple[str, ...] | list[str]) -> tuple[Coin, ...]:
    """Coins for a run: a count (the first N perps) or names of perps, spot pairs and dex perps
    (comma text or sequence; matched case-insensitively)."""
    from hypertrack_pipeline.errors import UserError

    if isinstance(spec, int):
        if not 1 <= spec <= len(COINS):
            raise UserError(f"--coins must be between 1 and {len(COINS)}, got {spec}")
        return COINS[:spec]
    names = [canonical_coin(n) for n in (spec.split(",") if isinstance(spec, str) else spec)]
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


def spot_meta(names: list[str]) -> dict:
    """The ``spotMeta`` answer for these spot pair names: the pairs' tokens (plus every quote and
    collateral token) and the pairs. A name the universe lacks (``@999``) gets a made-up base token."""
    tokens: dict[str, SpotToken] = {t.name: t for t in TOKENS if t.name in ("USDC", "USDT0", "USDH")}
    pairs = []
    for name in names:
        coin = COIN_BY_NAME.get(name)
        if coin is not None and coin.kind == SPOT:
            base = TOKEN_BY_NAME[coin.base]
        else:
            stem = name.split("/", 1)[0].lstrip("@")
            base = SpotToken(stem if "/" in name else f"T{stem}", 10_000 + len(pairs), 2, 8, False)
        tokens.setdefault(base.name, base)
        index = 0 if name == "PURR/USDC" else int(name[1:]) if name[1:].isdigit() else 10_000 + len(pairs)
        pairs.append({"tokens": [base.index, 0], "name": name, "index": index, "isCanonical": "/" in name})
    return {
        "tokens": [
            {"name": t.name, "szDecimals": t.sz_decimals, "weiDecimals": t.wei_decimals, "index": t.index,
             "tokenId": t.token_id, "isCanonical": t.is_canonical, "evmContract": None, "fullName": None}
            for t in sorted(tokens.values(), key=lambda t: t.index)
        ],
        "universe": pairs,
    }


def perp_dexs(names: list[str]) -> list[dict | None]:
    """The ``perpDexs`` answer: null for the main dex, then one entry per dex prefix among ``names``."""
    out: list[dict | None] = [None]
    for prefix in dict.fromkeys(n.split(":", 1)[0] for n in names if ":" in n):
        dex = DEX_BY_NAME.get(prefix, PerpDex(prefix, prefix.upper(), "USDC"))
        out.append({"name": dex.name, "fullName": dex.full_name, "deployer": dex.deployer, "oracleUpdater": None,
                    "feeRecipient": None, "assetToStreamingOiCap": []})
    return out


def dex_collateral_index(dex: str) -> int:
    """The ``collateralToken`` index of a dex's ``meta`` (USDC when the dex is unknown)."""
    known = DEX_BY_NAME.get(dex)
    return TOKEN_BY_NAME[known.collateral].index if known else 0


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
