"""The registry of landed datasets: each stream defined once (cryo's style).

An entry holds everything the stages need to agree on: the stream name (landing folder), the user
stream group (``--streams``, the prototype's RECORD_* flags), the pyarrow landing schema, the column
whose UTC hour partitions the landing zone, the key that identifies a row across reconnect overlaps,
the DuckDB table (columns with their SQL expression over the landed columns, type and meaning) and a
description. The recorder and the simulator write the landing schema, the loader builds its
``INSERT … SELECT`` and DDL from the table, the data dictionary and the Dagster raw assets read it.

Prices and sizes are parsed from wire strings to float64 once, at the edge. Exchange times stay in
epoch milliseconds in the landing zone (``time``); ``recv_ns`` is the local receive time in
nanoseconds (the simulator writes its simulated clock there). Addresses are lowercase hex.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from hypertrack_pipeline.catalog import Column, Table

# The landing partition of a row, from its part's hive folders (date=YYYY-MM-DD/hour=HH).
HOUR_EXPR = "(date::TIMESTAMP + to_hours(hour))"
_HOUR = Column("hour", "TIMESTAMP NOT NULL", "landing partition: UTC hour the row was loaded from", HOUR_EXPR)
_COIN = Column("coin", "VARCHAR NOT NULL", "market, e.g. BTC (spot: @107 or PURR/USDC)", "coin")
_TIME_MS = Column("time_ms", "BIGINT NOT NULL", "exchange time, epoch ms (UTC)", "time")
_TS = Column("ts", "TIMESTAMP NOT NULL", "time_ms as TIMESTAMP (UTC)", "epoch_ms(time)")


@dataclass(frozen=True)
class Dataset:
    """One landed stream and the warehouse table it loads into."""

    name: str  # landing folder: <raw>/<name>/date=…/hour=…
    group: str  # user-facing stream group (--streams, RECORD_<GROUP>)
    landing: pa.Schema
    time_column: str  # epoch-ms column whose UTC hour is the landing partition
    table: Table
    key: tuple[str, ...] = ()  # landed columns identifying a row (deduplicated on load)
    keep_latest_by: str = ""  # among duplicates keep the first by this ORDER BY (default: any)

    @property
    def select_sql(self) -> str:
        """The loader's SELECT list over the landed Parquet (plus the hive columns date, hour)."""
        return ", ".join(c.expr or c.name for c in self.table.columns)


def _f(name: str, typ: pa.DataType, nullable: bool = True) -> pa.Field:
    return pa.field(name, typ, nullable=nullable)


TRADES = Dataset(
    name="trades", group="trades", time_column="time", key=("coin", "time", "tid"),
    landing=pa.schema([
        _f("coin", pa.string(), False), _f("side", pa.string(), False), _f("px", pa.float64(), False),
        _f("sz", pa.float64(), False), _f("time", pa.int64(), False), _f("tid", pa.int64(), False),
        _f("hash", pa.string(), False), _f("buyer", pa.string(), False), _f("seller", pa.string(), False),
        _f("recv_ns", pa.int64(), False),
    ]),
    table=Table("trades", "Hyperliquid trades, deduplicated on (coin, time_ms, tid) across reconnect overlaps.", (
        _COIN,
        Column("side", "VARCHAR NOT NULL", "aggressor side: B = buyer took, A = seller took", "side"),
        Column("px", "DOUBLE NOT NULL", "price, USD", "px"),
        Column("sz", "DOUBLE NOT NULL", "size, base units", "sz"),
        Column("notional", "DOUBLE NOT NULL", "px * sz, USD", "px * sz"),
        _TIME_MS, _TS,
        Column("tid", "BIGINT NOT NULL", "trade id; (coin, time_ms, tid) is unique", "tid"),
        Column("hash", "VARCHAR NOT NULL USING COMPRESSION uncompressed",
               "L1 hash (64 zeros for TWAP fills)", "hash"),
        Column("buyer", "VARCHAR NOT NULL", "users[0]: the buying wallet", "buyer"),
        Column("seller", "VARCHAR NOT NULL", "users[1]: the selling wallet", "seller"),
        _HOUR,
    )),
)

