"""wallet_features from mergeable partials: the feature build split by time into units (a landing hour,
or a 6-hour block or whole day once no later data can change it), each unit reduced to small per-wallet summaries that
merge into exactly the features of a full build (features.py) over all data.

Why: a full build reads every fill of the history, so the cost of a new hour grew with the history and
its memory with the history's size. A unit (a landing hour, a 6-hour block or a UTC day, see plan_units)
reads only its own fills and the mids of the hours around
them (a fill's context reaches back two hours and forward one: feature_arrays.MAX_MID_AGE_MS and the
longest mark-out horizon), so adding an hour recomputes the one or two units whose inputs changed and
merges summaries whose size is wallets × units, not fills. Units are independent: any process can
compute one from the warehouse or straight from the landing zone (cluster mode) and write it to a
store (a folder or an s3:// prefix, objectstore.py).

What a unit keeps per wallet, and how it merges (exact up to float rounding unless said):
- counts, sums and maxima of every per-fill quantity (means = sum / count);
- standard deviations as (count, sum, M2) merged with Chan's parallel formula (no cancellation);
- event timing as (events, first, last, M2 of the inter-event gaps); merging adds the gap between
  consecutive units and re-centres each unit's M2 on the overall mean gap (burstiness);
- hour-of-day and size histograms (entropies), exact integers;
- per (wallet, coin): fills, flips inside the unit, the first and last side (a flip across a unit
  boundary is counted at the merge), and the sums that mark its fills to the coin's last mid
  (realized_edge = Σ (end_mid · Σ s·notional/px − Σ s·notional) / Σ notional, an identity);
- exact sets: (wallet, counterparty) pairs, (wallet, contract), (wallet, token), the distinct coins;
- per (wallet, coin, candle minute) fill counts and the unit's candle ranges, so the share of fills in
  a candle wider than the coin's median over ALL candles (volatility_trading_score) is exact;
- per wallet and hour the skill mark-out observations as (hours, sum, M2, positive hours).
The merged values equal a full build to about 1e-12 relative (the summation order differs); the test
(test_partials.py) holds them to 1e-9 of each feature's scale.

Signatures: a unit is recomputed when the fingerprint of a landing hour in its reach [start − 2 h,
end + 1 h) changes (re-landed, loaded again, or new), or when the data's end moves inside that reach
(mark-out horizons count once the data reaches them). No Dagster here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import pyarrow as pa

from hypertrack_pipeline import objectstore
from hypertrack_pipeline.catalog import Step, StepContext
from hypertrack_pipeline.feature_names import MARKOUT_HORIZONS_S, SKILL_HORIZON
from hypertrack_pipeline.warehouse.feature_arrays import (
    KEY_SHIFT,
    MAX_MID_AGE_MS,
    PROBES,
    _event_order,
    _events,
    _hour_counts,
    coin_runs,
    counterparty_sets,
    distinct_pairs,
    wallet_feature_table,
)
from hypertrack_pipeline.warehouse.features import (
    FEATURE_READS,
    FEATURE_STREAMS,
    FEATURES_TABLE,
    SIZE_BINS,
    SKILL_HOURS,
    TEMPS,
    build_wallet_features,
    context_table,
    data_end_ms,
    feature_stats,
    fetch_evm,
    fetch_mids,
    fetch_trades,
    ids_sql,
    mids_sql,
    per_wallet,
    write_feature_table,
)
from hypertrack_pipeline.warehouse.loading import load_hours, loaded_versions
from hypertrack_pipeline.warehouse.schema import session_setting
from hypertrack_pipeline.warehouse.window import check_identifier, feature_window, window_sql

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
# How far a unit's fills read mids around the unit: the oldest probe (60 min before a fill) plus the
# oldest mid it may use, and the longest forward probe (the longest mark-out horizon, or 5 s), in hours.
REACH_BEFORE_MS = -min(PROBES.values()) + MAX_MID_AGE_MS
REACH_AFTER_MS = -(-max(1000 * max(MARKOUT_HORIZONS_S.values()), max(PROBES.values())) // HOUR_MS) * HOUR_MS
# Bump when a unit's contents or a feature definition change: every stored unit is then recomputed.
VERSION = "1"
KINDS = ("wallet", "coin", "hod", "size", "minute", "candle", "mid", "pairs", "txpairs", "contracts", "tokens")


@dataclass(frozen=True, order=True)
class Unit:
    """A stretch [start_ms, end_ms) of exchange time, hour-aligned."""

    start_ms: int
    end_ms: int

    @property
    def key(self) -> str:
        start = datetime.fromtimestamp(self.start_ms / 1000, tz=UTC)
        return f"{start:%Y%m%dT%H}-{(self.end_ms - self.start_ms) // HOUR_MS}h"

    def reach(self) -> tuple[int, int]:
        """[start, end) of the data (mids, hours) a unit's features may depend on."""
        return self.start_ms - REACH_BEFORE_MS, self.end_ms + REACH_AFTER_MS


