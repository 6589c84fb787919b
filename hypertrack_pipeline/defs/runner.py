"""Run the asset graph in-process for one data directory (what `hypertrack materialize` and
`hypertrack demo` do): load every closed landing hour not loaded yet, then the downstream assets.

Runs are recorded in the data directory's persistent Dagster instance, so `dagster dev` shows them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from hypertrack_pipeline.config import Settings
from hypertrack_pipeline.errors import RunFailed
from hypertrack_pipeline.landing.zone import Hour, closed_hours

INSTANCE_YAML = Path(__file__).resolve().parents[2] / "data" / "dagster_home" / "dagster.yaml"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class MaterializeSummary:
    hours_loaded: list[str] = field(default_factory=list)
    hours_skipped: list[str] = field(default_factory=list)  # closed but outside the partitions
    downstream_ran: bool = False


def instance_for(settings: Settings) -> dg.DagsterInstance:
    """The persistent instance under <data_dir>/dagster_home (created with our dagster.yaml)."""
    home = (settings.data_dir / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    yaml = home / "dagster.yaml"
    if not yaml.exists() and INSTANCE_YAML.exists():
        yaml.write_text(INSTANCE_YAML.read_text())
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def contiguous_ranges(hours: list[Hour]) -> list[tuple[Hour, Hour]]:
    """Group sorted hours into runs of consecutive hours (each range loads in one process)."""
    ranges: list[tuple[Hour, Hour]] = []
    for h in sorted(hours):
        if ranges and ranges[-1][1].next() == h:
            ranges[-1] = (ranges[-1][0], h)
        else:
            ranges.append((h, h))
    return ranges


def materialize(
    settings: Settings, force_downstream: bool = False, say: Callable[[str], None] = print
) -> MaterializeSummary:
    from hypertrack_pipeline.definitions import build_definitions
    from hypertrack_pipeline.defs.partitions import hourly_partitions

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    instance = instance_for(settings)
    defs = build_definitions(settings)
    summary = MaterializeSummary()
    valid = set(hourly_partitions.get_partition_keys())
    ready = closed_hours(settings.raw_dir)
    summary.hours_skipped = [h.key for h in ready if h.key not in valid]
    done = instance.get_materialized_partitions(dg.AssetKey("fills"))
    todo = [h for h in ready if h.key in valid and h.key not in done]
    say(f"landing zone {settings.raw_dir}: {len(ready)} closed hour(s), {len(todo)} new")
    load_job = defs.resolve_job_def("load_landed_hours")
    for first, last in contiguous_ranges(todo):
        label = first.key if first == last else f"{first.key} … {last.key}"
        say(f"loading {label}")
        result = load_job.execute_in_process(
            instance=instance, run_config=QUIET, raise_on_error=False,
            tags={"dagster/asset_partition_range_start": first.key,
                  "dagster/asset_partition_range_end": last.key},
        )
        if not result.success:
            raise RunFailed(f"loading {label} failed: {_failure(result)}")
        summary.hours_loaded += [h.key for h in todo if first <= h <= last]
    never_built = instance.get_latest_materialization_event(dg.AssetKey("final_report")) is None
    if todo or never_built or force_downstream:
        say("building wallet PnL, features, model, scores, categories, report and dashboard")
        result = defs.resolve_job_def("materialize_all").execute_in_process(
            instance=instance, run_config=QUIET, raise_on_error=False
        )
        if not result.success:
            raise RunFailed(f"materializing the wallet assets failed: {_failure(result)}")
        summary.downstream_ran = True
    else:
        say("no new hours: wallet assets are up to date (use --force to rebuild them)")
    return summary


def _failure(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            err = event.step_failure_data.error
            return f"step {event.step_key}: {err.message.strip()}"
    return "see the run in the Dagster UI"
