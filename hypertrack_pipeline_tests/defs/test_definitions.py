"""The Dagster layer loads, validates, and its landing sensor requests each closed hour once."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pyarrow as pa

from hypertrack_pipeline.config import load_settings
from hypertrack_pipeline.definitions import build_definitions
from hypertrack_pipeline.defs.automation import landing_sensor
from hypertrack_pipeline.defs.resources import HypertrackSettings
from hypertrack_pipeline.landing.zone import Hour, mark_closed, write_part

REPO = Path(__file__).resolve().parents[2]
H0 = Hour(datetime(2026, 1, 5, 13, tzinfo=UTC))


def test_definitions_validate_in_a_fresh_process(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "HYPERTRACK_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "hypertrack_pipeline.definitions"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validation successful" in proc.stdout + proc.stderr


def test_graph_has_every_stage():
    defs = build_definitions(load_settings("unused"))
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    for name in ["trades", "fills", "bbo", "l2_snapshots", "candles", "evm_blocks", "evm_transactions",
                 "evm_token_transfers", "gaps", "wallet_positions", "wallet_pnl", "wallet_features",
                 "wallet_training_targets", "wallet_model", "wallet_scores", "wallet_categories",
                 "final_report", "wallet_dashboard", "warehouse_snapshot"]:
        assert name in keys
    assert {s.name for s in defs.sensors} == {"landing_sensor", "analysis_sensor"}
    assert [s.name for s in defs.schedules] == ["daily_retrain"]
    # every warehouse-touching asset is in the single-writer pool
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.pools == {"duckdb_warehouse"}, key


def _land_hour(raw: Path, hour: Hour) -> None:
    t = pa.table({
        "coin": ["BTC"], "side": ["B"], "px": [100.0], "sz": [1.0], "time": [hour.start_ms + 5],
        "tid": [1], "hash": ["0x" + "0" * 64], "buyer": ["0x" + "a" * 40], "seller": ["0x" + "b" * 40],
        "recv_ns": [0],
    })
    write_part(raw, "trades", hour, t)
    mark_closed(raw, "trades", hour)


def test_landing_sensor_requests_a_new_hour_once(tmp_path):
    raw = tmp_path / "raw"
    _land_hour(raw, H0)
    (raw / "trades" / H0.next().rel_dir()).mkdir(parents=True)  # next hour: open, not requested
    resources = {"hypertrack": HypertrackSettings(data_dir=str(tmp_path))}
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources=resources)
        result = landing_sensor(ctx)
        assert [r.partition_key for r in result.run_requests] == [H0.key]
        cursor = result.cursor
        again = landing_sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))
        assert not again.run_requests
        mark_closed(raw, "trades", H0.next(), rows=0)
        third = landing_sensor(dg.build_sensor_context(instance=instance, cursor=again.cursor,
                                                       resources=resources))
        assert [r.partition_key for r in third.run_requests] == [H0.next().key]
