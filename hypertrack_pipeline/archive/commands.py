"""``hypertrack backfill``: the CLI face of :mod:`hypertrack_pipeline.archive.backfill` (argparse only at
import time, so ``hypertrack --help`` stays fast)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "backfill",
        help="land hours of Hyperliquid's node archives (fills with fees and closed PnL) in the landing zone",
        description="Read the hourly LZ4 files of Hyperliquid's node archives (node_fills_by_block, node_fills or "
        "node_trades, chosen by date or by what exists) from a local mirror or the requester-pays bucket, and land "
        "exchange_fills and trades per UTC hour like the recorder; then `hypertrack materialize` (or the Dagster "
        "automation) loads them. Resumable and idempotent.",
    )
    p.add_argument("--source", required=True,
                   help="a local mirror folder (DIR/<format>/hourly/YYYYMMDD/H.lz4) or s3://hl-mainnet-node-data "
                        "(requester pays, about $0.09/GB, AWS credentials from the standard chain; needs s3fs)")
    p.add_argument("--from", dest="start", required=True, help="first hour, YYYY-MM-DD or YYYY-MM-DD-HH (UTC)")
    p.add_argument("--to", dest="end", required=True,
                   help="last hour, included: YYYY-MM-DD (its 23h) or YYYY-MM-DD-HH (UTC)")
    p.add_argument("--s3-endpoint", help="another S3-compatible endpoint URL for s3:// sources (default: "
                   "$AWS_ENDPOINT_URL_S3 or $AWS_ENDPOINT_URL, else AWS)")
    p.add_argument("--coins", help="comma-separated coins to keep, e.g. BTC,ETH,@107 (default: every coin)")
    p.add_argument("--data-dir", help="data directory (default: $HYPERTRACK_DATA_DIR or ./data)")
    p.add_argument("--threads", type=int, default=2, help="parser threads (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import time

    from hypertrack_pipeline.archive.backfill import backfill, parse_when
    from hypertrack_pipeline.archive.source import ArchiveSourceError, open_archive
    from hypertrack_pipeline.config import load_settings
    from hypertrack_pipeline.errors import UserError

    settings = load_settings(args.data_dir)
    start, end = parse_when(args.start, end=False), parse_when(args.end, end=True)
    try:
        archive = open_archive(args.source, endpoint_url=args.s3_endpoint)
    except ArchiveSourceError as exc:
        raise UserError(str(exc)) from None
    coins = args.coins.split(",") if args.coins else None
    state = settings.data_dir / "state" / "backfill.json"
    print(f"backfilling {start:%Y-%m-%d %H}h … {end:%Y-%m-%d %H}h from {archive!r} into {settings.raw_dir}")
    if args.quiet:
        summary = backfill(settings.raw_dir, archive, start, end, state, coins=coins, threads=args.threads)
    else:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        t0 = time.monotonic()
        with Progress(TextColumn("archive files"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TextColumn("{task.fields[fills]:,} fills, {task.fields[rate]:,.0f} fills/s"),
                      TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), transient=True) as bar:
            task = bar.add_task("files", total=None, fills=0, rate=0.0)

            def progress(done: int, total: int, fills: int) -> None:
                rate = fills / max(time.monotonic() - t0, 1e-9)
                bar.update(task, completed=done, total=total, fills=fills, rate=rate)

            summary = backfill(settings.raw_dir, archive, start, end, state, coins=coins, threads=args.threads,
                               say=bar.console.print, progress=progress)
    print(summary.line())
    print("next: hypertrack materialize (or let the Dagster automation load the new hours)")
    return 0
