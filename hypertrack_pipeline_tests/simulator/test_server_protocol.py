"""Protocol conformance of the simulator's server (SPEC §2) with plain WebSocket clients, checked
against real Hyperliquid frames from the shared fixtures."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import websocket
import websockets

from hypertrack_pipeline.landing.schemas import BBO, L2BOOK, TRADES
from hypertrack_pipeline.simulator.server import SimServer, TableSource

T0 = 1_736_682_877_000  # 2025-01-12, the capture's day
A1, A2 = "0x" + "a" * 40, "0x" + "b" * 40


def trades_table(rows: list[dict[str, Any]]) -> pa.Table:
    cols = {f.name: [r.get(f.name, 0) for r in rows] for f in TRADES}
    return pa.Table.from_pydict(cols, schema=TRADES)


def trade(coin: str, t: int, tid: int, px: float = 21.5, sz: float = 1.0, side: str = "B") -> dict[str, Any]:
    return {"coin": coin, "side": side, "px": px, "sz": sz, "time": t, "tid": tid, "hash": "0x" + "0" * 64,
            "buyer": A1, "seller": A2, "recv_ns": 0}


def fixture_frames(hl_fixtures: Path) -> dict[str, dict[str, Any]]:
    """channel → the first frame of that channel in the real capture."""
    out: dict[str, dict[str, Any]] = {}
    for line in (hl_fixtures / "ws" / "hype_20250112_sample.log").read_text().splitlines():
        msg = json.loads(line.split(" ", 1)[1])
        out.setdefault(msg["channel"], msg)
    return out


def connect(server: SimServer, path: str = "/ws") -> websocket.WebSocket:
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}{path}", timeout=5)
    assert ws.recv() == "Websocket connection established."
    return ws


def subscribe(ws: websocket.WebSocket, sub: dict[str, Any]) -> dict[str, Any]:
    ws.send(json.dumps({"method": "subscribe", "subscription": sub}))
    return json.loads(ws.recv())


def recv_json(ws: websocket.WebSocket) -> dict[str, Any]:
    return json.loads(ws.recv())


def json_types(obj: Any) -> Any:
    """The shape of a JSON value: same keys, each leaf replaced by its JSON type name."""
    if isinstance(obj, dict):
        return {k: json_types(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [json_types(v) for v in obj[:1]]
    return type(obj).__name__


def test_greeting_subscribe_unsubscribe_ping_and_errors() -> None:
    src = TableSource([{"trades": trades_table([trade("BTC", T0, 1)])}], universe=["BTC"])
    with SimServer(src, paused=True) as server:
        ws = connect(server, "/")  # the WS endpoint answers on / as well as /ws
        ack = subscribe(ws, {"type": "trades", "coin": "BTC"})
        assert ack == {"channel": "subscriptionResponse",
                       "data": {"method": "subscribe", "subscription": {"type": "trades", "coin": "BTC"}}}
        ack = subscribe(ws, {"type": "l2Book", "coin": "BTC"})
        assert ack["data"]["subscription"] == {"type": "l2Book", "coin": "BTC", "nSigFigs": None, "mantissa": None}
        assert server.subscription_count() == 2
        ws.send(json.dumps({"method": "ping"}))
        assert recv_json(ws) == {"channel": "pong"}
        # a second identical subscribe, a bad subscription and garbage each get an error frame
        err = subscribe(ws, {"type": "trades", "coin": "BTC"})
        assert err["channel"] == "error" and "Already subscribed" in err["data"]
        err = subscribe(ws, {"type": "candle", "coin": "BTC", "interval": "7m"})
        assert err["channel"] == "error" and "Invalid subscription" in err["data"]
        err = subscribe(ws, {"type": "trades"})
        assert err["channel"] == "error"
        ws.send("not json")
        assert recv_json(ws)["channel"] == "error"
        ws.send(json.dumps({"method": "unsubscribe", "subscription": {"type": "trades", "coin": "BTC"}}))
        assert recv_json(ws) == {"channel": "subscriptionResponse",
                                 "data": {"method": "unsubscribe", "subscription": {"type": "trades", "coin": "BTC"}}}
        assert server.subscription_count() == 1
        ws.close()


def test_trades_frames_match_the_real_fixture(hl_fixtures: Path) -> None:
    """Acceptance: subscribe to trades → subscriptionResponse, then trade lists whose fields, JSON
    types and values equal the real capture's (px/sz strings, tid/time numbers, users pair)."""
    real = fixture_frames(hl_fixtures)["trades"]["data"]
    rows = [{"coin": t["coin"], "side": t["side"], "px": float(t["px"]), "sz": float(t["sz"]), "time": t["time"],
             "tid": t["tid"], "hash": t["hash"], "buyer": t["users"][0], "seller": t["users"][1], "recv_ns": 0}
            for t in real]
    src = TableSource([{"trades": trades_table(rows)}])
    with SimServer(src, speed=0, paused=True) as server:
        ws = connect(server)
        ack = subscribe(ws, {"type": "trades", "coin": "HYPE"})
        assert ack["channel"] == "subscriptionResponse"
        server.resume()
        got: list[dict[str, Any]] = []
        frames = []
        while len(got) < len(real):
            frame = recv_json(ws)
            assert set(frame) == {"channel", "data"} and frame["channel"] == "trades"
            assert isinstance(frame["data"], list) and frame["data"]
            assert len({(t["coin"], t["time"]) for t in frame["data"]}) == 1  # one list per coin and block
            frames.append(frame)
            got.extend(frame["data"])
        ws.close()
    real_sorted = sorted(real, key=lambda t: (t["time"], t["tid"]))
    assert got == real_sorted  # exact values, strings included ("21.3", "906.75")
    for mine, theirs in zip(got, real_sorted, strict=True):
        assert list(mine) == list(theirs)  # same field order as the exchange
        assert json_types(mine) == json_types(theirs)
    assert len(frames) == len({(t["time"]) for t in real})
    assert server.sent_trades() == [("HYPE", t["time"], t["tid"]) for t in real_sorted]