FILLS_VIEW = Table(
    "fills",
    "One row per wallet per trade: the buyer's and the seller's side of every trade. A view over trades, "
    "so it is stored once and always matches trades (loading writes half the rows a table would need).",
    (
        Column("wallet", "VARCHAR", "the trading wallet"),
        Column("coin", "VARCHAR", "market, e.g. BTC"),
        Column("time_ms", "BIGINT", "exchange time, epoch ms (UTC)"),
        Column("ts", "TIMESTAMP", "time_ms as TIMESTAMP (UTC)"),
        Column("tid", "BIGINT", "trade id"),
        Column("side", "VARCHAR", "the wallet's side: B = bought, S = sold"),
        Column("side_sign", "INTEGER", "+1 bought, -1 sold"),
        Column("is_maker", "BOOLEAN", "true when the wallet's order was resting (not the aggressor)"),
        Column("px", "DOUBLE", "price, USD"),
        Column("sz", "DOUBLE", "size, base units"),
        Column("notional", "DOUBLE", "px * sz, USD"),
        Column("counterparty", "VARCHAR", "the other user of the trade (the wallet itself for a self-trade)"),
        Column("hour", "TIMESTAMP", "landing partition: UTC hour the row was loaded from"),
    ),
    view_sql="""
SELECT buyer AS wallet, coin, time_ms, ts, tid, 'B' AS side, 1 AS side_sign, side = 'A' AS is_maker,
       px, sz, notional, seller AS counterparty, hour
FROM trades
UNION ALL
SELECT seller, coin, time_ms, ts, tid, 'S', -1, side = 'B', px, sz, notional, buyer, hour FROM trades""",
)

BBO = Dataset(
    name="bbo", group="bbo", time_column="time",
    landing=pa.schema([
        _f("coin", pa.string(), False), _f("time", pa.int64(), False), _f("bid_px", pa.float64()),
        _f("bid_sz", pa.float64()), _f("bid_n", pa.int32()), _f("ask_px", pa.float64()),
        _f("ask_sz", pa.float64()), _f("ask_n", pa.int32()), _f("recv_ns", pa.int64(), False),
    ]),
    table=Table("bbo", "Best bid and offer updates.", (
        _COIN, _TIME_MS, _TS,
        Column("bid_px", "DOUBLE", "best bid price, USD (null when the side is empty)", "bid_px"),
        Column("bid_sz", "DOUBLE", "size at the bid, base units", "bid_sz"),
        Column("bid_n", "INTEGER", "orders at the level", "bid_n"),
        Column("ask_px", "DOUBLE", "best ask price, USD (null when the side is empty)", "ask_px"),
        Column("ask_sz", "DOUBLE", "size at the ask, base units", "ask_sz"),
        Column("ask_n", "INTEGER", "orders at the level", "ask_n"),
        Column("mid", "DOUBLE", "(bid_px + ask_px) / 2, null if a side is empty", "(bid_px + ask_px) / 2"),
        _HOUR,
    )),
)

_LEVELS = pa.list_(pa.float64())
L2BOOK = Dataset(
    name="l2book", group="l2book", time_column="time",
    landing=pa.schema([
        _f("coin", pa.string(), False), _f("time", pa.int64(), False), _f("bid_px", _LEVELS, False),
        _f("bid_sz", _LEVELS, False), _f("bid_n", pa.list_(pa.int32()), False), _f("ask_px", _LEVELS, False),
        _f("ask_sz", _LEVELS, False), _f("ask_n", pa.list_(pa.int32()), False), _f("recv_ns", pa.int64(), False),
    ]),
    table=Table("l2_snapshots", "L2 book snapshots, element i of each list = level i of that side, best first.", (
        _COIN, _TIME_MS, _TS,
        Column("bid_px", "DOUBLE[] NOT NULL", "bid prices per level, best first, USD", "bid_px"),
        Column("bid_sz", "DOUBLE[] NOT NULL", "bid sizes per level, base units", "bid_sz"),
        Column("bid_n", "INTEGER[] NOT NULL", "orders per bid level", "bid_n"),
        Column("ask_px", "DOUBLE[] NOT NULL", "ask prices per level, best first, USD", "ask_px"),
        Column("ask_sz", "DOUBLE[] NOT NULL", "ask sizes per level, base units", "ask_sz"),
        Column("ask_n", "INTEGER[] NOT NULL", "orders per ask level", "ask_n"),
        Column("mid", "DOUBLE", "mid of the best levels, null if a side is empty",
               "CASE WHEN len(bid_px) > 0 AND len(ask_px) > 0 THEN (bid_px[1] + ask_px[1]) / 2 END"),
        _HOUR,
    )),
)

