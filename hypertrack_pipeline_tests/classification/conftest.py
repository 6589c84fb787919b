"""Helpers for the classification tests: a neutral wallet and hand-made fills tables."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pyarrow as pa
import pytest

from hypertrack_pipeline.feature_names import FEATURE_NAMES

# A wallet for which no SPEC §10 rule holds; tests move one value across one threshold at a time.
NEUTRAL_FEATURES: dict[str, float] = {name: 0.0 for name in FEATURE_NAMES} | {
    "tx_count": 10.0,
    "tx_per_day": 0.3,
    "age_days": 20.0,
    "size_entropy": 0.9,
    "burstiness": 0.1,
    "max_value": 100.0,
    "total_value": 1000.0,
    "unique_tokens": 1.0,
    "erc20_count": 0.0,
    "flip_rate": 0.1,
    "avg_candle_volatility": 0.001,
    "positive_momentum_ratio": 0.5,
    "avg_candle_momentum": 0.0,
    "avg_candle_volume": 1000.0,
}
NEUTRAL_SCORES: dict[str, object] = {
    "trading_style": [0.0] * 6,
    "risk_score": 0.0,
    "profitability_score": 0.0,
    "bot_probability": 0.0,
    "influence_score": 0.0,
    "sophistication_score": 0.0,
}

FILLS_DDL = """
CREATE TABLE fills (
    wallet VARCHAR, coin VARCHAR, time_ms BIGINT, ts TIMESTAMP, tid BIGINT, side_sign INTEGER,
    is_maker BOOLEAN, px DOUBLE, sz DOUBLE, notional DOUBLE, counterparty VARCHAR
)
"""

# (coin, time_ms, tid, buyer, seller, px, sz[, buyer_is_taker]); by default the buyer is the taker.
Trade = tuple


def insert_trades(con: duckdb.DuckDBPyConnection, trades: Iterable[Trade]) -> None:
    """Both fills of every trade into ``fills`` (created when absent), like the warehouse builds it."""
    con.execute(FILLS_DDL.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
    rows = []
    for coin, time_ms, tid, buyer, seller, px, sz, *rest in trades:
        buyer_taker = rest[0] if rest else True
        for wallet, sign, maker, other in ((buyer, 1, not buyer_taker, seller), (seller, -1, buyer_taker, buyer)):
            rows.append((wallet, coin, time_ms, time_ms, tid, sign, maker, px, sz, px * sz, other))
    names = ["wallet", "coin", "time_ms", "ts_ms", "tid", "side_sign", "is_maker", "px", "sz", "notional", "counterparty"]
    batch = pa.table({name: [row[k] for row in rows] for k, name in enumerate(names)})
    con.register("_new_fills", batch)
    con.execute(
        "INSERT INTO fills SELECT wallet, coin, time_ms, make_timestamp(ts_ms * 1000), tid, side_sign, is_maker, "
        "px, sz, notional, counterparty FROM _new_fills"
    )
    con.unregister("_new_fills")


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    yield connection
    connection.close()


@pytest.fixture
def neutral() -> tuple[dict[str, float], dict[str, object]]:
    """Fresh copies of the neutral features and scores."""
    return dict(NEUTRAL_FEATURES), {k: (list(v) if isinstance(v, list) else v) for k, v in NEUTRAL_SCORES.items()}


@pytest.fixture
def add_trades():
    """``insert_trades`` as a fixture, so test modules need not import conftest."""
    return insert_trades
