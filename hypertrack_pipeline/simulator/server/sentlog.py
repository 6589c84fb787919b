"""The sent log: data messages per channel and the trades that reached a subscriber."""

from __future__ import annotations

TradeId = tuple[str, int, int]  # (coin, time, tid)


class SentLog:
    """What the server sent, kept as the truth a recorder's landing zone is checked against.

    ``messages`` counts data messages per channel (a duplicated message twice). Trade ids are
    logged once per frame, when the frame first reaches a subscriber; ``log_trades=False`` keeps
    only the counts (a long-running server would otherwise grow without bound).
    """

    def __init__(self, log_trades: bool = True) -> None:
        self.log_trades = log_trades
        self.messages: dict[str, int] = {}
        self._trades: list[list[TradeId]] = []

    def count(self, channel: str, times: int = 1) -> None:
        """``times`` more data messages went out on ``channel``."""
        self.messages[channel] = self.messages.get(channel, 0) + times

    def log(self, trade_ids: list[TradeId]) -> None:
        """The trades of one frame reached a subscriber for the first time."""
        if self.log_trades:
            self._trades.append(trade_ids)

    def trades(self) -> list[TradeId]:
        """Every logged ``(coin, time, tid)``, in first-sent order (safe to call from another thread)."""
        return [tid for batch in list(self._trades) for tid in batch]
