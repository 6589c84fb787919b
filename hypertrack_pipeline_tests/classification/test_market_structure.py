"""Kirilenko classes, wash trades and cohorts on tiny hand-made DuckDB ``fills`` tables."""

from __future__ import annotations

import dataclasses

import pytest

from hypertrack_pipeline.classification import Thresholds
from hypertrack_pipeline.classification.cohorts import cohort_case_sql, cohort_of, size_cohort_sql
from hypertrack_pipeline.classification.kirilenko import kirilenko_classes, kirilenko_sql
from hypertrack_pipeline.classification.wash import wash_sql, wash_trades

MIN = 60_000
DAY0 = 1_767_571_200_000  # 2026-01-05T00:00:00Z


def market(con, add_trades):
    """Two intermediaries, two fundamental traders, a flat taker, an opportunistic pair and a small pair.

    BTC at $100. The intermediaries are always the passive side (FS / FB / SCALP take their quotes).
    """
    trades = []
    tid = 0
    # MM1: 200 alternating trades of $1,000, one a minute: buys from FS, sells to FB. Inventory 0 ↔ 1,000.
    for k in range(200):
        tid += 1
        if k % 2 == 0:
            trades.append(("BTC", DAY0 + k * MIN, tid, "mm1", "fs", 100.0, 10.0, False))
        else:
            trades.append(("BTC", DAY0 + k * MIN, tid, "fb", "mm1", 100.0, 10.0, True))
    # MM2: the same pattern with half the trades (less active intermediary), against a flat taker
    # SCALP: SCALP sells to MM2 at $100 / buys from MM2 at $101 — as flat as MM2, but aggressive
    # (the 1 % price gap keeps these round trips from looking like wash cycles).
    for k in range(100):
        tid += 1
        if k % 2 == 0:
            trades.append(("BTC", DAY0 + k * MIN + 1, tid, "mm2", "scalp", 100.0, 10.0, False))
        else:
            trades.append(("BTC", DAY0 + k * MIN + 1, tid, "scalp", "mm2", 101.0, 10.0, True))
    # OPP buys 25 then sells 25 ($1,000 each): flat at day end but a large intraday swing.
    for k in range(50):
        tid += 1
        buyer, seller = ("opp", "opp2") if k < 25 else ("opp2", "opp")
        trades.append(("BTC", DAY0 + k * MIN + 2, tid, buyer, seller, 100.0, 10.0))
    # Small traders: one $500 trade.
    tid += 1
    trades.append(("BTC", DAY0 + 3, tid, "small1", "small2", 100.0, 5.0))
    add_trades(con, trades)


def test_kirilenko_classes(con, add_trades):
    market(con, add_trades)
    t = dataclasses.replace(Thresholds(), KIRILENKO_HFT_TOP_SHARE=0.5)
    classes = kirilenko_classes(con, t)
    assert classes == {
        "mm1": "HFT",  # most active of two intermediaries: floor(0.5 × 2) = 1 HFT
        "mm2": "Market Maker",
        "fs": "Fundamental",
        "fb": "Fundamental",
        "scalp": "Opportunistic",  # flat but taker: not an intermediary
        "opp": "Opportunistic",
        "opp2": "Opportunistic",
        "small1": "Small",
        "small2": "Small",
    }
    # With the default 7 % share two intermediaries give no HFT (floor), both are market makers.
    assert kirilenko_classes(con)["mm1"] == "Market Maker"
    ratios = dict(
        con.execute(f"SELECT wallet, kirilenko_intraday_ratio FROM ({kirilenko_sql(t)})").fetchall()
    )
    # MM1 inventory alternates 1,000 / 0 each minute: std 500 over $200k volume.
    assert ratios["mm1"] == pytest.approx(500 / 200_000)


