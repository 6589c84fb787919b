"""End to end on a synthetic warehouse: targets → training → checkpoint → scores → A/B comparison."""

from __future__ import annotations

import numpy as np
import pytest

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.ml.checkpoints import list_versions
from hypertrack_pipeline.ml.metrics import metrics_metadata
from hypertrack_pipeline.ml.pipeline import (
    compare_versions,
    compare_versions_on_warehouse,
    read_feature_matrix,
    score_wallets,
    train_from_warehouse,
)
from hypertrack_pipeline.ml.targets import build_training_targets
from hypertrack_pipeline.ml.training import TrainConfig

from .conftest import build_fake_training_inputs

SCORE_COLS = [f"style_{j}" for j in range(6)] + [
    "risk_score", "profitability_score", "bot_probability", "influence_score", "sophistication_score",
]


def test_train_score_and_compare(synthetic_warehouse, tmp_path):
    con, _skill = synthetic_warehouse
    build_fake_training_inputs(con)
    meta = build_training_targets(con)
    assert meta["profitability_window"] == "next" and meta["rows"] == 600

    first = train_from_warehouse(con, tmp_path, TrainConfig(epochs=12, seed=0))
    m = first["metrics"]
    assert first["version"] == "v0001"
    assert m["all_heads_beat_baseline"], {h: v["skill"] for h, v in m["heads"].items()}
    # the planted skill drives early slippage and late PnL: the score must rank next-window PnL
    assert m["spearman_profitability_next_pnl"] >= 0.3
    assert m["spearman_profitability_next_total_pnl"] > 0
    assert m["evaluated_on"] == "test" and m["wallets_test"] > 50 and m["profitability_window"] == "next"
    assert all(isinstance(v, float | str) for v in metrics_metadata(m).values())

    summary = score_wallets(con, tmp_path)
    assert summary == {**summary, "rows": 600, "model_version": "v0001"}
    cols = [r[0] for r in con.sql("DESCRIBE wallet_scores").fetchall()]
    assert cols == ["wallet", *SCORE_COLS, "model_version"]
    lo_hi = con.sql(
        "SELECT min(least(style_0, style_1, style_2, style_3, style_4, style_5)),"
        " max(greatest(style_0, style_1, style_2, style_3, style_4, style_5)),"
        " min(least(risk_score, profitability_score, bot_probability, sophistication_score)),"
        " max(greatest(risk_score, profitability_score, bot_probability, sophistication_score)),"
        " min(influence_score), count(DISTINCT wallet) FROM wallet_scores"
    ).fetchall()[0]
    assert lo_hi[0] >= -1 and lo_hi[1] <= 1 and lo_hi[2] >= 0 and lo_hi[3] <= 1 and lo_hi[4] >= 0
    assert lo_hi[5] == 600

    second = train_from_warehouse(con, tmp_path, TrainConfig(epochs=3, seed=7, batch_size=64))
    assert second["version"] == "v0002" and list_versions(tmp_path) == ["v0001", "v0002"]
    assert second["metrics"]["batch_size"] == 64
    score_wallets(con, tmp_path)
    assert con.sql("SELECT DISTINCT model_version FROM wallet_scores").fetchall() == [("v0002",)]
    score_wallets(con, tmp_path, version="v0001")  # an older version stays usable
    assert con.sql("SELECT DISTINCT model_version FROM wallet_scores").fetchall() == [("v0001",)]

    _, x = read_feature_matrix(con)
    same = compare_versions(tmp_path, "v0001", "v0001", x)
    assert same["heads"]["risk"]["mean_abs_diff"] == 0.0
    assert same["heads"]["risk"]["rank_agreement"] == pytest.approx(1.0)
    ab = compare_versions_on_warehouse(con, tmp_path, "v0001", "v0002")
    assert ab["wallets"] == 600 and ab["heads"]["bot"]["mean_abs_diff"] > 0
    # the longer-trained v0001 fits the training targets better than the 3-epoch v0002
    assert ab["on_training_wallets"]["sophistication"]["better"] == "v0001"
    with pytest.raises(UserError):
        compare_versions(tmp_path, "v0001", "v0042", x)


def test_training_and_scoring_need_their_inputs(con, tmp_path):
    with pytest.raises(UserError, match="no trained model"):
        score_wallets(con, tmp_path)
    with pytest.raises(UserError, match="build wallet_training_targets first"):  # no hidden rebuild
        train_from_warehouse(con, tmp_path, TrainConfig(epochs=1))
    con.execute("CREATE TABLE wallet_training_targets (wallet VARCHAR, fold BIGINT)")
    with pytest.raises(UserError, match="too few"):
        train_from_warehouse(con, tmp_path, TrainConfig(epochs=1))


def test_scoring_an_empty_feature_table_writes_an_empty_score_table(synthetic_warehouse, tmp_path):
    con, _ = synthetic_warehouse
    build_fake_training_inputs(con)
    build_training_targets(con)
    train_from_warehouse(con, tmp_path, TrainConfig(epochs=1))
    con.execute("DELETE FROM wallet_features")
    assert score_wallets(con, tmp_path)["rows"] == 0
    assert con.sql("SELECT count(*) FROM wallet_scores").fetchall() == [(0,)]


def test_feature_matrix_reads_nulls_as_zero(con):
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('0xb', 2.0, NULL), ('0xa', NULL, 3.0)) v(wallet, x, y)")
    wallets, m = read_feature_matrix(con, "t", ("x", "y"))
    assert wallets.tolist() == ["0xa", "0xb"]
    np.testing.assert_array_equal(m, [[0.0, 3.0], [2.0, 0.0]])
