"""Wire parsing against the real captured frames and against every kind of bad input."""

from __future__ import annotations

import math
from pathlib import Path

import orjson
import pytest

from hypertrack_pipeline.hyperliquid.wire import BadMessage, parse_frame, subscription
from hypertrack_pipeline.landing.schemas import BBO, CANDLES, L2BOOK, TRADES

ALICE, BOB = "0x" + "a" * 40, "0x" + "B" * 40


def _fixture_frames(hl_fixtures: Path) -> list[tuple[int, bytes]]:
    out = []
    for line in (hl_fixtures / "ws" / "hype_20250112_sample.log").read_bytes().splitlines():
        ns, _, frame = line.partition(b" ")
        out.append((int(ns), frame))
    return out


def test_real_trades_frame_lands_every_trade_with_buyer_and_seller(hl_fixtures: Path) -> None:
    frames = _fixture_frames(hl_fixtures)
    ns, frame = next((ns, f) for ns, f in frames if b'"channel":"trades"' in f)
    wire = orjson.loads(frame)["data"]
    parsed = parse_frame(frame, ns)
    assert parsed is not None and parsed.stream == "trades" and not parsed.bad_items
    assert len(parsed.rows) == len(wire) > 1
    for row, item in zip(parsed.rows, wire, strict=True):
        rec = dict(zip(TRADES.names, row, strict=True))
        assert rec["coin"] == item["coin"] == "HYPE"
        assert rec["px"] == float(item["px"]) and rec["sz"] == float(item["sz"])
        assert rec["time"] == item["time"] and rec["tid"] == item["tid"] and rec["hash"] == item["hash"]
        assert rec["buyer"] == item["users"][0].lower() and rec["seller"] == item["users"][1].lower()
        assert rec["side"] == item["side"] and rec["recv_ns"] == ns


def test_real_l2book_and_ack_frames(hl_fixtures: Path) -> None:
    frames = _fixture_frames(hl_fixtures)
    ack = next(f for _, f in frames if b"subscriptionResponse" in f)
    parsed = parse_frame(ack, 1)
    assert parsed is not None and parsed.stream is None and parsed.channel == "subscriptionResponse"
    book_frame = next(f for _, f in frames if b'"channel":"l2Book"' in f)
    wire = orjson.loads(book_frame)["data"]
    parsed = parse_frame(book_frame, 5)
    assert parsed is not None and parsed.stream == "l2book"
    rec = dict(zip(L2BOOK.names, parsed.rows[0], strict=True))
    assert rec["time"] == wire["time"]
    assert rec["bid_px"] == [float(lv["px"]) for lv in wire["levels"][0]]
    assert rec["ask_n"] == [lv["n"] for lv in wire["levels"][1]]
    assert rec["bid_px"][0] < rec["ask_px"][0]


def test_greeting_is_not_an_error() -> None:
    assert parse_frame(b"Websocket connection established.", 1) is None


def _trade(**kw: object) -> dict:
    base = {"coin": "BTC", "side": "B", "px": "100.5", "sz": "0.25", "time": 1_700_000_000_000,
            "hash": "0x" + "0" * 64, "tid": 7, "users": [ALICE, BOB]}
    base.update(kw)
    return base


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        (b"<<this is not json>> {channel: trades", "malformed"),
        (b'{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"1.0"', "malformed"),
        (b"[1, 2, 3]", "malformed"),
        (b'{"data": {}}', "malformed"),
        (orjson.dumps({"channel": "notAChannel", "data": {"coin": "BTC"}}), "unknown_channel"),
        (orjson.dumps({"channel": "trades", "data": {"coin": "BTC"}}), "wrong_type"),
        (orjson.dumps({"channel": "bbo", "data": {"coin": "BTC", "time": 1, "bbo": "x"}}), "wrong_type"),
        (orjson.dumps({"channel": "l2Book", "data": {"coin": 5, "time": 1, "levels": [[], []]}}), "wrong_type"),
        (orjson.dumps({"channel": "candle", "data": {"s": "BTC", "t": 1}}), "wrong_type"),
    ],
)
def test_bad_frames_raise_a_counted_kind(frame: bytes, kind: str) -> None:
    with pytest.raises(BadMessage) as info:
        parse_frame(frame, 1)
    assert info.value.kind == kind


