"""wallet_features: the 36 features of SPEC §7 and the skill features, one row per wallet, computed by
DuckDB and numpy.

Skill features (not in the SPEC; see feature_names.SKILL_FEATURE_NAMES): the mark-out of a fill at
horizon h is side × (mid at t + h − px) / px, the measure execution desks use for informed flow; a
horizon counts only when t + h lies inside the window (no look-ahead into a later target window).
realized_edge marks every fill to the coin's last mid of the window (PnL per notional from a flat
start). The win rate, the stability and the skill statistic use the 15 min mark-out; the skill
statistic treats the wallet's hourly mean mark-outs as its observations (skill_statistic).

Definitions beyond the SPEC text (documented so the numbers can be checked by hand):
- Events of a wallet = its fills, the HyperEVM transactions it sent, and the ERC-20 transfers it
  sent or received; age_days, burstiness and hour_entropy use all of them. tx_count = fills + EVM
  transactions sent. age_days is measured inside the window (default: all data), so features of
  an earlier window never see later data.
- Mids come from ``bbo`` (rows with both sides); a coin-hour (UTC) without a BBO mid falls back to that
  hour's ``l2_snapshots``. "Mid before" a fill = the last mid strictly before the fill's ms; "mid 5 s
  after" = the last mid at or before fill time + 5 s; the coin return over the N minutes before a fill
  compares the mid before with the last mid at or before fill time − N min. An as-of mid counts only
  when it is at most an hour older than its probe (feature_arrays.MAX_MID_AGE_MS). Fills without the
  needed mids are left out of that feature's mean (feature 0 when none is left; bbo_share says how
  many had a mid). The all-data window ends where the loaded data ends: the end of the last landing
  hour (data_end_ms); a mark-out horizon past it does not count yet.
- Candle of a fill = the coin's completed 1m candle whose open time is the fill's minute. Fills
  without a candle are left out of features 24 and 27–36 (candle_share says how many had one).
  Feature 24 compares with the median (h−l)/o of that coin's candles in the window.
- Standard deviations are population standard deviations (0 for a single value).
- flip_rate orders a coin's fills by (time, tid, buy before sell); unique_addresses excludes the
  wallet itself (self-trades, self-transfers); size_entropy puts notional below $1 in the first
  bin and above $10M in the last.

How: DuckDB gives every address, coin and token of the window a dense integer id and writes the
id-coded trades sorted by (coin, time, tid). numpy computes what needs order or as-of lookups
(``feature_arrays``: four as-of mids and the candle of each trade by binary search; flips, event gaps
and distinct counterparties by packed-key sorts, in threads), and DuckDB aggregates both legs of
every trade per wallet (means, stds, maxima, shares) over the numpy per-trade table (_wf_ctx).
Each fill is a leg of a trade (``fills`` is a view over ``trades``), so per-trade work is done once
per trade. An independent per-wallet Python implementation (``reference.py``) must give the same
numbers (test_simulator_truth.py); each feature also has a hand-computed test (test_features.py).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import duckdb
import numpy as np
import pyarrow as pa

from hypertrack_pipeline.catalog import Column, Table
from hypertrack_pipeline.feature_names import FEATURE_DOCS, FEATURE_NAMES, MARKOUT_HORIZONS_S, SKILL_HORIZON
from hypertrack_pipeline.warehouse.feature_arrays import (
    KEY_SHIFT,
    Evm,
    Trades,
    candle_of,
    evm_aggregates,
    market_context,
    markouts,
    sequence_features,
    wallet_feature_table,
)
from hypertrack_pipeline.warehouse.schema import COVERAGE_DOCS, session_setting, wallet_features_columns
from hypertrack_pipeline.warehouse.window import check_identifier, window_sql

# The landed streams wallet_features reads (evm_blocks and gaps feed checks and reports, not features).
FEATURE_STREAMS: tuple[str, ...] = ("trades", "bbo", "l2book", "candles", "evm_transactions", "evm_token_transfers")
# ... and the warehouse tables they load into (what the build reads).
FEATURE_READS: tuple[str, ...] = ("trades", "bbo", "l2_snapshots", "candles", "evm_transactions", "evm_token_transfers")


def _feature_columns() -> tuple[Column, ...]:
    docs = {"wallet": "address, lowercase hex", **FEATURE_DOCS, **COVERAGE_DOCS}
    return tuple(Column(name, dtype, docs.get(name, "")) for name, dtype in wallet_features_columns().items())


FEATURES_TABLE = Table(
    "wallet_features",
    "One row per wallet (every address with a fill, an EVM transaction or an ERC-20 transfer): the 36 features "
    "of SPEC §7 and the skill features (mark-outs, edge, skill confidence) over the feature window (0 when an input is missing; the coverage columns say which).",
    _feature_columns(),
)


def ids_sql(win: str) -> list[str]:
    """Dense 0-based ids (coins traded, every address, ERC-20 tokens of the window), the id-coded trades
    in (coin, time, tid) order and the window's completed 1m candles of the traded coins."""
    return [
        f"""CREATE OR REPLACE TEMP TABLE _wf_coins AS
            SELECT coin, (row_number() OVER (ORDER BY coin) - 1)::BIGINT AS cid
            FROM (SELECT DISTINCT coin FROM trades WHERE {win})""",
        f"""CREATE OR REPLACE TEMP TABLE _wf_addrs AS
            SELECT addr, (row_number() OVER () - 1)::BIGINT AS wid FROM (
                SELECT buyer AS addr FROM trades WHERE {win}
                UNION SELECT seller FROM trades WHERE {win}
                UNION SELECT from_address FROM evm_transactions WHERE {win}
                UNION SELECT to_address FROM evm_transactions WHERE {win} AND to_address IS NOT NULL
                UNION SELECT from_address FROM evm_token_transfers WHERE {win}
                UNION SELECT to_address FROM evm_token_transfers WHERE {win})""",
        f"""CREATE OR REPLACE TEMP TABLE _wf_tokens AS
            SELECT token, (row_number() OVER () - 1)::BIGINT AS tok
            FROM (SELECT DISTINCT token FROM evm_token_transfers WHERE {win})""",
        f"""CREATE OR REPLACE TEMP TABLE _wf_trades AS
            SELECT a.wid AS buyer, b.wid AS seller, c.cid, t.time_ms, t.tid, t.side = 'A' AS buyer_maker, t.px,
                   t.notional
            FROM trades t JOIN _wf_coins c USING (coin) JOIN _wf_addrs a ON a.addr = t.buyer
            JOIN _wf_addrs b ON b.addr = t.seller
            WHERE {win.replace("time_ms", "t.time_ms")} ORDER BY c.cid, t.time_ms, t.tid""",
        f"""CREATE OR REPLACE TEMP TABLE _wf_candles AS
            SELECT (row_number() OVER (ORDER BY key) - 1)::BIGINT AS crow, * FROM (
                SELECT (k.cid << {KEY_SHIFT}) | c.open_time_ms AS key, (c.high - c.low) / c.open AS vol,
                       (c.close - c.open) / c.open AS ret, c.close - c.open AS move,
                       CASE WHEN c.high > c.low THEN abs(c.close - c.open) / (c.high - c.low) END AS trend,
                       c.volume * c.close AS usd_volume,
                       ((c.high - c.low) / c.open > median((c.high - c.low) / c.open) OVER (PARTITION BY c.coin))::INT
                           AS high_vol
                FROM candles c JOIN _wf_coins k USING (coin)
                WHERE c.interval = '1m' AND c.open > 0 AND {win.replace("time_ms", "c.open_time_ms")})""",
    ]


