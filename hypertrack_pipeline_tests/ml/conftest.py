"""Fixtures for the ML tests: a small synthetic warehouse with a planted, learnable structure.

Each wallet gets a hidden skill; it lowers the wallet's slippage (a feature) and raises its
realized PnL per notional in *both* halves of the data, so early-window features predict
late-window profitability — the point-in-time setup the real warehouse produces.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pytest
import torch

from hypertrack_pipeline.feature_names import FEATURE_NAMES
from hypertrack_pipeline.ml.windows import (
    EARLY_FEATURES_TABLE,
    LATE_PNL_TABLE,
    MIN_OVERLAP_WALLETS,
    build_training_window,
)

torch.set_num_threads(2)

T_END_MS = 1_700_000_000_000 + 4 * 3_600_000  # four hours of data
T_START_MS = 1_700_000_000_000


def synthetic_features(n: int, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Plausible values for the 36 features plus each wallet's hidden skill (vectorized)."""
    rng = np.random.default_rng(seed)
    skill = rng.normal(size=n)
    tx = np.round(np.exp(rng.normal(3.0, 1.0, n))) + 4
    age = rng.uniform(0.1, 0.2, n)
    avg_value = np.exp(rng.normal(7.0, 1.5, n))
    obp = rng.uniform(0, 1, n)
    f = {name: rng.uniform(0, 1, n) for name in FEATURE_NAMES}
    f.update(
        tx_count=tx,
        erc20_count=np.round(rng.exponential(2, n)),
        unique_tokens=rng.integers(1, 12, n).astype(float),
        unique_addresses=np.minimum(tx, rng.integers(1, 50, n)),
        age_days=age,
        tx_per_day=tx / age,
        burstiness=rng.uniform(0, 2, n),
        total_value=tx * avg_value,
        avg_value=avg_value,
        max_value=avg_value * rng.uniform(1, 4, n),
        value_std=avg_value * rng.uniform(0, 1, n),
        avg_market_impact=rng.normal(0, 1e-4, n),
        max_market_impact=rng.uniform(0, 1e-3, n),
        avg_slippage=-3e-4 * skill + rng.normal(0, 1e-4, n),
        slippage_std=rng.uniform(0, 5e-4, n),
        momentum_score=rng.uniform(-1, 1, n),
        mean_reversion_score=rng.uniform(-1, 1, n),
        market_maker_score=obp * rng.uniform(0.5, 1, n),
        order_book_participation=obp,
        avg_candle_volatility=rng.uniform(0.001, 0.03, n),
        max_candle_volatility=rng.uniform(0.03, 0.06, n),
        avg_candle_momentum=rng.normal(0, 0.003, n),
        avg_candle_volume=np.exp(rng.normal(12, 1, n)),
        max_candle_volume=np.exp(rng.normal(14, 1, n)),
    )
    return f, skill


def build_synthetic_warehouse(con: duckdb.DuckDBPyConnection, n: int, seed: int = 0) -> np.ndarray:
    """Create fills, wallet_features and wallet_pnl for ``n`` wallets; return the wallets' skill."""
    rng = np.random.default_rng(seed + 1)
    feats, skill = synthetic_features(n, seed)
    wallets = np.array([f"0x{i:040x}" for i in range(n)])
    k = 6  # fills per wallet, spread over the whole range (both halves)
    w_idx = np.repeat(np.arange(n), k)
    time_ms = rng.integers(T_START_MS, T_END_MS, n * k)
    time_ms[::k] = T_START_MS + rng.integers(0, 3_600_000, n)  # one fill surely early,
    time_ms[1::k] = T_END_MS - rng.integers(0, 3_600_000, n)  # one surely late
    notional = feats["avg_value"][w_idx] * rng.uniform(0.5, 1.5, n * k)
    realized = notional * (0.002 * skill[w_idx] + rng.normal(0, 0.002, n * k))
    fills = pa.table(
        {
            "wallet": wallets[w_idx],
            "coin": rng.choice(["BTC", "ETH", "SOL"], n * k),
            "time_ms": time_ms,
            "tid": np.arange(n * k),
            "side_sign": rng.choice([-1, 1], n * k),
            "is_maker": rng.uniform(0, 1, n * k) < feats["order_book_participation"][w_idx],
            "px": np.full(n * k, 100.0),
            "sz": notional / 100.0,
            "notional": notional,
            "test_realized": realized,  # test-only column: the PnL our fake PnL builder sums
        }
    )
    con.register("_fills", fills)
    con.execute("CREATE OR REPLACE TABLE fills AS SELECT * FROM _fills")
    con.unregister("_fills")
    wf = pa.table({"wallet": wallets, **{c: feats[c] for c in FEATURE_NAMES}})
    con.register("_wf", wf)
    con.execute("CREATE OR REPLACE TABLE wallet_features AS SELECT * FROM _wf")
    con.unregister("_wf")
    fake_pnl_builder(con)
    return skill


