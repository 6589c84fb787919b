"""The Info REST endpoint (``POST /info``): the markets (perps, spot pairs, builder-dex perps, with
their 24 h volumes), candle snapshots and a wallet's perp account state (``clearinghouseState``).

Requests are weighted against Hyperliquid's 1200-per-minute budget by a token bucket. A
network failure becomes a :class:`UserError` with the (masked) URL, never a traceback.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import orjson

from hypertrack_pipeline.config import mask_url
from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.hyperliquid.pacing import TokenBucket

# Request weights (Hyperliquid docs, "Rate limits": l2Book, allMids, clearinghouseState, orderStatus,
# spotClearinghouseState and exchangeStatus weigh 2, userRole 60, every other documented info request 20;
# candleSnapshot adds 1 per 60 candles returned, the user-history requests 1 per 20 items).
WEIGHTS = {"meta": 20, "metaAndAssetCtxs": 20, "spotMeta": 20, "spotMetaAndAssetCtxs": 20, "perpDexs": 20,
           "candleSnapshot": 20, "allMids": 2, "l2Book": 2, "clearinghouseState": 2, "orderStatus": 2,
           "spotClearinghouseState": 2, "exchangeStatus": 2, "userRole": 60}
DEFAULT_WEIGHT = 20
EXTRA_PER_ITEMS = {"candleSnapshot": 60, "userFills": 20, "userFillsByTime": 20, "recentTrades": 20,
                   "historicalOrders": 20, "fundingHistory": 20, "userFunding": 20}


class InfoHTTPError(UserError):
    """The Info endpoint answered an HTTP error status. ``status`` lets a poller tell a rate limit (429) or a
    server fault (5xx), which it backs off from and retries, from a refused request (4xx), which it does not
    repeat; ``retry_after_s`` is the server's ``Retry-After`` when it sent one."""

    def __init__(self, message: str, status: int, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    raw = exc.headers.get("Retry-After") if exc.headers is not None else None
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None  # an HTTP date: rare, and the caller's own backoff applies


class InfoClient:
    """Small blocking client; one instance per process so the weight budget is shared."""

    def __init__(self, url: str, timeout_s: float = 10.0, weight_per_min: float = 1000.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.bucket = TokenBucket(weight_per_min, burst=200)

    def post(self, payload: dict[str, Any]) -> Any:
        kind = str(payload.get("type"))
        self.bucket.take(WEIGHTS.get(kind, DEFAULT_WEIGHT))
        req = urllib.request.Request(
            self.url, data=orjson.dumps(payload), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            raise InfoHTTPError(f"info endpoint {mask_url(self.url)} answered HTTP {exc.code}", exc.code,
                                _retry_after(exc)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise UserError(f"cannot reach info endpoint {mask_url(self.url)}: {reason}") from None
        try:
            out = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise UserError(f"info endpoint {mask_url(self.url)} did not answer JSON") from None
        per = EXTRA_PER_ITEMS.get(kind)
        if per and isinstance(out, list) and len(out) >= per:
            self.bucket.take(len(out) // per)  # the extra weight of a long answer, paid after it
        return out

    def perp_coins(self, dex: str = "") -> list[str]:
        """Every listed perp coin of ``meta`` (``universe[].name``), skipping delisted ones; with ``dex``
        the perps of that builder-deployed dex (named ``dex:COIN``)."""
        meta = self.post({"type": "meta", "dex": dex} if dex else {"type": "meta"})
        return _listed(meta, f"meta{'(' + dex + ')' if dex else ''}", self.url)

    def spot_pairs(self) -> list[str]:
        """The spot pairs of ``spotMeta`` by their wire name (``PURR/USDC``, ``@107``)."""
        return _listed(self.post({"type": "spotMeta"}), "spotMeta", self.url)

    def perp_dexs(self) -> list[str]:
        """The builder-deployed perp dexes of ``perpDexs`` (the first entry, null, is the main dex)."""
        out = self.post({"type": "perpDexs"})
        if not isinstance(out, list):
            raise UserError(f"info endpoint {mask_url(self.url)}: perpDexs is not a list")
        return [d["name"] for d in out if isinstance(d, dict) and isinstance(d.get("name"), str) and d["name"]]

    def day_volumes(self, kind: str, dex: str = "") -> dict[str, float]:
        """24 h notional volume (``dayNtlVlm``) per coin: ``kind`` perp (``metaAndAssetCtxs``, with ``dex``
        for a builder dex) or spot (``spotMetaAndAssetCtxs``)."""
        payload: dict[str, Any] = {"type": "spotMetaAndAssetCtxs" if kind == "spot" else "metaAndAssetCtxs"}
        if dex:
            payload["dex"] = dex
        out = self.post(payload)
        if not (isinstance(out, list) and len(out) == 2 and isinstance(out[0], dict) and isinstance(out[1], list)):
            raise UserError(f"info endpoint {mask_url(self.url)}: {payload['type']} is not [meta, contexts]")
        volumes: dict[str, float] = {}
        for u, ctx in zip(out[0].get("universe") or [], out[1], strict=False):
            try:
                volumes[u["name"]] = float(ctx.get("dayNtlVlm") or 0.0)
            except (TypeError, KeyError, ValueError, AttributeError):
                continue
        return volumes

    def clearinghouse_state(self, user: str, dex: str = "") -> Any:
        """The perp account summary of ``user`` (weight 2): margin summaries, withdrawable, open positions and
        the exchange ``time``; with ``dex`` that builder dex's clearinghouse."""
        payload: dict[str, Any] = {"type": "clearinghouseState", "user": user}
        if dex:
            payload["dex"] = dex
        return self.post(payload)

    def candle_snapshot(self, coin: str, interval: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """Candles of ``coin`` opening in [start_ms, end_ms] (the last 5000 at most)."""
        out = self.post(
            {
                "type": "candleSnapshot",
                "req": {"coin": coin, "interval": interval, "startTime": start_ms, "endTime": end_ms},
            }
        )
        return out if isinstance(out, list) else []


def _listed(meta: Any, what: str, url: str) -> list[str]:
    universe = meta.get("universe") if isinstance(meta, dict) else None
    if not isinstance(universe, list):
        raise UserError(f"info endpoint {mask_url(url)}: {what} has no universe")
    return [
        u["name"]
        for u in universe
        if isinstance(u, dict) and isinstance(u.get("name"), str) and not u.get("isDelisted")
    ]
