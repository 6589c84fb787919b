"""Loading a hand-made landing zone: tables, fills, dedup across parts, idempotency, backfill ranges."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.landing.schemas import STREAM_SCHEMAS
from hypertrack_pipeline.landing.zone import Hour, write_part
from hypertrack_pipeline.warehouse import ensure_schema, load_hours
from hypertrack_pipeline.warehouse.schema import declared_columns, table_columns
from hypertrack_pipeline_tests.warehouse.conftest import A, B, C, all_hours, l2, market_landing
from hypertrack_pipeline_tests.warehouse.landing_builder import HOUR, T0, trade


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            for t in ("trades", "fills", "bbo", "l2_snapshots", "candles", "evm_transactions",
                      "evm_token_transfers", "gaps")}


def test_tables_match_the_declared_ddl(tmp_path: Path) -> None:
    con = duckdb.connect()
    ensure_schema(con)
    ensure_schema(con)  # idempotent
    from hypertrack_pipeline.warehouse.schema import INTERNAL_TABLES, RAW_TABLE_DEFS

    declared = declared_columns((*RAW_TABLE_DEFS, *INTERNAL_TABLES))
    for table in ("trades", "fills", "bbo", "l2_snapshots", "candles", "gaps", "landing_loads"):
        assert table_columns(con, table) == declared[table]
    assert declared["fills"]["side_sign"] == "INTEGER" and declared["l2_snapshots"]["bid_px"] == "DOUBLE[]"
    for table in ("trades", "bbo", "l2_snapshots", "candles", "evm_blocks", "gaps"):
        assert declared[table]["hour"] == "TIMESTAMP"


def test_load_market(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    market_landing(raw)
    con = duckdb.connect()
    got = load_hours(con, raw, all_hours(T0, 5))
    assert got["trades"] == 5 and got["fills"] == 10 and got["bbo"] == 4 and got["l2_snapshots"] == 2
    assert got["candles"] == 3 and got["evm_transactions"] == 2 and got["evm_token_transfers"] == 2
    assert got["gaps"] == 0 and got["evm_blocks"] == 0  # no folder → 0 rows
    # the bulk-load setting is the connection's own and is given back
    assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0] is True
    assert counts(con)["fills"] == 10
    # fills of the first BTC trade: A bought as taker from maker B
    rows = con.execute("""SELECT wallet, side, side_sign, is_maker, notional, counterparty FROM fills
                          WHERE coin = 'BTC' AND tid = 1 ORDER BY side""").fetchall()
    assert rows == [(A, "B", 1, False, 111.0, B), (B, "S", -1, True, 111.0, A)]
    ts, hour, mid = con.execute("SELECT ts, hour, mid FROM bbo ORDER BY time_ms LIMIT 1").fetchall()[0]
    assert ts == datetime(2026, 1, 5, 0, 0) and hour == datetime(2026, 1, 5, 0, 0) and mid == 100.0
    assert con.execute("SELECT mid FROM l2_snapshots ORDER BY time_ms").fetchall() == [(10.0,), (12.0,)]
    late = con.execute("SELECT hour FROM trades WHERE tid = 3 AND coin = 'BTC'").fetchall()[0][0]
    assert late == datetime(2026, 1, 5, 1, 0)


def test_reload_is_idempotent_and_replaces_the_hour(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    market_landing(raw)
    con = duckdb.connect()
    hours = all_hours(T0, 5)
    load_hours(con, raw, hours)
    before = counts(con)
    load_hours(con, raw, hours)
    load_hours(con, raw, [hours[0]])
    assert counts(con) == before
    # a late part for hour 0 shows up on reload (replace, not append)
    write_part(raw, "trades", hours[0], pa.Table.from_pylist(
        [trade("BTC", "A", 100.0, 1.0, T0 + 9000, 99, C, A)], schema=STREAM_SCHEMAS["trades"]))
    got = load_hours(con, raw, [hours[0].key])  # partition keys work too
    assert got["trades"] == 5 and counts(con)["trades"] == before["trades"] + 1  # 4 landed before + 1
    assert counts(con)["fills"] == 2 * counts(con)["trades"]


def test_duplicate_trade_across_parts_counted_once(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    hour = Hour.of_ms(T0)
    schema = STREAM_SCHEMAS["trades"]
    first = [trade("BTC", "B", 100.0, 1.0, T0 + 1000, 1, A, B), trade("BTC", "B", 101.0, 1.0, T0 + 2000, 2, A, B)]
    # reconnect overlap: tid 2 again in the next part, plus a new trade; same tid on another coin is distinct
    second = [trade("BTC", "B", 101.0, 1.0, T0 + 2000, 2, A, B), trade("BTC", "A", 99.0, 2.0, T0 + 3000, 3, B, A),
              trade("ETH", "B", 10.0, 1.0, T0 + 2000, 2, A, B)]
    write_part(raw, "trades", hour, pa.Table.from_pylist(first, schema=schema))
    write_part(raw, "trades", hour, pa.Table.from_pylist(second, schema=schema))
    con = duckdb.connect()
    got = load_hours(con, raw, [hour.start])
    assert got["trades"] == 4 and got["fills"] == 8
    assert con.execute("SELECT sum(sz) FROM trades WHERE coin = 'BTC'").fetchall()[0][0] == 4.0


def test_backfill_range_in_one_call(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    schema = STREAM_SCHEMAS["trades"]
    hours = all_hours(T0, 30)
    for i, h in enumerate(hours):
        write_part(raw, "trades", h, pa.Table.from_pylist(
            [trade("BTC", "B", 100.0 + i, 1.0, h.start_ms + 5, i, A, B)], schema=schema))
        write_part(raw, "l2book", h, pa.Table.from_pylist([l2("BTC", h.start_ms, 99.0, 101.0)],
                                                         schema=STREAM_SCHEMAS["l2book"]))
    con = duckdb.connect()
    got = load_hours(con, raw, [h.start for h in hours], streams=["trades"])
    assert got == {"trades": 30, "fills": 60}
    assert con.execute("SELECT count(DISTINCT hour) FROM fills").fetchall()[0][0] == 30
    assert counts(con)["l2_snapshots"] == 0  # stream not asked for


def test_user_errors(tmp_path: Path) -> None:
    con = duckdb.connect()
    with pytest.raises(UserError, match="does not exist"):
        load_hours(con, tmp_path / "nope", [datetime(2026, 1, 5, tzinfo=UTC)])
    (tmp_path / "raw").mkdir()
    with pytest.raises(UserError, match="unknown stream"):
        load_hours(con, tmp_path / "raw", [datetime(2026, 1, 5, tzinfo=UTC)], streams=["tradez"])
    with pytest.raises(UserError, match="timezone"):
        load_hours(con, tmp_path / "raw", [datetime(2026, 1, 5)])


def test_failed_load_rolls_back(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    market_landing(raw)
    con = duckdb.connect()
    load_hours(con, raw, all_hours(T0, 1))
    before = counts(con)
    con.execute("ALTER TABLE candles DROP COLUMN n_trades")  # an insert that cannot succeed, whatever the files
    with pytest.raises(duckdb.Error):
        load_hours(con, raw, all_hours(T0, 1))
    assert counts(con) == before  # the hour's deletes were rolled back with the failed insert
    assert HOUR > 0


@pytest.mark.parametrize("damage", ["zero_bytes", "truncated", "garbage"])
def test_an_unreadable_part_is_quarantined_and_everything_else_loads(tmp_path: Path, damage: str) -> None:
    from hypertrack_pipeline.warehouse.audit import QUARANTINE

    raw = tmp_path / "raw"
    market_landing(raw)
    con = duckdb.connect()
    clean = load_hours(con, raw, all_hours(T0, 2))
    part = sorted((raw / "bbo" / Hour.of_ms(T0).rel_dir()).glob("part-*.parquet"))[0]
    data = part.read_bytes()
    part.write_bytes({"zero_bytes": b"", "truncated": data[: len(data) // 2], "garbage": b"not parquet"}[damage])
    problems: list = []
    got = load_hours(con, raw, all_hours(T0, 2), problems=problems)
    assert got["trades"] == clean["trades"] and got["candles"] == clean["candles"]  # other streams untouched
    assert got["bbo"] < clean["bbo"]  # only the bad part's rows are missing
    assert [p.kind for p in problems] == ["quarantined"] and part.name in problems[0].message
    assert not part.exists() and (raw / QUARANTINE / "bbo" / Hour.of_ms(T0).rel_dir() / part.name).exists()
    rows = con.execute("SELECT stream, kind FROM load_errors").fetchall()
    assert rows == [("bbo", "quarantined")]
    from hypertrack_pipeline.warehouse.checks import check_landing_files

    ok, meta = check_landing_files(con)
    assert not ok and meta["problems"] == 1


def test_a_part_listed_in_the_marker_but_missing_fails_the_check(tmp_path: Path) -> None:
    from hypertrack_pipeline.landing.zone import mark_closed
    from hypertrack_pipeline.warehouse.checks import check_landing_files

    raw = tmp_path / "raw"
    market_landing(raw)
    hour = Hour.of_ms(T0)
    for stream in ("trades", "bbo"):
        mark_closed(raw, stream, hour)  # markers that list their parts and rows
    part = sorted((raw / "trades" / hour.rel_dir()).glob("part-*.parquet"))[0]
    part.unlink()
    con = duckdb.connect()
    problems: list = []
    load_hours(con, raw, [hour], problems=problems)
    assert {p.kind for p in problems} == {"missing part", "row count mismatch"}
    ok, meta = check_landing_files(con)
    assert not ok and meta["by_kind"] == {"missing part": 1, "row count mismatch": 1}
    load_hours(con, raw, [hour])  # still missing: reported again, never silently absorbed
    assert not check_landing_files(con)[0]


def test_folders_that_are_not_hours_are_skipped_with_a_warning(tmp_path: Path, caplog) -> None:
    from hypertrack_pipeline.landing.zone import closed_hours

    raw = tmp_path / "raw"
    market_landing(raw)
    before = closed_hours(raw)
    (raw / "trades" / "date=2026-01-05" / "hour=24").mkdir(parents=True)
    (raw / "trades" / "date=2026-02-30" / "hour=01").mkdir(parents=True)
    with caplog.at_level("WARNING"):
        assert closed_hours(raw) == before
    assert "hour=24" in caplog.text and "date=2026-02-30" in caplog.text


def test_data_dictionary_covers_every_declared_column() -> None:
    from hypertrack_pipeline.graph import all_tables
    from hypertrack_pipeline.warehouse.dictionary import full_data_dictionary

    text = full_data_dictionary()
    rows = {(cells[1].strip(), cells[2].strip()) for line in text.splitlines()[2:]
            if (cells := line.split("|")) and not cells[1].strip().startswith("**")}
    for table in all_tables():
        for col in table.columns:
            assert (table.name, col.name) in rows, (table.name, col.name)
            assert col.doc, f"{table.name}.{col.name} has no meaning in the dictionary"
    assert all(line.replace("\\|", "").count("|") == 5 and not line.endswith("|  |") for line in text.splitlines())


def test_range_dedups_only_where_needed_and_reloads_scattered_hours(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    schema = STREAM_SCHEMAS["trades"]
    hours = all_hours(T0, 4)
    for i, h in enumerate(hours):
        rows = [trade("BTC", "B", 100.0 + i, 1.0, h.start_ms + 5, 10 * i, A, B),
                trade("BTC", "A", 100.0 + i, 2.0, h.start_ms + 6, 10 * i + 1, B, C)]
        write_part(raw, "trades", h, pa.Table.from_pylist(rows, schema=schema))
    # hour 2 gets a reconnect overlap: its second trade lands again in a later part
    write_part(raw, "trades", hours[2], pa.Table.from_pylist(
        [trade("BTC", "A", 102.0, 2.0, hours[2].start_ms + 6, 21, B, C)], schema=schema))
    con = duckdb.connect()
    assert load_hours(con, raw, hours, streams=["trades"]) == {"trades": 8, "fills": 16}
    per_hour = con.execute("SELECT hour, count(*) FROM trades GROUP BY hour ORDER BY hour").fetchall()
    assert [n for _, n in per_hour] == [2, 2, 2, 2]
    assert [h for h, _ in per_hour] == [h.start.replace(tzinfo=None) for h in hours]
    # re-load two non-adjacent hours (one with the duplicate): they are replaced, the others untouched
    got = load_hours(con, raw, [hours[2].key, hours[0].key], streams=["trades"])
    assert got == {"trades": 4, "fills": 8}
    assert counts(con)["trades"] == 8 and counts(con)["fills"] == 16
    assert con.execute("SELECT sum(sz) FROM trades WHERE hour = ?", [hours[2].start.replace(tzinfo=None)]
                       ).fetchall()[0][0] == 3.0
    # a failing stream rolls back the whole range, deletes included
    con.execute("ALTER TABLE trades ADD COLUMN extra INTEGER NOT NULL DEFAULT 0")
    con.execute("ALTER TABLE trades ALTER COLUMN extra DROP DEFAULT")  # the insert cannot fill it
    with pytest.raises(duckdb.Error):
        load_hours(con, raw, hours)
    assert counts(con)["trades"] == 8 and counts(con)["fills"] == 16
