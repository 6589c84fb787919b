"""Asset-check functions on good and broken warehouses; snapshot publishing and the read-only query path."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.warehouse import (
    build_wallet_features,
    build_wallet_pnl,
    check_candle_coverage,
    check_features_non_constant,
    check_fills_match_trades,
    check_gaps,
    check_no_null_keys,
    check_schema,
    check_unique_trade_ids,
    ensure_schema,
    load_hours,
    publish_snapshot,
    run_query,
)
from hypertrack_pipeline_tests.warehouse.conftest import all_hours, market_landing
from hypertrack_pipeline_tests.warehouse.landing_builder import T0, land


def test_checks_pass_on_a_good_load(market_db) -> None:
    assert check_schema(market_db) == (True, {"tables_checked": 13, "problems": []})  # every raw table and view, account_state and account_positions included
    ok, meta = check_no_null_keys(market_db)
    assert ok and meta["null_key_rows"]["fills"] == 0
    assert check_unique_trade_ids(market_db) == (True, {"trades": 5, "duplicates": 0})
    assert check_fills_match_trades(market_db) == (True, {"trades": 5, "fills": 10})
    ok, meta = check_candle_coverage(market_db, min_share=0.6)
    assert ok and meta["fills_with_candle"] == 6 and meta["candle_share"] == pytest.approx(0.6)  # BTC@401 s ×4, ETH ×2
    assert not check_candle_coverage(market_db, min_share=0.9)[0]
    ok, meta = check_gaps(market_db)
    assert ok and meta["gaps_total"] == 0


def test_checks_catch_broken_tables(market_db) -> None:
    market_db.execute("INSERT INTO trades SELECT * FROM trades LIMIT 1")
    ok, meta = check_unique_trade_ids(market_db)
    assert not ok and meta["duplicates"] == 1
    assert check_fills_match_trades(market_db)[0]  # the fills view follows trades, duplicate included
    market_db.execute("""CREATE OR REPLACE VIEW fills AS SELECT buyer AS wallet, coin, time_ms, tid FROM trades
                          UNION ALL SELECT seller, coin, time_ms, tid FROM trades WHERE tid <> 7""")
    ok, meta = check_fills_match_trades(market_db)  # a fills relation that lost a leg
    assert not ok and meta["fills"] == 2 * meta["trades"] - 1
    market_db.execute("DROP VIEW fills")
    ensure_schema(market_db)  # the declared view again
    market_db.execute("ALTER TABLE trades ALTER COLUMN buyer DROP NOT NULL")
    market_db.execute("UPDATE trades SET buyer = NULL WHERE tid = 7")
    ok, meta = check_no_null_keys(market_db)
    assert not ok and meta["null_key_rows"]["trades"] == 1 and meta["null_key_rows"]["fills"] == 1
    market_db.execute("ALTER TABLE candles DROP COLUMN n_trades")
    ok, meta = check_schema(market_db)
    assert not ok and meta["problems"] == ["candles.n_trades: missing"]


def test_constant_features_are_named(market_db) -> None:
    ok, meta = check_features_non_constant(market_db)
    # six wallets: only features nobody varies on in this tiny market are constant
    assert meta["wallets"] == 6
    assert "max_market_impact" not in meta["constant_features"]
    market_db.execute("UPDATE wallet_features SET long_ratio = 0.5, flip_rate = 0")
    ok, meta = check_features_non_constant(market_db)
    assert not ok and {"long_ratio", "flip_rate"} <= set(meta["constant_features"])


def test_gaps_are_reported(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    market_landing(raw)
    land(raw, "gaps", [{"stream": "trades", "coin": None, "start_ms": T0 + 1000, "end_ms": T0 + 61000,
                        "cause": "disconnect"}])
    con = duckdb.connect()
    load_hours(con, raw, all_hours(T0, 5))
    ok, meta = check_gaps(con)
    # 60 s of a 3 350 s trade span = 1.8 %
    assert ok and meta["per_stream"]["trades"] == {"gaps": 1, "seconds": 60.0, "longest_s": 60.0}
    assert meta["worst_gap_share"] == pytest.approx(60 / 3350)
    assert not check_gaps(con, max_gap_share=0.01)[0]


def make_warehouse(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    market_landing(raw)
    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    load_hours(con, raw, all_hours(T0, 5))
    build_wallet_pnl(con)
    build_wallet_features(con)
    con.close()
    return db


def test_snapshot_is_queryable_while_the_writer_holds_the_db(tmp_path: Path) -> None:
    db = make_warehouse(tmp_path)
    snap = tmp_path / "snap" / "warehouse_snapshot.duckdb"
    writer = duckdb.connect(str(db))  # the pipeline's open writer
    publish_snapshot(db, snap, con=writer)
    writer.execute("DELETE FROM trades WHERE coin = 'SOL'")  # later writes don't leak into the snapshot
    cols, rows = run_query(snap, "SELECT count(*) AS n FROM trades")
    assert cols == ["n"] and rows == [(5,)]
    errors: list[Exception] = []

    def reader() -> None:
        try:
            for _ in range(5):
                assert run_query(snap, "SELECT count(*) FROM wallet_features")[1] == [(6,)]
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    publish_snapshot(db, snap, con=writer)  # republish while readers run
    for t in threads:
        t.join()
    assert not errors
    assert run_query(snap, "SELECT count(*) FROM trades")[1] == [(4,)]
    writer.close()
    # without a writer, a snapshot can be made from the file itself
    publish_snapshot(db, tmp_path / "snap2.duckdb")
    assert run_query(tmp_path / "snap2.duckdb", "SELECT count(*) FROM trades", max_rows=1)[1] == [(4,)]


def test_run_query_errors(tmp_path: Path) -> None:
    db = make_warehouse(tmp_path)
    with pytest.raises(UserError, match="(?i)parser|syntax"):
        run_query(db, "SELEC 1")
    with pytest.raises(UserError, match="(?i)nope"):
        run_query(db, "SELECT * FROM nope")
    with pytest.raises(UserError, match="(?i)read-only|read only"):
        run_query(db, "DELETE FROM trades")
    with pytest.raises(UserError, match="does not exist"):
        run_query(tmp_path / "missing.duckdb", "SELECT 1")
    cols, rows = run_query(db, "SELECT wallet, tx_count FROM wallet_features ORDER BY tx_count DESC", max_rows=2)
    assert cols == ["wallet", "tx_count"] and len(rows) == 2 and rows[0][1] == 5.0
    assert "\n" not in str(pytest.raises(UserError, run_query, db, "SELEC 1").value)


def test_cli_helpers(tmp_path: Path, market_db) -> None:
    from types import SimpleNamespace

    from hypertrack_pipeline.datasets import RAW_TABLES
    from hypertrack_pipeline.warehouse import feature_window, format_table, query_warehouse

    assert [t.name for t in RAW_TABLES][:2] == ["trades", "fills"] and all(t.description for t in RAW_TABLES)
    assert feature_window(market_db, 0) == (None, None)
    last = T0 + 3700 * 1000  # the latest fill of the market
    assert feature_window(market_db, 2) == (last + 1 - 2 * 3_600_000, last + 1)
    text = format_table(["wallet", "n"], [("0xab", 5), ("0xc", None)])
    assert text.splitlines() == ["wallet  n   ", "------  ----", "0xab       5", "0xc     NULL", "(2 rows)"]
    assert format_table(["a", "b"], [(1, "x,y")], "csv") == 'a,b\n1,"x,y"'
    assert format_table(["a"], [(1.5,)], "json").replace(" ", "").replace("\n", "") == '[{"a":1.5}]'
    with pytest.raises(UserError, match="format"):
        format_table(["a"], [], "xml")
    db = make_warehouse(tmp_path)
    settings = SimpleNamespace(warehouse_path=db, snapshot_path=tmp_path / "warehouse.snapshot.duckdb")
    with pytest.raises(UserError, match="no published snapshot yet"):  # never the live file: its lock breaks runs
        query_warehouse(settings, "SELECT count(*) FROM trades")
    info = publish_snapshot(db, settings.snapshot_path)
    assert info["tables"] >= 13 and info["size_bytes"] > 0 and info["path"] == str(settings.snapshot_path)
    duckdb.connect(str(db)).execute("DELETE FROM trades").close()
    assert query_warehouse(settings, "SELECT count(*) FROM trades")[1] == [(5,)]  # the snapshot wins
    with pytest.raises(UserError, match="no warehouse"):
        query_warehouse(SimpleNamespace(warehouse_path=tmp_path / "x.duckdb", snapshot_path=tmp_path / "y"), "SELECT 1")
