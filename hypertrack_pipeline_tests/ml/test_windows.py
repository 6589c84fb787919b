"""The training-window steps on a tiny real warehouse: the boundary, early features that never see
the later window, late PnL that never sees the earlier one, and every step of the training chain
running on a warehouse that holds only the tables it declares in ``reads``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from hypertrack_pipeline.catalog import Step, StepContext
from hypertrack_pipeline.config import Settings
from hypertrack_pipeline.datasets import RAW_TABLES
from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.feature_names import FEATURE_NAMES
from hypertrack_pipeline.ml import steps as ml_steps
from hypertrack_pipeline.ml import targets, windows
from hypertrack_pipeline.ml.windows import (
    EARLY_STEP,
    LATE_STEP,
    WINDOW_STEP,
    build_early_features,
    build_late_pnl,
    build_training_window,
    decide_window,
    read_window,
)
from hypertrack_pipeline.warehouse import build_wallet_features, build_wallet_pnl

T0 = 1_767_571_200_000  # 2026-01-05 00:00 UTC
MIN = 60_000
HOUR = 3_600_000
A, B, C, D, E = ("0x" + ch * 40 for ch in "abcde")
# (minute offset, buyer, seller, px, sz). Early: the first hour; late: two hours later.
# D trades only early, E only late (and E's fill is the planted one: A's big late buy from E).
EARLY_TRADES = [(1, A, B, 100.0, 1.0), (2, C, A, 101.0, 1.0), (3, D, B, 102.0, 0.5), (4, A, C, 100.5, 2.0)]
LATE_TRADES = [(121, B, A, 105.0, 1.0), (122, C, B, 104.0, 1.0), (123, A, E, 106.0, 10.0), (124, B, C, 107.0, 1.0)]
LAST_EARLY_MS = T0 + 4 * MIN
PLANTED_MS = T0 + 123 * MIN


def _insert_trades(con: duckdb.DuckDBPyConnection, trades: list[tuple]) -> None:
    for i, (minute, buyer, seller, px, sz) in enumerate(trades):
        t = T0 + minute * MIN
        con.execute(
            "INSERT INTO trades VALUES ('BTC', 'B', ?, ?, ?, ?, make_timestamp(? * 1000), ?, ?, ?, ?,"
            " make_timestamp(? * 1000))",
            [px, sz, px * sz, t, t, 1000 + i if minute > 60 else i, "0x" + "0" * 64, buyer, seller,
             t - t % HOUR],
        )
        # a BBO row just before each trade marks the coin (mid = trade px)
        con.execute("INSERT INTO bbo VALUES ('BTC', ?, make_timestamp(? * 1000), ?, 1, 1, ?, 1, 1, ?,"
                    " make_timestamp(? * 1000))", [t - 1, t - 1, px - 0.5, px + 0.5, px, t - t % HOUR])


@pytest.fixture
def raw_con() -> Iterator[duckdb.DuckDBPyConnection]:
    """Raw tables (from the dataset registry's DDL) holding the eight trades above."""
    con = duckdb.connect()
    for t in RAW_TABLES:
        con.execute(t.ddl())
    _insert_trades(con, EARLY_TRADES + LATE_TRADES)
    yield con
    con.close()


@pytest.fixture
def windowed(raw_con) -> duckdb.DuckDBPyConnection:
    build_training_window(raw_con, min_overlap_wallets=2, windows=2)
    return raw_con


def test_boundary_is_just_after_the_median_fill(raw_con):
    # 16 fills, 8 in each cluster: the lower median is the last early fill
    row = build_training_window(raw_con, min_overlap_wallets=2, windows=2)
    assert row["boundary_ms"] == LAST_EARLY_MS + 1 and row["boundaries_ms"] == [LAST_EARLY_MS + 1]
    assert row["folds"] == 1
    assert row["data_start_ms"] == T0 + MIN and row["data_end_ms"] == T0 + 124 * MIN
    assert row["overlap_wallets"] == 3 and row["rows"] == 3  # A, B, C; D only early, E only late
    assert row["profitability_window"] == "next" and row["feature_window"] == "early" and row["note"] is None
    assert row["feature_end_ms"] == row["target_start_ms"] == LAST_EARLY_MS + 1
    assert read_window(raw_con) == row
    cols = [r[0] for r in raw_con.sql("DESCRIBE wallet_training_window").fetchall()]
    assert tuple(cols) == windows.WINDOW_TABLE_DEF.column_names()


def test_window_falls_back_with_a_note(raw_con):
    row = build_training_window(raw_con, min_overlap_wallets=4, windows=2)
    assert row["boundary_ms"] == LAST_EARLY_MS + 1 and row["overlap_wallets"] == 3
    assert row["profitability_window"] == "same" and row["feature_window"] == "full"
    assert "only 3 wallets traded in both windows (< 4)" in row["note"]
    assert row["target_start_ms"] == row["data_start_ms"] and row["feature_end_ms"] == row["data_end_ms"]
    assert row["rows"] == 5  # every wallet with a fill
    # an explicit boundary outside the data does not split it
    outside = decide_window(raw_con, T0 + 10 * HOUR, min_overlap_wallets=2)
    assert outside["boundary_ms"] is None and "does not span" in outside["note"]


def test_no_fills_means_no_boundary_and_empty_window_tables():
    con = duckdb.connect()
    for t in RAW_TABLES:
        con.execute(t.ddl())
    row = build_training_window(con)
    assert row["boundary_ms"] is None and row["data_start_ms"] is None and row["profitability_window"] == "same"
    assert build_early_features(con)["rows"] == 0 and build_late_pnl(con)["rows"] == 0
    for table in (windows.EARLY_FEATURES_TABLE_DEF, windows.LATE_PNL_TABLE_DEF):
        cols = [r[0] for r in con.sql(f"DESCRIBE {table.name}").fetchall()]
        assert tuple(cols) == table.column_names()
    con.close()


def test_early_features_only_see_data_before_the_boundary(windowed):
    con = windowed
    boundary = read_window(con)["boundary_ms"]
    info = build_early_features(con)
    assert info["rows"] == 4 and info["boundary_ms"] == boundary  # A, B, C, D
    wallets = [r[0] for r in con.sql("SELECT wallet FROM wallet_features_early ORDER BY wallet").fetchall()]
    assert E not in wallets  # E's only fill is the planted late one
    assert con.sql(f"SELECT max(last_time_ms) < {boundary} FROM wallet_features_early").fetchall()[0][0]
    # A's early traded notional leaves out its planted 1060 USD late buy
    a_value = con.execute("SELECT total_value FROM wallet_features_early WHERE wallet = ?", [A]).fetchall()[0][0]
    assert a_value == pytest.approx(100.0 + 101.0 + 201.0)
    # exactly the feature build over [start, boundary)
    build_wallet_features(con, end_ms=boundary, table="ref_early")
    diff = con.sql("SELECT count(*) FROM (SELECT * EXCLUDE (fold) FROM wallet_features_early "
                   "EXCEPT SELECT * FROM ref_early)")
    assert diff.fetchall()[0][0] == 0
    cols = [r[0] for r in con.sql("DESCRIBE wallet_features_early").fetchall()]
    assert tuple(cols) == windows.EARLY_FEATURES_TABLE_DEF.column_names()


def test_late_pnl_only_sees_data_after_the_boundary(windowed):
    con = windowed
    boundary = read_window(con)["boundary_ms"]
    info = build_late_pnl(con)
    assert info["rows"] == 4 and info["window_start_ms"] == boundary
    late = dict(con.sql("SELECT wallet, notional FROM wallet_pnl_late").fetchall())
    assert sorted(late) == [A, B, C, E]  # D traded only early
    assert late[A] == pytest.approx(105.0 + 1060.0)  # none of A's early fills
    build_wallet_pnl(con, start_ms=boundary, prefix="ref_")
    diff = con.sql("SELECT count(*) FROM (SELECT * EXCLUDE (fold) FROM wallet_pnl_late "
                   "EXCEPT SELECT * FROM ref_wallet_pnl)")
    assert diff.fetchall()[0][0] == 0
    cols = [r[0] for r in con.sql("DESCRIBE wallet_pnl_late").fetchall()]
    assert tuple(cols) == windows.LATE_PNL_TABLE_DEF.column_names()
    # one table left behind: the PnL build's scratch tables are gone
    assert con.sql("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '_ht_late_%'"
                   ).fetchall()[0][0] == 0


def test_late_pnl_drops_its_scratch_tables_on_error(windowed, monkeypatch):
    def failing_build(con, start_ms=None, end_ms=None, prefix=""):
        con.execute(f"CREATE TABLE {prefix}wallet_positions AS SELECT 1 AS x")
        con.execute(f"CREATE TABLE {prefix}wallet_pnl AS SELECT 1 AS x")
        raise RuntimeError("boom")

    monkeypatch.setattr(windows, "build_wallet_pnl", failing_build)
    with pytest.raises(RuntimeError, match="boom"):
        build_late_pnl(windowed)
    assert windowed.sql("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '_ht_late_%'"
                        ).fetchall()[0][0] == 0


def test_window_steps_need_the_window_table(raw_con):
    with pytest.raises(UserError, match="wallet_training_window"):
        build_early_features(raw_con)
    with pytest.raises(UserError, match="wallet_training_window"):
        build_late_pnl(raw_con)


# --------------------------------------------------------------------------- steps vs their reads

TRAINING_STEPS: tuple[Step, ...] = (WINDOW_STEP, EARLY_STEP, LATE_STEP, targets.STEP, ml_steps.MODEL_STEP,
                                    ml_steps.SCORES_STEP)


def test_steps_are_declared_for_the_training_chain():
    assert [s.outputs for s in TRAINING_STEPS] == [
        ("wallet_training_window",), ("wallet_features_early",), ("wallet_pnl_late",),
        ("wallet_training_targets",), ("wallet_model",), ("wallet_scores",),
    ]
    for step in TRAINING_STEPS[:5]:
        assert step.training and step.group == "training"
    assert targets.STEP.reads == ("wallet_features", "wallet_pnl", "wallet_features_early", "wallet_pnl_late",
                                  "wallet_training_window")
    assert ml_steps.MODEL_STEP.kinds == ("pytorch",) and not ml_steps.MODEL_STEP.writes
    for step in TRAINING_STEPS:
        for table in step.writes:
            assert all(c.type and c.doc for c in table.columns), table.name
    assert len(targets.TARGETS_TABLE_DEF.columns) == 1 + 6 + 5 + 2 + len(FEATURE_NAMES) + 3


def _only(source: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> duckdb.DuckDBPyConnection:
    """A fresh warehouse holding copies of ``tables`` (views materialized) and nothing else."""
    con = duckdb.connect()
    for name in tables:
        con.register("_copy", source.sql(f"SELECT * FROM {name}").to_arrow_table())
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _copy")
        con.unregister("_copy")
    return con


def test_each_step_runs_on_a_warehouse_holding_only_its_reads(raw_con, tmp_path: Path):
    settings = Settings(data_dir=tmp_path, warehouse_path=tmp_path / "warehouse.duckdb")
    ctx = StepContext(settings=settings, log=lambda _msg: None, options={"min_overlap_wallets": 2, "epochs": 2,
                                                                               "walk_forward_windows": 2})
    build_wallet_pnl(raw_con)
    build_wallet_features(raw_con)
    metas: dict[str, dict] = {}
    for step in TRAINING_STEPS:
        con = _only(raw_con, tuple(r for r in step.reads if r != ml_steps.MODEL_ASSET))
        try:
            meta = step.run(con, ctx)
            for table in step.writes:
                cols = [r[0] for r in con.sql(f"DESCRIBE {table.name}").fetchall()]
                assert tuple(cols) == table.column_names(), step.name
                # hand the output on to the full warehouse for the steps downstream
                raw_con.register("_out", con.sql(f"SELECT * FROM {table.name}").to_arrow_table())
                raw_con.execute(f"CREATE OR REPLACE TABLE {table.name} AS SELECT * FROM _out")
                raw_con.unregister("_out")
        finally:
            con.close()
        assert isinstance(meta, dict) and meta, step.name
        metas[step.name] = dict(meta)
    model = metas["wallet_model"]
    assert model["version"] == "v0001" and Path(model["checkpoint"]).is_dir() and model["epochs"] >= 1
    assert model["profitability_window"] == "next" and "heads.risk.mse" in model
    scores = metas["wallet_scores"]
    assert scores["rows"] == 5 and scores["model_version"] == "v0001"  # every wallet of wallet_features
    assert raw_con.sql("SELECT count(*) FROM wallet_training_targets").fetchall()[0][0] == 3
    window = read_window(raw_con)
    assert window["profitability_window"] == "next" and window["boundary_ms"] == LAST_EARLY_MS + 1


def test_walk_forward_folds_roll_over_consecutive_windows(raw_con):
    """Default split: windows of equal fill counts; fold k = features of window k → PnL of window k + 1,
    and neither table of a fold reads outside its window."""
    row = build_training_window(raw_con, min_overlap_wallets=1, windows=4)
    cuts = row["boundaries_ms"]
    assert row["profitability_window"] == "next" and row["folds"] == len(cuts) >= 2
    assert cuts == sorted(set(cuts)) and all(row["data_start_ms"] < c <= row["data_end_ms"] for c in cuts)
    assert row["boundary_ms"] == cuts[-1] and row["target_start_ms"] == cuts[0]
    folds = windows.fold_windows(row)
    assert [f[0] for f in folds] == list(range(len(cuts)))
    for k, f_start, f_end, t_start, t_end in folds:
        assert f_end == t_start == cuts[k]
        assert f_start == (None if k == 0 else cuts[k - 1]) and t_end == (cuts[k + 1] if k + 1 < len(cuts) else None)
    build_early_features(raw_con)
    build_late_pnl(raw_con)
    for k, f_start, f_end, t_start, t_end in folds:
        lo, hi = raw_con.execute(f"SELECT min(first_time_ms), max(last_time_ms) FROM wallet_features_early "
                                 f"WHERE fold = {k}").fetchall()[0]
        assert hi < f_end and (f_start is None or lo >= f_start)
        # the fold's late PnL is exactly the PnL build over its target window
        build_wallet_pnl(raw_con, start_ms=t_start, end_ms=t_end, prefix="ref_")
        diff = raw_con.sql(f"SELECT count(*) FROM (SELECT * EXCLUDE (fold) FROM wallet_pnl_late WHERE fold = {k} "
                           "EXCEPT SELECT * FROM ref_wallet_pnl)").fetchall()[0][0]
        assert diff == 0


def test_training_rows_never_include_the_test_fold_or_test_wallets():
    import numpy as np
    import pyarrow as pa

    from hypertrack_pipeline.ml.pipeline import _walk_forward_labels

    data = pa.table({"fold": [0, 0, 0, 1, 1, 1, 2, 2, 2], "split": ["train", "val", "test"] * 3,
                     "profitability_window": ["next"] * 9})
    labels, fold, last = _walk_forward_labels(data)
    assert last == 2
    assert labels.tolist() == ["train", "val", "unused", "train", "val", "unused", "unused", "unused", "test"]
    assert not np.any((labels == "train") & (fold == last))
    # same-window fallback: the hash split alone
    same = data.set_column(2, "profitability_window", pa.array(["same"] * 9))
    assert _walk_forward_labels(same)[0].tolist() == ["train", "val", "test"] * 3
