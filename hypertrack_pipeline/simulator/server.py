"""A local Hyperliquid look-alike: WebSocket streams, the Info endpoint and HyperEVM JSON-RPC.

One aiohttp app on one port: WebSocket at ``/`` and ``/ws`` (greeting, subscribe/unsubscribe
acks, ping/pong, the idle close, the ``trades``/``bbo``/``l2Book``/``candle`` channels),
``POST /info`` (``meta``, ``candleSnapshot``, ``l2Book``, ``allMids``) and ``POST /evm``
(JSON-RPC over the simulated HyperEVM tables, enough for web3.py's HTTPProvider).

A simulated clock maps wall time to market time with a speed factor (0 = as fast as possible);
an event is released when its time is due. Frames are pre-serialized by a producer thread
(:mod:`~hypertrack_pipeline.simulator.wire`) so the send loop only copies bytes. Faults are
injected on request (:meth:`SimServer.inject`) or on a schedule, to test the recorder's recovery.
"""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from aiohttp import WSMsgType, web

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.simulator.wire import (
    CANDLE,
    EVM,
    ZERO_HASH,
    EventBatch,
    EvmBlock,
    TableEncoder,
    WireEvent,
    decimal_string,
)

GREETING = b"Websocket connection established."
CHAIN_ID = 999
CHANNELS = ("trades", "bbo", "l2Book", "candle")
FAULT_KINDS = ("drop", "stall", "malformed", "truncated", "unknown_channel", "duplicate", "wrong_type")
DEFAULT_DELISTED = ("LUNA", "FTT")
_YIELD_EVERY = 128  # events sent between yields to the loop when catching up


class EventSource(Protocol):
    """What the server plays: a coin universe and time-ordered batches of wire events."""

    @property
    def start_ms(self) -> int | None: ...

    def universe(self) -> list[dict[str, Any]]: ...

    def batches(self) -> Iterator[EventBatch]: ...


def _tables_of(chunk: Any) -> tuple[dict[str, pa.Table], int | None, int | None]:
    if isinstance(chunk, dict):
        return chunk, None, None
    return chunk.tables, getattr(chunk, "start_ms", None), getattr(chunk, "end_ms", None)


# Time columns (epoch ms) per landed stream, moved together by ``TableSource(time_shift_ms=…)``.
_TIME_COLUMNS = {"trades": ("time",), "bbo": ("time",), "l2book": ("time",), "candles": ("open_time", "close_time"),
                 "evm_blocks": ("time",), "evm_transactions": ("time",), "evm_token_transfers": ("time",)}


def shift_times(tables: dict[str, pa.Table], shift_ms: int) -> dict[str, pa.Table]:
    """Move every exchange time of a chunk by ``shift_ms`` (serve a past market as if live now)."""
    if not shift_ms:
        return tables
    out = {}
    for name, table in tables.items():
        for col in _TIME_COLUMNS.get(name, ()):
            if col in table.column_names:
                i = table.schema.get_field_index(col)
                table = table.set_column(i, table.schema.field(i), pc.add(table.column(col), shift_ms))
        out[name] = table
    return out


