"""The Dagster layer loads (`dg check defs`, `dg dev`) and is derived from the domain declarations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from hypertrack_pipeline.config import load_settings
from hypertrack_pipeline.definitions import build_definitions

REPO = Path(__file__).resolve().parents[2]


def test_dg_check_defs_passes_in_a_fresh_process(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "HYPERTRACK_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run([str(Path(sys.executable).with_name("dg")), "check", "defs"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All definitions loaded successfully" in proc.stdout + proc.stderr


def test_graph_has_every_stage_and_derives_it_from_the_declarations():
    from hypertrack_pipeline.graph import STEPS, all_tables

    defs = build_definitions(load_settings("unused"))
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {t.name for t in all_tables() if not t.internal} | {s.asset for s in STEPS if s.asset}
    assert {s.name for s in defs.sensors} == {"landing_sensor", "refresh_automation", "alert_webhook"}
    assert not list(defs.schedules)  # the daily retrain is part of the plan, not a schedule that can pile on
    for step in STEPS:  # deps are exactly the step's declared reads
        for out in step.outputs:
            parents = {k.to_user_string() for k in graph.get(dg.AssetKey(out)).parent_keys}
            assert parents == set(step.reads), out
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.pools == {"duckdb_warehouse"}, key  # the single-writer pool
        if node.partitions_def is None:
            assert node.automation_condition is not None
            assert any(c.name == "planned_refresh" for c in node.automation_condition.children), key


def test_every_table_asset_reports_its_declared_column_schema():
    from hypertrack_pipeline.graph import table

    defs = build_definitions(load_settings("unused"))
    for spec in defs.resolve_all_asset_specs():
        schema = spec.metadata.get("dagster/column_schema")
        name = spec.key.to_user_string()
        if schema is None:
            assert name in {"wallet_model", "final_report", "wallet_dashboard", "warehouse_snapshot",
                            "tracked_wallets"}, name
            continue
        assert [c.name for c in schema.columns] == list(table(name).column_names()), name


def test_dg_dev_lists_assets_and_sensors(tmp_path):
    """`dg dev` (what `make dev` runs) serves the project with its sensors."""
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
        [str(Path(sys.executable).with_name("dg")), "dev", "-h", "127.0.0.1", "-p", str(port)],
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
        assert {s["name"] for s in data["sensors"]} == {"landing_sensor", "refresh_automation", "alert_webhook"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_the_packaged_instance_config_is_the_one_make_dev_uses():
    """A data directory made by the CLI gets the same pools and run monitoring as `make dev`'s instance."""
    from hypertrack_pipeline.defs.runner import INSTANCE_YAML

    assert INSTANCE_YAML.read_text() == (REPO / "data" / "dagster_home" / "dagster.yaml").read_text()
    assert "default_limit: 1" in INSTANCE_YAML.read_text() and "run_monitoring" in INSTANCE_YAML.read_text()
