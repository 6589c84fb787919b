"""The wallet population: archetypes, the default mix, and each wallet's fixed behaviour parameters.

Everything here is drawn once per seed, before the first simulated hour, so any hour can be
generated from (seed, hour) plus the carried market state. Rare events (whale blocks, HODLer
buys, token collectors' few perp fills) are scheduled up front so their counts do not depend on
how many hours the run has.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hypertrack_pipeline.simulator.universe import BIG_COINS, Coin, random_addresses

ARCHETYPES: tuple[str, ...] = (
    "market_maker",
    "hft_scalper",
    "momentum",
    "contrarian",
    "whale",
    "hodler",
    "arbitrageur",
    "volatility_trader",
    "informed",
    "wash_trader",
    "token_collector",
    "retail",
)
A = {name: i for i, name in enumerate(ARCHETYPES)}

# Default shares: at 400 wallets every archetype has >= 16 wallets; retail is the crowd.
DEFAULT_MIX: dict[str, float] = {
    "market_maker": 0.06,
    "hft_scalper": 0.06,
    "momentum": 0.08,
    "contrarian": 0.08,
    "whale": 0.04,
    "hodler": 0.05,
    "arbitrageur": 0.05,
    "volatility_trader": 0.06,
    "informed": 0.08,
    "wash_trader": 0.05,
    "token_collector": 0.05,
    "retail": 0.34,
}

# Second behaviours a wallet may also show (the "mixed" wallets), at a reduced rate.
SECONDARY_OK: tuple[str, ...] = (
    "momentum",
    "contrarian",
    "volatility_trader",
    "informed",
    "whale",
    "token_collector",
    "retail",
    "arbitrageur",
)
_NO_SECONDARY = {"hodler", "market_maker", "hft_scalper", "wash_trader"}
_CLASHES = {("momentum", "contrarian"), ("contrarian", "momentum")}
SECONDARY_RATE = 0.3  # a second behaviour runs at this fraction of a primary's rate
WHALE_BLOCK_USD = 1_500_000.0  # median block of a whale (per-wallet lognormal spread)

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

# Retail activity over the local day (mean 1): asleep at night, peaks at lunch and evening.
_RETAIL_PROFILE = np.array(
    [0.3, 0.1, 0, 0, 0, 0, 0, 0.2, 0.6, 1.0, 1.2, 1.3, 1.6, 1.4, 1.1, 1.0, 1.1, 1.3, 1.8, 2.2, 2.3, 2.0, 1.4, 0.8]
)
RETAIL_PROFILE = _RETAIL_PROFILE * 24 / _RETAIL_PROFILE.sum()


def allocate_counts(n: int, mix: dict[str, float]) -> dict[str, int]:
    """Wallets per archetype by largest remainder; every archetype with a share gets >= 1 when n allows."""
    names = [a for a in ARCHETYPES if mix.get(a, 0) > 0]
    total = sum(mix[a] for a in names)
    raw = np.array([mix[a] / total * n for a in names])
    counts = np.floor(raw).astype(int)
    if n >= len(names):
        counts = np.maximum(counts, 1)
    while counts.sum() > n:
        counts[int(np.argmax(counts))] -= 1
    rema = raw - np.floor(raw)
    for i in np.argsort(-rema, kind="stable"):
        if counts.sum() >= n:
            break
        counts[i] += 1
    return dict(zip(names, counts.tolist(), strict=True))


@dataclass
class Schedule:
    """Pre-drawn taker events (absolute ms): used for the rare archetypes."""

    time: np.ndarray  # int64 ms
    wallet: np.ndarray  # int32
    coin: np.ndarray  # int16
    side: np.ndarray  # int8, +1 buy
    notional: np.ndarray  # float64 USD
    maker: np.ndarray  # int32, -1 = the book (market makers), else a fixed counterparty

    @staticmethod
    def concat(parts: list[Schedule]) -> Schedule:
        if not parts:
            return Schedule(*(np.empty(0, dt) for dt in (np.int64, np.int32, np.int16, np.int8, np.float64, np.int32)))
        s = Schedule(*(np.concatenate([getattr(p, f) for p in parts]) for f in _SCHED_FIELDS))
        order = np.argsort(s.time, kind="stable")
        return Schedule(*(getattr(s, f)[order] for f in _SCHED_FIELDS))

    def window(self, start_ms: int, end_ms: int) -> Schedule:
        lo, hi = np.searchsorted(self.time, [start_ms, end_ms])
        return Schedule(*(getattr(self, f)[lo:hi] for f in _SCHED_FIELDS))


_SCHED_FIELDS = ("time", "wallet", "coin", "side", "notional", "maker")


@dataclass
class Population:
    """Wallets and their behaviour parameters (arrays indexed by wallet number)."""

    addresses: list[str]
    primary: np.ndarray  # int8 archetype index
    secondary: np.ndarray  # int8 archetype index or -1
    uses_evm: np.ndarray  # bool
    coin_mask: np.ndarray  # bool (wallets, coins): the coins a wallet trades (or quotes)
    notional: np.ndarray  # median USD per fill
    period_s: np.ndarray  # HFT interval (s); 0 for others
    phase_ms: np.ndarray  # HFT phase
    tz: np.ndarray  # retail home UTC offset (hours)
    weight: np.ndarray  # market makers' share of the book
    partner: np.ndarray  # wash trader's partner (-1: trades with itself)
    rare: Schedule  # whale, HODLer and token collector perp fills
    # Persistent per-wallet skill (see draw_skill): informed signal noise, retail timing.
    informed_noise: np.ndarray = field(default_factory=lambda: np.zeros(0))
    retail_timing: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n(self) -> int:
        return len(self.addresses)

    def with_behaviour(self, archetype: str) -> tuple[np.ndarray, np.ndarray]:
        """Wallets showing a behaviour and the rate factor (1 primary, SECONDARY_RATE secondary)."""
        a = A[archetype]
        idx = np.flatnonzero((self.primary == a) | (self.secondary == a))
        factor = np.where(self.primary[idx] == a, 1.0, SECONDARY_RATE)
        return idx.astype(np.int32), factor

    def archetype_lists(self) -> list[list[str]]:
        out = []
        for p, s in zip(self.primary.tolist(), self.secondary.tolist(), strict=True):
            out.append([ARCHETYPES[p]] + ([ARCHETYPES[s]] if s >= 0 else []))
        return out


def build_population(
    rng: np.random.Generator,
    n_wallets: int,
    coins: tuple[Coin, ...],
    mix: dict[str, float],
    mixed_share: float,
    start_ms: int,
    hours: int,
    prehistory_days: float,
    taken: set[str],
) -> Population:
    """Draw the wallets of a run (deterministic for the generator's seed)."""
    counts = allocate_counts(n_wallets, mix)
    primary = np.concatenate([np.full(c, A[a], np.int8) for a, c in counts.items()])
    primary = primary[rng.permutation(len(primary))]  # addresses reveal nothing
    n = len(primary)
    n_coins = len(coins)
    addresses = random_addresses(rng, n, taken)

    secondary = np.full(n, -1, np.int8)
    eligible = np.flatnonzero(~np.isin(primary, [A[a] for a in _NO_SECONDARY]))
    k = int(round(mixed_share * n))
    for w in rng.permutation(eligible)[:k]:
        options = [
            A[s] for s in SECONDARY_OK if A[s] != primary[w] and (ARCHETYPES[primary[w]], s) not in _CLASHES
        ]
        secondary[w] = options[int(rng.integers(len(options)))]

    def has(name: str) -> np.ndarray:
        return (primary == A[name]) | (secondary == A[name])

    uses_evm = has("token_collector") | ((rng.random(n) < 0.2) & (primary != A["hodler"]))

    # Coins each wallet trades.
    coin_mask = np.zeros((n, n_coins), bool)
    n_pick = np.ones(n, int)
    n_pick[rng.random(n) < 0.4] = 2
    n_pick[primary == A["volatility_trader"]] = min(3, n_coins)
    n_pick[primary == A["market_maker"]] = min(n_coins, max(3, n_coins // 2 + 1))
    n_pick[has("arbitrageur")] = n_coins
    popularity = 1.0 / np.arange(1, n_coins + 1) ** 0.7  # BTC and ETH busiest
    for w in range(n):
        k_w = min(int(n_pick[w]), n_coins)
        coin_mask[w, rng.choice(n_coins, size=k_w, replace=False, p=popularity / popularity.sum())] = True
    # every coin must be quoted by at least one market maker
    mms = np.flatnonzero(primary == A["market_maker"])
    if len(mms):
        for c in range(n_coins):
            if not coin_mask[mms, c].any():
                coin_mask[mms[c % len(mms)], c] = True

    # Typical fill notional (USD) per wallet. Frequent traders clip small (an HFT bot's $25 fills add
    # up over thousands of trades, not by size), so over a few days only a whale turns over the
    # half-million dollars and the $50k+ fills of the SPEC "Whale" rule.
    median = {
        "market_maker": 0.0,
        "hft_scalper": 25.0,
        "momentum": 150.0,
        "contrarian": 150.0,
        "whale": 5_000.0,  # a whale's everyday clips (its mixed behaviours); blocks: WHALE_BLOCK_USD
        "hodler": 8_000.0,
        "arbitrageur": 50.0,
        "volatility_trader": 80.0,
        "informed": 250.0,
        "wash_trader": 120.0,
        "token_collector": 150.0,
        "retail": 120.0,
    }
    notional = np.array([median[ARCHETYPES[p]] for p in primary]) * np.exp(rng.normal(0, 0.35, n))

    is_hft = primary == A["hft_scalper"]
    period_s = np.where(is_hft, rng.uniform(35, 80, n), 0.0)
    phase_ms = (rng.random(n) * period_s * 1000).astype(np.int64)
    tz = rng.choice(np.array([-8, -5, -4, 0, 1, 2, 8, 9]), size=n)
    # market makers of comparable size: a small one would see too few fills to keep its inventory flat
    weight = np.where(primary == A["market_maker"], rng.uniform(0.8, 1.5, n), 0.0)

    partner = np.full(n, -1, np.int32)
    washers = np.flatnonzero(primary == A["wash_trader"])
    washers = washers[rng.permutation(len(washers))]
    n_pairs = len(washers) // 4  # about half of the wash traders work in pairs
    for i in range(n_pairs):
        a, b = washers[2 * i], washers[2 * i + 1]
        partner[a], partner[b] = b, a

    rare = _rare_schedule(rng, primary, secondary, coins, coin_mask, notional, start_ms, hours, prehistory_days)
    informed_noise, retail_timing = draw_skill(addresses)
    return Population(
        addresses, primary, secondary, uses_evm, coin_mask, notional, period_s, phase_ms, tz, weight, partner, rare,
        informed_noise, retail_timing,
    )


# Informed wallets' signal noise (units of the horizon's return std), uniform per wallet: from sharp
# (0.6: corr ≈ 0.86 with the move) to barely informed (2.5: corr ≈ 0.37).
INFORMED_NOISE_RANGE = (0.6, 2.5)
RETAIL_TIMING_SD = 0.2  # retail timing skill: share of trades sided with (or, negative, against) the next move
RETAIL_TIMING_MAX = 0.5


def draw_skill(addresses: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-wallet skill that persists over the run, so past edge predicts future edge as it does in
    real markets (traders differ in information and timing, and keep differing): each informed
    wallet's signal noise, and each wallet's retail timing in [−0.5, 0.5] (the chance that a retail
    trade is sided with the next 30 min move, or against it when negative: good and bad retail
    timing both persist). Drawn from a generator seeded by the addresses, not from the population's
    generator, so every other draw of a seed is unchanged."""
    n = len(addresses)
    if n == 0:
        return np.zeros(0), np.zeros(0)
    rng = np.random.default_rng([int(a[2:18], 16) for a in addresses[:4]])
    noise = rng.uniform(*INFORMED_NOISE_RANGE, n)
    timing = np.clip(rng.normal(0.0, RETAIL_TIMING_SD, n), -RETAIL_TIMING_MAX, RETAIL_TIMING_MAX)
    return noise, timing


def _rare_schedule(
    rng: np.random.Generator,
    primary: np.ndarray,
    secondary: np.ndarray,
    coins: tuple[Coin, ...],
    coin_mask: np.ndarray,
    notional: np.ndarray,
    start_ms: int,
    hours: int,
    prehistory_days: float,
) -> Schedule:
    """Whale blocks, HODLer trades (some before the window) and token collectors' few perp fills."""
    end_ms = start_ms + hours * HOUR_MS
    parts: list[Schedule] = []
    names = [c.name for c in coins]
    big = [i for i, nm in enumerate(names) if nm in BIG_COINS] or [0]

    def add(times, w, coin, side, notion, maker=-1) -> None:
        k = len(times)
        parts.append(
            Schedule(
                np.asarray(times, np.int64),
                np.full(k, w, np.int32),
                np.asarray(coin, np.int16) if np.ndim(coin) else np.full(k, coin, np.int16),
                np.asarray(side, np.int8),
                np.asarray(notion, np.float64),
                np.asarray(maker, np.int32) if np.ndim(maker) else np.full(k, maker, np.int32),
            )
        )

    def uniform_times(k: int, lo: int, hi: int) -> np.ndarray:
        return np.sort(rng.integers(lo, hi, size=k)) // 1000 * 1000 + rng.integers(1, 1000, size=k)

    whales = np.flatnonzero((primary == A["whale"]) | (secondary == A["whale"]))
    for w in whales:
        k = int(rng.integers(6, 10)) + int(rng.poisson(0.05 * hours))
        if primary[w] != A["whale"]:
            k = 5 + int(rng.integers(0, 2))
        # counterparties are other whales: block trades between deep pockets
        others = whales[whales != w]
        maker = rng.choice(others, size=k) if len(others) else np.full(k, -1)
        typical = WHALE_BLOCK_USD * np.exp(rng.normal(0, 0.35)) if primary[w] == A["whale"] else 1_000_000.0
        size = typical * np.exp(rng.normal(0, 0.5, k))
        mine = rng.permutation(big)[:2]  # two deep markets per whale: breadth is the arbitrageurs' mark
        add(uniform_times(k, start_ms, end_ms), w, rng.choice(mine, size=k), rng.choice([-1, 1], size=k),
            np.clip(size, 600_000, 8_000_000), maker)

    for w in np.flatnonzero(primary == A["hodler"]):
        c = int(np.flatnonzero(coin_mask[w])[0])
        side = 1 if rng.random() < 0.8 else -1
        if prehistory_days > 0:
            # first buy 33+ days before the window: age_days > 30 even for a short run
            lo = start_ms - int(prehistory_days * DAY_MS)
            hi = start_ms - 33 * DAY_MS
            t0 = uniform_times(1, lo, max(hi, lo + 1))
            k_in = int(rng.integers(1, 3))
            t1 = uniform_times(k_in, start_ms, end_ms)
            times = np.concatenate([t0, t1])
        else:
            k_in = int(rng.integers(2, 4))
            times = uniform_times(k_in, start_ms, end_ms)
        sides = np.full(len(times), side)
        if len(times) > 2:
            sides[-1] = -side  # takes some profit at the end
        add(times, w, c, sides, notional[w] * np.exp(rng.normal(0, 0.3, len(times))))

    collectors = np.flatnonzero((primary == A["token_collector"]) | (secondary == A["token_collector"]))
    for w in collectors:
        if primary[w] != A["token_collector"]:
            continue  # a secondary collector keeps its primary's trading
        k = int(rng.integers(4, 9))
        c = rng.choice(np.flatnonzero(coin_mask[w]), size=k)
        side = np.full(k, 1 if rng.random() < 0.7 else -1)  # they accumulate: no flips
        add(uniform_times(k, start_ms, end_ms), w, c, side, notional[w] * np.exp(rng.normal(0, 0.5, k)))
    return Schedule.concat(parts)
