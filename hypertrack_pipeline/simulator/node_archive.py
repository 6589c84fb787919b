"""Write the simulated market as Hyperliquid's node archive: hourly LZ4 files of fills.

Layout as in the bucket (``s3://hl-mainnet-node-data``): ``DIR/<format>/hourly/YYYYMMDD/H.lz4`` (hour
without a leading zero), the format of each hour chosen by :func:`~hypertrack_pipeline.archive.parse.
format_for_hour` (``node_fills_by_block`` from 2025-07-27 09:00 UTC, ``node_fills`` and ``node_trades``
before). The lines are compact JSON in the real field order (see the 2-block fixture); the fills are
the landing zone's trades, both sides each (buyer ``B`` first, ``crossed`` for the taker), with the
exchange's fields computed by :mod:`~hypertrack_pipeline.simulator.accounts`.

Blocks: every distinct trade time is one block (block_time = that ms plus sub-ms digits); block
numbers rise about ten a second. A block is filed by the node's clock: ``local_time`` is 80–600 ms
after ``block_time`` (never going back), so each file opens with the previous hour's last blocks, as
in the real archive. A file is written for every hour of the window (and the one after, where the
last blocks spill over), and for the prehistory hours that hold fills.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hypertrack_pipeline.archive.parse import BY_BLOCK, FILLS, format_for_hour
from hypertrack_pipeline.archive.source import archive_key
from hypertrack_pipeline.simulator.accounts import (
    FillBook,
    TradeArrays,
    book_fills,
    draw_traits,
    trade_arrays,
    units_text,
)
from hypertrack_pipeline.simulator.agents import HOUR_MS, Population
from hypertrack_pipeline.simulator.universe import Coin
from hypertrack_pipeline.simulator.wire import decimal_string

HOUR_NS = HOUR_MS * 1_000_000
FIRST_BLOCK = 800_000_000
_FILL = ('{"coin":"%s","px":"%s","sz":"%s","side":"%s","time":%d,"startPosition":"%s","dir":"%s",'
         '"closedPnl":"%s","hash":"%s","oid":%d,"crossed":%s,"fee":"%s","tid":%d,%s%s"feeToken":"%s"%s,'
         '"twapId":null}')


@dataclass(frozen=True)
class ArchiveSummary:
    """What :func:`write_node_archive` wrote."""

    files: int
    blocks: int
    fills: int
    liquidations: int
    root: str


def _iso_ns(ns: int, cache: dict[int, str]) -> str:
    sec, frac = divmod(ns, 1_000_000_000)
    head = cache.get(sec)
    if head is None:
        head = cache[sec] = datetime.fromtimestamp(sec, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{head}.{frac:09d}"


def _fill_texts(tr: TradeArrays, coins: tuple[Coin, ...], addresses: list[str], book: FillBook,
                traits_cloid: np.ndarray, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """(user, fill JSON) of every fill, 2i the buyer's and 2i+1 the seller's."""
    n = len(tr)
    px_cache: dict[float, str] = {}
    sz_cache: dict[tuple[int, int], str] = {}
    oid0 = 300_000_000_000 + int(rng.integers(0, 10**9))
    cloid_bytes = rng.bytes(16 * 2 * n).hex()
    users: list[str] = [""] * (2 * n)
    texts: list[str] = [""] * (2 * n)
    names = [c.name for c in coins]
    szd = [c.sz_decimals for c in coins]
    coin_l, px_l, lots_l, time_l, tid_l = tr.coin.tolist(), tr.px.tolist(), tr.lots.tolist(), tr.time.tolist(), tr.tid.tolist()
    buyer_l, seller_l, tb_l = tr.buyer.tolist(), tr.seller.tolist(), tr.taker_buys.tolist()
    cloid_l = traits_cloid.tolist()
    for i in range(n):
        c = coin_l[i]
        px = px_l[i]
        pxs = px_cache.get(px)
        if pxs is None:
            pxs = px_cache[px] = decimal_string(px)
        key = (c, lots_l[i])
        szs = sz_cache.get(key)
        if szs is None:
            szs = sz_cache[key] = units_text(lots_l[i], szd[c])
        liq_w = book.liquidated[i]
        liq = "" if liq_w < 0 else (f'"liquidation":{{"liquidatedUser":"{addresses[liq_w]}","markPx":"{pxs}",'
                                    f'"method":"market"}},')
        for f, w, side, crossed in ((2 * i, buyer_l[i], "B", tb_l[i]), (2 * i + 1, seller_l[i], "A", not tb_l[i])):
            # the taker's order is the newer one: a larger oid than the resting maker's
            oid = oid0 + 2 * i + (1 if crossed else 0)
            cloid = f'"cloid":"0x{cloid_bytes[32 * f:32 * f + 32]}",' if cloid_l[w] else ""
            b = book.builder[f]
            builder = "" if b is None else f',"builder":"{b}","builderFee":"{book.builder_fee[f]}"'
            users[f] = addresses[w]
            texts[f] = _FILL % (names[c], pxs, szs, side, time_l[i], book.start[f], book.direction[f],
                                book.closed_pnl[f], tr.hash[i], oid, "true" if crossed else "false", book.fee[f],
                                tid_l[i], cloid, liq, book.fee_token[f], builder)
    return users, texts


def _trade_line(tr: TradeArrays, i: int, users: list[str], texts: list[str], book: FillBook, block_ns: int,
                cache: dict[int, str]) -> str:
    """One ``node_trades`` line (the 2025-03 to 2025-05 format): the trade with both sides' info."""
    import json

    sides = []
    for f in (2 * i, 2 * i + 1):
        fill = json.loads(texts[f])
        sides.append({"user": users[f], "start_pos": fill["startPosition"], "oid": fill["oid"], "twap_id": None,
                      "cloid": fill.get("cloid")})
    b = json.loads(texts[2 * i])
    obj = {"coin": b["coin"], "side": "B" if tr.taker_buys[i] else "A", "time": _iso_ns(block_ns, cache),
           "px": b["px"], "sz": b["sz"], "hash": b["hash"], "trade_dir_override": "Na", "side_info": sides,
           "tid": int(tr.tid[i])}
    return json.dumps(obj, separators=(",", ":"))


