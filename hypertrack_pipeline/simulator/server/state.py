"""What the server remembers of the played market: candles, books, best quotes and HyperEVM blocks."""

from __future__ import annotations

import bisect
from typing import Any

import orjson

from hypertrack_pipeline.simulator.wire import CANDLE, EvmBlock, WireEvent, decimal_string


class MarketState:
    """The latest candles, L2 books and best quotes per coin, kept from the played events.

    The Info endpoint answers from it and an l2Book subscribe is sent its latest book; keeping it
    apart lets the pump write it and the readers query it without knowing about each other.
    """

    def __init__(self) -> None:
        self.candles: dict[str, list[dict[str, Any]]] = {}
        self.books: dict[str, bytes] = {}  # coin → the latest l2Book frame
        self.best: dict[str, tuple[str | None, str | None]] = {}

    def apply(self, ev: WireEvent) -> None:
        """Keep what a candle, l2Book or bbo event carries in ``state``; other events are ignored."""
        if ev.state is None:
            return
        if ev.channel == CANDLE:
            hist = self.candles.setdefault(ev.coin, [])
            if hist and hist[-1]["t"] == ev.state["t"]:
                hist[-1] = ev.state
            elif not hist or hist[-1]["t"] < ev.state["t"]:
                hist.append(ev.state)
        elif ev.channel in ("l2Book", "bbo"):
            if ev.channel == "l2Book":
                self.books[ev.coin] = ev.payload
            self.best[ev.coin] = ev.state  # (bid px, ask px) text; mids computed on request

    def book(self, coin: Any) -> bytes | None:
        """The latest l2Book frame of ``coin`` (as sent), or None."""
        return self.books.get(coin)

    def book_data(self, coin: Any) -> Any:
        """The ``data`` of the latest l2Book frame of ``coin``, or None."""
        book = self.books.get(coin)
        return None if book is None else orjson.loads(book).get("data")

    def candle_snapshot(self, coin: str, start: int, end: int) -> list[dict[str, Any]]:
        """Candles overlapping [start, end] (the open one included, as the real API does), last 5000."""
        hist = self.candles.get(coin, [])
        lo = bisect.bisect_left([c["T"] for c in hist], start)
        out = [c for c in hist[lo:] if c["t"] <= end]
        return out[-5000:]

    def day_volume(self, coin: str) -> tuple[float, float]:
        """(notional, base) volume of the coin's candles over the 24 h up to its latest candle: the
        ``dayNtlVlm`` / ``dayBaseVlm`` of the asset contexts (a client ranks coins by it)."""
        hist = self.candles.get(coin, [])
        if not hist:
            return 0.0, 0.0
        since = hist[-1]["t"] - 24 * 3_600_000
        lo = bisect.bisect_right([c["t"] for c in hist], since)
        base = notional = 0.0
        for c in hist[lo:]:
            v = float(c.get("v") or 0.0)
            base += v
            notional += v * float(c.get("c") or 0.0)
        return notional, base

    def mids(self) -> dict[str, str]:
        """Mid price text per coin that has both a bid and an ask."""
        return {c: mid(b, a) for c, (b, a) in list(self.best.items()) if b and a}


def mid(bid: str, ask: str) -> str:
    """The mid of two price texts, as decimal text."""
    return decimal_string((float(bid) + float(ask)) / 2)


class EvmChain:
    """The recent simulated HyperEVM blocks, by number and by hash, the oldest pruned.

    Separate from :class:`MarketState` because the JSON-RPC reads only blocks, with its own
    retention (``keep_blocks``) and its own notion of the first and latest block.
    """

    def __init__(self, keep_blocks: int = 200_000) -> None:
        self.keep_blocks = keep_blocks
        self.blocks: dict[int, EvmBlock] = {}
        self.by_hash: dict[str, EvmBlock] = {}
        self.latest: int | None = None
        self.first: int | None = None

    def add(self, blk: EvmBlock) -> None:
        """Make ``blk`` visible; the block ``keep_blocks`` below it is forgotten."""
        self.blocks[blk.number] = blk
        self.by_hash[blk.header["hash"].lower()] = blk
        self.latest = max(self.latest or blk.number, blk.number)
        self.first = min(self.first if self.first is not None else blk.number, blk.number)
        old = self.blocks.pop(blk.number - self.keep_blocks, None)
        if old is not None:
            self.by_hash.pop(old.header["hash"].lower(), None)
            self.first = blk.number - self.keep_blocks + 1
