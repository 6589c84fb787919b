"""clearinghouseState from the simulator: the account book alone (hand-made trades against hand computations),
then through the real server on 127.0.0.1 (positions equal the trades played, 422 for a bad user, 429s by
fault injection)."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import orjson
import pyarrow as pa
import pytest

from hypertrack_pipeline.hyperliquid.account import account_rows
from hypertrack_pipeline.hyperliquid.info import InfoClient, InfoHTTPError
from hypertrack_pipeline.landing.schemas import TRADES
from hypertrack_pipeline.simulator.accounts import LEVERAGES
from hypertrack_pipeline.simulator.server import SimServer, TableSource
from hypertrack_pipeline.simulator.server.accounts import AccountBook, wallet_leverage

A, B, C = "0x" + "a1" * 20, "0x" + "b2" * 20, "0x" + "c3" * 20
T0 = 1_767_268_800_000
UNIVERSE = [{"name": "BTC", "maxLeverage": 50}, {"name": "xyz:NVDA", "maxLeverage": 10}, {"name": "@107"}]


def frame(coin: str, buyer: str, seller: str, px: float, sz: float, t: int = T0) -> bytes:
    return orjson.dumps({"channel": "trades", "data": [{"coin": coin, "side": "B", "px": repr(px), "sz": repr(sz),
                                                        "time": t, "hash": "0x0", "tid": 1,
                                                        "users": [buyer, seller]}]})


def deposit_after_open(notional: float, lev: int) -> float:
    """The model's top-up: 1.5 × the initial margin, rounded up to $100."""
    return math.ceil(1.5 * notional / lev / 100) * 100


def test_the_book_follows_the_trades_and_marks_at_the_mid() -> None:
    mids = {"BTC": "140.0"}
    book = AccountBook(lambda: UNIVERSE, lambda: mids)
    book.feed(frame("BTC", A, B, 100.0, 2.0), T0)  # A long 2 @ 100, B short 2 @ 100
    book.feed(frame("BTC", C, A, 130.0, 1.0), T0)  # A sells 1 @ 130: realizes +30
    book.feed(frame("BTC", C, C, 999.0, 5.0), T0)  # a self-trade moves nothing
    book.feed(frame("@107", A, B, 20.0, 3.0), T0)  # spot: not a perp position
    book.feed(frame("xyz:NVDA", A, B, 10.0, 4.0), T0)  # a builder dex's perp
    lev_a, lev_b = min(wallet_leverage(A), 50), min(wallet_leverage(B), 50)
    assert wallet_leverage(A) in LEVERAGES
    ans = book.clearinghouse_state(A, T0 + 5)
    assert ans["time"] == T0 + 5 and [p["position"]["coin"] for p in ans["assetPositions"]] == ["BTC"]
    pos = ans["assetPositions"][0]["position"]
    assert ans["assetPositions"][0]["type"] == "oneWay"
    assert (pos["szi"], pos["entryPx"], pos["positionValue"], pos["unrealizedPnl"]) == ("1.0", "100.0", "140.0", "40.0")
    assert pos["leverage"] == {"type": "cross", "value": lev_a} and pos["maxLeverage"] == 50
    assert float(pos["marginUsed"]) == pytest.approx(140 / lev_a)
    assert float(pos["returnOnEquity"]) == pytest.approx(40 / (100 / lev_a))
    dep_a = book.deposit(A)
    assert dep_a >= deposit_after_open(200.0, lev_a)  # opened 2 × 100 with nothing deposited
    equity = dep_a + 30 + 40
    assert float(ans["marginSummary"]["accountValue"]) == pytest.approx(equity)
    assert ans["crossMarginSummary"] == ans["marginSummary"]
    assert float(ans["marginSummary"]["totalRawUsd"]) == pytest.approx(equity - 140)
    assert float(ans["crossMaintenanceMarginUsed"]) == pytest.approx(140 / 100)  # value / (2 × max leverage)
    assert float(ans["withdrawable"]) == pytest.approx(equity - 140 / lev_a)
    liq_a = 140 - (equity - 1.4) / 1 / (1 - 1 / 100)
    assert pos["liquidationPx"] is None if liq_a <= 0 else float(pos["liquidationPx"]) == pytest.approx(liq_a)
    # B is short 2 from 100, marked at 140: it is liquidated above the mark
    b = book.clearinghouse_state(B, T0)
    bpos = b["assetPositions"][0]["position"]
    eq_b = float(b["marginSummary"]["accountValue"])
    assert eq_b == pytest.approx(book.deposit(B) - 80) and book.deposit(B) >= deposit_after_open(200.0, lev_b)
    liq_b = 140 + (eq_b - 280 / 100) / 2 / (1 + 1 / 100)
    assert float(bpos["szi"]) == -2.0 and float(bpos["liquidationPx"]) == pytest.approx(liq_b, rel=1e-6)
    # the builder dex's clearinghouse holds NVDA; an unknown wallet has an empty account
    assert [p["position"]["coin"] for p in book.clearinghouse_state(A, T0, dex="xyz")["assetPositions"]] == ["xyz:NVDA"]
    empty = book.clearinghouse_state("0x" + "99" * 20, T0)
    assert empty["assetPositions"] == [] and empty["marginSummary"]["accountValue"] == "0.0"
    # the answer parses into the landing rows
    state, rows = account_rows(A, ans, 0, 7)
    assert state[:3] == (A, T0 + 5, pytest.approx(equity)) and state[8] == 1
    assert rows[0][2:4] == ("BTC", 1.0) and rows[0][9] == "cross"