# Unit sizes, largest first (hours; each divides the next, so blocks nest inside UTC days).
BLOCK_HOURS = (24, 6, 1)


def plan_units(hours: Iterable[int], data_end: int) -> list[Unit]:
    """Units covering the loaded hours (start ms): the largest aligned block (a UTC day, a quarter of it,
    an hour) that the data has passed by an hour — nothing later can change it but a re-load — else the
    hour itself. A new hour thus computes its own unit and, when it closes one, that block (a 6 h block
    every 6 hours, a day every day): the cost of an hour is bounded by a day, whatever the history."""
    out: set[Unit] = set()
    for h in hours:
        for size in BLOCK_HOURS:
            start = h - h % (size * HOUR_MS)
            if size == 1 or start + size * HOUR_MS + REACH_AFTER_MS <= data_end:
                out.add(Unit(start, start + size * HOUR_MS))
                break
    return sorted(out)


def signature(unit: Unit, hours: Mapping[int, str], data_end: int) -> str:
    """Digest of everything a unit's partial depends on: its bounds, the versions of the landing hours in
    its reach and the data's end where it falls inside the reach."""
    lo, hi = unit.reach()
    seen = sorted((h, v) for h, v in hours.items() if lo <= h < hi)
    text = json.dumps([VERSION, unit.start_ms, unit.end_ms, min(data_end, hi), seen])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


# ---------------------------------------------------------------- computing one unit


def _leg(wallet: str, s: str, maker: str) -> str:
    """One leg of every trade of ``tx`` as a fill (see features._leg: the same per-fill values)."""
    mo = ", ".join(f"{s} * r_{h} AS mo_{h}" for h in MARKOUT_HORIZONS_S)
    return f"""SELECT {wallet} AS wallet, cid, {s} AS s, {maker} AS is_maker, notional, px, crow,
                   CASE WHEN NOT ({maker}) AND mid_before > 0 AND mid_after IS NOT NULL
                        THEN {s} * (mid_after - mid_before) / mid_before END AS impact,
                   CASE WHEN mid_before > 0 THEN {s} * (px - mid_before) / mid_before END AS slip,
                   CASE WHEN mid_5m IS NOT NULL AND mid_before IS NOT NULL
                        THEN {s} * sign(mid_before - mid_5m) END AS mom,
                   CASE WHEN mid_60m IS NOT NULL AND mid_before IS NOT NULL
                        THEN -({s}) * sign(mid_before - mid_60m) END AS rev,
                   vol, {s} * ret AS cmom, ({s} * move > 0)::INT AS cpos, trend, usd_volume, has_candle, {mo}
            FROM tx"""


_LEGS = f"""
    WITH tx AS (
        SELECT x.*, c.vol, c.ret, c.move, c.trend, c.usd_volume, c.crow IS NOT NULL AS has_candle
        FROM _wf_ctx x LEFT JOIN _wf_candles c ON c.crow = x.crow)
    {_leg('buyer', '1', 'buyer_maker')}
    UNION ALL
    {_leg('seller', '-1', 'NOT buyer_maker')}"""


def _moments(x: str, name: str, *, maximum: bool = False, spread: bool = False) -> str:
    cols = [f"count({x}) AS n_{name}", f"sum({x}) AS s_{name}"]
    if maximum:
        cols.append(f"max({x}) AS max_{name}")
    if spread:
        cols.append(f"var_pop({x}) * count({x}) AS m2_{name}")
    return ", ".join(cols)


_UNIT_FILLS = f"""
    SELECT wallet, count(*) AS n_fills, {_moments('notional', 'value', maximum=True, spread=True)},
           sum((s > 0)::INT) AS n_long, {_moments('impact', 'impact', maximum=True)},
           {_moments('slip', 'slip', spread=True)}, {_moments('mom', 'mom')}, {_moments('rev', 'rev')},
           sum(is_maker::INT) AS n_maker, sum(CASE WHEN is_maker THEN notional ELSE 0 END) AS maker_notional,
           sum(CASE WHEN is_maker THEN s * notional ELSE 0 END) AS maker_net_notional,
           {_moments('vol', 'vol', maximum=True, spread=True)}, {_moments('cmom', 'cmom', spread=True)},
           sum(has_candle::INT) AS n_candle, sum(CASE WHEN has_candle THEN cpos END) AS s_cpos,
           {_moments('trend', 'trend')}, {_moments('usd_volume', 'usd', maximum=True, spread=True)},
           {", ".join(_moments(f"mo_{h}", f"mo_{h}") for h in MARKOUT_HORIZONS_S)},
           sum((mo_{SKILL_HORIZON} > 0)::INT) AS s_win
    FROM _wf_legs GROUP BY wallet"""

