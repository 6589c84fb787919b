"""A simulated month in node-archive format (perp, spot and builder-dex coins), served by a local S3 endpoint
with requester pays: backfilled twice into identical warehouses; merged into the recorder's landing zone of
the same market without a duplicate trade; reconciled against the exchange's numbers at volume, and the
warehouse's fees, closed PnL and liquidations equal the simulator's exchange ground truth."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from pytest import approx

from hypertrack_pipeline.archive.backfill import backfill
from hypertrack_pipeline.archive.source import LocalArchive, S3Archive
from hypertrack_pipeline.landing.zone import closed_hour_fingerprints, closed_hours
from hypertrack_pipeline.simulator.market import SimConfig
from hypertrack_pipeline.simulator.writer import simulate
from hypertrack_pipeline.warehouse import build_wallet_pnl, load_hours
from hypertrack_pipeline.warehouse import reconcile as rc

pytest.importorskip("moto.server")
pytest.importorskip("s3fs")

from hypertrack_pipeline_tests.archive.s3server import s3_server  # noqa: E402
from hypertrack_pipeline_tests.archive.test_s3 import BUCKET, aws_env, upload  # noqa: E402, F401

START = datetime(2026, 1, 5, tzinfo=UTC)
DAYS = 30
END = START + timedelta(days=DAYS) - timedelta(hours=1)


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("month") / "sim"
    cfg = SimConfig(seed=3, wallets=24, days=DAYS, coins=("BTC", "@107", "xyz:NVDA"), start=START,
                    streams=("trades", "bbo"), prehistory_days=0)
    simulate(out, cfg, formats=("landing", "node-archive"))
    return out


def _warehouse(raw: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    load_hours(con, raw, closed_hours(raw))
    return con


def _landing_bytes(raw: Path) -> dict[str, bytes]:
    return {str(p.relative_to(raw)): p.read_bytes() for p in sorted(raw.rglob("*.parquet"))}


def test_a_simulated_month_backfills_from_s3_twice_identically_and_matches_the_exchange(
        month: Path, tmp_path: Path, aws_env: None) -> None:  # noqa: F811
    with s3_server() as server:
        server.requester_pays_buckets.add(BUCKET)
        assert upload(server.url, month) >= DAYS * 24
        s3 = S3Archive(f"s3://{BUCKET}", endpoint_url=server.url)
        raw, state = tmp_path / "a" / "raw", tmp_path / "a" / "state.json"
        first = backfill(raw, s3, START, END, state, say=lambda _: None)
        prints = closed_hour_fingerprints(raw)
        second = backfill(raw, s3, START, END, state, say=lambda _: None)  # idempotent: nothing changes
        assert second.files_read == 0 and closed_hour_fingerprints(raw) == prints
        again = backfill(tmp_path / "b" / "raw", s3, START, END, tmp_path / "b" / "state.json", say=lambda _: None)
    assert first.fills > 50_000 and not first.problems and again.fills == first.fills
    assert _landing_bytes(raw) == _landing_bytes(tmp_path / "b" / "raw")  # the same parts, byte for byte

    a = _warehouse(raw)
    recorded = duckdb.execute(f"SELECT count(DISTINCT (coin, time, tid)) FROM read_parquet("
                              f"'{month / 'raw' / 'trades'}/**/*.parquet')").fetchall()[0][0]
    assert a.execute("SELECT count(*) FROM trades").fetchall()[0][0] == recorded  # every trade the recorder saw
    build_wallet_pnl(a)
    summary = rc.build_reconciliation(a)
    for check in (rc.check_positions, rc.check_realized, rc.check_fills_are_trades):
        ok, meta = check(a)
        assert ok, meta
    assert summary["verified_groups"] > 0.5 * summary["groups"] and summary["checked_fills"] > 0.5 * first.fills

    a.register("truth", pq.read_table(month / "ground_truth" / "exchange_positions.parquet"))
    fees, builder, liqs, seeded = a.execute(
        "SELECT sum(fees), sum(builder_fees), sum(liquidations), sum(seeded_coins) FROM wallet_pnl").fetchall()[0]
    t_fees, t_builder, t_liqs, t_closed, t_seeded = a.execute("""
        SELECT sum(fees_usd), sum(builder_fees_usd), sum(liquidation_fills), sum(closed_pnl),
               count(*) FILTER (WHERE start_position <> 0) FROM truth""").fetchall()[0]
    assert fees == approx(t_fees, rel=1e-6) and builder == approx(t_builder, rel=1e-6)
    assert liqs == t_liqs and seeded == t_seeded
    assert a.execute("SELECT sum(closed_pnl) FROM exchange_fills").fetchall()[0][0] == approx(t_closed, rel=1e-6)


def test_the_recorders_hours_merge_with_the_archive_without_duplicates(month: Path, tmp_path: Path) -> None:
    day_end = START + timedelta(hours=23)
    merged = tmp_path / "raw"
    shutil.copytree(month / "raw", merged)
    backfill(merged, LocalArchive(month), START, day_end, tmp_path / "state.json", say=lambda _: None)
    hours = [h for h in closed_hours(merged) if START <= h.start <= day_end]
    both, recorded = duckdb.connect(), duckdb.connect()
    load_hours(both, merged, hours)
    load_hours(recorded, month / "raw", [h for h in closed_hours(month / "raw") if START <= h.start <= day_end])
    q = "SELECT count(*), sum(hash(coin, time_ms, tid, buyer, seller)) FROM trades"
    assert both.execute(q).fetchall() == recorded.execute(q).fetchall()
    assert both.execute("SELECT count(*) FROM exchange_fills").fetchall()[0][0] == 2 * both.execute(
        "SELECT count(*) FROM trades").fetchall()[0][0]