def test_an_answer_holds_the_trades_up_to_its_time_and_none_after() -> None:
    book = AccountBook(lambda: UNIVERSE, dict)
    book.feed(frame("BTC", A, B, 100.0, 1.0, T0), T0)
    book.feed(frame("BTC", A, B, 100.0, 2.0, T0 + 10), T0 + 10)  # played, but after the first answer's time
    first = book.clearinghouse_state(A, T0 + 9)
    assert (first["time"], first["assetPositions"][0]["position"]["szi"]) == (T0 + 9, "1.0")
    assert book.clearinghouse_state(A, T0 + 10)["assetPositions"][0]["position"]["szi"] == "3.0"


def test_a_wallet_short_of_margin_tops_up() -> None:
    book = AccountBook(lambda: UNIVERSE, dict)
    book.feed(frame("BTC", A, B, 100.0, 1.0), T0)
    first = book.deposit(A)
    book.feed(frame("BTC", A, C, 100.0, 10.0), T0)  # ten times the position: the margin needs a new deposit
    assert book.deposit(A) > first
    book.feed(frame("BTC", C, A, 100.0, 11.0), T0)  # flat again: no position left
    assert book.clearinghouse_state(A, T0)["assetPositions"] == []
    assert float(book.clearinghouse_state(A, T0)["marginSummary"]["accountValue"]) == pytest.approx(book.deposit(A))


def _market(n: int = 400, seed: int = 3) -> list[dict[str, pa.Table]]:
    rng = np.random.default_rng(seed)
    wallets = [f"0x{i:040x}" for i in range(1, 12)]
    buyers = rng.integers(0, len(wallets), n)
    sellers = rng.integers(0, len(wallets), n)  # some self-trades on purpose
    times = T0 + np.sort(rng.integers(0, 60_000, n))
    trades = pa.table({
        "coin": [["BTC", "ETH"][i] for i in rng.integers(0, 2, n)], "side": ["B"] * n,
        "px": np.round(100 + rng.normal(0, 1, n), 2), "sz": np.round(rng.uniform(0.01, 3, n), 2), "time": times,
        "tid": np.arange(1, n + 1), "hash": ["0x" + "0" * 64] * n,
        "buyer": [wallets[i] for i in buyers], "seller": [wallets[i] for i in sellers], "recv_ns": np.zeros(n, np.int64),
    }, schema=TRADES)
    return [{"trades": trades}]


def test_the_server_answers_from_the_trades_played_and_injects_429s() -> None:
    chunks = _market()
    trades = chunks[0]["trades"].to_pylist()
    net: dict[tuple[str, str], float] = defaultdict(float)
    for t in trades:
        if t["buyer"] != t["seller"]:
            net[(t["buyer"], t["coin"])] += t["sz"]
            net[(t["seller"], t["coin"])] -= t["sz"]
    with SimServer(TableSource(chunks), speed=0) as srv:
        assert srv.wait_done(30)
        info = InfoClient(srv.info_url, weight_per_min=1e9)
        got: dict[tuple[str, str], float] = defaultdict(float)
        for w in sorted({w for w, _ in net}):
            ans = info.clearinghouse_state(w.upper().replace("0X", "0x"))  # any letter case
            assert ans["time"] == srv.sim_time_ms()
            for p in ans["assetPositions"]:
                got[(w, p["position"]["coin"])] = float(p["position"]["szi"])
        assert {k: round(v, 6) for k, v in got.items()} == {k: round(v, 6) for k, v in net.items() if abs(v) > 1e-9}
        with pytest.raises(InfoHTTPError) as bad:
            info.post({"type": "clearinghouseState", "user": "0x123"})
        assert bad.value.status == 422
        srv.inject("info_429", n=2, type="clearinghouseState")
        assert info.perp_coins() == ["BTC", "ETH"]  # other request types are answered
        for _ in range(2):
            with pytest.raises(InfoHTTPError) as refused:
                info.clearinghouse_state(trades[0]["buyer"])
            assert refused.value.status == 429
        assert "marginSummary" in info.clearinghouse_state(trades[0]["buyer"])
        srv.inject("info_429", n=1, status=502)
        with pytest.raises(InfoHTTPError) as failed:
            info.post({"type": "meta"})
        assert failed.value.status == 502
        stats = srv.stats()
        assert stats["info_refused"] == {"clearinghouseState": 2, "meta": 1}
        assert stats["faults"] == {"info_429": 2}
