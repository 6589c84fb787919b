"""Taker order flow of one simulated hour, one vectorized generator per archetype.

Each generator returns an :class:`Events` batch (no Python loop per trade). Behaviour is planted so
the SPEC §7 features separate the archetypes:

- hft_scalper: a fill every ``period`` seconds (±3 % jitter), one constant size, alternating in/out, 24/7.
- momentum / contrarian: late in a minute whose move so far is large, trade with / against it.
- volatility_trader: trades almost only in high-volatility regimes.
- informed: sees the next 10-minute return plus noise, opens in that direction, closes 10 min later.
- arbitrageur: every coin, quick round trips (buy then sell or the reverse) a few seconds apart.
- wash_trader: self-trades (buyer == seller) or buy/sell-back cycles with a partner at one price.
- retail: human hours of a home time zone, lognormal sizes, sticky sides, pays the spread.
Fill notionals stay small for the frequent traders (a whale is the only one with > $50k fills).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from hypertrack_pipeline.simulator.agents import RETAIL_PROFILE, Population

S = 3600  # seconds per hour
INFORMED_HORIZON_S = 600
RETAIL_PER_HOUR = 1.0


@dataclass
class Events:
    """Taker events; ``maker`` -1 = the book (market makers or resting retail orders)."""

    time: np.ndarray  # int64 absolute ms
    coin: np.ndarray  # int16
    side: np.ndarray  # int8 taker side, +1 buy
    lots: np.ndarray  # int64 size in lots of 10**-szDecimals (>= 1)
    taker: np.ndarray  # int32
    maker: np.ndarray  # int32
    at_mid: np.ndarray  # bool: priced at the mid (wash trades), not at the touch

    @staticmethod
    def make(time, coin, side, lots, taker, maker=-1, at_mid=False) -> Events:
        k = len(time)

        def arr(v, dt):
            return np.asarray(v, dt) if np.ndim(v) else np.full(k, v, dt)

        return Events(
            arr(time, np.int64), arr(coin, np.int16), arr(side, np.int8), arr(lots, np.int64),
            arr(taker, np.int32), arr(maker, np.int32), arr(at_mid, bool),
        )

    @staticmethod
    def concat(parts: list[Events]) -> Events:
        parts = [p for p in parts if len(p.time)]
        if not parts:
            return Events.make(np.empty(0, np.int64), 0, 0, 1, 0)
        return Events(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Events)))

    def __len__(self) -> int:
        return len(self.time)


@dataclass
class HourView:
    """What the generators may look at: the hour's exogenous price path and regimes."""

    rng: np.random.Generator
    start_ms: int
    intensity: float
    pop: Population
    logp: np.ndarray  # (coins, S) exogenous log mid at each second
    high: np.ndarray  # (coins, S) bool: high-volatility regime
    sigma: np.ndarray  # (coins, S) per-second volatility
    retail_side: np.ndarray  # (wallets,) carried sticky side of retail wallets (mutated)
    lot_scale: np.ndarray  # (coins,) 10**szDecimals
    start_px: np.ndarray  # (coins,) the coins' reference prices (HFT sizes are fixed from them)

    def lots(self, coin: np.ndarray, sec: np.ndarray, notional: np.ndarray) -> np.ndarray:
        """Notional (USD) to whole lots at the second's price, at least one lot."""
        px = np.exp(self.logp[coin, sec])
        return np.maximum(np.rint(notional / px * self.lot_scale[coin]), 1).astype(np.int64)

    def ms(self, sec: np.ndarray) -> np.ndarray:
        """Absolute ms for seconds of the hour, at a random ms inside the second (never .000)."""
        return self.start_ms + np.asarray(sec, np.int64) * 1000 + self.rng.integers(1, 1000, size=len(sec))


def _pick_coin(view: HourView, wallets: np.ndarray) -> np.ndarray:
    """A random coin among each wallet's coins."""
    mask = view.pop.coin_mask[wallets]
    cum = np.cumsum(mask, axis=1)
    r = (view.rng.random(len(wallets)) * cum[:, -1]).astype(np.int64)
    return (cum > r[:, None]).argmax(axis=1).astype(np.int16)


def _poisson_per_wallet(view: HourView, wallets: np.ndarray, rate: np.ndarray) -> np.ndarray:
    return np.repeat(wallets, view.rng.poisson(rate))


def _sizes(view: HourView, wallets: np.ndarray, sd: float, cap: float) -> np.ndarray:
    return np.minimum(view.pop.notional[wallets] * np.exp(view.rng.normal(0, sd, len(wallets))), cap)


