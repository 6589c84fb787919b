"""The recorder as a real process (``python -m hypertrack_pipeline.recorder``): the acceptance run
with --max-runtime, SIGTERM (loses nothing) and SIGKILL (only readable parts, at most one flush
interval lost). Only processes started here are signalled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from hypertrack_pipeline.simulator.server import SimServer, TableSource

REPO = Path(__file__).resolve().parents[2]
STREAMS = ("trades", "bbo", "l2book", "candles")


def spawn(srv: SimServer, data: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "hypertrack_pipeline.recorder", "--ws-url", srv.ws_url, "--info-url", srv.info_url,
           "--data-dir", str(data), "--coins", "BTC,ETH", "--status-interval", "0.5",
           "--ping-interval", "1", "--stall-timeout", "5", *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYPERTRACK_", "RECORD_", "MAINNET_"))}
    env["HYPERTRACK_ENV_FILE"] = str(data / "no.env")
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            restore_signals=True)


def landed(data: Path) -> list[tuple]:
    return duckdb.sql(f"select coin, time, tid from read_parquet('{data}/raw/trades/**/part-*.parquet')").fetchall()


def test_acceptance_run_lands_every_stream_and_closes_hours(tmp_path: Path, make_market) -> None:  # noqa: ANN001
    data = tmp_path / "data"
    with SimServer(TableSource(make_market(2 * 3600, 1.0, books_per_s=0.5)), speed=1800, paused=True) as srv:
        proc = spawn(srv, data, "--streams", "trades,bbo,l2book,candles", "--max-runtime", "8",
                     "--flush-seconds", "1", "--close-grace", "60")
        try:
            assert srv.wait_subscriptions(8, timeout=30)
            srv.resume()
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, out.decode()
    for stream in STREAMS:
        files = list((data / "raw" / stream).rglob("part-*.parquet"))
        assert files and all(pq.ParquetFile(f).metadata.num_rows > 0 for f in files), stream
        assert list((data / "raw" / stream).rglob("_SUCCESS")), stream
    got, sent = landed(data), srv.sent_trades()
    # --max-runtime stops while the market still flows: frames on the wire at that moment are not read.
    assert len(got) == len(set(got)) and set(got) <= set(sent) and len(got) >= 0.98 * len(sent)
    assert (data / "data_collection_report.txt").is_file()
    assert b"[record]" in out
    # ... and the Dagster landing sensor picks up exactly the hours the recorder closed
    import dagster as dg

    from hypertrack_pipeline.defs.automation import landing_sensor
    from hypertrack_pipeline.defs.resources import HypertrackSettings
    from hypertrack_pipeline.landing.zone import closed_hours

    closed = [h.key for h in closed_hours(data / "raw")]
    assert closed
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources={"hypertrack": HypertrackSettings(
            data_dir=str(data))})
        (request,) = landing_sensor(ctx).run_requests  # every closed hour, in one run
        assert request.tags["dagster/asset_partition_range_start"] == closed[0]
        assert request.tags["dagster/asset_partition_range_end"] == closed[-1]
        assert list(instance.get_dynamic_partitions("landing_hours")) == closed


def test_sigterm_loses_nothing(tmp_path: Path, make_market) -> None:  # noqa: ANN001
    data = tmp_path / "data"
    with SimServer(TableSource(make_market(3600, 3.0)), speed=60, paused=True) as srv:
        # A flush interval longer than the run: everything lands at the SIGTERM flush.
        proc = spawn(srv, data, "--streams", "trades,bbo", "--flush-seconds", "300")
        try:
            assert srv.wait_subscriptions(4, timeout=30)
            srv.resume()
            time.sleep(3.0)
            srv.pause()
            time.sleep(1.5)  # let the recorder read what is already on the wire
            sent = srv.sent_trades()
            assert not list((data / "raw" / "trades").rglob("part-*.parquet"))  # nothing flushed yet
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, out.decode()
    got = landed(data)
    assert len(sent) > 300
    assert sorted(got) == sorted(sent)


def test_sigkill_leaves_readable_parts_and_loses_at_most_one_flush_interval(tmp_path: Path, make_market) -> None:  # noqa: ANN001
    data = tmp_path / "data"
    speed, flush_s = 60, 1.0
    with SimServer(TableSource(make_market(3600, 3.0)), speed=speed, paused=True) as srv:
        proc = spawn(srv, data, "--streams", "trades,bbo,l2book", "--flush-seconds", str(flush_s))
        try:
            assert srv.wait_subscriptions(6, timeout=30)
            srv.resume()
            time.sleep(4.0)
            killed_at = srv.sim_time_ms()
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
            sent = srv.sent_trades()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == -signal.SIGKILL
    for f in (data / "raw").rglob("*"):
        if f.is_file():
            assert f.name.startswith("part-") or f.name.startswith(".part-"), f  # a temp part at most
            if f.name.startswith("part-"):
                pq.read_table(f)  # every landed part is complete and readable
    got = set(landed(data))
    assert got <= set(sent)
    slack_ms = int((flush_s + 1.5) * speed * 1000)  # one flush interval + scheduling slack, in market time
    must = {t for t in sent if t[1] < killed_at - slack_ms}
    assert len(must) > 100
    assert must <= got
