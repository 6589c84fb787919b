"""Run the plan in-process for one data directory (`hypertrack materialize`, `demo`, `evaluate`): the
same plan the automation follows (:mod:`hypertrack_pipeline.plan`), executed here instead of by the
daemon — every new hour in one load run, then the stale assets in one run — with progress on the
terminal. Runs are recorded in the data directory's persistent Dagster instance, so `dg dev` shows them
and plans from the same state afterwards (nothing left to do).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.utils import make_new_run_id  # the run id is known before the run starts

from hypertrack_pipeline.config import Settings
from hypertrack_pipeline.defs.automation import RANGE_END, RANGE_START
from hypertrack_pipeline.defs.facts import active_runs, current_plan, gather
from hypertrack_pipeline.defs.partitions import add_hours, key_ranges, landing_hours
from hypertrack_pipeline.errors import RunFailed

# The instance configuration a new data directory gets (pools, run monitoring); shipped with the package so
# an installed hypertrack has it too. data/dagster_home/dagster.yaml (what `make dev` uses) is the same file.
INSTANCE_YAML = Path(__file__).resolve().parents[1] / "instance.yaml"
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}  # warnings: printed by _Progress
PID_TAG, HOST_TAG = "hypertrack/pid", "hypertrack/host"
Say = Callable[[str], None]


@dataclass
class MaterializeSummary:
    hours_loaded: list[str] = field(default_factory=list)
    assets_built: list[str] = field(default_factory=list)
    released_runs: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)

    @property
    def downstream_ran(self) -> bool:
        return bool(self.assets_built)


def instance_for(settings: Settings) -> dg.DagsterInstance:
    """The persistent instance under <data_dir>/dagster_home (created with our dagster.yaml)."""
    home = (settings.data_dir / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    yaml = home / "dagster.yaml"
    if not yaml.exists() and INSTANCE_YAML.exists():
        yaml.write_text(INSTANCE_YAML.read_text())
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def release_dead_runs(instance: dg.DagsterInstance, say: Say) -> list[str]:
    """Runs this CLI started on this host whose process is gone (killed, OOM) stay STARTED in the
    instance and keep their warehouse pool slot: mark them failed and free their slots."""
    released = []
    for run in active_runs(instance):
        pid, host = run.tags.get(PID_TAG), run.tags.get(HOST_TAG)
        if not pid or host != socket.gethostname() or _alive(int(pid)):
            continue
        instance.report_run_failed(run, f"its process {pid} is gone (killed?); marked failed by hypertrack")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        say(f"released run {run.run_id[:8]} of a dead process ({pid}): its pool slot is free again")
        released.append(run.run_id)
    # a slot still held by a run that is over (failed, canceled, deleted) blocks every later run silently
    active = {r.run_id for r in active_runs(instance)}
    for run_id in instance.event_log_storage.get_concurrency_run_ids():
        if run_id not in active:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
            say(f"freed the warehouse pool slot still held by finished run {run_id[:8]}")
            released.append(run_id)
    return released


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tags(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(), **(extra or {})}


def materialize(settings: Settings, retrain: bool = False, say: Say = print) -> MaterializeSummary:
    """Load every closed hour the warehouse lacks (one run), then rebuild what is stale (one run)."""
    from hypertrack_pipeline.definitions import build_definitions

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    instance = instance_for(settings)
    summary = MaterializeSummary(released_runs=release_dead_runs(instance, say))
    defs = build_definitions(settings)
    facts = gather(instance, settings)
    p = current_plan(instance, settings, retrain, facts=facts)
    if p.busy:
        raise RunFailed("another pipeline run is queued or running in this data directory (the Dagster UI shows "
                        "it); wait for it or cancel it")
    say(f"landing zone {settings.landing_location}: {len(facts.closed)} closed hour(s), {len(p.load)} to load")
    if p.load:
        add_hours(instance, p.load)
        ordered = list(instance.get_dynamic_partitions(landing_hours.name))
        job = defs.resolve_job_def("load_landed_hours")
        for a, b in key_ranges(p.load, ordered):
            label = a if a == b else f"{a} … {b}"
            summary.failed_checks += _execute(instance, lambda run_id, tags, a=a, b=b: job.execute_in_process(
                instance=instance, run_config=QUIET, raise_on_error=False, run_id=run_id,
                tags={**tags, RANGE_START: a, RANGE_END: b}), f"loading {label}", say)
        summary.hours_loaded = list(p.load)
        p = current_plan(instance, settings, retrain)
    if not p.refresh:
        say(f"nothing to rebuild: {p.reason}")
        return summary
    say(f"building {len(p.refresh)} asset(s): {', '.join(p.refresh)}")
    job = defs.resolve_implicit_global_asset_job_def()
    keys = [dg.AssetKey(a) for a in p.refresh]
    summary.failed_checks += _execute(instance, lambda run_id, tags: job.execute_in_process(
        instance=instance, run_config=QUIET, raise_on_error=False, run_id=run_id, tags=tags,
        asset_selection=keys), "analysis", say)
    summary.assets_built = list(p.refresh)
    return summary


def _execute(instance: dg.DagsterInstance, launch: Callable[[str, dict[str, str]], dg.ExecuteInProcessResult],
             label: str, say: Say) -> list[str]:
    """Run one in-process Dagster run, printing each step as it starts and ends (with rows and time);
    returns the names of the asset checks that failed."""
    run_id = make_new_run_id()
    watcher = _Progress(instance, run_id, label, say)
    watcher.start()
    try:
        result = launch(run_id, _tags())
    finally:
        watcher.stop()
    if not result.success:
        raise RunFailed(f"{label} failed: {_failure(result)}")
    return watcher.failed_checks


class _Progress(threading.Thread):
    """Reads the run's events from the instance while it executes and prints steps, rows, elapsed time
    and an ETA (from the same steps' durations in the previous successful run, when there was one)."""

    EVENTS = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE,
              dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_CHECK_EVALUATION}

    def __init__(self, instance: dg.DagsterInstance, run_id: str, label: str, say: Say) -> None:
        super().__init__(daemon=True)
        self.instance, self.run_id, self.label, self.say = instance, run_id, label, say
        self._halt = threading.Event()
        self._cursor: str | None = None
        self._t0 = time.monotonic()
        self._previous = _previous_step_seconds(instance)
        self._steps_running: dict[str, float] = {}
        self._rows: dict[str, int] = {}
        self.failed_checks: list[str] = []

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
        self._drain()
        self.say(f"  {self.label} done in {time.monotonic() - self._t0:.1f} s")

    def run(self) -> None:
        last_beat = time.monotonic()
        while not self._halt.wait(0.5):
            if self._drain():
                last_beat = time.monotonic()
            elif time.monotonic() - last_beat > 15 and self._steps_running:
                last_beat = time.monotonic()
                running = ", ".join(self._steps_running)
                self.say(f"  [{time.monotonic() - self._t0:5.1f} s] still running: {running}{self._eta()}")

    def _eta(self) -> str:
        left = [max(0.0, self._previous[s] - (time.monotonic() - t)) for s, t in self._steps_running.items()
                if s in self._previous]
        return f" (ETA ~{max(left):.0f} s, from the previous run)" if left else ""

    def _drain(self) -> bool:
        """Print the run's events since the last call: only the new ones are read (a load of many hours
        writes thousands of materializations; re-reading them all every beat took the run's CPU)."""
        try:
            page = self.instance.get_records_for_run(self.run_id, cursor=self._cursor)
        except Exception:  # the instance is busy being written; try again at the next beat
            return False
        self._cursor = page.cursor
        new = [r.event_log_entry for r in page.records]
        for rec in new:
            ev = rec.dagster_event
            if ev is None and rec.level >= logging.WARNING and rec.user_message:
                self.say(f"  ! {rec.user_message}")  # e.g. a quarantined landing part, named
                continue
            if ev is None or ev.event_type not in self.EVENTS:
                continue
            step = ev.step_key or ""
            now = f"[{time.monotonic() - self._t0:5.1f} s]"
            if ev.event_type == dg.DagsterEventType.STEP_START:
                self._steps_running[step] = time.monotonic()
                self.say(f"  {now} {step} …{self._eta()}")
            elif ev.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                check = ev.event_specific_data  # AssetCheckEvaluation
                if not check.passed:  # type: ignore[union-attr]
                    meta = {k: v.value for k, v in check.metadata.items() if k != "details"}  # type: ignore[union-attr]
                    self.failed_checks.append(check.check_name)  # type: ignore[union-attr]
                    self.say(f"  ✗ check {check.check_name} on {check.asset_key.to_user_string()} FAILED: {meta}")  # type: ignore[union-attr]
            elif ev.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                mat = ev.event_specific_data.materialization  # type: ignore[union-attr]
                rows = mat.metadata.get("dagster/row_count")
                if rows is not None:
                    self._rows[step] = self._rows.get(step, 0) + int(rows.value)
            else:
                took = time.monotonic() - self._steps_running.pop(step, time.monotonic())
                rows = f", {self._rows[step]:,} rows" if step in self._rows else ""
                mark = "done" if ev.event_type == dg.DagsterEventType.STEP_SUCCESS else "FAILED"
                self.say(f"  {now} {step} {mark} ({took:.1f} s{rows})")
        return bool(new)


def _previous_step_seconds(instance: dg.DagsterInstance) -> dict[str, float]:
    """step key → seconds it took in the latest successful run that executed it."""
    out: dict[str, float] = {}
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS]), limit=10):
        for stat in instance.get_run_step_stats(run.run_id):
            if stat.step_key not in out and stat.end_time and stat.start_time:
                out[stat.step_key] = stat.end_time - stat.start_time
    return out


def _failure(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            err = event.step_failure_data.error
            return f"step {event.step_key}: {err.message.strip()}"
    return "see the run in the Dagster UI"
