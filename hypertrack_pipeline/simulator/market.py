"""The simulated market: configuration, the hour-by-hour engine and the time-ordered chunk iterator.

Each simulated hour is generated in one vectorized pass from ``(seed, hour)`` and a small carried
state (price deviations, accumulated impact, tids, the last quotes, market makers' inventories),
so the output is deterministic and memory stays bounded by one hour of data.

Price model: per coin, per second, log mid = log(start) + an AR(1) deviation (half-life 6 h, so
prices wander but stay plausible) whose shocks have a calm or a high volatility depending on a
per-minute Markov regime, plus the permanent impact of signed taker flow. Quotes sit a
regime-dependent half-spread around the mid on the exchange's price grid. Takers fill at the touch
(whales walk a few levels); market makers are the book: they take the other side of most taker
orders, leaning on the side that brings their inventory back to zero.

Hours before the window (``prehistory_days``) hold only the HODLers' first buys, so their age
exceeds 30 days even in a two-day run; :func:`iter_market` covers the window only, and
:meth:`Market.prehistory` yields those sparse hours separately.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
from scipy.signal import lfilter

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.landing.schemas import PARTITION_TIME_COLUMN, STREAM_GROUPS, STREAM_SCHEMAS, TRADES
from hypertrack_pipeline.landing.zone import Hour
from hypertrack_pipeline.simulator import flows
from hypertrack_pipeline.simulator.agents import ARCHETYPES, DEFAULT_MIX, HOUR_MS, A, build_population
from hypertrack_pipeline.simulator.book import (
    bbo_table,
    candle_table,
    hex_strings,
    l2_table,
    price_decimals,
    take_strings,
    to_px,
    to_ticks,
)
from hypertrack_pipeline.simulator.evm import EvmWorld, collector_shares, evm_hour
from hypertrack_pipeline.simulator.flows import Events, HourView
from hypertrack_pipeline.simulator.truth import Ledger
from hypertrack_pipeline.simulator.universe import (
    Coin,
    coin_meta,
    make_tokens,
    random_addresses,
    select_coins,
)

DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)
S = 3600
SIGMA_CALM = 1.5e-4  # per second: ~0.2 % one-minute range
SIGMA_HIGH = 3.0e-3  # per second: ~3 % one-minute range (liquidation-cascade weather)
CALM_MINUTES, HIGH_MINUTES = 500.0, 25.0  # mean regime durations
PHI = float(np.exp(-np.log(2) / (6 * 3600)))  # AR(1) coefficient: 6 h half-life
IMPACT_PER_USD = 1e-10  # permanent log impact per USD of signed taker notional ($1M → 1 bp)
LEVEL_USD = 250_000.0  # depth per price level a whale walks through
ZERO_HASH_SHARE = 0.2
RETAIL_MAKER_SHARE = 0.02
# Every market stream group; account state is polled per wallet by the recorder, not simulated into the zone.
ALL_GROUPS = tuple(g for g in STREAM_GROUPS if g != "account")


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. ``target_fills`` (if set) overrides ``intensity`` to land near that many fills."""

    seed: int = 7
    wallets: int = 400
    days: float = 2.0
    coins: int | tuple[str, ...] = 6
    start: datetime = DEFAULT_START
    target_fills: int | None = None
    intensity: float = 1.0
    l2_every_ms: int = 10_000
    chunk_ms: int = HOUR_MS
    streams: tuple[str, ...] = ALL_GROUPS  # stream groups: trades, bbo, l2book, candles, evm
    mix: tuple[tuple[str, float], ...] | None = None
    mixed_share: float = 0.15
    prehistory_days: float = 45.0

    @property
    def hours(self) -> int:
        return int(round(self.days * 24))

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.hours * HOUR_MS

    @property
    def evm(self) -> bool:
        return "evm" in self.streams

    def landed_streams(self) -> list[str]:
        return [s for g in self.streams for s in STREAM_GROUPS[g]]

    def mix_dict(self) -> dict[str, float]:
        return dict(self.mix) if self.mix is not None else dict(DEFAULT_MIX)

    def validate(self) -> None:
        """Raise UserError for arguments a user can get wrong."""
        if self.wallets < 2:
            raise UserError(f"--wallets must be at least 2, got {self.wallets}")
        if not (self.days > 0) or self.hours < 1:
            raise UserError(f"--days must cover at least one hour (>= {1 / 24:.4f}), got {self.days}")
        if self.days > 366:
            raise UserError(f"--days must be at most 366, got {self.days}")
        if self.seed < 0:
            raise UserError(f"--seed must be >= 0, got {self.seed}")
        if self.target_fills is not None and self.target_fills < 1:
            raise UserError(f"--target-fills must be positive, got {self.target_fills}")
        if not self.intensity > 0:
            raise UserError(f"intensity must be positive, got {self.intensity}")
        if self.l2_every_ms < 500 or HOUR_MS % self.l2_every_ms:
            raise UserError(f"l2 cadence must be >= 500 ms and divide an hour, got {self.l2_every_ms}")
        if self.chunk_ms < 1000 or HOUR_MS % self.chunk_ms:
            raise UserError(f"chunk length must be >= 1 s and divide an hour, got {self.chunk_ms} ms")
        if self.start.tzinfo is None or self.start.utcoffset() != UTC.utcoffset(None):
            raise UserError("--start must be a UTC time")
        if self.start.minute or self.start.second or self.start.microsecond:
            raise UserError(f"--start must be on a whole hour, got {self.start.isoformat()}")
        bad = [g for g in self.streams if g not in STREAM_GROUPS]
        if bad:
            raise UserError(f"unknown stream group(s) {','.join(bad)}; known: {','.join(STREAM_GROUPS)}")
        mix = self.mix_dict()
        unknown = [a for a in mix if a not in ARCHETYPES]
        if unknown or any(v < 0 for v in mix.values()) or sum(mix.values()) <= 0:
            raise UserError(f"bad archetype mix {mix}; archetypes: {','.join(ARCHETYPES)}")
        if not 0 <= self.mixed_share <= 0.5:
            raise UserError(f"mixed share must be in [0, 0.5], got {self.mixed_share}")
        if self.prehistory_days and self.prehistory_days < 34:
            raise UserError(f"prehistory must be 0 (off) or >= 34 days, got {self.prehistory_days}")
        select_coins(self.coins)


