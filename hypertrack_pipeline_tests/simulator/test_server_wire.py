"""Landing rows → wire JSON (the simulator server's encoder)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from hypertrack_pipeline.landing.schemas import L2BOOK, TRADES
from hypertrack_pipeline.simulator.server import TableSource, shift_times
from hypertrack_pipeline.simulator.wire import (
    CANDLE,
    TableEncoder,
    decimal_string,
    decimal_strings,
    l2book_events,
)
from hypertrack_pipeline.simulator.wire import (
    TRADES as TRADES_CHANNEL,
)

T0 = 1_736_683_200_000


def test_decimal_strings_are_exact_and_free_of_float_noise() -> None:
    values = [21.269, 1.0, 0.1 + 0.2, 95_000.0, 0.00001, 0.000001234, 1e16, 906.75, 3 * 1.1]
    assert decimal_strings(np.array(values)) == [
        "21.269", "1.0", "0.3", "95000.0", "0.00001", "0.000001234", "10000000000000000.0", "906.75", "3.3"]
    assert [decimal_string(v) for v in values] == decimal_strings(values)
    assert all(float(s) == round(v, 10) for s, v in zip(decimal_strings(values), values, strict=True))


def test_trades_of_one_coin_and_millisecond_share_a_frame_with_a_candle_update() -> None:
    rows = [("BTC", T0, 2), ("ETH", T0, 1), ("BTC", T0, 1), ("BTC", T0 + 1, 3)]
    table = pa.Table.from_pylist([
        {"coin": c, "side": "A", "px": 100.5, "sz": 0.25, "time": t, "tid": tid, "hash": "0x" + "0" * 64,
         "buyer": "0x" + "1" * 40, "seller": "0x" + "2" * 40, "recv_ns": 0} for c, t, tid in rows], schema=TRADES)
    events = TableEncoder().encode({"trades": table}).events
    trade_frames = [e for e in events if e.channel == TRADES_CHANNEL]
    assert [(e.coin, e.time, [t for _, _, t in e.trade_ids]) for e in trade_frames] == [
        ("BTC", T0, [1, 2]), ("ETH", T0, [1]), ("BTC", T0 + 1, [3])]
    assert [e.channel for e in events] == ["trades", "candle", "trades", "candle", "trades", "candle"]
    last_btc_candle = json.loads([e for e in events if e.channel == CANDLE and e.coin == "BTC"][-1].payload)
    assert last_btc_candle["data"]["n"] == 3 and last_btc_candle["data"]["v"] == "0.75"


def test_l2book_sides_of_different_depths() -> None:
    table = pa.Table.from_pylist([
        {"coin": "SOL", "time": T0, "bid_px": [190.5, 190.4], "bid_sz": [3.0, 1.5], "bid_n": [2, 1],
         "ask_px": [190.6], "ask_sz": [0.5], "ask_n": [1], "recv_ns": 0},
        {"coin": "SOL", "time": T0 + 500, "bid_px": [], "bid_sz": [], "bid_n": [], "ask_px": [191.0, 191.1, 191.2],
         "ask_sz": [1.0, 2.0, 3.0], "ask_n": [1, 2, 3], "recv_ns": 0},
    ], schema=L2BOOK)
    first, second = (json.loads(e.payload)["data"] for e in l2book_events(table))
    assert first["levels"] == [[{"px": "190.5", "sz": "3.0", "n": 2}, {"px": "190.4", "sz": "1.5", "n": 1}],
                               [{"px": "190.6", "sz": "0.5", "n": 1}]]
    assert second["levels"][0] == [] and [lv["n"] for lv in second["levels"][1]] == [1, 2, 3]


def test_time_shift_moves_frames_and_candles_together() -> None:
    table = pa.Table.from_pylist([
        {"coin": "ETH", "side": "B", "px": 3300.0, "sz": 1.0, "time": T0 + 1234, "tid": 9, "hash": "0x" + "0" * 64,
         "buyer": "0x" + "1" * 40, "seller": "0x" + "2" * 40, "recv_ns": 0}], schema=TRADES)
    assert shift_times({"trades": table}, 0)["trades"] is table
    shift = 7 * 86_400_000 + 60_000
    src = TableSource([{"trades": table}], time_shift_ms=shift)
    (batch,) = list(src.batches())
    trades, candle = (json.loads(e.payload)["data"] for e in batch.events)
    assert trades[0]["time"] == T0 + 1234 + shift and batch.events[0].trade_ids == [("ETH", T0 + 1234 + shift, 9)]
    assert candle["t"] == T0 + shift


def test_column_built_trade_json_equals_orjson_and_odd_coin_names_are_escaped() -> None:
    def frame(coin: str) -> dict:
        table = pa.Table.from_pylist([
            {"coin": coin, "side": "B", "px": 0.00001234, "sz": 12345.0, "time": T0, "tid": 2**50, "hash": "0x" + "f" * 64,
             "buyer": "0x" + "1" * 40, "seller": "0x" + "2" * 40, "recv_ns": 0}], schema=TRADES)
        (event, _candle) = TableEncoder().encode({"trades": table}).events
        return json.loads(event.payload)

    plain = frame("kPEPE")
    assert plain == {"channel": "trades", "data": [{
        "coin": "kPEPE", "side": "B", "px": "0.00001234", "sz": "12345.0", "time": T0, "hash": "0x" + "f" * 64,
        "tid": 2**50, "users": ["0x" + "1" * 40, "0x" + "2" * 40]}]}
    odd = 'A"<script>\\x'
    assert frame(odd)["data"][0]["coin"] == odd  # escaped, still valid JSON
