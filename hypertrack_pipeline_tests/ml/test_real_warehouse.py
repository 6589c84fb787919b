"""The ML stage on the real chain: simulator landing zone → warehouse loading, PnL and features
(the early/late window steps) → targets → training → scores. Small and fast, not a quality test."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from hypertrack_pipeline.feature_names import FEATURE_NAMES
from hypertrack_pipeline.landing.zone import closed_hours
from hypertrack_pipeline.ml import (
    build_early_features,
    build_late_pnl,
    build_training_targets,
    build_training_window,
    score_wallets,
    train_from_warehouse,
)
from hypertrack_pipeline.ml.training import TrainConfig
from hypertrack_pipeline.simulator import SimConfig, simulate
from hypertrack_pipeline.warehouse import build_wallet_features, build_wallet_pnl, load_hours


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    simulate(out, SimConfig(wallets=80, days=0.25, coins=3, streams=("trades", "bbo", "candles")), force=True)
    con = duckdb.connect()
    load_hours(con, out / "raw", closed_hours(out / "raw"))
    build_wallet_pnl(con)
    build_wallet_features(con)
    yield con
    con.close()


def test_point_in_time_targets_train_and_score(warehouse, tmp_path):
    con = warehouse
    build_training_window(con, min_overlap_wallets=20, windows=2)
    build_early_features(con)
    build_late_pnl(con)
    meta = build_training_targets(con)
    assert meta["profitability_window"] == "next" and meta["rows"] >= 20
    boundary = meta["boundary_ms"]
    # training inputs are the early window's features: the early table, never the full one
    cols = ", ".join(f't."{c}" = e."{c}"' for c in FEATURE_NAMES)
    same = con.sql(
        f"SELECT bool_and({cols.replace(', ', ' AND ')}), count(*) FROM wallet_training_targets t "
        "JOIN wallet_features_early e USING (fold, wallet)"
    ).fetchall()[0]
    assert same == (True, meta["rows"])
    # every training wallet traded in both windows; features stop at the boundary
    late = con.sql(
        "SELECT count(*) FROM wallet_training_targets t JOIN wallet_pnl_late p USING (wallet) WHERE p.notional > 0"
    ).fetchall()[0][0]
    assert late == meta["rows"]
    assert con.sql(f"SELECT max(last_time_ms) < {boundary} FROM wallet_features_early").fetchall()[0][0]
    # the same wallets' targets come from PnL after the boundary
    t = con.sql("SELECT t.next_total_pnl, p.total_pnl FROM wallet_training_targets t "
                "JOIN wallet_pnl_late p USING (wallet)").fetchnumpy()
    np.testing.assert_allclose(t["next_total_pnl"], t["total_pnl"])

    result = train_from_warehouse(con, tmp_path, TrainConfig(epochs=3))
    assert result["version"] == "v0001" and result["metrics"]["profitability_window"] == "next"
    summary = score_wallets(con, tmp_path)
    n_features = con.sql("SELECT count(*) FROM wallet_features").fetchall()[0][0]
    assert summary["rows"] == n_features > 0
