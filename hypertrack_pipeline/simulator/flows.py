"""Taker order flow of one simulated hour, one vectorized generator per archetype.

Each generator returns an :class:`Events` batch (no Python loop per trade). Behaviour is planted so
the SPEC §7 features separate the archetypes:

- hft_scalper: a fill every ``period`` seconds (±3 % jitter), one constant size, in/out round trips, 24/7.
- momentum / contrarian: late in a minute whose move so far is large, trade with / against it, and
  get out at the next minute that moves the other way (no edge in a random walk: they pay the spread).
- volatility_trader: trades almost only in high-volatility regimes, riding each episode in one
  direction for a few fills before turning (sticky sides, so not an arbitrageur's flips), and
  flattening after its last fill of the hour.
- informed: sees the next 15-minute return plus noise (its own noise level, agents.draw_skill),
  opens in that direction (bigger on a stronger signal), closes 15 min later.
- arbitrageur: every coin, quick round trips (buy then sell or the reverse) a few seconds apart.
- wash_trader: self-trades (buyer == seller) or buy/sell-back cycles with a partner at one price.
- retail: human hours of a home time zone, lognormal sizes, mostly closes what it opened, pays the spread;
  a persistent per-wallet timing (agents.draw_skill) sides some trades with (or against) the next 30 min.
Fill notionals stay small for the frequent traders (a whale is the only one with > $50k fills).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from hypertrack_pipeline.simulator.agents import RETAIL_PROFILE, Population

S = 3600  # seconds per hour
INFORMED_HORIZON_S = 900
INFORMED_NOISE = 0.5  # signal noise (units of the horizon's return std) without per-wallet skill
RETAIL_PER_HOUR = 1.0
RETAIL_REVERSE = 0.65
RETAIL_TIMING_HORIZON_S = 1800
TREND_PER_HOUR = 6.0  # momentum / contrarian signals acted on per hour (each a round trip)
TREND_ENTRY_SIGMAS = 9.0  # the minute's move so far, in per-second sigmas, that triggers an entry
TREND_EXIT_SIGMAS = 5.0  # a reversal minute's move that triggers the exit
TREND_MIN_HOLD_S = 20
VOLATILITY_PER_HOUR = 135.0  # fills per hour of high volatility, spread over the wallet's coins
VOLATILITY_SECONDARY = 0.7  # a mixed volatility trader keeps most of it (its other trading is the add-on)
VOLATILITY_FLIP = 0.35  # chance the next fill reverses the side: rides an episode, then turns


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
    # in and out in pairs (k even opens, k + 1 closes, same coin); one pair in ten goes short first.
    # The choice is a fixed hash of (wallet, pair), not a draw, so a pair split across two hours
    # still closes: a scalper ends every round trip flat instead of random-walking its inventory.
    pair = (k // 2).astype(np.int64)
    flip = ((pair * 2_654_435_761 + ww.astype(np.int64) * 40_503) % 1000) < 100
    side = np.where(k % 2 == 0, 1, -1).astype(np.int8)
    side = np.where(flip, -side, side).astype(np.int8)
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
    # sides: reverse the previous side with probability RETAIL_REVERSE (> 0.5: a retail trader mostly
    # closes what it opened a few hours ago, so its inventory stays a few clips, not a random walk)
    flips = (view.rng.random(len(ww)) < RETAIL_REVERSE).astype(np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(ww)) + 1]
    csum = np.cumsum(flips)
    base = np.repeat(csum[starts] - flips[starts], np.diff(np.r_[starts, len(ww)]))
    parity = (csum - base) % 2
    side = (view.retail_side[ww] * np.where(parity == 1, -1, 1)).astype(np.int8)
    last = np.r_[starts[1:] - 1, len(ww) - 1]
    view.retail_side[ww[last]] = side[last]
    coin = _pick_coin(view, ww)
    timing = pop.retail_timing[ww] if len(pop.retail_timing) else np.zeros(len(ww))
    move = view.logp[coin, np.minimum(sec + RETAIL_TIMING_HORIZON_S, S - 1)] - view.logp[coin, sec]
    timed = (view.rng.random(len(ww)) < np.abs(timing)) & (move != 0)
    side = np.where(timed, np.sign(move) * np.sign(timing), side).astype(np.int8)
    return Events.make(view.ms(sec), coin, side, view.lots(coin, sec, _sizes(view, ww, 1.0, 40_000)), ww)


def _minute_move(view: HourView, c: int) -> tuple[np.ndarray, np.ndarray]:
    """Per second: the log move since the minute's open, and whether the second is late in its minute."""
    lp = view.logp[c]
    move = lp - lp[(np.arange(S) // 60) * 60]
    sec_in_min = np.arange(S) % 60
    return move, (sec_in_min >= 30) & (sec_in_min <= 57)


def _move_candidates(view: HourView, c: int) -> np.ndarray:
    """Seconds late in a calm minute whose move since the minute's start is large."""
    move, late = _minute_move(view, c)
    ok = late & ~view.high[c] & (np.abs(move) > TREND_ENTRY_SIGMAS * view.sigma[c])
    ok[S - TREND_MIN_HOLD_S - 60 :] = False  # leave room to get out inside the hour
    return np.flatnonzero(ok)


def _reversal_seconds(view: HourView, c: int) -> tuple[np.ndarray, np.ndarray]:
    """Seconds late in a minute that moved up / down by more than TREND_EXIT_SIGMAS (sorted)."""
    move, late = _minute_move(view, c)
    thr = TREND_EXIT_SIGMAS * view.sigma[c]
    return np.flatnonzero(late & (move > thr)), np.flatnonzero(late & (move < -thr))


def trend(view: HourView, archetype: str, direction: int) -> Events:
    """Momentum (direction +1) or contrarian (-1) takers: a round trip per signal.

    Entry: late in a calm minute whose move so far is large, with (momentum) or against (contrarian)
    the move. Exit: the same size back at the first later minute that moves the other way, so the
    exit also trades with (momentum: a stop on the reversal) or against (contrarian: taking profit
    into the bounce) that minute's move. In a random walk neither rule has an edge: both pay the
    spread twice and hold for minutes, so their PnL is the spread (plus the small drift of the price
    model's pull toward its anchor, which trend followers catch), not a shared bet on where the
    price drifts over the next days (which made whole cohorts look skilled or hopeless by chance).
    """
    pop = view.pop
    w, f = pop.with_behaviour(archetype)
    ww = _poisson_per_wallet(view, w, TREND_PER_HOUR * f * view.intensity)
    if not len(ww):
        return Events.concat([])
    coin = _pick_coin(view, ww)
    sec = np.full(len(ww), -1, np.int64)
    back = np.full(len(ww), S - 1, np.int64)
    for c in np.unique(coin):
        sel = np.flatnonzero(coin == c)
        cand = _move_candidates(view, int(c))
        if not len(cand):
            continue
        sec[sel] = cand[view.rng.integers(0, len(cand), len(sel))]
        up, down = _reversal_seconds(view, int(c))
        entry_up = view.logp[c, sec[sel]] > view.logp[c, (sec[sel] // 60) * 60]
        for rev, mask in ((down, entry_up), (up, ~entry_up)):
            s_in = sec[sel][mask]
            i = np.searchsorted(rev, s_in + TREND_MIN_HOLD_S)
            found = i < len(rev)
            out = np.full(len(s_in), S - 1, np.int64)
            out[found] = rev[i[found]]
            back[sel[mask]] = out
    keep = sec >= 0
    ww, coin, sec, back = ww[keep], coin[keep], sec[keep], back[keep]
    lp = view.logp[coin, sec]
    move = lp - view.logp[coin, (sec // 60) * 60]
    side = (np.sign(move) * direction).astype(np.int8)
    size = view.lots(coin, sec, _sizes(view, ww, 0.5, 30_000))
    return Events.concat([
        Events.make(view.ms(sec), coin, side, size, ww),
        Events.make(view.ms(back), coin, -side, size, ww),
    ])


def _sticky_sides(view: HourView, ww: np.ndarray, flip_p: float) -> np.ndarray:
    """Sides for events grouped by wallet (in time order within a wallet): a random start, then
    each next event reverses the previous side with probability ``flip_p``."""
    flips = (view.rng.random(len(ww)) < flip_p).astype(np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(ww)) + 1] if len(ww) else np.empty(0, np.int64)
    csum = np.cumsum(flips)
    base = np.repeat(csum[starts] - flips[starts], np.diff(np.r_[starts, len(ww)]))
    first = view.rng.choice(np.array([-1, 1], np.int8), size=len(starts))
    start_side = np.repeat(first, np.diff(np.r_[starts, len(ww)]))
    return (start_side * np.where((csum - base) % 2 == 1, -1, 1)).astype(np.int8)


def volatility(view: HourView) -> Events:
    """Volatility traders: fills in the high-volatility seconds of their coins, sticky sides."""
    pop = view.pop
    w, f = pop.with_behaviour("volatility_trader")
    if not len(w):
        return Events.concat([])
    factor = np.where(f >= 1.0, 1.0, VOLATILITY_SECONDARY)
    n_coins = np.maximum(pop.coin_mask[w].sum(axis=1), 1)
    parts = []
    n_c = view.logp.shape[0]
    for c in range(n_c):
        on = pop.coin_mask[w, c]
        hw = w[on]
        if not len(hw):
            continue
        high_secs = np.flatnonzero(view.high[c])
        rate = VOLATILITY_PER_HOUR * factor[on] / n_coins[on] * view.intensity
        if len(high_secs):
            ww = _poisson_per_wallet(view, hw, rate * len(high_secs) / S)
            sec = high_secs[view.rng.integers(0, len(high_secs), len(ww))]
        else:
            ww = _poisson_per_wallet(view, hw, 0.05 * factor[on] * view.intensity)
            sec = view.rng.integers(0, S, len(ww))
        if not len(ww):
            continue
        order = np.lexsort((sec, ww))
        ww, sec = ww[order], sec[order]
        side = _sticky_sides(view, ww, VOLATILITY_FLIP)
        cc = np.full(len(ww), c, np.int16)
        lots = view.lots(cc, sec, _sizes(view, ww, 0.5, 30_000))
        parts.append(Events.make(view.ms(sec), cc, side, lots, ww))
        # flatten the coin shortly after the wallet's last fill of the hour: an episode's risk is not
        # carried into the calm (nor across the day), so PnL reflects trading, not overnight drift
        starts = np.r_[0, np.flatnonzero(np.diff(ww)) + 1]
        net = np.add.reduceat(side.astype(np.int64) * lots, starts)
        last = np.r_[starts[1:], len(ww)] - 1
        open_ = net != 0
        out_sec = np.minimum(sec[last][open_] + view.rng.integers(5, 60, int(open_.sum())), S - 1)
        parts.append(Events.make(view.ms(out_sec), c, -np.sign(net[open_]), np.abs(net[open_]), ww[last][open_]))
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
    noise = pop.informed_noise[ww] if len(pop.informed_noise) else np.full(len(ww), INFORMED_NOISE)
    signal = ret + view.rng.normal(0, 1.0, len(ww)) * noise * scale
    keep = np.abs(signal) > 0.4 * scale
    ww, coin, sec, signal, scale = ww[keep], coin[keep], sec[keep], signal[keep], scale[keep]
    side = np.sign(signal).astype(np.int8)
    conviction = np.clip(np.abs(signal) / scale, 0.5, 3.0)  # bets more on a stronger signal
    size = view.lots(coin, sec, np.minimum(_sizes(view, ww, 0.4, 30_000) * conviction, 30_000))
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


def expected_fills_per_hour(pop: Population, high_share: float = 0.05) -> np.ndarray:
    """Taker events per hour of each wallet at intensity 1 (rough: for sizing planted rates)."""
    out = np.zeros(pop.n)
    w, _ = pop.with_behaviour("hft_scalper")
    w = w[pop.period_s[w] > 0]
    out[w] += 3600.0 / pop.period_s[w]
    for name, rate in (("retail", RETAIL_PER_HOUR), ("momentum", 2 * TREND_PER_HOUR * 0.9),
                       ("contrarian", 2 * TREND_PER_HOUR * 0.9), ("informed", 3.0 * 2 * 0.7),
                       ("arbitrageur", 30.0), ("wash_trader", 8.0)):
        w, f = pop.with_behaviour(name)
        out[w] += rate * f
    w, f = pop.with_behaviour("volatility_trader")
    out[w] += VOLATILITY_PER_HOUR * np.where(f >= 1.0, 1.0, VOLATILITY_SECONDARY) * high_share
    return out


def expected_trades_per_hour(pop: Population, high_share: float) -> float:
    """Taker events per hour at intensity 1 (what target_fills scales)."""
    total = 0.0
    w, _ = pop.with_behaviour("hft_scalper")
    total += float(np.sum(3600.0 / pop.period_s[w][pop.period_s[w] > 0]))
    for name, rate in (("retail", RETAIL_PER_HOUR), ("momentum", 2 * TREND_PER_HOUR * 0.9),
                       ("contrarian", 2 * TREND_PER_HOUR * 0.9), ("informed", 3.0 * 2 * 0.7),
                       ("arbitrageur", 30.0)):
        _, f = pop.with_behaviour(name)
        total += rate * float(f.sum())
    _, f = pop.with_behaviour("volatility_trader")
    total += (VOLATILITY_PER_HOUR * high_share + 0.05) * float(np.where(f >= 1.0, 1.0, VOLATILITY_SECONDARY).sum())
    w, f = pop.with_behaviour("wash_trader")
    total += 4.0 * float(np.sum(f * np.where(pop.partner[w] >= 0, 2, 1)))
    return total
