"""Landing rows → Hyperliquid wire JSON, pre-serialized for the simulator's protocol server.

The server must push tens of thousands of frames a second, so every frame is built and encoded
with orjson here, once, in the producer thread; the send loop only copies bytes. Numbers follow
the real API: prices, sizes and volumes are decimal strings without float noise, exchange times,
trade ids and counts are JSON numbers.

An :class:`EventBatch` is a time-ordered run of :class:`WireEvent` s. Besides frames for
subscribers it carries the server's own state updates (the completed-candle history behind
``candleSnapshot``, the latest book behind the Info ``l2Book``, the HyperEVM blocks behind the
JSON-RPC endpoint), so that everything becomes visible at its simulated time and not before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

CANDLE_MS = 60_000
ZERO_HASH = "0x" + "0" * 64
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

# Event kinds: frames for a channel, or state the server takes in when the event is due.
TRADES = "trades"
BBO = "bbo"
L2BOOK = "l2Book"
CANDLE = "candle"
EVM = "evm"  # internal: a HyperEVM block becomes visible


@dataclass(slots=True)
class WireEvent:
    """One due-at-``time`` item: a frame for the subscribers of ``(channel, coin)``.

    ``trade_ids`` lists the ``(coin, time, tid)`` of the trades in a trades frame (the server's
    sent log); ``state`` is the parsed payload the server keeps (candle dict, book, EVM block).
    """

    time: int
    channel: str
    coin: str
    payload: bytes
    trade_ids: list[tuple[str, int, int]] | None = None
    state: Any = None


@dataclass(slots=True)
class EventBatch:
    """Events sorted by time, covering simulated time up to ``end_ms``."""

    events: list[WireEvent]
    end_ms: int | None = None


@dataclass(slots=True)
class EvmBlock:
    """A HyperEVM block as JSON-RPC objects: header fields, full transactions, Transfer logs."""

    number: int
    time_ms: int
    header: dict[str, Any]
    transactions: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)


def _format_floats(arr: np.ndarray) -> list[str]:
    out = [repr(v) for v in arr.tolist()]
    for i, s in enumerate(out):
        if "e" in s or "n" in s:  # 1e-05, 1e+16, nan, inf: spell out positionally
            v = arr[i]
            out[i] = np.format_float_positional(v, trim="-") if np.isfinite(v) else "0.0"
            if "." not in out[i]:
                out[i] += ".0"
    return out


def decimal_array(values: Sequence[float] | np.ndarray) -> pa.Array:
    """Floats → Arrow strings of the shortest decimal text that round-trips, like the API
    ("21.269", "1.0"); float noise below 1e-10 is rounded away. Arrow formats in bulk; the rare
    values it writes in exponent form (or nan/inf) are redone in Python."""
    arr = np.round(np.asarray(values, dtype=np.float64), 10)
    text = pc.cast(pa.array(arr, pa.float64()), pa.string())
    text = pc.if_else(pc.match_substring(text, "."), text, pc.binary_join_element_wise(text, ".0", ""))
    odd = np.flatnonzero(pc.match_substring_regex(text, "[a-z]").to_numpy(zero_copy_only=False))
    if odd.size:
        fixed = text.to_pylist()
        for i, s in zip(odd.tolist(), _format_floats(arr[odd]), strict=True):
            fixed[i] = s
        text = pa.array(fixed, pa.string())
    return text


def decimal_strings(values: Sequence[float] | np.ndarray) -> list[str]:
    """:func:`decimal_array` as a Python list."""
    return decimal_array(values).to_pylist()


def decimal_string(value: float) -> str:
    """Scalar :func:`decimal_strings` without numpy's per-call overhead (hot path: candles)."""
    s = repr(round(float(value), 10))
    return s if "e" not in s and "n" not in s else _format_floats(np.array([round(float(value), 10)]))[0]


def _column(table: pa.Table, name: str) -> list[Any]:
    return table.column(name).to_pylist()


def _group_starts(keys: list[tuple]) -> list[int]:
    """Start index of each run of equal consecutive keys (rows are already in time order)."""
    starts = [0]
    for i in range(1, len(keys)):
        if keys[i] != keys[i - 1]:
            starts.append(i)
    return starts


