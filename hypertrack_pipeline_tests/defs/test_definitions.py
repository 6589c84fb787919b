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


def test_analysis_sensor_runs_once_per_new_load_and_builds_everything_first():
    from hypertrack_pipeline.defs.automation import analysis_sensor

    with dg.instance_for_test() as instance:
        assert analysis_sensor(dg.build_sensor_context(instance=instance)).skip_message
        instance.report_runless_asset_event(dg.AssetMaterialization("fills"))
        first = analysis_sensor(dg.build_sensor_context(instance=instance))
        assert first.job_name == "materialize_all"  # no model yet: train it too
        ctx = dg.build_sensor_context(instance=instance, cursor=f"{_latest(instance):.6f}")
        assert analysis_sensor(ctx).skip_message  # nothing new since
        instance.report_runless_asset_event(dg.AssetMaterialization("wallet_model"))
        instance.report_runless_asset_event(dg.AssetMaterialization("fills"))
        later = analysis_sensor(dg.build_sensor_context(instance=instance, cursor=ctx.cursor))
        assert later.job_name == "analyze_wallets"


def _latest(instance: dg.DagsterInstance) -> float:
    return instance.get_latest_materialization_event(dg.AssetKey("fills")).timestamp


def test_dagster_dev_lists_assets_sensors_and_schedule(tmp_path):
    """`dagster dev` (what `make dev` runs) serves the project with its sensors and schedule."""
    import json
    import signal
    import socket
    import time
    import urllib.request

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "data" / "dagster_home" / "dagster.yaml").read_text())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DAGSTER_HOME": str(home), "HYPERTRACK_DATA_DIR": str(tmp_path / "data")}

    def reset_signals() -> None:  # a background job inherits ignored SIGINT/SIGTERM
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-m", "hypertrack_pipeline.definitions",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, preexec_fn=reset_signals,
    )
    query = ("{ repositoriesOrError { ... on RepositoryConnection { nodes { sensors { name } "
             "schedules { name } assetNodes { assetKey { path } } } } } }")
    try:
        deadline, data = time.monotonic() + 120, None
        while time.monotonic() < deadline and data is None:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql",
                                             data=json.dumps({"query": query}).encode(),
                                             headers={"content-type": "application/json"})
                body = json.loads(urllib.request.urlopen(req, timeout=5).read())
                nodes = body["data"]["repositoriesOrError"].get("nodes")
                data = nodes[0] if nodes else None
            except (OSError, KeyError, ValueError):
                time.sleep(1)
            assert proc.poll() is None, "dagster dev exited early"
        assert data, "dagster dev did not answer in time"
        assets = {"/".join(a["assetKey"]["path"]) for a in data["assetNodes"]}
        assert {"trades", "fills", "wallet_features", "wallet_model", "final_report", "wallet_dashboard"} <= assets
        assert {s["name"] for s in data["sensors"]} == {"landing_sensor", "analysis_sensor"}
        assert [s["name"] for s in data["schedules"]] == ["daily_retrain"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