CANDLES = Dataset(
    name="candles", group="candles", time_column="open_time", key=("coin", "interval", "open_time"),
    keep_latest_by="recv_ns DESC",
    landing=pa.schema([
        _f("coin", pa.string(), False), _f("interval", pa.string(), False), _f("open_time", pa.int64(), False),
        _f("close_time", pa.int64(), False), _f("open", pa.float64(), False), _f("high", pa.float64(), False),
        _f("low", pa.float64(), False), _f("close", pa.float64(), False), _f("volume", pa.float64(), False),
        _f("n_trades", pa.int64(), False), _f("recv_ns", pa.int64(), False),
    ]),
    table=Table("candles", "Completed candles (1m), deduplicated on (coin, interval, open_time_ms).", (
        _COIN,
        Column("interval", "VARCHAR NOT NULL", "1m", "interval"),
        Column("open_time_ms", "BIGINT NOT NULL", "candle open time, epoch ms", "open_time"),
        Column("close_time_ms", "BIGINT NOT NULL", "candle close time, epoch ms", "close_time"),
        Column("ts", "TIMESTAMP NOT NULL", "open time", "epoch_ms(open_time)"),
        Column("open", "DOUBLE NOT NULL", "first trade price of the minute", "open"),
        Column("high", "DOUBLE NOT NULL", "highest trade price", "high"),
        Column("low", "DOUBLE NOT NULL", "lowest trade price", "low"),
        Column("close", "DOUBLE NOT NULL", "last trade price", "close"),
        Column("volume", "DOUBLE NOT NULL", "base units", "volume"),
        Column("n_trades", "BIGINT NOT NULL", "trades in the candle", "n_trades"),
        _HOUR,
    )),
)

EVM_BLOCKS = Dataset(
    name="evm_blocks", group="evm", time_column="time", key=("number",),
    landing=pa.schema([
        _f("number", pa.int64(), False), _f("hash", pa.string(), False), _f("parent_hash", pa.string(), False),
        _f("time", pa.int64(), False), _f("miner", pa.string()), _f("gas_used", pa.int64()),
        _f("gas_limit", pa.int64()), _f("base_fee", pa.float64()), _f("tx_count", pa.int32(), False),
        _f("recv_ns", pa.int64(), False),
    ]),
    table=Table("evm_blocks", "HyperEVM blocks.", (
        Column("number", "BIGINT NOT NULL", "block number", "number"),
        Column("hash", "VARCHAR NOT NULL USING COMPRESSION uncompressed", "block hash, 0x hex", "hash"),
        Column("parent_hash", "VARCHAR NOT NULL USING COMPRESSION uncompressed", "parent block hash", "parent_hash"),
        Column("time_ms", "BIGINT NOT NULL", "block timestamp, epoch ms", "time"),
        _TS,
        Column("miner", "VARCHAR", "block producer", "miner"),
        Column("gas_used", "BIGINT", "gas used", "gas_used"),
        Column("gas_limit", "BIGINT", "gas limit", "gas_limit"),
        Column("base_fee", "DOUBLE", "base fee, wei (float: may exceed int64)", "base_fee"),
        Column("tx_count", "INTEGER NOT NULL", "transactions in the block", "tx_count"),
        _HOUR,
    )),
)

EVM_TRANSACTIONS = Dataset(
    name="evm_transactions", group="evm", time_column="time", key=("hash",),
    landing=pa.schema([
        _f("hash", pa.string(), False), _f("block_number", pa.int64(), False), _f("time", pa.int64(), False),
        _f("tx_index", pa.int32(), False), _f("from_address", pa.string(), False), _f("to_address", pa.string()),
        _f("value", pa.float64(), False), _f("gas", pa.int64()), _f("gas_price", pa.float64()),
        _f("nonce", pa.int64()), _f("input_size", pa.int32(), False), _f("method_id", pa.string()),
        _f("recv_ns", pa.int64(), False),
    ]),
    table=Table("evm_transactions", "HyperEVM transactions.", (
        Column("hash", "VARCHAR NOT NULL", "transaction hash, 0x hex", "hash"),
        Column("block_number", "BIGINT NOT NULL", "block number", "block_number"),
        Column("time_ms", "BIGINT NOT NULL", "block timestamp, epoch ms", "time"),
        _TS,
        Column("tx_index", "INTEGER NOT NULL", "position in the block", "tx_index"),
        Column("from_address", "VARCHAR NOT NULL", "sender", "from_address"),
        Column("to_address", "VARCHAR", "receiver, null for contract creation", "to_address"),
        Column("value", "DOUBLE NOT NULL", "native token (HYPE), scaled by 1e18", "value"),
        Column("gas", "BIGINT", "gas limit of the transaction", "gas"),
        Column("gas_price", "DOUBLE", "wei", "gas_price"),
        Column("nonce", "BIGINT", "sender nonce", "nonce"),
        Column("input_size", "INTEGER NOT NULL", "bytes of calldata (0 = plain transfer)", "input_size"),
        Column("method_id", "VARCHAR", "first 4 bytes of calldata, null if none", "method_id"),
        _HOUR,
    )),
)