# per (wallet, coin): what marks the fills to the coin's last mid at the merge (px > 0, as r_end)
_UNIT_EDGE = """
    SELECT wallet, cid, sum(s * notional / px) AS e_size, sum(s * notional) AS e_signed, sum(notional) AS e_notional
    FROM _wf_legs WHERE px > 0 GROUP BY wallet, cid"""

_UNIT_MINUTES = """
    SELECT l.wallet, c.key, count(*) AS n FROM _wf_legs l JOIN _wf_candles c ON c.crow = l.crow GROUP BY ALL"""

_UNIT_SKILL = f"""
    SELECT wallet, count(*) AS n_skill, sum(m) AS s_skill, var_pop(m) * count(*) AS m2_skill,
           sum((pnl > 0)::INT) AS skill_pos_hours
    FROM ({SKILL_HOURS}) GROUP BY wallet"""


def _names(con: duckdb.DuckDBPyConnection, sql: str) -> np.ndarray:
    """The names of dense ids 0…N−1 (an (id, name) query) as an object array indexed by id."""
    rows = con.execute(sql).fetchall()
    out = np.empty(len(rows), dtype=object)
    for i, name in rows:
        out[int(i)] = name
    return out


def _arrow(cols: dict[str, object]) -> pa.Table:
    """An Arrow table of numpy/list columns; NaN (a wallet without that quantity) becomes NULL, which the
    merge's sums skip."""
    return pa.table({k: v if isinstance(v, pa.Array) else pa.array(v, from_pandas=True) for k, v in cols.items()})


def compute_unit(con: duckdb.DuckDBPyConnection, unit: Unit, data_end: int) -> dict[str, pa.Table]:
    """The partial of one unit from the raw tables on ``con`` (the warehouse, or an in-memory database
    holding the landing hours of the unit's reach): one Arrow table per kind of KINDS."""
    win = window_sql(unit.start_ms, unit.end_ms)
    lo, hi = unit.reach()
    try:
        with session_setting(con, "preserve_insertion_order", True):
            return _compute(con, unit, win, window_sql(lo, hi), data_end)
    finally:
        for t in TEMPS:
            con.execute(f"DROP TABLE IF EXISTS {t}")


