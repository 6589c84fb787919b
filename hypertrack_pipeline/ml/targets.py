"""Training targets for the six heads (SPEC §9): a join of tables other steps build.

Every head has a target derived from the data; each definition is below, next to the code that
computes it (all vectorized numpy over one row per wallet). Percentile ranks are
``(average rank − 1) / (n − 1)`` in [0, 1] (0.5 when n = 1).

Point-in-time profitability: :mod:`hypertrack_pipeline.ml.windows` splits the data at a boundary
(``wallet_training_window``) and builds the early-window features (``wallet_features_early``) and the
late-window PnL (``wallet_pnl_late``) as steps of their own. This build only joins: the model learns
early features → late profitability for wallets active in both windows, so the score predicts
*future* profitability without look-ahead. When the window says the data does not span two
windows (``profitability_window = 'same'``), features and PnL come from the full window instead.
The other heads describe the wallet as it is, so their targets always come from the full-window
``wallet_features`` / ``wallet_pnl``. Nothing heavy is recomputed here.

Writes ``wallet_training_targets`` (:data:`TARGETS_TABLE_DEF`): one row per training wallet, with
``split`` ('train' 70 % | 'val' 15 % | 'test' 15 %, from md5(wallet), so a wallet keeps its split
across rebuilds).
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from hypertrack_pipeline.catalog import Column, Step, StepContext, Table
from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.feature_names import FEATURE_NAMES
from hypertrack_pipeline.ml.metrics import average_ranks
from hypertrack_pipeline.ml.windows import EARLY_FEATURES_TABLE, LATE_PNL_TABLE, WINDOW_TABLE, table_exists
from hypertrack_pipeline.ml.windows import MIN_OVERLAP_WALLETS as MIN_OVERLAP_WALLETS  # re-exported
from hypertrack_pipeline.ml.windows import read_window as read_window  # re-exported (checkpoint metadata)

TARGETS_TABLE = "wallet_training_targets"
STYLE_DIMS = (
    "momentum",
    "mean_reversion",
    "volatility_trading",
    "market_making",
    "trend_following",
    "contrarian",
)
# Trend-following style saturates around a 0.5 % candle move in the traded direction.
TREND_SCALE = 0.005
# Bot frequency component reaches 1 at 1000 events per day (log scale).
BOT_FREQ_DECADES = 3.0
# Sophistication breadth reaches 1 at 20 distinct coins/tokens (log scale).
BREADTH_FULL = 20.0

_PNL_COLS = ("notional", "pnl_per_notional", "total_pnl", "max_drawdown", "peak_position_notional")


# Values closer than this share of the column's largest magnitude rank as ties: parallel float sums differ
# in the last bits between runs, and a rank must not flip on that noise (a drawdown of 0 in one run and
# 7e-15 in the next moved a wallet's risk target by a whole rank and retrained a different model).
RANK_RESOLUTION = 1e-12


def percentile_rank(values: np.ndarray) -> np.ndarray:
    """(average rank − 1)/(n − 1): ties share a rank, the lowest value maps to 0, the highest to 1. Values are
    first quantized to RANK_RESOLUTION of the largest magnitude, so float noise cannot reorder them."""
    values = np.asarray(values, dtype=np.float64)
    scale = float(np.max(np.abs(values[np.isfinite(values)]), initial=0.0)) * RANK_RESOLUTION
    if scale > 0:
        values = np.round(values / scale) * scale
    n = len(values)
    if n == 0:
        return values.copy()
    if n == 1:
        return np.full(1, 0.5)
    return (average_ranks(values) - 1.0) / (n - 1.0)


def _masked_rank(values: np.ndarray, mask: np.ndarray, fill: float = 0.0) -> np.ndarray:
    out = np.full(len(values), fill, dtype=np.float64)
    if mask.any():
        out[mask] = percentile_rank(values[mask])
    return out


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), 0.0)


# ---------------------------------------------------------------------------- the six targets


def profitability_target(pnl_per_notional: np.ndarray, notional: np.ndarray) -> np.ndarray:
    """Percentile rank of PnL / notional among wallets that traded, shrunk toward 0.5 by turnover.

    ``t = 0.5 + (rank − 0.5) · w`` with ``w = min(1, notional / median notional)``: a wallet that
    traded at least the median notional keeps its rank; one that barely traded sits near 0.5
    (one lucky $10 fill says nothing). Wallets without notional get 0.5.
    """
    ppn = np.nan_to_num(np.asarray(pnl_per_notional, dtype=np.float64))
    notional = np.nan_to_num(np.asarray(notional, dtype=np.float64))
    traded = notional > 0
    out = np.full(len(ppn), 0.5)
    if traded.any():
        rank = percentile_rank(ppn[traded])
        weight = np.minimum(1.0, notional[traded] / np.median(notional[traded]))
        out[traded] = 0.5 + (rank - 0.5) * weight
    return out


def risk_target(
    peak_position_notional: np.ndarray, avg_value: np.ndarray, max_drawdown: np.ndarray
) -> np.ndarray:
    """Mean of two percentiles among wallets with fills (0 for wallets without fills):

    - exposure = peak |position notional| / mean fill notional: how many typical fills of inventory
      the wallet piles up (a market maker stays near 1, a position trader goes far above);
    - drawdown = |max drawdown| / peak |position notional|: PnL volatility per dollar at risk.
    """
    peak = np.abs(np.nan_to_num(np.asarray(peak_position_notional, dtype=np.float64)))
    avg_value = np.nan_to_num(np.asarray(avg_value, dtype=np.float64))
    drawdown = np.abs(np.nan_to_num(np.asarray(max_drawdown, dtype=np.float64)))
    traded = avg_value > 0
    exposure = _safe_div(peak, avg_value)
    dd_ratio = _safe_div(drawdown, peak)
    return 0.5 * _masked_rank(exposure, traded) + 0.5 * _masked_rank(dd_ratio, traded)


def bot_target(
    tx_count: np.ndarray,
    burstiness: np.ndarray,
    size_entropy: np.ndarray,
    hour_entropy: np.ndarray,
    tx_per_day: np.ndarray,
) -> np.ndarray:
    """Weak bot label: the geometric mean of four cues, each in [0, 1] — an AND, not an OR: a busy
    human (or an event-driven trader with Poisson-like timing) scores high on frequency and 24/7
    activity but not on clockwork timing, and a single missing cue must pull the label down.

    - regular timing: 1 − burstiness, clipped (periodic = 1, Poisson-like = 0); 0 below 3 events;
    - constant size: 1 − size_entropy; 0 below 2 events (one fill is no evidence of constancy);
    - 24/7 activity: hour_entropy (uniform over the 24 hours = 1);
    - high frequency: log10(1 + tx_per_day) / 3, capped at 1 (1000 events/day = 1).
    """
    tx = np.nan_to_num(np.asarray(tx_count, dtype=np.float64))
    regular = np.where(tx >= 3, np.clip(1.0 - np.nan_to_num(burstiness), 0.0, 1.0), 0.0)
    constant = np.where(tx >= 2, np.clip(1.0 - np.nan_to_num(size_entropy), 0.0, 1.0), 0.0)
    around_clock = np.clip(np.nan_to_num(hour_entropy), 0.0, 1.0)
    freq = np.clip(np.log10(1.0 + np.maximum(np.nan_to_num(tx_per_day), 0.0)) / BOT_FREQ_DECADES, 0.0, 1.0)
    return (regular * constant * around_clock * freq) ** 0.25


def influence_target(total_value: np.ndarray) -> np.ndarray:
    """The wallet's share of all traded notional (sum over wallets of fill notional), in per-mille."""
    value = np.maximum(np.nan_to_num(np.asarray(total_value, dtype=np.float64)), 0.0)
    total = value.sum()
    return 1000.0 * value / total if total > 0 else np.zeros(len(value))


