"""Recorder throughput: messages/s parsed and landed on one core, and its memory, against the local
protocol server playing a synthetic market as fast as it can (SPEC §12 budget: ≥ 20 000 msgs/s).

The server runs in a child process (pinned to another core when there is one); the recorder runs
here, pinned to one core, so the numbers are the recorder's alone. Prints a table.

    python bench/recorder.py [--trades 200000] [--books-per-trade 2] [--coins 8]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

T0 = 1_767_268_800_000


def build_market(n_trades: int, books_per_trade: float, n_coins: int, chunk: int = 50_000) -> list[dict]:
    """Synthetic landing-schema chunks: trades with wallets plus bbo/l2 snapshots."""
    import numpy as np
    import pyarrow as pa

    from hypertrack_pipeline.landing.schemas import BBO, L2BOOK, TRADES

    rng = np.random.default_rng(1)
    coins = [f"C{i}" for i in range(n_coins)]
    wallets = [f"0x{i:040x}" for i in range(1, 500)]
    out, tid, t = [], 1, T0
    for start in range(0, n_trades, chunk):
        n = min(chunk, n_trades - start)
        times = t + np.cumsum(rng.integers(1, 40, n))
        t = int(times[-1])
        b = rng.integers(0, len(wallets), n)
        trades = pa.table({
            "coin": [coins[i] for i in rng.integers(0, n_coins, n)], "side": ["B"] * n,
            "px": np.round(100 + rng.normal(0, 1, n), 2), "sz": np.round(rng.uniform(0.01, 5, n), 3),
            "time": times, "tid": np.arange(tid, tid + n), "hash": ["0x" + "0" * 64] * n,
            "buyer": [wallets[i] for i in b], "seller": [wallets[(i + 7) % len(wallets)] for i in b],
            "recv_ns": np.zeros(n, np.int64)}, schema=TRADES)
        tid += n
        m = int(n * books_per_trade / 2)
        bt = np.sort(rng.integers(int(times[0]), t + 1, m))
        bc = [coins[i] for i in rng.integers(0, n_coins, m)]
        mid = np.round(100 + rng.normal(0, 1, m), 2)
        bbo = pa.table({"coin": bc, "time": bt, "bid_px": mid - 0.01, "bid_sz": np.ones(m), "bid_n": np.ones(m, np.int32),
                        "ask_px": mid + 0.01, "ask_sz": np.ones(m), "ask_n": np.ones(m, np.int32),
                        "recv_ns": np.zeros(m, np.int64)}, schema=BBO)
        levels = 5
        l2 = pa.table({"coin": bc, "time": bt,
                       "bid_px": [[p - 0.01 * (k + 1) for k in range(levels)] for p in mid],
                       "bid_sz": [[1.0] * levels] * m, "bid_n": [[1] * levels] * m,
                       "ask_px": [[p + 0.01 * (k + 1) for k in range(levels)] for p in mid],
                       "ask_sz": [[1.0] * levels] * m, "ask_n": [[1] * levels] * m,
                       "recv_ns": np.zeros(m, np.int64)}, schema=L2BOOK)
        out.append({"trades": trades, "bbo": bbo, "l2book": l2})
    return out


def serve(args: argparse.Namespace) -> None:
    """Child process: build the market, print the port, play it when stdin says go."""
    from hypertrack_pipeline.simulator.server import SimServer, TableSource

    chunks = build_market(args.trades, args.books_per_trade, args.coins)
    srv = SimServer(TableSource(chunks), speed=0, paused=True, idle_timeout_s=600)
    srv.start()
    print(srv.port, flush=True)
    sys.stdin.readline()  # "go"
    srv.resume()
    srv.wait_done()
    print("done", srv.stats()["sent_messages"], flush=True)
    sys.stdin.readline()  # "stop"
    srv.stop()


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trades", type=int, default=200_000)
    p.add_argument("--books-per-trade", type=float, default=2.0, help="bbo + l2Book frames per trade frame")
    p.add_argument("--coins", type=int, default=8)
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(args)
        return

    from hypertrack_pipeline.hyperliquid.session import SessionOptions
    from hypertrack_pipeline.recorder.app import Recorder, RecorderOptions

    cpus = sorted(os.sched_getaffinity(0))
    child_cpus = cpus[1:] or cpus
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--trades", str(args.trades), "--books-per-trade",
         str(args.books_per_trade), "--coins", str(args.coins)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, child_cpus),  # noqa: PLW1509 - pinning only
    )
    os.sched_setaffinity(0, {cpus[0]})  # the recorder gets one core
    data = Path(tempfile.mkdtemp(prefix="bench-recorder-"))
    try:
        port = int(server.stdout.readline())
        coins = [f"C{i}" for i in range(args.coins)]
        opts = RecorderOptions(
            data_dir=data, streams=("trades", "bbo", "l2book"), ws_url=f"ws://127.0.0.1:{port}/ws",
            info_url=f"http://127.0.0.1:{port}/info", coins=coins, flush_seconds=5.0, close_grace_seconds=3600,
            status_interval_s=3600, session=SessionOptions(stall_timeout_s=30),
        )
        rec = Recorder(opts, out=open(os.devnull, "w"))  # noqa: SIM115
        thread = threading.Thread(target=rec.run, kwargs={"install_signals": False}, daemon=True)
        thread.start()
        while sum(1 for c in rec.connections if c.state == "live") < len(rec.connections) or not rec.connections:
            time.sleep(0.05)
        time.sleep(0.5)
        rss0 = rss_mb()
        cpu0 = sum(os.times()[:2])
        server.stdin.write("go\n")
        server.stdin.flush()
        t0 = time.perf_counter()
        samples = []
        done_line = None
        last_n, last_change = -1, time.perf_counter()
        while True:
            time.sleep(0.25)
            n = sum(rec.counters.msgs.values())
            samples.append(rss_mb())
            if n != last_n:
                last_n, last_change = n, time.perf_counter()
            if done_line is None and server.poll() is None:
                import select

                if select.select([server.stdout], [], [], 0)[0]:
                    done_line = server.stdout.readline().strip()
            if done_line is not None and time.perf_counter() - last_change > 1.0:
                break
        t_recv = last_change - t0
        rec.request_stop()
        thread.join(60)
        cpu_s = sum(os.times()[:2]) - cpu0  # recorder process CPU (it is pinned to one core)
        rows = {s: st.rows_written for s, st in rec.writer.stats.items() if st.rows_written}
        msgs = sum(rec.counters.msgs.values())
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        q = len(samples) // 4 or 1
        print()
        print("| measure | value |")
        print("|---|---|")
        print(f"| server sent (frames) | {done_line} |")
        print(f"| data messages received | {msgs:,} |")
        print(f"| rows landed | {', '.join(f'{k} {v:,}' for k, v in rows.items())} |")
        print(f"| seconds to receive and parse all | {t_recv:.2f} |")
        print(f"| **messages/s landed (one core)** | **{msgs / t_recv:,.0f}** |")
        print(f"| recorder CPU seconds (incl. final flush) | {cpu_s:.2f} |")
        print(f"| messages per CPU-second (a dedicated core) | {msgs / cpu_s:,.0f} |")
        print(f"| bad frames | {sum(rec.counters.bad.values())} |")
        print(f"| RSS before / at 25%, 50%, 75%, end (MB) | {rss0:.0f} / "
              f"{' / '.join(f'{samples[min(len(samples) - 1, i * q)]:.0f}' for i in (1, 2, 3))} / {samples[-1]:.0f} |")
        print(f"| peak RSS (MB) | {peak_mb:.0f} |")
        rate = max(msgs / t_recv, msgs / cpu_s)
        print(f"| budget ≥ 20 000 msgs/s | {'met' if rate >= 20_000 else 'NOT met'} "
              f"(wall rate is low when other processes share the core) |")
    finally:
        if server.poll() is None:
            try:
                server.stdin.write("stop\n")
                server.stdin.flush()
                server.wait(20)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                server.kill()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
