"""Fault injection of the simulator's server, observed by a plain WebSocket client."""

from __future__ import annotations

import json
import time

import pyarrow as pa
import pytest
import websocket

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.landing.schemas import TRADES
from hypertrack_pipeline.simulator.server import SimServer, TableSource

T0 = 1_736_682_877_000


def trades_source(n: int, step_ms: int = 1, coin: str = "BTC") -> TableSource:
    rows = {
        "coin": [coin] * n, "side": ["B", "A"] * (n // 2) + ["B"] * (n % 2), "px": [95_000.0 + i for i in range(n)],
        "sz": [0.01] * n, "time": [T0 + i * step_ms for i in range(n)], "tid": list(range(n)),
        "hash": ["0x" + "0" * 64] * n, "buyer": ["0x" + "a" * 40] * n, "seller": ["0x" + "b" * 40] * n,
        "recv_ns": [0] * n,
    }
    return TableSource([{"trades": pa.Table.from_pydict(rows, schema=TRADES)}], universe=[coin])


def connect(server: SimServer, subscribe_to: str | None = "BTC") -> websocket.WebSocket:
    ws = websocket.create_connection(server.ws_url, timeout=5)
    assert ws.recv() == "Websocket connection established."
    if subscribe_to:
        ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "trades", "coin": subscribe_to}}))
        assert json.loads(ws.recv())["channel"] == "subscriptionResponse"
    return ws


def tids(frame: str) -> list[int]:
    return [t["tid"] for t in json.loads(frame)["data"]]


def test_drop_aborts_every_connection() -> None:
    with SimServer(trades_source(3), paused=True) as server:
        a, b = connect(server), connect(server, None)
        assert server.inject("drop") == 2
        for ws in (a, b):
            with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
                ws.recv()
        assert server.connection_count == 0 and server.subscription_count() == 0
        c = connect(server)  # the server keeps accepting: the client can reconnect and resubscribe
        assert server.subscription_count() == 1
        c.close()


@pytest.mark.parametrize("kind", ["malformed", "truncated", "unknown_channel", "wrong_type"])
def test_bad_frames_reach_the_client(kind: str) -> None:
    with SimServer(trades_source(3), paused=True) as server:
        ws = connect(server)
        assert server.inject(kind) == 1
        frame = ws.recv()
        assert isinstance(frame, str)
        if kind in ("malformed", "truncated"):
            with pytest.raises(json.JSONDecodeError):
                json.loads(frame)
            if kind == "truncated":
                assert frame.startswith('{"channel":"trades","data":[{')
        elif kind == "unknown_channel":
            assert json.loads(frame)["channel"] not in {"trades", "bbo", "l2Book", "candle", "pong",
                                                        "subscriptionResponse", "error"}
        else:
            item = json.loads(frame)["data"][0]
            assert item["coin"] == "BTC" and isinstance(item["px"], list)
        # the connection still works afterwards
        ws.send(json.dumps({"method": "ping"}))
        assert json.loads(ws.recv()) == {"channel": "pong"}
        ws.close()
        assert server.sent_trades() == []  # fault frames are not real trades


def test_duplicate_resends_the_next_messages_twice() -> None:
    with SimServer(trades_source(4), speed=0, paused=True) as server:
        ws = connect(server)
        server.inject("duplicate", n=2)
        server.resume()
        got = [tids(ws.recv()) for _ in range(6)]
        ws.close()
    assert got == [[0], [0], [1], [1], [2], [3]]
    assert server.sent_trades() == [("BTC", T0 + i, i) for i in range(4)]  # the log lists each trade once


def test_stall_delays_data_without_losing_it_and_can_hold_pongs() -> None:
    with SimServer(trades_source(30, step_ms=20), speed=1.0, paused=True) as server:
        ws = connect(server)
        server.resume()
        arrivals: list[float] = []
        got: list[int] = []
        for _ in range(5):
            got += tids(ws.recv())
            arrivals.append(time.monotonic())
        server.inject("stall", seconds=0.6, pongs=True)
        ws.send(json.dumps({"method": "ping"}))
        pong_seen = False
        while len(got) < 30:
            frame = json.loads(ws.recv())
            if frame["channel"] == "pong":
                pong_seen = True
                continue
            got += [t["tid"] for t in frame["data"]]
            arrivals.append(time.monotonic())
        ws.close()
    assert got == list(range(30))
    assert max(b - a for a, b in zip(arrivals, arrivals[1:], strict=False)) >= 0.5
    assert not pong_seen  # the ping sent during the stall was never answered


def test_faults_can_be_scheduled_and_unknown_kinds_are_refused() -> None:
    server = SimServer(trades_source(2), paused=True)
    server.schedule("unknown_channel", 0.4)
    with pytest.raises(UserError):
        server.schedule("explode", 1.0)
    with server:
        ws = connect(server)
        start = time.monotonic()
        frame = json.loads(ws.recv())
        assert frame["channel"] == "notAChannel"
        assert time.monotonic() - start < 2
        with pytest.raises(UserError):
            server.inject("explode")
        assert server.stats()["faults"] == {"unknown_channel": 1}
        ws.close()


def test_a_broken_source_is_reported_and_a_busy_port_is_a_user_error() -> None:
    def broken():
        yield from trades_source(2).batches()
        raise ValueError("market exploded")

    class Broken:
        start_ms = None

        def universe(self) -> list:
            return []

        def batches(self):
            return broken()

    with SimServer(Broken(), speed=0) as server:
        with pytest.raises(RuntimeError, match="market exploded"):
            server.wait_done(5)
        assert isinstance(server.error, ValueError)
        with pytest.raises(UserError, match="could not start"):
            SimServer(trades_source(1), port=server.port).start()
