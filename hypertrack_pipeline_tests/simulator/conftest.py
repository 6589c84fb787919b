"""One small simulated market shared by the simulator tests (simulated once per session)."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hypertrack_pipeline.simulator.market import SimConfig
from hypertrack_pipeline.simulator.writer import SimSummary, simulate

# HYPERTRACK_SIM_TEST_SEED lets a developer re-run the suite on other markets.
SMALL = SimConfig(seed=int(os.environ.get("HYPERTRACK_SIM_TEST_SEED", "11")), wallets=90, days=0.5, coins=4)


@pytest.fixture(scope="session")
def small_config() -> SimConfig:
    return SMALL


@pytest.fixture(scope="session")
def small_market(tmp_path_factory) -> tuple[Path, SimSummary]:
    out = tmp_path_factory.mktemp("sim") / "market"
    return out, simulate(out, SMALL)


def _read_stream(out: Path, stream: str) -> pa.Table:
    parts = sorted((out / "raw" / stream).glob("date=*/hour=*/part-*.parquet"))
    return pa.concat_tables([pq.read_table(p) for p in parts])


@pytest.fixture(scope="session")
def read_stream():
    """``read_stream(out, stream)``: every landed part of a stream, in folder order."""
    return _read_stream