def test_l2book_frames_match_the_real_fixture_and_snapshot_on_subscribe(hl_fixtures: Path) -> None:
    real = fixture_frames(hl_fixtures)["l2Book"]["data"]
    bids, asks = real["levels"]
    row = {"coin": real["coin"], "time": real["time"], "recv_ns": 0}
    for side, levels in (("bid", bids), ("ask", asks)):
        row[f"{side}_px"] = [float(lv["px"]) for lv in levels]
        row[f"{side}_sz"] = [float(lv["sz"]) for lv in levels]
        row[f"{side}_n"] = [lv["n"] for lv in levels]
    book = pa.Table.from_pylist([row], schema=L2BOOK)
    src = TableSource([{"l2book": book}])
    with SimServer(src, speed=0, paused=True) as server:
        ws = connect(server)
        assert subscribe(ws, {"type": "l2Book", "coin": "HYPE"})["channel"] == "subscriptionResponse"
        server.resume()
        frame = recv_json(ws)
        assert frame == {"channel": "l2Book", "data": real}
        assert json_types(frame["data"]) == json_types(real)
        assert server.wait_done(5)
        # a late subscriber gets the current book right after its ack, as on the real exchange
        ws2 = connect(server)
        assert subscribe(ws2, {"type": "l2Book", "coin": "HYPE"})["channel"] == "subscriptionResponse"
        assert recv_json(ws2)["data"] == real
        ws.close()
        ws2.close()


def test_bbo_frames_have_levels_or_null() -> None:
    rows = [
        {"coin": "ETH", "time": T0, "bid_px": 3300.5, "bid_sz": 1.25, "bid_n": 3, "ask_px": 3300.6,
         "ask_sz": 0.5, "ask_n": 1, "recv_ns": 0},
        {"coin": "ETH", "time": T0 + 1, "bid_px": None, "bid_sz": None, "bid_n": None, "ask_px": 3301.0,
         "ask_sz": 2.0, "ask_n": 2, "recv_ns": 0},
    ]
    src = TableSource([{"bbo": pa.Table.from_pylist(rows, schema=BBO)}])
    with SimServer(src, speed=0, paused=True) as server:
        ws = connect(server)
        subscribe(ws, {"type": "bbo", "coin": "ETH"})
        server.resume()
        first, second = recv_json(ws), recv_json(ws)
        ws.close()
    assert first == {"channel": "bbo", "data": {"coin": "ETH", "time": T0, "bbo": [
        {"px": "3300.5", "sz": "1.25", "n": 3}, {"px": "3300.6", "sz": "0.5", "n": 1}]}}
    assert second["data"]["bbo"] == [None, {"px": "3301.0", "sz": "2.0", "n": 2}]


def test_candle_stream_resends_the_open_candle_and_rolls_over() -> None:
    m0 = T0 - T0 % 60_000
    rows = [trade("SOL", m0 + 1_000, 1, px=190.0, sz=2.0), trade("SOL", m0 + 2_000, 2, px=191.5, sz=1.0),
            trade("SOL", m0 + 2_000, 3, px=189.25, sz=0.5), trade("SOL", m0 + 61_000, 4, px=190.5, sz=3.0)]
    src = TableSource([{"trades": trades_table(rows)}])
    with SimServer(src, speed=0, paused=True) as server:
        ws = connect(server)
        ack = subscribe(ws, {"type": "candle", "coin": "SOL", "interval": "1m"})
        assert ack["data"]["subscription"] == {"type": "candle", "coin": "SOL", "interval": "1m"}
        server.resume()
        candles = [recv_json(ws) for _ in range(3)]
        ws.close()
    assert all(c["channel"] == "candle" and isinstance(c["data"], dict) for c in candles)
    first, second, third = (c["data"] for c in candles)
    assert list(first) == ["t", "T", "s", "i", "o", "c", "h", "l", "v", "n"]
    assert first == {"t": m0, "T": m0 + 59_999, "s": "SOL", "i": "1m", "o": "190.0", "c": "190.0",
                     "h": "190.0", "l": "190.0", "v": "2.0", "n": 1}
    # the same open candle again, grown by the two trades of the next block
    assert second == {**first, "c": "189.25", "h": "191.5", "l": "189.25", "v": "3.5", "n": 3}
    assert third["t"] == m0 + 60_000 and third["o"] == "190.5" and third["n"] == 1


