"""Cluster mode end to end, on real servers: the Dagster instance in PostgreSQL (deploy/dagster.yaml), the
landing zone and the feature partials on an S3 endpoint (moto's server), the partials computed by two
separate worker processes that read the landing zone themselves — and the warehouse it builds is the
one the single-machine default builds from the same landing data."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from hypertrack_pipeline import objectstore
from hypertrack_pipeline.config import load_settings
from hypertrack_pipeline.defs.runner import instance_for, materialize
from hypertrack_pipeline.simulator import SimConfig, simulate
from hypertrack_pipeline.warehouse.schema import wallet_features_columns
from hypertrack_pipeline_tests.services import postgres_server

pytest.importorskip("moto")
pytest.importorskip("s3fs")
pytest.importorskip("dagster_postgres")

from hypertrack_pipeline_tests.archive.s3server import s3_server  # noqa: E402  (needs moto)

REPO = Path(__file__).resolve().parents[1]
BUCKET = "hypertrack-cluster"
# Tables compared row for row (floats to REL of their magnitude: parallel sums differ in the last bits). The
# model's outputs are not: training is not bit-reproducible between processes, in either mode.
COMPARED = ("trades", "bbo", "l2_snapshots", "candles", "evm_transactions", "evm_token_transfers", "gaps",
            "wallet_positions", "wallet_pnl", "wallet_pnl_hourly", "wallet_features")
REL = 1e-9


def _table_diff(a: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int, int]:
    """(rows here, rows there, rows that differ) between the attached warehouses ``one`` and ``two``."""
    types = dict(a.execute(f"SELECT column_name, column_type FROM (DESCRIBE one.{table})").fetchall())
    cols = list(types)
    keys = [c for c in cols if types[c] not in ("DOUBLE", "FLOAT")]
    floats = [c for c in cols if c not in keys]
    on = " AND ".join(f"x.{k} IS NOT DISTINCT FROM y.{k}" for k in keys)
    differs = " OR ".join(f"abs(coalesce(x.{c}, 0) - coalesce(y.{c}, 0)) > {REL} * greatest(1e-6, abs(x.{c}), abs(y.{c}))"
                          f" OR (x.{c} IS NULL) <> (y.{c} IS NULL)" for c in floats) or "FALSE"
    n1, n2 = (a.execute(f"SELECT count(*) FROM {db}.{table}").fetchall()[0][0] for db in ("one", "two"))
    joined = a.execute(f"""SELECT count(*), count(*) FILTER (WHERE {differs})
                           FROM one.{table} x JOIN two.{table} y ON {on}""").fetchall()[0]
    return n1, n2, (max(n1, n2) - joined[0]) + joined[1]


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("cluster_sim")
    simulate(data, SimConfig(seed=7, wallets=40, days=1.1, coins=2, prehistory_days=0))
    return data / "raw"


def test_cluster_mode_builds_the_single_machine_warehouse(landing: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    single = load_settings(tmp_path / "single")
    shutil.copytree(landing, single.raw_dir)
    assert materialize(single, say=lambda _m: None).downstream_ran

    with postgres_server() as pg, s3_server() as s3:
        for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": s3.url,
                            "DAGSTER_PG_HOST": pg.host, "DAGSTER_PG_PORT": str(pg.port), "DAGSTER_PG_USER": pg.user,
                            "DAGSTER_PG_PASSWORD": pg.password, "DAGSTER_PG_DB": pg.db,
                            "HYPERTRACK_LANDING_URL": f"s3://{BUCKET}/raw",
                            "HYPERTRACK_PARTIALS_URL": f"s3://{BUCKET}/partials",
                            "HYPERTRACK_WORKERS": "2"}.items():
            monkeypatch.setenv(name, value)
        fs = objectstore.filesystem(f"s3://{BUCKET}")
        fs.mkdir(BUCKET)
        fs.put(str(landing) + "/", f"{BUCKET}/raw/", recursive=True)

        cluster = load_settings(tmp_path / "cluster")
        assert cluster.workers == 2 and cluster.landing_location.startswith("s3://")
        home = cluster.data_dir / "dagster_home"
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text((REPO / "deploy" / "dagster.yaml").read_text())
        summary = materialize(cluster, say=lambda _m: None)
        assert summary.downstream_ran and not cluster.raw_dir.exists()  # the landing zone is only on S3

        instance = instance_for(cluster)
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        runs = instance.get_runs()
        assert len(runs) >= 2 and all(r.status.value == "SUCCESS" for r in runs)
        units = objectstore.glob(f"s3://{BUCKET}/partials/units/*.json")
        assert len(units) >= 3  # a whole day and the hours after it, computed by the workers
        instance.dispose()

    con = duckdb.connect()
    con.execute(f"ATTACH '{single.warehouse_path}' AS one (READ_ONLY)")
    con.execute(f"ATTACH '{cluster.warehouse_path}' AS two (READ_ONLY)")
    diffs = {t: _table_diff(con, t) for t in COMPARED}
    assert all(n1 == n2 and bad == 0 for n1, n2, bad in diffs.values()), diffs
    assert all(diffs[t][0] > 0 for t in COMPARED if t != "gaps"), diffs
    assert len(wallet_features_columns()) == len(con.execute("DESCRIBE two.wallet_features").fetchall())
