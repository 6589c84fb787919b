"""Hyperliquid WebSocket wire format → landing rows (tuples in the landing schema's column order).

Parsing happens once, here, at the edge: price and size strings become float64, addresses are
lower-cased, exchange milliseconds are kept. Anything that does not look like the documented
wire format raises :class:`BadMessage` with a short ``kind`` (``malformed``, ``wrong_type``,
``unknown_channel``, ``oversized``) so the caller can count it, log a sample and carry on.

Coin names are kept exactly as the exchange sent them (spot tokens can have arbitrary names,
even ones containing HTML or quotes); escaping is the job of whoever displays them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

GREETING = b"Websocket connection established."
MAX_COIN_LEN = 128

# Wire channel → landed stream.
CHANNEL_STREAM: dict[str, str] = {"trades": "trades", "bbo": "bbo", "l2Book": "l2book", "candle": "candles"}
# Landed stream → wire subscription type.
STREAM_SUBSCRIPTION: dict[str, str] = {"trades": "trades", "bbo": "bbo", "l2book": "l2Book", "candles": "candle"}
CONTROL_CHANNELS = frozenset({"subscriptionResponse", "pong", "error"})


class BadMessage(ValueError):
    """A frame or item that does not follow the wire format; ``kind`` says how."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass
class Parsed:
    """The outcome of one frame: landing rows for one stream, or a control message."""

    channel: str
    stream: str | None = None
    rows: list[tuple] = field(default_factory=list)
    bad_items: list[BadMessage] = field(default_factory=list)  # items skipped inside a good frame
    data: Any = None  # the payload of control channels (acks, errors)


def _num(value: Any, name: str) -> float:
    """A wire number (normally a string) → finite float."""
    if isinstance(value, str):
        try:
            out = float(value)
        except ValueError:
            raise BadMessage("wrong_type", f"{name} is not a number: {value[:40]!r}") from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        out = float(value)
    else:
        raise BadMessage("wrong_type", f"{name} has type {type(value).__name__}")
    if not math.isfinite(out):
        raise BadMessage("wrong_type", f"{name} is not finite")
    return out