def hft(view: HourView) -> Events:
    pop = view.pop
    w, _ = pop.with_behaviour("hft_scalper")
    w = w[pop.period_s[w] > 0]
    if not len(w):
        return Events.concat([])
    period_ms = pop.period_s[w] * 1000 / max(view.intensity, 1e-9)
    end = view.start_ms + S * 1000
    k0 = np.ceil((view.start_ms - pop.phase_ms[w]) / period_ms).astype(np.int64)
    k1 = np.ceil((end - pop.phase_ms[w]) / period_ms).astype(np.int64)
    cnt = np.maximum(k1 - k0, 0)
    ww = np.repeat(w, cnt)
    k = np.repeat(k0, cnt) + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    per = np.repeat(period_ms, cnt)
    t = (pop.phase_ms[ww] + k * per + view.rng.normal(0, 0.03, len(ww)) * per).astype(np.int64)
    t = np.clip(t, view.start_ms, end - 1)
    t = np.where(t % 1000 == 0, t + 1, t)
    n_c = pop.coin_mask.sum(axis=1)[ww]
    first = pop.coin_mask.argmax(axis=1)[ww].astype(np.int16)
    last = (pop.coin_mask.shape[1] - 1 - pop.coin_mask[:, ::-1].argmax(axis=1))[ww].astype(np.int16)
    coin = np.where((n_c > 1) & (k % 4 >= 2), last, first)
    side = np.where(k % 2 == 0, 1, -1).astype(np.int8)
    flip = view.rng.random(len(ww)) < 0.1
    side = np.where(flip, -side, side)
    # constant size in coin units, fixed per wallet and coin (from the coin's reference price)
    lots = np.maximum(np.rint(pop.notional[ww] / view.start_px[coin] * view.lot_scale[coin]), 1).astype(np.int64)
    return Events.make(t, coin, side, lots, ww)


def retail(view: HourView) -> Events:
    pop = view.pop
    w, f = pop.with_behaviour("retail")
    hour_of_day = (view.start_ms // 3_600_000) % 24
    rate = RETAIL_PER_HOUR * f * view.intensity * RETAIL_PROFILE[(hour_of_day + pop.tz[w]) % 24]
    ww = _poisson_per_wallet(view, w, rate)
    if not len(ww):
        return Events.concat([])
    sec = view.rng.integers(0, S, len(ww))
    order = np.lexsort((sec, ww))
    ww, sec = ww[order], sec[order]
    # sticky sides: flip with probability 0.3 from the wallet's previous side
    flips = (view.rng.random(len(ww)) < 0.3).astype(np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(ww)) + 1]
    csum = np.cumsum(flips)
    base = np.repeat(csum[starts] - flips[starts], np.diff(np.r_[starts, len(ww)]))
    parity = (csum - base) % 2
    side = (view.retail_side[ww] * np.where(parity == 1, -1, 1)).astype(np.int8)
    last = np.r_[starts[1:] - 1, len(ww) - 1]
    view.retail_side[ww[last]] = side[last]
    coin = _pick_coin(view, ww)
    return Events.make(view.ms(sec), coin, side, view.lots(coin, sec, _sizes(view, ww, 1.0, 40_000)), ww)