def test_kirilenko_thresholds_are_boundaries(con, add_trades):
    market(con, add_trades)
    # MM1's intraday ratio is exactly 0.0025, MM2's ≈ 0.005: limits around them.
    strict = dataclasses.replace(Thresholds(), KIRILENKO_INTRADAY_DEV_MAX=0.0024)
    assert kirilenko_classes(con, strict)["mm1"] == "Opportunistic"
    assert kirilenko_classes(con, dataclasses.replace(strict, KIRILENKO_INTRADAY_DEV_MAX=0.0025))["mm1"] == (
        "Market Maker"
    )
    assert kirilenko_classes(con, dataclasses.replace(strict, KIRILENKO_INTRADAY_DEV_MAX=0.0049))["mm2"] == (
        "Opportunistic"
    )
    # End-of-day ratio: OPP ends flat but a 4.99 % end limit with a huge deviation allowance still
    # excludes MM-like wallets that end off-flat; here FS (ratio 1.0) needs a 100 % limit.
    loose = dataclasses.replace(Thresholds(), KIRILENKO_INTRADAY_DEV_MAX=1.0, KIRILENKO_MIN_MAKER_SHARE=0.0)
    assert kirilenko_classes(con, dataclasses.replace(loose, KIRILENKO_END_RATIO_MAX=0.99))["fs"] == "Fundamental"
    assert kirilenko_classes(con, dataclasses.replace(loose, KIRILENKO_END_RATIO_MAX=1.0))["fs"] in (
        "Market Maker", "HFT"
    )
    # SCALP is an intermediary once passive share is not required.
    assert kirilenko_classes(con, dataclasses.replace(Thresholds(), KIRILENKO_MIN_MAKER_SHARE=0.0))["scalp"] == (
        "Market Maker"
    )
    # FS sells $100k; FB buys $100k: end ratio 1.0 — still fundamental at a 100 % cut, not above.
    assert kirilenko_classes(con, dataclasses.replace(Thresholds(), KIRILENKO_FUNDAMENTAL_RATIO_MIN=1.0))["fs"] == (
        "Fundamental"
    )
    assert kirilenko_classes(con, dataclasses.replace(Thresholds(), KIRILENKO_FUNDAMENTAL_RATIO_MIN=1.01))["fs"] == (
        "Opportunistic"
    )
    # Small: $500 traded; a $500 minimum makes them big enough (then one-sided → fundamental).
    assert kirilenko_classes(con, dataclasses.replace(Thresholds(), KIRILENKO_SMALL_NOTIONAL_USD=500.0))[
        "small1"
    ] == "Fundamental"
    assert kirilenko_classes(con, dataclasses.replace(Thresholds(), KIRILENKO_SMALL_NOTIONAL_USD=500.01))[
        "small1"
    ] == "Small"


def test_kirilenko_ignores_self_trades_and_wash_pairs(con, add_trades):
    market(con, add_trades)
    # 40 one-sided self-trades of $50k would otherwise make MM2 a directional taker.
    add_trades(con, [("BTC", DAY0 + k * MIN + 5, 10_000 + k, "mm2", "mm2", 100.0, 500.0) for k in range(40)])
    # MM1 and a partner wash $2M back and forth: without the exclusion that volume would dwarf
    # MM1's real book, and the partner would look like a market maker.
    add_trades(con, [
        ("BTC", DAY0 + k * 1000 + 7, 20_000 + k, *(("mm1", "pal") if k % 2 == 0 else ("pal", "mm1")), 100.0, 200.0)
        for k in range(100)
    ])
    t = dataclasses.replace(Thresholds(), KIRILENKO_HFT_TOP_SHARE=0.5)
    classes = kirilenko_classes(con, t)
    assert classes["mm2"] == "Market Maker"
    assert classes["mm1"] == "HFT"
    assert "pal" not in classes  # all of its trades are wash trades
    ratios = dict(con.execute(f"SELECT wallet, kirilenko_volume_usd FROM ({kirilenko_sql(t)})").fetchall())
    assert ratios["mm1"] == pytest.approx(200_000.0)


def wash_market(con, add_trades):
    """ETH at $2,000: a self-trader, a washing pair, and several near misses."""
    trades = []
    tid = 0

    def add(time_ms, buyer, seller, sz=1.0, px=2000.0):
        nonlocal tid
        tid += 1
        trades.append(("ETH", DAY0 + time_ms, tid, buyer, seller, px, sz))

    add(0, "self", "self")
    add(1000, "self", "self")
    add(5000, "self", "other")  # an ordinary trade does not count
    for k in range(4):  # W1/W2: 4 alternating trades 10 s apart → 3 cycles
        add(10_000 + k * 10_000, *(("w1", "w2") if k % 2 == 0 else ("w2", "w1")))
    for k in range(3):  # P1/P2: only 2 cycles
        add(10_000 + k * 10_000, *(("p1", "p2") if k % 2 == 0 else ("p2", "p1")))
    for k in range(4):  # Q1/Q2: sizes 5 % apart
        add(10_000 + k * 10_000, *(("q1", "q2") if k % 2 == 0 else ("q2", "q1")), sz=1.0 + 0.05 * (k % 2))
    for k in range(4):  # R1/R2: 400 s apart, outside the 300 s window
        add(k * 400_000, *(("r1", "r2") if k % 2 == 0 else ("r2", "r1")))
    for k in range(4):  # X1/X2: price moved 1 % between legs
        add(10_000 + k * 10_000, *(("x1", "x2") if k % 2 == 0 else ("x2", "x1")), px=2000.0 + 20.0 * k)
    for k in range(4):  # MAKER/SCALP: cycles, but a tiny share of the maker's volume
        add(10_000 + k * 10_000, *(("scalp", "maker") if k % 2 == 0 else ("maker", "scalp")))
    add(500_000, "whale", "maker", sz=100.0)
    add_trades(con, trades)


