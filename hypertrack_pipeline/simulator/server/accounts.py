"""Perp accounts of the played market, for the Info ``clearinghouseState`` answer.

The pump hands every trades frame it plays to :meth:`AccountBook.feed`, so the book knows exactly the
trades played so far (the current replay time, never the future). An answer describes one instant, its
``time``: the trades up to it and none after (the server picks a time the pump has played through, see
``SimServer``). Frames are parsed lazily, when an answer is asked for or once many are pending, so a
server nobody asks about accounts pays one list append per frame.

Model (deterministic: the same trades played give the same answers):

- Positions per wallet and coin from the trades, as the exchange's own books in ``simulator/accounts.py``:
  a fill that adds moves the entry to the size-weighted mean, a reducing fill realizes
  ``closed × (px − entry) × sign``, a flip opens the rest at the fill price. Self-trades move nothing.
  Perps of the main dex only (spot balances are ``spotClearinghouseState``); ``dex`` asks for a builder
  dex's perps, as on the exchange.
- Leverage: cross, the wallet's own setting drawn from ``simulator.accounts.LEVERAGES`` by its address
  (a digest, so it is stable across runs and seeds), capped by the coin's ``maxLeverage``.
- Deposit: wallets start with nothing and deposit when they need to. After each fill, when the equity
  marked at the last trade prices (deposit + realized + unrealized) is below the initial margin of the
  positions (Σ |size| × px / leverage), the wallet tops up to 1.5× that margin, rounded up to $100. So
  equity follows what a wallet trades with, and it is a function of the trades played alone.
- The answer marks positions at the coin's current mid (else its last trade price): unrealized PnL,
  position value, margin used (value / leverage), maintenance margin (value / (2 × maxLeverage): half the
  initial margin at max leverage, as in ``simulator/accounts.py``), withdrawable (equity − margin used, at
  least 0) and the cross liquidation price of Hyperliquid's documentation,
  ``mark − side × (equity − maintenance margin) / |size| / (1 − side / (2 × maxLeverage))``, null when it
  is not positive. No funding is simulated: ``cumFunding`` is zero. A builder dex's clearinghouse
  (``dex``) holds just the initial margin of its positions (at entry) plus their unrealized PnL; the
  deposit is the main dex's.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from hypertrack_pipeline.simulator.accounts import LEVERAGES
from hypertrack_pipeline.simulator.universe import DEX, PERP, market_kind
from hypertrack_pipeline.simulator.wire import decimal_string

DEFAULT_MAX_LEVERAGE = 50
TOP_UP = 1.5  # a wallet short of margin deposits up to this multiple of its initial margin
TOP_UP_ROUND = 100.0
_PARSE_AT = 20_000  # pending frames parsed in one go at the latest


def wallet_leverage(wallet: str) -> int:
    """The wallet's leverage setting: one of ``LEVERAGES``, chosen by a digest of its address."""
    return LEVERAGES[hashlib.sha256(wallet.lower().encode()).digest()[0] % len(LEVERAGES)]


def _money(x: float) -> str:
    return decimal_string(round(x, 6) + 0.0)


class _Position:
    __slots__ = ("entry", "size")

    def __init__(self) -> None:
        self.size = 0.0
        self.entry = 0.0


class _Wallet:
    __slots__ = ("deposit", "positions", "realized")

    def __init__(self) -> None:
        self.deposit = 0.0
        self.realized = 0.0
        self.positions: dict[str, _Position] = {}


