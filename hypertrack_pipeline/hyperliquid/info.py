"""The Info REST endpoint (``POST /info``): coin universe and candle snapshots.

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

# Request weights (Hyperliquid docs: most info requests 20, a few light ones 2).
WEIGHTS = {"meta": 20, "spotMeta": 20, "candleSnapshot": 20, "allMids": 2, "l2Book": 2}


class InfoClient:
    """Small blocking client; one instance per process so the weight budget is shared."""

    def __init__(self, url: str, timeout_s: float = 10.0, weight_per_min: float = 1000.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.bucket = TokenBucket(weight_per_min, burst=200)

    def post(self, payload: dict[str, Any]) -> Any:
        self.bucket.take(WEIGHTS.get(str(payload.get("type")), 20))
        req = urllib.request.Request(
            self.url, data=orjson.dumps(payload), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            raise UserError(f"info endpoint {mask_url(self.url)} answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise UserError(f"cannot reach info endpoint {mask_url(self.url)}: {reason}") from None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise UserError(f"info endpoint {mask_url(self.url)} did not answer JSON") from None

    def perp_coins(self) -> list[str]:
        """Every listed perp coin of ``meta`` (``universe[].name``), skipping delisted ones."""
        meta = self.post({"type": "meta"})
        universe = meta.get("universe") if isinstance(meta, dict) else None
        if not isinstance(universe, list):
            raise UserError(f"info endpoint {mask_url(self.url)}: meta has no universe")
        return [
            u["name"]
            for u in universe
            if isinstance(u, dict) and isinstance(u.get("name"), str) and not u.get("isDelisted")
        ]

    def candle_snapshot(self, coin: str, interval: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """Candles of ``coin`` opening in [start_ms, end_ms] (the last 5000 at most)."""
        out = self.post(
            {
                "type": "candleSnapshot",
                "req": {"coin": coin, "interval": interval, "startTime": start_ms, "endTime": end_ms},
            }
        )
        return out if isinstance(out, list) else []
