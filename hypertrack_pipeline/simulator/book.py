"""Prices on the exchange's grid, the top of book and L2 snapshots, candles, and fast Arrow strings.

Prices are kept as integer ticks ``k`` with a per-second number of decimals ``dec`` (5 significant
figures, at most ``6 - szDecimals`` decimals, as on Hyperliquid); ``to_px`` turns them into the float
that equals the decimal text, so prices survive any wire round trip unchanged.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from hypertrack_pipeline.landing.schemas import BBO, CANDLES, L2BOOK

L2_LEVELS = 20
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def price_decimals(mid: np.ndarray, sz_decimals: np.ndarray, max_decimals: np.ndarray | int = 6) -> np.ndarray:
    """Decimals allowed at this price: 5 significant figures, at most ``max_decimals`` - szDecimals
    (6 on perps, 8 on spot)."""
    return np.minimum(max_decimals - sz_decimals, 4 - np.floor(np.log10(mid))).astype(np.int64)


def _scale(dec: np.ndarray) -> np.ndarray:
    return 10.0 ** np.abs(dec)


def to_ticks(px: np.ndarray, dec: np.ndarray, how: str) -> np.ndarray:
    sc = _scale(dec)
    x = np.where(dec >= 0, px * sc, px / sc)
    f = {"floor": np.floor, "ceil": np.ceil, "round": np.rint}[how]
    return f(x).astype(np.int64)


def to_px(k: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Ticks to price; dividing by an exact power of ten gives the float of the decimal text."""
    sc = _scale(dec)
    return np.where(dec >= 0, k / sc, k * sc)


def hex_strings(rng: np.random.Generator, n: int, n_bytes: int, zero_mask: np.ndarray | None = None) -> pa.Array:
    """``n`` random ``0x…`` hex strings of ``n_bytes`` bytes; rows in ``zero_mask`` are all zeros."""
    raw = np.frombuffer(rng.bytes(n * n_bytes), dtype=np.uint8).reshape(n, n_bytes)
    if zero_mask is not None:
        raw = np.where(zero_mask[:, None], 0, raw).astype(np.uint8)
    width = 2 + 2 * n_bytes
    out = np.empty((n, width), np.uint8)
    out[:, 0] = ord("0")
    out[:, 1] = ord("x")
    out[:, 2::2] = _HEX[raw >> 4]
    out[:, 3::2] = _HEX[raw & 15]
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(out.tobytes())])


def take_strings(values: pa.Array, idx: np.ndarray) -> pa.Array:
    return values.take(pa.array(np.asarray(idx, np.int64)))


