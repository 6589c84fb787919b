"""Account state in the trader views (roi, liquidation price and distance) and the tracked-wallet selection,
on hand-made tables, against hand computations; and the account tables load like every stream."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
from pytest import approx

from hypertrack_pipeline.catalog import StepContext
from hypertrack_pipeline.config import Settings
from hypertrack_pipeline.landing.schemas import ACCOUNT_POSITIONS, ACCOUNT_STATE
from hypertrack_pipeline.landing.zone import Hour, mark_closed, write_part
from hypertrack_pipeline.recorder.account import select_wallets
from hypertrack_pipeline.warehouse import load_hours, tracked
from hypertrack_pipeline.warehouse import trader_views as tv
from hypertrack_pipeline.warehouse.schema import ensure_schema

from .test_trader_views_tables import T0, A, B, C, M, con  # noqa: F401 - the hand-made market fixture

H = 3_600_000


def _state(db: duckdb.DuckDBPyConnection, wallet: str, t: int, equity: float) -> None:
    db.execute("INSERT INTO account_state (wallet, time_ms, ts, account_value, total_ntl_pos, total_margin_used, "
                "withdrawable, positions, hour) VALUES (?, ?, epoch_ms(?), ?, 0, 0, 0, 1, epoch_ms(?))",
                [wallet, t, t, equity, t - t % H])


def _position(db: duckdb.DuckDBPyConnection, wallet: str, t: int, coin: str, size: float, liq: float | None,
              mark: float) -> None:
    db.execute("INSERT INTO account_positions (wallet, coin, time_ms, ts, size, position_value, mark_px, "
                "unrealized_pnl, margin_used, liquidation_px, hour) "
                "VALUES (?, ?, ?, epoch_ms(?), ?, ?, ?, 0, 0, ?, epoch_ms(?))",
                [wallet, coin, t, t, size, abs(size) * mark, mark, liq, t - t % H])


def test_roi_and_liquidation_distance_where_the_account_was_polled(con: duckdb.DuckDBPyConnection) -> None:  # noqa: F811
    t1, t2 = T0 + 39 * H, T0 + 40 * H
    _state(con, A, t1, 500.0)
    _position(con, A, t1, "BTC", 1.0, 50.0, 139.0)  # an older poll: not the latest
    _state(con, A, t2, 1000.0)
    _position(con, A, t2, "BTC", 1.0, 100.0, 140.0)
    _state(con, B, t2, 0.0)  # no equity: no roi
    _position(con, B, t2, "BTC", 1.0, 90.0, 140.0)  # long on the exchange, short in our books: not this position
    tv.build_leaderboards(con)
    roi = {w: r for w, r in con.execute("SELECT wallet, roi FROM leaderboards WHERE period = 'all'").fetchall()}
    assert roi[A] == approx(70.0 / 1000.0)  # all-time net PnL +70 over the latest equity
    assert roi[B] is None and roi[C] is None  # equity 0; never polled
    tv.build_holders(con)
    rows = {(c, w): (lp, ld) for c, w, lp, ld in con.execute(
        "SELECT coin, wallet, liq_px, liq_dist FROM coin_holders").fetchall()}
    assert rows[("BTC", A)] == (100.0, approx(40.0 / 140.0))  # |140 − 100| / 140 at the latest poll
    assert rows[("BTC", B)] == (None, None) and rows[("ETH", C)] == (None, None)


def test_views_work_on_empty_account_tables(con: duckdb.DuckDBPyConnection) -> None:  # noqa: F811
    tv.build_leaderboards(con)
    tv.build_holders(con)
    assert con.execute("SELECT count(*), count(roi) FROM leaderboards").fetchall()[0][1] == 0
    assert con.execute("SELECT count(*), count(liq_px) FROM coin_holders").fetchall()[0] == (4, 0)  # BTC: A, B; ETH: C, M


def test_tracked_wallets_top_n_by_notional_plus_whales_and_profitable(tmp_path: Path) -> None:
    db = duckdb.connect()
    w = [f"0x{k:040x}" for k in range(1, 7)]
    db.execute("CREATE TABLE wallet_pnl AS SELECT * FROM (VALUES (?, 600.0), (?, 500.0), (?, 400.0), (?, 300.0), "
               "(?, 200.0), (?, 100.0)) t(wallet, notional)", w)
    db.execute("""CREATE TABLE wallet_categories AS SELECT * FROM (VALUES
        (?, '[["Whale", 0.9], ["Bot", 0.8]]'), (?, '[["Possible Whale", 0.7]]'), (?, '[["Possibly Profitable Trader", 0.5]]'),
        (?, '[]'), (?, '[["Profitable Trader", 0.7], ["Whale", 0.6]]'), (?, NULL)) t(wallet, categories)""",
               [w[0], w[3], w[4], w[1], w[5], w[2]])
    got = tracked.select_tracked_wallets(db, 2)
    assert [(g["wallet"], g["reason"], g["notional_rank"]) for g in got] == [
        (w[0], "top_notional,Whale", 1), (w[1], "top_notional", 2),
        (w[4], "Possibly Profitable Trader", 5), (w[5], "Whale,Profitable Trader", 6)]  # not a Possible Whale
    settings = Settings(data_dir=tmp_path, warehouse_path=tmp_path / "w.duckdb", account_top=2)
    meta = tracked.STEP.run(db, StepContext(settings=settings, log=lambda _m: None))
    body = json.loads(settings.tracked_wallets_path.read_text())
    assert meta["wallets"] == 4 and meta["top_notional"] == 2 and body["top_n"] == 2
    assert [e["wallet"] for e in body["wallets"]] == [g["wallet"] for g in got]
    # the recorder keeps its own top (1 here) and every category wallet
    assert select_wallets(body, 1) == [w[0], w[4], w[5]]
    assert tracked.select_tracked_wallets(duckdb.connect(), 5) == []  # no wallet_pnl: nothing to rank


def test_account_streams_load_and_reload_idempotently(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    hour = Hour.of_ms(T0)
    w = "0x" + "a" * 40
    state = pa.table({"wallet": [w, w], "time": [T0 + 1, T0 + 2], "account_value": [10.0, 11.0],
                      "total_ntl_pos": [5.0, 5.0], "total_raw_usd": [5.0, 6.0], "total_margin_used": [1.0, 1.0],
                      "maintenance_margin": [None, 0.5], "withdrawable": [9.0, 10.0], "positions": [1, 1],
                      "recv_ns": [0, 0]}, schema=ACCOUNT_STATE)
    pos = pa.table({"wallet": [w, w], "time": [T0 + 1, T0 + 2], "coin": ["BTC", "BTC"], "size": [-0.5, -0.5],
                    "entry_px": [10.0, 10.0], "position_value": [5.0, 5.0], "unrealized_pnl": [0.0, 0.0],
                    "return_on_equity": [0.0, 0.0], "leverage": [10.0, 10.0], "leverage_type": ["cross", "cross"],
                    "liquidation_px": [None, 20.0], "margin_used": [0.5, 0.5], "max_leverage": [50, 50],
                    "cum_funding": [0.0, 0.0], "recv_ns": [0, 0]}, schema=ACCOUNT_POSITIONS)
    for stream, table in (("account_state", state), ("account_positions", pos)):
        write_part(raw, stream, hour, table)
        write_part(raw, stream, hour, table.slice(1))  # a repeated poll row (two parts): kept once
        mark_closed(raw, stream, hour)
    db = duckdb.connect()
    ensure_schema(db)
    for _ in range(2):
        counts = load_hours(db, raw, [hour])
    assert counts["account_state"] == 2 and counts["account_positions"] == 2
    assert db.execute("SELECT time_ms, account_value, maintenance_margin FROM account_state ORDER BY 1").fetchall() == [
        (T0 + 1, 10.0, None), (T0 + 2, 11.0, 0.5)]
    assert db.execute("SELECT size, mark_px, liquidation_px FROM account_positions ORDER BY time_ms").fetchall() == [
        (-0.5, 10.0, None), (-0.5, 10.0, 20.0)]