def _leg(wallet: str, s: str, maker: str) -> str:
    """One leg of every trade of ``tx`` as a fill: the wallet, its side sign ``s`` and the per-fill values."""
    return f"""SELECT {wallet} AS wallet, {s} AS s, {maker} AS is_maker, notional,
                   CASE WHEN NOT ({maker}) AND mid_before > 0 AND mid_after IS NOT NULL
                        THEN {s} * (mid_after - mid_before) / mid_before END AS impact,
                   CASE WHEN mid_before > 0 THEN {s} * (px - mid_before) / mid_before END AS slip,
                   CASE WHEN mid_5m IS NOT NULL AND mid_before IS NOT NULL
                        THEN {s} * sign(mid_before - mid_5m) END AS mom,
                   CASE WHEN mid_60m IS NOT NULL AND mid_before IS NOT NULL
                        THEN -({s}) * sign(mid_before - mid_60m) END AS rev,
                   vol, {s} * ret AS cmom, ({s} * move > 0)::INT AS cpos, trend,
                   usd_volume, high_vol, has_candle,
                   {_markout_legs(s)}, {s} * r_end * notional AS edge_usd,
                   CASE WHEN r_end IS NOT NULL THEN notional END AS edge_notional
            FROM tx"""


def _markout_legs(s: str) -> str:
    return ", ".join(f"{s} * r_{h} AS mo_{h}" for h in MARKOUT_HORIZONS_S)


