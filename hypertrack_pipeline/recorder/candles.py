"""Completed candles only: the stream re-sends the open candle on every update.

A candle is complete once a newer open time ``t`` arrived for its coin and interval, or once the
watermark passed its close time ``T`` (plus a small margin for the last in-flight update). A
candle is emitted at most once: re-sends after a reconnect, or from a ``candleSnapshot`` gap fill,
of a ``t`` already emitted are dropped.
"""

from __future__ import annotations

import threading

# CANDLES row layout: coin, interval, open_time, close_time, o, h, l, c, v, n, recv_ns
_COIN, _INTERVAL, _T_OPEN, _T_CLOSE = 0, 1, 2, 3


class CandleCompleter:
    def __init__(self, margin_ms: int = 2_000) -> None:
        self.margin_ms = margin_ms
        self._open: dict[tuple[str, str], tuple] = {}
        self._done: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def offer(self, row: tuple) -> list[tuple]:
        """Take one candle update; returns the candles it completed (0 or 1)."""
        key = (row[_COIN], row[_INTERVAL])
        t = row[_T_OPEN]
        with self._lock:
            if t <= self._done.get(key, -1):
                return []
            cur = self._open.get(key)
            if cur is None or t == cur[_T_OPEN]:
                self._open[key] = row
                return []
            if t < cur[_T_OPEN]:  # an older candle than the open one: stale, already superseded
                return []
            self._open[key] = row
            self._done[key] = cur[_T_OPEN]
            return [cur]

    def offer_complete(self, rows: list[tuple]) -> list[tuple]:
        """Candles known to be complete (a snapshot of closed candles): emit those not emitted yet."""
        out = []
        with self._lock:
            for row in sorted(rows, key=lambda r: r[_T_OPEN]):
                key = (row[_COIN], row[_INTERVAL])
                if row[_T_OPEN] <= self._done.get(key, -1):
                    continue
                cur = self._open.get(key)
                if cur is not None and cur[_T_OPEN] <= row[_T_OPEN]:
                    continue  # the live stream owns this one (still open)
                self._done[key] = row[_T_OPEN]
                out.append(row)
        return out

    def forget(self, coins: set[str]) -> int:
        """Drop the open candles of ``coins`` (their stream broke: landing them could land a partial
        candle); a ``candleSnapshot`` fill lands them complete. Returns how many were dropped."""
        with self._lock:
            keys = [k for k in self._open if k[0] in coins]
            for k in keys:
                del self._open[k]
        return len(keys)

    def due(self, now_ms: int) -> list[tuple]:
        """Open candles whose close time has passed ``now_ms`` (minus the margin)."""
        out = []
        with self._lock:
            for key, row in list(self._open.items()):
                if row[_T_CLOSE] + self.margin_ms < now_ms:
                    out.append(row)
                    self._done[key] = row[_T_OPEN]
                    del self._open[key]
        return out

    def last_emitted(self, coin: str, interval: str = "1m") -> int | None:
        return self._done.get((coin, interval))
