"""A local Hyperliquid look-alike: WebSocket streams, the Info endpoint and HyperEVM JSON-RPC.

One aiohttp app on one port: WebSocket at ``/`` and ``/ws`` (greeting, subscribe/unsubscribe
acks, ping/pong, the idle close, the ``trades``/``bbo``/``l2Book``/``candle`` channels),
``POST /info`` (``meta`` with an optional ``dex``, ``metaAndAssetCtxs``, ``spotMeta``,
``spotMetaAndAssetCtxs``, ``perpDexs``, ``candleSnapshot``, ``l2Book``, ``allMids``,
``clearinghouseState``) and ``POST /evm``
(JSON-RPC over the simulated HyperEVM tables, enough for web3.py's HTTPProvider).

A simulated clock maps wall time to market time with a speed factor (0 = as fast as possible);
an event is released when its time is due. Frames are pre-serialized by a producer thread
(:mod:`~hypertrack_pipeline.simulator.wire`) so the send loop only copies bytes. Faults are
injected on request (:meth:`SimServer.inject`) or on a schedule, to test the recorder's recovery.

One module per responsibility, :class:`SimServer` (``app``) wiring them:

- ``source``: what is played (:class:`TableSource`, :func:`market_source`)
- ``clock``: the simulated clock (:class:`SimClock`)
- ``pump``: plays events on the clock and fans them out (:class:`MarketPump`)
- ``sessions``: WebSocket sessions (:class:`Sessions`)
- ``snapshots``: what follows a subscribe ack (:class:`RecentTrades`, :class:`SubscribeSnapshots`)
- ``faults``: fault injection (:class:`FaultInjector`)
- ``state``: candles, books, quotes and EVM blocks kept (:class:`MarketState`, :class:`EvmChain`)
- ``accounts``: each wallet's perp account from the trades played (:class:`AccountBook`)
- ``sentlog``: what was sent (:class:`SentLog`)
- ``info``: ``POST /info`` (:class:`InfoEndpoint`); ``rpc``: ``POST /evm`` (:class:`EvmRpc`)
"""

from __future__ import annotations

from hypertrack_pipeline.simulator.server.accounts import AccountBook
from hypertrack_pipeline.simulator.server.app import SimServer
from hypertrack_pipeline.simulator.server.clock import SimClock
from hypertrack_pipeline.simulator.server.faults import FAULT_KINDS, FaultInjector
from hypertrack_pipeline.simulator.server.info import DEFAULT_DELISTED, InfoEndpoint
from hypertrack_pipeline.simulator.server.pump import MarketPump
from hypertrack_pipeline.simulator.server.rpc import CHAIN_ID, EvmRpc
from hypertrack_pipeline.simulator.server.sentlog import SentLog
from hypertrack_pipeline.simulator.server.sessions import CHANNELS, GREETING, Sessions
from hypertrack_pipeline.simulator.server.snapshots import RecentTrades, SubscribeSnapshots
from hypertrack_pipeline.simulator.server.source import EventSource, TableSource, market_source, shift_times
from hypertrack_pipeline.simulator.server.state import EvmChain, MarketState

__all__ = [
    "CHAIN_ID", "CHANNELS", "AccountBook", "DEFAULT_DELISTED", "FAULT_KINDS", "GREETING", "EventSource", "EvmChain", "EvmRpc",
    "FaultInjector", "InfoEndpoint", "MarketPump", "MarketState", "RecentTrades", "SentLog", "Sessions",
    "SimClock", "SimServer", "SubscribeSnapshots", "TableSource", "market_source", "shift_times",
]
