"""Ground truth: every wallet's true position and PnL per coin, kept as the market runs.

Convention (the warehouse reconstructs the same numbers from the landed trades): per wallet and
coin, fills in (time, tid) order, average-cost accounting; a fill that reduces the position
realizes ``closed × (px − avg) × sign(position)``; a flip closes at the average cost and opens the
rest at the fill price; unrealized = position × (last mid − avg), the last mid being the mid of
the last BBO row emitted for the coin. No fees. A self-trade (buyer == seller) is a no-op for
position and PnL (it still counts as two fills of that wallet). Positions are whole lots
(10**-szDecimals), so they are exact and a flat position is exactly zero.

The accounting is path dependent, so it is vectorized *across* (wallet, coin) books: step k
applies the k-th fill of every book at once; a batch costs (longest book) numpy steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

WALLETS_SCHEMA = pa.schema(
    [
        pa.field("wallet", pa.string(), nullable=False),
        pa.field("archetypes", pa.list_(pa.string()), nullable=False),
        pa.field("primary_archetype", pa.string(), nullable=False),
        pa.field("uses_evm", pa.bool_(), nullable=False),
    ]
)
PNL_SCHEMA = pa.schema(
    [
        pa.field("wallet", pa.string(), nullable=False),
        pa.field("coin", pa.string(), nullable=False),
        pa.field("realized_pnl", pa.float64(), nullable=False),
        pa.field("unrealized_pnl", pa.float64(), nullable=False),
        pa.field("end_position", pa.float64(), nullable=False),
        pa.field("last_mid", pa.float64(), nullable=False),
        pa.field("fills", pa.int64(), nullable=False),
        pa.field("notional", pa.float64(), nullable=False),
    ]
)


class Ledger:
    """Average-cost books for every (wallet, coin)."""

    def __init__(self, n_wallets: int, lot_scale: np.ndarray) -> None:
        self.n_coins = len(lot_scale)
        self.lot_scale = np.asarray(lot_scale, np.float64)
        size = n_wallets * self.n_coins
        self.pos = np.zeros(size, np.int64)  # lots
        self.avg = np.zeros(size, np.float64)
        self.realized = np.zeros(size, np.float64)
        self.fills = np.zeros(size, np.int64)
        self.notional = np.zeros(size, np.float64)
        self.last_mid = np.full(self.n_coins, np.nan)

    def position_lots(self, wallet: np.ndarray | int, coin: int) -> np.ndarray:
        return self.pos[np.asarray(wallet) * self.n_coins + coin]

    def apply(
        self, coin: np.ndarray, time: np.ndarray, tid: np.ndarray, px: np.ndarray, lots: np.ndarray,
        buyer: np.ndarray, seller: np.ndarray,
    ) -> None:
        """Book a batch of trades (any order; the batch must be later than every earlier batch)."""
        if not len(coin):
            return
        coin = coin.astype(np.int64)
        sz = lots / self.lot_scale[coin]
        size = len(self.pos)
        for who in (buyer, seller):
            key = who.astype(np.int64) * self.n_coins + coin
            self.fills += np.bincount(key, minlength=size)
            self.notional += np.bincount(key, weights=px * sz, minlength=size)
        real = buyer != seller
        key = np.concatenate([buyer[real], seller[real]]).astype(np.int64) * self.n_coins + np.tile(coin[real], 2)
        q = np.concatenate([lots[real], -lots[real]]).astype(np.int64)
        p = np.tile(px[real], 2)
        order = np.lexsort((np.tile(tid[real], 2), np.tile(time[real], 2), key))
        key, q, p = key[order], q[order], p[order]
        first = np.r_[True, key[1:] != key[:-1]]
        starts = np.flatnonzero(first)
        rank = np.arange(len(key)) - np.repeat(starts, np.diff(np.r_[starts, len(key)]))
        by_rank = np.argsort(rank, kind="stable")
        bounds = np.searchsorted(rank[by_rank], np.arange(rank.max() + 2 if len(rank) else 1))
        for k in range(len(bounds) - 1):
            sel = by_rank[bounds[k] : bounds[k + 1]]
            self._step(key[sel], q[sel], p[sel])

    def _step(self, g: np.ndarray, q: np.ndarray, p: np.ndarray) -> None:
        p0, a0 = self.pos[g], self.avg[g]
        p1 = p0 + q
        s0, s1 = np.sign(p0), np.sign(p1)
        grows = (p0 == 0) | (s0 == np.sign(q))
        closed = np.where(grows, 0, np.minimum(np.abs(q), np.abs(p0)))
        scale = self.lot_scale[g % self.n_coins]
        self.realized[g] += closed / scale * (p - a0) * s0
        with np.errstate(divide="ignore", invalid="ignore"):
            grown = np.where(p0 == 0, p, (p0 * a0 + q * p) / np.where(p1 == 0, 1, p1))
        self.avg[g] = np.where(grows, grown, np.where(p1 == 0, 0.0, np.where(s1 == s0, a0, p)))
        self.pos[g] = p1

    def pnl_table(self, addresses: list[str], coin_names: list[str]) -> pa.Table:
        """One row per (wallet, coin) with at least one fill, ordered by wallet then coin."""
        idx = np.flatnonzero(self.fills > 0)
        w, c = idx // self.n_coins, idx % self.n_coins
        pos = self.pos[idx] / self.lot_scale[c]
        mid = np.nan_to_num(self.last_mid[c], nan=0.0)
        unreal = np.where(self.pos[idx] == 0, 0.0, pos * (mid - self.avg[idx]))
        addr = pa.array(addresses, pa.string())
        table = pa.table(
            {
                "wallet": addr.take(pa.array(w)),
                "coin": pa.array(coin_names, pa.string()).take(pa.array(c)),
                "realized_pnl": self.realized[idx],
                "unrealized_pnl": unreal,
                "end_position": pos,
                "last_mid": mid,
                "fills": self.fills[idx],
                "notional": self.notional[idx],
            },
            schema=PNL_SCHEMA,
        )
        return table.sort_by([("wallet", "ascending"), ("coin", "ascending")])


def write_ground_truth(directory: Path, wallets: pa.Table, pnl: pa.Table) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(wallets.cast(WALLETS_SCHEMA), directory / "wallets.parquet", compression="zstd")
    pq.write_table(pnl.cast(PNL_SCHEMA), directory / "pnl.parquet", compression="zstd")