def sophistication_target(
    order_book_participation: np.ndarray,
    avg_slippage: np.ndarray,
    unique_tokens: np.ndarray,
    avg_market_impact: np.ndarray,
    total_value: np.ndarray,
) -> np.ndarray:
    """Mean of four cues among wallets with fills (0 without fills):

    - maker share (order_book_participation);
    - low slippage: 1 − percentile of avg_slippage (makers, who earn the spread, rank best);
    - breadth: ln(1 + distinct coins/tokens) / ln(21), capped at 1;
    - execution quality: 1 − percentile of avg_market_impact (orders that do not push the price).
    """
    traded = np.nan_to_num(np.asarray(total_value, dtype=np.float64)) > 0
    maker = np.clip(np.nan_to_num(order_book_participation), 0.0, 1.0)
    low_slip = 1.0 - _masked_rank(np.nan_to_num(avg_slippage), traded, fill=1.0)
    breadth = np.minimum(1.0, np.log1p(np.maximum(np.nan_to_num(unique_tokens), 0.0)) / np.log1p(BREADTH_FULL))
    quality = 1.0 - _masked_rank(np.nan_to_num(avg_market_impact), traded, fill=1.0)
    return np.where(traded, (maker + low_slip + breadth + quality) / 4.0, 0.0)