def write_node_archive(root: str | Path, trades: list[pa.Table], coins: tuple[Coin, ...], pop: Population,
                       seed: int, window: tuple[int, int], truth_dir: str | Path | None = None) -> ArchiveSummary:
    """Write the node archive of a simulated run under ``root`` and, in ``truth_dir``,
    ``exchange_positions.parquet`` (per wallet and coin: the exchange's view of the same fills).

    ``trades``: the run's landed ``trades`` tables (any order of rows; prehistory included);
    ``window``: the run's [start, end) in ms (every hour of it gets a file). Same arguments, same bytes.
    """
    import lz4.frame

    root = Path(root)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 9, 10**7]))
    tr = trade_arrays(trades, coins, pop.addresses)
    traits = draw_traits(rng, pop)
    book = book_fills(tr, coins, pop.addresses, traits, rng)
    users, texts = _fill_texts(tr, coins, pop.addresses, book, traits.uses_cloid, rng)

    # blocks: one per distinct trade time
    n = len(tr)
    new_block = np.r_[True, tr.time[1:] != tr.time[:-1]] if n else np.zeros(0, bool)
    starts = np.flatnonzero(new_block)
    bt = tr.time[starts]
    block_ns = bt * 1_000_000 + rng.integers(0, 1_000_000, len(starts))
    lag = rng.integers(80_000_000, 600_000_000, len(starts))
    local_ns = np.maximum.accumulate(block_ns + lag) + np.arange(len(starts))  # the node's clock never goes back
    t0 = int(bt[0]) if len(bt) else 0
    numbers = FIRST_BLOCK + (bt - t0) // 100 + np.arange(len(starts))
    ends = np.r_[starts[1:], n]

    files: dict[int, list[str]] = defaultdict(list)  # hour (ms) → lines
    cache: dict[int, str] = {}
    for b in range(len(starts)):
        hour_ms = int(local_ns[b] // HOUR_NS) * HOUR_MS
        fmt = format_for_hour(datetime.fromtimestamp(hour_ms / 1000, tz=UTC))
        lo, hi = int(starts[b]), int(ends[b])
        if fmt == BY_BLOCK:
            events = ",".join(f'["{users[f]}",{texts[f]}]' for f in range(2 * lo, 2 * hi))
            files[hour_ms].append(
                f'{{"local_time":"{_iso_ns(int(local_ns[b]), cache)}","block_time":"{_iso_ns(int(block_ns[b]), cache)}",'
                f'"block_number":{int(numbers[b])},"events":[{events}]}}')
        elif fmt == FILLS:
            files[hour_ms].extend(f'["{users[f]}",{texts[f]}]' for f in range(2 * lo, 2 * hi))
        else:
            files[hour_ms].extend(_trade_line(tr, i, users, texts, book, int(block_ns[b]), cache) for i in range(lo, hi))
    start_ms, end_ms = window
    last = max(files) if files else end_ms - HOUR_MS
    for h in range(start_ms, max(end_ms, last) + HOUR_MS, HOUR_MS):
        files.setdefault(h, [])
    for hour_ms, lines in sorted(files.items()):
        hour = datetime.fromtimestamp(hour_ms / 1000, tz=UTC)
        path = root / archive_key(format_for_hour(hour), hour)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = ("\n".join(lines) + "\n").encode() if lines else b""
        tmp = path.with_suffix(".lz4.tmp")
        tmp.write_bytes(lz4.frame.compress(data))
        tmp.replace(path)
    if truth_dir is not None:
        Path(truth_dir).mkdir(parents=True, exist_ok=True)
        pq.write_table(book.positions, Path(truth_dir) / "exchange_positions.parquet", compression="zstd")
    return ArchiveSummary(files=len(files), blocks=len(starts), fills=2 * n,
                          liquidations=sum(1 for x in book.liquidated if x >= 0), root=str(root))