def build_fake_training_inputs(
    con: duckdb.DuckDBPyConnection, boundary_ms: int | None = None, *, min_overlap_wallets: int = MIN_OVERLAP_WALLETS
) -> dict:
    """The real ``wallet_training_window`` over ``fills``, then ``wallet_features_early`` and
    ``wallet_pnl_late`` from the fakes below (empty without a boundary, as the real steps do)."""
    window = build_training_window(con, boundary_ms, min_overlap_wallets=min_overlap_wallets, windows=2)
    b = window["boundary_ms"]
    fake_feature_builder(con, None, b, table=EARLY_FEATURES_TABLE, empty=b is None)
    fake_pnl_builder(con, b, None, table=LATE_PNL_TABLE, empty=b is None)
    for table in (EARLY_FEATURES_TABLE, LATE_PNL_TABLE):  # one fold: fold 0
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT 0::BIGINT AS fold, * FROM {table}")
    return window


def fake_feature_builder(con, start_ms=None, end_ms=None, table="wallet_features", empty=False) -> dict:
    """Window features for the test: the full-window features of wallets that traded in the window
    (the real builder is the warehouse's; here only the windowing contract matters)."""
    cond = "FALSE" if empty else _window_sql(start_ms, end_ms)
    con.execute(
        f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM wallet_features "
        f"WHERE wallet IN (SELECT wallet FROM fills WHERE {cond})"
    )
    return {"table": table}


def fake_pnl_builder(con, start_ms=None, end_ms=None, table="wallet_pnl", empty=False) -> dict:
    """Window PnL from the test-only realized column, with the wallet_pnl columns of the contract."""
    cond = "FALSE" if empty else _window_sql(start_ms, end_ms)
    con.execute(
        f"""CREATE OR REPLACE TABLE {table} AS
        SELECT wallet, sum(test_realized) AS realized_pnl, 0.0 AS unrealized_pnl,
               sum(test_realized) AS total_pnl, sum(notional) AS notional,
               sum(test_realized) / sum(notional) AS pnl_per_notional,
               avg((test_realized > 0)::INT) AS win_rate, count(*) AS closing_fills,
               greatest(0.0, -min(test_realized)) AS max_drawdown,
               max(notional) * 2 AS peak_position_notional, count(DISTINCT coin) AS coins
        FROM fills WHERE {cond} GROUP BY wallet"""
    )
    return {"table": table}


def _window_sql(start_ms, end_ms) -> str:
    parts = ["TRUE"]
    if start_ms is not None:
        parts.append(f"time_ms >= {int(start_ms)}")
    if end_ms is not None:
        parts.append(f"time_ms < {int(end_ms)}")
    return " AND ".join(parts)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.fixture
def synthetic_warehouse(con) -> tuple[duckdb.DuckDBPyConnection, np.ndarray]:
    """A 600-wallet warehouse spanning two windows."""
    skill = build_synthetic_warehouse(con, 600, seed=0)
    return con, skill