EVM_TOKEN_TRANSFERS = Dataset(
    name="evm_token_transfers", group="evm", time_column="time", key=("tx_hash", "log_index"),
    landing=pa.schema([
        _f("block_number", pa.int64(), False), _f("time", pa.int64(), False), _f("tx_hash", pa.string(), False),
        _f("log_index", pa.int32(), False), _f("token", pa.string(), False), _f("from_address", pa.string(), False),
        _f("to_address", pa.string(), False), _f("amount_raw", pa.string(), False), _f("decimals", pa.int32(), False),
        _f("amount", pa.float64(), False), _f("recv_ns", pa.int64(), False),
    ]),
    table=Table("evm_token_transfers", "ERC-20 Transfer logs.", (
        Column("block_number", "BIGINT NOT NULL", "block number", "block_number"),
        Column("time_ms", "BIGINT NOT NULL", "block timestamp, epoch ms", "time"),
        _TS,
        Column("tx_hash", "VARCHAR NOT NULL", "transaction hash", "tx_hash"),
        Column("log_index", "INTEGER NOT NULL", "log position in the block", "log_index"),
        Column("token", "VARCHAR NOT NULL", "ERC-20 contract", "token"),
        Column("from_address", "VARCHAR NOT NULL", "sender", "from_address"),
        Column("to_address", "VARCHAR NOT NULL", "receiver", "to_address"),
        Column("amount_raw", "VARCHAR NOT NULL", "uint256 as decimal text", "amount_raw"),
        Column("decimals", "INTEGER NOT NULL", "token decimals, 18 when unknown", "decimals"),
        Column("amount", "DOUBLE NOT NULL", "amount_raw / 10^decimals", "amount"),
        _HOUR,
    )),
)

GAPS = Dataset(
    name="gaps", group="gaps", time_column="start_ms",
    landing=pa.schema([
        _f("stream", pa.string(), False), _f("coin", pa.string()), _f("start_ms", pa.int64(), False),
        _f("end_ms", pa.int64(), False), _f("cause", pa.string(), False),
    ]),
    table=Table("gaps", "Holes in the recorded streams (disconnects, stalls, late rows).", (
        Column("stream", "VARCHAR NOT NULL", "landed stream", "stream"),
        Column("coin", "VARCHAR", "null when the whole stream was affected", "coin"),
        Column("start_ms", "BIGINT NOT NULL", "gap start, epoch ms", "start_ms"),
        Column("end_ms", "BIGINT NOT NULL", "gap end, epoch ms", "end_ms"),
        Column("cause", "VARCHAR NOT NULL", "why data is missing (disconnect, stall, ...)", "cause"),
        _HOUR,
    )),
)

