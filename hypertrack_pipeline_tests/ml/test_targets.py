"""Targets of SPEC §9 on hand-checkable inputs, and the point-in-time windowing of profitability."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pyarrow as pa
import pytest

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.feature_names import FEATURE_NAMES
from hypertrack_pipeline.ml.targets import (
    TARGETS_TABLE_DEF,
    bot_target,
    build_training_targets,
    influence_target,
    percentile_rank,
    profitability_target,
    read_window,
    risk_target,
    sophistication_target,
    style_target,
)
from hypertrack_pipeline.ml.windows import build_training_window

from .conftest import build_fake_training_inputs, fake_pnl_builder


def test_percentile_rank_averages_ties():
    np.testing.assert_allclose(percentile_rank(np.array([3.0, 1.0, 2.0, 2.0])), [1.0, 0.0, 0.5, 0.5])
    np.testing.assert_allclose(percentile_rank(np.array([5.0, 5.0, 5.0])), [0.5, 0.5, 0.5])
    np.testing.assert_allclose(percentile_rank(np.array([7.0])), [0.5])
    assert percentile_rank(np.array([])).size == 0


def test_profitability_rank_is_shrunk_by_turnover():
    # ranks among traded wallets: 0.01 → 0.5, −0.02 → 0, 0.03 → 1; median notional 100 →
    # weights 1, 1, 0.1; the wallet without notional sits at 0.5.
    t = profitability_target(np.array([0.01, -0.02, 0.03, 0.5]), np.array([100.0, 100.0, 10.0, 0.0]))
    np.testing.assert_allclose(t, [0.5, 0.0, 0.55, 0.5])


def test_risk_is_mean_of_exposure_and_drawdown_percentiles():
    # exposure = peak/avg_value = 1, 10, 5 → ranks 0, 1, 0.5; drawdown/peak = .1, 0, .5 → .5, 0, 1
    t = risk_target(np.array([100.0, 1000.0, 50.0, 0.0]), np.array([100.0, 100.0, 10.0, 0.0]),
                    np.array([10.0, 0.0, -25.0, 0.0]))
    np.testing.assert_allclose(t, [0.25, 0.5, 0.75, 0.0])


def test_bot_label_combines_timing_size_hours_and_frequency():
    half = bot_target(np.array([50.0]), np.array([0.5]), np.array([0.5]), np.array([0.5]), np.array([10**1.5 - 1]))
    np.testing.assert_allclose(half, [0.5])
    t = bot_target(
        tx_count=np.array([10.0, 2.0, 100.0]),
        burstiness=np.array([0.2, 0.0, 1.5]),
        size_entropy=np.array([0.1, 0.5, 0.9]),
        hour_entropy=np.array([1.0, 0.2, 0.5]),
        tx_per_day=np.array([999.0, 1.0, 9.0]),
    )
    expected = [
        (0.8 * 0.9 * 1.0 * 1.0) ** 0.25,  # regular, constant, around the clock, 1000/day
        0.0,  # 2 events: timing unknown → 0, and one missing cue zeroes the label
        0.0,  # bursty: regularity clipped at 0
    ]
    np.testing.assert_allclose(t, expected)


def test_influence_is_per_mille_of_traded_notional():
    np.testing.assert_allclose(influence_target(np.array([100.0, 300.0, 600.0, 0.0])), [100, 300, 600, 0])
    np.testing.assert_allclose(influence_target(np.zeros(2)), [0, 0])


def test_sophistication_combines_maker_share_slippage_breadth_and_impact():
    t = sophistication_target(
        order_book_participation=np.array([1.0, 0.0, 0.5, 0.3]),
        avg_slippage=np.array([-1e-3, 2e-3, 0.0, 0.0]),
        unique_tokens=np.array([20.0, 0.0, 3.0, 5.0]),
        avg_market_impact=np.array([0.0, 1e-3, -1e-3, 0.0]),
        total_value=np.array([10.0, 10.0, 10.0, 0.0]),
    )
    breadth3 = math.log(4) / math.log(21)
    np.testing.assert_allclose(t, [(1 + 1 + 1 + 0.5) / 4, 0.0, (0.5 + 0.5 + breadth3 + 1) / 4, 0.0])


def test_style_dimensions_and_missing_candles_are_neutral():
    f = {
        "momentum_score": np.array([0.4, -0.2]),
        "mean_reversion_score": np.array([-0.4, 0.3]),
        "volatility_trading_score": np.array([0.75, 0.0]),
        "market_maker_score": np.array([0.1, 0.0]),
        "avg_candle_momentum": np.array([0.005, 0.0]),
        "positive_momentum_ratio": np.array([0.2, 0.0]),
        "max_candle_volume": np.array([1e6, 0.0]),
        "max_candle_volatility": np.array([0.01, 0.0]),
        "total_value": np.array([1000.0, 0.0]),
    }
    s = style_target(f)
    np.testing.assert_allclose(s[0], [0.4, -0.4, 0.5, -0.8, math.tanh(1.0), 0.6])
    np.testing.assert_allclose(s[1], [-0.2, 0.3, 0.0, 0.0, 0.0, 0.0])
    assert s.shape == (2, 6) and np.all(np.abs(s) <= 1)


# --------------------------------------------------------------------------- warehouse build

# wallet: list of (time_ms, notional, realized) fills. Fill times sorted: 1000 1000 2000 3000 | 6000
# 7000 9000 — the median fill is at 3000, so the default boundary is 3001.
HAND_FILLS = {
    "0xa": [(1000, 100.0, 5.0)],  # early only: not in both windows
    "0xb": [(1000, 100.0, 0.0), (6000, 200.0, 20.0)],  # late ppn 0.10, notional 200
    "0xc": [(2000, 50.0, 0.0), (7000, 100.0, -5.0)],  # late ppn −0.05, notional 100
    "0xd": [(3000, 10.0, 0.0), (9000, 20.0, 4.0)],  # late ppn 0.20, notional 20
}


@pytest.fixture
def hand_warehouse(con):
    rows = [(w, t, n, r) for w, fs in HAND_FILLS.items() for (t, n, r) in fs]
    fills = pa.table(
        {
            "wallet": [r[0] for r in rows],
            "coin": ["BTC"] * len(rows),
            "time_ms": [r[1] for r in rows],
            "tid": list(range(len(rows))),
            "side_sign": [1] * len(rows),
            "is_maker": [False] * len(rows),
            "px": [10.0] * len(rows),
            "sz": [r[2] / 10 for r in rows],
            "notional": [r[2] for r in rows],
            "test_realized": [r[3] for r in rows],
        }
    )
    con.register("_f", fills)
    con.execute("CREATE TABLE fills AS SELECT * FROM _f")
    wallets = list(HAND_FILLS)
    feats = {c: [float(i + 1) for i in range(4)] for c in FEATURE_NAMES}
    feats["total_value"] = [100.0, 300.0, 150.0, 30.0]
    con.register("_wf", pa.table({"wallet": wallets, **feats}))
    con.execute("CREATE TABLE wallet_features AS SELECT * FROM _wf")
    fake_pnl_builder(con)
    return con


def _targets(con) -> dict[str, dict]:
    rows = con.sql("SELECT * FROM wallet_training_targets ORDER BY wallet").to_arrow_table().to_pylist()
    return {r["wallet"]: r for r in rows}


def test_profitability_comes_from_the_next_window(hand_warehouse):
    con = hand_warehouse
    build_fake_training_inputs(con, min_overlap_wallets=2)
    meta = build_training_targets(con)
    assert meta["boundary_ms"] == 3001 and meta["profitability_window"] == "next"
    assert meta["feature_window"] == "early" and meta["overlap_wallets"] == 3
    got = _targets(con)
    assert sorted(got) == ["0xb", "0xc", "0xd"]  # 0xa never traded late
    # late ppn ranks: b 0.5, c 0, d 1; median late notional 100 → d's weight 0.2
    assert got["0xb"]["t_profitability"] == pytest.approx(0.5)
    assert got["0xc"]["t_profitability"] == pytest.approx(0.0)
    assert got["0xd"]["t_profitability"] == pytest.approx(0.6)
    assert got["0xd"]["next_pnl_per_notional"] == pytest.approx(0.2)
    assert got["0xd"]["next_total_pnl"] == pytest.approx(4.0)
    # influence uses the full window: 300 / 580 of all notional
    assert got["0xb"]["t_influence"] == pytest.approx(1000 * 300 / 580)
    assert {r["profitability_window"] for r in got.values()} == {"next"}
    for wallet, row in got.items():
        bucket = int.from_bytes(hashlib.md5(wallet.encode()).digest(), "little") % 100
        assert row["split"] == ("train" if bucket < 70 else "val" if bucket < 85 else "test")
        assert all(row[c] is not None for c in FEATURE_NAMES)
    window = read_window(con)
    assert window["target_start_ms"] == 3001 and window["feature_end_ms"] == 3001
    assert window["data_start_ms"] == 1000 and window["data_end_ms"] == 9000
    assert meta["rows"] == window["rows"] == 3
    cols = [r[0] for r in con.sql("DESCRIBE wallet_training_targets").fetchall()]
    assert tuple(cols) == TARGETS_TABLE_DEF.column_names()


def test_an_explicit_boundary_moves_the_windows(hand_warehouse):
    con = hand_warehouse
    build_fake_training_inputs(con, 6500, min_overlap_wallets=2)
    meta = build_training_targets(con)
    # late window [6500, ∞): c (ppn −0.05, notional 100) and d (ppn 0.2, notional 20); median 60
    assert meta["boundary_ms"] == 6500 and meta["overlap_wallets"] == 2
    got = _targets(con)
    assert sorted(got) == ["0xc", "0xd"]
    assert got["0xc"]["t_profitability"] == pytest.approx(0.0)
    assert got["0xd"]["t_profitability"] == pytest.approx(0.5 + 0.5 * 20 / 60)


def test_falls_back_to_same_window_when_too_few_wallets_span_both(hand_warehouse):
    con = hand_warehouse
    build_fake_training_inputs(con, min_overlap_wallets=10)
    meta = build_training_targets(con)
    assert meta["profitability_window"] == "same" and "falls back" in meta["note"]
    assert meta["boundary_ms"] == 3001 and meta["overlap_wallets"] == 3  # the window says why
    got = _targets(con)
    assert sorted(got) == list(HAND_FILLS)
    # full-window ppn: a 0.05, b 20/300, c −5/150, d 4/30 → ranks 1/3, 2/3, 0, 1;
    # notional 100, 300, 150, 30, median 125 → weights 0.8, 1, 1, 0.24
    expected = {"0xa": 0.5 + (1 / 3 - 0.5) * 0.8, "0xb": 0.5 + (2 / 3 - 0.5), "0xc": 0.0, "0xd": 0.5 + 0.5 * 0.24}
    for w, t in expected.items():
        assert got[w]["t_profitability"] == pytest.approx(t)
    assert {r["profitability_window"] for r in got.values()} == {"same"}
    assert read_window(con)["profitability_window"] == "same"


def test_single_timestamp_data_does_not_span_two_windows(con):
    con.execute("CREATE TABLE fills AS SELECT '0xa' AS wallet, 5 AS time_ms, 10.0 AS notional, 1.0 AS test_realized,"
                " 'BTC' AS coin")
    cols = ", ".join(f'1.0 AS "{c}"' for c in FEATURE_NAMES)
    con.execute(f"CREATE TABLE wallet_features AS SELECT '0xa' AS wallet, {cols}")
    fake_pnl_builder(con)
    build_training_window(con)
    meta = build_training_targets(con)  # same window: the early/late tables are not even read
    assert meta["rows"] == 1 and meta["profitability_window"] == "same" and "boundary_ms" not in meta
    assert "does not span" in meta["note"]


def _table(con, name: str, rows: list[dict]) -> None:
    con.register("_rows", pa.Table.from_pylist(rows))
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM _rows")
    con.unregister("_rows")


def _pnl(wallet: str, notional: float, total: float) -> dict:
    return {"wallet": wallet, "realized_pnl": total, "unrealized_pnl": 0.0, "total_pnl": total,
            "notional": notional, "pnl_per_notional": total / notional if notional else 0.0, "win_rate": 0.5,
            "closing_fills": 1, "max_drawdown": 1.0, "peak_position_notional": notional, "coins": 1}


def test_targets_are_a_join_of_the_five_input_tables(con):
    """Hand-made inputs and no fills at all: the targets build reads the five tables, nothing else."""
    def feats(wallet: str, value: float, total_value: float) -> dict:
        return {"wallet": wallet, **{c: value for c in FEATURE_NAMES}, "total_value": total_value}

    _table(con, "wallet_features", [feats("0xa", 1.0, 100.0), feats("0xb", 1.0, 300.0), feats("0xc", 1.0, 600.0)])
    _table(con, "wallet_pnl", [_pnl("0xa", 100.0, 1.0), _pnl("0xb", 300.0, 3.0), _pnl("0xc", 600.0, -6.0)])
    # early features differ from the full ones, so the inputs' origin is visible
    _table(con, "wallet_features_early", [{"fold": 0, **feats("0xa", 7.0, 50.0)}, {"fold": 0, **feats("0xb", 8.0, 60.0)},
                                          {"fold": 0, **feats("0xc", 9.0, 70.0)}])
    # 0xc did not trade late (notional 0): it is not a training wallet; 0xz is not in the features
    _table(con, "wallet_pnl_late", [{"fold": 0, **p} for p in (_pnl("0xa", 200.0, 20.0), _pnl("0xb", 100.0, -1.0),
                                                                 _pnl("0xc", 0.0, 0.0), _pnl("0xz", 50.0, 5.0))])
    _table(con, "wallet_training_window", [{"profitability_window": "next", "feature_window": "early",
                                            "boundary_ms": 3001, "overlap_wallets": 2, "note": None}])
    meta = build_training_targets(con)
    assert meta["rows"] == 2 and meta["profitability_window"] == "next" and meta["boundary_ms"] == 3001
    got = _targets(con)
    assert sorted(got) == ["0xa", "0xb"]
    assert got["0xa"]["next_total_pnl"] == 20.0 and got["0xb"]["next_pnl_per_notional"] == pytest.approx(-0.01)
    assert got["0xa"]["tx_count"] == 7.0 and got["0xb"]["tx_count"] == 8.0  # early inputs
    assert got["0xa"]["total_value"] == 50.0
    # ppn 0.1 > −0.01: ranks 1, 0; median late notional 150 → weights 1, 2/3
    assert got["0xa"]["t_profitability"] == pytest.approx(1.0)
    assert got["0xb"]["t_profitability"] == pytest.approx(0.5 - 0.5 * 2 / 3)
    assert got["0xa"]["t_influence"] == pytest.approx(100.0)  # full window: 100 / 1000 ‰
    assert got["0xb"]["t_influence"] == pytest.approx(300.0)


def test_targets_need_the_training_window(con):
    with pytest.raises(UserError, match="wallet_training_window"):
        build_training_targets(con)
