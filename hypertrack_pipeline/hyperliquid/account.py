"""Info ``clearinghouseState`` answers → ``account_state`` and ``account_positions`` landing rows.

The answer (decimal strings, as everywhere on the exchange)::

    {"marginSummary": {"accountValue", "totalNtlPos", "totalRawUsd", "totalMarginUsed"},
     "crossMarginSummary": {…}, "crossMaintenanceMarginUsed", "withdrawable",
     "assetPositions": [{"type": "oneWay", "position": {"coin", "szi", "leverage": {"type", "value"},
                         "entryPx", "positionValue", "unrealizedPnl", "returnOnEquity", "liquidationPx",
                         "marginUsed", "maxLeverage", "cumFunding": {"allTime", "sinceOpen", "sinceChange"}}}],
     "time"}

Strings become float64 here, once. Fields that older answers lack (``time``, ``crossMaintenanceMarginUsed``,
``maxLeverage``, ``cumFunding``; the 2023 answers in the fixtures have none of them) are null, except
``time``, which the caller supplies then. A position listed at size zero (the exchange can keep a closed one)
is not a position and is skipped. Anything else malformed raises :class:`BadMessage` so the poller counts
and samples it like a bad frame, and lands nothing of that answer.
"""

from __future__ import annotations

import re
from typing import Any

from hypertrack_pipeline.hyperliquid.wire import BadMessage

ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")


def normalize_address(raw: str) -> str | None:
    """A wallet address as the warehouse keys it (lowercase 0x + 40 hex), or None when it is not one."""
    addr = raw.strip().lower()
    return addr if ADDRESS.match(addr) else None


def _num(obj: dict[str, Any], key: str, where: str, required: bool = True) -> float | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise BadMessage("missing_field", f"{where}.{key} missing")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadMessage("wrong_type", f"{where}.{key} is {type(value).__name__}")
    try:
        return float(value)
    except ValueError:
        raise BadMessage("wrong_type", f"{where}.{key} is not a number: {str(value)[:40]!r}") from None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            f = float(value)
        except ValueError:
            return None
        return int(f) if f.is_integer() else None
    return None


def answer_time(body: Any) -> int | None:
    """The exchange ``time`` of an answer (epoch ms), or None when it has none."""
    t = body.get("time") if isinstance(body, dict) else None
    return _int(t)


def account_rows(wallet: str, body: Any, fallback_ms: int, recv_ns: int) -> tuple[tuple, list[tuple]]:
    """One ``account_state`` row and the ``account_positions`` rows of one answer (landing layouts).

    ``wallet`` is the normalized address the request asked about; ``fallback_ms`` is used as the time when
    the answer carries none.
    """
    if not isinstance(body, dict):
        raise BadMessage("wrong_type", f"clearinghouseState answer is {type(body).__name__}, not an object")
    summary = body.get("marginSummary")
    if not isinstance(summary, dict):
        raise BadMessage("missing_field", "marginSummary missing")
    t = answer_time(body)
    if t is None:
        t = fallback_ms
    positions = body.get("assetPositions")
    if positions is None:
        positions = []
    if not isinstance(positions, list):
        raise BadMessage("wrong_type", "assetPositions is not a list")
    pos_rows: list[tuple] = []
    for i, item in enumerate(positions):
        where = f"assetPositions[{i}].position"
        pos = item.get("position") if isinstance(item, dict) else None
        if not isinstance(pos, dict):
            raise BadMessage("missing_field", f"{where} missing")
        coin = pos.get("coin")
        if not isinstance(coin, str) or not coin:
            raise BadMessage("wrong_type", f"{where}.coin is not a name")
        size = _num(pos, "szi", where)
        if size == 0:
            continue
        lev = pos.get("leverage")
        lev_value = _num(lev, "value", where + ".leverage", required=False) if isinstance(lev, dict) else None
        lev_type = lev.get("type") if isinstance(lev, dict) and isinstance(lev.get("type"), str) else None
        funding = pos.get("cumFunding")
        cum = _num(funding, "sinceOpen", where + ".cumFunding", required=False) if isinstance(funding, dict) else None
        pos_rows.append((
            wallet, t, coin, size, _num(pos, "entryPx", where, required=False), _num(pos, "positionValue", where),
            _num(pos, "unrealizedPnl", where), _num(pos, "returnOnEquity", where, required=False), lev_value, lev_type,
            _num(pos, "liquidationPx", where, required=False), _num(pos, "marginUsed", where),
            _int(pos.get("maxLeverage")), cum, recv_ns,
        ))
    state = (
        wallet, t, _num(summary, "accountValue", "marginSummary"), _num(summary, "totalNtlPos", "marginSummary"),
        _num(summary, "totalRawUsd", "marginSummary", required=False),
        _num(summary, "totalMarginUsed", "marginSummary"),
        _num(body, "crossMaintenanceMarginUsed", "clearinghouseState", required=False),
        _num(body, "withdrawable", "clearinghouseState"), len(pos_rows), recv_ns,
    )
    return state, pos_rows