def test_idle_connections_are_closed_unless_they_ping() -> None:
    src = TableSource([{"trades": trades_table([trade("BTC", T0, 1)])}], universe=["BTC"])
    with SimServer(src, paused=True, idle_timeout_s=0.6) as server:
        silent = connect(server)
        chatty = connect(server)
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            chatty.send(json.dumps({"method": "ping"}))
            assert recv_json(chatty) == {"channel": "pong"}
            time.sleep(0.1)
        silent.settimeout(2)
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            silent.recv()
            silent.recv()
        assert chatty.connected
        assert server.connection_count == 1
        chatty.close()


def test_speed_factor_paces_events_by_simulated_time() -> None:
    rows = [trade("BTC", T0 + i * 1000, i) for i in range(4)]  # one trade per simulated second
    src = TableSource([{"trades": trades_table(rows)}])
    with SimServer(src, speed=10.0, paused=True) as server:
        ws = connect(server)
        subscribe(ws, {"type": "trades", "coin": "BTC"})
        server.resume()
        arrivals = []
        for _ in range(4):
            recv_json(ws)
            arrivals.append(time.monotonic())
        ws.close()
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    # 1 s of market time = 0.1 s of wall time (upper bound loose: the CI machine is shared)
    assert 0.25 < sum(gaps) < 1.5, gaps  # unthrottled it would be ~0


def test_only_subscribed_coins_are_sent_and_the_sent_log_is_exact() -> None:
    rows = [trade(c, T0 + i, i) for i, c in enumerate(["BTC", "ETH", "BTC", "SOL", "ETH", "BTC"])]
    src = TableSource([{"trades": trades_table(rows[:3])}, {"trades": trades_table(rows[3:])}])
    with SimServer(src, speed=0, paused=True) as server:
        ws = connect(server)
        subscribe(ws, {"type": "trades", "coin": "BTC"})
        subscribe(ws, {"type": "trades", "coin": "SOL"})
        server.resume()
        assert server.wait_done(5)
        got = [recv_json(ws)["data"][0] for _ in range(4)]
        ws.close()
    assert [(t["coin"], t["tid"]) for t in got] == [("BTC", 0), ("BTC", 2), ("SOL", 3), ("BTC", 5)]
    assert server.sent_trades() == [(t["coin"], t["time"], t["tid"]) for t in got]  # ETH went to nobody
    assert server.stats()["sent_messages"] == {"trades": 4}


def test_asyncio_websockets_client_sees_the_same_protocol() -> None:
    src = TableSource([{"trades": trades_table([trade("HYPE", T0, 7, px=21.304, sz=0.23)])}])

    async def client(url: str, server: SimServer) -> list[Any]:
        async with websockets.connect(url) as ws:
            greeting = await ws.recv()
            await ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "trades", "coin": "HYPE"}}))
            ack = json.loads(await ws.recv())
            await asyncio.get_running_loop().run_in_executor(None, server.resume)
            data = json.loads(await ws.recv())
            return [greeting, ack, data]

    with SimServer(src, speed=0, paused=True) as server:
        greeting, ack, data = asyncio.run(client(server.ws_url, server))
    assert greeting == "Websocket connection established."  # a text frame, not binary
    assert ack["channel"] == "subscriptionResponse"
    assert data["data"][0]["px"] == "21.304" and data["data"][0]["sz"] == "0.23" and data["data"][0]["tid"] == 7


def test_recent_trades_snapshot_on_subscribe_like_the_real_server() -> None:
    rows = [trade("BTC", T0 + i, i) for i in range(4)] + [trade("ETH", T0 + 9, 9)]
    src = TableSource([{"trades": trades_table(rows)}])
    with SimServer(src, speed=0, paused=True, recent_trades_on_subscribe=3) as server:
        first = connect(server)
        subscribe(first, {"type": "trades", "coin": "BTC"})
        server.resume()
        assert server.wait_done(5)
        late = connect(server)
        assert subscribe(late, {"type": "trades", "coin": "BTC"})["channel"] == "subscriptionResponse"
        snapshot = recv_json(late)
        assert snapshot["channel"] == "trades" and [t["tid"] for t in snapshot["data"]] == [1, 2, 3]
        eth = connect(server)
        subscribe(eth, {"type": "trades", "coin": "ETH"})
        assert [t["tid"] for t in recv_json(eth)["data"]] == [9]  # never sent before: now it is
        for ws in (first, late, eth):
            ws.close()
    assert server.sent_trades() == [("BTC", T0 + i, i) for i in range(4)] + [("ETH", T0 + 9, 9)]