class TableSource:
    """Landing-schema tables (a market's chunks, or hand-made ones in tests) as an event source.

    ``chunks`` holds objects with ``tables`` (stream → pa.Table) and optional ``start_ms`` /
    ``end_ms`` (a ``MarketChunk``), or plain dicts of tables; consecutive in time.
    ``universe``: coin names or ``meta`` entries; scanned from the chunks when they are a list.
    ``time_shift_ms`` moves every time (frames, candles, blocks) by that much.
    """

    def __init__(self, chunks: Iterable[Any], universe: Sequence[str | dict[str, Any]] | None = None,
                 start_ms: int | None = None, candles: bool = True, time_shift_ms: int = 0) -> None:
        self._chunks = chunks
        self._candles = candles
        self._start_ms = start_ms
        self._shift = int(time_shift_ms)
        if universe is None and isinstance(chunks, Sequence):
            seen: dict[str, None] = {}
            for ch in chunks:
                tables, s, _ = _tables_of(ch)
                if self._start_ms is None and s is not None:
                    self._start_ms = s
                for name in ("trades", "bbo", "l2book"):
                    if (t := tables.get(name)) is not None:
                        for c in t.column("coin").unique().to_pylist():
                            seen.setdefault(c)
            universe = list(seen)
        if self._start_ms is not None:
            self._start_ms += self._shift
        self._universe = [u if isinstance(u, dict) else {"name": u, "szDecimals": 2, "maxLeverage": 50}
                          for u in (universe or [])]

    @property
    def start_ms(self) -> int | None:
        return self._start_ms

    def universe(self) -> list[dict[str, Any]]:
        return list(self._universe)

    def batches(self) -> Iterator[EventBatch]:
        encoder = TableEncoder(candles=self._candles)
        for ch in self._chunks:
            tables, _, end = _tables_of(ch)
            yield encoder.encode(shift_times(tables, self._shift), None if end is None else end + self._shift)


def market_source(config: Any, live: bool = False, chunk_ms: int = 60_000) -> TableSource:
    """The seeded agent-based market (``simulator.market``) as an event source.

    Chunks are cut per minute (``chunk_ms``) so frames flow soon after start. ``live`` shifts the
    market so that it starts now (wall clock), for a recorder that expects current exchange times.
    """
    import dataclasses

    from hypertrack_pipeline.simulator import market

    if dataclasses.is_dataclass(config) and getattr(config, "chunk_ms", chunk_ms) != chunk_ms:
        config = dataclasses.replace(config, chunk_ms=chunk_ms)
    if hasattr(config, "validate"):
        config.validate()
    start = int(config.start_ms)
    shift = int(time.time() * 1000) - start if live else 0
    return TableSource(market.iter_market(config), universe=market.coin_universe(config), start_ms=start,
                       time_shift_ms=shift)


@dataclass(eq=False)
class _Conn:
    ws: web.WebSocketResponse
    transport: Any
    subs: set[tuple[str, str]] = field(default_factory=set)
    last_recv: float = field(default_factory=time.monotonic)
    closed: bool = False


