"""The server playing the seeded simulated market: what a client receives is the landed market."""

from __future__ import annotations

import argparse
import json
import urllib.request

import pyarrow as pa
import pytest
import websocket

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.simulator import server_cli
from hypertrack_pipeline.simulator.market import SimConfig, iter_market
from hypertrack_pipeline.simulator.server import SimServer, market_source

CONFIG = SimConfig(seed=3, wallets=40, days=1 / 24, coins=2, prehistory_days=0)


def landed(config: SimConfig) -> dict[str, pa.Table]:
    chunks = list(iter_market(config))
    return {k: pa.concat_tables([c.tables[k] for c in chunks]) for k in chunks[0].tables}


def test_a_subscriber_receives_the_simulated_market_exactly() -> None:
    truth = landed(CONFIG)
    coins = truth["trades"].column("coin").unique().to_pylist()
    with SimServer(market_source(CONFIG), speed=0, paused=True) as server:
        ws = websocket.create_connection(server.ws_url, timeout=10)
        assert ws.recv() == "Websocket connection established."
        for coin in coins:
            for sub in ({"type": "trades"}, {"type": "bbo"}, {"type": "candle", "interval": "1m"}):
                ws.send(json.dumps({"method": "subscribe", "subscription": {**sub, "coin": coin}}))
                assert json.loads(ws.recv())["channel"] == "subscriptionResponse"
        server.resume()
        assert server.wait_done(60)
        ws.settimeout(2)
        received: dict[str, list] = {"trades": [], "bbo": [], "candle": []}
        while sum(len(v) for v in received.values()) < sum(server.stats()["sent_messages"].values()):
            frame = json.loads(ws.recv())
            received[frame["channel"]].append(frame["data"])
        ws.close()
        req = urllib.request.Request(server.info_url, data=json.dumps({"type": "candleSnapshot", "req": {
            "coin": coins[0], "interval": "1m", "startTime": 0, "endTime": CONFIG.end_ms}}).encode())
        with urllib.request.urlopen(req, timeout=5) as resp:
            snapshot = json.loads(resp.read())
    got = [(t["coin"], t["time"], t["tid"]) for frame in received["trades"] for t in frame]
    want = sorted(zip(*(truth["trades"].column(c).to_pylist() for c in ("coin", "time", "tid")), strict=True),
                  key=lambda k: (k[1], k[0], k[2]))
    assert got == want and server.sent_trades() == want
    assert all(isinstance(t["px"], str) and isinstance(t["tid"], int) for frame in received["trades"] for t in frame)
    assert len(received["bbo"]) == truth["bbo"].num_rows
    # the stream's candles, once complete, are the market's landed candles
    last = {}
    for c in received["candle"]:
        last[(c["s"], c["t"])] = c
    candles = truth["candles"].to_pylist()
    assert len(last) == len(candles)
    for row in candles:
        c = last[(row["coin"], row["open_time"])]
        assert (float(c["o"]), float(c["h"]), float(c["l"]), float(c["c"]), c["n"]) == (
            row["open"], row["high"], row["low"], row["close"], row["n_trades"])
        assert float(c["v"]) == pytest.approx(row["volume"], abs=1e-9)
    assert [c["t"] for c in snapshot] == sorted(r["open_time"] for r in candles if r["coin"] == coins[0])


def test_serve_sim_options_build_the_market_source() -> None:
    parser = argparse.ArgumentParser()
    server_cli.register(parser.add_subparsers())
    args = parser.parse_args(["serve-sim", "--seed", "3", "--wallets", "40", "--days", "0.05", "--coins", "ETH,SOL"])
    source = server_cli.build_source(args)
    assert [u["name"] for u in source.universe()] == ["ETH", "SOL"]
    assert source.start_ms == SimConfig().start_ms
    bad = parser.parse_args(["serve-sim", "--wallets", "1"])
    with pytest.raises(UserError):
        server_cli.build_source(bad)


def test_live_mode_moves_the_market_to_now() -> None:
    import time

    source = market_source(CONFIG, live=True)
    assert abs(source.start_ms - time.time() * 1000) < 60_000
    first = next(iter(source.batches())).events[0]
    assert first.time >= source.start_ms
