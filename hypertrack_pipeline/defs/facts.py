"""What the Dagster instance, the landing zone and the warehouse hold, gathered for the plan
(:mod:`hypertrack_pipeline.plan`). The automation and the CLI both plan from these facts."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from hypertrack_pipeline.config import Settings
from hypertrack_pipeline.graph import RAW_ASSETS, plan_nodes
from hypertrack_pipeline.landing.zone import closed_hour_fingerprints
from hypertrack_pipeline.plan import Facts, Plan, plan, retrain_due

ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
          dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
DATA_VERSION = "dagster/data_version"


def latest_storage_ids(instance: dg.DagsterInstance, assets: list[str]) -> dict[str, int | None]:
    """asset → storage id of its latest materialization (any partition), None when never."""
    out: dict[str, int | None] = {}
    for name in assets:
        records = instance.fetch_materializations(dg.AssetKey(name), limit=1).records
        out[name] = records[0].storage_id if records else None
    return out


def loaded_hours(instance: dg.DagsterInstance, settings: Settings) -> dict[str, str]:
    """hour key → fingerprint the instance recorded when the hour was loaded ({} when the warehouse file
    is gone: then nothing is loaded, whatever the instance remembers)."""
    if not settings.warehouse_path.exists():
        return {}
    tags = instance.event_log_storage.get_latest_tags_by_partition(
        dg.AssetKey(RAW_ASSETS[0]), dg.DagsterEventType.ASSET_MATERIALIZATION, [DATA_VERSION])
    return {k: v.get(DATA_VERSION, "") for k, v in tags.items()}


def active_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE)))


def gather(instance: dg.DagsterInstance, settings: Settings, exclude_run: str | None = None) -> Facts:
    """Facts for the plan; ``exclude_run`` ignores one run (the sensor evaluating inside its own tick)."""
    nodes = plan_nodes()
    materialized = latest_storage_ids(instance, [n.name for n in nodes])
    model = instance.fetch_materializations(dg.AssetKey("wallet_model"), limit=1).records
    trained_at = datetime.fromtimestamp(model[0].timestamp, tz=UTC) if model else None
    busy = any(r.run_id != exclude_run for r in active_runs(instance))
    closed = {h.key: fp for h, fp in closed_hour_fingerprints(settings.landing_location).items()}
    return Facts(closed=closed, loaded=loaded_hours(instance, settings), materialized=materialized,
                 busy=busy, model_trained_at=trained_at)


def current_plan(instance: dg.DagsterInstance, settings: Settings, retrain: bool | None = None,
                 now: datetime | None = None, facts: Facts | None = None) -> Plan:
    """The plan for a data directory. ``retrain`` None: retrain when the daily tick is due (the
    automation); True/False: as the CLI was asked."""
    facts = facts or gather(instance, settings)
    if retrain is None:
        retrain = retrain_due(facts.model_trained_at, now or datetime.now(UTC), settings.retrain_at_utc)
    return plan(plan_nodes(), facts, retrain=retrain)
