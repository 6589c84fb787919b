"""The market pump: plays the source's events on the clock, keeps the state, fans frames out."""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

from hypertrack_pipeline.simulator.server.accounts import AccountBook
from hypertrack_pipeline.simulator.server.clock import SimClock
from hypertrack_pipeline.simulator.server.faults import FaultInjector
from hypertrack_pipeline.simulator.server.sentlog import SentLog
from hypertrack_pipeline.simulator.server.sessions import Sessions
from hypertrack_pipeline.simulator.server.snapshots import RecentTrades
from hypertrack_pipeline.simulator.server.source import EventSource
from hypertrack_pipeline.simulator.server.state import EvmChain, MarketState
from hypertrack_pipeline.simulator.wire import EVM, TRADES, EventBatch, WireEvent

_YIELD_EVERY = 128  # events sent between yields to the loop when catching up


class MarketPump:
    """Turns the event source into frames on the wire, each when the clock says it is due.

    A producer thread encodes the source's batches ahead (a queue of two), so the send loop only
    copies bytes. For each event the pump waits for the clock and any ``stall``, updates the
    market state (or the EVM chain; trades go to the account book), then sends the frame to the subscribers (twice under a
    ``duplicate`` fault) and logs it. Events before ``start_ms`` only update state. ``done`` is
    set when the source is exhausted or failed (``error`` then says why).
    """

    def __init__(self, source: EventSource, clock: SimClock, sessions: Sessions, faults: FaultInjector,
                 state: MarketState, chain: EvmChain, recent: RecentTrades, sent_log: SentLog,
                 start_ms: int | None = None, accounts: AccountBook | None = None) -> None:
        self.source = source
        self.accounts = accounts  # positions per wallet, from every trade played
        self.clock = clock
        self.sessions = sessions
        self.faults = faults
        self.state = state
        self.chain = chain
        self.recent = recent
        self.sent_log = sent_log
        self.start_ms = start_ms
        self.done = threading.Event()
        # every event before this exchange time has been played, none at or after it (None: all played)
        self.frontier: int | None = None
        self.error: BaseException | None = None
        self._stopping = threading.Event()
        self._batches: queue.Queue[Any] = queue.Queue(maxsize=2)  # encoded batches, producer → pump

    def stop(self) -> None:
        """Tell the producer thread to give up (the server is stopping)."""
        self._stopping.set()

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

    async def run(self) -> None:
        """Play every batch, then set ``done`` (a task of the server's loop)."""
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
                    self.error = item
                    break
                await self.play(item)
        except Exception as exc:  # noqa: BLE001 - kept for wait_done()/error: tests see why, not a hang
            self.error = exc
        finally:
            self.frontier = None
            self.done.set()

    async def play(self, batch: EventBatch) -> None:
        """Release the events of one batch, in order, each when due."""
        events = batch.events
        if not events:
            return
        if not self.clock.anchored:
            self.clock.anchor(self.start_ms if self.start_ms is not None else (self.source.start_ms or events[0].time))
        since_yield = 0
        for ev in events:
            self.frontier = ev.time
            if await self.clock.wait_due(ev.time):
                since_yield = 0
            if await self.faults.wait_stall():
                since_yield = 0
            self.clock.advance(ev.time)
            self._keep(ev)
            if ev.channel == EVM or (self.start_ms is not None and ev.time < self.start_ms):
                continue
            conns = self.sessions.subscribers(ev.channel, ev.coin)
            if ev.trade_ids is not None:
                self.recent.record(ev.coin, ev.payload, ev.trade_ids, bool(conns))
            if conns:
                times = self.faults.repeats()
                for _ in range(times):
                    for conn in conns:
                        await self.sessions.send(conn, ev.payload)
                self.sent_log.count(ev.channel, times)
                if ev.trade_ids is not None:
                    self.sent_log.log(ev.trade_ids)
            since_yield += 1
            if since_yield >= _YIELD_EVERY:
                since_yield = 0
                await asyncio.sleep(0)
        # the batch covers its time up to end_ms: the next event comes at or after it
        self.frontier = max(events[-1].time + 1, batch.end_ms or 0)

    def _keep(self, ev: WireEvent) -> None:
        if ev.channel == TRADES and self.accounts is not None:
            self.accounts.feed(ev.payload, ev.time)
        if ev.state is None:
            return
        if ev.channel == EVM:
            self.chain.add(ev.state)
        else:
            self.state.apply(ev)
