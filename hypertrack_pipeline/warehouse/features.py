"""wallet_features: the 36 features of SPEC §7, one row per wallet, computed inside DuckDB.

Definitions beyond the SPEC text (documented so the numbers can be checked by hand):
- Events of a wallet = its fills, the HyperEVM transactions it sent, and the ERC-20 transfers it
  sent or received; age_days, burstiness and hour_entropy use all of them. tx_count = fills + EVM
  transactions sent. age_days is measured inside the window (default: all data), so features of
  an earlier window never see later data.
- Mids come from ``bbo`` (rows with both sides); a coin with no BBO at all falls back to ``l2_snapshots``.
  "Mid before" a fill = the last mid strictly before the fill's ms; "mid 5 s after" = the last mid
  at or before fill time + 5 s; the coin return over the N minutes before a fill compares the mid
  before with the last mid at or before fill time − N min. Fills without the needed mids are left
  out of that feature's mean (feature 0 when none is left; bbo_share says how many had a mid).
- Candle of a fill = the coin's completed 1m candle whose open time is the fill's minute. Fills
  without a candle are left out of features 24 and 27–36 (candle_share says how many had one).
  Feature 24 compares with the median (h−l)/o of that coin's candles in the window.
- Standard deviations are population standard deviations (0 for a single value).
- flip_rate orders a coin's fills by (time, tid, buy before sell); unique_addresses excludes the
  wallet itself (self-trades, self-transfers); size_entropy puts notional below $1 in the first
  bin and above $10M in the last.

How: a chain of temp tables in DuckDB (addresses and coins get integer ids first so sorts and
group-bys run on integers). Fills come in pairs (the buyer's and the seller's leg of each trade, as
``load_hours`` builds them and ``check_fills_match_trades`` checks), so the per-trade work (ids, the
as-of mid lookups in numpy in ``_market_context``, the candle join) runs once per trade on the buy
legs (``_wf_trades``) and both legs are aggregated from it; ``_wf_fills`` is a view of both legs for
the per-fill sequences (flips, gaps); a count check refuses an unpaired fills table. An independent
per-wallet Python implementation (``reference.py``) must give the same numbers
(test_simulator_truth.py); each feature also has a hand-computed test (test_features.py).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from hypertrack_pipeline.feature_names import FEATURE_NAMES
from hypertrack_pipeline.warehouse.schema import ensure_schema, wallet_features_columns
from hypertrack_pipeline.warehouse.window import check_identifier, window_sql

_CANDLE_MS = 60_000
_KEY_SHIFT = 42  # (coin id << 42) | time_ms: one sortable int64 per coin-instant (ms < 2**42 until 2109)
_CONTEXT_STEP = "<market context: numpy>"
# Probe offsets (ms) of the four mids a fill needs: strictly before t, t + 5 s, t − 5 min, t − 60 min.
_PROBES = {"mid_before": -1, "mid_after": 5_000, "mid_5m": -300_000, "mid_60m": -3_600_000}


def _market_context(con: duckdb.DuckDBPyConnection) -> None:
    """_wf_ctx(k, mid_before, mid_after, mid_5m, mid_60m) for every distinct coin-instant of the fills.

    An as-of lookup of 4 probes per instant against the mid series is a vectorized binary search
    (np.searchsorted) over one sorted int64 key per mid: much cheaper than four SQL as-of joins
    when fills outnumber mids. For equal keys the last row in DuckDB's sort order wins.
    """
    keys = con.execute("SELECT DISTINCT k FROM _wf_trades").fetchnumpy()["k"]
    keys = np.sort(np.asarray(keys, dtype=np.int64))
    mids = con.execute(f"""SELECT (c.cid << {_KEY_SHIFT}) | m.time_ms AS k, m.mid FROM _wf_mids m
                           JOIN _wf_coins c USING (coin) ORDER BY k""").fetchnumpy()
    mid_keys = np.asarray(mids["k"], dtype=np.int64)
    mid_vals = np.asarray(mids["mid"], dtype=np.float64)
    coin_of = keys >> _KEY_SHIFT
    cols: dict[str, np.ndarray] = {"k": keys}
    for name, offset in _PROBES.items():
        idx = np.searchsorted(mid_keys, keys + offset, side="right") - 1
        ok = idx >= 0
        ok[ok] = (mid_keys[idx[ok]] >> _KEY_SHIFT) == coin_of[ok]  # same coin, not the previous coin's tail
        cols[name] = pa.array(np.where(ok, mid_vals[np.maximum(idx, 0)], np.nan), mask=~ok)
    con.register("_wf_ctx_arrow", pa.table(cols))
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _wf_ctx AS SELECT * FROM _wf_ctx_arrow")
    finally:
        con.unregister("_wf_ctx_arrow")


def _check_paired(con: duckdb.DuckDBPyConnection, win: str) -> None:
    """Every fill must have its other leg (load_hours writes both): the build reads the buy legs."""
    fills, trades = con.execute(f"""SELECT (SELECT count(*) FROM fills WHERE {win}),
                                           (SELECT count(*) FROM _wf_trades)""").fetchall()[0]
    if fills != 2 * trades:
        raise RuntimeError(f"fills in the window ({fills}) are not the buy and sell legs of {trades} trades; "
                           "reload the hours with load_hours")


def _leg(wallet: str, s: str, maker: str) -> str:
    """One leg of every trade of ``tx`` as a fill: the wallet, its side sign ``s`` and the per-fill values."""
    return f"""SELECT {wallet} AS wallet, cid, {s} AS s, {maker} AS is_maker, notional,
                   CASE WHEN NOT ({maker}) AND mid_before > 0 AND mid_after IS NOT NULL
                        THEN {s} * (mid_after - mid_before) / mid_before END AS impact,
                   CASE WHEN mid_before > 0 THEN {s} * (px - mid_before) / mid_before END AS slip,
                   CASE WHEN mid_5m IS NOT NULL AND mid_before IS NOT NULL
                        THEN {s} * sign(mid_before - mid_5m) END AS mom,
                   CASE WHEN mid_60m IS NOT NULL AND mid_before IS NOT NULL
                        THEN -({s}) * sign(mid_before - mid_60m) END AS rev,
                   vol, {s} * ret AS cmom, ({s} * move > 0)::INT AS cpos, trend,
                   usd_volume, high_vol::INT AS high_vol, has_candle
            FROM tx"""


def _sql(win: str, mid_win: str, table: str) -> list[str]:
    return [
        f"""CREATE OR REPLACE TEMP TABLE _wf_coins AS
            SELECT coin, (row_number() OVER (ORDER BY coin))::BIGINT AS cid
            FROM (SELECT DISTINCT coin FROM fills WHERE {win})""",
        # Every address of the window gets an integer id: the window sorts and group-bys below run on
        # integers (about 2x faster than on 42-character strings); the final table maps ids back.
        f"""CREATE OR REPLACE TEMP TABLE _wf_addrs AS
            SELECT addr, (row_number() OVER ())::BIGINT AS wid FROM (
                SELECT DISTINCT wallet AS addr FROM fills WHERE {win}
                UNION SELECT from_address FROM evm_transactions WHERE {win}
                UNION SELECT to_address FROM evm_transactions WHERE {win} AND to_address IS NOT NULL
                UNION SELECT from_address FROM evm_token_transfers WHERE {win}
                UNION SELECT to_address FROM evm_token_transfers WHERE {win})""",
        # One row per trade (the buy leg of each fill pair, see _wf_fills): per-trade work (ids, market
        # context, candles) is done once instead of once per leg.
        f"""CREATE OR REPLACE TEMP TABLE _wf_trades AS
            SELECT a.wid AS buyer, b.wid AS seller, c.cid, f.time_ms, f.tid, f.is_maker AS buyer_maker, f.px,
                   f.notional, (c.cid << {_KEY_SHIFT}) | f.time_ms AS k
            FROM fills f JOIN _wf_coins c USING (coin) JOIN _wf_addrs a ON a.addr = f.wallet
            JOIN _wf_addrs b ON b.addr = f.counterparty
            WHERE f.side_sign = 1 AND {win.replace('time_ms', 'f.time_ms')}""",
        """CREATE OR REPLACE TEMP VIEW _wf_fills AS
            SELECT buyer AS wallet, cid, time_ms, tid, 1 AS side_sign, buyer_maker AS is_maker, px, notional,
                   seller AS counterparty FROM _wf_trades
            UNION ALL
            SELECT seller, cid, time_ms, tid, -1, NOT buyer_maker, px, notional, buyer FROM _wf_trades""",
        f"""CREATE OR REPLACE TEMP TABLE _wf_mids AS
            WITH b AS (SELECT coin, time_ms, mid FROM bbo WHERE mid IS NOT NULL AND {mid_win})
            SELECT * FROM b
            UNION ALL
            SELECT coin, time_ms, mid FROM l2_snapshots
            WHERE mid IS NOT NULL AND {mid_win} AND coin NOT IN (SELECT DISTINCT coin FROM b)""",
        _CONTEXT_STEP,
        f"""CREATE OR REPLACE TEMP TABLE _wf_candles AS
            SELECT k.cid, c.open_time_ms, (c.high - c.low) / c.open AS vol, (c.close - c.open) / c.open AS ret,
                   c.close - c.open AS move,
                   CASE WHEN c.high > c.low THEN abs(c.close - c.open) / (c.high - c.low) END AS trend,
                   c.volume * c.close AS usd_volume,
                   (c.high - c.low) / c.open > median((c.high - c.low) / c.open) OVER (PARTITION BY c.coin)
                       AS high_vol
            FROM candles c JOIN _wf_coins k USING (coin)
            WHERE c.interval = '1m' AND c.open > 0 AND {win.replace('time_ms', 'c.open_time_ms')}""",
        # per-trade market context joined once, then both legs of every trade aggregated per wallet
        f"""CREATE OR REPLACE TEMP TABLE _wf_fill_agg AS
            WITH tx AS MATERIALIZED (
                SELECT t.*, x.mid_before, x.mid_after, x.mid_5m, x.mid_60m, c.vol, c.ret, c.move, c.trend,
                       c.usd_volume, c.high_vol, c.cid IS NOT NULL AS has_candle
                FROM _wf_trades t
                LEFT JOIN _wf_ctx x ON t.k = x.k
                LEFT JOIN _wf_candles c ON t.cid = c.cid AND c.open_time_ms = t.time_ms - t.time_ms % 60000),
            fx AS ({_leg('buyer', '1', 'buyer_maker')}
                   UNION ALL
                   {_leg('seller', '-1', 'NOT buyer_maker')})
            SELECT wallet, count(*) AS n_fills, count(DISTINCT cid) AS n_coins,
                   sum(notional) AS total_value, avg(notional) AS avg_value, max(notional) AS max_value,
                   stddev_pop(notional) AS value_std, avg((s > 0)::INT) AS long_ratio,
                   avg(impact) AS avg_market_impact, max(impact) AS max_market_impact,
                   avg(slip) AS avg_slippage, stddev_pop(slip) AS slippage_std,
                   avg(mom) AS momentum_score, avg(rev) AS mean_reversion_score,
                   avg(high_vol) AS volatility_trading_score,
                   avg(is_maker::INT) AS order_book_participation,
                   sum(CASE WHEN is_maker THEN notional ELSE 0 END) AS maker_notional,
                   sum(CASE WHEN is_maker THEN s * notional ELSE 0 END) AS maker_net_notional,
                   avg(vol) AS avg_candle_volatility, max(vol) AS max_candle_volatility,
                   stddev_pop(vol) AS volatility_std, avg(cmom) AS avg_candle_momentum,
                   stddev_pop(cmom) AS momentum_std,
                   avg(CASE WHEN has_candle THEN cpos END) AS positive_momentum_ratio,
                   avg(trend) AS avg_trend_strength, avg(usd_volume) AS avg_candle_volume,
                   max(usd_volume) AS max_candle_volume, stddev_pop(usd_volume) AS volume_std,
                   avg((slip IS NOT NULL)::INT) AS bbo_share, avg(has_candle::INT) AS candle_share
            FROM fx GROUP BY wallet""",
        """CREATE OR REPLACE TEMP TABLE _wf_flips AS
            SELECT wallet, sum((prev IS NOT NULL AND prev <> side_sign)::INT) AS flips
            FROM (SELECT wallet, side_sign, lag(side_sign) OVER (PARTITION BY wallet, cid
                         ORDER BY time_ms, tid, side_sign DESC) AS prev FROM _wf_fills)
            GROUP BY wallet""",
        """CREATE OR REPLACE TEMP TABLE _wf_size AS
            SELECT wallet, CASE WHEN sum(c) < 2 THEN 0
                   ELSE (ln(sum(c)) - sum(c * ln(c)) / sum(c)) / ln(least(sum(c), 70)) END AS size_entropy
            FROM (SELECT wallet, least(69, greatest(0, floor(log10(greatest(notional, 1e-300)) * 10)))::INT AS bin,
                         count(*) AS c
                  FROM _wf_fills GROUP BY ALL)
            GROUP BY wallet""",
        f"""CREATE OR REPLACE TEMP TABLE _wf_tx AS
            SELECT a.wid AS wallet, t.time_ms, b.wid AS to_address, t.input_size
            FROM evm_transactions t JOIN _wf_addrs a ON a.addr = t.from_address
            LEFT JOIN _wf_addrs b ON b.addr = t.to_address WHERE {win.replace('time_ms', 't.time_ms')}""",
        f"""CREATE OR REPLACE TEMP TABLE _wf_xfer AS
            WITH x AS (SELECT a.wid AS src, b.wid AS dst, t.token, t.amount, t.time_ms
                       FROM evm_token_transfers t JOIN _wf_addrs a ON a.addr = t.from_address
                       JOIN _wf_addrs b ON b.addr = t.to_address WHERE {win.replace('time_ms', 't.time_ms')})
            SELECT src AS wallet, dst AS other, token, amount, time_ms FROM x
            UNION ALL
            SELECT dst, src, token, amount, time_ms FROM x WHERE dst <> src""",
        """CREATE OR REPLACE TEMP TABLE _wf_events AS
            SELECT wallet, time_ms FROM _wf_fills
            UNION ALL SELECT wallet, time_ms FROM _wf_tx
            UNION ALL SELECT wallet, time_ms FROM _wf_xfer""",
        """CREATE OR REPLACE TEMP TABLE _wf_event_agg AS
            SELECT wallet, count(*) AS n_events, min(time_ms) AS first_ms, max(time_ms) AS last_ms,
                   CASE WHEN count(*) >= 3 AND avg(gap) > 0 THEN stddev_pop(gap) / avg(gap) ELSE 0 END
                       AS burstiness
            FROM (SELECT wallet, time_ms,
                         (time_ms - lag(time_ms) OVER (PARTITION BY wallet ORDER BY time_ms))::DOUBLE AS gap
                  FROM _wf_events)
            GROUP BY wallet""",
        """CREATE OR REPLACE TEMP TABLE _wf_hours AS
            SELECT wallet, (ln(sum(c)) - sum(c * ln(c)) / sum(c)) / ln(24) AS hour_entropy
            FROM (SELECT wallet, (time_ms // 3600000) % 24 AS h, count(*) AS c FROM _wf_events GROUP BY ALL)
            GROUP BY wallet""",
        """CREATE OR REPLACE TEMP TABLE _wf_evm AS
            WITH tx AS (SELECT wallet, count(*) AS n_tx,
                               count(DISTINCT CASE WHEN input_size > 0 THEN to_address END) AS contracts
                        FROM _wf_tx GROUP BY wallet),
                 xf AS (SELECT wallet, count(*) AS n_xfer, count(DISTINCT token) AS tokens, sum(amount) AS volume
                        FROM _wf_xfer GROUP BY wallet)
            SELECT wallet, coalesce(n_tx, 0) AS n_tx, coalesce(contracts, 0) AS contracts,
                   coalesce(n_xfer, 0) AS n_xfer, coalesce(tokens, 0) AS tokens, coalesce(volume, 0) AS volume
            FROM tx FULL OUTER JOIN xf USING (wallet)""",
        """CREATE OR REPLACE TEMP TABLE _wf_addr AS
            SELECT wallet, count(DISTINCT other) AS n_addr FROM (
                SELECT DISTINCT buyer AS wallet, seller AS other FROM _wf_trades WHERE buyer <> seller
                UNION ALL SELECT DISTINCT seller, buyer FROM _wf_trades WHERE buyer <> seller
                UNION ALL SELECT wallet, to_address FROM _wf_tx WHERE to_address IS NOT NULL AND to_address <> wallet
                UNION ALL SELECT wallet, other FROM _wf_xfer WHERE other <> wallet)
            GROUP BY wallet""",
        f"""CREATE OR REPLACE TABLE {table} AS
            WITH w AS (SELECT wallet FROM _wf_fill_agg UNION SELECT wallet FROM _wf_evm),
                 j AS (SELECT w.wallet, coalesce(f.n_fills, 0) AS n_fills, coalesce(e.n_tx, 0) AS n_tx,
                              coalesce(e.n_xfer, 0) AS n_xfer, f.*, e.contracts, e.tokens, e.volume,
                              ev.first_ms, ev.last_ms, ev.burstiness, h.hour_entropy, a.n_addr, fl.flips,
                              sz.size_entropy, (ev.last_ms - ev.first_ms) / 86400000.0 AS age
                       FROM w LEFT JOIN _wf_fill_agg f USING (wallet) LEFT JOIN _wf_evm e USING (wallet)
                       LEFT JOIN _wf_event_agg ev USING (wallet) LEFT JOIN _wf_hours h USING (wallet)
                       LEFT JOIN _wf_addr a USING (wallet) LEFT JOIN _wf_flips fl USING (wallet)
                       LEFT JOIN _wf_size sz USING (wallet))
            SELECT a.addr AS wallet,
                   (n_fills + n_tx)::DOUBLE AS tx_count,
                   n_xfer::DOUBLE AS erc20_count,
                   (coalesce(n_coins, 0) + coalesce(tokens, 0))::DOUBLE AS unique_tokens,
                   coalesce(n_addr, 0)::DOUBLE AS unique_addresses,
                   coalesce(age, 0)::DOUBLE AS age_days,
                   ((n_fills + n_tx) / greatest(coalesce(age, 0), 1.0 / 24))::DOUBLE AS tx_per_day,
                   coalesce(burstiness, 0)::DOUBLE AS burstiness,
                   coalesce(hour_entropy, 0)::DOUBLE AS hour_entropy,
                   coalesce(total_value, 0)::DOUBLE AS total_value,
                   coalesce(avg_value, 0)::DOUBLE AS avg_value,
                   coalesce(max_value, 0)::DOUBLE AS max_value,
                   coalesce(value_std, 0)::DOUBLE AS value_std,
                   coalesce(volume, 0)::DOUBLE AS erc20_volume,
                   coalesce(long_ratio, 0)::DOUBLE AS long_ratio,
                   (coalesce(flips, 0) / greatest(1, n_fills - coalesce(n_coins, 0)))::DOUBLE AS flip_rate,
                   coalesce(size_entropy, 0)::DOUBLE AS size_entropy,
                   coalesce(contracts, 0)::DOUBLE AS contract_interaction_count,
                   coalesce(avg_market_impact, 0)::DOUBLE AS avg_market_impact,
                   coalesce(max_market_impact, 0)::DOUBLE AS max_market_impact,
                   coalesce(avg_slippage, 0)::DOUBLE AS avg_slippage,
                   coalesce(slippage_std, 0)::DOUBLE AS slippage_std,
                   coalesce(momentum_score, 0)::DOUBLE AS momentum_score,
                   coalesce(mean_reversion_score, 0)::DOUBLE AS mean_reversion_score,
                   coalesce(volatility_trading_score, 0)::DOUBLE AS volatility_trading_score,
                   (CASE WHEN maker_notional > 0
                         THEN order_book_participation * (1 - abs(maker_net_notional) / maker_notional)
                         ELSE 0 END)::DOUBLE AS market_maker_score,
                   coalesce(order_book_participation, 0)::DOUBLE AS order_book_participation,
                   coalesce(avg_candle_volatility, 0)::DOUBLE AS avg_candle_volatility,
                   coalesce(max_candle_volatility, 0)::DOUBLE AS max_candle_volatility,
                   coalesce(volatility_std, 0)::DOUBLE AS volatility_std,
                   coalesce(avg_candle_momentum, 0)::DOUBLE AS avg_candle_momentum,
                   coalesce(momentum_std, 0)::DOUBLE AS momentum_std,
                   coalesce(positive_momentum_ratio, 0)::DOUBLE AS positive_momentum_ratio,
                   coalesce(avg_trend_strength, 0)::DOUBLE AS avg_trend_strength,
                   coalesce(avg_candle_volume, 0)::DOUBLE AS avg_candle_volume,
                   coalesce(max_candle_volume, 0)::DOUBLE AS max_candle_volume,
                   coalesce(volume_std, 0)::DOUBLE AS volume_std,
                   n_fills > 0 AS has_fills,
                   coalesce(bbo_share, 0) > 0 AS has_bbo,
                   coalesce(candle_share, 0) > 0 AS has_candles,
                   (n_tx + n_xfer) > 0 AS has_evm,
                   coalesce(bbo_share, 0)::DOUBLE AS bbo_share,
                   coalesce(candle_share, 0)::DOUBLE AS candle_share,
                   first_ms::BIGINT AS first_time_ms, last_ms::BIGINT AS last_time_ms
            FROM j JOIN _wf_addrs a ON a.wid = j.wallet ORDER BY a.addr""",
    ]


_TEMPS = ("_wf_coins", "_wf_addrs", "_wf_trades", "_wf_mids", "_wf_ctx", "_wf_candles", "_wf_fill_agg", "_wf_flips",
          "_wf_size", "_wf_tx", "_wf_xfer", "_wf_events", "_wf_event_agg", "_wf_hours", "_wf_evm", "_wf_addr")


def build_wallet_features(con: duckdb.DuckDBPyConnection, start_ms: int | None = None, end_ms: int | None = None,
                          table: str = "wallet_features") -> dict:
    """(Re)build ``table`` with one row per wallet that has a fill, an EVM transaction or a transfer in
    [start_ms, end_ms) (default: all data); returns metadata (rows, coverage, constant features)."""
    ensure_schema(con)
    table = check_identifier(table)
    win = window_sql(start_ms, end_ms)
    mid_win = window_sql(None, None if end_ms is None else end_ms + 5000)
    try:
        for stmt in _sql(win, mid_win, table):
            if stmt == _CONTEXT_STEP:
                _check_paired(con, win)
                _market_context(con)
            else:
                con.execute(stmt)
    finally:
        con.execute("DROP VIEW IF EXISTS _wf_fills")
        for t in _TEMPS:
            con.execute(f"DROP TABLE IF EXISTS {t}")
    cols = list(wallet_features_columns())
    got = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    assert got == cols, f"wallet_features columns drifted from the declared layout: {got}"
    stats = con.execute(f"""SELECT count(*), avg(has_bbo::INT), avg(has_candles::INT), avg(has_evm::INT)
                            FROM {table}""").fetchall()[0]
    return {"rows": int(stats[0]), "share_with_bbo": float(stats[1] or 0), "share_with_candles": float(stats[2] or 0),
            "share_with_evm": float(stats[3] or 0), "features": len(FEATURE_NAMES)}
