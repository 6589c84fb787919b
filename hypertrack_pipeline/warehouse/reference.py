"""A straightforward per-wallet pure-Python implementation of the 36 SPEC features (same definitions as
features.py). It is the baseline the benchmark measures the SQL against, and an independent second
implementation the tests compare with on a simulated market. Not used by the pipeline."""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq

from hypertrack_pipeline.feature_names import SPEC_FEATURE_NAMES as FEATURE_NAMES
from hypertrack_pipeline.warehouse.feature_arrays import MAX_MID_AGE_MS


def _rows(raw: Path, stream: str) -> list[dict]:
    rows: list[dict] = []
    for part in sorted((Path(raw) / stream).glob("date=*/hour=*/part-*.parquet")):
        rows.extend(pq.read_table(part).to_pylist())
    return rows


def _std(xs: list[float]) -> float:
    return statistics.pstdev(xs) if len(xs) > 1 else 0.0


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def _entropy(counts: list[int]) -> float:
    n = sum(counts)
    return -sum(c / n * math.log(c / n) for c in counts if c)


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


class _Mids:
    def __init__(self, points: list[tuple[int, float]]) -> None:
        points.sort(key=lambda p: p[0])
        self.times = [p[0] for p in points]
        self.mids = [p[1] for p in points]

    def before(self, t: int) -> float | None:  # last mid strictly before t, at most an hour before t - 1
        i = bisect.bisect_left(self.times, t)
        return self.mids[i - 1] if i and self.times[i - 1] >= t - 1 - MAX_MID_AGE_MS else None

    def at_or_before(self, t: int) -> float | None:  # last mid at or before t, at most an hour old
        i = bisect.bisect_right(self.times, t)
        return self.mids[i - 1] if i and self.times[i - 1] >= t - MAX_MID_AGE_MS else None


