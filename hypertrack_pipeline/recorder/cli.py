"""``hypertrack record``: the CLI face of the recorder (argparse only at import time)."""

from __future__ import annotations

import argparse
import logging


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "record",
        help="record Hyperliquid streams and HyperEVM blocks into the Parquet landing zone",
        description="Record public Hyperliquid market streams (trades with buyer and seller, BBO, L2 book, "
        "completed 1m candles) and HyperEVM blocks, transactions and ERC-20 transfers into "
        "<data-dir>/raw/<stream>/date=YYYY-MM-DD/hour=HH/part-N.parquet. Stops cleanly on Ctrl-C/SIGTERM.",
    )
    p.add_argument("--ws-url", help="Hyperliquid WebSocket URL (default: mainnet, or HYPERTRACK_WS_URL)")
    p.add_argument("--info-url", help="Hyperliquid Info URL (default: https://api.hyperliquid.xyz/info, or HYPERTRACK_INFO_URL)")
    p.add_argument("--data-dir", help="data folder (default: HYPERTRACK_DATA_DIR or ./data)")
    p.add_argument("--coins", help="comma-separated coins as the exchange names them: perps BTC,kPEPE, spot pairs "
                   "@107,PURR/USDC, builder-dex perps xyz:NVDA (default: every listed coin of --markets)")
    p.add_argument("--markets", default="perp",
                   help="which markets 'every listed coin' covers: a comma list of perp, spot, dex (or all); "
                   "beyond Hyperliquid's 1000 subscriptions the highest-volume coins are kept (default %(default)s)")
    p.add_argument("--streams", help="comma-separated: trades,bbo,l2book,candles,evm,account (default: all, or "
                   "HYPERTRACK_STREAMS / RECORD_* flags)")
    p.add_argument("--account-top", type=int, dest="account_top",
                   help="account stream: poll the top N wallets by notional of <data>/state/tracked_wallets.json, "
                   "plus every whale / profitable wallet it lists (default 200, or HYPERTRACK_ACCOUNT_TOP)")
    p.add_argument("--account-share", dest="account_share",
                   help="account stream: share of Hyperliquid's 1200 Info weight a minute to poll with; "
                   "clearinghouseState weighs 2, so 0.25 = 150 polls a minute (default 0.25, or HYPERTRACK_ACCOUNT_SHARE)")
    p.add_argument("--account-wallets", dest="account_wallets",
                   help="account stream: comma-separated wallets (0x…) to poll as well, first in the rotation")
    p.add_argument("--flush-seconds", type=float, help="write buffered rows at least this often, in seconds "
                   "(default 10, or HYPERTRACK_FLUSH_SECONDS)")
    p.add_argument("--close-grace", type=float, dest="close_grace",
                   help="seconds after an hour ends before it is closed (default 120, or HYPERTRACK_CLOSE_GRACE_SECONDS)")
    p.add_argument("--rpc-url", help="HyperEVM HTTP JSON-RPC URL (default: MAINNET_RPC_HTTP from .env, else public)")
    p.add_argument("--rpc-ws-url", help="HyperEVM WebSocket RPC URL for newHeads (default: MAINNET_RPC_WS from .env, else none: "
                   "poll over HTTP)")
    p.add_argument("--rpc-rate-limit", type=float, default=100.0,
                   help="HyperEVM requests per minute (default %(default)s, the public RPC's limit; 0 = unlimited)")
    p.add_argument("--evm-start-block", type=int, help="first HyperEVM block when there is no saved state "
                   "(default: the next new block)")
    p.add_argument("--max-runtime", type=float, help="stop cleanly after this many seconds (default: run until Ctrl-C/SIGTERM)")
    p.add_argument("--max-connections", type=int, default=5, help="WebSocket connections (1-10, default %(default)s)")
    p.add_argument("--ping-interval", type=float, default=50.0, help="seconds between pings (default %(default)s)")
    p.add_argument("--stall-timeout", type=float, default=75.0,
                   help="reconnect when nothing arrived for this many seconds (default %(default)s)")
    p.add_argument("--status-interval", type=float, default=5.0, help="seconds between status lines (default %(default)s)")
    p.add_argument("--max-frame-bytes", type=int, default=8 << 20, help="larger frames are skipped, in bytes (default %(default)s = 8 MiB)")
    p.add_argument("-v", "--verbose", action="store_true", help="log every warning (bad frames, disconnects)")
    p.set_defaults(func=run)
    return p


def _positive(name: str, value: float | None) -> None:
    from hypertrack_pipeline.errors import UserError

    if value is not None and value <= 0:
        raise UserError(f"{name} must be > 0, got {value:g}")