def test_wash_trades(con, add_trades):
    wash_market(con, add_trades)
    found = wash_trades(con)
    assert found["self"] == (2, True)
    assert found["w1"] == (4, True) and found["w2"] == (4, True)
    flagged = {w for w, (_, flag) in found.items() if flag}
    assert flagged == {"self", "w1", "w2"}
    for wallet in ("p1", "q1", "r1", "x1", "maker", "scalp", "other", "whale"):
        assert wallet not in found


def test_wash_thresholds_are_boundaries(con, add_trades):
    wash_market(con, add_trades)
    t = Thresholds()
    assert "p1" in wash_trades(con, dataclasses.replace(t, WASH_MIN_CYCLES=2))
    assert "q1" in wash_trades(con, dataclasses.replace(t, WASH_SIZE_TOL=0.05))
    assert "r1" in wash_trades(con, dataclasses.replace(t, WASH_WINDOW_MS=400_000))
    assert "r1" not in wash_trades(con, dataclasses.replace(t, WASH_WINDOW_MS=399_999))
    # Legs $20 apart at $2,000–$2,060: 20 / 2,020 = 0.990 % of the higher price.
    assert "x1" in wash_trades(con, dataclasses.replace(t, WASH_PRICE_TOL=0.0100))
    assert "x1" not in wash_trades(con, dataclasses.replace(t, WASH_PRICE_TOL=0.0099))
    # The maker's share: 4 × $2k of $208k ≈ 3.8 %; a 3 % share cut flags the pair.
    loose = wash_trades(con, dataclasses.replace(t, WASH_MIN_SHARE=0.03))
    assert loose["maker"] == (4, True) and loose["scalp"] == (4, True)
    no_self = wash_trades(con, dataclasses.replace(t, WASH_MIN_SELF_TRADES=3))
    assert no_self["self"] == (2, False)
    columns = [d[0] for d in con.execute(f"SELECT * FROM ({wash_sql(t)}) LIMIT 0").description]
    assert columns == ["wallet", "self_trade_count", "wash_cycle_trades", "wash_trade_count", "wash_trade_flag"]


def test_cohort_ladders_at_their_boundaries():
    t = Thresholds()
    assert cohort_of(0.0, t.SIZE_COHORTS) == "Shrimp"
    assert cohort_of(249.99, t.SIZE_COHORTS) == "Shrimp"
    assert cohort_of(250.0, t.SIZE_COHORTS) == "Fish"
    assert cohort_of(9_999.99, t.SIZE_COHORTS) == "Fish"
    assert cohort_of(10_000.0, t.SIZE_COHORTS) == "Dolphin"
    assert cohort_of(50_000.0, t.SIZE_COHORTS) == "Apex Predator"
    assert cohort_of(100_000.0, t.SIZE_COHORTS) == "Small Whale"
    assert cohort_of(500_000.0, t.SIZE_COHORTS) == "Whale"
    assert cohort_of(1_000_000.0, t.SIZE_COHORTS) == "Tidal Whale"
    assert cohort_of(4_999_999.0, t.SIZE_COHORTS) == "Tidal Whale"
    assert cohort_of(5_000_000.0, t.SIZE_COHORTS) == "Leviathan"
    assert cohort_of(-1_000_000.01, t.PNL_COHORTS) == "Giga-Rekt"
    assert cohort_of(-1_000_000.0, t.PNL_COHORTS) == "Full Rekt"
    assert cohort_of(-100_000.0, t.PNL_COHORTS) == "Semi-Rekt"
    assert cohort_of(-10_000.0, t.PNL_COHORTS) == "Exit Liquidity"
    assert cohort_of(-0.01, t.PNL_COHORTS) == "Exit Liquidity"
    assert cohort_of(0.0, t.PNL_COHORTS) == "Humble Earner"
    assert cohort_of(10_000.0, t.PNL_COHORTS) == "Grinder"
    assert cohort_of(100_000.0, t.PNL_COHORTS) == "Smart Money"
    assert cohort_of(1_000_000.0, t.PNL_COHORTS) == "Money Printer"


