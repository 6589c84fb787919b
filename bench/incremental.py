"""Benchmark: hour → report. How long the pipeline takes to turn one new landing hour into an updated
report, and whether that time stays flat as the history grows (issue 13: ≤ 1.3× from 10M to 50M fills of
history, and ≤ 120 s at 50M).

Usage: .venv/bin/python bench/incremental.py [--sizes 10000000,50000000] [--work DIR] [--keep] [--workers N]

Per size (fills of history; wallets = fills // 1000, days = fills / 5M rounded, at least 2):

1. simulate a landing zone into ``--work``/sim_<size> (reused by a later run with the same parameters:
   ``bench_stamp.json`` records them; simulation time is not part of the numbers);
2. hard-link it into a fresh data directory ``--work``/run_<size> (its own warehouse, partials and
   dagster_home) and move the LAST landing hour (its folder in every stream) aside;
3. ``materialize`` cold: load every other hour and build every asset (the "cold build");
4. move the held-back hour into the landing zone and ``materialize`` again: load that hour and rebuild
   what is stale, through the report (the "hour → report" path).

Each ``materialize`` runs in its own subprocess (so its peak RSS, DuckDB included, is its own) and is timed
around the call (imports excluded). The per-step seconds are the step stats the runs leave in the data
directory's Dagster instance (what materialize's progress lines print, unrounded); the hour run's
wallet_features metadata says how many partial units it recomputed.
``--workers N`` sets HYPERTRACK_WORKERS=N for both runs (feature partials in N worker processes); the
"largest child MB" column is the largest peak RSS of any process a run started (the feature workers, or
Dagster's small log helpers). The simulated landing zones stay under ``--work`` for reuse;
the data directories are removed unless ``--keep``; without ``--work`` everything is in a temp dir that is
removed unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from features import ChildPeak, machine, peak_rss_mb  # noqa: E402  (bench/features.py, next to this file)

FILLS_PER_DAY = 5_000_000
STAMP = "bench_stamp.json"
STAMP_VERSION = 1
STEP_LINE = re.compile(r"^\s*\[\s*[\d.]+ s\] (\S+) (done|FAILED) \(([\d.]+) s")
RUN_LINE = re.compile(r"^\s*(.+?) done in ([\d.]+) s$")


def plan_size(fills: int, seed: int) -> dict:
    """The simulator parameters of one history size (what the stamp must match to reuse a landing zone)."""
    return {"version": STAMP_VERSION, "target_fills": fills, "wallets": max(100, fills // 1000),
            "days": max(2, round(fills / FILLS_PER_DAY)), "seed": seed}


# ---------------------------------------------------------------- child processes


def worker_simulate(out: Path, params: dict) -> dict:
    from hypertrack_pipeline.simulator import SimConfig, simulate

    t0 = time.perf_counter()
    s = simulate(out, SimConfig(seed=params["seed"], wallets=params["wallets"], days=float(params["days"]),
                                target_fills=params["target_fills"]))
    return {"fills": s.fills, "trades": s.trades, "hours": s.hours, "seconds": time.perf_counter() - t0,
            "peak_rss_mb": peak_rss_mb()}


def worker_materialize(data_dir: Path) -> dict:
    from hypertrack_pipeline.config import load_settings
    from hypertrack_pipeline.defs.runner import materialize

    settings = load_settings(data_dir)
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        print(f"    {data_dir.name}: {line}", file=sys.stderr, flush=True)

    started = datetime.now(UTC)
    with ChildPeak() as children:
        t0 = time.perf_counter()
        summary = materialize(settings, say=say)
        seconds = time.perf_counter() - t0
    steps, runs = step_seconds(settings, started)
    features = feature_units(settings, started)
    if not steps:  # no step stats in the instance: the progress lines (polled every 0.5 s, so coarser)
        steps, runs = said_seconds(lines)
    return {"seconds": seconds, "steps": steps, "runs": runs, "hours_loaded": len(summary.hours_loaded),
            "assets_built": summary.assets_built, "failed_checks": summary.failed_checks,
            "workers": settings.workers, "peak_rss_mb": peak_rss_mb(),
            "children_peak_mb": children.peak_mb, "features": features}


def feature_units(settings: object, since: datetime) -> dict:
    """How this materialize built wallet_features (mode, units, units recomputed), from its metadata; {}
    when it did not."""
    import dagster as dg

    from hypertrack_pipeline.defs.runner import instance_for

    event = instance_for(settings).get_latest_materialization_event(dg.AssetKey("wallet_features"))  # type: ignore[arg-type]
    if event is None or event.asset_materialization is None or event.timestamp < since.timestamp():
        return {}
    meta = event.asset_materialization.metadata
    return {k: meta[k].value for k in ("mode", "units", "units_computed", "units_dropped") if k in meta}


def step_seconds(settings: object, since: datetime) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per step and per run of the runs materialize started, from the Dagster instance of the data
    directory (the step stats behind its progress lines, unrounded)."""
    import dagster as dg

    from hypertrack_pipeline.defs.runner import instance_for

    instance = instance_for(settings)  # type: ignore[arg-type]
    steps: dict[str, float] = {}
    runs: dict[str, float] = {}
    records = instance.get_run_records(filters=dg.RunsFilter(created_after=since), ascending=True)
    for rec in records:
        key = "load run" if rec.dagster_run.job_name == "load_landed_hours" else "analysis run"
        if rec.start_time and rec.end_time:
            runs[key] = runs.get(key, 0.0) + rec.end_time - rec.start_time
        for stat in instance.get_run_step_stats(rec.dagster_run.run_id):
            if stat.start_time and stat.end_time:
                steps[stat.step_key] = steps.get(stat.step_key, 0.0) + stat.end_time - stat.start_time
    return steps, runs