# Per wallet over both legs of every trade: _wf_ctx is the numpy side's per-trade table (the trade's
# columns, its four as-of mids and its candle row).
_FILL_AGG = f"""
    WITH tx AS (
        SELECT x.*, c.vol, c.ret, c.move, c.trend, c.usd_volume, c.high_vol, c.crow IS NOT NULL AS has_candle
        FROM _wf_ctx x LEFT JOIN _wf_candles c ON c.crow = x.crow),
    fx AS ({_leg('buyer', '1', 'buyer_maker')}
           UNION ALL
           {_leg('seller', '-1', 'NOT buyer_maker')})
    SELECT wallet, count(*) AS n_fills,
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
           avg((slip IS NOT NULL)::INT) AS bbo_share, avg(has_candle::INT) AS candle_share,
           {", ".join(f"avg(mo_{h}) AS markout_{h}" for h in MARKOUT_HORIZONS_S)},
           sum(edge_usd) / sum(edge_notional) AS realized_edge,
           avg((mo_{SKILL_HORIZON} > 0)::INT) AS markout_win_rate
    FROM fx GROUP BY wallet"""

# The skill statistic's observations: per wallet and hour, the mean skill-horizon mark-out of the
# hour's fills and their mark-out PnL (USD); per wallet, how many hours, their mean and sample std,
# and how many had a positive PnL.
SKILL_HOURS = f"""
    WITH fx AS (
        SELECT buyer AS wallet, time_ms // 3600000 AS hour, r_{SKILL_HORIZON} AS mo, notional
        FROM _wf_ctx WHERE r_{SKILL_HORIZON} IS NOT NULL
        UNION ALL
        SELECT seller, time_ms // 3600000, -r_{SKILL_HORIZON}, notional
        FROM _wf_ctx WHERE r_{SKILL_HORIZON} IS NOT NULL)
    SELECT wallet, hour, avg(mo) AS m, sum(mo * notional) AS pnl FROM fx GROUP BY wallet, hour"""
_SKILL_AGG = f"""
    SELECT wallet, count(*) AS skill_hours, avg(m) AS skill_mean, stddev_samp(m) AS skill_sd,
           sum((pnl > 0)::INT) AS skill_pos_hours
    FROM ({SKILL_HOURS}) GROUP BY wallet"""

# size_entropy: each fill's notional in 0.1-decade bins from $1 (bin 0) to $10M (bin 69), counted per wallet
_BIN = "least(69, greatest(0, floor(log10(greatest(notional, 1e-300)) * 10)))::INT"
SIZE_BINS = f"""
    SELECT wallet, bin, count(*) AS c FROM (
        SELECT buyer AS wallet, {_BIN} AS bin FROM _wf_trades
        UNION ALL
        SELECT seller, {_BIN} FROM _wf_trades)
    GROUP BY ALL"""
_SIZE_ENTROPY = f"""
    SELECT wallet, CASE WHEN sum(c) < 2 THEN 0
           ELSE (ln(sum(c)) - sum(c * ln(c)) / sum(c)) / ln(least(sum(c), 70)) END AS size_entropy
    FROM ({SIZE_BINS}) GROUP BY wallet"""


def fetch_trades(con: duckdb.DuckDBPyConnection) -> Trades:
    """The id-coded trades in (coin, time, tid) order: the stored order of _wf_trades, checked (cheap)
    and restored by a sort if a scan ever returned it otherwise (flips and as-of lookups rely on it)."""
    d = con.execute("SELECT * FROM _wf_trades").fetchnumpy()
    cid, time_ms, tid = _i64(d["cid"]), _i64(d["time_ms"]), _i64(d["tid"])
    key = (cid << KEY_SHIFT) | time_ms
    step = np.diff(key)
    if (step < 0).any() or (np.diff(tid)[step == 0] < 0).any():
        order = np.lexsort((tid, key))
        d = {name: np.asarray(col)[order] for name, col in d.items()}
        cid, time_ms = _i64(d["cid"]), _i64(d["time_ms"])
    return Trades(buyer=_i64(d["buyer"]), seller=_i64(d["seller"]), cid=cid, time_ms=time_ms,
                  buyer_maker=np.asarray(d["buyer_maker"], dtype=bool), px=_f64(d["px"]), notional=_f64(d["notional"]))


