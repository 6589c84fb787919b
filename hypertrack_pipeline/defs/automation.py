"""How new landing hours flow through the graph without a person, decided by the one plan
(:mod:`hypertrack_pipeline.plan`, the same code `hypertrack materialize` runs):

- ``landing_sensor`` adds a partition for every newly closed hour and requests ONE run of
  ``load_landed_hours`` for them (a reopened hour, whose markers changed, is loaded again);
- every other asset carries the ``planned_refresh`` automation condition, evaluated by the
  ``refresh_automation`` sensor: once the warehouse holds every closed hour and no run is queued or
  running, the assets that are missing or older than their inputs — and everything downstream — are
  requested together, in one run. Scoring uses the current model; the retrain chain (windows, targets,
  model) joins only when the daily retrain tick (HYPERTRACK_RETRAIN_AT, 03:15 UTC) has passed since the
  model was trained, so a retrain never piles onto a running load and never runs every hour.
"""

from __future__ import annotations

import threading

import dagster as dg

from hypertrack_pipeline.config import load_settings
from hypertrack_pipeline.defs.facts import current_plan
from hypertrack_pipeline.defs.partitions import add_hours, key_ranges, landing_hours
from hypertrack_pipeline.defs.resources import HypertrackSettings
from hypertrack_pipeline.graph import RAW_ASSETS
from hypertrack_pipeline.plan import Plan

RAW_SELECTION = dg.AssetSelection.assets(*RAW_ASSETS)
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"

load_landed_hours = dg.define_asset_job(
    "load_landed_hours", selection=RAW_SELECTION, partitions_def=landing_hours,
    description="Load closed landing hours into the DuckDB raw tables (a range of hours in one run).",
)


class PlannedRefresh(dg.AutomationCondition):
    """True for an asset the plan wants rebuilt now (missing, older than an input, or downstream of one;
    see :func:`hypertrack_pipeline.plan.plan`). State-based: a run that died leaves its assets stale,
    and they are requested again once nothing is running."""

    _cache: dict[object, Plan] = {}
    _lock = threading.Lock()

    @property
    def name(self) -> str:
        return "planned_refresh"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:  # type: ignore[override]
        tick = (id(context.root_context), context.evaluation_time)
        with self._lock:
            if tick not in self._cache:
                self._cache.clear()
                self._cache[tick] = current_plan(context.asset_graph_view.instance, load_settings(),
                                                 now=context.evaluation_time)
            wanted = context.key.to_user_string() in self._cache[tick].refresh
        subset = context.candidate_subset if wanted else context.get_empty_subset()
        return dg.AutomationResult(context=context, true_subset=subset)


def planned_refresh() -> dg.AutomationCondition:
    """The plan's answer, except for an asset whose latest run failed: it is retried when an input
    changes (a new hour), not on every tick (a step that always fails must not launch a run every 30 s;
    `hypertrack materialize` or the UI retry it at once)."""
    retry = ~dg.AutomationCondition.execution_failed() | dg.AutomationCondition.any_deps_updated()
    return PlannedRefresh() & retry.with_label("not failed since its inputs changed")


@dg.sensor(job=load_landed_hours, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def landing_sensor(context: dg.SensorEvaluationContext, hypertrack: HypertrackSettings) -> dg.SensorResult | dg.SkipReason:
    """Request one load run for the closed hours the warehouse does not hold in their current version."""
    p = current_plan(context.instance, hypertrack.get())
    if not p.load:
        return dg.SkipReason(p.reason)
    add_hours(context.instance, p.load)
    ordered = list(context.instance.get_dynamic_partitions(landing_hours.name))
    requests = [dg.RunRequest(run_key=f"load:{a}:{b}:{len(p.load)}", tags={RANGE_START: a, RANGE_END: b})
                for a, b in key_ranges(p.load, ordered)]
    return dg.SensorResult(run_requests=requests)


refresh_automation = dg.AutomationConditionSensorDefinition(
    "refresh_automation", target=dg.AssetSelection.all() - RAW_SELECTION, use_user_code_server=True,
    minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
    description="Rebuilds the assets the plan marks stale, in one run, once every closed hour is loaded.",
)
