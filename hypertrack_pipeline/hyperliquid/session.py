"""WebSocket sessions to Hyperliquid on websocket-client: one thread per connection.

Each connection owns a fixed set of subscriptions. It connects (paced by the shared
new-connection bucket), sends its subscribe messages interleaved with reading (paced by the shared
send bucket, so a slow subscribe phase never stops the reading), pings every ``ping_interval_s``
(the server drops a connection that sent nothing for 60 s), declares a stall when nothing at all
arrived for ``stall_timeout_s``, and on any loss reconnects with exponential backoff and jitter
and resubscribes. The backoff is capped at a few seconds and starts over after a healthy
connection (one that delivered frames or stayed up ``healthy_after_s``), so a server that restarts
often never pushes the recorder into long sleeps. Until a first connection ever succeeded, a
connection gives up after ``give_up_after_attempts`` failures or ``give_up_after_s`` (state
``failed``): a wrong URL is an error, not an endless retry; once connected it retries forever. Frames are handed over as raw bytes: the listener parses them with orjson
(``skip_utf8_validation``: websocket-client's pure-Python UTF-8 check would cap the rate).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import websocket

from hypertrack_pipeline.hyperliquid.pacing import MAX_CONNECTIONS, MAX_SUBSCRIPTIONS, Limits
from hypertrack_pipeline.hyperliquid.wire import subscription

PING = b'{"method":"ping"}'


class Listener(Protocol):
    def on_frame(self, conn: WsConnection, frame: bytes, recv_ns: int) -> None: ...

    def on_state(self, conn: WsConnection, state: str, cause: str | None) -> None: ...


@dataclass(frozen=True)
class SessionOptions:
    ping_interval_s: float = 50.0
    stall_timeout_s: float = 75.0
    backoff_base_s: float = 0.5
    backoff_max_s: float = 5.0
    healthy_after_s: float = 10.0  # a connection up this long resets the backoff even without data
    give_up_after_attempts: int | None = 5  # before any connection succeeded; None: never give up
    give_up_after_s: float = 10.0
    connect_timeout_s: float = 10.0
    recv_timeout_s: float = 0.25


class WsConnection(threading.Thread):
    """One WebSocket connection with its subscriptions, kept alive until ``stop`` is set."""

    def __init__(
        self,
        index: int,
        url: str,
        subscriptions: list[dict[str, Any]],
        listener: Listener,
        limits: Limits,
        stop: threading.Event,
        options: SessionOptions | None = None,
        connected_once: threading.Event | None = None,
    ) -> None:
        super().__init__(name=f"hl-ws-{index}", daemon=True)
        self.index = index
        self.url = url
        self.subscriptions = subscriptions
        self.listener = listener
        self.limits = limits
        self.stop_event = stop
        self.options = options or SessionOptions()
        self.state = "idle"
        self.connects = 0
        self.reconnects = 0
        self.acks = 0
        self.last_frame_mono = 0.0
        self.failed_attempts = 0  # failed connects before any connection of the group succeeded
        self.delays: deque[float] = deque(maxlen=64)  # the backoff sleeps chosen, newest last
        # set by the first successful connection of every connection sharing it
        self.connected_once = connected_once if connected_once is not None else threading.Event()
        self._ws: websocket.WebSocket | None = None

    @property
    def keys(self) -> list[tuple[str, str]]:
        """(wire type, coin) of every subscription on this connection."""
        return [(s["subscription"]["type"], s["subscription"]["coin"]) for s in self.subscriptions]

    def _set(self, state: str, cause: str | None = None) -> None:
        self.state = state
        self.listener.on_state(self, state, cause)

    def run(self) -> None:
        opts = self.options
        attempt = 0
        first_try: float | None = None
        while not self.stop_event.is_set():
            if not self.limits.connect.take(stop=self.stop_event):
                break
            self._set("connecting")
            if first_try is None:
                first_try = time.monotonic()
            got_data = False
            up_s = 0.0
            try:
                ws = websocket.create_connection(self.url, timeout=opts.connect_timeout_s, skip_utf8_validation=True)
            except Exception as exc:  # noqa: BLE001 - any failure to connect means: back off and retry
                cause = f"connect failed: {type(exc).__name__}"
                connected = False
            else:
                connected = True
                self.connected_once.set()
                buffer_reads(ws)
                self._ws = ws
                self.connects += 1
                if self.connects > 1:
                    self.reconnects += 1
                since = time.monotonic()
                try:
                    got_data, cause = self._serve(ws)
                finally:
                    up_s = time.monotonic() - since
                    self._ws = None
                    try:
                        ws.close(timeout=0.2)
                    except Exception:  # noqa: BLE001 - the socket may already be gone
                        pass
            if self.stop_event.is_set():
                break
            self._set("disconnected", cause)
            healthy = got_data or up_s >= opts.healthy_after_s
            attempt = 0 if healthy else attempt + 1
            delay = backoff_delay(attempt, opts.backoff_base_s, opts.backoff_max_s)
            if not connected and not self.connected_once.is_set():
                self.failed_attempts += 1
                limit = opts.give_up_after_attempts
                if limit is not None and (self.failed_attempts >= limit
                                          or time.monotonic() - first_try + delay > opts.give_up_after_s):
                    self._set("failed", cause)
                    return
            self.state = "backoff"
            self.delays.append(delay)
            if self.stop_event.wait(delay):
                break
        self._set("closed")

    def _serve(self, ws: websocket.WebSocket) -> tuple[bool, str]:
        """Subscribe and read until the connection fails; returns (got data, cause)."""
        opts = self.options
        ws.settimeout(opts.recv_timeout_s)
        pending = deque(orjson.dumps(s) for s in self.subscriptions)
        now = time.monotonic()
        last_sent = last_recv = now
        got_data = False
        self._set("subscribing")
        send_bucket = self.limits.send
        on_frame = self.listener.on_frame
        while not self.stop_event.is_set():
            try:
                while pending and send_bucket.try_take():
                    ws.send(pending.popleft())
                    last_sent = time.monotonic()
                if not pending and self.state == "subscribing":
                    self._set("live")
                now = time.monotonic()
                if now - last_sent >= opts.ping_interval_s and send_bucket.try_take():
                    ws.send(PING)
                    last_sent = now
                if now - last_recv > opts.stall_timeout_s:
                    return got_data, f"stall: nothing received for {opts.stall_timeout_s:g} s"
                try:
                    opcode, data = ws.recv_data()
                except websocket.WebSocketTimeoutException:
                    continue
            except websocket.WebSocketConnectionClosedException:
                return got_data, "closed by server"
            except (OSError, websocket.WebSocketException) as exc:
                return got_data, f"error: {type(exc).__name__}"
            last_recv = self.last_frame_mono = time.monotonic()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return got_data, "closed by server"
            got_data = True
            on_frame(self, data, time.time_ns())
        return got_data, "stopped"

    def abort(self) -> None:
        """Drop the socket now (used by shutdown to unblock a read)."""
        ws = self._ws
        if ws is not None:
            try:
                ws.abort()
            except Exception:  # noqa: BLE001
                pass


def backoff_delay(attempt: int, base_s: float, max_s: float) -> float:
    """Sleep before reconnect number ``attempt`` (0 after a healthy connection): exponential, capped
    at ``max_s``, with jitter (half to all of it) so many clients do not reconnect in step."""
    return min(max_s, base_s * 2**attempt) * random.uniform(0.5, 1.0)


def buffer_reads(ws: websocket.WebSocket, chunk: int = 8192) -> bool:
    """Read the socket in chunks instead of exactly-sized pieces.

    websocket-client asks the socket for exactly the bytes it needs next (2 header bytes, then the
    payload): two or three system calls per frame. Its frame buffer keeps any surplus a read
    returns, so handing it up to ``chunk`` bytes per read turns that into one call per dozens of
    small frames (about 2× the frame rate). Returns False, changing nothing, if the library's
    internals are not the ones this relies on.
    """
    fb = getattr(ws, "frame_buffer", None)
    raw = getattr(ws, "_recv", None)
    if fb is None or raw is None or not isinstance(getattr(fb, "recv_buffer", None), list):
        return False
    fb.recv = lambda _size: raw(chunk)
    return True


def plan_connections(
    coins: list[str], streams: list[str], max_connections: int = 5, subs_per_connection: int = 200
) -> list[list[dict[str, Any]]]:
    """Spread (coin × stream) subscriptions over few connections, all streams of a coin together.

    Stays inside Hyperliquid's 10 connections / 1000 subscriptions; raises ValueError beyond that.
    """
    total = len(coins) * len(streams)
    if total == 0:
        return []
    if total > MAX_SUBSCRIPTIONS:
        raise ValueError(
            f"{total} subscriptions exceed Hyperliquid's limit of {MAX_SUBSCRIPTIONS}; "
            "restrict --coins or --streams"
        )
    n = max(1, min(max_connections, MAX_CONNECTIONS, math.ceil(total / subs_per_connection), len(coins)))
    plans: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for i, coin in enumerate(coins):
        plans[i % n].extend(subscription(stream, coin) for stream in streams)
    return plans
