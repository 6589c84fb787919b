"""The server's spot pairs and builder-dex perps: Info ``spotMeta``, ``perpDexs``, ``meta {dex}`` and the
asset contexts, and the WebSocket channels of those coins (the seeded market, on 127.0.0.1)."""

from __future__ import annotations

import json

import websocket

from hypertrack_pipeline.hyperliquid.info import InfoClient
from hypertrack_pipeline.simulator.market import SimConfig
from hypertrack_pipeline.simulator.server import SimServer, market_source
from hypertrack_pipeline.simulator.universe import spot_meta

CONFIG = SimConfig(seed=4, wallets=30, days=1 / 24, coins=("BTC", "@107", "PURR/USDC", "xyz:NVDA", "km:USTECH"),
                   prehistory_days=0, streams=("trades", "bbo", "l2book", "candles"))


def test_info_lists_spot_pairs_and_dex_perps_and_their_volumes() -> None:
    with SimServer(market_source(CONFIG), speed=0) as server:
        assert server.wait_done(60)
        info = InfoClient(server.info_url)
        assert info.perp_coins() == ["BTC"]  # meta: the main dex only (delisted coins skipped)
        assert info.spot_pairs() == ["@107", "PURR/USDC"]
        assert info.perp_dexs() == ["xyz", "km"]
        assert info.perp_coins("xyz") == ["xyz:NVDA"] and info.perp_coins("km") == ["km:USTECH"]
        dexs = info.post({"type": "perpDexs"})
        assert dexs[0] is None and {"name", "fullName", "deployer"} <= set(dexs[1])
        km = info.post({"type": "meta", "dex": "km"})
        usdh = next(t for t in info.post({"type": "spotMeta"})["tokens"] if t["name"] == "USDH")
        assert km["collateralToken"] == usdh["index"]
        spot = info.post({"type": "spotMeta"})
        pair = next(u for u in spot["universe"] if u["name"] == "@107")
        hype = next(t for t in spot["tokens"] if t["index"] == pair["tokens"][0])
        assert pair["index"] == 107 and hype["name"] == "HYPE" and pair["tokens"][1] == 0
        assert {"name", "szDecimals", "weiDecimals", "index", "tokenId", "isCanonical"} <= set(hype)
        volumes = info.day_volumes("spot") | info.day_volumes("perp") | info.day_volumes("perp", "xyz")
        assert set(volumes) >= {"BTC", "@107", "PURR/USDC", "xyz:NVDA"}
        assert all(v > 0 for k, v in volumes.items() if k != "LUNA" and k != "FTT")
        ctx = info.post({"type": "spotMetaAndAssetCtxs"})[1][0]
        assert ctx["coin"] == "@107" and float(ctx["markPx"]) > 0


def test_spot_and_dex_coins_stream_like_perps() -> None:
    with SimServer(market_source(CONFIG), speed=0, paused=True) as server:
        ws = websocket.create_connection(server.ws_url, timeout=10)
        assert ws.recv() == "Websocket connection established."
        coins = ("@107", "xyz:NVDA")
        for coin in coins:
            for sub in ({"type": "trades"}, {"type": "bbo"}, {"type": "l2Book"}, {"type": "candle", "interval": "1m"}):
                ws.send(json.dumps({"method": "subscribe", "subscription": {**sub, "coin": coin}}))
                assert json.loads(ws.recv())["channel"] == "subscriptionResponse"
        server.resume()
        assert server.wait_done(60)
        ws.settimeout(2)
        seen: dict[str, set[str]] = {}
        for _ in range(sum(server.stats()["sent_messages"].values())):
            frame = json.loads(ws.recv())
            data = frame["data"]
            coin = data[0]["coin"] if isinstance(data, list) else data.get("coin", data.get("s"))
            seen.setdefault(frame["channel"], set()).add(coin)
        ws.close()
    assert seen == {ch: set(coins) for ch in ("trades", "bbo", "l2Book", "candle")}


def test_unknown_spot_names_get_a_made_up_token() -> None:
    meta = spot_meta(["@999"])
    pair = meta["universe"][0]
    assert pair["name"] == "@999" and pair["index"] == 999
    assert any(t["index"] == pair["tokens"][0] and t["name"] == "T999" for t in meta["tokens"])
