"""The thin app: wires the pieces into one aiohttp server run in a background thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.simulator.server.accounts import AccountBook
from hypertrack_pipeline.simulator.server.clock import SimClock
from hypertrack_pipeline.simulator.server.faults import FaultInjector, check_kind
from hypertrack_pipeline.simulator.server.info import DEFAULT_DELISTED, InfoEndpoint
from hypertrack_pipeline.simulator.server.pump import MarketPump
from hypertrack_pipeline.simulator.server.rpc import EvmRpc
from hypertrack_pipeline.simulator.server.sentlog import SentLog, TradeId
from hypertrack_pipeline.simulator.server.sessions import Sessions
from hypertrack_pipeline.simulator.server.snapshots import RecentTrades, SubscribeSnapshots
from hypertrack_pipeline.simulator.server.source import EventSource
from hypertrack_pipeline.simulator.server.state import EvmChain, MarketState


class _Forward:
    """A :class:`SimServer` attribute that lives on one of its pieces (read and write go there)."""

    def __init__(self, piece: str, name: str) -> None:
        self.piece = piece
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(getattr(obj, self.piece), self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(getattr(obj, self.piece), self.name, value)


class SimServer:
    """The protocol server; runs its event loop in a background thread (``start``/``stop``).

    Only wiring and lifecycle live here: the clock (:class:`SimClock`), the pump
    (:class:`MarketPump`), the WebSocket sessions (:class:`Sessions`), fault injection
    (:class:`FaultInjector`), the wallets' accounts (:class:`AccountBook`), Info (:class:`InfoEndpoint`)
    and JSON-RPC (:class:`EvmRpc`) are
    separate pieces, each testable alone.

    ``speed``: simulated seconds per wall second (0 = unthrottled). ``start_ms``: market time
    the clock starts at (earlier events only update state). ``paused``: hold the clock until
    :meth:`resume` (subscribe first, then let data flow). ``l2_snapshot_on_subscribe``: push the
    latest book on an l2Book subscribe, as the real server does. ``recent_trades_on_subscribe``:
    like the real server, answer a trades subscribe with one list of the coin's last trades (from
    up to that many recent frames), so a reconnecting client sees trades it already has.
    """

    speed = _Forward("clock", "speed")
    start_ms = _Forward("pump", "start_ms")
    idle_timeout_s = _Forward("sessions", "idle_timeout_s")
    max_subscriptions = _Forward("sessions", "max_subscriptions")
    connections_total = _Forward("sessions", "connections_total")
    delisted = _Forward("info", "delisted")
    l2_snapshot_on_subscribe = _Forward("snapshots", "l2_on_subscribe")
    recent_trades_on_subscribe = _Forward("recent", "frames")
    log_trades = _Forward("sent_log", "log_trades")
    sent_messages = _Forward("sent_log", "messages")
    evm_keep_blocks = _Forward("chain", "keep_blocks")
    fault_counts = _Forward("faults", "counts")

    def __init__(self, source: EventSource, host: str = "127.0.0.1", port: int = 0, speed: float = 1.0,
                 idle_timeout_s: float = 60.0, *, start_ms: int | None = None, paused: bool = False,
                 delisted: Sequence[str] = DEFAULT_DELISTED, max_subscriptions: int = 1000,
                 l2_snapshot_on_subscribe: bool = True, recent_trades_on_subscribe: int = 0,
                 log_trades: bool = True, evm_keep_blocks: int = 200_000) -> None:
        self.clock = SimClock(speed, paused)
        self.source = source
        self.host = host
        self.port = port
        self.state = MarketState()
        self.chain = EvmChain(evm_keep_blocks)
        self.sent_log = SentLog(log_trades)
        self.recent = RecentTrades(recent_trades_on_subscribe)
        self.sessions = Sessions(idle_timeout_s, max_subscriptions)
        self.faults = FaultInjector(self.sessions, self.clock)
        self.snapshots = SubscribeSnapshots(self.sessions.send, self.recent, self.state, self.sent_log,
                                            l2_snapshot_on_subscribe)
        self.sessions.pongs_allowed = self.faults.pongs_allowed
        self.sessions.on_subscribe = self.snapshots
        self.accounts = AccountBook(source.universe, self.state.mids)
        self.pump = MarketPump(source, self.clock, self.sessions, self.faults, self.state, self.chain,
                               self.recent, self.sent_log, start_ms, self.accounts)
        self.info = InfoEndpoint(source, self.state, delisted, self.accounts, self.account_time, self.faults.info_refusal)
        self.rpc = EvmRpc(self.chain)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._tasks: list[asyncio.Task] = []

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
        self.pump.stop()
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

    def build_app(self) -> web.Application:
        """The aiohttp routes: WebSocket at ``/`` and ``/ws``, ``POST /info``, ``POST /evm``."""
        app = web.Application()
        app.router.add_get("/", self.sessions.handle)
        app.router.add_get("/ws", self.sessions.handle)
        app.router.add_post("/info", self.info.handle)
        app.router.add_post("/evm", self.rpc.handle)
        return app

    async def _startup(self) -> None:
        self._runner = web.AppRunner(self.build_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # noqa: SLF001 - the only way to learn the port picked for port 0
        if server is not None and getattr(server, "sockets", None):
            self.port = server.sockets[0].getsockname()[1]
        self.clock.bind()
        self.faults.start()
        self._tasks = [asyncio.ensure_future(c) for c in
                       (self.pump.run(), self.sessions.watchdog(), self.faults.run_schedule())]

    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.sessions.close_all(1001, b"server shutdown")
        if self._runner is not None:
            await self._runner.cleanup()

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn`` in the server's loop (or here when it is not running) and return its result."""
        loop = self._loop
        if loop is None or not loop.is_running():
            return fn(*args)

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), loop).result(10)

    # ----------------------------------------------------------------- clock

    def sim_time_ms(self) -> int | None:
        """The simulated clock (ms), or None before the first batch."""
        return self.clock.now()

    def account_time(self) -> int | None:
        """The instant a clearinghouseState answer describes: the clock, held back to just before the event the
        pump is playing when the pump lags behind it, so the answer holds the trades up to its ``time`` and
        none after (None before the first batch)."""
        now = self.clock.now()
        frontier = self.pump.frontier
        if now is None or frontier is None:
            return now
        return min(now, frontier - 1)

    def pause(self) -> None:
        """Freeze the clock: nothing is sent until :meth:`resume`."""
        self._call(self.clock.pause)

    def resume(self) -> None:
        """Start (or restart) the clock where it stood."""
        self._call(self.clock.resume)

    # ----------------------------------------------------------------- sessions and pump

    def subscription_count(self) -> int:
        return self.sessions.subscription_count()

    def wait_subscriptions(self, n: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``n`` subscriptions are active (all clients together)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.subscription_count() >= n:
                return True
            time.sleep(0.01)
        return self.subscription_count() >= n

    @property
    def connection_count(self) -> int:
        return self.sessions.connection_count

    def wait_done(self, timeout: float | None = None) -> bool:
        """Wait until the source is exhausted and every due event went out.

        Raises RuntimeError when the source itself failed (so a test sees why, not a timeout).
        """
        done = self.pump.done.wait(timeout)
        if self.pump.error is not None:
            raise RuntimeError(f"simulator source failed: {self.pump.error!r}") from self.pump.error
        return done

    @property
    def error(self) -> BaseException | None:
        """Why the data pump stopped early (a broken source), or None."""
        return self.pump.error

    # ----------------------------------------------------------------- faults

    def inject(self, kind: str, **params: Any) -> int:
        """Inject a fault now; returns how many connections it touched (duplicate/stall: 0).

        kinds: ``drop`` (abort every connection, no close frame), ``stall`` (``seconds``; no
        data, and no pongs either with ``pongs=True``), ``malformed`` (a non-JSON frame),
        ``truncated`` (a cut trades frame), ``unknown_channel``, ``duplicate`` (``n`` next data
        messages sent twice), ``wrong_type`` (a trades frame whose ``px`` is a list).
        """
        check_kind(kind)
        loop = self._loop
        if loop is None or not loop.is_running():
            raise RuntimeError("server is not running")
        return asyncio.run_coroutine_threadsafe(self.faults.inject(kind, params), loop).result(10)

    def schedule(self, kind: str, at_s: float, **params: Any) -> None:
        """Inject ``kind`` ``at_s`` wall seconds after start (for ``--fault drop@30s``)."""
        self.faults.schedule(kind, at_s, **params)

    # ----------------------------------------------------------------- sent log

    def sent_trades(self) -> list[TradeId]:
        """Every ``(coin, time, tid)`` sent to at least one subscriber, once, in first-sent order
        (re-sends by the duplicate fault or the subscribe snapshot and fault frames are not listed)."""
        return self.sent_log.trades()

    def stats(self) -> dict[str, Any]:
        return {
            "connections": self.sessions.connection_count, "connections_total": self.connections_total,
            "subscriptions": self.subscription_count(), "sent_messages": dict(self.sent_messages),
            "faults": dict(self.fault_counts), "sim_time_ms": self.clock.now(), "done": self.pump.done.is_set(),
            "info_requests": dict(self.info.requests), "info_refused": dict(self.info.refused),
        }