_S, _F64, _I64 = pa.string(), pa.float64(), pa.int64()
EXCHANGE_FILLS = Dataset(
    name="exchange_fills", group="archive", time_column="time", key=("coin", "time", "tid", "wallet", "side", "oid"),
    landing=pa.schema([
        _f("wallet", _S, False), _f("coin", _S, False), _f("px", _F64, False), _f("sz", _F64, False),
        _f("side", _S, False), _f("time", _I64, False), _f("start_position", _F64, False), _f("dir", _S),
        _f("closed_pnl", _F64), _f("hash", _S, False), _f("oid", _I64, False), _f("crossed", pa.bool_(), False),
        _f("fee", _F64), _f("tid", _I64, False), _f("fee_token", _S), _f("twap_id", _I64), _f("cloid", _S),
        _f("builder", _S), _f("builder_fee", _F64), _f("liquidated_user", _S), _f("liquidation_mark_px", _F64),
        _f("liquidation_method", _S), _f("block_number", _I64), _f("recv_ns", _I64, False), _f("seq", _I64),
    ]),
    table=Table("exchange_fills", "Fills from Hyperliquid's node archives (`hypertrack backfill`): one row per wallet "
                "per fill with the exchange's own start position, closed PnL and fee; deduplicated on "
                "(coin, time_ms, tid, wallet, side, oid). Trades are rebuilt from their two fills into trades.", (
        Column("wallet", "VARCHAR NOT NULL", "the fill's user, lowercase hex", "wallet"),
        _COIN,
        Column("px", "DOUBLE NOT NULL", "price, USD", "px"),
        Column("sz", "DOUBLE NOT NULL", "size, base units", "sz"),
        Column("side", "VARCHAR NOT NULL", "the wallet's side: B bought, A sold", "side"),
        _TIME_MS, _TS,
        Column("start_position", "DOUBLE NOT NULL", "the wallet's position in the coin before the fill", "start_position"),
        Column("dir", "VARCHAR", "Open Long, Close Short, Buy, Spot Dust Conversion, … (null from node_trades)", "dir"),
        Column("closed_pnl", "DOUBLE", "PnL the exchange realized on the fill, USD, before fees", "closed_pnl"),
        Column("hash", "VARCHAR NOT NULL USING COMPRESSION uncompressed", "L1 hash (zeros for TWAP and dust)", "hash"),
        Column("oid", "BIGINT NOT NULL", "order id", "oid"),
        Column("crossed", "BOOLEAN NOT NULL", "true for the taker", "crossed"),
        Column("fee", "DOUBLE", "fee in fee_token; negative = maker rebate", "fee"),
        Column("tid", "BIGINT NOT NULL", "trade id (0 for dust conversions, which are not trades)", "tid"),
        Column("fee_token", "VARCHAR", "USDC, USDT0, HYPE, …", "fee_token"),
        Column("twap_id", "BIGINT", "TWAP order id, null when not a TWAP slice", "twap_id"),
        Column("cloid", "VARCHAR", "client order id, when set", "cloid"),
        Column("builder", "VARCHAR", "builder address, when the order was routed by one", "builder"),
        Column("builder_fee", "DOUBLE", "fee paid to the builder", "builder_fee"),
        Column("liquidated_user", "VARCHAR", "set on liquidation fills: the liquidated wallet", "liquidated_user"),
        Column("liquidation_mark_px", "DOUBLE", "mark price of the liquidation", "liquidation_mark_px"),
        Column("liquidation_method", "VARCHAR", "market / backstop", "liquidation_method"),
        Column("block_number", "BIGINT", "L1 block (node_fills_by_block only)", "block_number"),
        Column("seq", "BIGINT", "exchange order of the fill: archive file hour (hours since 1970) × 2^32 + line "
               "position in the file; orders fills of one millisecond (trade ids are not monotonic)", "seq"),
        _HOUR,
    )),
)

# Account state (`--streams …,account`): Info ``clearinghouseState`` polled for the tracked wallets. Sizes and
# money are parsed from the wire's decimal strings once, here at the edge; ``time`` is the exchange's own
# ``time`` of the answer (epoch ms), so a poll lands in the hour the exchange says it describes.
ACCOUNT_STATE = Dataset(
    name="account_state", group="account", time_column="time", key=("wallet", "time"),
    landing=pa.schema([
        _f("wallet", _S, False), _f("time", _I64, False), _f("account_value", _F64, False),
        _f("total_ntl_pos", _F64, False), _f("total_raw_usd", _F64), _f("total_margin_used", _F64, False),
        _f("maintenance_margin", _F64), _f("withdrawable", _F64, False), _f("positions", pa.int32(), False),
        _f("recv_ns", _I64, False),
    ]),
    table=Table("account_state", "Perp account state of the tracked wallets (Info clearinghouseState, polled by the "
                "recorder): one row per wallet per poll; deduplicated on (wallet, time_ms).", (
        Column("wallet", "VARCHAR NOT NULL", "address, lowercase hex", "wallet"),
        Column("time_ms", "BIGINT NOT NULL", "exchange time of the answer, epoch ms (UTC)", "time"),
        _TS,
        Column("account_value", "DOUBLE NOT NULL", "equity: marginSummary.accountValue, USD", "account_value"),
        Column("total_ntl_pos", "DOUBLE NOT NULL", "sum of |position| × mark over open positions, USD", "total_ntl_pos"),
        Column("total_raw_usd", "DOUBLE", "USD balance before position value (marginSummary.totalRawUsd)",
               "total_raw_usd"),
        Column("total_margin_used", "DOUBLE NOT NULL", "initial margin held by the positions, USD", "total_margin_used"),
        Column("maintenance_margin", "DOUBLE", "crossMaintenanceMarginUsed, USD (null when not sent)",
               "maintenance_margin"),
        Column("withdrawable", "DOUBLE NOT NULL", "USD the wallet could withdraw now", "withdrawable"),
        Column("positions", "INTEGER NOT NULL", "open positions in the answer (rows in account_positions)", "positions"),
        _HOUR,
    )),
)

