"""``hypertrack simulate``: write a simulated market (landing zone and/or node archive + ground truth)
into a folder.

Module-level imports stay light (argparse only) so ``hypertrack --help`` is fast.
"""

from __future__ import annotations

import argparse

from hypertrack_pipeline.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "simulate",
        help="write a seeded simulated market (landing zone + ground truth) into a folder",
        description="Simulate a Hyperliquid-like market with wallets of planted behaviour and write "
        "DIR/raw/<stream>/date=…/hour=… (what the pipeline ingests) and DIR/ground_truth/. "
        "Same arguments, same bytes.",
    )
    p.add_argument("--out", required=True, help="output folder (DIR/raw and DIR/ground_truth are written)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default %(default)s)")
    p.add_argument("--wallets", type=int, default=400, help="number of wallets (default %(default)s)")
    p.add_argument("--days", type=float, default=2.0, help="simulated days, whole hours (default %(default)s)")
    p.add_argument("--coins", default="6",
                   help="number of perp coins or a comma list of perps, spot pairs and dex perps, e.g. "
                        "BTC,kPEPE,@107,PURR/USDC,xyz:NVDA (default %(default)s)")
    p.add_argument("--spot", type=int, default=0, metavar="N",
                   help="also simulate the first N spot pairs (@107 HYPE/USDC, PURR/USDC, @142, @151; default 0)")
    p.add_argument("--dex", type=int, default=0, metavar="N",
                   help="also simulate the first N builder-dex perps (xyz:NVDA, km:USTECH, cash:TSLA, …; default 0)")
    p.add_argument("--format", default="landing", choices=("landing", "node-archive", "both"),
                   help="landing: DIR/raw (what the pipeline ingests); node-archive: Hyperliquid's hourly LZ4 "
                        "node_fills_by_block files (DIR/node_fills_by_block/hourly/YYYYMMDD/H.lz4) with exact "
                        "startPosition, closedPnl and fees; both (default %(default)s)")
    p.add_argument("--start", default="2026-01-05T00:00:00Z", help="UTC start, on a whole hour (default %(default)s)")
    p.add_argument("--target-fills", type=int, default=None,
                   help="aim for about this many fills (2 per trade) by scaling the trading rates "
                        "(default: unscaled rates)")
    p.add_argument("--no-evm", action="store_true", help="skip the HyperEVM streams (blocks, transactions, transfers)")
    p.add_argument("--l2-every", type=float, default=10.0, help="seconds between L2 snapshots per coin (default %(default)s)")
    p.add_argument("--prehistory-days", type=float, default=45.0,
                   help="place HODLers' first trades up to this many days before --start (0: off; default %(default)s)")
    p.add_argument("--force", action="store_true", help="replace an earlier simulation in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def parse_coins(text: str) -> int | tuple[str, ...]:
    """A count, or names in the universe's spelling (case-insensitive match: ``kpepe`` → ``kPEPE``,
    ``@107`` and ``xyz:NVDA`` kept as they are; not upper-cased, which broke those names)."""
    from hypertrack_pipeline.simulator.universe import canonical_coin

    text = text.strip()
    if text.isdigit():
        return int(text)
    return tuple(canonical_coin(n) for n in text.split(",") if n.strip())


def with_markets(coins: int | tuple[str, ...], spot: int, dex: int) -> int | tuple[str, ...]:
    """``--coins`` plus the first ``spot`` spot pairs and ``dex`` dex perps (unchanged when both are 0,
    so the default simulation stays byte-for-byte what it was)."""
    from hypertrack_pipeline.simulator.universe import COINS, DEX_COINS, SPOT_COINS

    if not spot and not dex:
        return coins
    for flag, n, pool in (("--spot", spot, SPOT_COINS), ("--dex", dex, DEX_COINS)):
        if not 0 <= n <= len(pool):
            raise UserError(f"{flag} must be between 0 and {len(pool)}, got {n}")
    names = tuple(c.name for c in COINS[:coins]) if isinstance(coins, int) else coins
    extra = tuple(c.name for c in SPOT_COINS[:spot] + DEX_COINS[:dex] if c.name not in names)
    return names + extra


def parse_formats(text: str) -> tuple[str, ...]:
    return ("landing", "node-archive") if text == "both" else (text,)


def parse_start(text: str):
    from datetime import UTC, datetime

    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--start: not an ISO time: {text!r} (e.g. 2026-01-05T00:00:00Z)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def config_from_args(args: argparse.Namespace):
    from hypertrack_pipeline.simulator.market import SimConfig

    groups = ("trades", "bbo", "l2book", "candles") + (() if args.no_evm else ("evm",))
    if args.l2_every <= 0:
        raise UserError(f"--l2-every must be positive, got {args.l2_every}")
    config = SimConfig(
        seed=args.seed, wallets=args.wallets, days=args.days,
        coins=with_markets(parse_coins(args.coins), getattr(args, "spot", 0), getattr(args, "dex", 0)),
        start=parse_start(args.start), target_fills=args.target_fills, l2_every_ms=int(round(args.l2_every * 1000)),
        streams=groups, prehistory_days=args.prehistory_days,
    )
    config.validate()
    return config


def simulate_with_progress(out, config, force: bool = False, quiet: bool = False,
                           formats: tuple[str, ...] = ("landing",)):  # -> SimSummary
    """Simulate with a progress bar (hours done, elapsed, ETA) unless ``quiet``: shared by `simulate`,
    `demo` and `evaluate`, which all write a market before anything else happens."""
    from hypertrack_pipeline.simulator.writer import simulate

    if quiet:
        return simulate(out, config, force=force, formats=formats)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed}/{task.total} h"),
                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), transient=True) as bar:
        task = bar.add_task("hours", total=config.hours)
        return simulate(out, config, force=force, formats=formats,
                        progress=lambda done, total: bar.update(task, completed=done))


def run(args: argparse.Namespace) -> int:
    summary = simulate_with_progress(args.out, config_from_args(args), force=args.force, quiet=args.quiet,
                                     formats=parse_formats(args.format))
    print(summary.line())
    return 0
