"""Write a simulated market straight into a landing zone, plus its ground truth.

Layout: ``DIR/raw/<stream>/date=…/hour=…/part-000000.parquet`` (one part per stream-hour, an empty
part when the hour had no rows, so every closed hour is readable) with a ``_SUCCESS`` marker each,
and ``DIR/ground_truth/{wallets.parquet, pnl.parquet, manifest.json}``. Parquet bytes depend only
on the configuration (no wall-clock values inside); the ``_SUCCESS`` markers carry the close time.

With ``formats`` holding ``node-archive`` the same trades are also written as Hyperliquid's node
archive (``DIR/node_fills_by_block/hourly/…``, see :mod:`.node_archive`) with
``ground_truth/exchange_positions.parquet``; ``formats=("node-archive",)`` skips the landing zone.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.landing.schemas import STREAM_SCHEMAS
from hypertrack_pipeline.landing.zone import Hour, mark_closed, write_part
from hypertrack_pipeline.simulator.agents import ARCHETYPES, HOUR_MS
from hypertrack_pipeline.simulator.market import Market, SimConfig
from hypertrack_pipeline.simulator.truth import WALLETS_SCHEMA, write_ground_truth

Progress = Callable[[int, int], None]  # (hours done, hours total)
WRITER_THREADS = 4
LANDING, NODE_ARCHIVE = "landing", "node-archive"
FORMATS = (LANDING, NODE_ARCHIVE)
_ARCHIVE_DIRS = ("node_fills_by_block", "node_fills", "node_trades")


@dataclass(frozen=True)
class SimSummary:
    out_dir: str
    trades: int
    fills: int
    wallets: int
    hours: int
    files: int
    seconds: float
    intensity: float
    rows: dict[str, int]

    def __str__(self) -> str:
        return self.line()

    def line(self) -> str:
        return (
            f"simulated {self.fills:,} fills ({self.trades:,} trades), {self.wallets} wallets, "
            f"{self.hours} hours, {self.files} files in {self.seconds:.1f} s -> {self.out_dir}"
        )


def _prepare(out_dir: Path, force: bool) -> None:
    raw, truth = out_dir / "raw", out_dir / "ground_truth"
    busy = [p for p in (raw, truth, *(out_dir / d for d in _ARCHIVE_DIRS)) if p.exists() and any(p.iterdir())]
    if not busy:
        return
    if not force:
        raise UserError(f"{out_dir} already holds a landing zone or ground truth; choose another --out or --force")
    if not (truth / "manifest.json").is_file():
        raise UserError(f"{out_dir} was not written by the simulator (no ground_truth/manifest.json); not removing it")
    for p in busy:
        shutil.rmtree(p)


def simulate(out_dir: str | Path, config: SimConfig, progress: Progress | None = None, force: bool = False,
             formats: tuple[str, ...] = (LANDING,)) -> SimSummary:
    """Simulate ``config`` into ``out_dir`` (see module doc); returns counts and timing."""
    t0 = time.perf_counter()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a folder")
    bad = [f for f in formats if f not in FORMATS] or ([] if formats else ["(none)"])
    if bad:
        raise UserError(f"--format: unknown {','.join(bad)}; one of {', '.join(FORMATS)} or both")
    archive = NODE_ARCHIVE in formats
    if archive and "trades" not in config.streams:
        raise UserError("--format node-archive needs the trades stream")
    market = Market(config)
    _prepare(out, force)
    raw = out / "raw"
    landing = LANDING in formats
    if landing:
        raw.mkdir(parents=True, exist_ok=True)
    streams = config.landed_streams() if landing else []
    archived: list[pa.Table] = []
    rows = dict.fromkeys(streams, 0)
    files = 0
    trades = 0

    def land_one(stream: str, hour: Hour, table: pa.Table) -> None:
        write_part(raw, stream, hour, table, seq=0)
        mark_closed(raw, stream, hour, rows=table.num_rows)

    # Parquet encoding and fsync release the GIL: land an hour's streams in parallel while the next
    # hour is generated. Files are independent, so the bytes do not depend on thread timing.
    pending: deque[list[Future]] = deque()
    with ThreadPoolExecutor(max_workers=WRITER_THREADS) as pool:

        def land(hour: Hour, tables: dict[str, pa.Table]) -> None:
            nonlocal files, trades
            if archive:
                archived.append(tables["trades"])
            batch = []
            for stream in streams:
                table = tables.get(stream, STREAM_SCHEMAS[stream].empty_table())
                batch.append(pool.submit(land_one, stream, hour, table))
                rows[stream] += table.num_rows
                files += 1
            trades += tables["trades"].num_rows if landing and "trades" in tables else 0
            pending.append(batch)
            while len(pending) > 2:  # bounded memory: at most a few hours in flight
                for f in pending.popleft():
                    f.result()

        prehistory_hours = 0
        first_hour = Hour.of_ms(config.start_ms)
        for hour, tables in market.prehistory():
            land(hour, tables)
            prehistory_hours += 1
            first_hour = min(first_hour, hour)
        for h in range(config.hours):
            land(Hour.of_ms(config.start_ms + h * HOUR_MS), market.hour(h))
            if progress:
                progress(h + 1, config.hours)
        while pending:
            for f in pending.popleft():
                f.result()

    names = [c.name for c in market.coins]
    pnl = market.ledger.pnl_table(market.pop.addresses, names)
    lists = market.pop.archetype_lists()
    wallets = pa.table(
        {
            "wallet": market.pop.addresses,
            "archetypes": lists,
            "primary_archetype": [x[0] for x in lists],
            "uses_evm": market.pop.uses_evm.tolist(),
        },
        schema=WALLETS_SCHEMA,
    ).sort_by("wallet")
    truth_dir = out / "ground_truth"
    write_ground_truth(truth_dir, wallets, pnl)
    if archive:
        from hypertrack_pipeline.simulator.node_archive import write_node_archive

        summary = write_node_archive(out, archived, market.coins, market.pop, config.seed,
                                     (config.start_ms, config.end_ms), truth_dir)
        trades = trades or summary.fills // 2
        files += summary.files + 1  # the hourly files and exchange_positions.parquet
    fills = int(pnl.column("fills").to_numpy().sum()) if pnl.num_rows else 0
    manifest = _manifest(config, market, rows, trades, fills, prehistory_hours)
    manifest["first_landed_hour"] = first_hour.key  # partitions must start here to see the HODLers' age
    if archive:
        manifest["formats"] = list(formats)
        manifest["node_archive"] = {"files": summary.files, "blocks": summary.blocks, "fills": summary.fills,
                                    "liquidation_trades": summary.liquidations}
    (truth_dir / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    (truth_dir / "README.txt").write_text(_README + (_ARCHIVE_README if archive else ""))
    return SimSummary(
        out_dir=str(out), trades=trades, fills=fills, wallets=market.pop.n, hours=config.hours + prehistory_hours,
        files=files + 4, seconds=time.perf_counter() - t0, intensity=market.intensity, rows=rows,
    )


def _manifest(config: SimConfig, market: Market, rows: dict[str, int], trades: int, fills: int,
              prehistory_hours: int) -> dict:
    args = asdict(config)
    args["start"] = config.start.isoformat()
    counts: dict[str, int] = {a: 0 for a in ARCHETYPES}
    mixed: dict[str, int] = {a: 0 for a in ARCHETYPES}
    for p, s in zip(market.pop.primary.tolist(), market.pop.secondary.tolist(), strict=True):
        counts[ARCHETYPES[p]] += 1
        if s >= 0:
            mixed[ARCHETYPES[s]] += 1
    world = market.evm_world
    return {
        "generator": "hypertrack simulator",
        "seed": config.seed,
        "args": args,
        "start": config.start.isoformat(),
        "end_ms": config.end_ms,
        "start_ms": config.start_ms,
        "window_hours": config.hours,
        "prehistory_hours": prehistory_hours,
        "prehistory_days": config.prehistory_days,
        "intensity": market.intensity,
        "coins": [{"name": c.name, "szDecimals": c.sz_decimals} for c in market.coins],
        "archetypes": list(ARCHETYPES),
        "primary_counts": counts,
        "secondary_counts": mixed,
        "wallets": market.pop.n,
        "trades": trades,
        "fills": fills,
        "rows": rows,
        "contracts": {
            "tokens": [{"address": t.address, "symbol": t.symbol, "decimals": t.decimals} for t in world.tokens],
            "router": world.router,
            "pools": world.pools,
            "distributor": world.distributor,
            "validators": world.validators,
        },
    }


_README = """hypertrack simulator ground truth