def options_from_args(args: argparse.Namespace):  # -> RecorderOptions (imported lazily)
    """Settings (environment, .env) overridden by flags → RecorderOptions."""
    from hypertrack_pipeline.config import _url, account_share, load_settings, parse_streams
    from hypertrack_pipeline.errors import UserError
    from hypertrack_pipeline.hyperliquid.markets import parse_markets
    from hypertrack_pipeline.hyperliquid.session import SessionOptions
    from hypertrack_pipeline.recorder.account import AccountOptions
    from hypertrack_pipeline.recorder.app import RecorderOptions

    for name in ("flush_seconds", "close_grace", "max_runtime", "ping_interval", "stall_timeout", "status_interval"):
        if name != "close_grace":
            _positive("--" + name.replace("_", "-"), getattr(args, name))
    if args.close_grace is not None and args.close_grace < 0:
        raise UserError(f"--close-grace must be ≥ 0, got {args.close_grace:g}")
    if getattr(args, "account_top", None) is not None and args.account_top < 0:
        raise UserError(f"--account-top must be ≥ 0, got {args.account_top}")
    if not 1 <= args.max_connections <= 10:
        raise UserError(f"--max-connections must be between 1 and 10, got {args.max_connections}")
    overrides: dict[str, object] = {
        "ws_url": _url("--ws-url", args.ws_url, ("ws", "wss")) if args.ws_url else None,
        "info_url": _url("--info-url", args.info_url, ("http", "https")) if args.info_url else None,
        "rpc_http": _url("--rpc-url", args.rpc_url, ("http", "https")) if args.rpc_url else None,
        "rpc_ws": _url("--rpc-ws-url", args.rpc_ws_url, ("ws", "wss")) if args.rpc_ws_url else None,
        "streams": parse_streams(args.streams) if args.streams else None,
        "flush_seconds": args.flush_seconds,
        "close_grace_seconds": args.close_grace,
        "account_top": getattr(args, "account_top", None),
        "account_share": account_share("--account-share", args.account_share)
        if getattr(args, "account_share", None) is not None else None,
    }
    settings = load_settings(data_dir=args.data_dir, **overrides)
    markets = parse_markets(getattr(args, "markets", None) or "perp")
    coins = None
    if args.coins:
        coins = [c.strip() for c in args.coins.split(",") if c.strip()]
        if not coins:
            raise UserError("--coins: no coin given")
    return RecorderOptions(
        account=AccountOptions(share=settings.account_share, top=settings.account_top,
                               wallets=parse_wallets(getattr(args, "account_wallets", None))),
        data_dir=settings.data_dir,
        streams=settings.streams,
        ws_url=settings.ws_url,
        info_url=settings.info_url,
        coins=coins,
        markets=markets,
        flush_seconds=settings.flush_seconds,
        close_grace_seconds=settings.close_grace_seconds,
        rpc_http=settings.evm_rpc_http,
        rpc_ws=settings.rpc_ws,
        rpc_requests_per_min=args.rpc_rate_limit,
        evm_start_block=args.evm_start_block,
        max_runtime_s=args.max_runtime,
        max_connections=args.max_connections,
        max_frame_bytes=args.max_frame_bytes,
        status_interval_s=args.status_interval,
        session=SessionOptions(ping_interval_s=args.ping_interval, stall_timeout_s=args.stall_timeout),
        settings_view=settings.describe(),
    )


def parse_wallets(raw: str | None) -> tuple[str, ...]:
    """``--account-wallets 0xA…,0xB…`` → lowercase addresses; anything that is not an address is an error."""
    from hypertrack_pipeline.errors import UserError
    from hypertrack_pipeline.hyperliquid.account import normalize_address

    if not raw:
        return ()
    out: list[str] = []
    for item in (w.strip() for w in raw.split(",")):
        if not item:
            continue
        addr = normalize_address(item)
        if addr is None:
            raise UserError(f"--account-wallets: {item[:60]!r} is not a wallet address (0x + 40 hex digits)")
        out.append(addr)
    return tuple(dict.fromkeys(out))


def url_secrets(*urls: str | None) -> list[str]:
    """The parts of URLs that may hold a key (password, path, query), longest first, for redaction."""
    from urllib.parse import urlsplit

    found: set[str] = set()
    for url in urls:
        if not url:
            continue
        try:
            parts = urlsplit(url)
        except ValueError:
            found.add(url)
            continue
        # a user name is no secret; shorter pieces would garble every log line they occur in
        found.update(p for p in (parts.password, parts.query, parts.fragment) if p and len(p) >= 3)
        found.update(seg for seg in parts.path.split("/") if len(seg) >= 4)
    return sorted(found, key=len, reverse=True)


class RedactingFormatter(logging.Formatter):
    """Masks secrets in every log line, whatever library wrote it (urllib3 and web3 log URLs)."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def run(args: argparse.Namespace) -> int:
    from hypertrack_pipeline.recorder.app import Recorder

    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.ERROR, format=fmt)
    opts = options_from_args(args)
    # Only the RPC URLs carry keys in practice; /ws and /info are left readable in the log.
    secrets = url_secrets(opts.rpc_http, opts.rpc_ws)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter(fmt, secrets))
    return Recorder(opts).run()
