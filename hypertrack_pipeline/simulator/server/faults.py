"""Fault injection: drops, stalls, bad frames, duplicates and rate-limited Info answers, now or on a
wall-clock schedule."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.simulator.server.clock import SimClock
from hypertrack_pipeline.simulator.server.sessions import Connection, Sessions
from hypertrack_pipeline.simulator.wire import ZERO_HASH

FAULT_KINDS = ("drop", "stall", "malformed", "truncated", "unknown_channel", "duplicate", "wrong_type", "info_429")


def check_kind(kind: str) -> None:
    """Raise a :class:`UserError` naming the known kinds unless ``kind`` is one."""
    if kind not in FAULT_KINDS:
        raise UserError(f"unknown fault {kind!r}; choose from {', '.join(FAULT_KINDS)}")


class FaultInjector:
    """Makes the server misbehave on purpose, to test a client's recovery.

    Frame faults and drops act on the sessions at once; ``stall`` and ``duplicate`` leave state
    that the pump (:meth:`wait_stall`, :meth:`repeats`) and the sessions (:meth:`pongs_allowed`)
    consult. ``counts`` tells how often each kind fired.

    kinds: ``drop`` (abort every connection, no close frame), ``stall`` (``seconds``; no data,
    and no pongs either with ``pongs=True``), ``malformed`` (a non-JSON frame), ``truncated`` (a
    cut trades frame), ``unknown_channel``, ``duplicate`` (``n`` next data messages sent twice),
    ``wrong_type`` (a trades frame whose ``px`` is a list), ``info_429`` (the Info endpoint answers HTTP 429,
    Hyperliquid's rate-limit answer, to the next ``n`` requests (default 5) or for ``seconds``; ``type``
    limits it to one request type, e.g. ``clearinghouseState``; ``status`` answers another code, e.g. 502).
    """

    def __init__(self, sessions: Sessions, clock: SimClock) -> None:
        self.sessions = sessions
        self.clock = clock
        self.counts: dict[str, int] = {}
        self.stall_until = 0.0
        self.stall_pongs_until = 0.0
        self.duplicate_left = 0
        self.info_refuse_left = 0
        self.info_refuse_until = 0.0
        self.info_refuse_type: str | None = None
        self.info_refuse_status = 429
        self._schedule: list[tuple[float, str, dict[str, Any]]] = []
        self._started_wall = time.monotonic()

    # ----------------------------------------------------------------- schedule

    def schedule(self, kind: str, at_s: float, **params: Any) -> None:
        """Inject ``kind`` ``at_s`` wall seconds after :meth:`start`."""
        check_kind(kind)
        self._schedule.append((at_s, kind, params))
        self._schedule.sort(key=lambda f: f[0])

    def pending(self) -> list[tuple[float, str, dict[str, Any]]]:
        """The scheduled faults not fired yet, soonest first."""
        return list(self._schedule)

    def start(self) -> None:
        """Start the wall clock the schedule counts from."""
        self._started_wall = time.monotonic()

    async def run_schedule(self) -> None:
        """Fire each scheduled fault when due (a task that runs until cancelled)."""
        while True:
            await asyncio.sleep(0.05)
            elapsed = time.monotonic() - self._started_wall
            while self._schedule and self._schedule[0][0] <= elapsed:
                _, kind, params = self._schedule.pop(0)
                await self.inject(kind, params)

    # ----------------------------------------------------------------- what others consult

    def pongs_allowed(self) -> bool:
        """False while a ``stall`` with ``pongs=True`` lasts."""
        return self.stall_pongs_until <= time.monotonic()

    def repeats(self) -> int:
        """How many times to send the next data message: 2 while ``duplicate`` has some left."""
        if self.duplicate_left > 0:
            self.duplicate_left -= 1
            return 2
        return 1

    def info_refusal(self, kind: object) -> int | None:
        """The HTTP status to refuse this Info request with (``info_429``), or None to answer it."""
        if self.info_refuse_type is not None and kind != self.info_refuse_type:
            return None
        if self.info_refuse_until > time.monotonic():
            return self.info_refuse_status
        if self.info_refuse_left > 0:
            self.info_refuse_left -= 1
            return self.info_refuse_status
        return None

    async def wait_stall(self) -> bool:
        """Sleep while a ``stall`` lasts; True if it slept."""
        slept = False
        while self.stall_until > time.monotonic():
            await asyncio.sleep(self.stall_until - time.monotonic())
            slept = True
        return slept

    # ----------------------------------------------------------------- injecting

    async def inject(self, kind: str, params: dict[str, Any]) -> int:
        """Inject ``kind`` now (in the server's loop); returns the connections touched (duplicate/stall: 0)."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        conns = self.sessions.open_connections()
        if kind == "stall":
            until = time.monotonic() + float(params.get("seconds", 5.0))
            self.stall_until = max(self.stall_until, until)
            if params.get("pongs"):
                self.stall_pongs_until = max(self.stall_pongs_until, until)
            return 0
        if kind == "duplicate":
            self.duplicate_left += int(params.get("n", 1))
            return 0
        if kind == "info_429":
            self.info_refuse_type = params.get("type")
            self.info_refuse_status = int(params.get("status", 429))
            if "seconds" in params:
                self.info_refuse_until = max(self.info_refuse_until, time.monotonic() + float(params["seconds"]))
            else:
                self.info_refuse_left += int(params.get("n", 5))
            return 0
        if kind == "drop":
            for conn in conns:
                self.sessions.abort(conn)
            return len(conns)
        for conn in conns:
            await self.sessions.send(conn, self.frame(kind, conn))
        return len(conns)

    def frame(self, kind: str, conn: Connection) -> bytes:
        """The bad frame of a frame fault (``malformed``, ``unknown_channel``, ``truncated``, ``wrong_type``)."""
        if kind == "malformed":
            return b"<<this is not json>> {channel: trades"
        if kind == "unknown_channel":
            return orjson.dumps({"channel": "notAChannel", "data": {"coin": "BTC", "x": 1}})
        if kind == "truncated":
            full = orjson.dumps({"channel": "trades", "data": [self._trade(conn)]})
            return full[: len(full) // 2]
        trade = self._trade(conn)  # wrong_type
        trade["px"] = [trade["px"], "2.0"]
        return orjson.dumps({"channel": "trades", "data": [trade]})

    def _trade(self, conn: Connection) -> dict[str, Any]:
        coins = sorted(c for ch, c in conn.subs if ch == "trades") or ["BTC"]
        now = self.clock.now() or int(time.time() * 1000)
        return {"coin": coins[0], "side": "B", "px": "1.0", "sz": "1.0", "time": now, "hash": ZERO_HASH,
                "tid": 1, "users": ["0x" + "1" * 40, "0x" + "2" * 40]}
