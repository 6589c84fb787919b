"""The exchange's own books of the simulated market: what each fill of the node archive says.

For every fill (both sides of every trade) this computes what Hyperliquid writes in ``userFills``:
``startPosition`` (the position or spot balance before the fill), ``dir``, ``closedPnl`` (average
entry price, before fees), ``fee`` with ``feeToken``, the builder and its fee, and liquidations. It is
a deliberately plain per-fill loop, written apart from the warehouse's vectorized average-cost code
(``warehouse/avgcost.py``), because the archive is what that code is checked against.

Model (stated once; the ground-truth README repeats it):

- Perps (main dex and builder dexes) start flat; a fill that adds moves the average entry to the
  size-weighted mean, a reducing fill realizes ``closed × (px − entry) × sign(position)``, a flip
  closes at the entry and opens the rest at the fill price. ``closedPnl`` is rounded to 6 decimals.
- Spot cannot be shorted. A wallet that sells more than it bought during the run holds a deposit
  made before the window (``deposit`` base units at a stated ``deposit_px``), sized so that its
  balance never goes below zero; its first fill therefore shows a non-zero ``startPosition``. A
  sell realizes ``sz × (px − entry)`` (8 decimals); a buy moves the entry to the size-weighted mean.
- Fees: perps 0.045 % taker / 0.015 % maker, spot 0.07 % / 0.04 %; market makers earn a maker rebate
  (−0.001 % to −0.003 %). Perp fees are paid in the dex's collateral, spot sells and rebates in USDC,
  positive spot-buy fees in the base token (deducted from the balance, which keeps its entry price).
  Some takers route through a builder that charges 1–5 bp more; ``fee`` includes it, ``builderFee``
  is that part.
- Liquidations: leveraged wallets (retail, trend, volatility and informed traders at 3–40×, capped
  by the coin's max leverage) whose taker fill reduces a perp position after the loss has eaten the
  margin down to the maintenance margin (half of the initial margin at max leverage) were being
  liquidated: that fill (the same trade as in the live ``trades`` stream) carries the liquidation,
  and so does the counterparty's fill, as on the real exchange (method ``market``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hypertrack_pipeline.simulator.agents import A, Population
from hypertrack_pipeline.simulator.universe import SPOT, TOKEN_BY_NAME, Coin

PERP_TAKER, PERP_MAKER = 0.00045, 0.00015
SPOT_TAKER, SPOT_MAKER = 0.0007, 0.0004
MAKER_REBATES = (-0.00001, -0.00002, -0.00003)
BUILDER_RATES = (0.0001, 0.0003, 0.0005)  # per builder
PERP_MONEY_DECIMALS, SPOT_MONEY_DECIMALS = 6, 8
LEVERAGES = (3, 5, 10, 20, 40)
_LEVERAGED = ("retail", "momentum", "contrarian", "volatility_trader", "informed")
_BOTS = ("market_maker", "hft_scalper", "arbitrageur", "wash_trader")

EXCHANGE_POSITIONS_SCHEMA = pa.schema([
    pa.field("wallet", pa.string(), nullable=False),
    pa.field("coin", pa.string(), nullable=False),
    pa.field("market", pa.string(), nullable=False),  # perp, spot or dex
    pa.field("start_position", pa.float64(), nullable=False),  # spot deposit before the window (else 0)
    pa.field("start_entry_px", pa.float64(), nullable=False),  # the deposit's stated entry price (else 0)
    pa.field("end_position", pa.float64(), nullable=False),
    pa.field("closed_pnl", pa.float64(), nullable=False),  # sum of the fills' closedPnl (as written)
    pa.field("fees_usd", pa.float64(), nullable=False),  # fees incl. builder fees; base-token fees × px
    pa.field("builder_fees_usd", pa.float64(), nullable=False),
    pa.field("fills", pa.int64(), nullable=False),
    pa.field("notional", pa.float64(), nullable=False),
    pa.field("liquidation_fills", pa.int64(), nullable=False),  # fills of this wallet that were liquidated
    pa.field("liquidation_notional", pa.float64(), nullable=False),
])


@dataclass
class TradeArrays:
    """Every trade of a run as arrays, in (time, coin, tid) order (the landing zone's trades)."""

    coin: np.ndarray  # int64 index into the run's coins
    px: np.ndarray  # float64
    lots: np.ndarray  # int64 size in lots of 10**-szDecimals
    time: np.ndarray  # int64 ms
    tid: np.ndarray  # int64
    taker_buys: np.ndarray  # bool: the aggressor was the buyer (side "B")
    buyer: np.ndarray  # int64 wallet index
    seller: np.ndarray  # int64 wallet index
    hash: list[str]

    def __len__(self) -> int:
        return len(self.time)


def trade_arrays(tables: list[pa.Table], coins: tuple[Coin, ...], addresses: list[str]) -> TradeArrays:
    """Concatenate landed ``trades`` tables into :class:`TradeArrays` (wallets and coins as indices)."""
    from hypertrack_pipeline.landing.schemas import TRADES

    t = pa.concat_tables([x.select(TRADES.names) for x in tables]) if tables else TRADES.empty_table()
    names = pa.array([c.name for c in coins], pa.string())
    addr = pa.array(addresses, pa.string())
    coin = pc.index_in(t["coin"], value_set=names).to_numpy(zero_copy_only=False).astype(np.int64)
    buyer = pc.index_in(t["buyer"], value_set=addr).to_numpy(zero_copy_only=False).astype(np.int64)
    seller = pc.index_in(t["seller"], value_set=addr).to_numpy(zero_copy_only=False).astype(np.int64)
    time, tid = t["time"].to_numpy(), t["tid"].to_numpy()
    order = np.lexsort((tid, coin, time))
    scale = np.array([10.0**c.sz_decimals for c in coins])
    sz = t["sz"].to_numpy()[order]
    hashes = t["hash"].to_pylist()
    return TradeArrays(
        coin=coin[order], px=t["px"].to_numpy()[order], lots=np.rint(sz * scale[coin[order]]).astype(np.int64),
        time=time[order], tid=tid[order],
        taker_buys=pc.equal(t["side"], "B").to_numpy(zero_copy_only=False)[order],
        buyer=buyer[order], seller=seller[order], hash=[hashes[i] for i in order.tolist()],
    )


@dataclass
class WalletTraits:
    """Per-wallet exchange settings drawn once per seed: maker rate, builder, cloids, leverage."""

    maker_rebate: np.ndarray  # float64: 0, or a negative maker rate (market makers)
    builder: np.ndarray  # int64: index into builder addresses, -1 = none
    uses_cloid: np.ndarray  # bool
    leverage: np.ndarray  # int64: 0 = not leveraged (never liquidated)
    builders: list[str]


def draw_traits(rng: np.random.Generator, pop: Population) -> WalletTraits:
    n = pop.n
    is_ = {name: (pop.primary == A[name]) for name in A}
    mm = is_["market_maker"]
    rebate = np.where(mm, np.array(MAKER_REBATES)[rng.integers(0, len(MAKER_REBATES), n)], 0.0)
    routed = (is_["retail"] & (rng.random(n) < 0.4)) | ((is_["momentum"] | is_["contrarian"]) & (rng.random(n) < 0.2))
    builder = np.where(routed, rng.integers(0, len(BUILDER_RATES), n), -1).astype(np.int64)
    bots = np.zeros(n, bool)
    for name in _BOTS:
        bots |= is_[name]
    uses_cloid = bots | (rng.random(n) < 0.1)
    leveraged = np.zeros(n, bool)
    for name in _LEVERAGED:
        leveraged |= is_[name]
    leverage = np.where(leveraged, np.array(LEVERAGES)[rng.integers(0, len(LEVERAGES), n)], 0).astype(np.int64)
    builders = ["0x" + rng.bytes(20).hex() for _ in BUILDER_RATES]
    return WalletTraits(rebate, builder, uses_cloid, leverage, builders)


@dataclass
class FillBook:
    """Per fill (2 per trade: index 2i the buyer's, 2i+1 the seller's), the exchange's fields as text,
    and per (wallet, coin) the totals of :data:`EXCHANGE_POSITIONS_SCHEMA`."""

    start: list[str]
    direction: list[str]
    closed_pnl: list[str]
    fee: list[str]
    fee_token: list[str]
    builder: list[str | None]
    builder_fee: list[str | None]
    liquidated: list[int]  # per trade: the liquidated wallet, -1 = none
    start_units: list[int]  # per fill: position before it, in the coin's balance units (lots, or wei on spot)
    positions: pa.Table


def _money(x: float, decimals: int) -> str:
    """A decimal string as the exchange writes money: fixed decimals, trailing zeros cut, "0.0" not "-0.0"."""
    s = f"{x:.{decimals}f}".rstrip("0")
    s = s + "0" if s.endswith(".") else s
    return "0.0" if s == "-0.0" else s


def units_text(n: int, decimals: int) -> str:
    """An integer count of 10**-decimals units as exact decimal text (``12345, 3`` → ``12.345``)."""
    sign = "-" if n < 0 else ""
    q, r = divmod(abs(n), 10**decimals)
    frac = f"{r:0{decimals}d}".rstrip("0") if decimals else ""
    return f"{sign}{q}.{frac or '0'}"


def _spot_units(coin: Coin) -> tuple[int, int]:
    """(wei decimals of the base token, wei per lot)."""
    wd = TOKEN_BY_NAME[coin.base].wei_decimals if coin.base in TOKEN_BY_NAME else coin.sz_decimals + 4
    return wd, 10 ** (wd - coin.sz_decimals)


def spot_deposits(rng: np.random.Generator, tr: TradeArrays, coins: tuple[Coin, ...], n_wallets: int,
                  base_fee_units: np.ndarray) -> tuple[dict[int, int], dict[int, float]]:
    """Per (wallet × coins + coin) of a spot coin: the pre-window balance (base wei) that keeps the
    balance at or above zero through every fill, with 5–50 % to spare, whole lots; and its entry price."""
    deposit: dict[int, int] = {}
    entry: dict[int, float] = {}
    n_c = len(coins)
    for c, coin in enumerate(coins):
        if coin.kind != SPOT:
            continue
        _, per_lot = _spot_units(coin)
        idx = np.flatnonzero(tr.coin == c)
        if not len(idx):
            continue
        who = np.concatenate([tr.buyer[idx], tr.seller[idx]])
        delta = np.concatenate([tr.lots[idx] * per_lot - base_fee_units[2 * idx], -tr.lots[idx] * per_lot])
        seq = np.concatenate([2 * idx, 2 * idx + 1])
        order = np.lexsort((seq, who))
        who, delta = who[order], delta[order]
        starts = np.r_[0, np.flatnonzero(np.diff(who)) + 1]
        csum = np.cumsum(delta)
        base = np.repeat(np.r_[0, csum[starts[1:] - 1]], np.diff(np.r_[starts, len(who)]))
        low = np.minimum.reduceat(csum - base, starts)
        for w, m in zip(who[starts].tolist(), low.tolist(), strict=True):
            if m >= 0:
                continue
            need = -m * (1.0 + rng.uniform(0.05, 0.5))
            lots = int(np.ceil(need / per_lot))
            deposit[w * n_c + c] = lots * per_lot
            px = coin.start_px * float(np.exp(rng.normal(0, 0.15)))
            entry[w * n_c + c] = float(f"{px:.5g}")
    return deposit, entry


def book_fills(tr: TradeArrays, coins: tuple[Coin, ...], addresses: list[str], traits: WalletTraits,
               rng: np.random.Generator) -> FillBook:
    """Walk every fill in order and write down what the exchange would (see the module doc)."""
    n_c = len(coins)
    n = len(tr)
    spot = np.array([c.kind == SPOT for c in coins], bool)
    scale = np.array([10.0**c.sz_decimals for c in coins])
    sz = tr.lots / scale[tr.coin]
    notional = tr.px * sz
    # fills: 2i buyer, 2i+1 seller
    wallet = np.empty(2 * n, np.int64)
    wallet[0::2], wallet[1::2] = tr.buyer, tr.seller
    taker = np.empty(2 * n, bool)
    taker[0::2], taker[1::2] = tr.taker_buys, ~tr.taker_buys
    fcoin = np.repeat(tr.coin, 2)
    fspot = spot[fcoin]
    rate = np.where(taker, np.where(fspot, SPOT_TAKER, PERP_TAKER),
                    np.where(traits.maker_rebate[wallet] < 0, traits.maker_rebate[wallet],
                             np.where(fspot, SPOT_MAKER, PERP_MAKER)))
    bidx = np.where(taker, traits.builder[wallet], -1)
    brate = np.where(bidx >= 0, np.array(BUILDER_RATES)[np.maximum(bidx, 0)], 0.0)
    is_buy = np.tile(np.array([True, False]), n)
    base_fee = fspot & is_buy & (rate > 0)  # paid in the base token
    wei_dec = np.array([_spot_units(c)[0] if c.kind == SPOT else 0 for c in coins], np.int64)
    fsz = np.repeat(sz, 2)
    base_fee_units = np.where(base_fee, np.rint(fsz * rate * 10.0 ** wei_dec[fcoin]), 0).astype(np.int64)
    base_bfee_units = np.where(base_fee, np.rint(fsz * brate * 10.0 ** wei_dec[fcoin]), 0).astype(np.int64)
    deposit, deposit_px = spot_deposits(rng, tr, coins, len(addresses), base_fee_units + base_bfee_units)

    per_lot = [(_spot_units(c)[1] if c.kind == SPOT else 1) for c in coins]
    unit_dec = [(_spot_units(c)[0] if c.kind == SPOT else c.sz_decimals) for c in coins]
    max_lev = [c.max_leverage for c in coins]
    fee_token_perp = [c.collateral for c in coins]
    base_token = [c.base for c in coins]
    size = len(addresses) * n_c
    pos = [0] * size
    avg = [0.0] * size
    for k, units in deposit.items():
        pos[k] = units
        avg[k] = deposit_px[k]
    closed_sum = [0.0] * size
    fees_usd = [0.0] * size
    bfees_usd = [0.0] * size
    fills = [0] * size
    notional_sum = [0.0] * size
    liq_fills = [0] * size
    liq_notional = [0.0] * size

    start: list[str] = [""] * (2 * n)
    start_units = [0] * (2 * n)
    direction: list[str] = [""] * (2 * n)
    closed_txt: list[str] = [""] * (2 * n)
    fee_txt: list[str] = [""] * (2 * n)
    token: list[str] = [""] * (2 * n)
    builder_txt: list[str | None] = [None] * (2 * n)
    bfee_txt: list[str | None] = [None] * (2 * n)
    liquidated = [-1] * n

    coin_l, lots_l, px_l, sz_l, not_l = tr.coin.tolist(), tr.lots.tolist(), tr.px.tolist(), sz.tolist(), notional.tolist()
    wallet_l, rate_l, brate_l, bidx_l = wallet.tolist(), rate.tolist(), brate.tolist(), bidx.tolist()
    bfu_l, bbfu_l, lev_l = base_fee_units.tolist(), base_bfee_units.tolist(), traits.leverage.tolist()
    scale_l = scale.tolist()
    taker_l = taker.tolist()
    for i in range(n):
        c = coin_l[i]
        px, q, s, notion = px_l[i], lots_l[i], sz_l[i], not_l[i]
        is_spot = spot[c]
        liq = -1
        for f in (2 * i, 2 * i + 1):
            w = wallet_l[f]
            k = w * n_c + c
            buy = f == 2 * i
            p0 = pos[k]
            a0 = avg[k]
            start_units[f] = p0
            start[f] = units_text(p0, unit_dec[c])
            pnl = 0.0
            if is_spot:
                units = q * per_lot[c]
                if buy:
                    p1 = p0 + units
                    avg[k] = (p0 * a0 + units * px) / p1
                    p1 -= bfu_l[f] + bbfu_l[f]
                    direction[f] = "Buy"
                else:
                    pnl = s * (px - a0)
                    p1 = p0 - units
                    direction[f] = "Sell"
                if p1 == 0:
                    avg[k] = 0.0
                pos[k] = p1
                closed_txt[f] = _money(pnl, SPOT_MONEY_DECIMALS)
            else:
                dq = q if buy else -q
                p1 = p0 + dq
                if p0 == 0 or (p0 > 0) == buy:  # opens or adds
                    avg[k] = px if p0 == 0 else (p0 * a0 + dq * px) / p1
                    direction[f] = "Open Long" if buy else "Open Short"
                else:
                    closed = min(q, abs(p0))
                    sign = 1.0 if p0 > 0 else -1.0
                    pnl = closed / scale_l[c] * (px - a0) * sign
                    if p1 == 0:
                        avg[k] = 0.0
                        direction[f] = "Close Short" if buy else "Close Long"
                    elif (p1 > 0) != (p0 > 0):
                        avg[k] = px
                        direction[f] = "Short > Long" if buy else "Long > Short"
                    else:
                        direction[f] = "Close Short" if buy else "Close Long"
                    lev = min(lev_l[w], max_lev[c])
                    if taker_l[f] and lev > 0 and liq < 0:
                        held = abs(p0) / scale_l[c]
                        loss = held * (a0 - px) * sign
                        if loss >= held * a0 / lev - held * px / (2 * max_lev[c]):
                            liq = w
                pos[k] = p1
                closed_txt[f] = _money(pnl, PERP_MONEY_DECIMALS)
            closed_sum[k] += float(closed_txt[f])
            # fees
            r, br = rate_l[f], brate_l[f]
            if is_spot and buy and r > 0:
                wd = unit_dec[c]
                fee_txt[f] = units_text(bfu_l[f] + bbfu_l[f], wd)
                token[f] = base_token[c]
                fee_usd = float(fee_txt[f]) * px
                b_usd = bbfu_l[f] / 10.0**wd * px
                if bidx_l[f] >= 0:
                    bfee_txt[f] = units_text(bbfu_l[f], wd)
            else:
                dec = SPOT_MONEY_DECIMALS if is_spot else PERP_MONEY_DECIMALS
                base_part = round(notion * r, dec)
                b_part = round(notion * br, dec)
                fee_txt[f] = _money(base_part + b_part, dec)
                token[f] = "USDC" if is_spot else fee_token_perp[c]
                fee_usd = float(fee_txt[f])
                b_usd = b_part
                if bidx_l[f] >= 0:
                    bfee_txt[f] = _money(b_part, dec)
            if bidx_l[f] >= 0:
                builder_txt[f] = traits.builders[bidx_l[f]]
            fees_usd[k] += fee_usd
            bfees_usd[k] += b_usd
            fills[k] += 1
            notional_sum[k] += notion
        if liq >= 0:
            liquidated[i] = liq
            k = liq * n_c + c
            liq_fills[k] += 1
            liq_notional[k] += notion

    keys = [k for k in range(size) if fills[k]]
    kinds = [c.kind for c in coins]
    positions = pa.table({
        "wallet": [addresses[k // n_c] for k in keys],
        "coin": [coins[k % n_c].name for k in keys],
        "market": [kinds[k % n_c] for k in keys],
        "start_position": [deposit.get(k, 0) / 10.0 ** unit_dec[k % n_c] for k in keys],
        "start_entry_px": [deposit_px.get(k, 0.0) for k in keys],
        "end_position": [pos[k] / 10.0 ** unit_dec[k % n_c] for k in keys],
        "closed_pnl": [closed_sum[k] for k in keys],
        "fees_usd": [fees_usd[k] for k in keys],
        "builder_fees_usd": [bfees_usd[k] for k in keys],
        "fills": [fills[k] for k in keys],
        "notional": [notional_sum[k] for k in keys],
        "liquidation_fills": [liq_fills[k] for k in keys],
        "liquidation_notional": [liq_notional[k] for k in keys],
    }, schema=EXCHANGE_POSITIONS_SCHEMA).sort_by([("wallet", "ascending"), ("coin", "ascending")])
    return FillBook(start, direction, closed_txt, fee_txt, token, builder_txt, bfee_txt, liquidated, start_units,
                    positions)
