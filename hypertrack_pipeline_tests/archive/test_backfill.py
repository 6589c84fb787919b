"""`hypertrack backfill` from a local mirror: lands exchange_fills and trades per fill hour, closes the hours,
is idempotent (a second run changes nothing), resumes after an interruption without loss or duplicates
in the warehouse, reports a missing archive hour as a gap, and the real 2-block fixture goes through."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import lz4.frame
import pytest

from hypertrack_pipeline.archive.backfill import backfill, parse_when
from hypertrack_pipeline.archive.source import LocalArchive
from hypertrack_pipeline.archive.synth import write_archive
from hypertrack_pipeline.cli import main as cli_main
from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.landing.zone import closed_hour_fingerprints, closed_hours
from hypertrack_pipeline.warehouse import load_hours

FIXTURE = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "hyperliquid" / "node_fills_by_block" \
    / "sample_2_blocks.jsonl"
T0 = datetime(2025, 8, 1, 0, tzinfo=UTC)


def _warehouse(raw: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    load_hours(con, raw, closed_hours(raw))
    return con


def _mirror(tmp_path: Path, hours: int = 3) -> Path:
    root = tmp_path / "mirror"
    write_archive(root, T0, hours + 1, fills_per_hour=2_000)  # one more file: the last hour's spill-over
    return root


def test_backfill_lands_closes_and_a_second_run_changes_nothing(tmp_path):
    root, raw, state = _mirror(tmp_path), tmp_path / "data" / "raw", tmp_path / "data" / "state" / "bf.json"
    first = backfill(raw, LocalArchive(root), T0, parse_when("2025-08-01-02", end=True), state, say=lambda _: None)
    assert first.files_read == 4 and first.fills > 5_000 and first.trades > 0
    assert [h.key for h in closed_hours(raw)] == ["2025-08-01-00:00", "2025-08-01-01:00", "2025-08-01-02:00"]
    prints = closed_hour_fingerprints(raw)
    files = sorted(p.relative_to(raw) for p in raw.rglob("*") if p.is_file())
    second = backfill(raw, LocalArchive(root), T0, parse_when("2025-08-01-02", end=True), state, say=lambda _: None)
    assert second.files_read == 0 and second.files_skipped == 4 and second.hours_closed == []
    assert closed_hour_fingerprints(raw) == prints  # no marker rewritten: the plan loads nothing again
    assert sorted(p.relative_to(raw) for p in raw.rglob("*") if p.is_file()) == files
    con = _warehouse(raw)
    n_fills, n_trades = con.execute("SELECT (SELECT count(*) FROM exchange_fills), (SELECT count(*) FROM trades)").fetchall()[0]
    assert n_fills == first.fills and n_trades == first.trades
    # every trade is the pair of its two fills; no fill lies outside the range
    bad = con.execute("""SELECT count(*) FROM trades t WHERE NOT EXISTS (SELECT 1 FROM exchange_fills f
        WHERE f.coin = t.coin AND f.time_ms = t.time_ms AND f.tid = t.tid AND f.wallet = t.buyer AND f.side = 'B')""")
    assert bad.fetchall()[0][0] == 0
    lo, hi = con.execute("SELECT min(time_ms), max(time_ms) FROM exchange_fills").fetchall()[0]
    assert lo >= T0.timestamp() * 1000 and hi < T0.timestamp() * 1000 + 3 * 3_600_000


def test_an_interrupted_backfill_resumes_without_loss_or_duplicates(tmp_path):
    root = _mirror(tmp_path)
    clean_raw, raw = tmp_path / "clean" / "raw", tmp_path / "data" / "raw"
    end = parse_when("2025-08-01-02", end=True)
    backfill(clean_raw, LocalArchive(root), T0, end, tmp_path / "clean.json", say=lambda _: None)
    state = tmp_path / "data" / "state" / "bf.json"
    # "killed" after the first file landed its parts but before it was recorded, then restarted
    backfill(raw, LocalArchive(root), T0, T0, tmp_path / "throwaway.json", say=lambda _: None)
    resumed = backfill(raw, LocalArchive(root), T0, end, state, say=lambda _: None)
    assert resumed.files_read == 4  # the interrupted file is landed again …
    a, b = _warehouse(clean_raw), _warehouse(raw)
    q = "SELECT count(*), round(sum(px * sz), 2), round(sum(coalesce(fee, 0)), 4) FROM exchange_fills"
    assert b.execute(q).fetchall() == a.execute(q).fetchall()  # … and deduplicated on load: no duplicate
    q = "SELECT count(*), round(sum(px * sz), 2) FROM trades"
    assert b.execute(q).fetchall() == a.execute(q).fetchall()


def test_a_missing_archive_hour_is_a_gap_and_the_rest_goes_on(tmp_path):
    root, raw = _mirror(tmp_path), tmp_path / "data" / "raw"
    (root / "node_fills_by_block" / "hourly" / "20250801" / "1.lz4").unlink()
    said: list[str] = []
    summary = backfill(raw, LocalArchive(root), T0, parse_when("2025-08-01-02", end=True), tmp_path / "s.json",
                       say=said.append)
    assert len(summary.problems) == 1 and "01h is missing" in said[0]
    con = _warehouse(raw)
    gaps = con.execute("SELECT stream, cause FROM gaps").fetchall()
    assert gaps == [("exchange_fills", gaps[0][1])] and "missing" in gaps[0][1]
    assert con.execute("SELECT count(DISTINCT hour) FROM exchange_fills").fetchall()[0][0] == 3  # spill fills hour 1


def test_bad_dates_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="not a date"):
        parse_when("yesterday", end=False)
    with pytest.raises(UserError, match="before --from"):
        backfill(tmp_path, LocalArchive(tmp_path), T0, datetime(2025, 7, 1, tzinfo=UTC), tmp_path / "s.json")


def test_the_real_fixture_backfills_through_the_cli(tmp_path, capsys):
    if not FIXTURE.is_file():
        pytest.skip("../shared/fixtures/hyperliquid/node_fills_by_block is not present")
    root = tmp_path / "mirror" / "node_fills_by_block" / "hourly" / "20260315"
    root.mkdir(parents=True)
    (root / "0.lz4").write_bytes(lz4.frame.compress(FIXTURE.read_bytes()))
    data = tmp_path / "data"
    args = ["backfill", "--source", str(tmp_path / "mirror"), "--from", "2026-03-14-23", "--to", "2026-03-15-00",
            "--data-dir", str(data), "--quiet"]
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert "backfilled 1,362 fills" in out
    con = _warehouse(data / "raw")
    fills, trades, coins = con.execute("""SELECT count(*), (SELECT count(*) FROM trades),
        count(DISTINCT coin) FILTER (WHERE coin LIKE '%:%' OR coin LIKE '@%') FROM exchange_fills""").fetchall()[0]
    assert fills == 1362 and trades == 32 and coins > 0  # dust conversions are fills, not trades
    shutil.rmtree(tmp_path / "mirror")
    assert cli_main(args) == 2  # the mirror is gone: one line, no traceback
