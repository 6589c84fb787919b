"""The recorder process: Hyperliquid WebSocket streams + HyperEVM + polled account state → landing zone.

Threads: one per WebSocket connection (read, parse, buffer), one for HyperEVM, one polling Info
``clearinghouseState`` for the tracked wallets (:mod:`.account`), and the main
thread, which owns the disk: time-based flushes, size-triggered flushes, hour closing, the status
display, and the clean shutdown on SIGINT/SIGTERM or ``max_runtime_s`` (flush everything, close
every hour written, the running ones as recorded, write the collection report).

Gaps start at the last *exchange* time seen, never at the wall clock: with a replayed or simulated
market the wall clock is unrelated to exchange time. A connection that fails before any exchange
time was seen leaves a gap whose start is unknown; it is noted at the first exchange time that
arrives. If no connection ever succeeds (a wrong ``--ws-url``), the run ends with a UserError.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from hypertrack_pipeline.config import mask_url
from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.hyperliquid.markets import coin_volumes, fit_subscriptions, list_coins, market_kind
from hypertrack_pipeline.hyperliquid.pacing import MAX_SUBSCRIPTIONS, Limits
from hypertrack_pipeline.hyperliquid.session import SessionOptions, WsConnection, plan_connections
from hypertrack_pipeline.hyperliquid.wire import BadMessage, parse_frame
from hypertrack_pipeline.recorder.account import AccountOptions
from hypertrack_pipeline.recorder.candles import CandleCompleter
from hypertrack_pipeline.recorder.dedupe import RecentTrades
from hypertrack_pipeline.recorder.report import render_report, write_report
from hypertrack_pipeline.recorder.status import Counters, StatusBoard, printable
from hypertrack_pipeline.recorder.writer import LandingWriter

log = logging.getLogger(__name__)
WS_STREAMS = ("trades", "bbo", "l2book", "candles")
EVM_STREAMS = ("evm_blocks", "evm_transactions", "evm_token_transfers")
ACCOUNT_STREAMS = ("account_state", "account_positions")
# The landed stream's exchange-time column index (trades: time; bbo/l2book: time; candles: t).
_TIME_IDX = {"trades": 4, "bbo": 1, "l2book": 1, "candles": 2}
_WIRE_STREAM = {"trades": "trades", "bbo": "bbo", "l2Book": "l2book", "candle": "candles"}


@dataclass
class RecorderOptions:
    data_dir: Path
    streams: tuple[str, ...]
    ws_url: str
    info_url: str
    coins: list[str] | None = None  # None: every listed coin of ``markets``
    markets: tuple[str, ...] = ("perp",)  # perp, spot, dex: which markets "every listed coin" covers
    flush_seconds: float = 10.0
    close_grace_seconds: float = 120.0
    rpc_http: str | None = None
    rpc_ws: str | None = None
    rpc_requests_per_min: float = 100.0
    evm_start_block: int | None = None
    evm_poll_seconds: float = 1.0
    max_runtime_s: float | None = None
    max_connections: int = 5
    subs_per_connection: int = 200
    flush_rows: int = 50_000
    max_frame_bytes: int = 8 << 20
    status_interval_s: float = 5.0
    session: SessionOptions = field(default_factory=SessionOptions)
    account: AccountOptions = field(default_factory=AccountOptions)
    settings_view: dict[str, str] = field(default_factory=dict)  # masked, for the report


class Recorder:
    """Wire everything together; :meth:`run` blocks until stopped and returns an exit code."""

    def __init__(self, opts: RecorderOptions, out: TextIO | None = None) -> None:
        self.opts = opts
        self.out = out or sys.stderr
        self.stop_event = threading.Event()
        self.counters = Counters()
        self.ws_streams = [s for s in WS_STREAMS if s in opts.streams]
        self.evm_on = any(s in opts.streams for s in EVM_STREAMS)
        self.account_on = any(s in opts.streams for s in ACCOUNT_STREAMS)
        self.writer = LandingWriter(
            Path(opts.data_dir) / "raw",
            opts.streams,
            grace_ms=int(opts.close_grace_seconds * 1000),
            flush_rows=opts.flush_rows,
        )
        self.candles = CandleCompleter()
        self.recent_trades = RecentTrades()
        self.connections: list[WsConnection] = []
        self.evm = None
        self.coins: list[str] = []
        self.left_out: list[str] = []  # listed coins not recorded, to stay within the subscription limit
        self._conn_last_ms: dict[int, int] = {}
        self._conn_gapped: dict[int, int] = {}  # connection → gap start (exchange ms)
        self._conn_unknown: dict[int, tuple[str, int]] = {}  # connection → (first cause, failures)
        self._gap_lock = threading.Lock()
        self._connected_once = threading.Event()  # shared: give up only if no connection ever worked
        self._fatal: str | None = None
        self.info = None
        self.gap_filler = None
        self.account = None

    # ---- listener (called from connection threads) -----------------------------------------
    def on_frame(self, conn: WsConnection, frame: bytes, recv_ns: int) -> None:
        try:
            parsed = parse_frame(frame, recv_ns, self.opts.max_frame_bytes)
        except BadMessage as exc:
            if self.counters.bad_message(exc.kind, frame):
                log.warning("skipped %s frame (%s): %s", exc.kind, exc.detail, printable(bytes(frame[:200]).decode("utf-8", "replace"), 200))
            return
        if parsed is None:  # the plain-text greeting
            return
        if parsed.stream is None:
            self.counters.control[parsed.channel] += 1
            if parsed.channel == "error":
                log.warning("server error on connection %d: %s", conn.index, printable(str(parsed.data), 200))
            return
        for bad in parsed.bad_items:
            if self.counters.bad_message(bad.kind, frame):
                log.warning("skipped a bad %s item (%s)", parsed.stream, bad.detail)
        stream = parsed.stream
        rows = parsed.rows
        if not rows:
            return
        self.counters.msgs[stream] += 1
        self.counters.last_msg_mono[stream] = time.monotonic()
        idx = _TIME_IDX[stream]
        t = rows[-1][idx]
        if t > self._conn_last_ms.get(conn.index, 0):
            self._conn_last_ms[conn.index] = t
        if conn.index in self._conn_unknown:
            self._note_unknown_gaps(conn, min(r[idx] for r in rows))
        gap_start = self._conn_gapped.get(conn.index)
        if gap_start is not None:
            # The gap ends with the first data newer than its start (a resubscribe snapshot of
            # older trades does not end it).
            t_max = max(r[idx] for r in rows)
            if t_max >= gap_start:
                self._end_gaps(conn, t_max)
        if stream not in self.opts.streams:
            return
        if stream == "candles":
            rows = self.candles.offer(rows[0])
        elif stream == "trades":
            rows = self.recent_trades.filter(rows)
        if rows:
            self.writer.add(stream, rows)

    def on_state(self, conn: WsConnection, state: str, cause: str | None) -> None:
        if state == "disconnected":
            log.warning("connection %d lost: %s", conn.index, cause)
            # The gap starts at the last exchange time seen (this connection's, else any): never the
            # wall clock, which a replayed or simulated market has nothing to do with.
            start = self._conn_last_ms.get(conn.index) or self.writer.watermark.event_ms
            with self._gap_lock:
                if start is None:  # nothing seen yet: the gap's start is unknown
                    first, n = self._conn_unknown.get(conn.index, (cause or "", 0))
                    self._conn_unknown[conn.index] = (first, n + 1)
                elif conn.index not in self._conn_gapped:
                    self._conn_gapped[conn.index] = start
                    for wire_type, coin in conn.keys:
                        stream = _WIRE_STREAM[wire_type]
                        self.writer.open_gap((conn.index, stream, coin), stream, coin, start, f"disconnect: {cause}")
            self.candles.forget({coin for wire_type, coin in conn.keys if wire_type == "candle"})
        elif state == "failed" and not self._connected_once.is_set():
            self._fatal = (f"cannot connect to {mask_url(self.opts.ws_url)}: {cause} "
                           f"({conn.failed_attempts} attempts); check --ws-url")
            self.stop_event.set()

    def _note_unknown_gaps(self, conn: WsConnection, first_ms: int) -> None:
        """Land the gaps of failures before any exchange time was seen, at the first one that arrived."""
        with self._gap_lock:
            entry = self._conn_unknown.pop(conn.index, None)
            if entry is None:
                return
            cause, n = entry
            for wire_type, coin in conn.keys:
                stream = _WIRE_STREAM[wire_type]
                key = (conn.index, stream, coin, "unknown")
                self.writer.open_gap(key, stream, coin, first_ms,
                                     f"disconnect: {cause} ({n}× before the first data; start unknown)")
                self.writer.close_gap(key, first_ms)

    def _end_gaps(self, conn: WsConnection, end_ms: int) -> None:
        with self._gap_lock:
            start = self._conn_gapped.pop(conn.index, None)
            if start is None:
                return
            for wire_type, coin in conn.keys:
                self.writer.close_gap((conn.index, _WIRE_STREAM[wire_type], coin), end_ms)
                if wire_type == "candle" and self.gap_filler is not None:
                    self.gap_filler.request(coin, start, end_ms)

    # ---- lifecycle ---------------------------------------------------------------------------
    def _resolve_coins(self) -> list[str]:
        if self.opts.coins:
            coins = list(dict.fromkeys(self.opts.coins))
            if self.ws_streams:
                self._check_coins(coins)
            return coins
        if not self.ws_streams:
            return []
        markets = self.opts.markets
        coins = list_coins(self.info, markets)
        if not coins:
            raise UserError(f"info endpoint {mask_url(self.opts.info_url)} listed no {'/'.join(markets)} coins")
        streams = len(self.ws_streams)
        if len(coins) * streams > MAX_SUBSCRIPTIONS:
            try:
                volumes = coin_volumes(self.info, coins)
            except UserError as exc:
                log.warning("no volumes to rank coins by (%s): keeping the first ones listed", exc)
                volumes = {}
            selection = fit_subscriptions(coins, streams, volumes)
            print(f"[record] {selection.line()}", file=self.out, flush=True)
            self.left_out = selection.left_out
            coins = selection.kept
        return coins

    def _listed(self, kind: str, dex: str = "") -> list[str] | None:
        """The coins Info lists for a market kind (and dex), or None when it cannot say."""
        try:
            return self.info.spot_pairs() if kind == "spot" else self.info.perp_coins(dex)
        except UserError as exc:
            log.warning("could not check --coins against %s: %s", "spotMeta" if kind == "spot" else "meta", exc)
            return None

    def _check_coins(self, coins: list[str]) -> None:
        """Reject ``--coins`` that the exchange does not list (a typo would record nothing, silently).

        Perps are checked against ``meta``, spot pairs (``@107``, ``PURR/USDC``) against ``spotMeta``,
        dex perps (``xyz:NVDA``) against ``meta`` of their dex; a list that cannot be fetched is not
        checked (the coins are taken as given).
        """
        listed: list[str] = []
        unknown: list[str] = []
        groups: dict[tuple[str, str], list[str]] = {}
        for c in coins:
            kind = market_kind(c)
            groups.setdefault((kind, c.split(":", 1)[0] if kind == "dex" else ""), []).append(c)
        for (kind, dex), names in groups.items():
            got = self._listed(kind, dex)
            if got is None:
                continue
            listed += got
            known = set(got)
            unknown += [c for c in names if c not in known]
        bad = set(unknown)
        unknown = [c for c in coins if c in bad]  # in the order given
        if listed and unknown:
            shown = ", ".join(printable(c, 40) for c in unknown[:10]) + (" …" if len(unknown) > 10 else "")
            raise UserError(
                f"--coins: unknown coin(s) {shown} (not listed by {mask_url(self.opts.info_url)}); "
                f"listed coins include {', '.join(printable(c, 20) for c in listed[:8])} ({len(listed)} in all)"
            )

    def _start_evm(self) -> None:
        from hypertrack_pipeline.hyperevm.reader import EvmReader
        from hypertrack_pipeline.recorder.evm import EvmFollower

        url = self.opts.rpc_http
        if not url:
            raise UserError("no HyperEVM RPC URL configured (--rpc-url or MAINNET_RPC_HTTP)")
        reader = EvmReader.from_url(url, self.opts.rpc_requests_per_min or None)
        self.evm = EvmFollower(
            reader,
            self.writer,
            Path(self.opts.data_dir) / "state" / "evm.json",
            self.stop_event,
            poll_s=self.opts.evm_poll_seconds,
            start_block=self.opts.evm_start_block,
            ws_url=self.opts.rpc_ws,
        )
        self.evm.start()

    def _start_account(self) -> None:
        """Poll clearinghouseState for the tracked wallets (the pipeline's file, plus --account-wallets)."""
        from hypertrack_pipeline.recorder.account import AccountPoller, TrackedWallets

        opts = self.opts.account
        tracked = TrackedWallets(Path(self.opts.data_dir) / "state" / "tracked_wallets.json", opts.top, opts.wallets)
        self.account = AccountPoller(self.info, self.writer, self.counters, tracked, self.stop_event, opts,
                                     say=lambda line: print(f"[record] {line}", file=self.out, flush=True))
        self.account.start()

    def request_stop(self, *_: object) -> None:
        self.stop_event.set()

    def _on_signal(self, signum: int, _frame: object) -> None:
        """First SIGINT/SIGTERM: stop cleanly (flush, close hours, report). A second one is fatal."""
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        print(f"[record] {signal.Signals(signum).name}: flushing and stopping (again to abort)", file=self.out,
              flush=True)
        self.stop_event.set()

    def conn_states(self) -> list[tuple[str, str, int]]:
        out = [(f"ws{c.index}", c.state, c.reconnects) for c in self.connections]
        if self.evm is not None:
            out.append(("evm", self.evm.state.split(":")[0], 0))
        if self.account is not None:
            out.append(("account", self.account.state, self.account.backoffs))
        return out

    def run(self, install_signals: bool = True) -> int:
        from hypertrack_pipeline.hyperliquid.info import InfoClient
        from hypertrack_pipeline.recorder.gapfill import CandleGapFiller

        started = datetime.now(UTC)
        t0 = time.monotonic()
        self.info = InfoClient(self.opts.info_url)
        self.coins = self._resolve_coins()
        plans = []
        if self.ws_streams:
            try:
                plans = plan_connections(
                    self.coins, self.ws_streams, self.opts.max_connections, self.opts.subs_per_connection
                )
            except ValueError as exc:
                raise UserError(str(exc)) from None
        if install_signals and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._on_signal)
            signal.signal(signal.SIGTERM, self._on_signal)
        if "candles" in self.ws_streams:
            self.gap_filler = CandleGapFiller(self.info, self.candles, self.writer, self.stop_event)
            self.gap_filler.start()
        limits = Limits()
        for i, subs in enumerate(plans):
            conn = WsConnection(i, self.opts.ws_url, subs, self, limits, self.stop_event, self.opts.session,
                                connected_once=self._connected_once)
            self.connections.append(conn)
            conn.start()
        if self.evm_on:
            self._start_evm()
        if self.account_on:
            self._start_account()
        print(
            f"[record] {len(self.coins)} coins, streams {','.join(self.opts.streams)}, "
            f"{len(plans)} connection(s) to {mask_url(self.opts.ws_url)}, landing in {self.opts.data_dir}",
            file=self.out,
            flush=True,
        )
        board = StatusBoard(self.out, self.opts.status_interval_s)
        board.start()
        next_flush = time.monotonic() + self.opts.flush_seconds
        deadline = t0 + self.opts.max_runtime_s if self.opts.max_runtime_s else None
        try:
            while not self.stop_event.is_set():
                self.writer.flush_wanted.wait(0.2)
                now = time.monotonic()
                if self.writer.flush_wanted.is_set():
                    self.writer.flush_if_big()
                self._complete_candles()
                if now >= next_flush:
                    self.writer.flush()
                    if self.evm is not None:
                        self.evm.save_state()
                    next_flush = now + self.opts.flush_seconds
                for stream, key in self.writer.close_due_hours():
                    log.info("closed %s hour %s", stream, key)
                board.tick(self.counters, self.writer.stats, self.conn_states())
                if deadline is not None and now >= deadline:
                    self.stop_event.set()
        finally:
            self.stop_event.set()
            for conn in self.connections:
                conn.join(timeout=2.0)
                if conn.is_alive():
                    conn.abort()
                    conn.join(timeout=2.0)
            if self.evm is not None:
                self.evm.join(timeout=5.0)
            if self.gap_filler is not None:
                self.gap_filler.join(timeout=5.0)
            if self.account is not None:
                self.account.join(timeout=15.0)  # a request in flight ends within the Info client's timeout
            self._complete_candles()
            for stream, key in self.writer.finish():
                log.info("closed %s hour %s on stop", stream, key)
            if self.evm is not None:
                self.evm.save_state()
            board.tick(self.counters, self.writer.stats, self.conn_states(), force=True)
            board.stop()
            self._write_report(started)
        if self._fatal is not None:
            raise UserError(self._fatal)
        return 0

    def _complete_candles(self) -> None:
        if "candles" in self.opts.streams:
            now = self.writer.watermark.now_ms()
            if now is not None:
                done = self.candles.due(now)
                if done:
                    self.writer.add("candles", done)

    def _write_report(self, started: datetime) -> Path:
        reconnects = sum(c.reconnects for c in self.connections)
        extra = {"coins": f"{len(self.coins)}" + (f" ({len(self.left_out)} left out: subscription limit)"
                                                    if self.left_out else ""),
                 "repeated trades dropped (resubscribe snapshots, duplicate frames)": str(self.recent_trades.dropped)}
        if self.gap_filler is not None:
            extra["candles filled from candleSnapshot"] = str(self.gap_filler.filled)
        if self.evm is not None:
            extra["evm blocks read"] = str(self.evm.blocks)
            extra["evm rpc requests"] = str(self.evm.reader.requests)
            extra["evm next block"] = str(self.evm.next_block)
        if self.account is not None:
            extra.update(self.account.summary())
        text = render_report(
            self.writer.stats, self.counters, self.opts.settings_view, started, datetime.now(UTC), reconnects, extra
        )
        path = write_report(Path(self.opts.data_dir), text)
        print(f"[record] stopped; report in {path}", file=self.out, flush=True)
        return path