def reference_features(raw: Path) -> dict[str, dict[str, float]]:
    """wallet → {feature: value} over all landed data under ``raw``."""
    trades = {(r["coin"], r["time"], r["tid"]): r for r in _rows(raw, "trades")}
    fills: dict[str, list[dict]] = defaultdict(list)
    for r in trades.values():
        notional = r["px"] * r["sz"]
        fills[r["buyer"]].append({"coin": r["coin"], "time": r["time"], "tid": r["tid"], "s": 1, "px": r["px"],
                                  "notional": notional, "maker": r["side"] == "A", "cp": r["seller"]})
        fills[r["seller"]].append({"coin": r["coin"], "time": r["time"], "tid": r["tid"], "s": -1, "px": r["px"],
                                   "notional": notional, "maker": r["side"] == "B", "cp": r["buyer"]})
    points: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for r in _rows(raw, "bbo"):
        if r["bid_px"] is not None and r["ask_px"] is not None:
            points[r["coin"]].append((r["time"], (r["bid_px"] + r["ask_px"]) / 2))
    bbo_hours = {(coin, t // 3_600_000) for coin, p in points.items() for t, _ in p}
    for r in _rows(raw, "l2book"):
        if (r["coin"], r["time"] // 3_600_000) not in bbo_hours and r["bid_px"] and r["ask_px"]:
            points[r["coin"]].append((r["time"], (r["bid_px"][0] + r["ask_px"][0]) / 2))
    mids = {coin: _Mids(p) for coin, p in points.items()}
    candles = {}
    ranges: dict[str, list[float]] = defaultdict(list)
    for c in _rows(raw, "candles"):
        if c["interval"] == "1m" and c["open"] > 0:
            candles[(c["coin"], c["open_time"])] = c
            ranges[c["coin"]].append((c["high"] - c["low"]) / c["open"])
    median_range = {coin: statistics.median(v) for coin, v in ranges.items()}
    txs: dict[str, list[dict]] = defaultdict(list)
    for t in _rows(raw, "evm_transactions"):
        txs[t["from_address"]].append(t)
    xfers: dict[str, list[tuple[dict, str]]] = defaultdict(list)
    for t in _rows(raw, "evm_token_transfers"):
        xfers[t["from_address"]].append((t, t["to_address"]))
        if t["to_address"] != t["from_address"]:
            xfers[t["to_address"]].append((t, t["from_address"]))
    out = {}
    for wallet in set(fills) | set(txs) | set(xfers):
        out[wallet] = _wallet(fills.get(wallet, []), txs.get(wallet, []), xfers.get(wallet, []), wallet, mids,
                              candles, median_range)
    return out


def _wallet(fl: list[dict], txs: list[dict], xf: list[tuple[dict, str]], wallet: str, mids: dict,
            candles: dict, median_range: dict) -> dict[str, float]:
    f: dict[str, float] = dict.fromkeys(FEATURE_NAMES, 0.0)
    n = len(fl)
    events = sorted([x["time"] for x in fl] + [t["time"] for t in txs] + [t["time"] for t, _ in xf])
    f["tx_count"] = n + len(txs)
    f["erc20_count"] = len(xf)
    f["unique_tokens"] = len({x["coin"] for x in fl}) + len({t["token"] for t, _ in xf})
    others = {x["cp"] for x in fl} | {t["to_address"] for t in txs if t["to_address"]} | {o for _, o in xf}
    others.discard(wallet)
    f["unique_addresses"] = len(others)
    f["age_days"] = (events[-1] - events[0]) / 86_400_000
    f["tx_per_day"] = f["tx_count"] / max(f["age_days"], 1 / 24)
    gaps = [b - a for a, b in zip(events, events[1:], strict=False)]
    if len(events) >= 3 and _mean(gaps) > 0:
        f["burstiness"] = _std(gaps) / _mean(gaps)
    hours = [0] * 24
    for t in events:
        hours[(t // 3_600_000) % 24] += 1
    f["hour_entropy"] = _entropy(hours) / math.log(24)
    f["erc20_volume"] = sum(t["amount"] for t, _ in xf)
    f["contract_interaction_count"] = len({t["to_address"] for t in txs if t["input_size"] > 0 and t["to_address"]})
    if not n:
        return f
    values = [x["notional"] for x in fl]
    f["total_value"], f["avg_value"], f["max_value"], f["value_std"] = sum(values), _mean(values), max(values), _std(values)
    f["long_ratio"] = sum(1 for x in fl if x["s"] > 0) / n
    by_coin: dict[str, list[dict]] = defaultdict(list)
    for x in fl:
        by_coin[x["coin"]].append(x)
    flips = 0
    for xs in by_coin.values():
        xs.sort(key=lambda x: (x["time"], x["tid"], -x["s"]))
        flips += sum(1 for a, b in zip(xs, xs[1:], strict=False) if a["s"] != b["s"])
    f["flip_rate"] = flips / max(1, n - len(by_coin))
    if n >= 2:
        bins = defaultdict(int)
        for v in values:
            bins[min(69, max(0, math.floor(math.log10(max(v, 1e-300)) * 10)))] += 1
        f["size_entropy"] = _entropy(list(bins.values())) / math.log(min(n, 70))
    impacts, slips, moms, revs, vols, cmoms, cpos, trends, usd, high = [], [], [], [], [], [], [], [], [], []
    with_mid = with_candle = 0
    for x in fl:
        m = mids.get(x["coin"])
        t, s = x["time"], x["s"]
        before = m.before(t) if m else None
        if before is not None and before > 0:
            with_mid += 1
            slips.append(s * (x["px"] - before) / before)
            after = m.at_or_before(t + 5000)
            if not x["maker"] and after is not None:
                impacts.append(s * (after - before) / before)
        if before is not None:
            m5, m60 = m.at_or_before(t - 300_000), m.at_or_before(t - 3_600_000)
            if m5 is not None:
                moms.append(s * _sign(before - m5))
            if m60 is not None:
                revs.append(-s * _sign(before - m60))
        c = candles.get((x["coin"], t - t % 60_000))
        if c:
            with_candle += 1
            vol = (c["high"] - c["low"]) / c["open"]
            vols.append(vol)
            cmoms.append(s * (c["close"] - c["open"]) / c["open"])
            cpos.append(1 if s * (c["close"] - c["open"]) > 0 else 0)
            if c["high"] > c["low"]:
                trends.append(abs(c["close"] - c["open"]) / (c["high"] - c["low"]))
            usd.append(c["volume"] * c["close"])
            high.append(1 if vol > median_range[x["coin"]] else 0)
    f["avg_market_impact"] = _mean(impacts)
    f["max_market_impact"] = max(impacts) if impacts else 0.0
    f["avg_slippage"], f["slippage_std"] = _mean(slips), _std(slips)
    f["momentum_score"], f["mean_reversion_score"] = _mean(moms), _mean(revs)
    f["volatility_trading_score"] = _mean(high)
    maker = [x for x in fl if x["maker"]]
    maker_notional = sum(x["notional"] for x in maker)
    f["order_book_participation"] = len(maker) / n
    if maker_notional > 0:
        net = sum(x["s"] * x["notional"] for x in maker)
        f["market_maker_score"] = len(maker) / n * (1 - abs(net) / maker_notional)
    f["avg_candle_volatility"] = _mean(vols)
    f["max_candle_volatility"] = max(vols) if vols else 0.0
    f["volatility_std"] = _std(vols)
    f["avg_candle_momentum"], f["momentum_std"] = _mean(cmoms), _std(cmoms)
    f["positive_momentum_ratio"] = _mean(cpos)
    f["avg_trend_strength"] = _mean(trends)
    f["avg_candle_volume"] = _mean(usd)
    f["max_candle_volume"] = max(usd) if usd else 0.0
    f["volume_std"] = _std(usd)
    return f