def fetch_evm(con: duckdb.DuckDBPyConnection, win: str) -> Evm:
    tx = con.execute(f"""
        SELECT a.wid AS src, coalesce(b.wid, -1) AS dst, t.time_ms, t.input_size > 0 AS calls
        FROM evm_transactions t JOIN _wf_addrs a ON a.addr = t.from_address
        LEFT JOIN _wf_addrs b ON b.addr = t.to_address WHERE {win.replace("time_ms", "t.time_ms")}""").fetchnumpy()
    xf = con.execute(f"""
        SELECT a.wid AS src, b.wid AS dst, x.time_ms, k.tok, x.amount
        FROM evm_token_transfers x JOIN _wf_addrs a ON a.addr = x.from_address
        JOIN _wf_addrs b ON b.addr = x.to_address JOIN _wf_tokens k USING (token)
        WHERE {win.replace("time_ms", "x.time_ms")}""").fetchnumpy()
    return Evm(tx_from=_i64(tx["src"]), tx_to=_i64(tx["dst"]), tx_time=_i64(tx["time_ms"]),
               tx_calls=np.asarray(tx["calls"], dtype=bool), xfer_from=_i64(xf["src"]), xfer_to=_i64(xf["dst"]),
               xfer_time=_i64(xf["time_ms"]), xfer_token=_i64(xf["tok"]), xfer_amount=_f64(xf["amount"]))


def mids_sql(win: str) -> str:
    """(coin, time_ms, mid) of every coin in ``win``: BBO, or L2 in a coin-hour without a BBO mid."""
    return f"""
        WITH b AS (SELECT coin, time_ms, mid FROM bbo WHERE mid IS NOT NULL AND {win})
        SELECT * FROM b
        UNION ALL
        SELECT coin, time_ms, mid FROM l2_snapshots
        WHERE mid IS NOT NULL AND {win}
          AND (coin, time_ms // 3600000) NOT IN (SELECT DISTINCT coin, time_ms // 3600000 FROM b)"""


