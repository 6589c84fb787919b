"""The simulated clock: market time from wall time and a speed factor, with pause and resume."""

from __future__ import annotations

import asyncio
import time

from hypertrack_pipeline.errors import UserError


class SimClock:
    """Maps wall time to market time, so the pump knows when an event is due.

    Kept apart from the pump because pause/resume, the speed factor and "as fast as possible"
    (speed 0: the clock is the last event's time) are rules of their own, read by the pump, the
    fault frames and the server's stats. The clock is anchored at the first market time played;
    before that :meth:`now` is None. ``paused``: hold the clock until :meth:`resume`.
    """

    def __init__(self, speed: float = 1.0, paused: bool = False) -> None:
        if speed < 0:
            raise UserError(f"speed must be ≥ 0 (0 = as fast as possible), got {speed}")
        self.speed = float(speed)
        self.paused = paused
        self.last_event_ms: int | None = None
        self._origin: int | None = None
        self._wall_origin = 0.0
        self._paused_at: int | None = None
        self._resume_event: asyncio.Event | None = None

    def bind(self) -> None:
        """Create the resume signal; call inside the event loop that plays the events."""
        self._resume_event = asyncio.Event()
        if not self.paused:
            self._resume_event.set()

    @property
    def anchored(self) -> bool:
        """Whether the clock has a market origin yet (the first batch was seen)."""
        return self._origin is not None

    def anchor(self, origin_ms: int) -> None:
        """Start the clock at ``origin_ms`` now (frozen there while paused)."""
        self._origin = origin_ms
        self._wall_origin = time.monotonic()
        self.last_event_ms = origin_ms
        if self.paused:
            self._paused_at = origin_ms

    def now(self) -> int | None:
        """Market time (ms), or None before :meth:`anchor`."""
        if self._origin is None:
            return None
        if self._paused_at is not None:
            return self._paused_at
        if self.speed == 0:
            return self.last_event_ms
        return self._origin + int((time.monotonic() - self._wall_origin) * self.speed * 1000)

    def pause(self) -> None:
        """Freeze the clock where it stands."""
        self._paused_at = self.now()
        self.paused = True
        if self._resume_event is not None:
            self._resume_event.clear()

    def resume(self) -> None:
        """Start (or restart) the clock where it stood."""
        if self._paused_at is not None and self._origin is not None:
            self._origin = self._paused_at
        self._paused_at = None
        self._wall_origin = time.monotonic()
        self.paused = False
        if self._resume_event is not None:
            self._resume_event.set()

    def advance(self, event_ms: int) -> None:
        """Note that an event of ``event_ms`` was played (the clock of speed 0 follows it)."""
        self.last_event_ms = max(self.last_event_ms or event_ms, event_ms)

    async def wait_due(self, event_ms: int) -> bool:
        """Wait while paused, then (speed > 0) until ``event_ms`` is due; True if it slept for time."""
        assert self._resume_event is not None, "bind() the clock first"
        slept = False
        if self.paused:
            await self._resume_event.wait()
        if self.speed > 0:
            while True:
                if self.paused:
                    await self._resume_event.wait()
                    continue
                ahead = event_ms - (self.now() or 0)
                if ahead <= 0:
                    break
                await asyncio.sleep(min(ahead / (self.speed * 1000), 0.25))
                slept = True
        return slept
