"""Fault injection alone: its state for the pump and sessions, its frames, its schedule, and drops
and bad frames acting on real WebSocket sessions on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import orjson
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.simulator.server.clock import SimClock
from hypertrack_pipeline.simulator.server.faults import FAULT_KINDS, FaultInjector, check_kind
from hypertrack_pipeline.simulator.server.sessions import Connection, Sessions

T0 = 1_736_683_200_000


def injector() -> FaultInjector:
    return FaultInjector(Sessions(), SimClock(speed=0))


def test_kinds_are_checked_and_the_schedule_is_kept_sorted() -> None:
    with pytest.raises(UserError, match="unknown fault 'boom'; choose from drop, stall"):
        check_kind("boom")
    faults = injector()
    with pytest.raises(UserError):
        faults.schedule("boom", 1.0)
    faults.schedule("drop", 3.0)
    faults.schedule("stall", 1.0, seconds=2.0)
    assert faults.pending() == [(1.0, "stall", {"seconds": 2.0}), (3.0, "drop", {})]
    assert set(FAULT_KINDS) == {"drop", "stall", "malformed", "truncated", "unknown_channel", "duplicate",
                                "wrong_type", "info_429"}


def test_duplicate_and_stall_leave_state_for_the_pump_and_sessions() -> None:
    async def main() -> None:
        faults = injector()
        assert faults.repeats() == 1 and faults.pongs_allowed()
        assert await faults.inject("duplicate", {"n": 2}) == 0
        assert [faults.repeats() for _ in range(3)] == [2, 2, 1]
        assert await faults.inject("stall", {"seconds": 0.1}) == 0
        assert faults.pongs_allowed()  # a stall without pongs=True keeps answering pings
        t = time.monotonic()
        assert await faults.wait_stall() is True
        assert time.monotonic() - t >= 0.08
        assert await faults.wait_stall() is False
        await faults.inject("stall", {"seconds": 0.1, "pongs": True})
        assert not faults.pongs_allowed()
        await asyncio.sleep(0.12)
        assert faults.pongs_allowed()
        assert faults.counts == {"duplicate": 1, "stall": 2}

    asyncio.run(main())


def test_bad_frames() -> None:
    clock = SimClock(speed=0)
    faults = FaultInjector(Sessions(), clock)
    conn = Connection(ws=None, transport=None, subs={("trades", "ETH"), ("bbo", "AAA")})  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        orjson.loads(faults.frame("malformed", conn))
    assert orjson.loads(faults.frame("unknown_channel", conn))["channel"] == "notAChannel"
    truncated = faults.frame("truncated", conn)
    assert truncated.startswith(b'{"channel":"trades","data":[{"coin":"ETH"')
    with pytest.raises(ValueError):
        orjson.loads(truncated)
    before = int(time.time() * 1000)
    trade = orjson.loads(faults.frame("wrong_type", conn))["data"][0]
    assert trade["px"] == ["1.0", "2.0"] and trade["coin"] == "ETH" and trade["time"] >= before  # wall time
    clock.anchor(T0)
    bare = Connection(ws=None, transport=None)  # type: ignore[arg-type]
    trade = orjson.loads(faults.frame("wrong_type", bare))["data"][0]
    assert trade["coin"] == "BTC" and trade["time"] == T0  # the simulated clock once it runs


def test_scheduled_faults_fire_when_due() -> None:
    async def main() -> FaultInjector:
        faults = injector()
        faults.schedule("duplicate", 0.1, n=3)
        faults.schedule("duplicate", 30.0)
        faults.start()
        task = asyncio.ensure_future(faults.run_schedule())
        await asyncio.sleep(0.3)
        task.cancel()
        return faults

    faults = asyncio.run(main())
    assert faults.counts == {"duplicate": 1} and faults.duplicate_left == 3
    assert faults.pending() == [(30.0, "duplicate", {})]


def test_drop_and_frame_faults_reach_real_connections() -> None:
    async def main() -> None:
        sessions = Sessions()
        faults = FaultInjector(sessions, SimClock(speed=0))
        app = web.Application()
        app.router.add_get("/ws", sessions.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as http:
                clients = [await http.ws_connect(server.make_url("/ws")) for _ in range(2)]
                for ws in clients:
                    await ws.receive()  # greeting
                assert await faults.inject("unknown_channel", {}) == 2
                for ws in clients:
                    msg = await asyncio.wait_for(ws.receive(), 5)
                    assert json.loads(msg.data)["channel"] == "notAChannel"
                assert await faults.inject("drop", {}) == 2
                for ws in clients:
                    msg = await asyncio.wait_for(ws.receive(), 5)
                    assert msg.type in (WSMsgType.CLOSED, WSMsgType.ERROR)
                assert sessions.connection_count == 0
                assert await faults.inject("malformed", {}) == 0  # nobody left to touch
        finally:
            await server.close()

    asyncio.run(main())