def test_cohort_sql_matches_python(con):
    t = Thresholds()
    values = [-2e6, -1e6, -5e5, -1e4, -1.0, 0.0, 249.99, 250.0, 1e4, 5e4, 1e5, 5e5, 1e6, 5e6, 7e6]
    con.execute("CREATE TABLE v (x DOUBLE)")
    con.executemany("INSERT INTO v VALUES (?)", [[x] for x in values] + [[None]])
    for ladder in (t.SIZE_COHORTS, t.PNL_COHORTS):
        got = dict(con.execute(f"SELECT x, {cohort_case_sql('x', ladder)} FROM v").fetchall())
        assert got.pop(None) is None
        assert got == {x: cohort_of(x, ladder) for x in values}


def test_size_cohort_uses_peak_end_of_minute_position(con, add_trades):
    add_trades(con, [
        ("BTC", DAY0, 1, "a", "z", 100.0, 2.0),  # a long 2 → $200
        ("BTC", DAY0 + MIN, 2, "z", "a", 100.0, 1.0),  # a long 1
        ("BTC", DAY0 + 2 * MIN, 3, "b", "z", 125.0, 2.0),  # b long 2 @125 → $250
        ("BTC", DAY0 + 3 * MIN, 4, "c", "z", 100.0, 600.0),  # c $60k
        ("ETH", DAY0 + 4 * MIN, 5, "z", "c", 100.0, 100.0),  # other coin: c short 100 → $10k (not added)
        ("BTC", DAY0 + 5 * MIN, 6, "d", "z", 100.0, 1.0),  # d long 1, then flips to short 2 → $200
        ("BTC", DAY0 + 6 * MIN, 7, "z", "d", 100.0, 3.0),
        ("BTC", DAY0 + 7 * MIN, 8, "e", "e", 100.0, 1e6),  # self-trade: no position
        ("BTC", DAY0 + 8 * MIN, 9, "f", "z", 100.0, 10.0),  # f: long 10 and flat again within a minute
        ("BTC", DAY0 + 8 * MIN + 5, 10, "z", "f", 100.0, 10.0),
        ("BTC", DAY0 + 9 * MIN, 11, "f", "z", 100.0, 3.0),  # … then long 3 → $300 at the minute's end
    ])
    rows = {w: (peak, cohort) for w, peak, cohort in con.execute(size_cohort_sql(Thresholds())).fetchall()}
    assert rows["a"] == (200.0, "Shrimp")
    assert rows["b"] == (250.0, "Fish")
    assert rows["c"] == (60_000.0, "Apex Predator")
    assert rows["d"] == (200.0, "Shrimp")
    assert rows["f"] == (300.0, "Fish")  # the intra-minute $1,000 excursion is not seen
    assert "e" not in rows


def test_end_of_day_position_is_carried_across_days(con, add_trades):
    # CARRY buys 150 BTC on day 1, then on day 2 quotes both sides around that long position
    # (buys at $100, sells at $101), flat within the day. Measured as the day's change, day 2 would
    # look like a perfect intermediary; as a held position it is still long $15k at day end.
    day1 = [("BTC", DAY0 + k * MIN, k + 1, "carry", "taker", 100.0, 10.0 if k % 2 == 0 else 5.0, False)
            for k in range(20)]
    day2 = [
        (("BTC", DAY0 + 86_400_000 + k * 20_000, 100 + k, "carry", "taker", 100.0, 1.0, False) if k % 2 == 0
         else ("BTC", DAY0 + 86_400_000 + k * 20_000, 100 + k, "taker", "carry", 101.0, 1.0, True))
        for k in range(4000)
    ]
    add_trades(con, day1 + day2)
    rows = {r[0]: r for r in con.execute(
        f"SELECT wallet, kirilenko_class, kirilenko_end_ratio FROM ({kirilenko_sql(Thresholds())})").fetchall()}
    # Σ|end position| = $15,000 (day 1) + 150 × $101 (day 2) over $15k + $402k of volume.
    assert rows["carry"][2] == pytest.approx((15_000 + 15_150) / 417_000)
    assert rows["carry"][1] == "Opportunistic"


def test_package_import_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, hypertrack_pipeline.classification as c; "
        "assert c.classify_wallet; print(sorted(m for m in ('torch', 'dagster', 'duckdb') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
