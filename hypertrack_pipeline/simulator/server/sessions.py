"""WebSocket sessions: greeting, subscribe/unsubscribe acks, ping/pong, the idle close, fan-out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

GREETING = b"Websocket connection established."
CHANNELS = ("trades", "bbo", "l2Book", "candle")
_PARSE_ERROR = "Error parsing JSON into valid websocket request: "

Key = tuple[str, str]  # (channel, coin)


@dataclass(eq=False)
class Connection:
    """One WebSocket client: its socket, transport (for an abort), subscriptions and last message."""

    ws: web.WebSocketResponse
    transport: Any
    subs: set[Key] = field(default_factory=set)
    last_recv: float = field(default_factory=time.monotonic)
    closed: bool = False


class Sessions:
    """The WebSocket side of the protocol: who is connected, what they subscribed to, and sending.

    It speaks the exchange's session rules (greeting, acks and error frames, pong, closing a
    client silent for ``idle_timeout_s``) and knows nothing of the market: the pump asks it for
    the subscribers of a ``(channel, coin)`` and sends through it. Hooks: ``pongs_allowed`` (a
    fault can silence pongs) and ``on_subscribe`` (the snapshot sent after a subscribe ack).
    """

    def __init__(self, idle_timeout_s: float = 60.0, max_subscriptions: int = 1000, *,
                 pongs_allowed: Callable[[], bool] = lambda: True,
                 on_subscribe: Callable[[Connection, Key], Awaitable[None]] | None = None) -> None:
        self.idle_timeout_s = idle_timeout_s
        self.max_subscriptions = max_subscriptions
        self.pongs_allowed = pongs_allowed
        self.on_subscribe = on_subscribe
        self.conns: set[Connection] = set()
        self.connections_total = 0
        self._subs: dict[Key, tuple[Connection, ...]] = {}

    # ----------------------------------------------------------------- queries

    def subscribers(self, channel: str, coin: str) -> tuple[Connection, ...] | None:
        """The connections subscribed to ``(channel, coin)``, or None."""
        return self._subs.get((channel, coin))

    def subscription_count(self) -> int:
        """Active subscriptions, all clients together (safe to call from another thread)."""
        return sum(len(v) for v in list(self._subs.values()))  # list(): safe from other threads

    @property
    def connection_count(self) -> int:
        return len(self.conns)

    def open_connections(self) -> list[Connection]:
        """The connections not yet closed."""
        return [c for c in self.conns if not c.closed]

    # ----------------------------------------------------------------- sending and closing

    async def send(self, conn: Connection, payload: bytes) -> None:
        """Send one text frame; a broken connection is forgotten, not raised."""
        if conn.closed:
            return
        try:
            await conn.ws.send_frame(payload, WSMsgType.TEXT)
        except (ConnectionError, RuntimeError):
            self.forget(conn)

    def forget(self, conn: Connection) -> None:
        """Mark ``conn`` closed and drop it with its subscriptions."""
        conn.closed = True
        self.conns.discard(conn)
        for key in list(conn.subs):
            self._unsubscribe_key(conn, key)

    def abort(self, conn: Connection) -> None:
        """Forget ``conn`` and abort its transport: no close frame (a dropped connection)."""
        self.forget(conn)
        if conn.transport is not None:
            conn.transport.abort()

    async def close_all(self, code: int = 1001, message: bytes = b"server shutdown") -> None:
        """Close every connection with a close frame (server shutdown)."""
        conns = list(self.conns)
        for conn in conns:
            conn.closed = True
        await asyncio.gather(*(close_quietly(c.ws, code, message) for c in conns))

    async def watchdog(self) -> None:
        """Close connections that sent nothing for ``idle_timeout_s`` (the real server: 60 s)."""
        period = max(0.02, min(1.0, self.idle_timeout_s / 4))
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for conn in list(self.conns):
                if now - conn.last_recv > self.idle_timeout_s:
                    self.forget(conn)
                    asyncio.ensure_future(close_quietly(conn.ws, 1000, b"idle timeout"))

    # ----------------------------------------------------------------- the session

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The aiohttp handler of ``GET /`` and ``GET /ws``: one WebSocket session."""
        ws = web.WebSocketResponse(compress=False, autoping=True, max_msg_size=1 << 20)
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="hypertrack simulator: open a WebSocket on /ws\n")
        transport = request.transport
        await ws.prepare(request)
        conn = Connection(ws, transport)
        self.conns.add(conn)
        self.connections_total += 1
        await self.send(conn, GREETING)
        try:
            async for msg in ws:
                conn.last_recv = time.monotonic()
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await self._error_frame(conn, _PARSE_ERROR + "binary frame")
        finally:
            self.forget(conn)
        return ws

    async def _error_frame(self, conn: Connection, text: str) -> None:
        await self.send(conn, orjson.dumps({"channel": "error", "data": text}))

    async def _on_text(self, conn: Connection, text: str) -> None:
        try:
            msg = orjson.loads(text)
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except ValueError:
            await self._error_frame(conn, _PARSE_ERROR + text[:200])
            return
        method = msg.get("method")
        if method == "ping":
            if self.pongs_allowed():
                await self.send(conn, b'{"channel":"pong"}')
            return
        if method in ("subscribe", "unsubscribe"):
            await self._on_subscription(conn, method, msg.get("subscription"))
            return
        await self._error_frame(conn, _PARSE_ERROR + text[:200])

    async def _on_subscription(self, conn: Connection, method: str, sub: Any) -> None:
        echo = normalize_subscription(sub)
        if echo is None:
            await self._error_frame(conn, f"Invalid subscription {orjson.dumps(sub).decode()}")
            return
        key = (echo["type"], echo["coin"])
        shown = orjson.dumps(echo).decode()
        if method == "subscribe":
            if key in conn.subs:
                await self._error_frame(conn, f"Already subscribed: {shown}")
                return
            if len(conn.subs) >= self.max_subscriptions:
                await self._error_frame(conn, f"Cannot track more than {self.max_subscriptions} total subscriptions")
                return
            conn.subs.add(key)
            self._subs[key] = (*self._subs.get(key, ()), conn)
        else:
            if key not in conn.subs:
                await self._error_frame(conn, f"Already unsubscribed: {shown}")
                return
            self._unsubscribe_key(conn, key)
        ack = {"channel": "subscriptionResponse", "data": {"method": method, "subscription": echo}}
        await self.send(conn, orjson.dumps(ack))
        if method == "subscribe" and self.on_subscribe is not None:
            await self.on_subscribe(conn, key)

    def _unsubscribe_key(self, conn: Connection, key: Key) -> None:
        conn.subs.discard(key)
        rest = tuple(c for c in self._subs.get(key, ()) if c is not conn)
        if rest:
            self._subs[key] = rest
        else:
            self._subs.pop(key, None)


def normalize_subscription(sub: Any) -> dict[str, Any] | None:
    """A valid subscription → the echo the real server sends (l2Book with its null options)."""
    if not isinstance(sub, dict) or sub.get("type") not in CHANNELS:
        return None
    coin = sub.get("coin")
    if not isinstance(coin, str) or not coin or len(coin) > 128:
        return None
    kind = sub["type"]
    if kind == "l2Book":
        return {"type": kind, "coin": coin, "nSigFigs": sub.get("nSigFigs"), "mantissa": sub.get("mantissa")}
    if kind == "candle":
        if sub.get("interval") != "1m":
            return None
        return {"type": kind, "coin": coin, "interval": "1m"}
    return {"type": kind, "coin": coin}


async def close_quietly(ws: web.WebSocketResponse, code: int, message: bytes) -> None:
    """Close ``ws`` within 2 s, ignoring a peer that is already gone."""
    try:
        await asyncio.wait_for(ws.close(code=code, message=message), 2)
    except (TimeoutError, ConnectionError, RuntimeError):
        pass
