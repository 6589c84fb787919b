"""Choosing the coins to record: market kinds from names, ``--markets``, and the subscription limit
on hand-made metadata."""

from __future__ import annotations

import pytest

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.hyperliquid.info import WEIGHTS
from hypertrack_pipeline.hyperliquid.markets import fit_subscriptions, market_kind, parse_markets
from hypertrack_pipeline.hyperliquid.pacing import MAX_SUBSCRIPTIONS


def test_market_kinds_follow_the_exchange_names() -> None:
    assert [market_kind(c) for c in ("BTC", "kPEPE", "@107", "PURR/USDC", "xyz:NVDA", "km:USTECH")] == \
        ["perp", "perp", "spot", "spot", "dex", "dex"]


def test_parse_markets() -> None:
    assert parse_markets("perp") == ("perp",)
    assert parse_markets("dex, SPOT") == ("spot", "dex")
    assert parse_markets("all") == ("perp", "spot", "dex")
    for bad in ("", "futures", "perp,options"):
        with pytest.raises(UserError, match="--markets"):
            parse_markets(bad)


def test_under_the_limit_everything_is_kept_in_order() -> None:
    coins = [f"C{i}" for i in range(250)]
    sel = fit_subscriptions(coins, 4)  # 1000 subscriptions: exactly the limit
    assert sel.kept == coins and sel.left_out == [] and sel.line() == ""


def test_over_the_limit_the_highest_volume_coins_are_kept() -> None:
    # 200 perps, 80 spot pairs and 20 dex perps (real mainnet has about that many) × 4 streams = 1200
    coins = [f"P{i}" for i in range(200)] + [f"@{i}" for i in range(80)] + [f"xyz:D{i}" for i in range(20)]
    volumes = {c: float((i * 7919) % 1000) for i, c in enumerate(coins)}
    volumes["@3"] = 1e12  # a busy spot pair is kept
    del volumes["xyz:D0"]  # no volume known: ranked last
    sel = fit_subscriptions(coins, 4, volumes)
    assert MAX_SUBSCRIPTIONS == 1000
    assert len(sel.kept) == 250 and len(sel.left_out) == 50 and len(sel.kept) * 4 <= MAX_SUBSCRIPTIONS
    assert "@3" in sel.kept and "xyz:D0" in sel.left_out
    assert sel.kept == [c for c in coins if c in set(sel.kept)]  # listed order kept
    assert min(volumes.get(c, 0.0) for c in sel.kept) >= max(volumes.get(c, 0.0) for c in sel.left_out)
    line = sel.line()
    assert "\n" not in line and "300 coins × 4 streams = 1200 subscriptions" in line
    assert "limit of 1000" in line and "left out 50: " in line and "xyz:D0" in line


def test_fewer_streams_fit_more_coins() -> None:
    coins = [f"C{i}" for i in range(600)]
    assert len(fit_subscriptions(coins, 2).kept) == 500
    assert len(fit_subscriptions(coins, 1).kept) == 600


def test_info_weights_follow_the_docs() -> None:
    light = {"l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState", "exchangeStatus"}
    assert {k for k, w in WEIGHTS.items() if w == 2} == light
    assert WEIGHTS["userRole"] == 60
    for kind in ("meta", "metaAndAssetCtxs", "spotMeta", "spotMetaAndAssetCtxs", "perpDexs", "candleSnapshot"):
        assert WEIGHTS[kind] == 20
