"""Benchmark: landing Parquet → DuckDB → wallet_features (SPEC §12: ≥ 2M fills/s at 10M fills and
≥ 20× a straightforward per-wallet Python implementation, measured in the same run).

The timed path is what wallet_features needs: load_hours of the streams it reads (FEATURE_STREAMS,
the same streams the Python reference reads) and build_wallet_features. The other landed streams
(evm_blocks, gaps) are loaded after the clock stops and shown in their own column.

Usage: .venv/bin/python bench/features.py [--sizes 1000000,10000000] [--work DIR] [--keep]
       .venv/bin/python bench/features.py --partials [--sizes 10000000] [--partials-workers 1,2]
       .venv/bin/python bench/features.py --memory-check 50000000

Cold build through partials (issue 13, printed after the full-build table; ``--partials`` runs only
this): load_hours of FEATURE_STREAMS with the hours' fingerprints (so landing_loads says which version
of each hour the warehouse holds, as the hourly loader does) → update_units (every unit is stale on a
fresh store) → merge_units into wallet_features, on a database file, with 1 worker (units computed in
the warehouse) and 2 (spawned processes that read the landing zone themselves). Budget: ≥ 2M fills/s
at 10M fills. At the smallest size the result is compared, in another process, with
build_wallet_features on the same warehouse (same wallets, every column within 1e-9 of its scale).
``--memory-check N`` runs it once at N fills, simulated over N / 5M days (at least 2: a day holds
about 5M fills, as in bench/incremental.py), and prints the peak RSS (budget ≤ 4 GB at 50M fills).

Each measurement runs in its own subprocess so its peak memory (max RSS, DuckDB included) is its
own. Landing data comes from the simulator (hypertrack_pipeline.simulator), or, when it cannot be
imported, from a vectorized synthetic generator below. Simulation time is not part of the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ChildPeak(threading.Thread):
    """The largest peak RSS (VmHWM) of any process below this one, sampled from /proc twice a second while
    running (Linux; 0 elsewhere). Not RUSAGE_CHILDREN: its ru_maxrss counts a fork+exec child's copy of
    its parent before the exec (Dagster starts small helpers that way), VmHWM is reset by the exec. A
    process not yet exec'd (same command line as ours) is skipped for the same reason."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self._halt = threading.Event()
        self._me = os.getpid()
        self._cmdline = self._read(self._me, "cmdline")

    def __enter__(self) -> ChildPeak:
        if Path("/proc/self/status").exists():
            self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._halt.set()
        if self.is_alive():
            self.join()

    def run(self) -> None:
        while not self._halt.wait(0.5):
            self.sample()

    @staticmethod
    def _read(pid: int, name: str) -> str:
        try:
            return Path(f"/proc/{pid}/{name}").read_text(errors="replace")
        except OSError:
            return ""

    def sample(self) -> None:
        parent: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and (stat := self._read(int(entry.name), "stat")):
                parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        for pid in parent:
            up = parent.get(pid, 0)
            while up not in (0, 1, self._me) and up in parent:
                up = parent[up]
            if up != self._me or self._read(pid, "cmdline") == self._cmdline:
                continue
            for line in self._read(pid, "status").splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)


