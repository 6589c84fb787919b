"""Leaderboards, positioning by cohort and the largest holders on hand-made trades, against hand computations."""

from __future__ import annotations

import duckdb
import pytest
from pytest import approx

from hypertrack_pipeline.warehouse import build_wallet_pnl
from hypertrack_pipeline.warehouse import trader_views as tv
from hypertrack_pipeline.warehouse.schema import ensure_schema

A, B, C, M = ("0x" + c * 40 for c in "abcd")
H = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
LAST = 40  # the newest hour


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    tid = iter(range(1, 10_000))

    def trade(coin: str, buyer: str, seller: str, px: float, sz: float, hour: int) -> None:
        t = T0 + hour * H + 1000
        con.execute("INSERT INTO trades VALUES (?, 'B', ?, ?, ?, ?, epoch_ms(?), ?, '0x', ?, ?, epoch_ms(?))",
                    [coin, px, sz, px * sz, t, t, next(tid), buyer, seller, T0 + hour * H])

    def mid(coin: str, hour: int, px: float) -> None:
        t = T0 + hour * H + 2000
        con.execute("INSERT INTO bbo (coin, time_ms, ts, bid_px, bid_sz, ask_px, ask_sz, mid, hour) "
                    "VALUES (?, ?, epoch_ms(?), ?, 1, ?, 1, ?, epoch_ms(?))",
                    [coin, t, t, px - 0.5, px + 0.5, px, T0 + hour * H])

    # A: long 2 BTC @ 100 at hour 0; sells 1 @ 130 at hour 30 (inside 24h) → realized +30
    # B: short 1 BTC @ 100 at hour 0; C: long 1 ETH @ 10 at hour 10 (7d only), M the market maker
    trade("BTC", A, M, 100.0, 2.0, 0)
    trade("BTC", M, B, 100.0, 1.0, 0)
    trade("ETH", C, M, 10.0, 1.0, 10)
    trade("BTC", M, A, 130.0, 1.0, 30)
    for h, px in ((0, 100.0), (15, 110.0), (16, 120.0), (30, 130.0), (LAST, 140.0)):
        mid("BTC", h, px)
    for h, px in ((10, 10.0), (LAST, 12.0)):
        mid("ETH", h, px)
    build_wallet_pnl(con)
    con.execute("""CREATE TABLE wallet_categories AS SELECT * FROM (VALUES
        (?, '[["Whale", 0.9]]', 'Whale', 'Leviathan', 'Money Printer'),
        (?, '[]', NULL, 'Fish', 'Rekt'),
        (?, '[]', NULL, 'Shrimp', 'Flat'),
        (?, '[["Market Maker", 0.8]]', 'Market Maker', 'Whale', 'Flat'))
        t(wallet, categories, primary_category, size_cohort, pnl_cohort)""", [A, B, C, M])
    con.execute("CREATE TABLE wallet_features AS SELECT * FROM (VALUES (?, 0.97::DOUBLE), (?, 0.2::DOUBLE)) t(wallet, skill_confidence)",
                [A, B])
    return con


def test_leaderboards_measure_each_period_from_the_marked_curve(con: duckdb.DuckDBPyConnection) -> None:
    tv.build_leaderboards(con)
    rows = {(p, w): (pnl, vol, fills, rank) for p, w, pnl, vol, fills, rank in con.execute(
        "SELECT period, wallet, net_pnl, volume, fills, pnl_rank FROM leaderboards").fetchall()}
    # A over 24 h (hours 17…40): at the end of hour 16 it was long 2 marked at 120 (+40); at the end it has
    # realized +30 and holds 1 marked at 140 (+40): 70 − 40 = +30; volume: the sale at hour 30 only
    assert rows[("24h", A)][:3] == (approx(30.0), approx(130.0), 1)
    # all time: +30 realized + 40 unrealized, both trades
    assert rows[("all", A)][:3] == (approx(70.0), approx(330.0), 2)
    # B short 1 from 100: −40 all time; −20 over 24 h (marked 120 → 140)
    assert rows[("all", B)][0] == approx(-40.0) and rows[("24h", B)][0] == approx(-20.0)
    # C bought ETH at 10 before the 24 h (7 d: with its fill); ETH's mark went 10 → 12 inside the 24 h
    assert rows[("7d", C)][:3] == (approx(2.0), approx(10.0), 1) and rows[("24h", C)][:3] == (approx(2.0), 0.0, 0)
    assert rows[("all", A)][3] == 1 and rows[("all", B)][3] == max(r for (p, _), (*_, r) in rows.items() if p == "all")
    cats = con.execute("SELECT primary_category, size_cohort FROM leaderboards WHERE wallet = ? AND period = 'all'",
                       [A]).fetchall()
    assert cats == [("Whale", "Leviathan")]
    skill = dict(con.execute("SELECT wallet, skill_confidence FROM leaderboards WHERE period = 'all'").fetchall())
    assert skill[A] == 0.97 and skill[B] == 0.2 and skill[C] is None  # skill sits next to every ranking


def test_positioning_sums_each_cohorts_longs_and_shorts_every_hour(con: duckdb.DuckDBPyConnection) -> None:
    tv.build_positioning(con)

    def at(hour: int, kind: str, cohort: str, coin: str = "BTC") -> tuple:
        return con.execute("""SELECT long_notional, short_notional, long_wallets, short_wallets FROM coin_positioning
                              WHERE coin = ? AND cohort_kind = ? AND cohort = ? AND hour = epoch_ms(?)""",
                           [coin, kind, cohort, T0 + hour * H]).fetchall()[0]

    assert at(0, "size", "Leviathan") == (approx(200.0), 0.0, 1, 0)  # A long 2 × mark 100
    assert at(16, "size", "Leviathan") == (approx(240.0), 0.0, 1, 0)  # carried forward, marked at 120
    assert at(35, "size", "Leviathan") == (approx(130.0), 0.0, 1, 0)  # after the sale: 1 × 130
    assert at(0, "size", "Fish") == (0.0, approx(100.0), 0, 1)  # B short 1
    # the market maker: short 2 − 1 … then long 1 + 1 − 1 = flat at hour 30 → 0 wallets
    assert at(0, "size", "Whale") == (0.0, approx(100.0), 0, 1) and at(30, "size", "Whale")[2:] == (0, 0)
    assert at(25, "pnl", "Flat", coin="ETH") == (approx(10.0), approx(10.0), 1, 1)  # C long 1, M short 1
    hours = con.execute("SELECT count(DISTINCT hour) FROM coin_positioning").fetchall()[0][0]
    assert hours == LAST + 1  # every hour of the span, with or without a fill


def test_holders_rank_the_open_positions_of_each_coin(con: duckdb.DuckDBPyConnection) -> None:
    tv.build_holders(con)
    rows = con.execute("""SELECT coin, rank, wallet, side, size, notional, entry_px, share_of_open_interest,
                                 primary_category FROM coin_holders ORDER BY coin, rank""").fetchall()
    btc = [r for r in rows if r[0] == "BTC"]
    assert [(r[2], r[3]) for r in btc] == [(A, "long"), (B, "short")]  # M is flat in BTC
    assert btc[0][4:8] == (approx(1.0), approx(140.0), approx(100.0), approx(1.0))  # OI = (140 + 140) / 2
    assert btc[0][8] == "Whale"
    assert con.execute("SELECT skill_confidence FROM coin_holders WHERE wallet = ? AND coin = 'BTC'",
                       [A]).fetchall() == [(0.97,)]