def _move_candidates(view: HourView, c: int) -> np.ndarray:
    """Seconds late in a calm minute whose move since the minute's start is large."""
    lp = view.logp[c]
    minute_open = lp[(np.arange(S) // 60) * 60]
    move = lp - minute_open
    sec_in_min = np.arange(S) % 60
    thr = 9.0 * view.sigma[c]
    ok = (sec_in_min >= 30) & (sec_in_min <= 57) & ~view.high[c] & (np.abs(move) > thr)
    return np.flatnonzero(ok)


def trend(view: HourView, archetype: str, direction: int) -> Events:
    """Momentum (direction +1) or contrarian (-1) takers."""
    pop = view.pop
    w, f = pop.with_behaviour(archetype)
    ww = _poisson_per_wallet(view, w, 6.0 * f * view.intensity)
    if not len(ww):
        return Events.concat([])
    coin = _pick_coin(view, ww)
    sec = np.full(len(ww), -1, np.int64)
    for c in np.unique(coin):
        sel = np.flatnonzero(coin == c)
        cand = _move_candidates(view, int(c))
        if len(cand):
            sec[sel] = cand[view.rng.integers(0, len(cand), len(sel))]
    keep = sec >= 0
    ww, coin, sec = ww[keep], coin[keep], sec[keep]
    lp = view.logp[coin, sec]
    move = lp - view.logp[coin, (sec // 60) * 60]
    side = (np.sign(move) * direction).astype(np.int8)
    return Events.make(view.ms(sec), coin, side, view.lots(coin, sec, _sizes(view, ww, 0.5, 30_000)), ww)


def volatility(view: HourView) -> Events:
    pop = view.pop
    w, f = pop.with_behaviour("volatility_trader")
    if not len(w):
        return Events.concat([])
    parts = []
    n_c = view.logp.shape[0]
    for c in range(n_c):
        hw = w[pop.coin_mask[w, c]]
        if not len(hw):
            continue
        high_secs = np.flatnonzero(view.high[c])
        ff = f[pop.coin_mask[w, c]]
        if len(high_secs):
            ww = _poisson_per_wallet(view, hw, 45.0 * ff * view.intensity * len(high_secs) / S)
            sec = high_secs[view.rng.integers(0, len(high_secs), len(ww))]
        else:
            ww = _poisson_per_wallet(view, hw, 0.05 * ff * view.intensity)
            sec = view.rng.integers(0, S, len(ww))
        side = view.rng.choice(np.array([-1, 1], np.int8), size=len(ww))
        cc = np.full(len(ww), c, np.int16)
        parts.append(Events.make(view.ms(sec), cc, side, view.lots(cc, sec, _sizes(view, ww, 0.5, 30_000)), ww))
    return Events.concat(parts)


def informed(view: HourView) -> Events:
    pop = view.pop
    w, f = pop.with_behaviour("informed")
    ww = _poisson_per_wallet(view, w, 3.0 * f * view.intensity)
    if not len(ww):
        return Events.concat([])
    h = INFORMED_HORIZON_S
    coin = _pick_coin(view, ww)
    sec = view.rng.integers(0, S - h, len(ww))
    ret = view.logp[coin, sec + h] - view.logp[coin, sec]
    scale = view.sigma[coin, sec] * np.sqrt(h)
    signal = ret + view.rng.normal(0, 0.6, len(ww)) * scale
    keep = np.abs(signal) > 0.4 * scale
    ww, coin, sec, signal = ww[keep], coin[keep], sec[keep], signal[keep]
    side = np.sign(signal).astype(np.int8)
    size = view.lots(coin, sec, _sizes(view, ww, 0.4, 30_000))
    close_sec = sec + h + view.rng.integers(-20, 20, len(ww))
    open_ev = Events.make(view.ms(sec), coin, side, size, ww)
    close_ev = Events.make(view.ms(np.clip(close_sec, 0, S - 1)), coin, -side, size, ww)
    return Events.concat([open_ev, close_ev])


def arbitrage(view: HourView) -> Events:
    pop = view.pop
    w, f = pop.with_behaviour("arbitrageur")
    ww = _poisson_per_wallet(view, w, 15.0 * f * view.intensity)
    if not len(ww):
        return Events.concat([])
    coin = _pick_coin(view, ww)
    sec = view.rng.integers(0, S - 31, len(ww))
    back = sec + view.rng.integers(2, 30, len(ww))
    side = view.rng.choice(np.array([-1, 1], np.int8), size=len(ww))
    size = view.lots(coin, sec, _sizes(view, ww, 0.6, 20_000))
    return Events.concat([
        Events.make(view.ms(sec), coin, side, size, ww),
        Events.make(view.ms(back), coin, -side, size, ww),
    ])


def wash(view: HourView) -> Events:
    pop = view.pop
    w, f = pop.with_behaviour("wash_trader")
    ww = _poisson_per_wallet(view, w, 4.0 * f * view.intensity)
    if not len(ww):
        return Events.concat([])
    partner = pop.partner[ww]
    coin = pop.coin_mask.argmax(axis=1)[ww].astype(np.int16)
    sec = view.rng.integers(0, S - 6, len(ww))
    size = view.lots(coin, sec, _sizes(view, ww, 0.2, 20_000))
    side = view.rng.choice(np.array([-1, 1], np.int8), size=len(ww))
    selfish = partner < 0
    first_maker = np.where(selfish, ww, partner)
    leg1 = Events.make(view.ms(sec), coin, side, size, ww, maker=first_maker, at_mid=True)
    # the partner (now the taker) trades the same size back a few seconds later, at the mid again:
    # Events.side is the taker's side, so the partner repeats leg 1's side to undo its position
    back = ~selfish
    sec2 = sec[back] + view.rng.integers(1, 5, back.sum())
    leg2 = Events.make(view.ms(sec2), coin[back], side[back], size[back], partner[back], maker=ww[back],
                       at_mid=True)
    return Events.concat([leg1, leg2])


def expected_trades_per_hour(pop: Population, high_share: float) -> float:
    """Taker events per hour at intensity 1 (what target_fills scales)."""
    total = 0.0
    w, _ = pop.with_behaviour("hft_scalper")
    total += float(np.sum(3600.0 / pop.period_s[w][pop.period_s[w] > 0]))
    for name, rate in (("retail", RETAIL_PER_HOUR), ("momentum", 6.0 * 0.9), ("contrarian", 6.0 * 0.9),
                       ("informed", 3.0 * 2 * 0.7), ("arbitrageur", 30.0)):
        _, f = pop.with_behaviour(name)
        total += rate * float(f.sum())
    _, f = pop.with_behaviour("volatility_trader")
    total += (45.0 * high_share * 2 + 0.05) * float(f.sum())
    w, f = pop.with_behaviour("wash_trader")
    total += 4.0 * float(np.sum(f * np.where(pop.partner[w] >= 0, 2, 1)))
    return total