def list_column(values: np.ndarray, width: int, typ: pa.DataType) -> pa.Array:
    """Rows of ``width`` consecutive values as a list column."""
    n = len(values) // width if width else 0
    offsets = pa.array(np.arange(0, width * (n + 1), width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(values, typ))


def bbo_table(
    coin_names: pa.Array, coin: np.ndarray, time: np.ndarray, bid: np.ndarray, bid_sz: np.ndarray,
    bid_n: np.ndarray, ask: np.ndarray, ask_sz: np.ndarray, ask_n: np.ndarray,
) -> pa.Table:
    return pa.table(
        {
            "coin": take_strings(coin_names, coin),
            "time": pa.array(time, pa.int64()),
            "bid_px": pa.array(bid, pa.float64()),
            "bid_sz": pa.array(bid_sz, pa.float64()),
            "bid_n": pa.array(bid_n, pa.int32()),
            "ask_px": pa.array(ask, pa.float64()),
            "ask_sz": pa.array(ask_sz, pa.float64()),
            "ask_n": pa.array(ask_n, pa.int32()),
            "recv_ns": pa.array(time * 1_000_000, pa.int64()),
        },
        schema=BBO,
    )


def l2_table(
    rng: np.random.Generator, coin_names: pa.Array, coin: np.ndarray, time: np.ndarray,
    k_bid: np.ndarray, k_ask: np.ndarray, dec: np.ndarray, bid_sz: np.ndarray, ask_sz: np.ndarray,
    bid_n: np.ndarray, ask_n: np.ndarray, lot_scale: np.ndarray,
) -> pa.Table:
    """Snapshots of 20 levels a side; level 0 equals the top of book of the same second."""
    n, L = len(time), L2_LEVELS
    gaps_b = np.concatenate([np.zeros((n, 1), np.int64), rng.integers(1, 4, (n, L - 1))], axis=1).cumsum(axis=1)
    gaps_a = np.concatenate([np.zeros((n, 1), np.int64), rng.integers(1, 4, (n, L - 1))], axis=1).cumsum(axis=1)
    d = dec[:, None]
    bpx = to_px(np.maximum(k_bid[:, None] - gaps_b, 1), d)
    apx = to_px(k_ask[:, None] + gaps_a, d)
    grow = np.exp(rng.normal(0.15, 0.5, (n, L)).cumsum(axis=1))
    ls = lot_scale[coin][:, None]
    bsz = np.maximum(np.rint(bid_sz[:, None] * ls * grow), 1) / ls
    asz = np.maximum(np.rint(ask_sz[:, None] * ls * grow), 1) / ls
    bsz[:, 0], asz[:, 0] = bid_sz, ask_sz
    bn = rng.integers(1, 25, (n, L))
    an = rng.integers(1, 25, (n, L))
    bn[:, 0], an[:, 0] = bid_n, ask_n
    return pa.table(
        {
            "coin": take_strings(coin_names, coin),
            "time": pa.array(time, pa.int64()),
            "bid_px": list_column(bpx.ravel(), L, pa.float64()),
            "bid_sz": list_column(bsz.ravel(), L, pa.float64()),
            "bid_n": list_column(bn.ravel(), L, pa.int32()),
            "ask_px": list_column(apx.ravel(), L, pa.float64()),
            "ask_sz": list_column(asz.ravel(), L, pa.float64()),
            "ask_n": list_column(an.ravel(), L, pa.int32()),
            "recv_ns": pa.array(time * 1_000_000, pa.int64()),
        },
        schema=L2BOOK,
    )


def candle_table(
    coin_names: pa.Array, coin: np.ndarray, time: np.ndarray, tid: np.ndarray, px: np.ndarray,
    lots: np.ndarray, lot_scale: np.ndarray,
) -> pa.Table:
    """Completed 1m candles from trades: o first px, c last px, h/l, v sum of sizes, n count.

    Minutes without a trade get no candle. Volume is summed in whole lots, so it is exact.
    """
    if not len(time):
        return CANDLES.empty_table()
    minute = time // 60_000
    order = np.lexsort((tid, time, minute, coin))
    c, m, p, lt = coin[order], minute[order], px[order], lots[order]
    new = np.r_[True, (c[1:] != c[:-1]) | (m[1:] != m[:-1])]
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(c)] - 1
    cc, mm = c[starts], m[starts]
    out_order = np.lexsort((cc, mm))
    pick = lambda a: a[out_order]  # noqa: E731
    open_time = mm * 60_000
    vol = np.add.reduceat(lt, starts) / lot_scale[cc]
    return pa.table(
        {
            "coin": take_strings(coin_names, pick(cc)),
            "interval": pa.array(["1m"] * len(starts), pa.string()),
            "open_time": pa.array(pick(open_time), pa.int64()),
            "close_time": pa.array(pick(open_time + 59_999), pa.int64()),
            "open": pa.array(pick(p[starts]), pa.float64()),
            "high": pa.array(pick(np.maximum.reduceat(p, starts)), pa.float64()),
            "low": pa.array(pick(np.minimum.reduceat(p, starts)), pa.float64()),
            "close": pa.array(pick(p[ends]), pa.float64()),
            "volume": pa.array(pick(vol), pa.float64()),
            "n_trades": pa.array(pick(ends - starts + 1), pa.int64()),
            "recv_ns": pa.array(pick(open_time + 60_000) * 1_000_000, pa.int64()),
        },
        schema=CANDLES,
    )