ACCOUNT_POSITIONS = Dataset(
    name="account_positions", group="account", time_column="time", key=("wallet", "time", "coin"),
    landing=pa.schema([
        _f("wallet", _S, False), _f("time", _I64, False), _f("coin", _S, False), _f("size", _F64, False),
        _f("entry_px", _F64), _f("position_value", _F64, False), _f("unrealized_pnl", _F64, False),
        _f("return_on_equity", _F64), _f("leverage", _F64), _f("leverage_type", _S), _f("liquidation_px", _F64),
        _f("margin_used", _F64, False), _f("max_leverage", pa.int32()), _f("cum_funding", _F64),
        _f("recv_ns", _I64, False),
    ]),
    table=Table("account_positions", "Open perp positions of the tracked wallets as the exchange reports them "
                "(clearinghouseState assetPositions): one row per wallet, poll and coin; deduplicated on "
                "(wallet, time_ms, coin).", (
        Column("wallet", "VARCHAR NOT NULL", "address, lowercase hex", "wallet"),
        _COIN,
        Column("time_ms", "BIGINT NOT NULL", "exchange time of the answer, epoch ms (UTC)", "time"),
        _TS,
        Column("size", "DOUBLE NOT NULL", "signed position (szi): + long, − short, base units", "size"),
        Column("entry_px", "DOUBLE", "average entry price, USD", "entry_px"),
        Column("position_value", "DOUBLE NOT NULL", "|size| × mark, USD", "position_value"),
        Column("mark_px", "DOUBLE", "position_value / |size|: the mark the exchange valued it at",
               "CASE WHEN size <> 0 THEN position_value / abs(size) END"),
        Column("unrealized_pnl", "DOUBLE NOT NULL", "USD", "unrealized_pnl"),
        Column("return_on_equity", "DOUBLE", "unrealized PnL / margin at entry", "return_on_equity"),
        Column("leverage", "DOUBLE", "leverage setting of the position", "leverage"),
        Column("leverage_type", "VARCHAR", "cross or isolated", "leverage_type"),
        Column("liquidation_px", "DOUBLE", "price at which the position is liquidated (null: none reachable)",
               "liquidation_px"),
        Column("margin_used", "DOUBLE NOT NULL", "margin held by the position, USD", "margin_used"),
        Column("max_leverage", "INTEGER", "the coin's maximum leverage", "max_leverage"),
        Column("cum_funding", "DOUBLE", "funding paid since the position opened (cumFunding.sinceOpen), USD",
               "cum_funding"),
        _HOUR,
    )),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (
    TRADES, BBO, L2BOOK, CANDLES, EVM_BLOCKS, EVM_TRANSACTIONS, EVM_TOKEN_TRANSFERS, ACCOUNT_STATE, ACCOUNT_POSITIONS,
    GAPS, EXCHANGE_FILLS)}

# Every raw table and view the loads write, in load order (fills is the view over trades).
RAW_TABLES: tuple[Table, ...] = (TRADES.table, FILLS_VIEW, *(d.table for d in DATASETS.values() if d is not TRADES))

# User-facing stream groups (--streams, the prototype's RECORD_* flags) → landed streams; gaps are always
# landed by the recorder and archive streams by `hypertrack backfill`: neither is a group a user switches.
STREAM_GROUPS: dict[str, tuple[str, ...]] = {}
for _d in DATASETS.values():
    if _d.group not in ("gaps", "archive"):
        STREAM_GROUPS.setdefault(_d.group, ())
        STREAM_GROUPS[_d.group] += (_d.name,)


def dataset(name: str) -> Dataset:
    return DATASETS[name]