def _int(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise BadMessage("wrong_type", f"{name} is not an integer")


def _coin(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_COIN_LEN:
        raise BadMessage("wrong_type", "coin is not a short non-empty string")
    return value


def _address(value: Any, name: str) -> str:
    """``0x`` + 40 hex digits, lower-cased (fromhex of exactly 40 chars giving 20 bytes: hex only)."""
    if isinstance(value, str) and len(value) == 42 and value[:2] == "0x":
        try:
            if len(bytes.fromhex(value[2:])) == 20:
                return value.lower()
        except ValueError:
            pass
    raise BadMessage("wrong_type", f"{name} is not a 20-byte hex address")


def trade_row(item: Any, recv_ns: int) -> tuple:
    """One wire trade → a ``TRADES`` row (buyer = users[0], seller = users[1])."""
    if not isinstance(item, dict):
        raise BadMessage("wrong_type", "trade is not an object")
    try:
        side = item["side"]
        users = item["users"]
        h = item["hash"]
        row = (
            _coin(item["coin"]),
            side,
            _num(item["px"], "px"),
            _num(item["sz"], "sz"),
            _int(item["time"], "time"),
            _int(item["tid"], "tid"),
            h,
        )
    except KeyError as exc:
        raise BadMessage("wrong_type", f"trade lacks {exc.args[0]!r}") from None
    if side != "B" and side != "A":
        raise BadMessage("wrong_type", "side is not B or A")
    if not isinstance(h, str) or len(h) > 80:
        raise BadMessage("wrong_type", "hash is not a string")
    if not isinstance(users, list) or len(users) != 2:
        raise BadMessage("wrong_type", "users is not [buyer, seller]")
    return (*row, _address(users[0], "buyer"), _address(users[1], "seller"), recv_ns)


def _level(level: Any) -> tuple[float, float, int]:
    if not isinstance(level, dict):
        raise BadMessage("wrong_type", "book level is not an object")
    try:
        return _num(level["px"], "px"), _num(level["sz"], "sz"), _int(level["n"], "n")
    except KeyError as exc:
        raise BadMessage("wrong_type", f"book level lacks {exc.args[0]!r}") from None


def bbo_row(data: Any, recv_ns: int) -> tuple:
    """``{coin, time, bbo: [bid|null, ask|null]}`` → a ``BBO`` row (nulls for an empty side)."""
    if not isinstance(data, dict):
        raise BadMessage("wrong_type", "bbo data is not an object")
    pair = data.get("bbo")
    if not isinstance(pair, list) or len(pair) != 2:
        raise BadMessage("wrong_type", "bbo is not [bid, ask]")
    bid = _level(pair[0]) if pair[0] is not None else (None, None, None)
    ask = _level(pair[1]) if pair[1] is not None else (None, None, None)
    return (_coin(data.get("coin")), _int(data.get("time"), "time"), *bid, *ask, recv_ns)


def _side(levels: Any) -> tuple[list[float], list[float], list[int]]:
    if not isinstance(levels, list):
        raise BadMessage("wrong_type", "book side is not a list")
    # Fast path for the well-formed case (a book frame has up to 40 levels); any doubt falls back
    # to the level-by-level check, which names the problem.
    try:
        raw_px = [lv["px"] for lv in levels]
        raw_sz = [lv["sz"] for lv in levels]
        ns = [lv["n"] for lv in levels]
    except (KeyError, TypeError):
        raw_px = raw_sz = ns = None  # type: ignore[assignment]
    if (
        raw_px is not None
        and all(type(x) is str for x in raw_px)
        and all(type(x) is str for x in raw_sz)
        and all(type(x) is int for x in ns)
    ):
        try:
            px = list(map(float, raw_px))
            sz = list(map(float, raw_sz))
        except ValueError:
            pass
        else:
            if math.isfinite(sum(px) + sum(sz)):
                return px, sz, ns
    parsed = [_level(lv) for lv in levels]
    return [p[0] for p in parsed], [p[1] for p in parsed], [p[2] for p in parsed]


def l2_row(data: Any, recv_ns: int) -> tuple:
    """``{coin, time, levels: [bids, asks]}`` → an ``L2BOOK`` row of per-side lists, best first."""
    if not isinstance(data, dict):
        raise BadMessage("wrong_type", "l2Book data is not an object")
    levels = data.get("levels")
    if not isinstance(levels, list) or len(levels) != 2:
        raise BadMessage("wrong_type", "levels is not [bids, asks]")
    return (_coin(data.get("coin")), _int(data.get("time"), "time"), *_side(levels[0]), *_side(levels[1]), recv_ns)


def candle_row(data: Any, recv_ns: int) -> tuple:
    """``{t, T, s, i, o, c, h, l, v, n}`` → a ``CANDLES`` row (completeness is decided elsewhere)."""
    if not isinstance(data, dict):
        raise BadMessage("wrong_type", "candle data is not an object")
    try:
        interval = data["i"]
        if not isinstance(interval, str):
            raise BadMessage("wrong_type", "interval is not a string")
        return (
            _coin(data["s"]),
            interval,
            _int(data["t"], "t"),
            _int(data["T"], "T"),
            _num(data["o"], "o"),
            _num(data["h"], "h"),
            _num(data["l"], "l"),
            _num(data["c"], "c"),
            _num(data["v"], "v"),
            _int(data["n"], "n"),
            recv_ns,
        )
    except KeyError as exc:
        raise BadMessage("wrong_type", f"candle lacks {exc.args[0]!r}") from None


def parse_frame(frame: bytes | str, recv_ns: int, max_bytes: int = 8 << 20) -> Parsed | None:
    """Decode one WebSocket frame. ``None`` for the plain-text greeting; raises :class:`BadMessage`.

    A ``trades`` frame with some bad items still lands its good items; the bad ones are returned
    in ``bad_items`` for counting.
    """
    if len(frame) > max_bytes:
        raise BadMessage("oversized", f"{len(frame)} bytes > {max_bytes}")
    try:
        msg = orjson.loads(frame)
    except orjson.JSONDecodeError:
        raw = frame if isinstance(frame, bytes) else frame.encode("utf-8", "replace")
        if raw.strip() == GREETING:
            return None
        raise BadMessage("malformed", "not JSON") from None
    if not isinstance(msg, dict):
        raise BadMessage("malformed", "frame is not a JSON object")
    channel = msg.get("channel")
    if not isinstance(channel, str):
        raise BadMessage("malformed", "no channel")
    data = msg.get("data")
    if channel == "trades":
        if not isinstance(data, list):
            raise BadMessage("wrong_type", "trades data is not a list")
        out = Parsed(channel, "trades")
        rows = out.rows
        for item in data:
            try:
                rows.append(trade_row(item, recv_ns))
            except BadMessage as exc:
                out.bad_items.append(exc)
        return out
    if channel == "bbo":
        return Parsed(channel, "bbo", [bbo_row(data, recv_ns)])
    if channel == "l2Book":
        return Parsed(channel, "l2book", [l2_row(data, recv_ns)])
    if channel == "candle":
        return Parsed(channel, "candles", [candle_row(data, recv_ns)])
    if channel in CONTROL_CHANNELS:
        return Parsed(channel, data=data)
    raise BadMessage("unknown_channel", f"channel {channel[:40]!r}")


def subscription(stream: str, coin: str) -> dict[str, Any]:
    """The subscribe message for one landed stream of one coin (candles are 1m)."""
    sub: dict[str, Any] = {"type": STREAM_SUBSCRIPTION[stream], "coin": coin}
    if stream == "candles":
        sub["interval"] = "1m"
    return {"method": "subscribe", "subscription": sub}


def candles_from_snapshot(items: Iterable[Any], recv_ns: int) -> list[tuple]:
    """Rows from an Info ``candleSnapshot`` response (same fields as the WS candle)."""
    return [candle_row(item, recv_ns) for item in items]
