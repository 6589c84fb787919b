"""Issue 16 (items 4, 5): every recording reaches the warehouse, and the recorder's edges.

Against the simulator's real server on 127.0.0.1 (no network mocks): a stop mid-hour closes the hour
as recorded; a later session reopens a closed hour (new parts, a rewritten marker, a new
fingerprint, no row lost); gaps after a failed first connect start at exchange time; a URL nobody
answers and an unknown coin are one-line errors with a non-zero exit; RPC keys never printed."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from hypertrack_pipeline.hyperliquid.session import SessionOptions
from hypertrack_pipeline.landing.zone import Hour, closed_hour_fingerprints, closed_hours
from hypertrack_pipeline.recorder.cli import RedactingFormatter, url_secrets
from hypertrack_pipeline.simulator.server import SimServer, TableSource

REPO = Path(__file__).resolve().parents[2]
T0 = 1_767_268_800_000  # 2026-01-01T12:00:00Z
MIN = 60_000
H12 = Hour.of_ms(T0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def record_cmd(data: Path, *args: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "hypertrack_pipeline.recorder", "--data-dir", str(data), "--status-interval", "0.5",
           "--ping-interval", "1", "--stall-timeout", "5", *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYPERTRACK_", "RECORD_", "MAINNET_"))}
    env["HYPERTRACK_ENV_FILE"] = str(data / "no.env")
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def trades(raw: Path) -> list[tuple]:
    return duckdb.sql(f"select coin, time, tid from read_parquet('{raw}/trades/**/part-*.parquet')").fetchall()


def marker(raw: Path, stream: str, hour: Hour) -> dict:
    return json.loads((raw / stream / hour.rel_dir() / "_SUCCESS").read_text())


def part_rows(raw: Path, stream: str, hour: Hour) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in (raw / stream / hour.rel_dir()).glob("part-*.parquet"))


def played_out(srv: SimServer, rt, timeout: float = 30.0) -> None:  # noqa: ANN001 - conftest.RecorderThread
    """Until the market is played out and the recorder has read every trades and bbo frame sent."""
    assert srv.wait_done(timeout)
    deadline = time.monotonic() + timeout
    c = rt.recorder.counters
    while time.monotonic() < deadline:
        sent = srv.stats()["sent_messages"]
        if c.msgs["trades"] >= sent.get("trades", 0) and c.msgs["bbo"] >= sent.get("bbo", 0):
            return
        time.sleep(0.05)
    raise AssertionError("the recorder did not read everything sent")


# ---- A. every recording reaches the warehouse ---------------------------------------------------

def test_max_runtime_mid_hour_closes_the_hour_with_the_recorded_rows(tmp_path: Path, make_market) -> None:  # noqa: ANN001
    data = tmp_path / "data"
    with SimServer(TableSource(make_market(1800, 2.0)), speed=60, paused=True) as srv:
        proc = record_cmd(data, "--ws-url", srv.ws_url, "--info-url", srv.info_url, "--coins", "BTC,ETH",
                          "--streams", "trades,bbo", "--max-runtime", "5", "--flush-seconds", "1",
                          "--close-grace", "60")
        try:
            assert srv.wait_subscriptions(4, timeout=30)
            srv.resume()
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        stopped_at = srv.sim_time_ms()
    assert proc.returncode == 0, err
    assert stopped_at < T0 + 30 * MIN  # the market was still inside hour 12: a stop mid-hour
    raw = data / "raw"
    for stream in ("trades", "bbo"):
        body = marker(raw, stream, H12)
        assert body["rows"] == part_rows(raw, stream, H12) > 0
        assert (body["complete"], body["closed_by"]) == (False, "stop")
    assert marker(raw, "trades", H12)["rows"] == len(trades(raw))
    assert closed_hours(raw) == [H12] and H12 in closed_hour_fingerprints(raw)  # the loader takes it
    report = (data / "data_collection_report.txt").read_text()
    assert "hours closed:      1 (1 on stop, as recorded)" in report


def test_a_later_session_reopens_the_closed_hour_and_no_row_is_lost(tmp_path: Path, run_recorder,  # noqa: ANN001
                                                                    make_market) -> None:
    raw = tmp_path / "data" / "raw"
    sent: set[tuple] = set()

    def session(t0: int, seconds: float, seed: int, speed: float):  # noqa: ANN202
        with SimServer(TableSource(make_market(seconds, 2.0, t0=t0, seed=seed)), speed=speed, paused=True) as srv:
            rt = run_recorder(ws_url=srv.ws_url, info_url=srv.info_url, coins=["BTC", "ETH"],
                              streams=("trades", "bbo"), close_grace_seconds=60.0, flush_seconds=0.3)
            assert srv.wait_subscriptions(4)
            srv.resume()
            played_out(srv, rt)
            sent.update(srv.sent_trades())
            assert rt.stop() == 0
        return rt.recorder

    # 1: 12:00-12:10, stopped mid-hour: hour 12 closed on stop
    session(T0, 600, seed=1, speed=200)
    first = marker(raw, "trades", H12)
    assert first["closed_by"] == "stop" and first["rows"] == len(trades(raw))
    first_parts = {p: (raw / "trades" / H12.rel_dir() / p).stat().st_mtime_ns for p in first["parts"]}
    fp1 = closed_hour_fingerprints(raw)[H12]

    # 2: a restart within the hour, 12:20-13:05: records on, the hour closes again when it ends
    rec2 = session(T0 + 20 * MIN, 45 * 60, seed=2, speed=900)
    second = marker(raw, "trades", H12)
    assert (second["closed_by"], second["complete"]) == ("watermark", False)  # the restart left a hole
    assert len(second["parts"]) > len(first["parts"]) and set(first["parts"]) <= set(second["parts"])
    assert rec2.writer.stats["trades"].late_rows == 0
    fp2 = closed_hour_fingerprints(raw)[H12]
    assert fp2 != fp1

    # 3: a restart after hour 12 closed, 12:58-13:08: its rows of hour 12 are late, and land
    rec3 = session(T0 + 58 * MIN, 10 * 60, seed=3, speed=300)
    third = marker(raw, "trades", H12)
    assert rec3.writer.stats["trades"].late_rows > 0 and rec3.writer.stats["trades"].hours_reopened >= 1
    assert len(third["parts"]) > len(second["parts"])
    assert closed_hour_fingerprints(raw)[H12] not in (fp1, fp2)
    report = (tmp_path / "data" / "data_collection_report.txt").read_text()
    assert f"late rows:         {rec3.writer.stats['trades'].late_rows} (arrived after their hour closed; landed" \
        in report

    # Nothing lost, nothing overwritten; every marker agrees with its parts.
    landed = trades(raw)
    assert set(landed) == sent and len(landed) == len(set(landed))
    assert third["rows"] == part_rows(raw, "trades", H12) == sum(1 for _, t, _ in landed if t < T0 + 60 * MIN)
    for name, mtime in first_parts.items():
        assert (raw / "trades" / H12.rel_dir() / name).stat().st_mtime_ns == mtime
    assert closed_hours(raw) == [H12, H12.next()]


# ---- B. recorder edges --------------------------------------------------------------------------

def test_gaps_after_a_failed_first_connect_start_at_exchange_time(tmp_path: Path, run_recorder,  # noqa: ANN001
                                                                   make_market) -> None:
    t0 = T0 - 200 * 24 * 3_600_000  # months before the wall clock: a wall-clock gap start would show
    port = free_port()
    session = SessionOptions(ping_interval_s=0.5, stall_timeout_s=5.0, backoff_base_s=0.05, backoff_max_s=0.3,
                             give_up_after_attempts=None)
    rt = run_recorder(ws_url=f"ws://127.0.0.1:{port}/ws", info_url=f"http://127.0.0.1:{port}/info",
                      coins=["BTC", "ETH"], streams=("trades", "bbo"), session=session, close_grace_seconds=600.0)
    deadline = time.monotonic() + 10
    while not rt.recorder.connections or rt.recorder.connections[0].failed_attempts < 3:
        assert time.monotonic() < deadline, "the recorder did not try to connect"
        time.sleep(0.05)
    drops = 3
    with SimServer(TableSource(make_market(3600, 4.0, t0=t0)), port=port, speed=30, paused=True) as srv:
        assert srv.wait_subscriptions(4, timeout=20)
        srv.resume()
        for _ in range(drops):
            n = rt.recorder.counters.msgs["trades"]
            deadline = time.monotonic() + 10
            while rt.recorder.counters.msgs["trades"] < n + 3:
                assert time.monotonic() < deadline, "no data after (re)connecting"
                time.sleep(0.05)
            assert srv.inject("drop") == 1
            assert srv.wait_subscriptions(4, timeout=20)
        time.sleep(1.0)
        srv.pause()
        end = srv.sim_time_ms()
        rt.stop()
    gaps = duckdb.sql(f"select stream, coin, start_ms, end_ms, cause from "
                      f"read_parquet('{tmp_path}/data/raw/gaps/**/part-*.parquet')").fetchall()
    assert gaps and all(t0 <= g[2] <= g[3] <= end + 600_000 for g in gaps), gaps  # exchange time only
    unknown = [g for g in gaps if "start unknown" in g[4]]
    assert {(g[0], g[1]) for g in unknown} == {(s, c) for s in ("trades", "bbo") for c in ("BTC", "ETH")}
    assert all(g[2] == g[3] and "connect failed" in g[4] for g in unknown)
    real = [g for g in gaps if "start unknown" not in g[4]]
    for key in {(g[0], g[1]) for g in unknown}:  # every disconnect after data flowed: a real gap row
        rows = [g for g in real if (g[0], g[1]) == key]
        assert sum(g[3] > g[2] for g in rows) >= drops, (key, rows)


def test_an_unreachable_ws_url_is_a_one_line_error_and_a_nonzero_exit(tmp_path: Path) -> None:
    port = free_port()
    t0 = time.monotonic()
    proc = record_cmd(tmp_path / "data", "--ws-url", f"ws://127.0.0.1:{port}/ws",
                      "--info-url", f"http://127.0.0.1:{port}/info", "--coins", "BTC", "--streams", "trades")
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, err
    assert time.monotonic() - t0 < 25  # a few attempts within ~10 s, not forever
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot connect to ws://127.0.0.1:{port}/") and "check --ws-url" in last
    assert "Traceback" not in err


def test_an_unknown_coin_is_a_one_line_error_naming_it(tmp_path: Path, make_market) -> None:  # noqa: ANN001
    with SimServer(TableSource(make_market(60, 1.0)), paused=True) as srv:
        proc = record_cmd(tmp_path / "data", "--ws-url", srv.ws_url, "--info-url", srv.info_url,
                          "--coins", "BTC,NOTACOIN", "--streams", "trades")
        try:
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert srv.connections_total == 0  # refused before connecting
    assert proc.returncode == 2, err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: --coins: unknown coin(s) NOTACOIN") and "BTC" in line and "ETH" in line


def test_rpc_keys_are_masked_in_stderr_and_the_report(tmp_path: Path, make_market) -> None:  # noqa: ANN001
    key = "abc123def456"  # 12 characters
    port = free_port()
    data = tmp_path / "data"
    with SimServer(TableSource(make_market(600, 1.0)), speed=10) as srv:
        proc = record_cmd(data, "--ws-url", srv.ws_url, "--info-url", srv.info_url, "--coins", "BTC",
                          "--streams", "trades,evm", "--max-runtime", "4", "-v",
                          "--rpc-url", f"http://user:{key}@127.0.0.1:{port}/v2/{key}?apikey={key}",
                          "--rpc-ws-url", f"ws://127.0.0.1:{port}/v2/{key}")
        try:
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert "HyperEVM head subscription at ws://127.0.0.1" in err  # the failing RPC was logged ...
    assert key not in out and key not in err  # ... without its key
    report = (data / "data_collection_report.txt").read_text()
    assert f"127.0.0.1:{port}/***" in report and key not in report


def test_log_lines_from_any_library_are_redacted() -> None:
    secrets = url_secrets("https://u:pw12@h.example/v2/abc123def456?k=1", None, "wss://h/evm")
    assert "abc123def456" in secrets and "k=1" in secrets and "pw12" in secrets and "evm" not in secrets
    fmt = RedactingFormatter("%(name)s: %(message)s", secrets)
    rec = logging.LogRecord("urllib3.connectionpool", logging.WARNING, __file__, 1,
                            "Retrying after %s: /v2/%s", ("ConnectionError", "abc123def456"), None)
    assert fmt.format(rec) == "urllib3.connectionpool: Retrying after ConnectionError: /v2/***"