class AccountBook:
    """Wallet accounts built from the trades played; answers ``clearinghouseState`` (see the module doc)."""

    def __init__(self, universe: Callable[[], Sequence[dict[str, Any]]], mids: Callable[[], dict[str, str]]) -> None:
        self._universe = universe
        self._mids = mids
        self._max_lev: dict[str, int] | None = None
        self._pending: list[tuple[int, bytes]] = []
        self._wallets: dict[str, _Wallet] = {}
        self._last_px: dict[str, float] = {}
        self._wallet_lev: dict[str, int] = {}
        self.trades = 0

    # ---- the pump's side --------------------------------------------------------------------
    def feed(self, payload: bytes, time_ms: int) -> None:
        """A trades frame of exchange time ``time_ms`` just played (parsed later, see the module doc)."""
        self._pending.append((time_ms, payload))
        if len(self._pending) >= _PARSE_AT:
            self.catch_up(time_ms - 1)  # this millisecond may not be played through yet

    def catch_up(self, through_ms: int | None = None) -> None:
        """Apply the pending frames of time ≤ ``through_ms`` (all with None), in the order played."""
        pending = self._pending
        n = len(pending)
        if through_ms is not None:
            n = 0
            while n < len(pending) and pending[n][0] <= through_ms:
                n += 1
        todo, self._pending = pending[:n], pending[n:]
        for _t, payload in todo:
            try:
                data = orjson.loads(payload).get("data")
            except (ValueError, AttributeError):
                continue
            for t in data if isinstance(data, list) else ():
                try:
                    buyer, seller = (u.lower() for u in t["users"])
                    coin, px, sz = t["coin"], float(t["px"]), float(t["sz"])
                except (KeyError, TypeError, ValueError):
                    continue
                self.trades += 1
                self._last_px[coin] = px
                if buyer == seller or market_kind(coin) not in (PERP, DEX):
                    continue
                self._fill(buyer, coin, px, sz)
                self._fill(seller, coin, px, -sz)

    def _max_leverage(self, coin: str) -> int:
        if self._max_lev is None:
            self._max_lev = {}
            for u in self._universe():
                try:
                    self._max_lev[u["name"]] = int(u.get("maxLeverage") or DEFAULT_MAX_LEVERAGE)
                except (KeyError, TypeError, ValueError):
                    continue
        return self._max_lev.get(coin, DEFAULT_MAX_LEVERAGE)

    def _leverage(self, wallet: str, coin: str) -> int:
        lev = self._wallet_lev.get(wallet)
        if lev is None:
            lev = self._wallet_lev[wallet] = wallet_leverage(wallet)
        return min(lev, self._max_leverage(coin))

    def _fill(self, wallet: str, coin: str, px: float, dq: float) -> None:
        acct = self._wallets.get(wallet)
        if acct is None:
            acct = self._wallets[wallet] = _Wallet()
        pos = acct.positions.get(coin)
        if pos is None:
            pos = acct.positions[coin] = _Position()
        p0 = pos.size
        p1 = p0 + dq
        if abs(p1) <= 1e-9 * max(abs(p0), abs(dq)):  # float residue of a position closed lot for lot
            p1 = 0.0
        if p0 == 0 or (p0 > 0) == (dq > 0):  # opens or adds
            pos.entry = px if p0 == 0 else (p0 * pos.entry + dq * px) / p1
        else:
            closed = min(abs(dq), abs(p0))
            acct.realized += closed * (px - pos.entry) * (1.0 if p0 > 0 else -1.0)
            if p1 == 0:
                pos.entry = 0.0
            elif (p1 > 0) != (p0 > 0):  # flipped: the rest opens at the fill price
                pos.entry = px
        pos.size = p1
        if p1 == 0:
            del acct.positions[coin]
        self._top_up(wallet, acct)

    def _top_up(self, wallet: str, acct: _Wallet) -> None:
        margin = unrealized = 0.0
        for coin, pos in acct.positions.items():
            px = self._last_px.get(coin, pos.entry)
            margin += abs(pos.size) * px / self._leverage(wallet, coin)
            unrealized += pos.size * (px - pos.entry)
        if acct.deposit + acct.realized + unrealized < margin:
            need = TOP_UP * margin - (acct.deposit + acct.realized + unrealized)
            acct.deposit += math.ceil(need / TOP_UP_ROUND) * TOP_UP_ROUND

    # ---- the Info side ----------------------------------------------------------------------
    def clearinghouse_state(self, wallet: str, now_ms: int, dex: str = "") -> dict[str, Any]:
        """The ``clearinghouseState`` answer for ``wallet`` as of ``now_ms`` (the trades played up to that time;
        an unknown wallet: an empty account)."""
        self.catch_up(now_ms)
        wallet = wallet.lower()
        acct = self._wallets.get(wallet) or _Wallet()
        mids = self._mids()
        rows = []
        for coin in sorted(acct.positions):
            kind = market_kind(coin)
            if (dex and not (kind == DEX and coin.split(":", 1)[0] == dex)) or (not dex and kind != PERP):
                continue
            pos = acct.positions[coin]
            mark = float(mids[coin]) if coin in mids else self._last_px.get(coin, pos.entry)
            rows.append((coin, pos, mark, self._leverage(wallet, coin), self._max_leverage(coin)))
        unrealized = sum(p.size * (mark - p.entry) for _, p, mark, _, _ in rows)
        equity = acct.deposit + acct.realized + unrealized if not dex else sum(
            abs(p.size) * p.entry / lev for _, p, _, lev, _ in rows) + unrealized  # a dex holds its margin only
        ntl = sum(abs(p.size) * mark for _, p, mark, _, _ in rows)
        margin = sum(abs(p.size) * mark / lev for _, p, mark, lev, _ in rows)
        maint = sum(abs(p.size) * mark / (2 * mx) for _, p, mark, _, mx in rows)
        positions = []
        for coin, p, mark, lev, mx in rows:
            value = abs(p.size) * mark
            upnl = p.size * (mark - p.entry)
            side = 1.0 if p.size > 0 else -1.0
            liq = mark - side * (equity - maint) / abs(p.size) / (1.0 - side / (2 * mx))
            entry_margin = abs(p.size) * p.entry / lev
            positions.append({"type": "oneWay", "position": {
                "coin": coin, "szi": decimal_string(p.size), "leverage": {"type": "cross", "value": lev},
                "entryPx": decimal_string(round(p.entry, 6)), "positionValue": _money(value),
                "unrealizedPnl": _money(upnl),
                "returnOnEquity": decimal_string(round(upnl / entry_margin, 8)) if entry_margin else "0.0",
                "liquidationPx": decimal_string(round(liq, 6)) if liq > 0 else None,
                "marginUsed": _money(value / lev), "maxLeverage": mx,
                "cumFunding": {"allTime": "0.0", "sinceOpen": "0.0", "sinceChange": "0.0"},
            }})
        summary = {"accountValue": _money(equity), "totalNtlPos": _money(ntl),
                   "totalRawUsd": _money(equity - sum(p.size * mark for _, p, mark, _, _ in rows)),
                   "totalMarginUsed": _money(margin)}
        return {"marginSummary": summary, "crossMarginSummary": dict(summary),
                "crossMaintenanceMarginUsed": _money(maint), "withdrawable": _money(max(0.0, equity - margin)),
                "assetPositions": positions, "time": int(now_ms)}

    def wallets(self) -> list[str]:
        """Every wallet that traded so far (tests and tools pick from these)."""
        self.catch_up()
        return sorted(self._wallets)

    def deposit(self, wallet: str) -> float:
        """What the wallet has deposited so far, USD."""
        self.catch_up()
        acct = self._wallets.get(wallet.lower())
        return acct.deposit if acct else 0.0
