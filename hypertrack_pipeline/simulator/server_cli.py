"""``hypertrack serve-sim``: serve the simulated market (or a replayed capture) over the Hyperliquid
protocol on localhost, so the real recorder can be pointed at it.

Module-level imports stay light (argparse only) so ``hypertrack --help`` is fast.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from hypertrack_pipeline.errors import UserError

_FAULT = re.compile(r"^(?P<kind>[a-z_]+)(?::(?P<arg>[0-9.]+))?@(?P<at>[0-9.]+)s?$")


def parse_fault(spec: str) -> tuple[str, float, dict[str, Any]]:
    """``KIND[:ARG]@SECONDS[s]`` → (kind, at_s, params); ARG is seconds for stall, n for duplicate."""
    from hypertrack_pipeline.simulator.server import FAULT_KINDS

    m = _FAULT.match(spec.strip())
    if not m or m["kind"] not in FAULT_KINDS:
        raise UserError(f"--fault {spec!r}: expected KIND[:ARG]@SECONDS with KIND one of {', '.join(FAULT_KINDS)}")
    params: dict[str, Any] = {}
    if m["arg"] is not None:
        if m["kind"] == "stall":
            params["seconds"] = float(m["arg"])
        elif m["kind"] == "duplicate":
            params["n"] = int(float(m["arg"]))
        else:
            raise UserError(f"--fault {spec!r}: {m['kind']} takes no argument")
    return m["kind"], float(m["at"]), params


def parse_start(raw: str | None) -> int | None:
    """``--start``: epoch ms or an ISO date/time (UTC) → epoch ms."""
    if raw is None:
        return None
    if raw.isdigit():
        return int(raw)
    from datetime import UTC, datetime

    try:
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--start must be epoch ms or an ISO time like 2025-01-01T00:00, got {raw!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "serve-sim",
        help="serve the simulated market over the Hyperliquid WebSocket/Info/HyperEVM protocols",
        description="Serve the seeded simulated market (or a replayed capture) on localhost: WebSocket "
        "at /ws, Info at POST /info, HyperEVM JSON-RPC at POST /evm. Runs until Ctrl-C.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8765, help="port, 0 = any free port (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=None, help="market seed (deterministic)")
    parser.add_argument("--wallets", type=int, default=None, help="number of simulated wallets")
    parser.add_argument("--days", type=float, default=None, help="simulated days of market")
    parser.add_argument("--coins", default=None, help="a count or a comma list of coin names")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="simulated seconds per wall second, 1 = real time, 0 = as fast as possible "
                        "(default: %(default)s)")
    parser.add_argument("--start", default=None, help="start the clock at this market time (ISO or epoch ms)")
    parser.add_argument("--live", action="store_true",
                        help="shift the simulated market so it starts now (exchange times near the wall clock)")
    parser.add_argument("--replay", default=None, metavar="FILE",
                        help="replay a capture of '<ns> <json>' lines instead of simulating")
    parser.add_argument("--idle-timeout", type=float, default=60.0,
                        help="close connections silent for this many seconds, 60 as the real server "
                        "(default: %(default)s)")
    parser.add_argument("--trades-snapshot", type=int, default=0, metavar="N",
                        help="answer a trades subscribe with the coin's recent trades (up to N frames), "
                        "as the real server does; 0 = off (default: %(default)s)")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND[:ARG]@SECONDS",
                        help="inject a fault N wall seconds after start, e.g. drop@30s, stall:5@20s, "
                        "duplicate:3@10s, malformed@5s, truncated@5s, unknown_channel@5s, wrong_type@5s")


def _market_config(args: argparse.Namespace) -> Any:
    from hypertrack_pipeline.simulator import market

    given = {k: getattr(args, k) for k in ("seed", "wallets", "days", "coins") if getattr(args, k) is not None}
    if isinstance(given.get("coins"), str):
        raw = given["coins"].strip()
        given["coins"] = int(raw) if raw.isdigit() else tuple(c.strip() for c in raw.split(",") if c.strip())
    try:
        return market.SimConfig(**given)
    except (TypeError, ValueError) as exc:
        raise UserError(f"serve-sim: bad market options: {exc}") from None


def build_source(args: argparse.Namespace) -> Any:
    if args.replay:
        from hypertrack_pipeline.simulator.replay import ReplaySource

        return ReplaySource(args.replay)
    from hypertrack_pipeline.simulator.server import market_source

    return market_source(_market_config(args), live=args.live)


def run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from hypertrack_pipeline.simulator.server import SimServer

    if args.speed < 0:
        raise UserError(f"--speed must be ≥ 0, got {args.speed}")
    if args.idle_timeout <= 0:
        raise UserError(f"--idle-timeout must be > 0, got {args.idle_timeout}")
    faults = [parse_fault(f) for f in args.fault]
    source = build_source(args)
    server = SimServer(source, host=args.host, port=args.port, speed=args.speed,
                       idle_timeout_s=args.idle_timeout, start_ms=parse_start(args.start), log_trades=False,
                       recent_trades_on_subscribe=max(0, args.trades_snapshot))
    for kind, at_s, params in faults:
        server.schedule(kind, at_s, **params)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    server.start()
    try:
        print(f"serve-sim listening (speed {args.speed:g}{', replay ' + args.replay if args.replay else ''})")
        print(f"  WebSocket: {server.ws_url}")
        print(f"  Info:      {server.info_url}")
        print(f"  HyperEVM:  {server.evm_url}")
        print("Ctrl-C to stop.", flush=True)
        while not stop.wait(0.5):
            if server.error is not None:
                raise UserError(f"serve-sim: the market source failed: {server.error}")
    finally:
        server.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
        stats = server.stats()
        print(f"serve-sim stopped: {stats['connections_total']} connections, "
              f"messages sent {stats['sent_messages']}, faults {stats['faults']}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m hypertrack_pipeline.simulator.server_cli`` (the same as ``hypertrack serve-sim``)."""
    parser = argparse.ArgumentParser(prog="serve-sim")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
