"""What the server plays: landing-schema tables (or the seeded market) as time-ordered wire events."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from hypertrack_pipeline.simulator.wire import EventBatch, TableEncoder


class EventSource(Protocol):
    """What the server plays: a coin universe and time-ordered batches of wire events."""

    @property
    def start_ms(self) -> int | None: ...

    def universe(self) -> list[dict[str, Any]]: ...

    def batches(self) -> Iterator[EventBatch]: ...


def _tables_of(chunk: Any) -> tuple[dict[str, pa.Table], int | None, int | None]:
    if isinstance(chunk, dict):
        return chunk, None, None
    return chunk.tables, getattr(chunk, "start_ms", None), getattr(chunk, "end_ms", None)


# Time columns (epoch ms) per landed stream, moved together by ``TableSource(time_shift_ms=…)``.
_TIME_COLUMNS = {"trades": ("time",), "bbo": ("time",), "l2book": ("time",), "candles": ("open_time", "close_time"),
                 "evm_blocks": ("time",), "evm_transactions": ("time",), "evm_token_transfers": ("time",)}


def shift_times(tables: dict[str, pa.Table], shift_ms: int) -> dict[str, pa.Table]:
    """Move every exchange time of a chunk by ``shift_ms`` (serve a past market as if live now)."""
    if not shift_ms:
        return tables
    out = {}
    for name, table in tables.items():
        for col in _TIME_COLUMNS.get(name, ()):
            if col in table.column_names:
                i = table.schema.get_field_index(col)
                table = table.set_column(i, table.schema.field(i), pc.add(table.column(col), shift_ms))
        out[name] = table
    return out


class TableSource:
    """Landing-schema tables (a market's chunks, or hand-made ones in tests) as an event source.

    ``chunks`` holds objects with ``tables`` (stream → pa.Table) and optional ``start_ms`` /
    ``end_ms`` (a ``MarketChunk``), or plain dicts of tables; consecutive in time.
    ``universe``: coin names or ``meta`` entries; scanned from the chunks when they are a list.
    ``time_shift_ms`` moves every time (frames, candles, blocks) by that much.
    """

    def __init__(self, chunks: Iterable[Any], universe: Sequence[str | dict[str, Any]] | None = None,
                 start_ms: int | None = None, candles: bool = True, time_shift_ms: int = 0) -> None:
        self._chunks = chunks
        self._candles = candles
        self._start_ms = start_ms
        self._shift = int(time_shift_ms)
        if universe is None and isinstance(chunks, Sequence):
            seen: dict[str, None] = {}
            for ch in chunks:
                tables, s, _ = _tables_of(ch)
                if self._start_ms is None and s is not None:
                    self._start_ms = s
                for name in ("trades", "bbo", "l2book"):
                    if (t := tables.get(name)) is not None:
                        for c in t.column("coin").unique().to_pylist():
                            seen.setdefault(c)
            universe = list(seen)
        if self._start_ms is not None:
            self._start_ms += self._shift
        self._universe = [u if isinstance(u, dict) else {"name": u, "szDecimals": 2, "maxLeverage": 50}
                          for u in (universe or [])]

    @property
    def start_ms(self) -> int | None:
        return self._start_ms

    def universe(self) -> list[dict[str, Any]]:
        return list(self._universe)

    def batches(self) -> Iterator[EventBatch]:
        encoder = TableEncoder(candles=self._candles)
        for ch in self._chunks:
            tables, _, end = _tables_of(ch)
            yield encoder.encode(shift_times(tables, self._shift), None if end is None else end + self._shift)


def market_source(config: Any, live: bool = False, chunk_ms: int = 60_000) -> TableSource:
    """The seeded agent-based market (``simulator.market``) as an event source.

    Chunks are cut per minute (``chunk_ms``) so frames flow soon after start. ``live`` shifts the
    market so that it starts now (wall clock), for a recorder that expects current exchange times.
    """
    import dataclasses

    from hypertrack_pipeline.simulator import market

    if dataclasses.is_dataclass(config) and getattr(config, "chunk_ms", chunk_ms) != chunk_ms:
        config = dataclasses.replace(config, chunk_ms=chunk_ms)
    if hasattr(config, "validate"):
        config.validate()
    start = int(config.start_ms)
    shift = int(time.time() * 1000) - start if live else 0
    return TableSource(market.iter_market(config), universe=market.coin_universe(config), start_ms=start,
                       time_shift_ms=shift)
