"""Drops trades the recorder has already seen: the snapshot of recent trades that a trades
subscription answers with (after every reconnect) and frames the exchange sent twice.

A trade is identified by ``(coin, time, tid)``; the last ``per_coin`` ids of each coin are kept
(bounded memory). Downstream still deduplicates on the same key, this only keeps the landing zone
free of the obvious repeats.
"""

from __future__ import annotations

from collections import deque

# TRADES row layout: coin, side, px, sz, time, tid, ...
_COIN, _TIME, _TID = 0, 4, 5


class RecentTrades:
    def __init__(self, per_coin: int = 2000) -> None:
        self.per_coin = per_coin
        self.dropped = 0
        self._seen: dict[str, tuple[set[tuple[int, int]], deque[tuple[int, int]]]] = {}

    def filter(self, rows: list[tuple]) -> list[tuple]:
        """The rows not seen before (each coin's ids live on one connection thread)."""
        out = []
        for row in rows:
            entry = self._seen.get(row[_COIN])
            if entry is None:
                entry = self._seen.setdefault(row[_COIN], (set(), deque()))
            seen, order = entry
            key = (row[_TIME], row[_TID])
            if key in seen:
                self.dropped += 1
                continue
            seen.add(key)
            order.append(key)
            if len(order) > self.per_coin:
                seen.discard(order.popleft())
            out.append(row)
        return out