def make_landing(out: Path, fills: int, seed: int, days: float = 2.0) -> dict:
    """Write a landing zone with about ``fills`` fills over ``days`` (the synthetic fallback: always 2 days);
    returns what was written."""
    t0 = time.perf_counter()
    try:
        from hypertrack_pipeline.simulator.market import SimConfig
        from hypertrack_pipeline.simulator.writer import simulate
    except ImportError:
        return synthetic_landing(out / "raw", fills, seed) | {"source": "synthetic"}
    wallets = max(400, fills // 1000)
    summary = simulate(out, SimConfig(seed=seed, wallets=wallets, days=days, target_fills=fills))
    return {"source": "simulator", "fills": summary.fills, "wallets": wallets, "days": days,
            "seconds": time.perf_counter() - t0}


def synthetic_landing(raw: Path, fills: int, seed: int) -> dict:
    """Random trades, BBO and candles over 2 days (fallback when the simulator is unavailable)."""
    import numpy as np
    import pyarrow as pa

    from hypertrack_pipeline.landing.schemas import STREAM_SCHEMAS
    from hypertrack_pipeline.landing.zone import Hour, mark_closed, write_part

    rng = np.random.default_rng(seed)
    start = 1_767_571_200_000  # 2026-01-05
    hours, coins = 48, ["BTC", "ETH", "SOL", "HYPE", "DOGE"]
    wallets = np.array([f"0x{i:040x}" for i in range(max(400, fills // 1000))])
    per_hour = fills // 2 // hours
    for h in range(hours):
        hour = Hour.of_ms(start + h * 3_600_000)
        t = np.sort(rng.integers(hour.start_ms, hour.end_ms, per_hour))
        coin = rng.integers(0, len(coins), per_hour)
        px = 100 * np.exp(rng.normal(0, 0.01, per_hour))
        buyer, seller = rng.integers(0, len(wallets), (2, per_hour))
        seller = np.where(seller == buyer, (seller + 1) % len(wallets), seller)
        trades = pa.table({
            "coin": np.array(coins)[coin], "side": np.where(rng.random(per_hour) < 0.5, "B", "A"), "px": px,
            "sz": rng.lognormal(0, 1, per_hour), "time": t, "tid": np.arange(per_hour) + h * per_hour,
            "hash": np.full(per_hour, "0x" + "0" * 64), "buyer": wallets[buyer], "seller": wallets[seller],
            "recv_ns": t * 1_000_000})
        write_part(raw, "trades", hour, trades)
        nb = per_hour // 2
        tb = np.sort(rng.integers(hour.start_ms, hour.end_ms, nb))
        mid = 100 * np.exp(rng.normal(0, 0.01, nb))
        write_part(raw, "bbo", hour, pa.table({
            "coin": np.array(coins)[rng.integers(0, len(coins), nb)], "time": tb, "bid_px": mid - 0.01,
            "bid_sz": np.ones(nb), "bid_n": np.ones(nb, np.int32), "ask_px": mid + 0.01, "ask_sz": np.ones(nb),
            "ask_n": np.ones(nb, np.int32), "recv_ns": tb * 1_000_000}))
        minutes = np.repeat(np.arange(60) * 60_000 + hour.start_ms, len(coins))
        o = 100 * np.exp(rng.normal(0, 0.01, len(minutes)))
        c = o * np.exp(rng.normal(0, 0.002, len(minutes)))
        write_part(raw, "candles", hour, pa.table({
            "coin": np.tile(coins, 60), "interval": np.full(len(minutes), "1m"), "open_time": minutes,
            "close_time": minutes + 59_999, "open": o, "high": np.maximum(o, c) * 1.001,
            "low": np.minimum(o, c) * 0.999, "close": c, "volume": rng.lognormal(3, 1, len(minutes)),
            "n_trades": np.ones(len(minutes), np.int64), "recv_ns": minutes * 1_000_000}))
        for stream in ("trades", "bbo", "candles"):
            mark_closed(raw, stream, hour)
    del STREAM_SCHEMAS
    return {"fills": 2 * per_hour * hours, "wallets": len(wallets)}


def worker_sql(raw: Path, db: Path | None) -> dict:
    import duckdb

    from hypertrack_pipeline.landing.zone import closed_hours
    from hypertrack_pipeline.warehouse import build_wallet_features, build_wallet_pnl, load_hours
    from hypertrack_pipeline.warehouse.features import FEATURE_STREAMS
    from hypertrack_pipeline.warehouse.loading import STREAM_TABLES

    con = duckdb.connect(":memory:" if db is None else str(db))
    hours = closed_hours(raw)
    t0 = time.perf_counter()
    loaded = load_hours(con, raw, hours, streams=FEATURE_STREAMS)
    t1 = time.perf_counter()
    feats = build_wallet_features(con)
    t2 = time.perf_counter()
    load_hours(con, raw, hours, streams=[s for s in STREAM_TABLES if s not in FEATURE_STREAMS])
    t3 = time.perf_counter()
    build_wallet_pnl(con)
    t4 = time.perf_counter()
    con.close()
    return {"fills": loaded["fills"], "wallets": feats["rows"], "load_s": t1 - t0, "features_s": t2 - t1,
            "other_load_s": t3 - t2, "pnl_s": t4 - t3, "peak_rss_mb": peak_rss_mb()}


def worker_python(raw: Path) -> dict:
    from hypertrack_pipeline.warehouse.reference import reference_features

    t0 = time.perf_counter()
    feats = reference_features(raw)
    return {"wallets": len(feats), "seconds": time.perf_counter() - t0, "peak_rss_mb": peak_rss_mb()}


def worker_partials(raw: Path, db: Path, store_root: Path, workers: int) -> dict:
    """Cold build through partials on a fresh database file and partial store (see the module doc)."""
    import duckdb

    from hypertrack_pipeline.landing.zone import closed_hour_fingerprints
    from hypertrack_pipeline.warehouse import load_hours
    from hypertrack_pipeline.warehouse.features import FEATURE_STREAMS, data_end_ms
    from hypertrack_pipeline.warehouse.loading import loaded_versions
    from hypertrack_pipeline.warehouse.partials import UnitStore, merge_units, update_units

    con = duckdb.connect(str(db))
    prints = {h.key: fp for h, fp in closed_hour_fingerprints(raw).items()}  # stat calls only
    store = UnitStore(str(store_root))
    with ChildPeak() as children:
        t0 = time.perf_counter()
        loaded = load_hours(con, raw, sorted(prints), streams=FEATURE_STREAMS, fingerprints=prints)
        t1 = time.perf_counter()
        hours, end = loaded_versions(con), data_end_ms(con)
        if not hours or end is None:
            raise SystemExit("nothing loaded: no landing_loads rows or no data")
        work = update_units(con, store, hours, end, workers=workers,
                            landing=str(raw) if workers > 1 else None)
        t2 = time.perf_counter()
        rows = merge_units(con, store.relation(work.units))
        t3 = time.perf_counter()
    con.close()
    lengths: dict[int, int] = {}  # unit length in hours → units (a day, a block of hours, an hour)
    for u in work.units:
        lengths[(u.end_ms - u.start_ms) // 3_600_000] = lengths.get((u.end_ms - u.start_ms) // 3_600_000, 0) + 1
    return {"fills": loaded["fills"], "wallets": rows, "workers": workers, "units": len(work.units),
            "unit_hours": {str(k): v for k, v in sorted(lengths.items(), reverse=True)}, "computed": len(work.computed), "load_s": t1 - t0, "units_s": t2 - t1,
            "merge_s": t3 - t2, "peak_rss_mb": peak_rss_mb(), "children_peak_mb": children.peak_mb}


def worker_compare(db: Path) -> dict:
    """wallet_features of the partials run against build_wallet_features on the same warehouse: the same
    wallets, and every column within 1e-9 of its scale (its largest magnitude), NULL where NULL."""
    import duckdb

    from hypertrack_pipeline.warehouse import build_wallet_features

    con = duckdb.connect(str(db))
    t0 = time.perf_counter()
    build_wallet_features(con, table="bench_full_features")
    full_s = time.perf_counter() - t0
    a, b = "wallet_features", "bench_full_features"
    n_a, n_b, both = con.execute(f"""SELECT (SELECT count(*) FROM {a}), (SELECT count(*) FROM {b}),
                                            (SELECT count(*) FROM {a} JOIN {b} USING (wallet))""").fetchall()[0]
    cols = [r[0] for r in con.execute(f"DESCRIBE {a}").fetchall() if r[0] != "wallet"]
    worst, bad = 0.0, {}
    for col in cols:
        n, nulls, rel = con.execute(f"""
            WITH s AS (SELECT greatest(max(abs(x.{col}::DOUBLE)), 1e-300) AS scale FROM {a} x)
            SELECT count(*) FILTER (WHERE abs(x.{col}::DOUBLE - y.{col}::DOUBLE) > 1e-9 * s.scale),
                   count(*) FILTER (WHERE (x.{col} IS NULL) <> (y.{col} IS NULL)),
                   coalesce(max(abs(x.{col}::DOUBLE - y.{col}::DOUBLE) / s.scale), 0)
            FROM {a} x JOIN {b} y USING (wallet), s""").fetchall()[0]
        worst = max(worst, float(rel))
        if n or nulls:
            bad[col] = [int(n), int(nulls), float(rel)]
    con.execute(f"DROP TABLE {b}")
    con.close()
    same = n_a == n_b == both and not bad
    return {"rows_partials": n_a, "rows_full": n_b, "rows_both": both, "columns": len(cols), "differ": bad,
            "worst_rel": worst, "same": same, "full_build_s": full_s}


def run_worker(*args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", *args], capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"worker {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,10000000", help="target fills per run, comma separated")
    ap.add_argument("--python-size", type=int, default=1_000_000, help="fills for the pure-Python baseline")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--keep", action="store_true", help="keep the landing zones and databases")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse a landing zone already simulated under --work (implies --keep)")
    ap.add_argument("--memory", action="store_true", help="in-memory DuckDB instead of a database file")
    ap.add_argument("--repeat", type=int, default=3,
                    help="SQL runs per size (the CPU is shared: the table shows the best and the median)")
    ap.add_argument("--partials", action="store_true",
                    help="only the cold build through partials (no full-build rows, no Python baseline)")
    ap.add_argument("--partials-workers", default="1,2", help="worker counts of the partials build, comma separated")
    ap.add_argument("--memory-check", type=int, default=None, metavar="N",
                    help="only the partials build at N fills over N / 5M days (at least 2); prints peak RSS")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "sql":
            out = worker_sql(Path(rest[0]), None if rest[1] == ":memory:" else Path(rest[1]))
        elif kind == "partials":
            out = worker_partials(Path(rest[0]), Path(rest[1]), Path(rest[2]), int(rest[3]))
        elif kind == "compare":
            out = worker_compare(Path(rest[0]))
        else:
            out = worker_python(Path(rest[0]))
        print(json.dumps(out))
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="hypertrack-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.memory_check:
        sizes, days = [args.memory_check], float(max(2, round(args.memory_check / 5_000_000)))
    else:
        sizes, days = [int(s) for s in args.sizes.split(",") if s], 2.0
    full_build = not (args.partials or args.memory_check)
    workers = [int(w) for w in args.partials_workers.split(",") if w]
    rows, partial_rows = [], []
    load_before = os.getloadavg()
    try:
        for size in sizes:
            land_dir = work / (f"landing_{size}" if days == 2.0 else f"landing_{size}_{days:g}d")
            made_file = land_dir / "bench_landing.json"
            if args.reuse and made_file.exists():
                made = json.loads(made_file.read_text())
            else:
                shutil.rmtree(land_dir, ignore_errors=True)
                made = make_landing(land_dir, size, args.seed, days)
                made_file.write_text(json.dumps(made))
            print(f"landing {size:,}: {made}", file=sys.stderr)
            if full_build:
                rows.append(measure_full(args, size, work, land_dir, made))
            check = size == min(sizes) and not args.memory_check
            for w in workers:
                partial_rows.append(measure_partials(size, w, work, land_dir, made, check, args.keep or args.reuse))
                print(json.dumps(partial_rows[-1]), file=sys.stderr)
    finally:
        if not (args.keep or args.reuse):
            shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()
    if full_build:
        print_table(rows, "in-memory DuckDB" if args.memory else "DuckDB file", load_before, load_after)
        print()
    print_partials_table(partial_rows, rows, load_before, load_after, bool(args.memory_check))
    return 0


def measure_full(args: argparse.Namespace, size: int, work: Path, land_dir: Path, made: dict) -> dict:
    """The full-build rows of one size: best of --repeat, Python baseline at --python-size."""
    db = ":memory:" if args.memory else str(work / f"warehouse_{size}.duckdb")
    runs = []
    for _ in range(max(1, args.repeat)):
        for stale in (Path(db), Path(db + ".wal")):
            stale.unlink(missing_ok=True)  # every run loads into a fresh warehouse
        runs.append(run_worker("sql", str(land_dir / "raw"), db))
        print(json.dumps(runs[-1]), file=sys.stderr)
    runs.sort(key=lambda r: r["load_s"] + r["features_s"])
    row = {"target": size, **runs[0], "source": made["source"], "runs": len(runs),
           "median_e2e_s": statistics.median(r["load_s"] + r["features_s"] for r in runs)}
    if size == args.python_size:
        py = run_worker("python", str(land_dir / "raw"))
        row["python_s"], row["python_rss_mb"] = py["seconds"], py["peak_rss_mb"]
    print(json.dumps(row), file=sys.stderr)
    return row


def measure_partials(size: int, workers: int, work: Path, land_dir: Path, made: dict, check: bool,
                     keep: bool) -> dict:
    """One cold build through partials on a fresh database file and store; compared when ``check``."""
    db = work / f"partials_{size}_w{workers}.duckdb"
    store = work / f"partials_{size}_w{workers}"
    for stale in (db, Path(f"{db}.wal")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(store, ignore_errors=True)
    row = {"target": size, "source": made["source"],
           **run_worker("partials", str(land_dir / "raw"), str(db), str(store), str(workers))}
    if check:
        row["compare"] = run_worker("compare", str(db))
    if not keep:
        db.unlink(missing_ok=True)
        shutil.rmtree(store, ignore_errors=True)
    return row


def machine() -> str:
    """nproc and RAM of this machine, for the table's caption."""
    ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {ram_gb:.1f} GiB RAM"


def print_table(rows: list[dict], where: str, load_before: tuple[float, ...] = (),
                load_after: tuple[float, ...] = ()) -> None:
    load = " ".join(f"{x:.2f}" for x in load_before) + " → " + " ".join(f"{x:.2f}" for x in load_after)
    print(f"machine: {machine()}; load average (1/5/15 min) before → after: {load}")
    head = (f"{'fills':>11} {'wallets':>8} {'load s':>7} {'feat s':>7} {'land→feat s':>11} {'fills/s':>11} "
            f"{'median s':>9} {'median fills/s':>14} {'other s':>8} {'+pnl s':>7} {'peak MB':>8} {'python s':>9} "
            f"{'speed-up':>9} {'median x':>9} {'py MB':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        e2e = r["load_s"] + r["features_s"]
        med = r.get("median_e2e_s", e2e)
        py = r.get("python_s")
        py_cell = "-" if py is None else f"{py:.1f}"
        ratio = "-" if py is None else f"{py / e2e:.1f}x"
        med_ratio = "-" if py is None else f"{py / med:.1f}x"
        print(f"{r['fills']:>11,} {r['wallets']:>8,} {r['load_s']:>7.2f} {r['features_s']:>7.2f} {e2e:>11.2f} "
              f"{r['fills'] / e2e:>11,.0f} {med:>9.2f} {r['fills'] / med:>14,.0f} {r['other_load_s']:>8.2f} "
              f"{r['pnl_s']:>7.2f} "
              f"{r['peak_rss_mb']:>8,.0f} {py_cell:>9} {ratio:>9} {med_ratio:>9} {r.get('python_rss_mb', 0):>7,.0f}")
    runs = rows[0].get("runs", 1) if rows else 0
    print(f"land→feat = load_hours of the streams the features read over every closed hour + build_wallet_features, "
          f"best of {runs} run(s) per size (median alongside); other = loading evm_blocks and gaps (after the clock); "
          "+pnl = build_wallet_pnl of the best run (measured after); python = the per-wallet "
          "reference (reference.py), once; budget: ≥ 2,000,000 fills/s at 10M fills and ≥ 20x the Python "
          f"baseline (landing source: {rows[0]['source'] if rows else '-'}; warehouse: {where}).")



def print_partials_table(rows: list[dict], full_rows: list[dict], load_before: tuple[float, ...],
                         load_after: tuple[float, ...], memory_check: bool) -> None:
    load = " ".join(f"{x:.2f}" for x in load_before) + " → " + " ".join(f"{x:.2f}" for x in load_after)
    print(f"**Cold build through partials** (DuckDB file; machine: {machine()}; load average before → after: {load})")
    print()
    print("| workers | fills | wallets | units (by length) | load s | units s | merge s | landing → features s | fills/s "
          "| full build s | peak MB | worker peak MB | equals build_wallet_features |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    full = {r["target"]: r["load_s"] + r["features_s"] for r in full_rows}
    for r in rows:
        total = r["load_s"] + r["units_s"] + r["merge_s"]
        cmp = r.get("compare")
        if cmp is None:
            same = "–"
        elif cmp["same"]:
            same = f"yes ({cmp['rows_both']:,} wallets, {cmp['columns']} columns, worst {cmp['worst_rel']:.1e})"
        else:
            same = f"**NO**: {cmp['rows_partials']:,} vs {cmp['rows_full']:,} wallets; {cmp['differ']}"
        full_s = f"{full[r['target']]:.2f}" if r["target"] in full else "–"
        child = f"{r['children_peak_mb']:,.0f}" if r["children_peak_mb"] else "–"
        print(f"| {r['workers']} | {r['fills']:,} | {r['wallets']:,} | {r['units']} ({', '.join(f'{n}×{h} h' for h, n in r['unit_hours'].items())}) "
              f"| {r['load_s']:.2f} | {r['units_s']:.2f} | {r['merge_s']:.2f} | {total:.2f} | {r['fills'] / total:,.0f} "
              f"| {full_s} | {r['peak_rss_mb']:,.0f} | {child} | {same} |")
    print()
    print("load = load_hours of the feature streams with fingerprints (landing_loads); units = update_units on a "
          "fresh store (every unit computed: 1 worker = in the warehouse process, more = in spawned processes "
          "reading the landing zone); merge = merge_units into wallet_features. full build = landing → features of the "
          "full-build table above (best run), same landing zone. peak MB: the measuring process (DuckDB "
          "included); worker peak MB: the largest spawned worker. Budget: ≥ 2,000,000 fills/s at 10M fills"
          + ("; peak RSS ≤ 4 GB (4,096 MB) at 50M fills." if memory_check else "."))
    if memory_check:
        for r in rows:
            peak = max(r["peak_rss_mb"], r["children_peak_mb"])
            alongside = (f"; its {r['workers']} workers run alongside it: up to "
                         f"{r['peak_rss_mb'] + r['workers'] * r['children_peak_mb']:,.0f} MB together"
                         if r["workers"] > 1 else "")
            print(f"memory check, {r['workers']} worker(s), {r['fills']:,} fills: largest process peak {peak:,.0f} MB "
                  f"({'within' if peak <= 4096 else 'OVER'} 4 GB){alongside}.")


if __name__ == "__main__":
    raise SystemExit(main())