@dataclass
class MarketChunk:
    """The market in [start_ms, end_ms): landing-schema tables, each sorted by time.

    Candles are keyed by ``open_time`` (a candle is complete, and was "received", at close).
    """

    start_ms: int
    end_ms: int
    tables: dict[str, pa.Table] = field(default_factory=dict)


def coin_universe(config: SimConfig) -> list[dict]:
    """The coins with szDecimals/maxLeverage, as the Info ``meta`` endpoint lists them."""
    return coin_meta(select_coins(config.coins))["universe"]


def _regimes(rng: np.random.Generator, n_coins: int, minutes: int) -> np.ndarray:
    """(coins, minutes) bool: high-volatility regime, alternating geometric durations."""
    out = np.zeros((n_coins, minutes), bool)
    for c in range(n_coins):
        t, high, first = 0, False, True
        while t < minutes:
            mean = HIGH_MINUTES if high else (CALM_MINUTES / 3 if first else CALM_MINUTES)
            d = int(rng.geometric(1.0 / mean))
            if high:
                out[c, t : t + d] = True
            t += d
            high, first = not high, False
    return out


class Market:
    """The engine: call :meth:`hour` for hours 0, 1, 2, … in order."""

    def __init__(self, config: SimConfig) -> None:
        config.validate()
        self.config = config
        self.coins: tuple[Coin, ...] = select_coins(config.coins)
        self.coin_names = [c.name for c in self.coins]
        self.coin_arr = pa.array(self.coin_names, pa.string())
        C = len(self.coins)
        self.sz_dec = np.array([c.sz_decimals for c in self.coins], np.int64)
        self.lot_scale = 10.0**self.sz_dec
        self.max_dec = np.array([c.max_px_decimals for c in self.coins], np.int64)
        self.start_px = np.array([c.start_px for c in self.coins])
        self.log_start = np.log(self.start_px)
        self.vol_factor = np.array([c.vol_factor for c in self.coins])
        self.half_spread = np.array([c.half_spread for c in self.coins])
        rng = self._rng(0, 0)
        taken: set[str] = set()
        self.pop = build_population(
            rng, config.wallets, self.coins, config.mix_dict(), config.mixed_share, config.start_ms,
            config.hours, config.prehistory_days, taken,
        )
        self.addr_arr = pa.array(self.pop.addresses, pa.string())
        tokens = make_tokens(rng, 30, taken)
        contracts = random_addresses(rng, 6, taken)
        self.evm_world = EvmWorld(
            tokens=tokens, router=contracts[0], pools=contracts[1:4], distributor=contracts[4],
            validators=random_addresses(rng, 4, taken), first_block=10_000_000 + int(rng.integers(0, 1_000_000)),
            nonce=np.zeros(self.pop.n, np.int64), parent_hash="0x" + rng.bytes(32).hex(),
        )
        self.collector_share = collector_shares(self.pop)
        self.regimes = _regimes(rng, C, config.hours * 60)
        self.tid_next = (10**14 + rng.integers(0, 10**12, C)).astype(np.int64)
        self.pre_tid_next = self.tid_next - 10**9  # prehistory tids sort before the window's
        # carried state
        self.x_dev = np.zeros(C)
        self.impact = np.zeros(C)
        self.last_bid = np.full(C, np.nan)
        self.last_ask = np.full(C, np.nan)
        self.retail_side = rng.choice(np.array([-1, 1], np.int8), size=self.pop.n)
        self.ledger = Ledger(self.pop.n, self.lot_scale)
        self.mm_by_coin = [
            np.flatnonzero((self.pop.primary == A["market_maker"]) & self.pop.coin_mask[:, c]) for c in range(C)
        ]
        self.retail_makers = np.flatnonzero(self.pop.primary == A["retail"])
        self.retail_by_coin = [self.retail_makers[self.pop.coin_mask[self.retail_makers, c]] for c in range(C)]
        high_share = float(self.regimes.mean()) if self.regimes.size else 0.0
        self.expected_per_hour = flows.expected_trades_per_hour(self.pop, high_share)
        self.intensity = config.intensity
        if config.target_fills:
            fixed = len(self.pop.rare.time)
            want = config.target_fills / 2 - fixed
            self.intensity = max(want / max(self.expected_per_hour * config.hours, 1e-9), 0.001)
        self.next_hour = 0

    def _rng(self, kind: int, index: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.config.seed, kind, index + 10**7]))

    # ------------------------------------------------------------------ hours of the window
    def hour(self, h: int) -> dict[str, pa.Table]:
        """All streams of window hour ``h`` (0-based); hours must be generated in order."""
        if h != self.next_hour:
            raise ValueError(f"hours must be generated in order: expected {self.next_hour}, got {h}")
        self.next_hour += 1
        cfg = self.config
        start = cfg.start_ms + h * HOUR_MS
        rng = self._rng(1, h)
        C = len(self.coins)
        high = np.repeat(self.regimes[:, h * 60 : (h + 1) * 60], 60, axis=1)
        sigma = np.where(high, SIGMA_HIGH, SIGMA_CALM) * self.vol_factor[:, None]
        shocks = rng.standard_normal((C, S)) * sigma
        x, _ = lfilter([1.0], [1.0, -PHI], shocks, axis=1, zi=(PHI * self.x_dev)[:, None])
        self.x_dev = x[:, -1].copy()
        logp = self.log_start[:, None] + x

        view = HourView(
            rng=self._rng(2, h), start_ms=start, intensity=self.intensity, pop=self.pop, logp=logp, high=high,
            sigma=sigma, retail_side=self.retail_side, lot_scale=self.lot_scale, start_px=self.start_px,
        )
        ev = Events.concat([
            flows.hft(view), flows.retail(view), flows.trend(view, "momentum", 1),
            flows.trend(view, "contrarian", -1), flows.volatility(view), flows.informed(view),
            flows.arbitrage(view), flows.wash(view), self._rare(view, start),
        ])
        rng_m = self._rng(3, h)
        maker = self._assign_makers(rng_m, ev)
        sec = ((ev.time - start) // 1000).astype(np.int64)
        coin = ev.coin.astype(np.int64)

        # permanent impact of signed taker notional, felt from the next second on
        usd = ev.side * ev.lots / self.lot_scale[coin] * np.exp(logp[coin, sec])
        flow = np.bincount(coin * S + sec, weights=usd, minlength=C * S).reshape(C, S) * IMPACT_PER_USD
        cum = np.cumsum(flow, axis=1) - flow + self.impact[:, None]
        self.impact = self.impact + flow.sum(axis=1)
        mid = np.exp(logp + cum)

        # quotes on the price grid
        dec = price_decimals(mid, self.sz_dec[:, None], self.max_dec[:, None])
        hs = self.half_spread[:, None] * np.where(high, 4.0, 1.0)
        k_bid = to_ticks(mid * (1 - hs), dec, "floor")
        k_ask = np.maximum(to_ticks(mid * (1 + hs), dec, "ceil"), k_bid + 1)
        bid, ask = to_px(k_bid, dec), to_px(k_ask, dec)
        depth_usd = 40_000.0 * np.exp(rng.normal(0, 0.6, (2, C, S)))
        bid_sz = np.maximum(np.rint(depth_usd[0] / bid * self.lot_scale[:, None]), 1) / self.lot_scale[:, None]
        ask_sz = np.maximum(np.rint(depth_usd[1] / ask * self.lot_scale[:, None]), 1) / self.lot_scale[:, None]
        bid_n = rng.integers(1, 15, (C, S))
        ask_n = rng.integers(1, 15, (C, S))

        # trade prices: the touch (walking levels for blocks), or the mid for wash trades
        notional = ev.lots / self.lot_scale[coin] * mid[coin, sec]
        walk = np.minimum(notional // LEVEL_USD, 19).astype(np.int64)
        k_trade = np.where(ev.side > 0, k_ask[coin, sec] + walk, np.maximum(k_bid[coin, sec] - walk, 1))
        k_mid = to_ticks(mid[coin, sec], dec[coin, sec], "round")
        k_trade = np.where(ev.at_mid, k_mid, k_trade)
        px = to_px(k_trade, dec[coin, sec])

        tables: dict[str, pa.Table] = {}
        trades, order, tid = self._trades(rng_m, ev, maker, px, coin)
        buyer = np.where(ev.side > 0, ev.taker, maker)
        seller = np.where(ev.side > 0, maker, ev.taker)
        self.ledger.apply(coin, ev.time, tid, px, ev.lots, buyer, seller)

        streams = cfg.landed_streams()
        if "trades" in streams:
            tables["trades"] = trades
        if "candles" in streams:
            tables["candles"] = candle_table(self.coin_arr, coin, ev.time, tid, px, ev.lots, self.lot_scale)
        # BBO rows when the touch moved (and now and then a size-only update)
        prev_b = np.concatenate([self.last_bid[:, None], bid[:, :-1]], axis=1)
        prev_a = np.concatenate([self.last_ask[:, None], ask[:, :-1]], axis=1)
        emit = (bid != prev_b) | (ask != prev_a) | (rng.random((C, S)) < 0.1)
        self.last_bid, self.last_ask = bid[:, -1].copy(), ask[:, -1].copy()
        s_idx, c_idx = np.nonzero(emit.T)  # time order, then coin
        has = emit.any(axis=1)
        last_s = S - 1 - emit[:, ::-1].argmax(axis=1)
        cs_ = np.flatnonzero(has)
        self.ledger.last_mid[cs_] = (bid[cs_, last_s[cs_]] + ask[cs_, last_s[cs_]]) / 2
        if "bbo" in streams:
            tables["bbo"] = bbo_table(
                self.coin_arr, c_idx, start + s_idx * 1000, bid[c_idx, s_idx], bid_sz[c_idx, s_idx],
                bid_n[c_idx, s_idx], ask[c_idx, s_idx], ask_sz[c_idx, s_idx], ask_n[c_idx, s_idx],
            )
        if "l2book" in streams:
            t_snap = start + np.arange(0, HOUR_MS, cfg.l2_every_ms, dtype=np.int64)
            ts = np.repeat(t_snap, C)
            cs = np.tile(np.arange(C), len(t_snap))
            ss = (ts - start) // 1000
            tables["l2book"] = l2_table(
                self._rng(4, h), self.coin_arr, cs, ts, k_bid[cs, ss], k_ask[cs, ss], dec[cs, ss],
                bid_sz[cs, ss], ask_sz[cs, ss], bid_n[cs, ss], ask_n[cs, ss], self.lot_scale,
            )
        if cfg.evm:
            tables.update(evm_hour(self._rng(5, h), self.evm_world, self.pop, start, cfg.start_ms,
                                   self.collector_share))
        del order
        return tables

    def _rare(self, view: HourView, start: int) -> Events:
        sch = self.pop.rare.window(start, start + HOUR_MS)
        if not len(sch.time):
            return Events.concat([])
        sec = (sch.time - start) // 1000
        lots = view.lots(sch.coin.astype(np.int64), sec, sch.notional)
        return Events.make(sch.time, sch.coin, sch.side, lots, sch.wallet, maker=sch.maker)

    def _assign_makers(self, rng: np.random.Generator, ev: Events) -> np.ndarray:
        """Counterparties for book orders: market makers (inventory-aware), sometimes resting retail."""
        maker = ev.maker.copy()
        book = np.flatnonzero(maker < 0)
        use_retail = rng.random(len(book)) < RETAIL_MAKER_SHARE
        for c, rm in enumerate(self.retail_by_coin):  # resting retail orders on the coins they trade
            sel = use_retail & (ev.coin[book] == c)
            if len(rm):
                maker[book[sel]] = rm[rng.integers(0, len(rm), int(sel.sum()))]
            else:
                use_retail[sel] = False
        for c, mms in enumerate(self.mm_by_coin):
            idx = book[(ev.coin[book] == c) & ~use_retail]
            if not len(idx):
                continue
            if not len(mms):
                maker[idx] = -2  # resolved below
                continue
            assigned = np.full(len(idx), -1, np.int64)
            perm = rng.permutation(len(idx))
            side, lots = ev.side[idx], ev.lots[idx]
            inventory = self.ledger.position_lots(mms, c)
            cap = max(len(idx) // (2 * len(mms)) + 1, 1)
            for m, inv in zip(mms.tolist(), inventory.tolist(), strict=True):
                if inv == 0:
                    continue
                want = 1 if inv > 0 else -1  # a long maker sells to taker buys
                cand = perm[(side[perm] == want) & (assigned[perm] < 0)][: 4 * cap]
                if not len(cand):
                    continue
                k = min(int(np.searchsorted(np.cumsum(lots[cand]), abs(inv))) + 1, len(cand))
                assigned[cand[:k]] = m
            free = assigned < 0
            w = self.pop.weight[mms]
            assigned[free] = rng.choice(mms, size=int(free.sum()), p=w / w.sum())
            maker[idx] = assigned
        clash = (maker == ev.taker) & ~ev.at_mid | (maker < 0)
        for i in np.flatnonzero(clash):  # rare: never a self-trade by accident; a market maker steps in
            mms = self.mm_by_coin[int(ev.coin[i])]
            mms = mms[mms != ev.taker[i]]
            if len(mms):
                maker[i] = mms[int(rng.integers(len(mms)))]
            else:
                other = int(rng.integers(0, self.pop.n - 1))
                maker[i] = other + (other >= ev.taker[i])
        return maker.astype(np.int32)

    def _trades(
        self, rng: np.random.Generator, ev: Events, maker: np.ndarray, px: np.ndarray, coin: np.ndarray,
        tid_next: np.ndarray | None = None, recv_offset_ns: int = 0,
    ) -> tuple[pa.Table, np.ndarray, np.ndarray]:
        """The trades table sorted by (time, coin, tid); tids increase with time per coin."""
        tid_next = self.tid_next if tid_next is None else tid_next
        n = len(ev)
        seq = np.arange(n)
        by_coin = np.lexsort((seq, ev.time, coin))
        cs = coin[by_coin]
        starts = np.searchsorted(cs, np.arange(len(self.coins)))
        rank = np.arange(n) - starts[cs]
        tid = np.empty(n, np.int64)
        tid[by_coin] = tid_next[cs] + rank
        tid_next += np.bincount(coin, minlength=len(self.coins))
        order = np.lexsort((tid, coin, ev.time))
        buyer = np.where(ev.side > 0, ev.taker, maker)[order]
        seller = np.where(ev.side > 0, maker, ev.taker)[order]
        zero = rng.random(n) < ZERO_HASH_SHARE
        t = ev.time[order]
        table = pa.table(
            {
                "coin": take_strings(self.coin_arr, coin[order]),
                "side": take_strings(pa.array(["A", "B"]), (ev.side[order] > 0).astype(np.int64)),
                "px": pa.array(px[order], pa.float64()),
                "sz": pa.array(ev.lots[order] / self.lot_scale[coin[order]], pa.float64()),
                "time": pa.array(t, pa.int64()),
                "tid": pa.array(tid[order], pa.int64()),
                "hash": hex_strings(rng, n, 32, zero),
                "buyer": take_strings(self.addr_arr, buyer),
                "seller": take_strings(self.addr_arr, seller),
                "recv_ns": pa.array(t * 1_000_000 + recv_offset_ns, pa.int64()),
            },
            schema=TRADES,
        )
        return table, order, tid

    # ------------------------------------------------------------------ before the window
    def prehistory(self) -> Iterator[tuple[Hour, dict[str, pa.Table]]]:
        """Sparse hours before the window with the HODLers' first trades (and their quotes/candles).

        Counterparties are retail wallets (never market makers), so the window's market does not
        depend on whether the prehistory was generated. Call before the first :meth:`hour`.
        """
        sch = self.pop.rare.window(-(2**62), self.config.start_ms)
        if not len(sch.time):
            return
        rng = self._rng(6, 0)
        hours = sch.time // HOUR_MS
        coin_all = sch.coin.astype(np.int64)
        drift = np.exp(rng.normal(0, 0.08, len(sch.time)))
        mid_all = self.start_px[coin_all] * drift
        pool = self.retail_makers if len(self.retail_makers) else np.arange(self.pop.n)
        makers = pool[rng.integers(0, len(pool), len(sch.time))]
        makers = np.where(makers == sch.wallet, (makers + 1) % self.pop.n, makers)
        for hr in np.unique(hours):
            sel = np.flatnonzero(hours == hr)
            coin, t = coin_all[sel], sch.time[sel]
            mid = mid_all[sel]
            dec = price_decimals(mid, self.sz_dec[coin], self.max_dec[coin])
            hs = self.half_spread[coin]
            k_bid = to_ticks(mid * (1 - hs), dec, "floor")
            k_ask = np.maximum(to_ticks(mid * (1 + hs), dec, "ceil"), k_bid + 1)
            bid, ask = to_px(k_bid, dec), to_px(k_ask, dec)
            side = sch.side[sel]
            px = np.where(side > 0, ask, bid)
            lots = np.maximum(np.rint(sch.notional[sel] / px * self.lot_scale[coin]), 1).astype(np.int64)
            ev = Events.make(t, coin, side, lots, sch.wallet[sel], maker=makers[sel])
            trades, order, tid = self._trades(rng, ev, ev.maker, px, coin, tid_next=self.pre_tid_next)
            buyer = np.where(side > 0, ev.taker, ev.maker)
            seller = np.where(side > 0, ev.maker, ev.taker)
            self.ledger.apply(coin, t, tid, px, lots, buyer, seller)
            q_time = t // 1000 * 1000  # the quote they hit, at the start of that second
            o = np.lexsort((coin, q_time))
            self.ledger.last_mid[coin[o]] = ((bid + ask) / 2)[o]
            sz_q = np.maximum(lots, 1) / self.lot_scale[coin]
            tables = {
                "trades": trades,
                "bbo": bbo_table(self.coin_arr, coin[o], q_time[o], bid[o], sz_q[o], np.ones(len(o)), ask[o],
                                 sz_q[o], np.ones(len(o))),
                "candles": candle_table(self.coin_arr, coin, t, tid, px, lots, self.lot_scale),
            }
            streams = self.config.landed_streams()
            out = {s: tables.get(s, STREAM_SCHEMAS[s].empty_table()) for s in streams}
            yield Hour.of_ms(int(hr) * HOUR_MS), out


def slice_chunk(tables: dict[str, pa.Table], lo: int, hi: int) -> dict[str, pa.Table]:
    """Rows whose partition time lies in [lo, hi) (tables are sorted by that time)."""
    out = {}
    for name, table in tables.items():
        col = table.column(PARTITION_TIME_COLUMN[name]).to_numpy()
        a, b = np.searchsorted(col, [lo, hi])
        out[name] = table.slice(int(a), int(b - a))
    return out


def iter_market(config: SimConfig) -> Iterator[MarketChunk]:
    """The window's market as consecutive time-ordered chunks of ``config.chunk_ms``.

    Same seed, same chunks (the chunk length only changes how hours are cut). Prehistory is not
    included (see :meth:`Market.prehistory`).
    """
    market = Market(config)
    for h in range(config.hours):
        tables = market.hour(h)
        start = config.start_ms + h * HOUR_MS
        for lo in range(start, start + HOUR_MS, config.chunk_ms):
            yield MarketChunk(lo, lo + config.chunk_ms, slice_chunk(tables, lo, lo + config.chunk_ms))
