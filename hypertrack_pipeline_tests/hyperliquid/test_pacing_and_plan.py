"""Hyperliquid's limits: subscriptions spread over few connections, sends paced."""

from __future__ import annotations

import threading
import time

import pytest

from hypertrack_pipeline.hyperliquid.pacing import TokenBucket
from hypertrack_pipeline.hyperliquid.session import plan_connections

STREAMS = ["trades", "bbo", "l2book", "candles"]


def test_plan_spreads_coins_and_keeps_a_coins_streams_together() -> None:
    coins = [f"C{i}" for i in range(200)]
    plans = plan_connections(coins, STREAMS, max_connections=5, subs_per_connection=200)
    assert len(plans) == 4  # 800 subscriptions / 200 per connection
    assert sum(len(p) for p in plans) == 800
    owner: dict[str, int] = {}
    for i, plan in enumerate(plans):
        assert len(plan) <= 200
        for msg in plan:
            coin = msg["subscription"]["coin"]
            assert owner.setdefault(coin, i) == i
    assert len(owner) == 200


def test_plan_small_and_too_big() -> None:
    assert len(plan_connections(["BTC", "ETH"], STREAMS)) == 1
    assert plan_connections([], STREAMS) == []
    with pytest.raises(ValueError, match="1000"):
        plan_connections([f"C{i}" for i in range(300)], STREAMS)
    assert len(plan_connections([f"C{i}" for i in range(250)], STREAMS, max_connections=50)) <= 10


def test_token_bucket_paces_after_the_burst() -> None:
    bucket = TokenBucket(rate_per_min=1200, burst=5)  # 20/s
    t0 = time.monotonic()
    for _ in range(5):
        assert bucket.try_take()
    assert not bucket.try_take()
    for _ in range(6):
        assert bucket.take()
    elapsed = time.monotonic() - t0
    assert 0.25 <= elapsed < 1.0  # 6 tokens at 20/s ≈ 0.3 s


def test_token_bucket_wait_is_interruptible() -> None:
    bucket = TokenBucket(rate_per_min=1, burst=1)
    assert bucket.take()
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    t0 = time.monotonic()
    assert bucket.take(stop=stop) is False
    assert time.monotonic() - t0 < 1.5
