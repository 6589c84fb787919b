"""The market pump alone: the producer thread, the clock, state updates, fan-out through real
WebSocket sessions on 127.0.0.1, the sent log, duplicates and a failing source."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from hypertrack_pipeline.simulator.server.clock import SimClock
from hypertrack_pipeline.simulator.server.faults import FaultInjector
from hypertrack_pipeline.simulator.server.pump import MarketPump
from hypertrack_pipeline.simulator.server.sentlog import SentLog
from hypertrack_pipeline.simulator.server.sessions import Sessions
from hypertrack_pipeline.simulator.server.snapshots import RecentTrades
from hypertrack_pipeline.simulator.server.state import EvmChain, MarketState
from hypertrack_pipeline.simulator.wire import CANDLE, EVM, EventBatch, EvmBlock, WireEvent

T0 = 1_736_683_200_000


class ListSource:
    """Hand-made batches as an event source; ``fail`` raises after them (a broken source)."""

    def __init__(self, batches: list[list[WireEvent]], start_ms: int | None = None, fail: bool = False) -> None:
        self._batches = batches
        self._start_ms = start_ms
        self._fail = fail

    @property
    def start_ms(self) -> int | None:
        return self._start_ms

    def universe(self) -> list[dict[str, Any]]:
        return []

    def batches(self) -> Iterator[EventBatch]:
        for events in self._batches:
            yield EventBatch(events)
        if self._fail:
            raise ValueError("source broke")


def trade(t: int, tid: int, coin: str = "BTC") -> WireEvent:
    payload = json.dumps({"channel": "trades", "data": [{"coin": coin, "time": t, "tid": tid}]},
                         separators=(",", ":")).encode()
    return WireEvent(t, "trades", coin, payload, trade_ids=[(coin, t, tid)])


def evm_block(n: int, t: int) -> WireEvent:
    return WireEvent(t, EVM, "", b"", state=EvmBlock(n, t, {"number": hex(n), "hash": "0x" + "ab" * 32}))


def pump_of(source: ListSource, speed: float = 0, start_ms: int | None = None,
            recent_frames: int = 5) -> tuple[MarketPump, Sessions]:
    clock, sessions = SimClock(speed), Sessions()
    pump = MarketPump(source, clock, sessions, FaultInjector(sessions, clock), MarketState(), EvmChain(),
                      RecentTrades(recent_frames), SentLog(), start_ms)
    return pump, sessions


def play(pump: MarketPump) -> None:
    async def main() -> None:
        pump.clock.bind()
        await asyncio.wait_for(pump.run(), 10)

    asyncio.run(main())


def test_events_update_state_clock_and_recent_trades_without_subscribers() -> None:
    candle = WireEvent(T0 + 1, CANDLE, "BTC", b"{}", state={"t": T0, "T": T0 + 59_999, "c": "1"})
    source = ListSource([[trade(T0, 1), candle], [], [evm_block(7, T0 + 2), trade(T0 + 3, 2)]])
    pump, _ = pump_of(source)
    play(pump)
    assert pump.done.is_set() and pump.error is None
    assert pump.clock.now() == T0 + 3  # speed 0: the clock is the last event
    assert pump.state.candles["BTC"][0]["c"] == "1" and pump.chain.latest == 7
    assert pump.sent_log.messages == {} and pump.sent_log.trades() == []  # nobody subscribed
    recent = pump.recent.get("BTC")
    assert recent is not None and [e[2] for e in recent] == [False, False]


def test_the_clock_is_anchored_at_start_ms_and_earlier_events_only_update_state() -> None:
    book = WireEvent(T0, "l2Book", "BTC", b'{"channel":"l2Book"}', state=("1.0", "2.0"))
    source = ListSource([[book, trade(T0, 1), trade(T0 + 10, 2)]], start_ms=T0 - 1000)
    pump, _ = pump_of(source, start_ms=T0 + 5)
    play(pump)
    assert pump.state.book("BTC") is not None
    recent = pump.recent.get("BTC")
    assert recent is not None and [e[1][0][2] for e in recent] == [2]  # the trade before start_ms skipped


def test_a_failing_source_is_reported_not_hung() -> None:
    pump, _ = pump_of(ListSource([[trade(T0, 1)]], fail=True))
    play(pump)
    assert pump.done.is_set() and isinstance(pump.error, ValueError)


def test_frames_fan_out_to_subscribers_are_counted_logged_and_duplicated_on_demand() -> None:
    async def main() -> tuple[MarketPump, list[Any]]:
        source = ListSource([[trade(T0, 1), trade(T0 + 1, 2, "ETH"), trade(T0 + 2, 3)]])
        pump, sessions = pump_of(source, speed=0)
        pump.clock.bind()
        app = web.Application()
        app.router.add_get("/ws", sessions.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        got: list[Any] = []
        try:
            async with aiohttp.ClientSession() as http:
                ws = await http.ws_connect(server.make_url("/ws"))
                await ws.receive()  # greeting
                await ws.send_str(json.dumps({"method": "subscribe", "subscription": {"type": "trades", "coin": "BTC"}}))
                await ws.receive()  # ack
                await pump.faults.inject("duplicate", {"n": 1})
                await asyncio.wait_for(pump.run(), 10)
                for _ in range(3):
                    got.append(json.loads((await asyncio.wait_for(ws.receive(), 5)).data)["data"][0]["tid"])
        finally:
            await sessions.close_all()
            await server.close()
        return pump, got

    pump, got = asyncio.run(main())
    assert got == [1, 1, 3]  # the first frame twice (duplicate), ETH not subscribed
    assert pump.sent_log.messages == {"trades": 3}
    assert pump.sent_log.trades() == [("BTC", T0, 1), ("BTC", T0 + 2, 3)]
    recent = pump.recent.get("BTC")
    assert recent is not None and [e[2] for e in recent] == [True, True]
