"""The automation and the CLI plan alike: after a demo'd data directory nothing is requested; one newly
closed hour requests exactly one load run, then exactly one refresh run of the hourly chain (scoring
with the current model, no retrain); a reopened hour is loaded again; a run that died is rebuilt."""

from __future__ import annotations

import shutil

import dagster as dg
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from hypertrack_pipeline.config import load_settings
from hypertrack_pipeline.landing.zone import Hour, closed_hours, mark_closed, write_part

TRADER_VIEWS = {"leaderboards", "coin_positioning", "coin_holders"}
HOURLY_CHAIN = {"wallet_positions", "wallet_pnl", "wallet_pnl_hourly", "pnl_reconciliation", "wallet_features",
                "wallet_scores", "wallet_categories", *TRADER_VIEWS, "tracked_wallets", "alerts", "final_report",
                "wallet_dashboard", "warehouse_snapshot"}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    """A small simulated market built by the CLI's path (`hypertrack materialize`), kept as a template."""
    from hypertrack_pipeline.defs.runner import materialize
    from hypertrack_pipeline.simulator import SimConfig, simulate

    base = tmp_path_factory.mktemp("demo") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HYPERTRACK_DATA_DIR", str(base))
        mp.setenv("DAGSTER_HOME", str(base / "dagster_home"))
        simulate(base, SimConfig(seed=5, wallets=60, days=0.25, prehistory_days=0))
        summary = materialize(load_settings(base), say=lambda _: None)
    assert summary.hours_loaded and "wallet_model" in summary.assets_built
    return base


@pytest.fixture
def data(demo_dir, tmp_path, monkeypatch):
    """A private copy of the demo'd directory, with the environment pointing at it."""
    copy = tmp_path / "data"
    shutil.copytree(demo_dir, copy)
    monkeypatch.setenv("HYPERTRACK_DATA_DIR", str(copy))
    monkeypatch.setenv("DAGSTER_HOME", str(copy / "dagster_home"))
    return copy


def _instance_and_defs(data):
    from hypertrack_pipeline.definitions import build_definitions
    from hypertrack_pipeline.defs.runner import instance_for

    settings = load_settings(data)
    return instance_for(settings), build_definitions(settings)


def _land_new_hour(data) -> Hour:
    raw = data / "raw"
    last = closed_hours(raw)[-1]
    new = last.next()
    prev = pq.read_table(next((raw / "trades" / last.rel_dir()).glob("part-*.parquet")))
    shifted = prev.set_column(prev.schema.get_field_index("time"), "time",
                              pc.add(prev.column("time"), 3_600_000))
    write_part(raw, "trades", new, shifted)
    mark_closed(raw, "trades", new)
    return new


def _tick(instance, defs) -> tuple[list[dg.RunRequest], list[dg.RunRequest]]:
    """One evaluation of both sensors, as the daemon would do it: (load requests, refresh requests)."""
    repo = defs.get_repository_def()
    landing = repo.get_sensor_def("landing_sensor")
    refresh = repo.get_sensor_def("refresh_automation")
    ctx = dg.build_sensor_context(instance=instance, repository_def=repo, resources=dict(defs.resources or {}))
    loads = landing.evaluate_tick(ctx).run_requests
    refreshes = refresh.evaluate_tick(dg.build_sensor_context(instance=instance, repository_def=repo)).run_requests
    return list(loads or []), list(refreshes or [])


def _execute(instance, defs, request: dg.RunRequest) -> None:
    if request.asset_selection and not request.tags.get("dagster/asset_partition_range_start"):
        job = defs.resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(instance=instance, asset_selection=list(request.asset_selection),
                                        tags=request.tags, raise_on_error=False)
    else:
        job = defs.resolve_job_def("load_landed_hours")
        result = job.execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)
    assert result.success


def test_a_demod_directory_requests_no_run(data):
    instance, defs = _instance_and_defs(data)
    loads, refreshes = _tick(instance, defs)
    assert loads == [] and refreshes == []


def test_one_new_hour_requests_one_load_then_one_refresh_without_retraining(data):
    instance, defs = _instance_and_defs(data)
    new = _land_new_hour(data)
    loads, refreshes = _tick(instance, defs)
    assert refreshes == []  # nothing is rebuilt before the hour is loaded
    assert len(loads) == 1
    assert loads[0].tags["dagster/asset_partition_range_start"] == new.key
    assert loads[0].tags["dagster/asset_partition_range_end"] == new.key
    _execute(instance, defs, loads[0])

    loads, refreshes = _tick(instance, defs)
    assert loads == [] and len(refreshes) == 1
    assert {k.to_user_string() for k in refreshes[0].asset_selection} == HOURLY_CHAIN
    _execute(instance, defs, refreshes[0])
    assert _tick(instance, defs) == ([], [])


def test_a_reopened_hour_is_loaded_again(data):
    instance, defs = _instance_and_defs(data)
    hour = closed_hours(data / "raw")[-1]
    import time

    time.sleep(0.01)
    mark_closed(data / "raw", "trades", hour)  # rewritten marker: the hour was reopened and closed again
    loads, _ = _tick(instance, defs)
    assert [r.tags["dagster/asset_partition_range_start"] for r in loads] == [hour.key]


def test_an_asset_older_than_its_inputs_is_rebuilt_by_the_cli(data):
    """A run that died after wallet_pnl leaves the features stale: the CLI rebuilds exactly what is stale."""
    from hypertrack_pipeline.defs.runner import materialize

    instance, defs = _instance_and_defs(data)
    instance.report_runless_asset_event(dg.AssetMaterialization("wallet_features_early"))  # newer than targets
    summary = materialize(load_settings(data), say=lambda _: None)
    assert summary.hours_loaded == []
    assert summary.assets_built == []  # the retrain chain waits for the retrain
    instance.report_runless_asset_event(dg.AssetMaterialization("wallet_features"))
    summary = materialize(load_settings(data), say=lambda _: None)
    assert set(summary.assets_built) == {"wallet_scores", "wallet_categories", *TRADER_VIEWS, "tracked_wallets",
                                         "alerts", "final_report", "wallet_dashboard", "warehouse_snapshot"}


def test_an_asset_that_keeps_failing_is_retried_on_new_data_not_on_every_tick(data):
    instance, defs = _instance_and_defs(data)
    reports = data / "reports"
    shutil.rmtree(reports)
    reports.write_text("not a folder")  # final_report and wallet_dashboard cannot be written now
    instance.report_runless_asset_event(dg.AssetMaterialization("wallet_scores"))  # scores changed: report stale
    _, refreshes = _tick(instance, defs)
    assert len(refreshes) == 1 and dg.AssetKey("final_report") in refreshes[0].asset_selection
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=instance, asset_selection=list(refreshes[0].asset_selection),
                                    raise_on_error=False)
    assert not result.success
    assert _tick(instance, defs) == ([], [])  # failed: not relaunched every 30 s
    new = _land_new_hour(data)
    loads, _ = _tick(instance, defs)
    assert [r.tags["dagster/asset_partition_range_start"] for r in loads] == [new.key]
    _execute(instance, defs, loads[0])
    _, refreshes = _tick(instance, defs)  # new data: everything stale is tried again, the failed report too
    assert len(refreshes) == 1 and dg.AssetKey("final_report") in refreshes[0].asset_selection