def _compute(con: duckdb.DuckDBPyConnection, unit: Unit, win: str, reach: str, data_end: int) -> dict[str, pa.Table]:
    for stmt in ids_sql(win):
        con.execute(stmt)
    addrs = _names(con, "SELECT wid, addr FROM _wf_addrs")
    coins = _names(con, "SELECT cid, coin FROM _wf_coins")
    tokens = _names(con, "SELECT tok, token FROM _wf_tokens")
    n_wallets, n_coins = addrs.size, coins.size
    tr, evm = fetch_trades(con), fetch_evm(con, win)
    candle_keys = np.asarray(con.execute("SELECT key FROM _wf_candles ORDER BY crow").fetchnumpy()["key"], dtype=np.int64)
    con.register("_wf_ctx", context_table(tr, fetch_mids(con, reach), candle_keys, data_end))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _wf_legs AS {_LEGS}")
        fills = per_wallet(con, _UNIT_FILLS, n_wallets)
        fills.update(per_wallet(con, _UNIT_SKILL, n_wallets))
        edge = con.sql(_UNIT_EDGE).to_arrow_table()
        minutes = con.execute(_UNIT_MINUTES).fetchnumpy()
    finally:
        con.unregister("_wf_ctx")
        con.execute("DROP TABLE IF EXISTS _wf_legs")
    sizes = con.execute(SIZE_BINS).fetchnumpy()
    runs, fill_wallet, fill_pos = coin_runs(tr, n_wallets, n_coins)
    w, t, t0 = _event_order(tr, evm, fill_wallet, fill_pos, n_wallets)
    del fill_wallet, fill_pos
    hod = _hour_counts(tr, evm, n_wallets)
    events = _events(w, t, t0, hod, n_wallets)
    received = evm.xfer_to != evm.xfer_from
    xfer_wallets = np.concatenate([evm.xfer_from, evm.xfer_to[received]])
    calls = evm.tx_calls & (evm.tx_to >= 0)
    lo, hi, src, dst = counterparty_sets(tr, evm, n_wallets)
    c_w, c_to = distinct_pairs(evm.tx_from[calls], evm.tx_to[calls], n_wallets)
    k_w, k_tok = distinct_pairs(xfer_wallets, np.concatenate([evm.xfer_token, evm.xfer_token[received]]), n_wallets)

    keep = np.flatnonzero(events["n_events"] > 0)
    wallet_cols: dict[str, object] = {"unit_start": np.full(keep.size, unit.start_ms, dtype=np.int64),
                                      "wallet": addrs[keep].tolist()}
    for name in ("n_events", "first_ms", "last_ms", "gap_m2"):
        wallet_cols[name] = events[name][keep]
    wallet_cols["n_tx"] = np.bincount(evm.tx_from, minlength=n_wallets)[keep].astype(np.int64)
    wallet_cols["n_xfer"] = np.bincount(xfer_wallets, minlength=n_wallets)[keep].astype(np.int64)
    wallet_cols["erc20_volume"] = np.bincount(
        xfer_wallets, np.concatenate([evm.xfer_amount, evm.xfer_amount[received]]), minlength=n_wallets)[keep]
    for name, col in fills.items():
        wallet_cols[name] = col[keep]

    # the edge sums of each (wallet, coin) run (absent when none of its fills has a price)
    edge_g = np.asarray(edge["wallet"], dtype=np.int64) * max(1, n_coins) + np.asarray(edge["cid"], dtype=np.int64)
    run_g = runs["wid"] * max(1, n_coins) + runs["cid"]
    by = np.argsort(edge_g)
    at = np.minimum(np.searchsorted(edge_g, run_g, sorter=by), max(0, edge_g.size - 1))
    rows = by[at] if edge_g.size else np.zeros(run_g.size, dtype=np.int64)
    found = (edge_g[rows] == run_g) if edge_g.size else np.zeros(run_g.size, dtype=bool)

    def edge_col(name: str) -> pa.Array:
        values = np.asarray(edge[name].to_numpy(zero_copy_only=False), dtype=np.float64)
        return pa.array(values[rows] if values.size else np.zeros(rows.size), mask=~found)

    coin_t = _arrow({"unit_start": np.full(run_g.size, unit.start_ms, dtype=np.int64), "wallet": addrs[runs["wid"]].tolist(),
                     "coin": coins[runs["cid"]].tolist(), "n": runs["n"], "flips": runs["flips"],
                     "first_leg": runs["first_leg"], "last_leg": runs["last_leg"],
                     "e_size": edge_col("e_size"), "e_signed": edge_col("e_signed"), "e_notional": edge_col("e_notional")})
    nz = np.flatnonzero(hod)
    m_key = np.asarray(minutes["key"], dtype=np.int64)
    a_lo, a_hi = addrs[lo], addrs[hi]
    swap = a_lo > a_hi  # order each pair by address, not by this unit's ids
    mids = con.sql(f"""SELECT coin, max(time_ms) AS time_ms, arg_max(mid, time_ms) AS mid
                           FROM ({mids_sql(win)}) GROUP BY coin""").to_arrow_table()
    candles = con.sql(f"""SELECT coin, open_time_ms, (high - low) / open AS vol FROM candles
                              WHERE interval = '1m' AND open > 0 AND {win.replace("time_ms", "open_time_ms")}
                              """).to_arrow_table()
    return {
        "wallet": _arrow(wallet_cols),
        "coin": coin_t,
        "hod": _arrow({"wallet": addrs[nz // 24].tolist(), "hod": (nz % 24).astype(np.int8), "n": hod[nz]}),
        "size": _arrow({"wallet": addrs[np.asarray(sizes["wallet"], dtype=np.int64)].tolist(),
                        "bin": np.asarray(sizes["bin"], dtype=np.int8), "n": np.asarray(sizes["c"], dtype=np.int64)}),
        "minute": _arrow({"wallet": addrs[np.asarray(minutes["wallet"], dtype=np.int64)].tolist(),
                          "coin": coins[m_key >> KEY_SHIFT].tolist(), "open_time_ms": m_key & ((1 << KEY_SHIFT) - 1),
                          "n": np.asarray(minutes["n"], dtype=np.int64)}),
        "candle": candles,
        "mid": mids,
        "pairs": _arrow({"lo": np.where(swap, a_hi, a_lo).tolist(), "hi": np.where(swap, a_lo, a_hi).tolist()}),
        "txpairs": _arrow({"src": addrs[src].tolist(), "dst": addrs[dst].tolist()}),
        "contracts": _arrow({"wallet": addrs[c_w].tolist(), "contract": addrs[c_to].tolist()}),
        "tokens": _arrow({"wallet": addrs[k_w].tolist(), "token": tokens[k_tok].tolist()}),
    }


# ---------------------------------------------------------------- merging units into wallet_features


def _merged_moments(name: str, count: str | None = None) -> tuple[str, str]:
    """(per-wallet totals, re-centred M2) SQL for a (count, sum, M2) triple: Chan's formula, each unit's
    M2 plus n_u (mean_u − mean)²."""
    n = count or f"n_{name}"
    totals = f"sum({n}) AS {n}, sum(s_{name}) AS s_{name}"
    m2 = (f"sum(coalesce(u.m2_{name}, 0) + CASE WHEN u.{n} > 0 THEN u.{n} * "
          f"pow(u.s_{name} / u.{n} - t.s_{name} / t.{n}, 2) ELSE 0 END) AS m2_{name}")
    return totals, m2


_SPREADS = (("value", "n_fills"), ("slip", None), ("vol", None), ("cmom", None), ("usd", None), ("skill", None))
_SUMS = ("n_long", "n_impact", "s_impact", "n_mom", "s_mom", "n_rev", "s_rev", "n_maker", "maker_notional",
         "maker_net_notional", "n_candle", "s_cpos", "n_trend", "s_trend", "s_win", "skill_pos_hours", "n_tx",
         "n_xfer", "erc20_volume", "n_events",
         *(f"{p}_mo_{h}" for h in MARKOUT_HORIZONS_S for p in ("n", "s")))
_MAXES = ("max_value", "max_impact", "max_vol", "max_usd")


def _merge_sql(src: Callable[[str], str]) -> str:
    """Per wallet, the merged aggregates in the names features._FILL_AGG, _SKILL_AGG and the sequence
    features use; ``src(kind)`` is the relation holding a kind's rows of every unit."""
    totals = [_merged_moments(n, c) for n, c in _SPREADS]
    m2s = ", ".join(m for _, m in totals)
    sums = ", ".join(f"sum({c}) AS {c}" for c in _SUMS)
    maxes = ", ".join(f"max({c}) AS {c}" for c in _MAXES)
    tot = ", ".join(t for t, _ in totals)
    gap_mean = "(t.last_ms - t.first_ms) / (t.n_events - 1)"
    unit_gap_mean = "(u.last_ms - u.first_ms) / (u.n_events - 1)"
    mo = ", ".join(f"w.s_mo_{h} / w.n_mo_{h} AS markout_{h}" for h in MARKOUT_HORIZONS_S)
    return f"""
    WITH u AS (SELECT * FROM {src('wallet')}),
    t AS (SELECT wallet, {tot}, {sums}, {maxes}, min(first_ms) AS first_ms, max(last_ms) AS last_ms
          FROM u GROUP BY wallet),
    b AS (SELECT wallet, first_ms - lag(last_ms) OVER (PARTITION BY wallet ORDER BY unit_start) AS gap FROM u),
    spread AS (
        SELECT u.wallet, {m2s},
               sum(u.gap_m2 + CASE WHEN u.n_events > 1 THEN (u.n_events - 1) * pow({unit_gap_mean} - {gap_mean}, 2)
                                   ELSE 0 END) AS within_gaps
        FROM u JOIN t USING (wallet) GROUP BY u.wallet),
    bounds AS (SELECT b.wallet, sum(pow(b.gap - {gap_mean}, 2)) AS boundary_gaps
               FROM b JOIN t USING (wallet) WHERE b.gap IS NOT NULL AND t.n_events > 1 GROUP BY b.wallet),
    w AS (SELECT * FROM t JOIN spread USING (wallet) LEFT JOIN bounds USING (wallet)),
    coins AS (SELECT *, lag(last_leg) OVER (PARTITION BY wallet, coin ORDER BY unit_start) AS prev_leg
              FROM {src('coin')}),
    ends AS (SELECT coin, arg_max(mid, time_ms) AS end_mid FROM {src('mid')} GROUP BY coin),
    flips AS (SELECT wallet, count(DISTINCT coin) AS n_coins,
                     sum(flips + (prev_leg IS NOT NULL AND prev_leg <> first_leg)::INT) AS flips,
                     sum(CASE WHEN e.end_mid IS NOT NULL THEN e.end_mid * e_size - e_signed END)
                         / sum(CASE WHEN e.end_mid IS NOT NULL THEN e_notional END) AS realized_edge
              FROM coins LEFT JOIN ends e USING (coin) GROUP BY wallet),
    median AS (SELECT coin, median(vol) AS med FROM {src('candle')} GROUP BY coin),
    high AS (SELECT m.wallet, sum(CASE WHEN c.vol > d.med THEN m.n ELSE 0 END) AS n_high
             FROM {src('minute')} m JOIN {src('candle')} c USING (coin, open_time_ms) JOIN median d USING (coin)
             GROUP BY m.wallet),
    hod AS (SELECT wallet, sum(n) AS n, sum(n * ln(n)) AS nln FROM (
                SELECT wallet, hod, sum(n) AS n FROM {src('hod')} GROUP BY ALL) GROUP BY wallet),
    sizes AS (SELECT wallet, CASE WHEN sum(c) < 2 THEN 0
                     ELSE (ln(sum(c)) - sum(c * ln(c)) / sum(c)) / ln(least(sum(c), 70)) END AS size_entropy
              FROM (SELECT wallet, bin, sum(n) AS c FROM {src('size')} GROUP BY ALL) GROUP BY wallet),
    pairs AS (SELECT DISTINCT lo, hi FROM {src('pairs')}),
    direct AS (SELECT DISTINCT src, dst FROM {src('txpairs')}),
    addr AS (SELECT wallet, count(*) AS n FROM (
                 SELECT lo AS wallet FROM pairs UNION ALL SELECT hi FROM pairs
                 UNION ALL
                 SELECT src FROM direct d WHERE NOT EXISTS (
                     SELECT 1 FROM pairs p WHERE p.lo = least(d.src, d.dst) AND p.hi = greatest(d.src, d.dst)))
             GROUP BY wallet),
    contracts AS (SELECT wallet, count(DISTINCT contract) AS n FROM {src('contracts')} GROUP BY wallet),
    tokens AS (SELECT wallet, count(DISTINCT token) AS n FROM {src('tokens')} GROUP BY wallet)
    SELECT w.wallet,
           w.n_fills, w.s_value AS total_value, w.s_value / w.n_fills AS avg_value, w.max_value,
           sqrt(w.m2_value / w.n_fills) AS value_std, w.n_long / w.n_fills AS long_ratio,
           w.s_impact / w.n_impact AS avg_market_impact, w.max_impact AS max_market_impact,
           w.s_slip / w.n_slip AS avg_slippage, sqrt(w.m2_slip / w.n_slip) AS slippage_std,
           w.s_mom / w.n_mom AS momentum_score, w.s_rev / w.n_rev AS mean_reversion_score,
           coalesce(high.n_high, 0) / w.n_candle AS volatility_trading_score,
           w.n_maker / w.n_fills AS order_book_participation, w.maker_notional, w.maker_net_notional,
           w.s_vol / w.n_vol AS avg_candle_volatility, w.max_vol AS max_candle_volatility,
           sqrt(w.m2_vol / w.n_vol) AS volatility_std, w.s_cmom / w.n_cmom AS avg_candle_momentum,
           sqrt(w.m2_cmom / w.n_cmom) AS momentum_std, w.s_cpos / w.n_candle AS positive_momentum_ratio,
           w.s_trend / w.n_trend AS avg_trend_strength, w.s_usd / w.n_usd AS avg_candle_volume,
           w.max_usd AS max_candle_volume, sqrt(w.m2_usd / w.n_usd) AS volume_std,
           w.n_slip / w.n_fills AS bbo_share, w.n_candle / w.n_fills AS candle_share, {mo},
           f.realized_edge, w.s_win / w.n_mo_{SKILL_HORIZON} AS markout_win_rate,
           w.n_skill AS skill_hours, w.s_skill / w.n_skill AS skill_mean,
           CASE WHEN w.n_skill > 1 THEN sqrt(w.m2_skill / (w.n_skill - 1)) END AS skill_sd, w.skill_pos_hours,
           s.size_entropy, w.n_events, w.first_ms, w.last_ms,
           CASE WHEN w.n_events >= 3 AND w.last_ms > w.first_ms
                THEN sqrt((w.within_gaps + coalesce(w.boundary_gaps, 0)) / (w.n_events - 1))
                     / ((w.last_ms - w.first_ms) / (w.n_events - 1)) ELSE 0 END AS burstiness,
           CASE WHEN h.n > 0 THEN (ln(h.n) - h.nln / h.n) / ln(24) ELSE 0 END AS hour_entropy,
           coalesce(f.flips, 0) AS flips, coalesce(f.n_coins, 0) AS n_coins, coalesce(a.n, 0) AS n_addr,
           w.n_tx, coalesce(c.n, 0) AS contracts, w.n_xfer, coalesce(k.n, 0) AS tokens, w.erc20_volume
    FROM w LEFT JOIN flips f USING (wallet) LEFT JOIN high USING (wallet) LEFT JOIN hod h USING (wallet)
    LEFT JOIN sizes s USING (wallet) LEFT JOIN addr a USING (wallet) LEFT JOIN contracts c USING (wallet)
    LEFT JOIN tokens k USING (wallet)
    ORDER BY w.wallet"""


_EVM_COLUMNS = ("n_tx", "contracts", "n_xfer", "tokens", "erc20_volume")


def merge_units(con: duckdb.DuckDBPyConnection, src: Callable[[str], str], table: str = "wallet_features") -> int:
    """(Re)build ``table`` from the units' rows (``src(kind)`` names each kind's relation); rows written."""
    table = check_identifier(table)
    d = con.execute(_merge_sql(src)).fetchnumpy()
    wallets = d.pop("wallet")
    arrays = {k: np.ma.filled(np.ma.asarray(v, dtype=np.float64), np.nan) for k, v in d.items()}
    evm = {k: np.nan_to_num(arrays.pop(k)) for k in _EVM_COLUMNS}
    arrays["n_fills"] = np.nan_to_num(arrays["n_fills"])
    cols = wallet_feature_table(arrays, evm)
    con.register("_wf_names", pa.table({"addr": pa.array(np.asarray(wallets, dtype=object).tolist(), pa.string()),
                                        "wid": np.arange(len(wallets), dtype=np.int64)}))
    try:
        write_feature_table(con, cols, "_wf_names", table)
    finally:
        con.unregister("_wf_names")
    return int(len(cols["wid"]))


# ---------------------------------------------------------------- the store of units


class UnitStore:
    """Partials on a folder or an object-store prefix: ``<root>/<kind>/<unit>.parquet`` and, written last
    (the commit of a unit), ``<root>/units/<unit>.json`` with its bounds and signature. A unit whose
    JSON is missing or carries another signature is not used: a worker that died half way leaves no
    half unit behind."""

    def __init__(self, root: str) -> None:
        self.root = str(root).rstrip("/")

    def _path(self, kind: str, unit: Unit) -> str:
        return f"{self.root}/{kind}/{unit.key}.parquet"

    def signatures(self) -> dict[Unit, str]:
        out: dict[Unit, str] = {}
        for path in objectstore.glob(f"{self.root}/units/*.json"):
            meta = json.loads(objectstore.read_bytes(path))
            out[Unit(int(meta["start_ms"]), int(meta["end_ms"]))] = str(meta["signature"])
        return out

    def write(self, unit: Unit, sig: str, tables: Mapping[str, pa.Table]) -> None:
        for kind in KINDS:
            objectstore.write_parquet(tables[kind], self._path(kind, unit))
        meta = {"start_ms": unit.start_ms, "end_ms": unit.end_ms, "signature": sig,
                "rows": {k: tables[k].num_rows for k in KINDS}}
        objectstore.write_bytes(f"{self.root}/units/{unit.key}.json", json.dumps(meta).encode())

    def drop(self, unit: Unit) -> None:
        objectstore.remove(f"{self.root}/units/{unit.key}.json")
        for kind in KINDS:
            objectstore.remove(self._path(kind, unit))

    def relation(self, units: Iterable[Unit]) -> Callable[[str], str]:
        """``src(kind)`` for merge_units over exactly these units' files."""
        units = sorted(units)

        def src(kind: str) -> str:
            files = ", ".join("'" + self._path(kind, u).replace("'", "''") + "'" for u in units)
            return f"read_parquet([{files}], union_by_name = true)"

        return src


@dataclass
class UnitWork:
    """What an update found and did."""

    units: list[Unit]
    computed: list[Unit]
    dropped: list[Unit]


def stale_units(store: UnitStore, hours: Mapping[int, str], data_end: int) -> tuple[list[Unit], dict[Unit, str], list[Unit],
                                                                                list[Unit]]:
    """(the units the data needs now, each one's signature, those of them to compute — missing or with another
    stored signature — and the stored units no longer needed); the store is listed once."""
    units = plan_units(hours, data_end)
    sigs = {u: signature(u, hours, data_end) for u in units}
    stored = store.signatures()
    return units, sigs, [u for u in units if stored.get(u) != sigs[u]], [u for u in stored if u not in sigs]


def update_units(con: duckdb.DuckDBPyConnection, store: UnitStore, hours: Mapping[int, str], data_end: int,
                 log: Callable[[str], None] = lambda _: None, workers: int = 1, landing: str | None = None) -> UnitWork:
    """Compute every unit whose signature changed and drop the units no longer needed.

    One worker computes on ``con`` (the warehouse); more compute in that many separate processes, each
    loading the landing hours of its unit's reach from ``landing`` (a folder or s3://) into its own
    in-memory database: no process but the caller touches the warehouse."""
    units, sigs, todo, obsolete = stale_units(store, hours, data_end)
    if workers > 1 and len(todo) > 1:
        if landing is None:
            raise ValueError("parallel feature workers read the landing zone: pass its location")
        _compute_in_workers(todo, sigs, store, hours, data_end, landing, workers, log)
    else:
        _compute_in_threads(con, todo, sigs, store, data_end, log)
    for unit in obsolete:
        store.drop(unit)
    return UnitWork(units=units, computed=todo, dropped=obsolete)


def _compute_in_threads(con: duckdb.DuckDBPyConnection, todo: list[Unit], sigs: Mapping[Unit, str], store: UnitStore,
                        data_end: int, log: Callable[[str], None]) -> None:
    """Units on the caller's database, two at a time (each thread on its own cursor, whose temp tables are
    its own): a small unit is mostly per-statement latency, which the other thread fills."""
    from concurrent.futures import ThreadPoolExecutor

    def one(unit: Unit) -> Unit:
        cur = con.cursor()
        try:
            store.write(unit, sigs[unit], compute_unit(cur, unit, data_end))
        finally:
            cur.close()
        return unit

    with ThreadPoolExecutor(max_workers=min(2, max(1, len(todo)))) as pool:
        for i, unit in enumerate(pool.map(one, todo), 1):
            log(f"feature partial {unit.key}: {i}/{len(todo)}")


def _compute_in_workers(todo: list[Unit], sigs: Mapping[Unit, str], store: UnitStore, hours: Mapping[int, str],
                        data_end: int, landing: str, workers: int, log: Callable[[str], None]) -> None:
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    # spawn, not fork: the caller holds a DuckDB connection and threads a forked child must not inherit
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        jobs = {pool.submit(compute_unit_from_landing, landing, store.root, u, sigs[u], data_end,
                            _hours_in_reach(u, hours)): u for u in todo}
        for i, job in enumerate(as_completed(jobs), 1):
            job.result()  # a worker's error fails the update (the unit stays stale and is retried)
            log(f"feature partial {jobs[job].key}: {i}/{len(todo)} ({workers} workers)")


def _hours_in_reach(unit: Unit, hours: Mapping[int, str]) -> list[str]:
    lo, hi = unit.reach()
    return [datetime.fromtimestamp(h / 1000, tz=UTC).strftime("%Y-%m-%d-%H:%M") for h in sorted(hours) if lo <= h < hi]


def compute_unit_from_landing(landing: str, store_root: str, unit: Unit, sig: str, data_end: int,
                              hour_keys: list[str]) -> str:
    """A worker's job: load the landing hours of the unit's reach into an in-memory database (the same
    loader, so the same rows as the warehouse), compute the unit and write it to the store."""
    con = duckdb.connect()
    try:
        objectstore.attach(con, landing)
        load_hours(con, landing, hour_keys, streams=FEATURE_STREAMS)
        UnitStore(store_root).write(unit, sig, compute_unit(con, unit, data_end))
    finally:
        con.close()
    return unit.key


def build_features(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict:
    """The wallet_features step: over a trailing window (HYPERTRACK_FEATURE_WINDOW_HOURS) a full build of
    that window (it moves every hour); over all data, the stale units and a merge. A warehouse whose
    tables were not written by the hourly loader (no landing_loads) gets a full build."""
    settings = ctx.settings
    if settings.feature_window_hours:
        start_ms, end_ms = feature_window(con, settings.feature_window_hours)
        return build_wallet_features(con, start_ms=start_ms, end_ms=end_ms) | {"mode": "window"}
    hours, data_end = loaded_versions(con), data_end_ms(con)
    if not hours or data_end is None:
        return build_wallet_features(con) | {"mode": "full"}
    store = UnitStore(settings.partials_location)
    work = update_units(con, store, hours, data_end, log=ctx.log, workers=settings.workers,
                        landing=settings.landing_location)
    objectstore.attach(con, store.root)  # an s3:// store: DuckDB reads it through s3fs
    merge_units(con, store.relation(work.units))
    return feature_stats(con) | {"mode": "incremental", "units": len(work.units),
                                 "units_computed": len(work.computed), "units_dropped": len(work.dropped),
                                 "partials": store.root}


STEP = Step(
    name="wallet_features",
    description="The 36 features of SPEC §7 plus the skill features, one row per wallet, over the feature window: "
                "per-hour/day partials (recomputed only where their inputs changed) merged by DuckDB SQL.",
    reads=FEATURE_READS, writes=(FEATURES_TABLE,), run=build_features,
)
