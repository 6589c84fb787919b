"""Repeated trades (resubscribe snapshots, duplicated frames) are dropped; memory stays bounded."""

from __future__ import annotations

from hypertrack_pipeline.recorder.dedupe import RecentTrades


def t(coin: str, time: int, tid: int) -> tuple:
    return (coin, "B", 1.0, 1.0, time, tid, "0x", "0x1", "0x2", 0)


def test_repeats_dropped_per_coin_and_window_bounded() -> None:
    rt = RecentTrades(per_coin=3)
    assert rt.filter([t("BTC", 1, 1), t("BTC", 1, 2), t("ETH", 1, 1)]) == [t("BTC", 1, 1), t("BTC", 1, 2), t("ETH", 1, 1)]
    assert rt.filter([t("BTC", 1, 2), t("BTC", 2, 3)]) == [t("BTC", 2, 3)]  # snapshot overlap
    assert rt.filter([t("BTC", 1, 2)]) == []
    assert rt.dropped == 2
    rt.filter([t("BTC", 3, 4), t("BTC", 4, 5)])  # (1, 1) and (1, 2) fall out of the window
    assert rt.filter([t("BTC", 1, 1)]) == [t("BTC", 1, 1)]
    assert all(len(seen) <= 3 for seen, _ in rt._seen.values())