def style_target(f: dict[str, np.ndarray]) -> np.ndarray:
    """6-D style in [-1, 1] from features 22–33 (n × 6, order of STYLE_DIMS):

    0 momentum = momentum_score; 1 mean reversion = mean_reversion_score (both already in [-1, 1]);
    2 volatility trading = 2·volatility_trading_score − 1; 3 market making = 2·market_maker_score − 1;
    4 trend following = tanh(avg_candle_momentum / 0.005); 5 contrarian = 1 − 2·positive_momentum_ratio.
    Dimensions that need candles (2, 4, 5) are 0 (neutral) for wallets without candle coverage,
    and dimension 3 is 0 for wallets without fills, instead of reading a missing value as −1.
    """
    names = ("max_candle_volume", "max_candle_volatility", "total_value", "momentum_score",
             "mean_reversion_score", "volatility_trading_score", "market_maker_score",
             "avg_candle_momentum", "positive_momentum_ratio")
    get = {k: np.nan_to_num(np.asarray(f[k], dtype=np.float64)) for k in names}
    has_candles = (get["max_candle_volume"] > 0) | (get["max_candle_volatility"] > 0)
    traded = get["total_value"] > 0
    style = np.column_stack(
        [
            get["momentum_score"],
            get["mean_reversion_score"],
            np.where(has_candles, 2.0 * get["volatility_trading_score"] - 1.0, 0.0),
            np.where(traded, 2.0 * get["market_maker_score"] - 1.0, 0.0),
            np.where(has_candles, np.tanh(get["avg_candle_momentum"] / TREND_SCALE), 0.0),
            np.where(has_candles, 1.0 - 2.0 * get["positive_momentum_ratio"], 0.0),
        ]
    )
    return np.clip(style, -1.0, 1.0)


