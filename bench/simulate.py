"""Simulator throughput: fills/s and peak memory when writing a landing zone of 1M and 10M fills.

    .venv/bin/python bench/simulate.py [--sizes 1000000,10000000] [--wallets 2000] [--days 3]

Each size runs in a fresh subprocess (so its peak RSS is its own) into a temporary folder that is
removed afterwards. Prints a table; this is a script, not a test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = r"""
import json, resource, sys, time
from hypertrack_pipeline.simulator import SimConfig, simulate
out, fills, wallets, days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
t0 = time.perf_counter()
s = simulate(out, SimConfig(seed=7, wallets=wallets, days=days, target_fills=fills))
dt = time.perf_counter() - t0
print(json.dumps({"fills": s.fills, "trades": s.trades, "seconds": dt, "files": s.files,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,10000000", help="target fills, comma separated")
    ap.add_argument("--wallets", type=int, default=2000)
    ap.add_argument("--days", type=float, default=3.0)
    args = ap.parse_args()
    rows = []
    for target in (int(x) for x in args.sizes.split(",")):
        tmp = Path(tempfile.mkdtemp(prefix="hypertrack-bench-sim-"))
        try:
            proc = subprocess.run(
                [sys.executable, "-c", _CHILD, str(tmp / "out"), str(target), str(args.wallets), str(args.days)],
                capture_output=True, text=True, check=True,
            )
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            r["target"] = target
            r["disk_mb"] = _disk_mb(tmp / "out")
            rows.append(r)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    header = f"{'target fills':>12} {'fills':>11} {'trades':>10} {'seconds':>8} {'fills/s':>10} {'peak MB':>8} {'disk MB':>8}"
    print(f"simulate: {args.wallets} wallets, {args.days:g} days, all streams (landing zone + ground truth)")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['target']:>12,} {r['fills']:>11,} {r['trades']:>10,} {r['seconds']:>8.1f} "
              f"{r['fills'] / r['seconds']:>10,.0f} {r['peak_mb']:>8.0f} {r['disk_mb']:>8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
