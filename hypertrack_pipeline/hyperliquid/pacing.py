"""Token buckets that keep the recorder inside Hyperliquid's per-IP limits.

Limits (SPEC §2): 2000 messages sent per minute, 30 new connections per minute, 1000
subscriptions, 10 connections. The buckets are shared by every connection of one process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``rate_per_min`` tokens a minute, at most ``burst`` saved up; ``take`` blocks until one is free.

    ``clock`` (seconds, monotonic) is injectable so a caller that sleeps on its own (the account poller)
    can be driven by a simulated clock in tests; ``start_full=False`` starts with an empty bucket.
    """

    def __init__(self, rate_per_min: float, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic, start_full: bool = True) -> None:
        if rate_per_min <= 0:
            raise ValueError("rate_per_min must be positive")
        self.rate = rate_per_min / 60.0
        self.capacity = float(burst if burst is not None else max(1.0, rate_per_min / 20))
        self._clock = clock
        self._tokens = self.capacity if start_full else 0.0
        self._last = clock()
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def wait_time(self, n: float = 1.0) -> float:
        """Seconds until ``n`` tokens are there (0: now); takes nothing."""
        with self._lock:
            self._refill(self._clock())
            return max(0.0, (n - self._tokens) / self.rate)

    def try_take(self, n: float = 1.0) -> bool:
        """Take ``n`` tokens if they are there now, without waiting."""
        with self._lock:
            self._refill(self._clock())
            if self._tokens >= n:
                self._tokens -= n
                return True
            return False

    def take(self, n: float = 1.0, stop: threading.Event | None = None) -> bool:
        """Wait for ``n`` tokens; False when ``stop`` was set while waiting."""
        while True:
            with self._lock:
                now = self._clock()
                self._refill(now)
                if self._tokens >= n:
                    self._tokens -= n
                    return True
                wait = (n - self._tokens) / self.rate
            if stop is not None:
                if stop.wait(min(wait, 0.5)):
                    return False
            else:
                time.sleep(min(wait, 0.5))


# Hyperliquid's documented limits, with a margin.
MAX_CONNECTIONS = 10
MAX_SUBSCRIPTIONS = 1000
SEND_PER_MIN = 1800.0  # of 2000
CONNECT_PER_MIN = 25.0  # of 30


class Limits:
    """The shared buckets of one recorder process."""

    def __init__(self, send_per_min: float = SEND_PER_MIN, connect_per_min: float = CONNECT_PER_MIN) -> None:
        self.send = TokenBucket(send_per_min, burst=100)
        self.connect = TokenBucket(connect_per_min, burst=10)
