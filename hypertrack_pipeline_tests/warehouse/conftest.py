"""Warehouse fixtures: a hand-made landing zone loaded into a real (in-memory) DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from hypertrack_pipeline.landing.zone import Hour
from hypertrack_pipeline.warehouse import build_wallet_features, build_wallet_pnl, load_hours
from hypertrack_pipeline_tests.warehouse.landing_builder import (
    HOUR,
    T0,
    bbo,
    candle,
    evm_tx,
    land,
    trade,
    transfer,
)

A, B, C, D, E = "0x" + "a" * 40, "0x" + "b" * 40, "0x" + "c" * 40, "0x" + "d" * 40, "0x" + "e" * 40
CONTRACT, TOKEN1, TOKEN2, F = "0x" + "1" * 40, "0x" + "2" * 40, "0x" + "3" * 40, "0x" + "f" * 40
S = 1000  # one second in ms


def l2(coin: str, t: int, bid: float, ask: float) -> dict:
    return {"coin": coin, "time": t, "bid_px": [bid], "bid_sz": [1.0], "bid_n": [1], "ask_px": [ask],
            "ask_sz": [1.0], "ask_n": [1], "recv_ns": t * 1_000_000}


def market_landing(raw: Path) -> None:
    """The feature test market (every number below is used by hand in test_features.py)."""
    land(raw, "trades", [
        trade("BTC", "B", 111.0, 1.0, T0 + 401 * S, 1, A, B),  # A takes (buys) from maker B
        trade("BTC", "A", 109.0, 0.5, T0 + 401 * S, 2, B, A),  # A takes (sells) to maker B
        trade("ETH", "B", 12.5, 2.0, T0 + 350 * S, 7, A, C),  # A takes (buys) from maker C
        trade("BTC", "B", 112.0, 0.1, T0 + 3700 * S, 3, C, B),  # C takes (buys) from maker B
        trade("SOL", "B", 20.0, 1.0, T0 + 500 * S, 1, D, E),  # coin without any book or candle
    ])
    land(raw, "bbo", [
        bbo("BTC", T0, 99.0, 101.0),  # mid 100
        bbo("BTC", T0 + 100 * S, 103.0, 105.0),  # mid 104
        bbo("BTC", T0 + 400 * S, 109.0, 111.0),  # mid 110
        bbo("BTC", T0 + 403 * S, 111.0, 113.0),  # mid 112
    ])
    land(raw, "l2book", [l2("ETH", T0, 9.0, 11.0), l2("ETH", T0 + 200 * S, 11.0, 13.0)])  # mids 10, 12
    land(raw, "candles", [
        candle("BTC", T0, 100.0, 101.0, 100.0, 100.5, 1.0),  # range 0.01
        candle("BTC", T0 + 360 * S, 110.0, 113.0, 108.0, 112.0, 10.0),  # range 5/110
        candle("ETH", T0 + 300 * S, 12.0, 12.6, 11.9, 12.5, 100.0),
    ])
    land(raw, "evm_transactions", [
        evm_tx("0x01", T0 + 3 * HOUR, A, CONTRACT, input_size=68),
        evm_tx("0x02", T0 + 3 * HOUR + 10 * S, A, E),
    ])
    land(raw, "evm_token_transfers", [
        transfer("0x02", T0 + 3 * HOUR + 10 * S, TOKEN1, A, E, 5.0),
        transfer("0x03", T0 + 4 * HOUR, TOKEN2, F, A, 2.5),
    ])


def all_hours(first_ms: int, n: int) -> list[Hour]:
    h = Hour.of_ms(first_ms)
    out = []
    for _ in range(n):
        out.append(h)
        h = h.next()
    return out


@pytest.fixture
def market_db(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    raw = tmp_path / "raw"
    market_landing(raw)
    con = duckdb.connect()
    load_hours(con, raw, all_hours(T0, 5))
    build_wallet_pnl(con)
    build_wallet_features(con)
    yield con
    con.close()


def features_of(con: duckdb.DuckDBPyConnection, wallet: str, table: str = "wallet_features") -> dict:
    cur = con.execute(f"SELECT * FROM {table} WHERE wallet = ?", [wallet])
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    assert len(rows) == 1, f"{wallet} has {len(rows)} rows"
    return dict(zip(names, rows[0], strict=True))
