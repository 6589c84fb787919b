"""Completed candles only, each exactly once."""

from __future__ import annotations

from hypertrack_pipeline.recorder.candles import CandleCompleter


def candle(coin: str, t: int, c: float, n: int) -> tuple:
    return (coin, "1m", t, t + 59_999, 1.0, max(1.0, c), min(1.0, c), c, float(n), n, 0)


def test_newer_open_time_completes_the_previous_candle() -> None:
    cc = CandleCompleter()
    assert cc.offer(candle("BTC", 0, 1.1, 1)) == []
    assert cc.offer(candle("BTC", 0, 1.2, 2)) == []  # the open candle is re-sent on every update
    assert cc.offer(candle("ETH", 0, 5.0, 1)) == []
    done = cc.offer(candle("BTC", 60_000, 1.3, 1))
    assert done == [candle("BTC", 0, 1.2, 2)]  # its last state
    assert cc.offer(candle("BTC", 0, 1.25, 3)) == []  # a stale re-send after completion is dropped
    assert cc.offer(candle("BTC", 60_000, 1.4, 2)) == []


def test_close_time_passing_completes_and_never_twice() -> None:
    cc = CandleCompleter(margin_ms=1000)
    cc.offer(candle("BTC", 0, 1.1, 1))
    assert cc.due(60_500) == []
    assert cc.due(61_000) == [candle("BTC", 0, 1.1, 1)]
    assert cc.due(200_000) == []
    assert cc.offer(candle("BTC", 0, 1.1, 1)) == []  # reconnect re-sends it: dropped
    assert cc.last_emitted("BTC") == 0


def test_snapshot_fill_skips_emitted_and_open_candles() -> None:
    cc = CandleCompleter()
    cc.offer(candle("BTC", 0, 1.0, 1))
    cc.offer(candle("BTC", 60_000, 1.0, 1))  # completes t=0
    cc.offer(candle("BTC", 240_000, 1.0, 1))  # after a gap: 60 000 completed, 240 000 open
    snap = [candle("BTC", t, 2.0, 9) for t in (0, 60_000, 120_000, 180_000, 240_000)]
    assert [r[2] for r in cc.offer_complete(snap)] == [120_000, 180_000]
