"""A backfill killed with SIGKILL in the middle of a run resumes on restart without loss or duplicates:
the warehouse built from the resumed landing zone equals the one from an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from hypertrack_pipeline.archive.synth import write_archive
from hypertrack_pipeline.landing.zone import closed_hours
from hypertrack_pipeline.warehouse import load_hours

T0 = datetime(2025, 8, 1, 0, tzinfo=UTC)
HOURS = 16


def _cmd(mirror: Path, data: Path) -> list[str]:
    return [sys.executable, "-m", "hypertrack_pipeline.cli", "backfill", "--source", str(mirror), "--from",
            "2025-08-01-00", "--to", f"2025-08-01-{HOURS - 1:02d}", "--data-dir", str(data), "--quiet",
            "--threads", "1"]


def _done(data: Path) -> int:
    try:
        return len(json.loads((data / "state" / "backfill.json").read_text())["done"])
    except (FileNotFoundError, ValueError, KeyError):
        return 0


def _dump(raw: Path) -> tuple:
    con = duckdb.connect()
    load_hours(con, raw, closed_hours(raw))
    return (con.execute("SELECT count(*), count(DISTINCT (coin, time_ms, tid, wallet, side, oid)), "
                        "sum(hash(wallet, tid, seq)) FROM exchange_fills").fetchall(),
            con.execute("SELECT count(*), sum(hash(coin, tid, buyer, seller)) FROM trades").fetchall(),
            [h.key for h in closed_hours(raw)])


def test_a_killed_backfill_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    write_archive(mirror, T0, HOURS + 1, fills_per_hour=25_000)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    subprocess.run(_cmd(mirror, clean), check=True, env=env, capture_output=True, timeout=600)

    proc = subprocess.Popen(_cmd(mirror, killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while _done(killed) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    at_kill = _done(killed)
    assert 3 <= at_kill < HOURS + 1, f"the run was not interrupted mid-way ({at_kill} files done)"
    assert len(closed_hours(killed / "raw")) < HOURS  # hours were still open when it died

    rerun = subprocess.run(_cmd(mirror, killed), check=True, env=env, capture_output=True, text=True, timeout=600)
    assert f"({at_kill} already landed)" in rerun.stdout
    assert _dump(killed / "raw") == _dump(clean / "raw")
