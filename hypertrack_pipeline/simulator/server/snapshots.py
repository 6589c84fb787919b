"""What a client gets right after a subscribe ack: the coin's recent trades, or its latest book."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from hypertrack_pipeline.simulator.server.sentlog import SentLog, TradeId
from hypertrack_pipeline.simulator.server.sessions import Connection, Key
from hypertrack_pipeline.simulator.server.state import MarketState

_PREFIX, _SUFFIX = b'{"channel":"trades","data":[', b"]}"


class RecentTrades:
    """Per coin, the last ``frames`` trades frames played (delivered or not).

    The real server answers a trades subscribe with the coin's recent trades, so a reconnecting
    client sees trades it already has; this buffer is what that answer is cut from. Each entry is
    ``[payload, trade_ids, logged]``: ``logged`` once the ids are in the sent log. ``frames`` 0: off.
    """

    def __init__(self, frames: int = 0) -> None:
        self.frames = frames
        self._by_coin: dict[str, deque[list[Any]]] = {}

    def record(self, coin: str, payload: bytes, trade_ids: list[TradeId], delivered: bool) -> None:
        """Keep one played trades frame (``delivered``: it reached a subscriber, so it is logged)."""
        if self.frames <= 0:
            return
        recent = self._by_coin.get(coin)
        if recent is None:
            recent = self._by_coin[coin] = deque(maxlen=self.frames)
        recent.append([payload, trade_ids, delivered])

    def get(self, coin: str) -> deque[list[Any]] | None:
        """The recent entries of ``coin`` (oldest first), or None."""
        return self._by_coin.get(coin)

    def frame(self, coin: str) -> tuple[bytes, list[list[Any]]] | None:
        """One trades frame joining the recent frames of ``coin`` and the entries it covers, or None."""
        recent = self._by_coin.get(coin)
        if not recent:
            return None
        items = [e for e in recent if e[0].startswith(_PREFIX) and e[0].endswith(_SUFFIX)]
        if not items:
            return None
        return _PREFIX + b",".join(e[0][len(_PREFIX):-len(_SUFFIX)] for e in items) + _SUFFIX, items


class SubscribeSnapshots:
    """The ``on_subscribe`` hook of the sessions: sends the snapshot that follows a subscribe ack.

    trades: one frame of the recent trades (their ids enter the sent log if they never reached
    anyone); l2Book: the latest book, when ``l2_on_subscribe`` (as the real server does).
    """

    def __init__(self, send: Callable[[Connection, bytes], Awaitable[None]], recent: RecentTrades,
                 state: MarketState, sent_log: SentLog, l2_on_subscribe: bool = True) -> None:
        self.send = send
        self.recent = recent
        self.state = state
        self.sent_log = sent_log
        self.l2_on_subscribe = l2_on_subscribe

    async def __call__(self, conn: Connection, key: Key) -> None:
        channel, coin = key
        if channel == "trades" and self.recent.get(coin):
            got = self.recent.frame(coin)
            if got is not None:
                frame, items = got
                await self.send(conn, frame)
                for entry in items:
                    if not entry[2]:
                        self.sent_log.log(entry[1])
                    entry[2] = True
        if channel == "l2Book" and self.l2_on_subscribe:
            book = self.state.book(coin)
            if book is not None:
                await self.send(conn, book)