def descriptive_targets(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every head but profitability, from one window's features + PnL columns."""
    return {
        "style": style_target(cols),
        "risk": risk_target(cols["peak_position_notional"], cols["avg_value"], cols["max_drawdown"]),
        "bot": bot_target(
            cols["tx_count"], cols["burstiness"], cols["size_entropy"], cols["hour_entropy"], cols["tx_per_day"]
        ),
        "influence": influence_target(cols["total_value"]),
        "sophistication": sophistication_target(
            cols["order_book_participation"],
            cols["avg_slippage"],
            cols["unique_tokens"],
            cols["avg_market_impact"],
            cols["total_value"],
        ),
    }


# ---------------------------------------------------------------------------- warehouse glue

TARGETS_TABLE_DEF = Table(
    TARGETS_TABLE,
    "One row per training wallet and walk-forward fold: the six heads' targets (SPEC §9) and the model's inputs.",
    (
        Column("wallet", "VARCHAR", "address, lowercase hex"),
        *(Column(f"t_style_{j}", "DOUBLE", f"style target [-1, 1] from features 22–33: {d.replace('_', ' ')}")
          for j, d in enumerate(STYLE_DIMS)),
        Column("t_risk", "DOUBLE", "percentile of peak exposure / mean notional and drawdown, [0, 1]"),
        Column("t_profitability", "DOUBLE", "percentile of next-window PnL / notional, shrunk to 0.5 by turnover"),
        Column("t_bot", "DOUBLE", "weak bot label: regular timing, constant size, 24/7, frequency, [0, 1]"),
        Column("t_influence", "DOUBLE", "share of total traded notional, ‰"),
        Column("t_sophistication", "DOUBLE", "maker share, low slippage, breadth, execution quality, [0, 1]"),
        Column("next_pnl_per_notional", "DOUBLE",
               "PnL / notional in the profitability window (the later one, or the same in the fallback)"),
        Column("next_total_pnl", "DOUBLE", "total PnL in the profitability window, USD"),
        *(Column(name, "DOUBLE", "input feature from the fold's feature window (or the full one in the fallback)")
          for name in FEATURE_NAMES),
        Column("profitability_window", "VARCHAR", "'next' (point-in-time) or 'same' (fallback)"),
        Column("fold", "BIGINT", "walk-forward fold (wallet_training_window); the highest is the out-of-time test "
                                 "fold, never trained on"),
        Column("split", "VARCHAR", "train / val / test, fixed by a hash of the wallet (70 / 15 / 15 %): test "
                                   "wallets are never trained on, in any fold"),
    ),
)


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return table_exists(con, name)


def _features_with_pnl(con: duckdb.DuckDBPyConnection, features: str, pnl: str,
                       by_fold: bool = False) -> dict[str, np.ndarray]:
    feats = ", ".join(f'coalesce(f."{c}", 0)::DOUBLE AS "{c}"' for c in FEATURE_NAMES)
    pnl_cols = ", ".join(f'p."{c}"::DOUBLE AS "{c}"' for c in _PNL_COLS)
    fold = "f.fold" if by_fold else "0::BIGINT"
    using = "(fold, wallet)" if by_fold else "(wallet)"
    table = con.sql(
        f"SELECT f.wallet, {fold} AS fold, {feats}, {pnl_cols} FROM {features} f LEFT JOIN {pnl} p USING {using} "
        f"ORDER BY {fold}, f.wallet"
    ).to_arrow_table()
    out = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    for c in _PNL_COLS:
        out[c] = np.nan_to_num(np.asarray(out[c], dtype=np.float64))
    return out


def build_training_targets(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Write ``wallet_training_targets`` by joining the five input tables; return window metadata.

    Reads ``wallet_features`` + ``wallet_pnl`` (full window: the descriptive heads, and the inputs
    in the fallback) and, when ``wallet_training_window`` says ``profitability_window = 'next'``,
    ``wallet_features_early`` + ``wallet_pnl_late`` (inputs and profitability of the wallets that
    traded in the late window). The fallback decision is the window's, so it is made once.
    """
    window = read_window(con)
    if not window:
        raise UserError(f"table {WINDOW_TABLE} does not exist yet (build {WINDOW_TABLE} first)")
    full = _features_with_pnl(con, "wallet_features", "wallet_pnl")
    desc = descriptive_targets(full)
    mode = str(window.get("profitability_window") or "same")
    if mode == "next":
        early = _features_with_pnl(con, EARLY_FEATURES_TABLE, LATE_PNL_TABLE, by_fold=True)
        in_both = early["notional"] > 0
        rows = {k: v[in_both] for k, v in early.items()}
        pos = np.searchsorted(full["wallet"], rows["wallet"])  # full is sorted by wallet
        pos = np.clip(pos, 0, max(len(full["wallet"]) - 1, 0))
        keep = (len(full["wallet"]) > 0) & (full["wallet"][pos] == rows["wallet"])
        rows = {k: v[keep] for k, v in rows.items()}
        pos = pos[keep]
    else:
        rows = full
        pos = np.arange(len(full["wallet"]))
    t_profit = np.zeros(len(pos))
    for fold in np.unique(rows["fold"]):  # ranks compare wallets of the same window
        sel = rows["fold"] == fold
        t_profit[sel] = profitability_target(rows["pnl_per_notional"][sel], rows["notional"][sel])
    columns: dict[str, Any] = {"wallet": pa.array(rows["wallet"], type=pa.string())}
    for j in range(len(STYLE_DIMS)):
        columns[f"t_style_{j}"] = desc["style"][pos, j]
    columns["t_risk"] = desc["risk"][pos]
    columns["t_profitability"] = t_profit
    columns["t_bot"] = desc["bot"][pos]
    columns["t_influence"] = desc["influence"][pos]
    columns["t_sophistication"] = desc["sophistication"][pos]
    columns["next_pnl_per_notional"] = rows["pnl_per_notional"]
    columns["next_total_pnl"] = rows["total_pnl"]
    for c in FEATURE_NAMES:
        columns[c] = np.asarray(rows[c], dtype=np.float64)
    columns["profitability_window"] = pa.array([mode] * len(pos), type=pa.string())
    columns["fold"] = np.asarray(rows["fold"], dtype=np.int64)
    con.register("_ht_targets_stage", pa.table(columns))
    try:
        con.execute(
            f"""CREATE OR REPLACE TABLE {TARGETS_TABLE} AS
            SELECT *, CASE WHEN md5_number(wallet) % 100 < 70 THEN 'train'
                           WHEN md5_number(wallet) % 100 < 85 THEN 'val' ELSE 'test' END AS split
            FROM _ht_targets_stage ORDER BY fold, wallet"""
        )
    finally:
        con.unregister("_ht_targets_stage")
    meta: dict[str, Any] = {k: (", ".join(map(str, v)) if isinstance(v, list) else v)
                            for k, v in window.items() if v is not None and k != "rows"}
    meta["rows"] = int(len(pos))
    counts = con.sql(f"SELECT split, count(*) FROM {TARGETS_TABLE} GROUP BY split").fetchall()
    meta.update({f"{name}_wallets": int(n) for name, n in counts})
    return meta


def _run(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict[str, Any]:
    return build_training_targets(con)


STEP = Step(
    name=TARGETS_TABLE,
    description="Targets of the six heads (SPEC §9): a join of the full-window features and PnL (descriptive "
                "heads) with the early features and late PnL (point-in-time profitability).",
    reads=("wallet_features", "wallet_pnl", EARLY_FEATURES_TABLE, LATE_PNL_TABLE, WINDOW_TABLE),
    writes=(TARGETS_TABLE_DEF,), run=_run, group="training", training=True,
)
