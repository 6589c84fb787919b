"""deploy/ is what the README says: every YAML parses; the instance file of cluster mode (and Docker's, with
its launcher swapped where dagster-docker is absent) runs a real materialization against a real PostgreSQL
and the result is read back from there; the variables each piece needs are the same in every file."""

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml

from hypertrack_pipeline_tests.services import PostgresServer, postgres  # noqa: F401

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
PIPELINE_VARS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_S3",
                 "HYPERTRACK_LANDING_URL", "HYPERTRACK_PARTIALS_URL", "HYPERTRACK_DUCKDB_PATH",
                 "HYPERTRACK_WORKERS"}
PG_VARS = {"DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"}


PARTS = dg.StaticPartitionsDefinition(["2025-08-01-00", "2025-08-01-01"])


@dg.asset(partitions_def=PARTS)
def tiny_partial(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Stands in for a partition worker's output: enough to write runs, events and partition status."""
    return dg.MaterializeResult(metadata={"rows": len(context.partition_key)})


def _docs(path: Path) -> list:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def test_every_yaml_in_deploy_parses() -> None:
    files = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])
    assert {p.relative_to(DEPLOY).as_posix() for p in files} >= {
        "dagster.yaml", "docker/dagster.yaml", "docker/docker-compose.yaml", "docker/workspace.yaml",
        "helm/values.yaml", "helm/hypertrack-env.yaml"}
    for path in files:
        assert _docs(path), f"{path} is empty"
    assert (DEPLOY / "Dockerfile").is_file() and (DEPLOY / "README.md").is_file()


def test_the_variables_agree_across_docker_and_kubernetes() -> None:
    launcher = _docs(DEPLOY / "docker" / "dagster.yaml")[0]["run_launcher"]["config"]
    assert set(launcher["env_vars"]) == PG_VARS | PIPELINE_VARS
    compose = _docs(DEPLOY / "docker" / "docker-compose.yaml")[0]
    daemon_env = set(compose["services"]["daemon"]["environment"])
    assert daemon_env >= set(launcher["env_vars"])  # the launcher copies them from the daemon's environment
    assert launcher["network"] in {n.get("name") for n in compose["networks"].values()}
    k8s = {d["metadata"]["name"]: d for d in _docs(DEPLOY / "helm" / "hypertrack-env.yaml")}
    in_k8s = set(k8s["hypertrack-env"]["data"]) | set(k8s["hypertrack-s3"]["stringData"])
    assert in_k8s == PIPELINE_VARS
    values = _docs(DEPLOY / "helm" / "values.yaml")[0]
    assert values["runLauncher"]["type"] == "K8sRunLauncher" and values["postgresql"]["enabled"] is False
    assert "postgresql-password" in k8s[values["global"]["postgresqlSecretName"]]["stringData"]
    run_cfg = values["runLauncher"]["config"]["k8sRunLauncher"]
    deployment = values["dagster-user-deployments"]["deployments"][0]
    for refs in (run_cfg["envConfigMaps"], run_cfg["envSecrets"], deployment["envConfigMaps"], deployment["envSecrets"]):
        assert {r["name"] for r in refs} <= set(k8s)
    claim = deployment["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert k8s[claim]["kind"] == "PersistentVolumeClaim"
    # Dagster refuses run limits in the coordinator's config once a concurrency block exists
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queued["maxConcurrentRuns"] is None and not queued["tagConcurrencyLimits"]
    assert values["concurrency"]["runs"]["maxConcurrentRuns"] and values["concurrency"]["pools"]["defaultLimit"] == 1


@contextlib.contextmanager
def _database(pg: PostgresServer, name: str) -> Iterator[str]:
    """A fresh database on the shared server, so each instance starts from empty tables."""
    import psycopg2

    conn = psycopg2.connect(pg.dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cur.execute(f'CREATE DATABASE "{name}"')
        yield name
    finally:
        conn.close()


def _instance_from(config: dict, home: Path, pg: PostgresServer, db: str,
                   monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    for key, value in {**pg.dagster_env(), "DAGSTER_PG_DB": db}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return dg.DagsterInstance.get()


def _materialize_and_read_back(instance: dg.DagsterInstance, pg: PostgresServer, db: str) -> None:
    import psycopg2

    for key in PARTS.get_partition_keys():
        assert dg.materialize([tiny_partial], instance=instance, partition_key=key).success
    asset_key = dg.AssetKey("tiny_partial")
    assert instance.get_materialized_partitions(asset_key) == set(PARTS.get_partition_keys())
    latest = instance.get_latest_materialization_event(asset_key)
    assert latest.asset_materialization.metadata["rows"].value == 13
    assert len(instance.get_runs()) == 2
    with contextlib.closing(psycopg2.connect(pg.dsn.replace(f"dbname={pg.db}", f"dbname={db}"))) as conn:
        with conn.cursor() as cur:  # it is in PostgreSQL, not in a SQLite file next to dagster.yaml
            cur.execute("SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")
            assert cur.fetchone()[0] == 2
            cur.execute("SELECT count(*) FROM runs")
            assert cur.fetchone()[0] == 2


def test_deploy_dagster_yaml_works_against_postgres(postgres: PostgresServer, tmp_path: Path,  # noqa: F811
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("dagster_postgres")
    pytest.importorskip("psycopg2")
    from dagster._core.launcher import DefaultRunLauncher
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    config = _docs(DEPLOY / "dagster.yaml")[0]
    with _database(postgres, "deploy_instance") as db:
        instance = _instance_from(config, tmp_path / "home", postgres, db, monkeypatch)
        try:
            assert isinstance(instance.run_storage, PostgresRunStorage)
            assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
            assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
            assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
            assert isinstance(instance.run_launcher, DefaultRunLauncher)
            concurrency = instance.get_concurrency_config()
            assert concurrency.pool_config.default_pool_limit == 1
            assert concurrency.run_queue_config.max_concurrent_runs == 4
            _materialize_and_read_back(instance, postgres, db)
            assert not list((tmp_path / "home").rglob("*.db"))  # no SQLite storage on the side
        finally:
            instance.dispose()


def test_docker_dagster_yaml_works_against_postgres(postgres: PostgresServer, tmp_path: Path,  # noqa: F811
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("dagster_postgres")
    pytest.importorskip("psycopg2")
    config = _docs(DEPLOY / "docker" / "dagster.yaml")[0]
    if not _importable("dagster_docker"):
        # The launcher needs dagster-docker (installed in the image); the rest of the file is checked here.
        config["run_launcher"] = {"module": "dagster.core.launcher", "class": "DefaultRunLauncher"}
    with _database(postgres, "docker_instance") as db:
        instance = _instance_from(config, tmp_path / "home", postgres, db, monkeypatch)
        try:
            _materialize_and_read_back(instance, postgres, db)
        finally:
            instance.dispose()


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def test_every_hypertrack_variable_of_the_deployments_is_a_setting() -> None:
    """A name in deploy/ that config.py does not read would be silently ignored by every run."""
    config = (DEPLOY.parent / "hypertrack_pipeline" / "config.py").read_text()
    used = set()
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            used |= set(re.findall(r"HYPERTRACK_[A-Z_]+", path.read_text()))
    used -= {"HYPERTRACK_IMAGE_TAG"}  # the compose file's own variable (which image tag to run)
    assert used and all(f'"{name}"' in config for name in used), sorted(n for n in used if f'"{n}"' not in config)
