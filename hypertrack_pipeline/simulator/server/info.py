"""``POST /info``: the Info REST endpoint (``meta``, ``candleSnapshot``, ``l2Book``, ``allMids``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from aiohttp import web

from hypertrack_pipeline.simulator.server.responses import json_response
from hypertrack_pipeline.simulator.server.source import EventSource
from hypertrack_pipeline.simulator.server.state import MarketState

DEFAULT_DELISTED = ("LUNA", "FTT")
_BAD_BODY = "Failed to deserialize the JSON body into the target type"


class InfoEndpoint:
    """Answers Info requests from the source's universe and the market state, shaped like the real API.

    It only reads: the pump keeps :class:`MarketState` current. ``delisted`` coins are added to
    ``meta`` (flagged ``isDelisted``) so a client's delisted-coin handling is exercised.
    """

    def __init__(self, source: EventSource, state: MarketState, delisted: Sequence[str] = DEFAULT_DELISTED) -> None:
        self.source = source
        self.state = state
        self.delisted = tuple(delisted)

    async def handle(self, request: web.Request) -> web.Response:
        """The aiohttp handler of ``POST /info``."""
        try:
            body = orjson.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="Failed to parse the request body as JSON")
        kind = body.get("type") if isinstance(body, dict) else None
        if kind == "meta":
            return json_response(self.meta())
        if kind == "candleSnapshot":
            req = body.get("req")
            if not isinstance(req, dict) or not isinstance(req.get("coin"), str):
                return web.Response(status=422, text=_BAD_BODY)
            if req.get("interval") != "1m":
                return web.Response(status=422, text="the simulator serves interval 1m only")
            return json_response(self.state.candle_snapshot(req["coin"], int(req.get("startTime") or 0),
                                                            int(req.get("endTime") or 2**62)))
        if kind == "l2Book":
            return json_response(self.state.book_data(body.get("coin")))
        if kind == "allMids":
            return json_response(self.state.mids())
        return web.Response(status=422, text=_BAD_BODY)

    def meta(self) -> dict[str, Any]:
        """The ``meta`` answer: the source's universe plus the delisted coins it lacks."""
        universe = [dict(u) for u in self.source.universe()]
        known = {u["name"] for u in universe}
        universe += [{"name": d, "szDecimals": 1, "maxLeverage": 3, "isDelisted": True}
                     for d in self.delisted if d not in known]
        return {"universe": universe}
