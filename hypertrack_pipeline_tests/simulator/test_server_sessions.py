"""The WebSocket sessions alone, behind a bare aiohttp app on 127.0.0.1 and real aiohttp clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from hypertrack_pipeline.simulator.server.sessions import (
    GREETING,
    Connection,
    Key,
    Sessions,
    normalize_subscription,
)


@contextlib.asynccontextmanager
async def serving(sessions: Sessions, watchdog: bool = False) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    """Serve ``sessions`` on 127.0.0.1; yields ``connect()`` → a client WebSocket past the greeting."""
    app = web.Application()
    app.router.add_get("/ws", sessions.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    task = asyncio.ensure_future(sessions.watchdog()) if watchdog else None
    async with aiohttp.ClientSession() as http:

        async def connect() -> aiohttp.ClientWebSocketResponse:
            ws = await http.ws_connect(server.make_url("/ws"), autoping=False)
            assert await recv(ws) == GREETING.decode()
            return ws

        try:
            yield connect
        finally:
            if task is not None:
                task.cancel()
            await sessions.close_all()
            await server.close()


async def recv(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await asyncio.wait_for(ws.receive(), 5)
    return msg.data


async def request(ws: aiohttp.ClientWebSocketResponse, msg: Any) -> dict[str, Any]:
    await ws.send_str(json.dumps(msg))
    return json.loads(await recv(ws))


def sub(kind: str, coin: str, method: str = "subscribe") -> dict[str, Any]:
    return {"method": method, "subscription": {"type": kind, "coin": coin}}


def test_subscribe_unsubscribe_acks_and_error_frames() -> None:
    async def main() -> None:
        sessions = Sessions(max_subscriptions=2)
        async with serving(sessions) as connect:
            ws = await connect()
            assert sessions.connection_count == 1 and sessions.connections_total == 1
            ack = await request(ws, sub("trades", "BTC"))
            assert ack == {"channel": "subscriptionResponse",
                           "data": {"method": "subscribe", "subscription": {"type": "trades", "coin": "BTC"}}}
            assert [c.subs for c in sessions.subscribers("trades", "BTC") or ()] == [{("trades", "BTC")}]
            err = await request(ws, sub("trades", "BTC"))
            assert err == {"channel": "error", "data": 'Already subscribed: {"type":"trades","coin":"BTC"}'}
            await request(ws, sub("bbo", "BTC"))
            err = await request(ws, sub("bbo", "ETH"))
            assert err["data"] == "Cannot track more than 2 total subscriptions"
            assert sessions.subscription_count() == 2
            ack = await request(ws, sub("trades", "BTC", "unsubscribe"))
            assert ack["data"]["method"] == "unsubscribe" and sessions.subscribers("trades", "BTC") is None
            err = await request(ws, sub("trades", "BTC", "unsubscribe"))
            assert err["data"].startswith("Already unsubscribed:")
            err = await request(ws, {"method": "subscribe", "subscription": {"type": "fills", "coin": "BTC"}})
            assert err["data"].startswith("Invalid subscription")
            err = await request(ws, [1, 2])
            assert err["data"].startswith("Error parsing JSON into valid websocket request: ")
            await ws.send_bytes(b"\x00")
            assert json.loads(await recv(ws))["data"].endswith("binary frame")
            await ws.close()
            await asyncio.sleep(0.05)
            assert sessions.connection_count == 0 and sessions.subscription_count() == 0

    asyncio.run(main())


def test_ping_is_answered_unless_pongs_are_held_back() -> None:
    async def main() -> None:
        allowed = [True]
        sessions = Sessions(pongs_allowed=lambda: allowed[0])
        async with serving(sessions) as connect:
            ws = await connect()
            assert await request(ws, {"method": "ping"}) == {"channel": "pong"}
            allowed[0] = False
            await ws.send_str(json.dumps({"method": "ping"}))
            with contextlib.suppress(TimeoutError):
                msg = await asyncio.wait_for(ws.receive(), 0.2)
                raise AssertionError(f"no pong expected, got {msg}")

    asyncio.run(main())


def test_on_subscribe_hook_follows_the_ack_and_fan_out_reaches_each_subscriber() -> None:
    async def main() -> None:
        calls: list[Key] = []
        sessions = Sessions()

        async def on_subscribe(conn: Connection, key: Key) -> None:
            calls.append(key)
            await sessions.send(conn, b'{"channel":"snapshot"}')

        sessions.on_subscribe = on_subscribe
        async with serving(sessions) as connect:
            a, b = await connect(), await connect()
            for ws in (a, b):
                await request(ws, sub("trades", "BTC"))
                assert json.loads(await recv(ws)) == {"channel": "snapshot"}
            await request(a, sub("trades", "BTC", "unsubscribe"))  # no hook on unsubscribe
            await request(a, sub("trades", "BTC"))
            assert json.loads(await recv(a)) == {"channel": "snapshot"}
            assert calls == [("trades", "BTC")] * 3
            for conn in sessions.subscribers("trades", "BTC") or ():
                await sessions.send(conn, b'{"channel":"trades","data":[]}')
            assert json.loads(await recv(a))["channel"] == "trades"
            assert json.loads(await recv(b))["channel"] == "trades"

    asyncio.run(main())


def test_idle_connections_are_closed_by_the_watchdog() -> None:
    async def main() -> None:
        sessions = Sessions(idle_timeout_s=0.15)
        async with serving(sessions, watchdog=True) as connect:
            ws = await connect()
            msg = await asyncio.wait_for(ws.receive(), 5)
            assert msg.type == WSMsgType.CLOSE and msg.data == 1000 and msg.extra == "idle timeout"
            assert sessions.connection_count == 0

    asyncio.run(main())


def test_abort_drops_without_close_frame_and_close_all_says_shutdown() -> None:
    async def main() -> None:
        sessions = Sessions()
        async with serving(sessions) as connect:
            a, b = await connect(), await connect()
            await request(a, sub("trades", "BTC"))
            conn_a = next(c for c in sessions.conns if c.subs)
            sessions.abort(conn_a)
            msg = await asyncio.wait_for(a.receive(), 5)
            assert msg.type in (WSMsgType.CLOSED, WSMsgType.ERROR)  # no close frame: the socket just ends
            assert sessions.subscription_count() == 0 and sessions.open_connections() != []
            await sessions.send(conn_a, b"{}")  # sending to a forgotten connection is a no-op
            await sessions.close_all()
            msg = await asyncio.wait_for(b.receive(), 5)
            assert msg.type == WSMsgType.CLOSE and msg.data == 1001

    asyncio.run(main())


def test_plain_http_get_is_refused() -> None:
    async def main() -> tuple[int, str]:
        sessions = Sessions()
        app = web.Application()
        app.router.add_get("/ws", sessions.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as http, http.get(server.make_url("/ws")) as resp:
                return resp.status, await resp.text()
        finally:
            await server.close()

    status, text = asyncio.run(main())
    assert status == 400 and "open a WebSocket on /ws" in text


def test_normalize_subscription() -> None:
    assert normalize_subscription({"type": "l2Book", "coin": "BTC", "nSigFigs": 5}) == {
        "type": "l2Book", "coin": "BTC", "nSigFigs": 5, "mantissa": None}
    assert normalize_subscription({"type": "candle", "coin": "BTC", "interval": "1m", "x": 1}) == {
        "type": "candle", "coin": "BTC", "interval": "1m"}
    assert normalize_subscription({"type": "candle", "coin": "BTC", "interval": "5m"}) is None
    assert normalize_subscription({"type": "bbo", "coin": ""}) is None
    assert normalize_subscription({"type": "bbo", "coin": "X" * 129}) is None
    assert normalize_subscription({"type": "userFills", "user": "0x"}) is None
    assert normalize_subscription("trades") is None
