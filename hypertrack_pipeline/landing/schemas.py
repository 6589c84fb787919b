"""One pyarrow schema per landed stream: the contract between the recorder, the simulator and
the warehouse loader.

Prices and sizes are parsed from wire strings to float64 once, at the edge. Exchange times stay
in epoch milliseconds (``time``); ``recv_ns`` is the local receive time in nanoseconds (the
simulator writes its simulated clock there). Addresses are lowercase hex.
"""

from __future__ import annotations

import pyarrow as pa

TRADES = pa.schema(
    [
        pa.field("coin", pa.string(), nullable=False),
        pa.field("side", pa.string(), nullable=False),  # aggressor side: "B" buy, "A" sell
        pa.field("px", pa.float64(), nullable=False),
        pa.field("sz", pa.float64(), nullable=False),
        pa.field("time", pa.int64(), nullable=False),  # exchange ms
        pa.field("tid", pa.int64(), nullable=False),
        pa.field("hash", pa.string(), nullable=False),
        pa.field("buyer", pa.string(), nullable=False),  # users[0]
        pa.field("seller", pa.string(), nullable=False),  # users[1]
        pa.field("recv_ns", pa.int64(), nullable=False),
    ]
)

BBO = pa.schema(
    [
        pa.field("coin", pa.string(), nullable=False),
        pa.field("time", pa.int64(), nullable=False),
        pa.field("bid_px", pa.float64()),  # null when the side is empty
        pa.field("bid_sz", pa.float64()),
        pa.field("bid_n", pa.int32()),
        pa.field("ask_px", pa.float64()),
        pa.field("ask_sz", pa.float64()),
        pa.field("ask_n", pa.int32()),
        pa.field("recv_ns", pa.int64(), nullable=False),
    ]
)

# One row per snapshot; level i of a side is element i of its three lists (best first).
L2BOOK = pa.schema(
    [
        pa.field("coin", pa.string(), nullable=False),
        pa.field("time", pa.int64(), nullable=False),
        pa.field("bid_px", pa.list_(pa.float64()), nullable=False),
        pa.field("bid_sz", pa.list_(pa.float64()), nullable=False),
        pa.field("bid_n", pa.list_(pa.int32()), nullable=False),
        pa.field("ask_px", pa.list_(pa.float64()), nullable=False),
        pa.field("ask_sz", pa.list_(pa.float64()), nullable=False),
        pa.field("ask_n", pa.list_(pa.int32()), nullable=False),
        pa.field("recv_ns", pa.int64(), nullable=False),
    ]
)

# Completed 1-minute candles only (wire fields t, T, s, i, o, c, h, l, v, n).
CANDLES = pa.schema(
    [
        pa.field("coin", pa.string(), nullable=False),  # s
        pa.field("interval", pa.string(), nullable=False),  # i
        pa.field("open_time", pa.int64(), nullable=False),  # t, ms
        pa.field("close_time", pa.int64(), nullable=False),  # T, ms
        pa.field("open", pa.float64(), nullable=False),
        pa.field("high", pa.float64(), nullable=False),
        pa.field("low", pa.float64(), nullable=False),
        pa.field("close", pa.float64(), nullable=False),
        pa.field("volume", pa.float64(), nullable=False),  # base units
        pa.field("n_trades", pa.int64(), nullable=False),
        pa.field("recv_ns", pa.int64(), nullable=False),
    ]
)

EVM_BLOCKS = pa.schema(
    [
        pa.field("number", pa.int64(), nullable=False),
        pa.field("hash", pa.string(), nullable=False),
        pa.field("parent_hash", pa.string(), nullable=False),
        pa.field("time", pa.int64(), nullable=False),  # block timestamp, ms
        pa.field("miner", pa.string()),
        pa.field("gas_used", pa.int64()),
        pa.field("gas_limit", pa.int64()),
        pa.field("base_fee", pa.float64()),  # wei, float: may exceed int64
        pa.field("tx_count", pa.int32(), nullable=False),
        pa.field("recv_ns", pa.int64(), nullable=False),
    ]
)

EVM_TRANSACTIONS = pa.schema(
    [
        pa.field("hash", pa.string(), nullable=False),
        pa.field("block_number", pa.int64(), nullable=False),
        pa.field("time", pa.int64(), nullable=False),  # block timestamp, ms
        pa.field("tx_index", pa.int32(), nullable=False),
        pa.field("from_address", pa.string(), nullable=False),
        pa.field("to_address", pa.string()),  # null for contract creation
        pa.field("value", pa.float64(), nullable=False),  # native token, scaled by 1e18
        pa.field("gas", pa.int64()),
        pa.field("gas_price", pa.float64()),  # wei
        pa.field("nonce", pa.int64()),
        pa.field("input_size", pa.int32(), nullable=False),  # bytes of calldata
        pa.field("method_id", pa.string()),  # first 4 bytes of calldata as 0x…, null if none
        pa.field("recv_ns", pa.int64(), nullable=False),
    ]
)

EVM_TOKEN_TRANSFERS = pa.schema(
    [
        pa.field("block_number", pa.int64(), nullable=False),
        pa.field("time", pa.int64(), nullable=False),  # block timestamp, ms
        pa.field("tx_hash", pa.string(), nullable=False),
        pa.field("log_index", pa.int32(), nullable=False),
        pa.field("token", pa.string(), nullable=False),  # ERC-20 contract address
        pa.field("from_address", pa.string(), nullable=False),
        pa.field("to_address", pa.string(), nullable=False),
        pa.field("amount_raw", pa.string(), nullable=False),  # uint256 as decimal text
        pa.field("decimals", pa.int32(), nullable=False),  # 18 when unknown
        pa.field("amount", pa.float64(), nullable=False),  # amount_raw / 10**decimals
        pa.field("recv_ns", pa.int64(), nullable=False),
    ]
)

# Disconnects and other holes in a stream: downstream knows what is missing.
GAPS = pa.schema(
    [
        pa.field("stream", pa.string(), nullable=False),
        pa.field("coin", pa.string()),  # null when the whole stream/connection was affected
        pa.field("start_ms", pa.int64(), nullable=False),
        pa.field("end_ms", pa.int64(), nullable=False),
        pa.field("cause", pa.string(), nullable=False),
    ]
)

STREAM_SCHEMAS: dict[str, pa.Schema] = {
    "trades": TRADES,
    "bbo": BBO,
    "l2book": L2BOOK,
    "candles": CANDLES,
    "evm_blocks": EVM_BLOCKS,
    "evm_transactions": EVM_TRANSACTIONS,
    "evm_token_transfers": EVM_TOKEN_TRANSFERS,
    "gaps": GAPS,
}

# The time column each stream is partitioned by (UTC hour of this value, epoch ms).
PARTITION_TIME_COLUMN: dict[str, str] = {
    "trades": "time",
    "bbo": "time",
    "l2book": "time",
    "candles": "open_time",
    "evm_blocks": "time",
    "evm_transactions": "time",
    "evm_token_transfers": "time",
    "gaps": "start_ms",
}

# User-facing stream groups (the prototype's RECORD_* flags) → landed streams.
STREAM_GROUPS: dict[str, tuple[str, ...]] = {
    "trades": ("trades",),
    "bbo": ("bbo",),
    "l2book": ("l2book",),
    "candles": ("candles",),
    "evm": ("evm_blocks", "evm_transactions", "evm_token_transfers"),
}