class CandleBuilder:
    """The open 1m candle per coin, grown from trades as they are sent (the real ``candle``
    stream re-sends the open candle on every update; a newer ``t`` means the previous one closed).

    Prices keep the trades' own wire strings, so o/h/l/c are formatted once, with the trades.
    """

    def __init__(self) -> None:
        self._open: dict[str, list[Any]] = {}  # coin → [t, o, c, h, l, o_s, c_s, h_s, l_s, v, n]

    def update(self, coin: str, time_ms: int, pxs: list[float], px_strs: list[str],
               szs: list[float]) -> dict[str, Any]:
        t = time_ms - time_ms % CANDLE_MS
        c = self._open.get(coin)
        if c is None or c[0] != t:
            c = [t, pxs[0], 0.0, pxs[0], pxs[0], px_strs[0], "", px_strs[0], px_strs[0], 0.0, 0]
            self._open[coin] = c
        c[2], c[6] = pxs[-1], px_strs[-1]
        for px, px_s in zip(pxs, px_strs, strict=True):
            if px > c[3]:
                c[3], c[7] = px, px_s
            if px < c[4]:
                c[4], c[8] = px, px_s
        c[9] += sum(szs)
        c[10] += len(pxs)
        return {"t": t, "T": t + CANDLE_MS - 1, "s": coin, "i": "1m", "o": c[5], "c": c[6], "h": c[7],
                "l": c[8], "v": decimal_string(c[9]), "n": c[10]}


