"""The market simulator: a seeded agent-based Hyperliquid-like market (perps, spot pairs and builder-dex
perps), its landing-zone and node-archive writers, its ground truth and (in ``server``) a local
WebSocket server speaking the exchange's protocol.

Names are loaded lazily so that importing a command module of this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypertrack_pipeline.simulator.market import (
        Market,
        MarketChunk,
        SimConfig,
        coin_universe,
        iter_market,
    )
    from hypertrack_pipeline.simulator.writer import SimSummary, simulate

_EXPORTS = {
    "SimConfig": "market",
    "MarketChunk": "market",
    "iter_market": "market",
    "coin_universe": "market",
    "Market": "market",
    "simulate": "writer",
    "SimSummary": "writer",
}
__all__ = ["Market", "MarketChunk", "SimConfig", "SimSummary", "coin_universe", "iter_market", "simulate"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        module = importlib.import_module(f"hypertrack_pipeline.simulator.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(name)