def test_oversized_frame() -> None:
    frame = orjson.dumps({"channel": "trades", "data": [_trade()] * 50})
    with pytest.raises(BadMessage) as info:
        parse_frame(frame, 1, max_bytes=1000)
    assert info.value.kind == "oversized"
    assert parse_frame(frame, 1, max_bytes=len(frame)) is not None


@pytest.mark.parametrize(
    "bad",
    [
        {"px": ["1.0", "2.0"]}, {"px": "abc"}, {"px": "nan"}, {"sz": None}, {"time": "soon"},
        {"time": True}, {"tid": 1.5}, {"side": "X"}, {"users": [ALICE]}, {"users": [ALICE, "0x12"]},
        {"coin": ""}, {"coin": "C" * 500}, {"hash": 5},
    ],
)
def test_bad_trade_items_are_skipped_and_good_ones_kept(bad: dict) -> None:
    frame = orjson.dumps({"channel": "trades", "data": [_trade(tid=1), _trade(**bad), _trade(tid=3)]})
    parsed = parse_frame(frame, 9)
    assert parsed is not None
    assert [r[5] for r in parsed.rows] == [1, 3]
    assert len(parsed.bad_items) == 1 and parsed.bad_items[0].kind == "wrong_type"


def test_coin_with_html_and_quotes_is_kept_verbatim() -> None:
    coin = '<script>alert("x")</script>\'"'
    parsed = parse_frame(orjson.dumps({"channel": "trades", "data": [_trade(coin=coin)]}), 1)
    assert parsed is not None and parsed.rows[0][0] == coin
    assert parsed.rows[0][7] == ALICE and parsed.rows[0][8] == BOB.lower()


def test_numbers_as_json_numbers_are_accepted_once_and_exactly() -> None:
    parsed = parse_frame(orjson.dumps({"channel": "trades", "data": [_trade(px=101.25, sz=3)]}), 1)
    assert parsed is not None and parsed.rows[0][2] == 101.25 and parsed.rows[0][3] == 3.0


def test_bbo_with_an_empty_side() -> None:
    frame = orjson.dumps({"channel": "bbo", "data": {"coin": "ETH", "time": 5,
                                                     "bbo": [None, {"px": "2001.5", "sz": "3", "n": 2}]}})
    parsed = parse_frame(frame, 11)
    assert parsed is not None
    rec = dict(zip(BBO.names, parsed.rows[0], strict=True))
    assert rec["bid_px"] is None and rec["bid_n"] is None
    assert rec["ask_px"] == 2001.5 and rec["ask_n"] == 2 and rec["recv_ns"] == 11


def test_candle_row() -> None:
    data = {"t": 60_000, "T": 119_999, "s": "BTC", "i": "1m", "o": "1", "c": "2", "h": "3", "l": "0.5",
            "v": "10.5", "n": 4}
    parsed = parse_frame(orjson.dumps({"channel": "candle", "data": data}), 3)
    assert parsed is not None and parsed.stream == "candles"
    rec = dict(zip(CANDLES.names, parsed.rows[0], strict=True))
    assert rec == {"coin": "BTC", "interval": "1m", "open_time": 60_000, "close_time": 119_999, "open": 1.0,
                   "high": 3.0, "low": 0.5, "close": 2.0, "volume": 10.5, "n_trades": 4, "recv_ns": 3}
    assert not any(isinstance(v, float) and math.isnan(v) for v in rec.values())


def test_subscription_messages() -> None:
    assert subscription("l2book", "BTC") == {"method": "subscribe", "subscription": {"type": "l2Book", "coin": "BTC"}}
    assert subscription("candles", "ETH")["subscription"] == {"type": "candle", "coin": "ETH", "interval": "1m"}
    assert subscription("trades", "SOL")["subscription"]["type"] == "trades"
