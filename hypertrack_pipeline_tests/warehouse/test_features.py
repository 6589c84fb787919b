"""Each of the 36 features on the hand-made market of conftest.market_landing, with the expected
value worked out by hand from the rows written there (not by running the feature SQL)."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pytest
from pytest import approx

from hypertrack_pipeline.feature_names import FEATURE_NAMES
from hypertrack_pipeline.warehouse import build_wallet_features
from hypertrack_pipeline.warehouse.schema import ensure_schema
from hypertrack_pipeline_tests.warehouse.conftest import A, B, C, D, E, F, S, features_of
from hypertrack_pipeline_tests.warehouse.landing_builder import HOUR, T0

# Wallet A's events (seconds after T0): ETH buy 350, BTC buy 401 (tid 1), BTC sell 401 (tid 2),
# EVM tx 10800, EVM tx 10810, transfer sent 10810, transfer received 14400.
A_EVENTS_S = [350, 401, 401, 10800, 10810, 10810, 14400]
A_NOTIONALS = [111.0, 54.5, 25.0]  # 1 × 111, 0.5 × 109, 2 × 12.5


def test_one_row_per_wallet_with_fill_or_evm_activity(market_db) -> None:
    wallets = [r[0] for r in market_db.execute("SELECT wallet FROM wallet_features ORDER BY wallet").fetchall()]
    # E appears through a fill (SOL) and a transfer; F only sent a transfer; the contract and the
    # tokens are not wallets.
    assert wallets == sorted([A, B, C, D, E, F])
    cols = [r[0] for r in market_db.execute("DESCRIBE wallet_features").fetchall()]
    assert cols[1:1 + len(FEATURE_NAMES)] == list(FEATURE_NAMES)


def test_activity_counts(market_db) -> None:
    a = features_of(market_db, A)
    assert a["tx_count"] == 5  # 3 fills + 2 EVM transactions sent
    assert a["erc20_count"] == 2  # one sent, one received
    assert a["unique_tokens"] == 4  # BTC, ETH + TOKEN1, TOKEN2
    assert a["unique_addresses"] == 5  # B, C (trades), CONTRACT, E (tx recipients; E also transfer), F
    assert a["contract_interaction_count"] == 1  # only the tx with calldata
    assert a["erc20_volume"] == approx(7.5)
    e = features_of(market_db, E)
    assert e["tx_count"] == 1 and e["erc20_count"] == 1 and e["unique_addresses"] == 2  # D, A


def test_age_rate_burstiness_hour_entropy(market_db) -> None:
    a = features_of(market_db, A)
    age = (14400 - 350) / 86400
    assert a["age_days"] == approx(age)
    assert a["tx_per_day"] == approx(5 / age)
    gaps = np.diff(A_EVENTS_S).astype(float)  # 51, 0, 10399, 10, 0, 3590
    assert a["burstiness"] == approx(gaps.std() / gaps.mean())
    p = np.array([3, 3, 1]) / 7  # hours 0, 0, 0, 3, 3, 3, 4
    assert a["hour_entropy"] == approx(-(p * np.log(p)).sum() / math.log(24))
    assert a["first_time_ms"] == T0 + 350 * S and a["last_time_ms"] == T0 + 4 * HOUR
    d = features_of(market_db, D)  # a single fill: age 0 → rate over one hour, no burstiness
    assert d["age_days"] == 0 and d["tx_per_day"] == approx(24.0) and d["burstiness"] == 0
    assert d["hour_entropy"] == 0


def test_value_features(market_db) -> None:
    a = features_of(market_db, A)
    assert a["total_value"] == approx(190.5)
    assert a["avg_value"] == approx(63.5)
    assert a["max_value"] == approx(111.0)
    assert a["value_std"] == approx(np.std(A_NOTIONALS))


def test_side_features(market_db) -> None:
    a = features_of(market_db, A)
    assert a["long_ratio"] == approx(2 / 3)
    assert a["flip_rate"] == approx(1.0)  # BTC buy→sell = 1 flip; 3 fills − 2 coins = 1
    b = features_of(market_db, B)  # BTC: sell(401,tid1), buy(401,tid2), sell(3700) → 2 flips / (3 − 1)
    assert b["flip_rate"] == approx(1.0)
    assert b["long_ratio"] == approx(1 / 3)


def test_size_entropy(market_db) -> None:
    a = features_of(market_db, A)
    # $111 → bin 20, $54.5 → bin 17, $25 → bin 13: three distinct bins of 3 fills: ln 3 / ln 3
    assert a["size_entropy"] == approx(1.0)
    assert features_of(market_db, D)["size_entropy"] == 0  # < 2 fills
    c = features_of(market_db, C)  # $25 (bin 13) and $11.2 (bin 10): ln 2 / ln 2
    assert c["size_entropy"] == approx(1.0)


def test_impact_and_slippage(market_db) -> None:
    a = features_of(market_db, A)
    # BTC fills at 401 s: mid before = 110 (bbo at 400 s), mid 5 s after = 112 (bbo at 403 s).
    # ETH fill at 350 s: L2 fallback, mid before = 12 (200 s) = mid after.
    impacts = [2 / 110, -2 / 110, 0.0]
    assert a["avg_market_impact"] == approx(np.mean(impacts), abs=1e-12)
    assert a["max_market_impact"] == approx(2 / 110)
    slips = [(111 - 110) / 110, -(109 - 110) / 110, (12.5 - 12) / 12]
    assert a["avg_slippage"] == approx(np.mean(slips))
    assert a["slippage_std"] == approx(np.std(slips))
    b = features_of(market_db, B)  # maker: no impact; earns the spread (negative slippage)
    assert b["avg_market_impact"] == 0 and b["max_market_impact"] == 0
    b_slips = [-(111 - 110) / 110, (109 - 110) / 110, -(112 - 112) / 112]
    assert b["avg_slippage"] == approx(np.mean(b_slips))


def test_momentum_and_mean_reversion(market_db) -> None:
    a = features_of(market_db, A)
    # 5 min before 401 s: mid 104 (100 s) → up; A bought (+1) and sold (−1). ETH at 350 s: mid at 50 s
    # is 10, mid before is 12 → up, A bought (+1). No fill of A has a mid 60 min earlier.
    assert a["momentum_score"] == approx(1 / 3)
    assert a["mean_reversion_score"] == 0
    b = features_of(market_db, B)
    # B: −1, +1 at 401 s, and at 3700 s the 5-min move is 112 → 112 (sign 0): mean 0.
    assert b["momentum_score"] == approx(0.0)
    # Only the 3700 s fill has a mid 60 min earlier (104 at 100 s → 112: up); B sold: −(−1)(+1) = 1.
    assert b["mean_reversion_score"] == approx(1.0)


def test_maker_features(market_db) -> None:
    b = features_of(market_db, B)
    assert b["order_book_participation"] == 1.0
    maker = 111.0 + 54.5 + 11.2
    assert b["market_maker_score"] == approx(1 - abs(54.5 - 111.0 - 11.2) / maker)
    a = features_of(market_db, A)
    assert a["order_book_participation"] == 0 and a["market_maker_score"] == 0
    c = features_of(market_db, C)  # maker on ETH sell $25, taker on BTC buy $11.2
    assert c["order_book_participation"] == approx(0.5)
    assert c["market_maker_score"] == approx(0.5 * (1 - 25 / 25))


def test_candle_features(market_db) -> None:
    a = features_of(market_db, A)
    # BTC minute 6: o 110 h 113 l 108 c 112 v 10 (both BTC fills); ETH minute 5: o 12 h 12.6 l 11.9 c 12.5 v 100.
    vols = [5 / 110, 5 / 110, 0.7 / 12]
    assert a["avg_candle_volatility"] == approx(np.mean(vols))
    assert a["max_candle_volatility"] == approx(0.7 / 12)
    assert a["volatility_std"] == approx(np.std(vols))
    moms = [2 / 110, -2 / 110, 0.5 / 12]  # side × (c − o)/o
    assert a["avg_candle_momentum"] == approx(np.mean(moms))
    assert a["momentum_std"] == approx(np.std(moms))
    assert a["positive_momentum_ratio"] == approx(2 / 3)  # the BTC sell went against its candle
    assert a["avg_trend_strength"] == approx(np.mean([2 / 5, 2 / 5, 0.5 / 0.7]))
    usd = [10 * 112, 10 * 112, 100 * 12.5]
    assert a["avg_candle_volume"] == approx(np.mean(usd))
    assert a["max_candle_volume"] == approx(1250.0)
    assert a["volume_std"] == approx(np.std(usd))
    # BTC ranges 0.01 and 5/110 → median between: minute 6 is above; ETH's only candle is its median.
    assert a["volatility_trading_score"] == approx(2 / 3)


def test_coverage_columns(market_db) -> None:
    a = features_of(market_db, A)
    assert a["has_fills"] and a["has_bbo"] and a["has_candles"] and a["has_evm"]
    assert a["bbo_share"] == 1.0 and a["candle_share"] == 1.0
    d = features_of(market_db, D)  # SOL has no BBO, no L2, no candle; D never used the EVM
    assert d["has_fills"] and not d["has_bbo"] and not d["has_candles"] and not d["has_evm"]
    assert d["avg_slippage"] == 0 and d["avg_candle_volatility"] == 0 and d["positive_momentum_ratio"] == 0
    c = features_of(market_db, C)  # BTC minute 61 has no candle
    assert c["candle_share"] == approx(0.5) and c["has_candles"]
    f = features_of(market_db, F)  # transfer only
    assert not f["has_fills"] and f["has_evm"] and f["tx_count"] == 0 and f["total_value"] == 0


def test_window_restricts_every_input(market_db) -> None:
    info = build_wallet_features(market_db, start_ms=T0, end_ms=T0 + 402 * S, table="wallet_features_early")
    assert info["rows"] == 3  # A, B, C traded before 402 s; D (500 s), E, F later
    a = features_of(market_db, A, "wallet_features_early")
    assert a["tx_count"] == 3 and a["erc20_count"] == 0 and a["unique_tokens"] == 2
    assert a["age_days"] == approx(51 / 86400)


@pytest.mark.parametrize("bad", ["wallet features", "x;drop"])
def test_bad_table_name_is_a_user_error(market_db, bad) -> None:
    from hypertrack_pipeline.errors import UserError

    with pytest.raises(UserError):
        build_wallet_features(market_db, table=bad)


def test_failed_build_leaves_no_temp_tables(market_db) -> None:
    market_db.execute("ALTER TABLE candles RENAME COLUMN volume TO volume_gone")  # the candle query fails
    with pytest.raises(duckdb.BinderException):
        build_wallet_features(market_db, table="wallet_features_broken")
    names = [r[0] for r in market_db.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    assert "wallet_features_broken" not in names and not [n for n in names if n.startswith("_wf_")]


def test_empty_and_evm_only_warehouses() -> None:
    con = duckdb.connect()
    ensure_schema(con)  # what the raw loads create
    assert build_wallet_features(con)["rows"] == 0  # nothing loaded: an empty table with the declared layout
    assert con.execute("SELECT count(*) FROM wallet_features").fetchall()[0][0] == 0
    con.execute("""INSERT INTO evm_token_transfers VALUES
        (1, 1000, epoch_ms(1000), '0xt1', 0, '0xtoken', '0xaa', '0xbb', '1', 0, 2.0, epoch_ms(0)),
        (2, 5000, epoch_ms(5000), '0xt2', 0, '0xtoken', '0xaa', '0xaa', '1', 0, 3.0, epoch_ms(0))""")
    build_wallet_features(con)
    rows = dict(con.execute("SELECT wallet, [erc20_count, unique_addresses, erc20_volume, age_days, tx_count] "
                            "FROM wallet_features").fetchall())
    # 0xaa: a transfer to 0xbb and one to itself (one event, no counterparty); 0xbb: received one
    assert rows == {"0xaa": [2.0, 1.0, 5.0, 4000 / 86_400_000, 0.0], "0xbb": [1.0, 1.0, 2.0, 0.0, 0.0]}


def test_trades_reach_numpy_in_coin_time_tid_order() -> None:
    from hypertrack_pipeline.warehouse.features import fetch_trades

    con = duckdb.connect()
    con.execute("""CREATE TEMP TABLE _wf_trades AS SELECT * FROM (VALUES
        (7, 8, 1, 5000, 9, true, 1.0, 10.0), (5, 6, 0, 7000, 4, false, 2.0, 20.0), (3, 4, 0, 7000, 2, true, 3.0, 30.0),
        (1, 2, 0, 6000, 8, false, 4.0, 40.0)) t(buyer, seller, cid, time_ms, tid, buyer_maker, px, notional)""")
    tr = fetch_trades(con)  # stored out of order: sorted by (coin, time, tid) before any sequence feature
    assert tr.cid.tolist() == [0, 0, 0, 1] and tr.time_ms.tolist() == [6000, 7000, 7000, 5000]
    assert tr.buyer.tolist() == [1, 3, 5, 7] and tr.notional.tolist() == [40.0, 30.0, 20.0, 10.0]
    assert tr.buyer_maker.tolist() == [False, True, False, True]