def json_quoted(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Strings → their JSON literals (quoted, escaped), each distinct value encoded once by orjson."""
    enc = pc.dictionary_encode(column)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks() if enc.num_chunks else pa.array([], pa.string()).dictionary_encode()
    literals = pa.array([orjson.dumps(v).decode() for v in enc.dictionary.to_pylist()], pa.string())
    return literals.take(enc.indices)


def _text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return pc.cast(column, pa.string())


def _join(*parts: Any) -> pa.Array:
    """Element-wise concatenation of Arrow string arrays and literals (null if any part is null)."""
    return pc.binary_join_element_wise(*parts, "")


def _trade_fragments(table: pa.Table, pxs: pa.Array, szs: pa.Array) -> list[str]:
    """Each trade's JSON object, built column-wise by Arrow (no per-row dicts): the hot path."""
    q = {c: json_quoted(table.column(c)) for c in ("coin", "side", "hash", "buyer", "seller")}
    return _join(
        '{"coin":', q["coin"], ',"side":', q["side"], ',"px":"', pxs, '","sz":"', szs,
        '","time":', _text(table.column("time")), ',"hash":', q["hash"], ',"tid":', _text(table.column("tid")),
        ',"users":[', q["buyer"], ",", q["seller"], "]}",
    ).to_pylist()


def trade_events(table: pa.Table, candles: CandleBuilder | None) -> list[WireEvent]:
    """Trades (landing schema) → one ``trades`` frame per (coin, ms), plus a ``candle`` update each.

    The real stream sends a list per coin and block; same coin and millisecond is our block.
    Field order and types are the exchange's: ``{coin, side, px, sz, time, hash, tid, users}``.
    """
    if table.num_rows == 0:
        return []
    table = table.sort_by([("time", "ascending"), ("coin", "ascending"), ("tid", "ascending")])
    coins = _column(table, "coin")
    times = _column(table, "time")
    tids = _column(table, "tid")
    px_f = table.column("px").to_numpy()
    sz_f = table.column("sz").to_numpy()
    px_a = decimal_array(px_f)
    frags = _trade_fragments(table, px_a, decimal_array(sz_f))
    pxs = px_a.to_pylist()
    starts = _group_starts(list(zip(times, coins, strict=True)))
    starts.append(len(coins))
    out: list[WireEvent] = []
    px_list = px_f.tolist()
    sz_list = sz_f.tolist()
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        coin, t = coins[a], times[a]
        payload = ('{"channel":"trades","data":[' + ",".join(frags[a:b]) + "]}").encode()
        ids = [(coin, t, tid) for tid in tids[a:b]]
        out.append(WireEvent(t, TRADES, coin, payload, ids))
        if candles is not None:
            candle = candles.update(coin, t, px_list[a:b], pxs[a:b], sz_list[a:b])
            out.append(WireEvent(t, CANDLE, coin, orjson.dumps({"channel": "candle", "data": candle}),
                                 state=candle))
    return out


def _levels(px: pa.Array, sz: pa.Array, n: pa.Array) -> pa.Array:
    """Wire levels ``{"px","sz","n"}`` as JSON text, null where the price is null."""
    return _join('{"px":"', px, '","sz":"', sz, '","n":', _text(pc.fill_null(n, 0)), "}")


def _nullable_decimals(column: pa.ChunkedArray) -> pa.Array:
    text = decimal_array(pc.fill_null(column, 0.0).to_numpy())
    return pc.if_else(pc.is_null(column), pa.scalar(None, pa.string()), text)


def bbo_events(table: pa.Table) -> list[WireEvent]:
    """BBO rows → ``{"coin","time","bbo":[bid|null, ask|null]}`` frames; state: (bid px, ask px)."""
    if table.num_rows == 0:
        return []
    side: dict[str, pa.Array] = {}
    best: dict[str, list[str | None]] = {}
    for s in ("bid", "ask"):
        px = _nullable_decimals(table.column(f"{s}_px"))
        best[s] = px.to_pylist()
        side[s] = pc.coalesce(_levels(px, _nullable_decimals(table.column(f"{s}_sz")), table.column(f"{s}_n")),
                              "null")
    frames = _join('{"channel":"bbo","data":{"coin":', json_quoted(table.column("coin")), ',"time":',
                   _text(table.column("time")), ',"bbo":[', side["bid"], ",", side["ask"], "]}}").to_pylist()
    coins = _column(table, "coin")
    times = _column(table, "time")
    return [WireEvent(times[i], BBO, coins[i], frames[i].encode(), state=(best["bid"][i], best["ask"][i]))
            for i in range(table.num_rows)]


def _side_levels(table: pa.Table, side: str) -> tuple[list[str], list[str | None]]:
    """A side's list columns → per row the JSON text of its level list, and its best price."""
    px = table.column(f"{side}_px").combine_chunks()
    offsets = px.offsets.to_numpy()
    px_s = decimal_array(px.flatten().to_numpy())
    sz_s = decimal_array(table.column(f"{side}_sz").combine_chunks().flatten().to_numpy())
    n_v = table.column(f"{side}_n").combine_chunks().flatten()
    frags = _levels(px_s, sz_s, n_v).to_pylist()
    px_list = px_s.to_pylist()
    rows = ["[" + ",".join(frags[offsets[i]:offsets[i + 1]]) + "]" for i in range(table.num_rows)]
    best = [px_list[offsets[i]] if offsets[i + 1] > offsets[i] else None for i in range(table.num_rows)]
    return rows, best


def l2book_events(table: pa.Table) -> list[WireEvent]:
    """Book snapshots → ``{"coin","time","levels":[bids, asks]}`` frames; state: (bid px, ask px)."""
    if table.num_rows == 0:
        return []
    coins = _column(table, "coin")
    quoted = json_quoted(table.column("coin")).to_pylist()
    times = _column(table, "time")
    bids, best_bid = _side_levels(table, "bid")
    asks, best_ask = _side_levels(table, "ask")
    return [
        WireEvent(times[i], L2BOOK, coins[i],
                  f'{{"channel":"l2Book","data":{{"coin":{quoted[i]},"time":{times[i]},"levels":[{bids[i]},{asks[i]}]}}}}'
                  .encode(), state=(best_bid[i], best_ask[i]))
        for i in range(table.num_rows)
    ]


def _hex(n: int) -> str:
    return hex(int(n))


def _pad_topic(address: str) -> str:
    return "0x" + "0" * 24 + address.lower().removeprefix("0x")


def _wei(value: float) -> int:
    """A native amount scaled by 1e18 (float in the landing zone) → integer wei."""
    return int(Decimal(repr(float(value))) * 10**18)


def evm_events(blocks: pa.Table | None, txs: pa.Table | None, transfers: pa.Table | None) -> list[WireEvent]:
    """HyperEVM landing rows → one internal event per block carrying its JSON-RPC objects."""
    if blocks is None or blocks.num_rows == 0:
        return []
    by_number: dict[int, EvmBlock] = {}
    for row in blocks.to_pylist():
        header = {
            "number": _hex(row["number"]), "hash": row["hash"], "parentHash": row["parent_hash"],
            "timestamp": _hex(row["time"] // 1000), "miner": row["miner"] or "0x" + "0" * 40,
            "gasUsed": _hex(row["gas_used"] or 0), "gasLimit": _hex(row["gas_limit"] or 30_000_000),
            "baseFeePerGas": _hex(int(row["base_fee"] or 0)), "nonce": "0x0000000000000000",
            "difficulty": "0x0", "totalDifficulty": "0x0", "extraData": "0x", "mixHash": ZERO_HASH,
            "sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
            "logsBloom": "0x" + "00" * 256, "transactionsRoot": ZERO_HASH, "stateRoot": ZERO_HASH,
            "receiptsRoot": ZERO_HASH, "size": _hex(1000 + 200 * row["tx_count"]), "uncles": [],
        }
        by_number[row["number"]] = EvmBlock(row["number"], row["time"], header)
    tx_index: dict[str, int] = {}
    if txs is not None and txs.num_rows:
        for row in txs.sort_by([("block_number", "ascending"), ("tx_index", "ascending")]).to_pylist():
            blk = by_number.get(row["block_number"])
            if blk is None:
                continue
            size = int(row["input_size"] or 0)
            method = (row["method_id"] or "0x").removeprefix("0x")
            calldata = "0x" + (method + "00" * max(0, size - len(method) // 2))[: 2 * size] if size else "0x"
            tx_index[row["hash"]] = row["tx_index"]
            blk.transactions.append({
                "blockHash": blk.header["hash"], "blockNumber": blk.header["number"],
                "hash": row["hash"], "transactionIndex": _hex(row["tx_index"]),
                "from": row["from_address"], "to": row["to_address"], "value": _hex(_wei(row["value"])),
                "gas": _hex(row["gas"] or 21_000), "gasPrice": _hex(int(row["gas_price"] or 0)),
                "nonce": _hex(row["nonce"] or 0), "input": calldata, "type": "0x0", "chainId": "0x3e7",
                "v": "0x7f5", "r": "0x1", "s": "0x1",
            })
    if transfers is not None and transfers.num_rows:
        for row in transfers.sort_by([("block_number", "ascending"), ("log_index", "ascending")]).to_pylist():
            blk = by_number.get(row["block_number"])
            if blk is None:
                continue
            blk.logs.append({
                "address": row["token"], "blockHash": blk.header["hash"], "blockNumber": blk.header["number"],
                "transactionHash": row["tx_hash"], "transactionIndex": _hex(tx_index.get(row["tx_hash"], 0)),
                "logIndex": _hex(row["log_index"]), "removed": False,
                "topics": [TRANSFER_TOPIC, _pad_topic(row["from_address"]), _pad_topic(row["to_address"])],
                "data": "0x" + format(int(row["amount_raw"]), "064x"),
            })
    return [WireEvent(b.time_ms, EVM, "", b"", state=b) for b in sorted(by_number.values(), key=lambda b: b.number)]


def merge_sorted(groups: Iterable[list[WireEvent]]) -> list[WireEvent]:
    """All events of a chunk in time order (stable: trades before their candle update)."""
    events = [e for g in groups for e in g]
    events.sort(key=lambda e: e.time)
    return events


class TableEncoder:
    """Landing-schema tables of consecutive chunks → :class:`EventBatch` es (keeps the open candles)."""

    def __init__(self, candles: bool = True) -> None:
        self._candles = CandleBuilder() if candles else None

    def encode(self, tables: dict[str, pa.Table], end_ms: int | None = None) -> EventBatch:
        groups = []
        if (t := tables.get("trades")) is not None:
            groups.append(trade_events(t, self._candles))
        if (t := tables.get("bbo")) is not None:
            groups.append(bbo_events(t))
        if (t := tables.get("l2book")) is not None:
            groups.append(l2book_events(t))
        groups.append(evm_events(tables.get("evm_blocks"), tables.get("evm_transactions"),
                                 tables.get("evm_token_transfers")))
        return EventBatch(merge_sorted(groups), end_ms)
