"""End to end on the simulator: landing → DuckDB → PnL equals the simulator's ground truth, and no
feature is constant on a realistic market."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from hypertrack_pipeline.landing.zone import closed_hours
from hypertrack_pipeline.warehouse import (
    build_wallet_features,
    build_wallet_pnl,
    check_candle_coverage,
    check_features_non_constant,
    check_fills_match_trades,
    load_hours,
)

simulator = pytest.importorskip("hypertrack_pipeline.simulator.writer")
market = pytest.importorskip("hypertrack_pipeline.simulator.market")


@pytest.fixture(scope="module")
def sim_db(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("sim")
    simulator.simulate(out, market.SimConfig(seed=3, wallets=80, days=0.3))
    con = duckdb.connect()
    load_hours(con, out / "raw", closed_hours(out / "raw"))
    build_wallet_pnl(con)
    build_wallet_features(con)
    yield con, out
    con.close()


def test_pnl_matches_ground_truth(sim_db) -> None:
    con, out = sim_db
    truth = Path(out) / "ground_truth" / "pnl.parquet"
    n, n_truth, bad = con.execute(f"""
        SELECT count(*), count(g.wallet),
               count(*) FILTER (WHERE abs(p.realized_pnl - g.realized_pnl) > 1e-6 * greatest(1, abs(g.realized_pnl))
                                   OR abs(p.unrealized_pnl - g.unrealized_pnl) > 1e-6 * greatest(1, abs(g.unrealized_pnl))
                                   OR abs(p.position - g.end_position) > 1e-9 * greatest(1, abs(g.end_position))
                                   OR p.wallet IS NULL OR g.wallet IS NULL)
        FROM wallet_positions p FULL JOIN read_parquet('{truth}') g USING (wallet, coin)""").fetchall()[0]
    assert n > 50 and n_truth == n
    assert bad == 0


def test_realistic_market_checks(sim_db) -> None:
    con, _ = sim_db
    ok, meta = check_features_non_constant(con)
    assert ok, meta["constant_features"]
    assert check_fills_match_trades(con)[0]
    assert check_candle_coverage(con)[0]


def test_sql_features_equal_the_python_reference(sim_db) -> None:
    from hypertrack_pipeline.feature_names import SPEC_FEATURE_NAMES as FEATURE_NAMES
    from hypertrack_pipeline.warehouse.reference import reference_features

    con, out = sim_db
    expected = reference_features(Path(out) / "raw")
    cur = con.execute("SELECT * FROM wallet_features")
    names = [d[0] for d in cur.description]
    got = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    assert set(got) == set(expected)
    mismatches = [(w, f, got[w][f], expected[w][f]) for w in got for f in FEATURE_NAMES
                  if got[w][f] != pytest.approx(expected[w][f], rel=1e-9, abs=1e-9)]
    assert not mismatches, mismatches[:5]
