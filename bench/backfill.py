"""Node-archive backfill throughput: fills/s from hourly LZ4 files to Arrow, and to landing Parquet.

Writes a synthetic archive (``hypertrack_pipeline.archive.synth``: the real field set and order, perps,
spot and dex-prefixed coins, rebates, builders, TWAPs, liquidations, dust conversions; one LZ4 file per
hour in the bucket's layout) in a temporary folder, then times, each stage in a fresh process so its
peak RSS is its own:

(a) the straightforward version: ``json.loads`` per line, a dict per fill, ``Table.from_pylist`` — on a
    sample (``--sample``) and extrapolated, as the table says;
(b) the candidates from the same files: orjson per line into columnar lists, polars ``read_ndjson``,
    ``pyarrow.json.read_json`` on the rewritten lines (whole hour in memory, and streamed from the LZ4
    file in chunks: the chosen one) and polars' CSV reader over the compact layout (streamed) — on
    ``--candidate-fills``;
(c) the chosen parser end to end: every file parsed and landed (one part per stream-hour via
    ``write_part``, ``exchange_fills`` and the ``trades`` paired from it), in one process and in one
    process per core.

    python bench/backfill.py [--fills 10000000] [--fills-per-hour 1000000] [--sample 1000000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

START = datetime(2025, 8, 1, tzinfo=UTC)


def _gen_hour(args: tuple[str, int, int]) -> tuple[str, int]:
    from hypertrack_pipeline.archive.synth import write_hour

    root, i, fills = args
    p = write_hour(Path(root), START + timedelta(hours=i), fills, index=i)
    return str(p), p.stat().st_size


def _peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _stage(name: str, paths: list[str], raw_dir: str) -> tuple[int, float, float]:
    """Run one stage over the files in this (fresh) process: (fills, seconds, peak RSS MB)."""
    import lz4.frame

    from hypertrack_pipeline.archive import parse

    fns = {"reference": parse.parse_hour_reference, "orjson": parse.parse_hour_orjson,
           "polars": parse.parse_hour_polars, "pyarrow": parse.parse_hour_pyarrow}
    n = 0
    t0 = time.perf_counter()
    if name in fns:
        for p in paths:
            with open(p, "rb") as fh:
                n += fns[name](lz4.frame.decompress(fh.read())).num_rows
    elif name in ("pyarrow-stream", "csv-stream"):
        for p in paths:
            with open(p, "rb") as fh:
                n += parse.parse_lz4(fh, csv=name == "csv-stream").num_rows
    elif name == "land-1":
        n = _land(paths, raw_dir, threads=2)
    elif name == "land-procs":
        with mp.get_context("spawn").Pool(os.cpu_count() or 1) as pool:
            n = sum(pool.map(_land_one, [(p, raw_dir) for p in paths], chunksize=1))
        return n, time.perf_counter() - t0, max(_peak_mb(), _peak_mb(resource.RUSAGE_CHILDREN))
    return n, time.perf_counter() - t0, _peak_mb()


def _land(paths: list[str], raw_dir: str, threads: int) -> int:
    from hypertrack_pipeline.archive import parse
    from hypertrack_pipeline.archive.land import land_file
    from hypertrack_pipeline.archive.schema import with_file_order
    n = 0
    for p in paths:
        node_hour = datetime.strptime(f"{Path(p).parent.name} {Path(p).stem}", "%Y%m%d %H").replace(tzinfo=UTC)
        with open(p, "rb") as fh:
            fills = with_file_order(parse.parse_lz4(fh, threads=threads), int(node_hour.timestamp() * 1000))
        land_file(Path(raw_dir), fills, node_hour)
        n += fills.num_rows
    return n


def _land_one(args: tuple[str, str]) -> int:
    return _land([args[0]], args[1], threads=1)


def _child(conn: object, name: str, paths: list[str], raw_dir: str) -> None:
    conn.send(_stage(name, paths, raw_dir))  # type: ignore[attr-defined]


def _run(name: str, paths: list[str], raw_dir: str = "") -> tuple[int, float, float]:
    """A stage in a fresh non-daemon process (it may start its own pool), for a peak RSS of its own."""
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, name, paths, raw_dir))
    proc.start()
    result = recv.recv()
    proc.join()
    return result


def _take(paths: list[str], per_hour: int, fills: int) -> list[str]:
    return paths[:max(1, -(-fills // per_hour))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fills", type=int, default=10_000_000, help="fills in the synthetic archive")
    ap.add_argument("--fills-per-hour", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=1_000_000, help="fills timed for the straightforward version")
    ap.add_argument("--candidate-fills", type=int, default=2_000_000, help="fills timed for each candidate")
    ap.add_argument("--skip-polars", action="store_true")
    ap.add_argument("--keep", help="write the archive and landing zone here and keep them")
    a = ap.parse_args()
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="hl-backfill-bench-"))
    cores = os.cpu_count() or 1
    try:
        hours = max(1, -(-a.fills // a.fills_per_hour))
        t = time.perf_counter()
        with mp.get_context("spawn").Pool(cores) as pool:
            made = pool.map(_gen_hour, [(str(work / "archive"), i, a.fills_per_hour) for i in range(hours)])
        paths = [p for p, _ in made]
        mb = sum(s for _, s in made) / 1e6
        print(f"synthetic archive: {hours} hourly files, {mb:.0f} MB LZ4, made in {time.perf_counter() - t:.0f} s "
              f"on {cores} cores", flush=True)

        rows: list[tuple[str, int, float, float, str]] = []

        def stage(label: str, name: str, files: list[str], note: str = "", raw: str = "") -> tuple[int, float]:
            n, sec, rss = _run(name, files, raw)
            rows.append((label, n, sec, rss, note))
            print(f"  {label}: {n:,} fills in {sec:.1f} s", flush=True)
            return n, sec

        ref_n, ref_s = stage("(a) json.loads per line", "reference", _take(paths, a.fills_per_hour, a.sample))
        ref_rate = ref_n / ref_s
        cand = _take(paths, a.fills_per_hour, a.candidate_fills)
        stage("(b) orjson per line → lists", "orjson", cand)
        if not a.skip_polars:
            stage("(b) polars read_ndjson", "polars", cand, "polars: not a dependency")
        stage("(b) pyarrow read_json, whole hour", "pyarrow", cand)
        stage("(b) pyarrow read_json, streamed [chosen]", "pyarrow-stream", cand)
        if not a.skip_polars:
            stage("(b) polars CSV, compact layout, streamed", "csv-stream", cand, "polars: not a dependency")
        stage("(c) chosen → landing Parquet, 1 process", "land-1", paths, "", str(work / "raw1"))
        stage(f"(c) chosen → landing Parquet, {cores} processes", "land-procs", paths, "", str(work / "raw2"))

        parts = sum(1 for _ in (work / "raw1").rglob("part-*.parquet"))
        print(f"\nlanding: {parts} parts in {work / 'raw1'} (exchange_fills + trades, one per stream-hour per file)")
        print(f"\n{'stage':44s} {'fills':>12s} {'seconds':>9s} {'fills/s':>11s} {'speed-up':>9s} {'peak RSS MB':>12s}")
        for label, n, sec, rss, note in rows:
            rate = n / sec
            print(f"{label:44s} {n:12,d} {sec:9.1f} {rate:11,.0f} {rate / ref_rate:8.1f}× {rss:12.0f}  {note}")
        total = hours * a.fills_per_hour
        print(f"{'(a) extrapolated to the whole archive':44s} {total:12,d} {total / ref_rate:9.1f} "
              f"{ref_rate:11,.0f} {1:8.1f}×  {'':12s}  timed on {ref_n:,} fills")
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
