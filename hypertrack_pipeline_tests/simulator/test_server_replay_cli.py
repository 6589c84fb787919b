"""Replay of real captures through the server, and the ``serve-sim`` command."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import websocket

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.simulator import server_cli
from hypertrack_pipeline.simulator.replay import ReplaySource
from hypertrack_pipeline.simulator.server import SimServer

REPO = Path(__file__).resolve().parents[2]


def connect(url: str) -> websocket.WebSocket:
    ws = websocket.create_connection(url, timeout=5)
    assert ws.recv() == "Websocket connection established."
    return ws


def subscribe(ws: websocket.WebSocket, sub: dict) -> None:
    ws.send(json.dumps({"method": "subscribe", "subscription": sub}))
    assert json.loads(ws.recv())["channel"] == "subscriptionResponse"


def test_replay_forwards_the_captured_frames_byte_for_byte(hl_fixtures: Path) -> None:
    capture = hl_fixtures / "ws" / "hype_20250112_sample.log"
    raw = {}
    for line in capture.read_text().splitlines():
        frame = line.split(" ", 1)[1]
        raw.setdefault(json.loads(frame)["channel"], frame)
    src = ReplaySource(capture)
    assert [u["name"] for u in src.universe()] == ["HYPE"]
    with SimServer(src, speed=0, paused=True) as server:
        ws = connect(server.ws_url)
        subscribe(ws, {"type": "trades", "coin": "HYPE"})
        subscribe(ws, {"type": "l2Book", "coin": "HYPE"})
        other = connect(server.ws_url)
        subscribe(other, {"type": "trades", "coin": "BTC"})
        server.resume()
        assert server.wait_done(5)
        assert ws.recv() == raw["trades"]
        assert ws.recv() == raw["l2Book"]
        other.settimeout(0.3)
        with pytest.raises(websocket.WebSocketTimeoutException):
            other.recv()  # nothing of HYPE goes to a BTC subscriber, and acks are not replayed
        ws.close()
        other.close()
    assert len(server.sent_trades()) == len(json.loads(raw["trades"])["data"])


def test_replay_keeps_relative_timing_times_speed(tmp_path: Path) -> None:
    capture = tmp_path / "cap.log"
    base = 1_736_682_893_000_000_000
    lines = []
    for i in range(4):
        frame = {"channel": "bbo", "data": {"coin": "ETH", "time": 1_736_682_893_000 + i * 1000,
                                            "bbo": [{"px": "3300.0", "sz": "1.0", "n": 1}, None]}}
        lines.append(f"{base + i * 1_000_000_000} {json.dumps(frame)}")
    capture.write_text("\n".join(lines) + "\n")
    # 1 s apart in the capture, replayed 2x faster, by a server running 5x real time: 0.1 s apart
    with SimServer(ReplaySource(capture, speed=2.0), speed=5.0, paused=True) as server:
        ws = connect(server.ws_url)
        subscribe(ws, {"type": "bbo", "coin": "ETH"})
        server.resume()
        arrivals = []
        for _ in range(4):
            assert json.loads(ws.recv())["channel"] == "bbo"
            arrivals.append(time.monotonic())
        ws.close()
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert 0.25 < sum(gaps) < 1.5, gaps  # unthrottled it would be ~0


def test_replay_rejects_missing_and_garbled_files(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        ReplaySource(tmp_path / "absent.log")
    bad = tmp_path / "bad.log"
    bad.write_text("not-a-number {}\n")
    with pytest.raises(UserError, match="bad.log:1"):
        ReplaySource(bad)


def test_fault_specs_and_register() -> None:
    assert server_cli.parse_fault("drop@30s") == ("drop", 30.0, {})
    assert server_cli.parse_fault("stall:5@20") == ("stall", 20.0, {"seconds": 5.0})
    assert server_cli.parse_fault("duplicate:3@1.5s") == ("duplicate", 1.5, {"n": 3})
    for bad in ("explode@3s", "drop", "malformed:2@1s"):
        with pytest.raises(UserError):
            server_cli.parse_fault(bad)
    assert server_cli.parse_start("2025-01-12T00:00:00Z") == 1_736_640_000_000
    with pytest.raises(UserError):
        server_cli.parse_start("yesterday")
    parser = argparse.ArgumentParser()
    server_cli.register(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["serve-sim", "--port", "0", "--speed", "0", "--fault", "drop@3s", "--seed", "3"])
    assert args.func is server_cli.run and args.port == 0 and args.speed == 0.0
    assert args.fault == ["drop@3s"] and args.seed == 3 and args.host == "127.0.0.1"


def test_serve_sim_command_serves_until_interrupted(hl_fixtures: Path) -> None:
    capture = hl_fixtures / "ws" / "hype_20250112_sample.log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hypertrack_pipeline.simulator.server_cli", "--port", "0", "--replay", str(capture),
         "--speed", "1", "--fault", "malformed@1.5s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )
    try:
        urls = {}
        while len(urls) < 3:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            if ":" in line and "://" in line:
                name, url = line.strip().split(": ", 1)
                urls[name.strip()] = url.strip()
        assert urls["WebSocket"].startswith("ws://127.0.0.1:") and urls["WebSocket"].endswith("/ws")
        assert urls["Info"].endswith("/info") and urls["HyperEVM"].endswith("/evm")
        ws = connect(urls["WebSocket"])
        ws.send(json.dumps({"method": "ping"}))
        assert json.loads(ws.recv()) == {"channel": "pong"}
        frame = ws.recv()  # the scheduled malformed frame
        with pytest.raises(json.JSONDecodeError):
            json.loads(frame)
        ws.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "serve-sim stopped" in out and "'malformed': 1" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_sim_reports_user_errors_on_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run(
        [sys.executable, "-m", "hypertrack_pipeline.simulator.server_cli", "--replay", str(tmp_path / "nope.log")],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=30,
    )
    assert res.returncode != 0
    assert res.stderr.strip().count("\n") == 0 and "does not exist" in res.stderr