def fetch_mids(con: duckdb.DuckDBPyConnection, mid_win: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (coin id << 42) | time_ms keys and mids of the traded coins (mids_sql)."""
    d = con.execute(f"""
        SELECT (c.cid << {KEY_SHIFT}) | m.time_ms AS k, m.mid FROM ({mids_sql(mid_win)}) m JOIN _wf_coins c USING (coin)
        ORDER BY k""").fetchnumpy()
    return _i64(d["k"]), _f64(d["mid"])


def context_table(tr: Trades, mids: tuple[np.ndarray, np.ndarray], candle_keys: np.ndarray,
                   end_ms: int | None) -> pa.Table:
    """Per trade: the columns the aggregate reads, the four as-of mids, the buyer's mark-outs (only
    horizons that end inside the window) and the candle row (NULL where missing)."""
    cols = {"buyer": tr.buyer, "seller": tr.seller, "cid": tr.cid, "buyer_maker": tr.buyer_maker, "px": tr.px,
            "notional": tr.notional, "time_ms": tr.time_ms}
    cols.update({name: pa.array(v.data, mask=v.mask) for name, v in market_context(tr, *mids).items()})
    cols.update({name: pa.array(v.data, mask=np.ma.getmaskarray(v)) for name, v in markouts(tr, *mids, end_ms).items()})
    row = candle_of(tr, candle_keys)
    cols["crow"] = pa.array(row, mask=row < 0)
    return pa.table(cols)


def per_wallet(con: duckdb.DuckDBPyConnection, sql: str, n_wallets: int) -> dict[str, np.ndarray]:
    """Columns of a per-wallet query as arrays indexed by wallet id (NaN for wallets not in it)."""
    d = con.execute(sql).fetchnumpy()
    wid = _i64(d.pop("wallet"))
    out = {}
    for name, col in d.items():
        full = np.full(n_wallets, np.nan)
        full[wid] = _f64(col)
        out[name] = full
    return out


def _i64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.int64)


def _f64(a) -> np.ndarray:
    """float64 array with NULL (a masked entry) as NaN."""
    return np.ma.filled(np.ma.asarray(a, dtype=np.float64), np.nan)


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


TEMPS = ("_wf_coins", "_wf_addrs", "_wf_tokens", "_wf_trades", "_wf_candles")


def _build(con: duckdb.DuckDBPyConnection, win: str, mid_win: str, table: str, end_ms: int | None) -> None:
    for stmt in ids_sql(win):
        con.execute(stmt)
    n_wallets, n_coins = _count(con, "_wf_addrs"), _count(con, "_wf_coins")
    trades, evm = fetch_trades(con), fetch_evm(con, win)
    candle_keys = _i64(con.execute("SELECT key FROM _wf_candles ORDER BY crow").fetchnumpy()["key"])
    with ThreadPoolExecutor(max_workers=2) as pool:
        sequences = sequence_features(trades, evm, n_wallets, n_coins, pool)  # runs while DuckDB aggregates
        con.register("_wf_ctx", context_table(trades, fetch_mids(con, mid_win), candle_keys, end_ms))
        try:
            fills = per_wallet(con, _FILL_AGG, n_wallets)
            fills.update(per_wallet(con, _SKILL_AGG, n_wallets))
        finally:
            con.unregister("_wf_ctx")
        fills.update(per_wallet(con, _SIZE_ENTROPY, n_wallets))
        fills.update(sequences())
    write_feature_table(con, wallet_feature_table(fills, evm_aggregates(evm, n_wallets)), "_wf_addrs", table)


def write_feature_table(con: duckdb.DuckDBPyConnection, cols: dict[str, np.ndarray], addrs: str, table: str) -> None:
    """Create ``table`` from wallet_feature_table's columns, typed as declared, one row per wallet in
    address order; ``addrs`` is a relation (addr, wid) naming each ``wid``."""
    con.register("_wf_result", pa.table(cols))
    try:
        typed = ", ".join(f"r.{name}::{dtype} AS {name}" for name, dtype in list(wallet_features_columns().items())[1:])
        con.execute(f"""CREATE OR REPLACE TABLE {table} AS
                        SELECT a.addr AS wallet, {typed} FROM _wf_result r JOIN {addrs} a ON a.wid = r.wid
                        ORDER BY a.addr""")
    finally:
        con.unregister("_wf_result")


# The raw tables whose landing hours bound the all-data window (data_end_ms).
_EXTENT_TABLES = ("trades", "bbo", "l2_snapshots", "candles", "evm_transactions", "evm_token_transfers")


def data_end_ms(con: duckdb.DuckDBPyConnection) -> int | None:
    """The end of the last landing hour holding a row the features read (epoch ms), None when empty: the
    all-data window's end, so a mark-out horizon counts once the data reaches it (not sooner)."""
    parts = " UNION ALL ".join(f"SELECT max(hour) AS h FROM {t}" for t in _EXTENT_TABLES)
    last = con.execute(f"SELECT epoch_ms(max(h)) FROM ({parts})").fetchall()[0][0]
    return None if last is None else int(last) + 3_600_000


def build_wallet_features(con: duckdb.DuckDBPyConnection, start_ms: int | None = None, end_ms: int | None = None,
                          table: str = "wallet_features") -> dict:
    """(Re)build ``table`` with one row per wallet that has a fill, an EVM transaction or a transfer in
    [start_ms, end_ms) (default: all data); returns metadata (rows, coverage, constant features)."""
    table = check_identifier(table)
    win = window_sql(start_ms, end_ms)
    mid_win = window_sql(None, None if end_ms is None else end_ms + 5000)
    horizon_end = end_ms if end_ms is not None else data_end_ms(con)
    try:
        # the fetch of _wf_trades must return its stored (coin, time, tid) order
        with session_setting(con, "preserve_insertion_order", True):
            _build(con, win, mid_win, table, horizon_end)
    finally:
        for t in TEMPS:
            con.execute(f"DROP TABLE IF EXISTS {t}")
    return feature_stats(con, table)


def feature_stats(con: duckdb.DuckDBPyConnection, table: str = "wallet_features") -> dict:
    """Metadata of a built feature table (rows, coverage); checks its columns are the declared ones."""
    cols = list(wallet_features_columns())
    got = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    assert got == cols, f"wallet_features columns drifted from the declared layout: {got}"
    stats = con.execute(f"""SELECT count(*), avg(has_bbo::INT), avg(has_candles::INT), avg(has_evm::INT)
                            FROM {table}""").fetchall()[0]
    return {"rows": int(stats[0]), "share_with_bbo": float(stats[1] or 0), "share_with_candles": float(stats[2] or 0),
            "share_with_evm": float(stats[3] or 0), "features": len(FEATURE_NAMES)}