def said_seconds(lines: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per step and per run from materialize's progress lines."""
    steps: dict[str, float] = {}
    runs: dict[str, float] = {}
    for line in lines:
        if m := STEP_LINE.match(line):
            steps[m.group(1)] = steps.get(m.group(1), 0.0) + float(m.group(3))
        elif m := RUN_LINE.match(line):
            key = "load run" if m.group(1).startswith("loading") else f"{m.group(1)} run"
            runs[key] = runs.get(key, 0.0) + float(m.group(2))  # one load run per contiguous range
    return steps, runs


def child_env(workers: int | None) -> dict[str, str]:
    """The environment of a measurement: no HYPERTRACK_* setting of this shell (a warehouse, partials or
    landing location elsewhere would break the isolation), no .env, and HYPERTRACK_WORKERS if asked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERTRACK_") and k != "DAGSTER_HOME"}
    env["HYPERTRACK_ENV_FILE"] = os.devnull  # not a regular file: no .env is read
    if workers:
        env["HYPERTRACK_WORKERS"] = str(workers)
    return env


def run_worker(*args: str, env: dict[str, str] | None = None) -> dict:
    """Run this script as a child for one measurement; its progress goes to our stderr."""
    proc = subprocess.run([sys.executable, __file__, "--worker", *args], stdout=subprocess.PIPE, text=True,
                          check=False, env=env)
    if proc.returncode:
        raise SystemExit(f"worker {args} failed (exit {proc.returncode}); its error is above")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- landing zones


def ensure_landing(sim_dir: Path, params: dict) -> dict:
    """The simulated landing zone of ``params`` under ``sim_dir``, simulated unless its stamp matches."""
    stamp = sim_dir / STAMP
    if stamp.is_file():
        made = json.loads(stamp.read_text())
        if made.get("params") == params and (sim_dir / "raw").is_dir():
            print(f"reusing {sim_dir} ({made['sim']['fills']:,} fills)", file=sys.stderr)
            return made
    shutil.rmtree(sim_dir, ignore_errors=True)
    sim_dir.mkdir(parents=True)
    print(f"simulating {params} into {sim_dir} …", file=sys.stderr, flush=True)
    made = {"params": params, "sim": run_worker("simulate", str(sim_dir), json.dumps(params))}
    stamp.write_text(json.dumps(made, indent=1))  # written last: a half simulation is never reused
    print(f"simulated: {made['sim']}", file=sys.stderr)
    return made


def link_tree(src: Path, dst: Path) -> None:
    """A copy of the landing zone made of hard links (same files, markers and fingerprints; no bytes copied)."""
    for folder, _, files in os.walk(src):
        target = dst / Path(folder).relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            try:
                os.link(Path(folder) / name, target / name)
            except OSError:  # a file system without hard links
                shutil.copy2(Path(folder) / name, target / name)


def hour_folders(raw: Path) -> dict[str, list[Path]]:
    """Landing hour folder name (date=…/hour=…) → that hour's folder in every stream that has it."""
    out: dict[str, list[Path]] = {}
    for folder in sorted(raw.glob("*/date=*/hour=*")):
        out.setdefault(f"{folder.parent.name}/{folder.name}", []).append(folder)
    return out


def trade_rows(raw: Path, hour: str) -> int:
    marker = raw / "trades" / hour / "_SUCCESS"
    return int(json.loads(marker.read_text()).get("rows", 0)) if marker.is_file() else 0


def measure(size: int, work: Path, args: argparse.Namespace) -> dict:
    params = plan_size(size, args.seed)
    made = ensure_landing(work / f"sim_{size}", params)
    run_dir = work / f"run_{size}"
    shutil.rmtree(run_dir, ignore_errors=True)
    raw = run_dir / "raw"
    link_tree(work / f"sim_{size}" / "raw", raw)
    hours = hour_folders(raw)
    last = max(hours)
    fills = {h: 2 * trade_rows(raw, h) for h in hours}  # a trade is a buyer's and a seller's fill
    held = run_dir / "held_back"
    for folder in hours[last]:
        (held / folder.relative_to(raw)).parent.mkdir(parents=True, exist_ok=True)
        folder.rename(held / folder.relative_to(raw))
    env = child_env(args.workers)
    print(f"size {size:,}: cold build without {last} …", file=sys.stderr, flush=True)
    cold = run_worker("materialize", str(run_dir), env=env)
    for folder in hours[last]:
        (held / folder.relative_to(raw)).rename(folder)
    print(f"size {size:,}: hour {last} → report …", file=sys.stderr, flush=True)
    hour = run_worker("materialize", str(run_dir), env=env)
    if hour["hours_loaded"] != 1:
        print(f"WARNING: the hour run loaded {hour['hours_loaded']} hours, not 1", file=sys.stderr)
    row = {"size": size, "params": params, "sim_fills": made["sim"]["fills"], "hour": last,
           "history_fills": sum(v for h, v in fills.items() if h != last), "hour_fills": fills[last],
           "hours": len(hours), "cold": cold, "hot": hour}
    print(json.dumps(row), file=sys.stderr)
    if not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    return row


# ---------------------------------------------------------------- report


def print_tables(rows: list[dict], workers: int | None, load: str) -> None:
    print(f"machine: {machine()}; load average (1/5/15 min) before → after: {load}; "
          f"HYPERTRACK_WORKERS={workers or 1}")
    print()
    print("| history fills | hour fills | wallets | days | landing hours | cold build s | cold peak MB "
          "| hour → report s | hour peak MB | largest child MB (cold / hour) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        c, h = r["cold"], r["hot"]
        wk = f"{c['children_peak_mb']:,.0f} / {h['children_peak_mb']:,.0f}" if (c["children_peak_mb"] or
                                                                           h["children_peak_mb"]) else "–"
        print(f"| {r['history_fills']:,} | {r['hour_fills']:,} | {r['params']['wallets']:,} | {r['params']['days']} "
              f"| {r['hours']} | {c['seconds']:.1f} | {c['peak_rss_mb']:,.0f} | **{h['seconds']:.1f}** "
              f"| {h['peak_rss_mb']:,.0f} | {wk} |")
    print()
    steps: list[str] = []
    for r in rows:
        steps += [s for s in r["hot"]["steps"] if s not in steps]
    sizes = [f"{r['history_fills'] / 1e6:.1f}M" if r["history_fills"] >= 1e6 else f"{r['history_fills']:,}"
             for r in rows]
    print("hour → report, seconds per step (Dagster step stats; asset checks are steps too):")
    print()
    print("| step | " + " | ".join(sizes) + " |")
    print("|---|" + "---|" * len(rows))
    for s in steps:
        cells = [f"{r['hot']['steps'][s]:.1f}" if s in r["hot"]["steps"] else "–" for r in rows]
        print(f"| {s} | " + " | ".join(cells) + " |")
    for run in ("load run", "analysis run"):
        cells = [f"{r['hot']['runs'].get(run, 0):.1f}" for r in rows]
        print(f"| *{run} (wall)* | " + " | ".join(cells) + " |")
    cells = [f"{r['hot']['seconds'] - sum(r['hot']['runs'].values()):.1f}" for r in rows]
    print("| *planning, instance, definitions* | " + " | ".join(cells) + " |")
    cells = [f"{f.get('mode', '?')}: {f.get('units_computed', '–')} of {f.get('units', '–')} units recomputed"
             for f in (r["hot"]["features"] for r in rows)]
    print("| *wallet_features build* | " + " | ".join(cells) + " |")
    print("| **hour → report (materialize)** | " + " | ".join(f"**{r['hot']['seconds']:.1f}**" for r in rows) + " |")
    print()
    lo, hi = min(rows, key=lambda r: r["size"]), max(rows, key=lambda r: r["size"])
    ratio = hi["hot"]["seconds"] / lo["hot"]["seconds"]
    verdict = "met" if ratio <= 1.3 else "NOT met"
    print(f"hour → report at {hi['history_fills']:,} / at {lo['history_fills']:,} fills of history: "
          f"{ratio:.2f}× (budget ≤ 1.3: {verdict}); at the largest size {hi['hot']['seconds']:.1f} s "
          f"(budget ≤ 120 s at 50M fills: {'met' if hi['hot']['seconds'] <= 120 else 'NOT met'}"
          f"{'' if hi['size'] >= 50_000_000 else ', not measured at 50M'}).")
    bad = [f"{r['size']:,}: {r['hot']['failed_checks']}" for r in rows if r["hot"]["failed_checks"]]
    if bad:
        print(f"failed asset checks in the hour run: {'; '.join(bad)}")
    print("cold build = materialize over every landing hour but the last (load run + every asset); hour → report "
          "= materialize after the last hour lands (load it, rebuild the stale assets through final_report, "
          "the dashboard and the snapshot); both timed around the call, in their own process.")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000000,50000000", help="fills of history per run, comma separated")
    ap.add_argument("--work", type=Path, default=None,
                    help="scratch folder; the simulated landing zones stay there for reuse (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the data directories (warehouse, partials, runs)")
    ap.add_argument("--workers", type=int, default=None, help="HYPERTRACK_WORKERS for the measured runs")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "simulate":
            out = worker_simulate(Path(rest[0]), json.loads(rest[1]))
        else:
            out = worker_materialize(Path(rest[0]))
        print(json.dumps(out))
        return 0
    temp = args.work is None
    work = args.work or Path(tempfile.mkdtemp(prefix="hypertrack-bench-incr-"))
    work.mkdir(parents=True, exist_ok=True)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s)
    before = os.getloadavg()
    try:
        rows = [measure(size, work, args) for size in sizes]
    finally:
        if temp and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    load = " ".join(f"{x:.2f}" for x in before) + " → " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    print_tables(rows, args.workers, load)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
