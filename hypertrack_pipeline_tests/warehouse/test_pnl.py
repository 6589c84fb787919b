"""Average-cost PnL against hand computations (add, reduce, flip, close, self-trade) and against an
independent sequential loop on random fills."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from pytest import approx

from hypertrack_pipeline.warehouse import build_wallet_pnl, load_hours
from hypertrack_pipeline.warehouse.avgcost import average_cost
from hypertrack_pipeline_tests.warehouse.conftest import all_hours
from hypertrack_pipeline_tests.warehouse.landing_builder import HOUR, T0, bbo, land, trade

W, X, Y = "0x" + "1" * 40, "0x" + "2" * 40, "0x" + "3" * 40


@pytest.fixture
def pnl_db(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    raw = tmp_path / "raw"
    land(raw, "trades", [
        # W on BTC: buy 2 @ 100, buy 2 @ 110 (avg 105), sell 1 @ 120 (+15), sell 5 @ 90 (close 3: −45,
        # flip: short 2 @ 90), buy 1 @ 80 (+10, short 1 @ 90)
        trade("BTC", "B", 100.0, 2.0, T0 + 1000, 1, W, X),
        trade("BTC", "B", 110.0, 2.0, T0 + 2000, 2, W, X),
        trade("BTC", "A", 120.0, 1.0, T0 + 3000, 3, X, W),
        trade("BTC", "A", 90.0, 5.0, T0 + HOUR + 1000, 4, X, W),
        trade("BTC", "A", 80.0, 1.0, T0 + HOUR + 2000, 5, W, Y),
        # a self-trade in the middle of W's position: must not move its average cost
        trade("BTC", "B", 130.0, 3.0, T0 + 2500, 6, W, W),
        # W on ETH: buy 1 @ 10 then sell 1 @ 12 at the same ms: the tid decides the order
        trade("ETH", "A", 12.0, 1.0, T0 + 5000, 11, Y, W),
        trade("ETH", "B", 10.0, 1.0, T0 + 5000, 10, W, Y),
    ])
    land(raw, "bbo", [bbo("BTC", T0 + 500, 99.0, 101.0), bbo("BTC", T0 + HOUR + 3000, 84.0, 86.0)])  # last mid 85
    con = duckdb.connect()
    load_hours(con, raw, all_hours(T0, 2))
    build_wallet_pnl(con)
    yield con
    con.close()


def row(con, sql: str, params: list) -> dict:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    assert len(rows) == 1
    return dict(zip(names, rows[0], strict=True))


def test_positions_add_reduce_flip(pnl_db) -> None:
    btc = row(pnl_db, "SELECT * FROM wallet_positions WHERE wallet = ? AND coin = 'BTC'", [W])
    assert btc["position"] == approx(-1.0)
    assert btc["avg_cost"] == approx(90.0)
    assert btc["realized_pnl"] == approx(15 - 45 + 10)
    assert btc["last_mid"] == approx(85.0)
    assert btc["unrealized_pnl"] == approx(-1.0 * (85 - 90))
    assert btc["fills"] == 7  # 5 + both legs of the self-trade
    eth = row(pnl_db, "SELECT * FROM wallet_positions WHERE wallet = ? AND coin = 'ETH'", [W])
    assert eth["position"] == 0 and eth["realized_pnl"] == approx(2.0) and eth["unrealized_pnl"] == 0
    assert eth["last_mid"] == approx(12.0)  # no BBO/L2 for ETH: last trade price (tid 11)


def test_wallet_summary(pnl_db) -> None:
    w = row(pnl_db, "SELECT * FROM wallet_pnl WHERE wallet = ?", [W])
    assert w["realized_pnl"] == approx(-20 + 2)
    assert w["unrealized_pnl"] == approx(5.0)
    assert w["total_pnl"] == approx(-13.0)
    notional = 200 + 220 + 120 + 450 + 80 + 2 * 390 + 12 + 10
    assert w["notional"] == approx(notional)
    assert w["pnl_per_notional"] == approx(-13.0 / notional)
    assert w["closing_fills"] == 4  # sell@120, sell@90 (flip), buy@80, ETH sell@12
    assert w["win_rate"] == approx(3 / 4)
    assert w["coins"] == 2
    assert w["peak_position_notional"] == approx(4 * 110)
    # zero-sum: every wallet's PnL adds up to 0 (marks are shared)
    total = pnl_db.execute("SELECT sum(total_pnl) FROM wallet_pnl").fetchall()[0][0]
    assert total == approx(0.0, abs=1e-9)


def test_hourly_curve_and_drawdown(pnl_db) -> None:
    rows = pnl_db.execute(
        "SELECT epoch_ms(hour), cum_realized_pnl, cum_total_pnl FROM wallet_pnl_hourly WHERE wallet = ? ORDER BY 1",
        [W]).fetchall()
    assert [r[0] for r in rows] == [T0, T0 + HOUR]
    # end of hour 0: BTC long 3 @ 105 (+15 realized) marked at 100; ETH +2 realized
    assert rows[0][1] == approx(17.0) and rows[0][2] == approx(17.0 + 3 * (100 - 105))
    assert rows[1][1] == approx(-18.0) and rows[1][2] == approx(-13.0)
    w = row(pnl_db, "SELECT max_drawdown FROM wallet_pnl WHERE wallet = ?", [W])
    assert w["max_drawdown"] == approx(2.0 + 13.0)  # peak 2 → −13


def test_window_and_prefix(pnl_db) -> None:
    info = build_wallet_pnl(pnl_db, start_ms=T0 + HOUR, prefix="late_")
    assert info["wallets"] == 3 and info["rows"]["wallet_pnl"] == 3
    btc = row(pnl_db, "SELECT * FROM late_wallet_positions WHERE wallet = ? AND coin = 'BTC'", [W])
    # window starts flat: sell 5 @ 90 opens short 5, buy 1 @ 80 realizes +10
    assert btc["position"] == approx(-4.0) and btc["avg_cost"] == approx(90.0)
    assert btc["realized_pnl"] == approx(10.0) and btc["unrealized_pnl"] == approx(-4 * (85 - 90))


def sequential(qty: np.ndarray, px: np.ndarray) -> tuple[float, float, float]:
    pos = avg = realized = 0.0
    for q, x in zip(qty, px, strict=True):
        if pos == 0 or (pos > 0) == (q > 0):
            avg = (abs(pos) * avg + abs(q) * x) / (abs(pos) + abs(q))
            pos += q
        else:
            closed = min(abs(q), abs(pos))
            realized += closed * (x - avg) * (1 if pos > 0 else -1)
            if abs(q) > abs(pos):
                avg = x
            pos += q
            if abs(pos) < 1e-9:
                pos, avg = 0.0, 0.0
    return pos, avg, realized


def test_vectorized_average_cost_matches_a_sequential_loop() -> None:
    rng = np.random.default_rng(7)
    lengths = rng.integers(1, 400, size=60)
    qty = rng.choice([-1.0, 1.0], lengths.sum()) * rng.integers(1, 30, lengths.sum()) / 10
    px = 100 + rng.normal(0, 1, lengths.sum()).cumsum()
    starts = np.zeros(lengths.sum(), dtype=bool)
    starts[np.cumsum(lengths) - lengths] = True
    res = average_cost(starts, qty, px)
    ends = np.cumsum(lengths) - 1
    first = np.cumsum(lengths) - lengths
    for lo, hi in zip(first, ends, strict=True):
        pos, avg, realized = sequential(qty[lo:hi + 1], px[lo:hi + 1])
        assert res.position[hi] == approx(pos, abs=1e-9)
        if pos != 0:
            assert res.avg_cost[hi] == approx(avg, rel=1e-9)
        assert res.realized[lo:hi + 1].sum() == approx(realized, rel=1e-9, abs=1e-9)


def test_long_runs_without_flat_stay_exact() -> None:
    # 20 000 fills oscillating between 1 and 3 lots without ever going flat: the scan must not lose history
    n = 20_000
    qty = np.where(np.arange(n) % 2 == 0, 2.0, -2.0)
    qty[0] = 3.0
    px = 50 + np.sin(np.arange(n) / 50.0)
    res = average_cost(np.eye(1, n, dtype=bool)[0], qty, px)
    pos, avg, realized = sequential(qty, px)
    assert res.position[-1] == approx(pos) and res.avg_cost[-1] == approx(avg, rel=1e-9)
    assert res.realized.sum() == approx(realized, rel=1e-9)
    assert pa.array(res.realized).null_count == 0


def test_a_small_position_after_a_huge_one_keeps_its_own_precision():
    """Running sums restart per group without carrying an earlier group's rounding (a 0.278-lot position after
    a 1.3e7-unit spot balance used to come out 5e-9 off)."""
    from hypertrack_pipeline.warehouse.avgcost import segmented_cumsum

    values = np.array([12817942.2417900003, 13.0, 7.5, 27.574, -0.278, -0.278, -0.278, -0.23])
    starts = np.array([1, 0, 0, 1, 0, 0, 0, 0], dtype=bool)
    expected, acc = [], 0.0
    for v, s in zip(values, starts, strict=True):
        acc = v if s else acc + v
        expected.append(acc)
    assert segmented_cumsum(values, starts).tolist() == expected  # bit for bit, like a sequential loop