wallets.parquet  wallet, archetypes (first = primary; a second entry = mixed wallet), primary_archetype, uses_evm
pnl.parquet      per wallet and coin: realized_pnl, unrealized_pnl, end_position, last_mid, fills, notional
manifest.json    seed, arguments, window, archetype counts, contract addresses (tokens, router, pools,
                 distributor, validators: never wallets, they send no transactions and never trade)

PnL convention: per wallet and coin, fills in (time, tid) order, average cost; reducing fills realize
closed x (px - avg) x sign(position); a flip closes at avg and opens the rest at the fill px; unrealized =
position x (last_mid - avg), last_mid = (bid+ask)/2 of the last BBO row of the coin. No fees. Self-trades
(buyer == seller, planted wash trades) do not change position or PnL, but count as two fills (and their
notional twice). Positions are whole multiples of 10^-szDecimals: round them (e.g. to 9 decimals) when
reconstructing with floats so a flat position is exactly 0. The starting position is 0.

HODLers: their first trade lies in a sparse prehistory (prehistory_days before the start, at least 33 days
before it) so that age_days > 30 even in a short run; those hours are landed like any other (trades, a
quote per trade, candles; other streams empty). Set prehistory_days = 0 to keep everything in the window.
"""

_ARCHIVE_README = """
Node archive (--format node-archive): node_fills_by_block/hourly/YYYYMMDD/H.lz4 beside raw/ (node_fills or
node_trades for hours before 2025-07-27 09:00 / 2025-05-25 14:00 UTC), both fills of every landed trade.
exchange_positions.parquet  per wallet and coin, the exchange's view of those fills: market (perp, spot, dex),
                 start_position and start_entry_px (a spot deposit made before the window; 0 for perps),
                 end_position, closed_pnl (sum of the fills' closedPnl), fees_usd (incl. builder fees; base-token
                 fees at the fill price; USDH/USDT0 taken as 1 USD), builder_fees_usd, fills, notional,
                 liquidation_fills and liquidation_notional (fills in which this wallet was liquidated).
Unlike pnl.parquet, closedPnl starts from the deposit on spot (history starting mid-position), and a
self-trade books both of its fills in order (buy, then sell).
"""
