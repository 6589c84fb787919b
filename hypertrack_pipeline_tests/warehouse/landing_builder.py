"""Tiny hand-made landing zones for the warehouse tests (written with the real write_part)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from hypertrack_pipeline.landing.schemas import STREAM_SCHEMAS
from hypertrack_pipeline.landing.zone import Hour, mark_closed, write_part

T0 = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp() * 1000)  # 2026-01-05 00:00 UTC
MIN = 60_000
HOUR = 3_600_000


def trade(coin: str, side: str, px: float, sz: float, t: int, tid: int, buyer: str, seller: str) -> dict:
    return {"coin": coin, "side": side, "px": px, "sz": sz, "time": t, "tid": tid, "hash": "0x" + "0" * 64,
            "buyer": buyer, "seller": seller, "recv_ns": t * 1_000_000}


def bbo(coin: str, t: int, bid: float, ask: float) -> dict:
    return {"coin": coin, "time": t, "bid_px": bid, "bid_sz": 1.0, "bid_n": 1, "ask_px": ask, "ask_sz": 1.0,
            "ask_n": 1, "recv_ns": t * 1_000_000}


def candle(coin: str, t_open: int, o: float, h: float, low: float, c: float, v: float, n: int = 1) -> dict:
    return {"coin": coin, "interval": "1m", "open_time": t_open, "close_time": t_open + MIN - 1, "open": o,
            "high": h, "low": low, "close": c, "volume": v, "n_trades": n, "recv_ns": t_open * 1_000_000}


def evm_tx(h: str, t: int, sender: str, to: str | None, input_size: int = 0) -> dict:
    return {"hash": h, "block_number": t // 1000, "time": t, "tx_index": 0, "from_address": sender,
            "to_address": to, "value": 0.0, "gas": 21000, "gas_price": 1.0, "nonce": 0,
            "input_size": input_size, "method_id": "0xa9059cbb" if input_size else None,
            "recv_ns": t * 1_000_000}


def transfer(tx: str, t: int, token: str, sender: str, to: str, amount: float, log_index: int = 0) -> dict:
    return {"block_number": t // 1000, "time": t, "tx_hash": tx, "log_index": log_index, "token": token,
            "from_address": sender, "to_address": to, "amount_raw": str(int(amount * 10**6)), "decimals": 6,
            "amount": amount, "recv_ns": t * 1_000_000}


def land(raw: Path, stream: str, rows: list[dict], close: bool = True) -> None:
    """Write rows as one part per hour they fall in (partition column of the stream)."""
    schema = STREAM_SCHEMAS[stream]
    key = "start_ms" if stream == "gaps" else ("open_time" if stream == "candles" else "time")
    by_hour: dict[Hour, list[dict]] = {}
    for r in rows:
        by_hour.setdefault(Hour.of_ms(r[key]), []).append(r)
    for hour, hour_rows in by_hour.items():
        write_part(raw, stream, hour, pa.Table.from_pylist(hour_rows, schema=schema))
        if close:
            mark_closed(raw, stream, hour)
