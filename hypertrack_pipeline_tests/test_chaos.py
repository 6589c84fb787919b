"""Crash safety: `hypertrack materialize` killed with SIGKILL at several points (inside the hour load,
inside the analysis, during training, while publishing), then run again. The rerun must finish
promptly (no pool slot left held by the dead run, which it releases and says so) and leave the same
warehouse, report and dashboard as a clean run — nothing half-built is reported "up to date"."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest

from hypertrack_pipeline.config import load_settings
from hypertrack_pipeline.simulator import SimConfig, simulate

pytestmark = pytest.mark.slow
KILL_AT = ["raw_hour_tables", "wallet_features", "wallet_model", "warehouse_snapshot"]
PROMPT_S = 150


def _cli(data: Path, *args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HYPERTRACK_DATA_DIR": str(data),
           "DAGSTER_HOME": str(data / "dagster_home")}
    return subprocess.Popen([sys.executable, "-m", "hypertrack_pipeline.cli", "materialize", "--data-dir", str(data),
                             *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def _run(data: Path) -> tuple[int, str, float]:
    t0 = time.monotonic()
    proc = _cli(data)
    out, _ = proc.communicate(timeout=PROMPT_S * 2)
    return proc.returncode, out, time.monotonic() - t0


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    """A small simulated landing zone, and the same market built by one clean run (the reference)."""
    base = tmp_path_factory.mktemp("chaos")
    template = base / "template"
    simulate(template, SimConfig(seed=11, wallets=60, days=0.25, prehistory_days=0))
    clean = base / "clean"
    shutil.copytree(template, clean)
    rc, out, _ = _run(clean)
    assert rc == 0, out
    return template, clean


# Bookkeeping of when each hour was loaded (load times differ between two runs by nature).
_LOAD_TIMES = ("landing_loads", "pnl_state_loads")


def _tables(path: Path) -> dict[str, dict[str, np.ndarray]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = 'main'").fetchall() if r[0] not in _LOAD_TIMES]
        return {n: con.execute(f"SELECT * FROM {n} ORDER BY ALL").fetchnumpy() for n in sorted(names)}
    finally:
        con.close()


def _same_warehouse(a: Path, b: Path) -> None:
    ta, tb = _tables(a), _tables(b)
    assert ta.keys() == tb.keys()
    for name in ta:
        assert ta[name].keys() == tb[name].keys(), name
        for col in ta[name]:
            x, y = ta[name][col], tb[name][col]
            assert len(x) == len(y), f"{name}.{col}: {len(x)} rows vs {len(y)}"
            if x.dtype.kind == "f":  # parallel float sums may differ in the last bits between runs
                fx, fy = np.ma.filled(np.ma.asarray(x), np.nan), np.ma.filled(np.ma.asarray(y), np.nan)
                assert np.allclose(fx, fy, rtol=1e-9, atol=1e-12, equal_nan=True), f"{name}.{col}"
            else:  # JSON text holds floats too (category confidences): compared to 12 significant digits
                assert [_text(v) for v in x.tolist()] == [_text(v) for v in y.tolist()], f"{name}.{col}"


def _text(v: object) -> str:
    text = str(v)
    if text[:1] in "[{":
        try:
            return json.dumps(json.loads(text, parse_float=lambda f: float(f"{float(f):.12g}")))
        except ValueError:
            pass
    return text


def _runs_left_started(data: Path) -> list[str]:
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(data / "dagster_home"))
    try:
        return [r.run_id for r in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))]
    finally:
        instance.dispose()


def _report(data: Path) -> list[str]:
    lines = (data / "reports" / "final_report.txt").read_text().splitlines()
    return [line for line in lines if not line.startswith("Generated:")]


def _dashboard(data: Path) -> str:
    """The data the page embeds (the rest is the template and the README), less its render time and id."""
    html = (data / "reports" / "wallet_dashboard.html").read_text()
    payload = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S)
    assert payload, "the dashboard embeds no data"
    return _scrub(json.loads(payload.group(1)))


def _scrub(value: object) -> object:
    """Strings less the generation time and the per-render id of the embedded payload."""
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"[0-9a-f]{12}", "X", re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "T", value))
    return value


def _same_payload(a: object, b: object, path: str = "") -> None:
    """Equal, numbers to 2e-6 relative: the page rounds them to 7 significant digits, where a last-bit
    difference of a parallel float sum can flip the 7th."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _same_payload(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_payload(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, int | float) and isinstance(b, int | float), path
        assert math.isclose(a, b, rel_tol=2e-6, abs_tol=1e-9), f"{path}: {a} != {b}"
    else:
        assert a == b, path


@pytest.mark.parametrize("step", KILL_AT)
def test_sigkill_then_rerun_equals_a_clean_run(market, tmp_path, step):
    template, clean = market
    data = tmp_path / "data"
    shutil.copytree(template, data)
    proc = _cli(data)
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if f"{step} …" in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    stuck = _runs_left_started(data)  # usually the killed run; none if it had just finished

    rc, out, seconds = _run(data)
    assert rc == 0, out
    assert seconds < PROMPT_S, f"the rerun took {seconds:.0f} s:\n{out}"
    if stuck:
        assert "released run" in out  # the dead run was found, marked failed, its pool slot freed
    assert not _runs_left_started(data)
    settings = load_settings(data)
    _same_warehouse(settings.warehouse_path, load_settings(clean).warehouse_path)
    _same_warehouse(settings.snapshot_path, load_settings(clean).snapshot_path)
    assert _report(data) == _report(clean)
    _same_payload(_dashboard(data), _dashboard(clean))
    again, out, _ = _run(data)  # and now it really is up to date
    assert again == 0 and "nothing to rebuild" in out
