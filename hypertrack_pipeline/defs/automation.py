"""Jobs, sensors and the schedule: how new landing hours flow through the graph without a person.

- ``landing_sensor``: a run of ``load_landed_hours`` for every newly closed landing hour (cursor).
- ``analysis_sensor``: once raw loads have settled (none queued or running), refresh PnL, features,
  scores, categories, the report and the dashboard — a new hour is in the report minutes after it closes.
- ``daily_retrain``: retrains the model and rebuilds everything after it, once a day.
"""


import dagster as dg

from hypertrack_pipeline.defs.partitions import hourly_partitions
from hypertrack_pipeline.defs.raw import RAW_TABLES
from hypertrack_pipeline.defs.resources import HypertrackSettings
from hypertrack_pipeline.landing.cursor import plan_new_hours
from hypertrack_pipeline.landing.zone import closed_hours

RAW_SELECTION = dg.AssetSelection.assets(*RAW_TABLES)
ANALYSIS_SELECTION = (
    dg.AssetSelection.all() - RAW_SELECTION - dg.AssetSelection.assets("wallet_training_targets", "wallet_model")
)
RETRAIN_SELECTION = dg.AssetSelection.assets("wallet_model").downstream() | dg.AssetSelection.assets(
    "wallet_training_targets"
)

load_landed_hours = dg.define_asset_job(
    "load_landed_hours", selection=RAW_SELECTION, partitions_def=hourly_partitions,
    description="Load closed landing hours into the DuckDB raw tables.",
)
analyze_wallets = dg.define_asset_job(
    "analyze_wallets", selection=ANALYSIS_SELECTION,
    description="PnL, features, scores (latest model), categories, report, dashboard, snapshot.",
)
retrain_and_report = dg.define_asset_job(
    "retrain_and_report", selection=RETRAIN_SELECTION,
    description="Training targets, a new model version, and everything downstream of it.",
)
materialize_all = dg.define_asset_job(
    "materialize_all", selection=dg.AssetSelection.all() - RAW_SELECTION,
    description="Every unpartitioned asset (what `hypertrack materialize` runs after loading hours).",
)


@dg.sensor(job=load_landed_hours, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def landing_sensor(context: dg.SensorEvaluationContext, hypertrack: HypertrackSettings):
    """Request one run per newly closed landing hour; the cursor makes sure no hour runs twice."""
    settings = hypertrack.get()
    valid = set(hourly_partitions.get_partition_keys())
    ready = closed_hours(settings.raw_dir)
    new, cursor = plan_new_hours(ready, context.cursor)
    requests = [dg.RunRequest(run_key=h.key, partition_key=h.key) for h in new if h.key in valid]
    skipped = [h.key for h in new if h.key not in valid]
    if skipped:
        context.log.warning(f"{len(skipped)} closed hour(s) outside the partitions (start "
                            f"{settings.partitions_start}), e.g. {skipped[0]}: set HYPERTRACK_PARTITIONS_START")
    if not requests:
        return dg.SensorResult(skip_reason=f"no newly closed hours ({len(ready)} closed in all)", cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)


@dg.sensor(jobs=[analyze_wallets, materialize_all], minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING)
def analysis_sensor(context: dg.SensorEvaluationContext):
    """After new hours are loaded and no load is pending, refresh the wallet analysis once."""
    instance = context.instance
    event = instance.get_latest_materialization_event(dg.AssetKey("fills"))
    if event is None:
        return dg.SkipReason("no hour loaded yet")
    latest = f"{event.timestamp:.6f}"  # when fills last changed
    if context.cursor == latest:
        return dg.SkipReason("no new hours since the last analysis")
    pending = instance.get_runs(filters=dg.RunsFilter(
        job_name="load_landed_hours",
        statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
                  dg.DagsterRunStatus.STARTED],
    ), limit=1)
    if pending:
        return dg.SkipReason("waiting for pending hour loads to finish")
    if instance.get_latest_materialization_event(dg.AssetKey("wallet_model")) is None:
        context.update_cursor(latest)  # no model yet: build everything, training included
        return dg.RunRequest(run_key=f"all-{latest}", job_name="materialize_all")
    context.update_cursor(latest)
    return dg.RunRequest(run_key=f"analysis-{latest}", job_name="analyze_wallets")


daily_retrain = dg.ScheduleDefinition(
    name="daily_retrain", job=retrain_and_report, cron_schedule="15 3 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Retrain the model on all data at 03:15 UTC and republish the report and dashboard.",
)
