"""Replay a capture of real Hyperliquid frames (``<local_ns> <json>`` per line) through the server.

Frames are forwarded byte for byte, each to the clients subscribed to its channel and coin, at
the capture's relative timing (the server's speed factor applies on top; ``speed`` here
compresses the capture's own timeline). Control frames (acks, pongs, errors) are not replayed:
the server answers those itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.simulator.wire import CANDLE, EventBatch, WireEvent

_SKIP = frozenset({"subscriptionResponse", "pong", "error"})


def _coin_of(channel: str, data: Any) -> str | None:
    """The coin a data frame belongs to (trades: its first item; candle: ``s``)."""
    if channel == "trades" and isinstance(data, list) and data and isinstance(data[0], dict):
        return data[0].get("coin")
    if isinstance(data, dict):
        return data.get("s") if channel == CANDLE else data.get("coin")
    return None


def _best_prices(channel: str, data: Any) -> tuple[str | None, str | None] | None:
    """(best bid px, best ask px) of a book or BBO frame: what the server keeps for ``allMids``."""
    try:
        if channel == "bbo":
            bid, ask = data["bbo"]
            return (bid["px"] if bid else None, ask["px"] if ask else None)
        if channel == "l2Book":
            bids, asks = data["levels"]
            return (bids[0]["px"] if bids else None, asks[0]["px"] if asks else None)
    except (KeyError, TypeError, ValueError, IndexError):
        return (None, None) if channel in ("bbo", "l2Book") else None
    return None


class ReplaySource:
    """An event source over a capture file; ``speed`` > 1 plays the capture faster."""

    def __init__(self, path: str | Path, speed: float = 1.0, batch_lines: int = 5000) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"replay file {self.path} does not exist")
        if speed <= 0:
            raise UserError(f"replay speed must be > 0, got {speed}")
        self.speed = speed
        self.batch_lines = batch_lines
        self._coins: list[str] = []
        self._t0: int | None = None
        seen: dict[str, None] = {}
        for ns, _raw, channel, data in self._lines():
            if self._t0 is None:
                self._t0 = ns // 1_000_000
            coin = _coin_of(channel, data)
            if isinstance(coin, str):
                seen.setdefault(coin)
        self._coins = list(seen)

    @property
    def start_ms(self) -> int | None:
        return self._t0

    def universe(self) -> list[dict[str, Any]]:
        """Coins seen in the capture, as ``meta`` universe entries (decimals unknown: 2)."""
        return [{"name": c, "szDecimals": 2, "maxLeverage": 50} for c in self._coins]

    def _lines(self) -> Iterator[tuple[int, bytes, str, Any]]:
        with self.path.open("rb") as fh:
            for lineno, line in enumerate(fh, 1):
                line = line.strip()
                if not line:
                    continue
                head, _, raw = line.partition(b" ")
                try:
                    ns = int(head)
                    msg = orjson.loads(raw)
                except (ValueError, orjson.JSONDecodeError):
                    raise UserError(f"{self.path}:{lineno}: not a '<ns> <json>' line") from None
                if not isinstance(msg, dict) or not isinstance(msg.get("channel"), str):
                    continue
                yield ns, raw, msg["channel"], msg.get("data")

    def _event(self, ns: int, raw: bytes, channel: str, data: Any) -> WireEvent | None:
        if channel in _SKIP:
            return None
        coin = _coin_of(channel, data)
        if not isinstance(coin, str):
            return None
        t0 = self._t0 or 0
        t = t0 + int((ns // 1_000_000 - t0) / self.speed)
        ids = None
        if channel == "trades":
            ids = [(coin, d.get("time"), d.get("tid")) for d in data if isinstance(d, dict)]
        state = data if channel == CANDLE else _best_prices(channel, data)
        return WireEvent(t, channel, coin, raw, ids, state)

    def batches(self) -> Iterator[EventBatch]:
        events: list[WireEvent] = []
        for item in self._lines():
            ev = self._event(*item)
            if ev is not None:
                events.append(ev)
            if len(events) >= self.batch_lines:
                yield EventBatch(events, events[-1].time)
                events = []
        if events:
            yield EventBatch(events, events[-1].time)
