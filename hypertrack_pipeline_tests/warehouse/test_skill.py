"""The skill features: the skill statistic on hand-computed cases, the mark-outs on a hand-made
market, and the look-ahead guard (a price planted after the window end never reaches a feature)."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pytest

from hypertrack_pipeline.datasets import RAW_TABLES
from hypertrack_pipeline.warehouse import build_wallet_features
from hypertrack_pipeline.warehouse.feature_arrays import SKILL_PRIOR_EDGE, normal_cdf, skill_statistic


def test_normal_cdf_known_values():
    np.testing.assert_allclose(normal_cdf(np.array([0.0, 1.0, -1.959963985])), [0.5, 0.8413447461, 0.025],
                               atol=1e-9)


def test_skill_statistic_by_hand():
    # hourly mean mark-outs 10, 20, 30 bp: mean 20 bp, sample sd 10 bp, se = 10/√3 bp, t = 2√3
    hours = np.array([0.0010, 0.0020, 0.0030])
    mean, sd = hours.mean(), hours.std(ddof=1)
    se = 0.0010 / math.sqrt(3)
    tau = SKILL_PRIOR_EDGE
    z_want = (0.0020 / se) * tau / math.sqrt(tau**2 + se**2)  # = 2√3 · 1/√(1 + 1/3) = 3
    assert z_want == pytest.approx(3.0)
    z, conf = skill_statistic(np.array([mean]), np.array([sd]), np.array([3.0]))
    assert z[0] == pytest.approx(3.0) and conf[0] == pytest.approx(0.5 * (1 + math.erf(3 / math.sqrt(2))))
    # the same mean and sd over 48 hours: se = 10/√48 bp, much closer to the plain t (2·√48 ≈ 13.9)
    z48, _ = skill_statistic(np.array([mean]), np.array([sd]), np.array([48.0]))
    se48 = 0.0010 / math.sqrt(48)
    assert z48[0] == pytest.approx(0.0020 / se48 * tau / math.sqrt(tau**2 + se48**2))
    assert z48[0] > 13.0
    # a negative edge is symmetric; one hour (or none) is no evidence; a constant series stays finite
    zn, cn = skill_statistic(np.array([-mean, mean, 0.001]), np.array([sd, 0.0, 0.0]), np.array([3.0, 1.0, 5.0]))
    assert zn[0] == pytest.approx(-3.0) and cn[0] == pytest.approx(1 - conf[0])
    assert zn[1] == 0.0 and cn[1] == 0.5
    assert np.isfinite(zn[2]) and cn[2] == pytest.approx(1.0)


def test_shrinkage_ranks_many_hours_above_a_lucky_few():
    # same observed mean edge (30 bp) and hourly sd (60 bp): 4 hours are weaker evidence than 40
    z, conf = skill_statistic(np.array([0.003, 0.003]), np.array([0.006, 0.006]), np.array([4.0, 40.0]))
    assert z[0] < z[1] and conf[0] < 0.9 < conf[1]


T0 = 1_767_571_200_000  # 2026-01-05 00:00 UTC
MIN = 60_000
HOUR = 3_600_000
A, B = "0x" + "a" * 40, "0x" + "b" * 40


def _market() -> duckdb.DuckDBPyConnection:
    """A buys from B at minute 1 (px 100) and minute 30 (px 100); mids 100 before each trade, 101 at
    minute 2, 102 at minute 20, 103 at minute 59; a one-second mid of 100.5 just after minute 1."""
    con = duckdb.connect()
    for t in RAW_TABLES:
        con.execute(t.ddl())
    for i, minute in enumerate((1, 30)):
        t = T0 + minute * MIN
        con.execute(
            "INSERT INTO trades VALUES ('BTC', 'B', 100.0, 1.0, 100.0, ?, make_timestamp(? * 1000), ?, ?, ?, ?,"
            " make_timestamp(? * 1000))", [t, t, i, "0x" + "0" * 64, A, B, t - t % HOUR])
    for t, mid in ((1 * MIN - 1, 100.0), (1 * MIN + 500, 100.5), (2 * MIN, 101.0), (20 * MIN, 102.0),
                   (30 * MIN - 1, 100.0), (59 * MIN, 103.0)):
        add_mid(con, T0 + t, mid)
    return con


def add_mid(con: duckdb.DuckDBPyConnection, t: int, mid: float) -> None:
    con.execute("INSERT INTO bbo VALUES ('BTC', ?, make_timestamp(? * 1000), ?, 1, 1, ?, 1, 1, ?,"
                " make_timestamp(? * 1000))", [t, t, mid - 0.01, mid + 0.01, mid, t - t % HOUR])


def _row(con, table: str, wallet: str) -> dict:
    return con.sql(f"SELECT * FROM {table} WHERE wallet = '{wallet}'").to_arrow_table().to_pylist()[0]


def test_markouts_edge_and_win_rate_by_hand():
    con = _market()
    end = T0 + HOUR
    build_wallet_features(con, end_ms=end)
    a, b = _row(con, "wallet_features", A), _row(con, "wallet_features", B)
    # 1 s after minute 1: 100.5; after minute 30: 100 (the mid at 30:00 − 1 ms) → mean (0.005 + 0) / 2
    assert a["markout_1s"] == pytest.approx(0.0025) and b["markout_1s"] == pytest.approx(-0.0025)
    # 1 min: 101 at 2:00 and 100 at 31:00 → (0.01 + 0) / 2
    assert a["markout_1m"] == pytest.approx(0.005)
    # 15 min: 101 at 16:00 and 100 at 45:00 (the 59:00 mid comes later) → (0.01 + 0) / 2
    assert a["markout_15m"] == pytest.approx(0.005)
    # 1 h: 61:00 and 90:00 lie after the window end (60:00): no mark-out, feature 0
    assert a["markout_1h"] == 0.0
    # marked to the last mid before the end (103): (3 + 3) / 200
    assert a["realized_edge"] == pytest.approx(0.03) and b["realized_edge"] == pytest.approx(-0.03)
    assert a["markout_win_rate"] == 0.5 and b["markout_win_rate"] == 0.0  # a zero mark-out is no win
    # one hour of observations: stability (1 + 1) / (1 + 2) for A, 1/3 for B; one hour is no evidence
    assert a["pnl_stability"] == pytest.approx(2 / 3) and b["pnl_stability"] == pytest.approx(1 / 3)
    assert a["skill_t"] == 0.0 and a["skill_confidence"] == 0.5


def test_features_never_read_prices_after_the_window_end():
    """Look-ahead guard: a price planted after the window end would move the 15 min and 1 h mark-outs
    and the realized edge if the build read it; the features of [start, end) must not change."""
    end = T0 + 40 * MIN  # the minute-30 trade's 15 min horizon (45:00) crosses the end
    con = _market()
    build_wallet_features(con, end_ms=end, table="before")
    add_mid(con, end, 500.0)  # the future-only signal: a 5× price right at the boundary, and later
    add_mid(con, end + 5 * MIN, 500.0)
    con.execute(  # and a later trade of A at the planted price
        "INSERT INTO trades VALUES ('BTC', 'B', 500.0, 1.0, 500.0, ?, make_timestamp(? * 1000), 9, ?, ?, ?,"
        " make_timestamp(? * 1000))", [end + MIN, end + MIN, "0x" + "0" * 64, A, B, end - end % HOUR])
    build_wallet_features(con, end_ms=end, table="after")
    diff = con.sql("SELECT count(*) FROM (SELECT * FROM before EXCEPT SELECT * FROM after)").fetchall()[0][0]
    assert diff == 0
    a = _row(con, "after", A)
    assert a["markout_15m"] == pytest.approx(0.01)  # only the minute-1 trade's horizon ends inside
    # without the end the planted prices do reach the features (so the test can fail)
    build_wallet_features(con, table="open")
    assert _row(con, "open", A)["markout_15m"] > 1.0  # the minute-30 buy now marks out at the planted 500
