"""The market state and the Info endpoint alone (the endpoint behind a bare aiohttp app on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from hypertrack_pipeline.simulator.server.info import InfoEndpoint
from hypertrack_pipeline.simulator.server.source import TableSource
from hypertrack_pipeline.simulator.server.state import MarketState, mid
from hypertrack_pipeline.simulator.wire import CANDLE, WireEvent

T0 = 1_736_683_200_000
BOOK = b'{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[{"px":"99.0"}],[{"px":"101.0"}]]}}'


def candle(t: int, close: str) -> WireEvent:
    state = {"t": t, "T": t + 59_999, "s": "BTC", "i": "1m", "c": close}
    return WireEvent(t, CANDLE, "BTC", b"{}", state=state)


def filled_state() -> MarketState:
    state = MarketState()
    for ev in (candle(T0, "1"), candle(T0, "2"), candle(T0 + 60_000, "3"), candle(T0 - 60_000, "old")):
        state.apply(ev)
    state.apply(WireEvent(T0, "l2Book", "BTC", BOOK, state=("99.0", "101.0")))
    state.apply(WireEvent(T0, "bbo", "ETH", b"{}", state=("10.0", "10.5")))
    state.apply(WireEvent(T0, "bbo", "SOL", b"{}", state=(None, "3.0")))  # one-sided: no mid
    state.apply(WireEvent(T0, "trades", "BTC", b"{}"))  # no state: ignored
    return state


def test_market_state_keeps_candles_books_and_quotes() -> None:
    state = filled_state()
    assert [c["c"] for c in state.candles["BTC"]] == ["2", "3"]  # the open candle replaced, older ignored
    assert state.book("BTC") == BOOK and state.book("ETH") is None
    assert state.book_data("BTC")["coin"] == "BTC" and state.book_data("ETH") is None
    assert state.mids() == {"BTC": "100.0", "ETH": "10.25"}
    assert mid("1", "2") == "1.5"
    assert [c["c"] for c in state.candle_snapshot("BTC", T0 + 30_000, T0 + 60_000)] == ["2", "3"]
    assert [c["c"] for c in state.candle_snapshot("BTC", T0 + 60_000, 2**62)] == ["3"]
    assert state.candle_snapshot("BTC", 0, T0 - 1) == [] and state.candle_snapshot("ETH", 0, 2**62) == []


def test_info_endpoint_answers_from_the_state() -> None:
    source = TableSource([], universe=["BTC", {"name": "LUNA", "szDecimals": 0, "maxLeverage": 1}])
    info = InfoEndpoint(source, filled_state(), delisted=("LUNA", "FTT"))
    assert info.meta() == {"universe": [
        {"name": "BTC", "szDecimals": 2, "maxLeverage": 50},
        {"name": "LUNA", "szDecimals": 0, "maxLeverage": 1},  # already known: not added again
        {"name": "FTT", "szDecimals": 1, "maxLeverage": 3, "isDelisted": True}]}

    async def main() -> list[tuple[int, Any]]:
        app = web.Application()
        app.router.add_post("/info", info.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        out = []
        try:
            async with aiohttp.ClientSession() as http:
                for body in (
                    {"type": "meta"},
                    {"type": "candleSnapshot", "req": {"coin": "BTC", "interval": "1m", "startTime": T0 + 60_000}},
                    {"type": "candleSnapshot", "req": {"coin": "BTC", "interval": "5m"}},
                    {"type": "candleSnapshot", "req": {"coin": 1}},
                    {"type": "l2Book", "coin": "BTC"},
                    {"type": "l2Book", "coin": "DOGE"},
                    {"type": "allMids"},
                    {"type": "clearinghouseState"},
                    b"not json",
                ):
                    kw: dict[str, Any] = {"data": body} if isinstance(body, bytes) else {"json": body}
                    async with http.post(server.make_url("/info"), **kw) as resp:
                        ok = resp.content_type == "application/json"
                        out.append((resp.status, await resp.json() if ok else await resp.text()))
        finally:
            await server.close()
        return out

    meta, snap, bad_interval, bad_req, book, no_book, mids, unknown, not_json = asyncio.run(main())
    assert meta == (200, info.meta())
    assert snap[0] == 200 and [c["c"] for c in snap[1]] == ["3"]
    assert bad_interval == (422, "the simulator serves interval 1m only")
    assert bad_req == (422, "Failed to deserialize the JSON body into the target type")
    assert book[0] == 200 and book[1]["levels"][0] == [{"px": "99.0"}]
    assert no_book == (200, None)
    assert mids == (200, {"BTC": "100.0", "ETH": "10.25"})
    assert unknown[0] == 422
    assert not_json == (400, "Failed to parse the request body as JSON")
