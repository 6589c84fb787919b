"""``POST /info``: the Info REST endpoint (``meta`` with an optional ``dex``, ``metaAndAssetCtxs``,
``spotMeta``, ``spotMetaAndAssetCtxs``, ``perpDexs``, ``candleSnapshot``, ``l2Book``, ``allMids``,
``clearinghouseState``)."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from aiohttp import web

from hypertrack_pipeline.simulator.server.accounts import AccountBook
from hypertrack_pipeline.simulator.server.responses import json_response
from hypertrack_pipeline.simulator.server.source import EventSource
from hypertrack_pipeline.simulator.server.state import MarketState
from hypertrack_pipeline.simulator.universe import (
    DEX,
    PERP,
    SPOT,
    dex_collateral_index,
    market_kind,
    perp_dexs,
    spot_meta,
)
from hypertrack_pipeline.simulator.wire import decimal_string

DEFAULT_DELISTED = ("LUNA", "FTT")
_BAD_BODY = "Failed to deserialize the JSON body into the target type"
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class InfoEndpoint:
    """Answers Info requests from the source's universe and the market state, shaped like the real API.

    It only reads: the pump keeps :class:`MarketState` current. ``delisted`` coins are added to
    ``meta`` (flagged ``isDelisted``) so a client's delisted-coin handling is exercised. The universe
    is split by name as the exchange does: ``@N`` and ``A/B`` are spot pairs (``spotMeta``),
    ``dex:COIN`` are perps of a builder-deployed dex (``perpDexs``, ``meta`` with ``dex``), the rest
    are the main dex's perps (``meta``). Asset contexts carry the 24 h volume of the played candles.
    """

    def __init__(self, source: EventSource, state: MarketState, delisted: Sequence[str] = DEFAULT_DELISTED,
                 accounts: AccountBook | None = None, now_ms: Callable[[], int | None] | None = None,
                 refusal: Callable[[object], int | None] | None = None) -> None:
        self.source = source
        self.state = state
        self.delisted = tuple(delisted)
        self.accounts = accounts or AccountBook(source.universe, state.mids)
        self.now_ms = now_ms or (lambda: None)
        self.refusal = refusal or (lambda _kind: None)  # fault injection: a status to refuse a request with
        self.requests: Counter[str] = Counter()  # per request type, answered or refused (tests count them)
        self.refused: Counter[str] = Counter()

    async def handle(self, request: web.Request) -> web.Response:
        """The aiohttp handler of ``POST /info``."""
        try:
            body = orjson.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="Failed to parse the request body as JSON")
        kind = body.get("type") if isinstance(body, dict) else None
        self.requests[str(kind)] += 1
        status = self.refusal(kind)
        if status is not None:
            self.refused[str(kind)] += 1
            return web.Response(status=status, text="rate limited" if status == 429 else "server error")
        dex = body.get("dex") if isinstance(body, dict) else None
        if dex is not None and not isinstance(dex, str):
            return web.Response(status=422, text=_BAD_BODY)
        if kind == "meta":
            return json_response(self.meta(dex or ""))
        if kind == "metaAndAssetCtxs":
            meta = self.meta(dex or "")
            return json_response([meta, [self._perp_ctx(u["name"]) for u in meta["universe"]]])
        if kind == "spotMeta":
            return json_response(self.spot_meta())
        if kind == "spotMetaAndAssetCtxs":
            meta = self.spot_meta()
            return json_response([meta, [self._spot_ctx(u["name"]) for u in meta["universe"]]])
        if kind == "perpDexs":
            return json_response(perp_dexs(self._names(DEX)))
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
        if kind == "clearinghouseState":
            user = body.get("user")
            if not isinstance(user, str) or not _ADDRESS.match(user):
                return web.Response(status=422, text=_BAD_BODY)
            return json_response(self.accounts.clearinghouse_state(user, self._now(), dex or ""))
        return web.Response(status=422, text=_BAD_BODY)

    def _names(self, kind: str) -> list[str]:
        return [u["name"] for u in self.source.universe() if market_kind(u["name"]) == kind]

    def meta(self, dex: str = "") -> dict[str, Any]:
        """The ``meta`` answer: the main dex's perps plus the delisted coins it lacks, or with ``dex`` the
        perps of that builder dex (names keep their ``dex:`` prefix, as on the exchange)."""
        if dex:
            universe = [dict(u) for u in self.source.universe()
                        if market_kind(u["name"]) == DEX and u["name"].split(":", 1)[0] == dex]
            return {"universe": universe, "collateralToken": dex_collateral_index(dex)}
        universe = [dict(u) for u in self.source.universe() if market_kind(u["name"]) == PERP]
        known = {u["name"] for u in universe}
        universe += [{"name": d, "szDecimals": 1, "maxLeverage": 3, "isDelisted": True}
                     for d in self.delisted if d not in known]
        return {"universe": universe}

    def _now(self) -> int:
        """The simulated clock (the replay time the answer describes), else the start, else the wall clock."""
        now = self.now_ms()
        if now is None:
            now = self.source.start_ms
        return int(now) if now is not None else int(time.time() * 1000)

    def spot_meta(self) -> dict[str, Any]:
        """The ``spotMeta`` answer: the spot pairs of the universe and their tokens."""
        return spot_meta(self._names(SPOT))

    def _prices(self, coin: str) -> tuple[str | None, str, str]:
        notional, base = self.state.day_volume(coin)
        return self.state.mids().get(coin), decimal_string(notional), decimal_string(base)

    def _perp_ctx(self, coin: str) -> dict[str, Any]:
        mid, notional, base = self._prices(coin)
        px = mid or "0.0"
        return {"funding": "0.0000125", "openInterest": "0.0", "prevDayPx": px, "dayNtlVlm": notional,
                "premium": "0.0", "oraclePx": px, "markPx": px, "midPx": mid, "impactPxs": None,
                "dayBaseVlm": base}

    def _spot_ctx(self, coin: str) -> dict[str, Any]:
        mid, notional, base = self._prices(coin)
        px = mid or "0.0"
        return {"prevDayPx": px, "dayNtlVlm": notional, "markPx": px, "midPx": mid, "circulatingSupply": "0.0",
                "coin": coin, "totalSupply": "0.0", "dayBaseVlm": base}