class SimServer:
    """The protocol server; runs its event loop in a background thread (``start``/``stop``).

    ``speed``: simulated seconds per wall second (0 = unthrottled). ``start_ms``: market time
    the clock starts at (earlier events only update state). ``paused``: hold the clock until
    :meth:`resume` (subscribe first, then let data flow). ``l2_snapshot_on_subscribe``: push the
    latest book on an l2Book subscribe, as the real server does. ``recent_trades_on_subscribe``:
    like the real server, answer a trades subscribe with one list of the coin's last trades (from
    up to that many recent frames), so a reconnecting client sees trades it already has.
    """

    def __init__(self, source: EventSource, host: str = "127.0.0.1", port: int = 0, speed: float = 1.0,
                 idle_timeout_s: float = 60.0, *, start_ms: int | None = None, paused: bool = False,
                 delisted: Sequence[str] = DEFAULT_DELISTED, max_subscriptions: int = 1000,
                 l2_snapshot_on_subscribe: bool = True, recent_trades_on_subscribe: int = 0,
                 log_trades: bool = True, evm_keep_blocks: int = 200_000) -> None:
        if speed < 0:
            raise UserError(f"speed must be ≥ 0 (0 = as fast as possible), got {speed}")
        self.source = source
        self.host = host
        self.port = port
        self.speed = float(speed)
        self.idle_timeout_s = idle_timeout_s
        self.start_ms = start_ms
        self.delisted = tuple(delisted)
        self.max_subscriptions = max_subscriptions
        self.l2_snapshot_on_subscribe = l2_snapshot_on_subscribe
        self.log_trades = log_trades
        self.recent_trades_on_subscribe = recent_trades_on_subscribe
        self.evm_keep_blocks = evm_keep_blocks
        self._recent: dict[str, deque[list[Any]]] = {}  # coin → [payload, trade_ids, logged]
        self._paused = paused
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._start_error: BaseException | None = None
        self._tasks: list[asyncio.Task] = []
        self._batches: queue.Queue[Any] = queue.Queue(maxsize=2)  # encoded batches, producer → pump
        self._stopping = threading.Event()
        self._conns: set[_Conn] = set()
        self._subs: dict[tuple[str, str], tuple[_Conn, ...]] = {}
        # clock
        self._sim_origin: int | None = None
        self._wall_origin = 0.0
        self._sim_paused_at: int | None = None
        self._resume_event: asyncio.Event | None = None
        self._last_event_ms: int | None = None
        self._started_wall = 0.0
        # faults
        self._stall_until = 0.0
        self._stall_pongs_until = 0.0
        self._duplicate_left = 0
        self._schedule: list[tuple[float, str, dict[str, Any]]] = []
        self.fault_counts: dict[str, int] = {}
        # state behind /info and /evm, and the sent log
        self._candles: dict[str, list[dict[str, Any]]] = {}
        self._books: dict[str, bytes] = {}  # coin → the latest l2Book frame
        self._best: dict[str, tuple[str | None, str | None]] = {}
        self._evm: dict[int, EvmBlock] = {}
        self._evm_by_hash: dict[str, EvmBlock] = {}
        self._evm_latest: int | None = None
        self._evm_first: int | None = None
        self._sent_trades: list[list[tuple[str, int, int]]] = []
        self.sent_messages: dict[str, int] = {}
        self.connections_total = 0

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    @property
    def info_url(self) -> str:
        return f"http://{self.host}:{self.port}/info"

    @property
    def evm_url(self) -> str:
        return f"http://{self.host}:{self.port}/evm"

    def start(self) -> None:
        """Start listening in a background thread; returns once the port accepts connections."""
        self._thread = threading.Thread(target=self._run_loop, name="sim-server", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._start_error is not None:
            raise UserError(f"simulator server could not start on {self.host}:{self.port}: {self._start_error}")

    def stop(self) -> None:
        """Close every connection and the listener; joins the background thread."""
        self._stopping.set()
        loop = self._loop
        if loop is not None and loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(15)
            except (concurrent.futures.TimeoutError, RuntimeError):
                pass
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(15)

    def serve_forever(self) -> None:
        """Block until the background thread ends (Ctrl-C is handled by the caller)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def _run_loop(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._start_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _startup(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._ws_handler)
        app.router.add_get("/ws", self._ws_handler)
        app.router.add_post("/info", self._info_handler)
        app.router.add_post("/evm", self._evm_handler)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # noqa: SLF001 - the only way to learn the port picked for port 0
        if server is not None and getattr(server, "sockets", None):
            self.port = server.sockets[0].getsockname()[1]
        self._resume_event = asyncio.Event()
        if not self._paused:
            self._resume_event.set()
        self._started_wall = time.monotonic()
        self._tasks = [asyncio.ensure_future(c) for c in (self._pump(), self._watchdog(), self._scheduler())]

    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        conns = list(self._conns)
        for conn in conns:
            conn.closed = True
        await asyncio.gather(*(_close_quietly(c.ws, 1001, b"server shutdown") for c in conns))
        if self._runner is not None:
            await self._runner.cleanup()

    # ----------------------------------------------------------------- clock

    def _sim_now(self) -> int | None:
        if self._sim_origin is None:
            return None
        if self._sim_paused_at is not None:
            return self._sim_paused_at
        if self.speed == 0:
            return self._last_event_ms
        return self._sim_origin + int((time.monotonic() - self._wall_origin) * self.speed * 1000)

    def sim_time_ms(self) -> int | None:
        """The simulated clock (ms), or None before the first batch."""
        return self._sim_now()

    def pause(self) -> None:
        """Freeze the clock: nothing is sent until :meth:`resume`."""
        self._call(self._pause_now)

    def resume(self) -> None:
        """Start (or restart) the clock where it stood."""
        self._call(self._resume_now)

    def _pause_now(self) -> None:
        self._sim_paused_at = self._sim_now()
        self._paused = True
        if self._resume_event is not None:
            self._resume_event.clear()

    def _resume_now(self) -> None:
        if self._sim_paused_at is not None and self._sim_origin is not None:
            self._sim_origin = self._sim_paused_at
        self._sim_paused_at = None
        self._wall_origin = time.monotonic()
        self._paused = False
        if self._resume_event is not None:
            self._resume_event.set()

    def _call(self, fn: Any, *args: Any) -> Any:
        loop = self._loop
        if loop is None or not loop.is_running():
            return fn(*args)

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), loop).result(10)

    # ----------------------------------------------------------------- data pump

    def _produce(self) -> None:
        """Producer thread (daemon): encode the source's batches ahead of the send loop."""
        def put(item: Any) -> bool:
            while not self._stopping.is_set():
                try:
                    self._batches.put(item, timeout=0.25)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for batch in self.source.batches():
                if not put(batch):
                    return
            put(None)
        except Exception as exc:  # noqa: BLE001 - handed to the pump, reported by wait_done()/error
            put(exc)

    async def _pump(self) -> None:
        producer = threading.Thread(target=self._produce, name="sim-producer", daemon=True)
        producer.start()
        try:
            while True:
                try:
                    item = self._batches.get_nowait()
                except queue.Empty:
                    await asyncio.sleep(0.002)
                    continue
                if item is None:
                    break
                if isinstance(item, Exception):
                    self._error = item
                    break
                await self._play(item)
        except Exception as exc:  # noqa: BLE001 - kept for wait_done()/error: tests see why, not a hang
            self._error = exc
        finally:
            self._done.set()

    def _anchor(self, first_ms: int) -> None:
        origin = self.start_ms if self.start_ms is not None else (self.source.start_ms or first_ms)
        self._sim_origin = origin
        self._wall_origin = time.monotonic()
        self._last_event_ms = origin
        if self._paused:
            self._sim_paused_at = origin

    async def _play(self, batch: EventBatch) -> None:
        events = batch.events
        if not events:
            return
        if self._sim_origin is None:
            self._anchor(events[0].time)
        assert self._resume_event is not None
        since_yield = 0
        for ev in events:
            if self._paused:
                await self._resume_event.wait()
            if self.speed > 0:
                while True:
                    if self._paused:
                        await self._resume_event.wait()
                        continue
                    ahead = ev.time - (self._sim_now() or 0)
                    if ahead <= 0:
                        break
                    await asyncio.sleep(min(ahead / (self.speed * 1000), 0.25))
                    since_yield = 0
            while self._stall_until > time.monotonic():
                await asyncio.sleep(self._stall_until - time.monotonic())
                since_yield = 0
            self._last_event_ms = max(self._last_event_ms or ev.time, ev.time)
            self._apply_state(ev)
            if ev.channel == EVM or (self.start_ms is not None and ev.time < self.start_ms):
                continue
            conns = self._subs.get((ev.channel, ev.coin))
            if ev.trade_ids is not None and self.recent_trades_on_subscribe > 0:
                recent = self._recent.get(ev.coin)
                if recent is None:
                    recent = self._recent[ev.coin] = deque(maxlen=self.recent_trades_on_subscribe)
                recent.append([ev.payload, ev.trade_ids, bool(conns)])
            if conns:
                times = 2 if self._duplicate_left > 0 else 1
                if times == 2:
                    self._duplicate_left -= 1
                for _ in range(times):
                    for conn in conns:
                        await self._send(conn, ev.payload)
                self.sent_messages[ev.channel] = self.sent_messages.get(ev.channel, 0) + times
                if ev.trade_ids is not None and self.log_trades:
                    self._sent_trades.append(ev.trade_ids)
            since_yield += 1
            if since_yield >= _YIELD_EVERY:
                since_yield = 0
                await asyncio.sleep(0)

    def _apply_state(self, ev: WireEvent) -> None:
        if ev.state is None:
            return
        if ev.channel == CANDLE:
            hist = self._candles.setdefault(ev.coin, [])
            if hist and hist[-1]["t"] == ev.state["t"]:
                hist[-1] = ev.state
            elif not hist or hist[-1]["t"] < ev.state["t"]:
                hist.append(ev.state)
        elif ev.channel in ("l2Book", "bbo"):
            if ev.channel == "l2Book":
                self._books[ev.coin] = ev.payload
            self._best[ev.coin] = ev.state  # (bid px, ask px) text; mids computed on request
        elif ev.channel == EVM:
            blk: EvmBlock = ev.state
            self._evm[blk.number] = blk
            self._evm_by_hash[blk.header["hash"].lower()] = blk
            self._evm_latest = max(self._evm_latest or blk.number, blk.number)
            self._evm_first = min(self._evm_first if self._evm_first is not None else blk.number, blk.number)
            old = self._evm.pop(blk.number - self.evm_keep_blocks, None)
            if old is not None:
                self._evm_by_hash.pop(old.header["hash"].lower(), None)
                self._evm_first = blk.number - self.evm_keep_blocks + 1

    async def _send(self, conn: _Conn, payload: bytes) -> None:
        if conn.closed:
            return
        try:
            await conn.ws.send_frame(payload, WSMsgType.TEXT)
        except (ConnectionError, RuntimeError):
            self._forget(conn)

    def _forget(self, conn: _Conn) -> None:
        conn.closed = True
        self._conns.discard(conn)
        for key in list(conn.subs):
            self._unsubscribe_key(conn, key)

    def _unsubscribe_key(self, conn: _Conn, key: tuple[str, str]) -> None:
        conn.subs.discard(key)
        rest = tuple(c for c in self._subs.get(key, ()) if c is not conn)
        if rest:
            self._subs[key] = rest
        else:
            self._subs.pop(key, None)

    # ----------------------------------------------------------------- websocket

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(compress=False, autoping=True, max_msg_size=1 << 20)
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="hypertrack simulator: open a WebSocket on /ws\n")
        transport = request.transport
        await ws.prepare(request)
        conn = _Conn(ws, transport)
        self._conns.add(conn)
        self.connections_total += 1
        await self._send(conn, GREETING)
        try:
            async for msg in ws:
                conn.last_recv = time.monotonic()
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await self._error_frame(conn, "Error parsing JSON into valid websocket request: binary frame")
        finally:
            self._forget(conn)
        return ws

    async def _error_frame(self, conn: _Conn, text: str) -> None:
        await self._send(conn, orjson.dumps({"channel": "error", "data": text}))

    async def _on_text(self, conn: _Conn, text: str) -> None:
        try:
            msg = orjson.loads(text)
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except ValueError:
            await self._error_frame(conn, f"Error parsing JSON into valid websocket request: {text[:200]}")
            return
        method = msg.get("method")
        if method == "ping":
            if self._stall_pongs_until <= time.monotonic():
                await self._send(conn, b'{"channel":"pong"}')
            return
        if method in ("subscribe", "unsubscribe"):
            await self._on_subscription(conn, method, msg.get("subscription"))
            return
        await self._error_frame(conn, f"Error parsing JSON into valid websocket request: {text[:200]}")

    async def _on_subscription(self, conn: _Conn, method: str, sub: Any) -> None:
        echo = _normalize_subscription(sub)
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
        await self._send(conn, orjson.dumps(ack))
        if method == "subscribe" and key[0] == "trades" and self._recent.get(key[1]):
            await self._send_recent_trades(conn, self._recent[key[1]])
        if method == "subscribe" and key[0] == "l2Book" and self.l2_snapshot_on_subscribe:
            book = self._books.get(key[1])
            if book is not None:
                await self._send(conn, book)

    async def _send_recent_trades(self, conn: _Conn, recent: deque[list[Any]]) -> None:
        """One frame with the trades of the recent frames (the real server's snapshot on subscribe)."""
        prefix, suffix = b'{"channel":"trades","data":[', b"]}"
        items = [e for e in recent if e[0].startswith(prefix) and e[0].endswith(suffix)]
        if not items:
            return
        await self._send(conn, prefix + b",".join(e[0][len(prefix):-len(suffix)] for e in items) + suffix)
        for entry in items:
            if not entry[2] and self.log_trades:
                self._sent_trades.append(entry[1])
            entry[2] = True

    def subscription_count(self) -> int:
        return sum(len(v) for v in list(self._subs.values()))  # list(): safe from other threads

    def wait_subscriptions(self, n: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``n`` subscriptions are active (all clients together)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.subscription_count() >= n:
                return True
            time.sleep(0.01)
        return self.subscription_count() >= n

    def wait_done(self, timeout: float | None = None) -> bool:
        """Wait until the source is exhausted and every due event went out.

        Raises RuntimeError when the source itself failed (so a test sees why, not a timeout).
        """
        done = self._done.wait(timeout)
        if self._error is not None:
            raise RuntimeError(f"simulator source failed: {self._error!r}") from self._error
        return done

    @property
    def error(self) -> BaseException | None:
        """Why the data pump stopped early (a broken source), or None."""
        return self._error

    @property
    def connection_count(self) -> int:
        return len(self._conns)

    async def _watchdog(self) -> None:
        """Close connections that sent nothing for ``idle_timeout_s`` (the real server: 60 s)."""
        period = max(0.02, min(1.0, self.idle_timeout_s / 4))
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for conn in list(self._conns):
                if now - conn.last_recv > self.idle_timeout_s:
                    self._forget(conn)
                    asyncio.ensure_future(_close_quietly(conn.ws, 1000, b"idle timeout"))

    # ----------------------------------------------------------------- faults

    def inject(self, kind: str, **params: Any) -> int:
        """Inject a fault now; returns how many connections it touched (duplicate/stall: 0).

        kinds: ``drop`` (abort every connection, no close frame), ``stall`` (``seconds``; no
        data, and no pongs either with ``pongs=True``), ``malformed`` (a non-JSON frame),
        ``truncated`` (a cut trades frame), ``unknown_channel``, ``duplicate`` (``n`` next data
        messages sent twice), ``wrong_type`` (a trades frame whose ``px`` is a list).
        """
        if kind not in FAULT_KINDS:
            raise UserError(f"unknown fault {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        loop = self._loop
        if loop is None or not loop.is_running():
            raise RuntimeError("server is not running")
        return asyncio.run_coroutine_threadsafe(self._inject(kind, params), loop).result(10)

    def schedule(self, kind: str, at_s: float, **params: Any) -> None:
        """Inject ``kind`` ``at_s`` wall seconds after start (for ``--fault drop@30s``)."""
        if kind not in FAULT_KINDS:
            raise UserError(f"unknown fault {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        self._schedule.append((at_s, kind, params))
        self._schedule.sort(key=lambda f: f[0])

    async def _scheduler(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            elapsed = time.monotonic() - self._started_wall
            while self._schedule and self._schedule[0][0] <= elapsed:
                _, kind, params = self._schedule.pop(0)
                await self._inject(kind, params)

    def _fault_trade(self, conn: _Conn) -> dict[str, Any]:
        coins = sorted(c for ch, c in conn.subs if ch == "trades") or ["BTC"]
        now = self._sim_now() or int(time.time() * 1000)
        return {"coin": coins[0], "side": "B", "px": "1.0", "sz": "1.0", "time": now, "hash": ZERO_HASH,
                "tid": 1, "users": ["0x" + "1" * 40, "0x" + "2" * 40]}

    async def _inject(self, kind: str, params: dict[str, Any]) -> int:
        self.fault_counts[kind] = self.fault_counts.get(kind, 0) + 1
        conns = [c for c in self._conns if not c.closed]
        if kind == "stall":
            until = time.monotonic() + float(params.get("seconds", 5.0))
            self._stall_until = max(self._stall_until, until)
            if params.get("pongs"):
                self._stall_pongs_until = max(self._stall_pongs_until, until)
            return 0
        if kind == "duplicate":
            self._duplicate_left += int(params.get("n", 1))
            return 0
        if kind == "drop":
            for conn in conns:
                self._forget(conn)
                if conn.transport is not None:
                    conn.transport.abort()
            return len(conns)
        for conn in conns:
            if kind == "malformed":
                payload = b"<<this is not json>> {channel: trades"
            elif kind == "unknown_channel":
                payload = orjson.dumps({"channel": "notAChannel", "data": {"coin": "BTC", "x": 1}})
            elif kind == "truncated":
                full = orjson.dumps({"channel": "trades", "data": [self._fault_trade(conn)]})
                payload = full[: len(full) // 2]
            else:  # wrong_type
                trade = self._fault_trade(conn)
                trade["px"] = [trade["px"], "2.0"]
                payload = orjson.dumps({"channel": "trades", "data": [trade]})
            await self._send(conn, payload)
        return len(conns)

    # ----------------------------------------------------------------- sent log

    def sent_trades(self) -> list[tuple[str, int, int]]:
        """Every ``(coin, time, tid)`` sent to at least one subscriber, once, in first-sent order
        (re-sends by the duplicate fault or the subscribe snapshot and fault frames are not listed)."""
        return [tid for batch in list(self._sent_trades) for tid in batch]

    def stats(self) -> dict[str, Any]:
        return {
            "connections": len(self._conns), "connections_total": self.connections_total,
            "subscriptions": self.subscription_count(), "sent_messages": dict(self.sent_messages),
            "faults": dict(self.fault_counts), "sim_time_ms": self._sim_now(), "done": self._done.is_set(),
        }

    # ----------------------------------------------------------------- info

    async def _info_handler(self, request: web.Request) -> web.Response:
        try:
            body = orjson.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="Failed to parse the request body as JSON")
        kind = body.get("type") if isinstance(body, dict) else None
        if kind == "meta":
            return _json(self._meta())
        if kind == "candleSnapshot":
            req = body.get("req")
            if not isinstance(req, dict) or not isinstance(req.get("coin"), str):
                return web.Response(status=422, text="Failed to deserialize the JSON body into the target type")
            if req.get("interval") != "1m":
                return web.Response(status=422, text="the simulator serves interval 1m only")
            return _json(self._candle_snapshot(req["coin"], int(req.get("startTime") or 0),
                                               int(req.get("endTime") or 2**62)))
        if kind == "l2Book":
            book = self._books.get(body.get("coin"))
            return _json(None if book is None else orjson.loads(book).get("data"))
        if kind == "allMids":
            return _json({c: _mid(b, a) for c, (b, a) in list(self._best.items()) if b and a})
        return web.Response(status=422, text="Failed to deserialize the JSON body into the target type")

    def _meta(self) -> dict[str, Any]:
        universe = [dict(u) for u in self.source.universe()]
        known = {u["name"] for u in universe}
        universe += [{"name": d, "szDecimals": 1, "maxLeverage": 3, "isDelisted": True}
                     for d in self.delisted if d not in known]
        return {"universe": universe}

    def _candle_snapshot(self, coin: str, start: int, end: int) -> list[dict[str, Any]]:
        """Candles overlapping [start, end] (the open one included, as the real API does), last 5000."""
        hist = self._candles.get(coin, [])
        lo = bisect.bisect_left([c["T"] for c in hist], start)
        out = [c for c in hist[lo:] if c["t"] <= end]
        return out[-5000:]

    # ----------------------------------------------------------------- evm json-rpc

    async def _evm_handler(self, request: web.Request) -> web.Response:
        try:
            body = orjson.loads(await request.read())
        except ValueError:
            return _json({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}})
        if isinstance(body, list):
            return _json([self._rpc(item) for item in body])
        return _json(self._rpc(body))

    def _rpc(self, req: Any) -> dict[str, Any]:
        if not isinstance(req, dict) or not isinstance(req.get("method"), str):
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid request"}}
        rid = req.get("id")
        params = req.get("params") or []
        try:
            result = self._rpc_call(req["method"], params)
        except _RpcError as exc:
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": exc.code, "message": str(exc)}}
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    def _rpc_call(self, method: str, params: list[Any]) -> Any:
        if method == "eth_chainId":
            return hex(CHAIN_ID)
        if method == "net_version":
            return str(CHAIN_ID)
        if method == "web3_clientVersion":
            return "hypertrack-simulator/1"
        if method == "eth_syncing":
            return False
        if method == "eth_blockNumber":
            return hex(self._evm_latest or 0)
        if method == "eth_getBlockByNumber":
            blk = self._evm.get(self._block_number(params[0] if params else "latest"))
            return None if blk is None else _block_json(blk, bool(params[1]) if len(params) > 1 else False)
        if method == "eth_getBlockByHash":
            blk = self._evm_by_hash.get(str(params[0]).lower()) if params else None
            return None if blk is None else _block_json(blk, bool(params[1]) if len(params) > 1 else False)
        if method == "eth_getLogs":
            return self._get_logs(params[0] if params else {})
        raise _RpcError(-32601, f"the method {method} does not exist/is not available")

    def _block_number(self, tag: Any) -> int:
        latest = self._evm_latest if self._evm_latest is not None else -1
        if tag in (None, "latest", "pending", "safe", "finalized"):
            return latest
        if tag == "earliest":
            return self._evm_first if self._evm_first is not None else 0
        if isinstance(tag, int):
            return tag
        try:
            return int(str(tag), 16)
        except ValueError:
            raise _RpcError(-32602, f"invalid block number {tag!r}") from None

    def _get_logs(self, flt: Any) -> list[dict[str, Any]]:
        if not isinstance(flt, dict):
            raise _RpcError(-32602, "invalid filter")
        if flt.get("blockHash"):
            blk = self._evm_by_hash.get(str(flt["blockHash"]).lower())
            blocks = [blk] if blk is not None else []
        else:
            lo = self._block_number(flt.get("fromBlock", "latest"))
            hi = min(self._block_number(flt.get("toBlock", "latest")), self._evm_latest or -1)
            if hi - lo > 100_000:
                raise _RpcError(-32602, "block range too large (max 100000)")
            blocks = [self._evm[n] for n in range(max(lo, 0), hi + 1) if n in self._evm]
        addresses = flt.get("address")
        if isinstance(addresses, str):
            addresses = [addresses]
        addr_set = {a.lower() for a in addresses} if addresses else None
        topics = flt.get("topics") or []
        out = []
        for blk in blocks:
            for log in blk.logs:
                if addr_set is not None and log["address"].lower() not in addr_set:
                    continue
                if _topics_match(log["topics"], topics):
                    out.append(log)
        return out


class _RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _topics_match(have: list[str], want: list[Any]) -> bool:
    """Ethereum topic filter: position i is null (any), a topic, or a list of alternatives."""
    for i, w in enumerate(want):
        if w is None:
            continue
        if i >= len(have):
            return False
        options = [w] if isinstance(w, str) else list(w)
        if have[i].lower() not in {o.lower() for o in options if isinstance(o, str)}:
            return False
    return True


async def _close_quietly(ws: web.WebSocketResponse, code: int, message: bytes) -> None:
    try:
        await asyncio.wait_for(ws.close(code=code, message=message), 2)
    except (TimeoutError, ConnectionError, RuntimeError):
        pass


def _block_json(blk: EvmBlock, full: bool) -> dict[str, Any]:
    out = dict(blk.header)
    out["transactions"] = list(blk.transactions) if full else [t["hash"] for t in blk.transactions]
    return out


def _mid(bid: str, ask: str) -> str:
    return decimal_string((float(bid) + float(ask)) / 2)


def _json(obj: Any) -> web.Response:
    return web.Response(body=orjson.dumps(obj), content_type="application/json")


def _normalize_subscription(sub: Any) -> dict[str, Any] | None:
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
