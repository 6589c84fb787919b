"""The simulated clock alone: anchoring, speed, speed 0, pause/resume and waiting for an event."""

from __future__ import annotations

import asyncio
import time

import pytest

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.simulator.server.clock import SimClock

T0 = 1_736_683_200_000


def test_no_time_before_anchor_and_negative_speed_refused() -> None:
    clock = SimClock(speed=1.0)
    assert clock.now() is None and not clock.anchored
    clock.anchor(T0)
    assert clock.anchored and clock.last_event_ms == T0
    with pytest.raises(UserError, match="speed must be ≥ 0"):
        SimClock(speed=-1)


def test_speed_zero_follows_the_last_event() -> None:
    clock = SimClock(speed=0)
    clock.anchor(T0)
    assert clock.now() == T0
    clock.advance(T0 + 500)
    clock.advance(T0 + 100)  # never goes back
    assert clock.now() == T0 + 500
    time.sleep(0.02)
    assert clock.now() == T0 + 500  # wall time does not move it


def test_speed_scales_wall_time() -> None:
    clock = SimClock(speed=1000)
    clock.anchor(T0)
    time.sleep(0.05)
    now = clock.now()
    assert now is not None and T0 + 40_000 <= now <= T0 + 2_000_000


def test_paused_clock_is_frozen_until_resumed_where_it_stood() -> None:
    clock = SimClock(speed=1000, paused=True)
    clock.anchor(T0)
    time.sleep(0.03)
    assert clock.now() == T0
    clock.resume()
    time.sleep(0.03)
    moved = clock.now()
    assert moved is not None and moved > T0
    clock.pause()
    frozen = clock.now()
    assert frozen is not None and frozen >= moved
    time.sleep(0.03)
    assert clock.now() == frozen
    clock.resume()
    after = clock.now()
    assert after is not None and frozen <= after < frozen + 20_000  # no jump over the paused time


def test_wait_due_sleeps_until_the_event_and_reports_it() -> None:
    async def main() -> tuple[bool, bool, float]:
        clock = SimClock(speed=100)
        clock.bind()
        clock.anchor(T0)
        past = await clock.wait_due(T0 - 1)
        t = time.monotonic()
        future = await clock.wait_due(T0 + 5_000)  # 5 s of market at speed 100: 50 ms
        return past, future, time.monotonic() - t

    past, future, waited = asyncio.run(main())
    assert past is False and future is True
    assert 0.03 <= waited < 2


def test_wait_due_holds_while_paused() -> None:
    async def main() -> float:
        clock = SimClock(speed=0, paused=True)
        clock.bind()
        clock.anchor(T0)
        asyncio.get_running_loop().call_later(0.1, clock.resume)
        t = time.monotonic()
        assert await clock.wait_due(T0 + 10**9) is False  # speed 0: no waiting for time itself
        return time.monotonic() - t

    assert asyncio.run(main()) >= 0.08
