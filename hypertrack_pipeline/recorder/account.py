"""The ``account_state`` stream: Info ``clearinghouseState`` polled for the wallets that matter.

Which wallets: the pipeline decides, the recorder follows. The analysis graph writes
``<data>/state/tracked_wallets.json`` (:mod:`hypertrack_pipeline.warehouse.tracked`): the top wallets by
notional, each with its rank, and every whale or profitable wallet. The poller re-reads the file when it
changes (its size or mtime), keeps the top ``top`` by rank plus every category wallet, and adds the wallets
given explicitly (``--account-wallets``). No file and no explicit wallets: the stream is idle, said once.

Pacing. ``clearinghouseState`` weighs 2 of Hyperliquid's 1200 Info weight a minute per IP; the poller uses at
most ``share`` of it (default 0.25: 300 weight, 150 polls a minute, one every 0.4 s), through a token bucket
that holds one poll (no bursts), so any 60 s holds at most share × 1200 weight plus one poll. Every request
also goes through the recorder's shared Info client, whose own bucket covers all Info requests together.
Wallets are polled round-robin: a full cycle takes wallets / (share × 600) minutes.

Failures never stop the recorder. A 429 or 5xx answer, or an unreachable endpoint, backs off exponentially
with jitter (``backoff_base_s`` doubling up to ``backoff_max_s``, or the server's ``Retry-After`` when
longer) and retries the same wallet; the first success resets it. Polling that was interrupted is a gap of
the stream (from the last answer's exchange time to the next one's), like a WebSocket disconnect. Any
other 4xx means the exchange refuses that wallet: it is left out of the rotation (logged once). A malformed
answer is counted and sampled as bad input, and nothing of it is landed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.hyperliquid.account import account_rows, normalize_address
from hypertrack_pipeline.hyperliquid.info import WEIGHTS, InfoClient, InfoHTTPError
from hypertrack_pipeline.hyperliquid.pacing import TokenBucket
from hypertrack_pipeline.hyperliquid.session import backoff_delay
from hypertrack_pipeline.hyperliquid.wire import BadMessage
from hypertrack_pipeline.recorder.status import Counters
from hypertrack_pipeline.recorder.writer import LandingWriter

log = logging.getLogger(__name__)

INFO_WEIGHT_PER_MIN = 1200.0  # Hyperliquid's Info budget per IP
POLL_WEIGHT = WEIGHTS["clearinghouseState"]
STATE, POSITIONS = "account_state", "account_positions"
TOP_REASON = "top_notional"


def polls_per_minute(share: float) -> float:
    """clearinghouseState polls a minute within ``share`` of the Info budget (0.25 → 150)."""
    return share * INFO_WEIGHT_PER_MIN / POLL_WEIGHT


def cycle_minutes(wallets: int, share: float) -> float:
    """Minutes to poll every wallet once at ``share`` of the budget."""
    return wallets / polls_per_minute(share)


@dataclass(frozen=True)
class AccountOptions:
    share: float = 0.25  # of Hyperliquid's 1200 Info weight a minute
    top: int = 200  # of the tracked file's top-notional wallets (category wallets are always kept)
    wallets: tuple[str, ...] = ()  # explicit wallets, polled first, whatever the file says
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    reload_check_s: float = 5.0  # how often the tracked-wallets file is checked for a change


def select_wallets(body: Any, top: int) -> list[str]:
    """The wallets of a tracked-wallets file to poll: the first ``top`` by notional rank and every wallet
    listed for another reason (a whale or profitable category), in file order, each once."""
    entries = body.get("wallets") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        raise ValueError("no 'wallets' list")
    out: dict[str, None] = {}
    for e in entries:
        if not isinstance(e, dict) or not isinstance(e.get("wallet"), str):
            continue
        addr = normalize_address(e["wallet"])
        if addr is None:
            continue
        reasons = [r.strip() for r in str(e.get("reason") or "").split(",") if r.strip()]
        rank = e.get("notional_rank")
        by_rank = TOP_REASON in reasons and isinstance(rank, int) and rank <= top
        if by_rank or any(r != TOP_REASON for r in reasons):
            out.setdefault(addr)
    return list(out)


class TrackedWallets:
    """The wallets to poll: the explicit ones, then the file's selection, re-read when the file changes."""

    def __init__(self, path: Path, top: int, explicit: Sequence[str] = ()) -> None:
        self.path = Path(path)
        self.top = top
        self.explicit = list(dict.fromkeys(explicit))
        self.from_file: list[str] = []
        self._stat: tuple[int, int] | None = None
        self.loads = 0

    def refresh(self) -> bool:
        """Re-read the file if it changed (or appeared, or went away); True when the wallet list changed."""
        try:
            st = self.path.stat()
            stat: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            stat = None
        if stat == self._stat:
            return False
        self._stat = stat
        before = self.from_file
        if stat is None:
            self.from_file = []
        else:
            try:
                self.from_file = select_wallets(json.loads(self.path.read_text()), self.top)
                self.loads += 1
            except (OSError, ValueError) as exc:  # half-written by hand, or not ours: keep polling the old list
                log.warning("ignoring %s (%s): still polling the previous wallets", self.path, exc)
                return False
        return self.from_file != before

    @property
    def wallets(self) -> list[str]:
        return list(dict.fromkeys([*self.explicit, *self.from_file]))


class AccountPoller(threading.Thread):
    """Polls ``clearinghouseState`` round-robin over the tracked wallets into the landing writer.

    ``clock`` and ``sleep`` are injectable (``sleep`` returns True when the poller should stop), so tests
    can run it on a simulated clock; live they are ``time.monotonic`` and the stop event's ``wait``.
    """

    def __init__(self, info: InfoClient, writer: LandingWriter, counters: Counters, tracked: TrackedWallets,
                 stop: threading.Event, opts: AccountOptions, say: Callable[[str], None] = print,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], bool] | None = None) -> None:
        super().__init__(name="account-poller", daemon=True)
        self.info, self.writer, self.counters, self.tracked = info, writer, counters, tracked
        self.stop_event = stop
        self.opts = opts
        self.say = say
        self.clock = clock
        self.sleep = sleep or stop.wait
        # one poll's weight at most saved up: polls are spaced evenly, never bursted
        self.bucket = TokenBucket(opts.share * INFO_WEIGHT_PER_MIN, burst=POLL_WEIGHT, clock=clock,
                                  start_full=False)
        self.wallets: list[str] = []
        self.refused: set[str] = set()  # wallets the exchange refused (4xx other than 429)
        self.polls = 0
        self.failures: Counter[str] = Counter()  # "HTTP 429", "HTTP 502", "unreachable", "bad answer", …
        self.backoffs = 0
        self.backoff_s = 0.0  # seconds spent backing off, in all
        self.poll_times: deque[float] = deque(maxlen=10_000)  # clock() at each request sent (recent ones)
        self.state = "idle"
        self._cursor = 0
        self._attempt = 0
        self._backoff_until = 0.0
        self._next_check = 0.0
        self._said_idle = False
        self._last_ms: int | None = None  # exchange time of the latest answer
        self._gap_open = False
        self._unknown_gap: str | None = None  # a failure before any exchange time was known

    # ---- wallets ----------------------------------------------------------------------------
    def _refresh(self) -> None:
        now = self.clock()
        if now < self._next_check and self.wallets:
            return
        self._next_check = now + self.opts.reload_check_s
        changed = self.tracked.refresh()
        wallets = [w for w in self.tracked.wallets if w not in self.refused]
        if wallets == self.wallets and not changed and (wallets or self._said_idle):
            return
        current = self.wallets[self._cursor % len(self.wallets)] if self.wallets else None
        self.wallets = wallets
        self._cursor = wallets.index(current) if current in wallets else 0
        if wallets:
            self._said_idle = False
            n_file = len([w for w in wallets if w not in self.tracked.explicit])
            self.say(f"account_state: polling {len(wallets)} wallet(s) ({len(self.tracked.explicit)} given, {n_file} "
                     f"from {self.tracked.path.name}) at {polls_per_minute(self.opts.share):.0f} polls/min "
                     f"({self.opts.share:g} of 1200 weight/min): a full cycle every "
                     f"{cycle_minutes(len(wallets), self.opts.share):.1f} min")
        elif not self._said_idle:
            self._said_idle = True
            self.say(f"account_state: idle, no wallets to poll (no {self.tracked.path} yet, no --account-wallets); "
                     "the analysis writes the file after its first run")

    # ---- one step ---------------------------------------------------------------------------
    def step(self) -> bool:
        """At most one poll, after waiting for the wallet list, the backoff and the pacing; True if it polled."""
        self._refresh()
        if not self.wallets:
            self.state = "idle"
            self.sleep(min(self.opts.reload_check_s, max(0.0, self._next_check - self.clock())) or 0.05)
            return False
        now = self.clock()
        if now < self._backoff_until:
            self.state = "backoff"
            self.sleep(self._backoff_until - now)
            return False
        wait = self.bucket.wait_time(POLL_WEIGHT)
        if wait > 0:
            self.state = "polling"
            self.sleep(wait)
            return False
        if not self.bucket.try_take(POLL_WEIGHT):
            return False
        wallet = self.wallets[self._cursor % len(self.wallets)]
        self.poll_times.append(self.clock())
        self.polls += 1
        self.poll(wallet)
        return True

    def poll(self, wallet: str) -> None:
        """One request for ``wallet``: land its rows, or back off, or drop a refused wallet."""
        try:
            body = self.info.clearinghouse_state(wallet)
        except InfoHTTPError as exc:
            if exc.status == 429 or exc.status >= 500:
                self._fail(f"HTTP {exc.status}", exc.retry_after_s)
            else:
                self._refuse(wallet, f"HTTP {exc.status}")
            return
        except UserError as exc:  # unreachable, not JSON: the endpoint's trouble, not the wallet's
            self._fail("unreachable" if "reach" in str(exc) else "bad answer", None, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - never let one request kill the recorder
            self._fail(type(exc).__name__, None, str(exc))
            return
        fallback = self.writer.watermark.now_ms() or int(time.time() * 1000)
        try:
            state, positions = account_rows(wallet, body, fallback, time.time_ns())
        except BadMessage as exc:
            self.failures["bad answer"] += 1
            if self.counters.bad_message(f"account_{exc.kind}", f"{wallet}: {exc.detail}"):
                log.warning("skipped a bad clearinghouseState answer for %s (%s)", wallet, exc.detail)
            self._advance()
            return
        t = state[1]
        self._recovered(t)
        self.writer.add(STATE, [state])
        if positions:
            self.writer.add(POSITIONS, positions)
        self.counters.msgs[STATE] += 1
        self.counters.rows_in[POSITIONS] += len(positions)
        self.counters.last_msg_mono[STATE] = time.monotonic()
        self._last_ms = max(self._last_ms or t, t)
        self._advance()

    def _advance(self) -> None:
        self._cursor = (self._cursor + 1) % max(1, len(self.wallets))

    def _refuse(self, wallet: str, why: str) -> None:
        self.failures[why] += 1
        self.refused.add(wallet)
        log.warning("clearinghouseState refused %s (%s): left out of the rotation", wallet, why)
        self.wallets = [w for w in self.wallets if w != wallet]
        if self.wallets:
            self._cursor %= len(self.wallets)

    def _fail(self, why: str, retry_after_s: float | None, detail: str = "") -> None:
        """Back off (exponential, jittered, capped; at least the server's Retry-After) and open a gap."""
        self.failures[why] += 1
        delay = backoff_delay(self._attempt, self.opts.backoff_base_s, self.opts.backoff_max_s)
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, self.opts.backoff_max_s))
        self._attempt += 1
        self.backoffs += 1
        self.backoff_s += delay
        self._backoff_until = self.clock() + delay
        self.state = "backoff"
        log.warning("clearinghouseState failed (%s%s): backing off %.1f s", why, f": {detail}" if detail else "", delay)
        if self._gap_open or self._unknown_gap is not None:
            return
        start = self._last_ms or self.writer.watermark.event_ms
        if start is None:
            self._unknown_gap = why
        else:
            self._gap_open = True
            for stream in (STATE, POSITIONS):
                self.writer.open_gap(("account", stream), stream, None, start, f"account polling: {why}")

    def _recovered(self, t: int) -> None:
        self._attempt = 0
        self._backoff_until = 0.0
        self.state = "polling"
        if self._gap_open:
            self._gap_open = False
            for stream in (STATE, POSITIONS):
                self.writer.close_gap(("account", stream), t)
        elif self._unknown_gap is not None:
            cause = f"account polling: {self._unknown_gap} (before the first answer; start unknown)"
            self._unknown_gap = None
            for stream in (STATE, POSITIONS):
                key = ("account", stream, "unknown")
                self.writer.open_gap(key, stream, None, t, cause)
                self.writer.close_gap(key, t)

    # ---- thread -----------------------------------------------------------------------------
    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.step()
            except Exception as exc:  # noqa: BLE001 - the poller must never take the recorder down
                log.warning("account poller: %s", exc)
                self._fail(type(exc).__name__, None, str(exc))

    def summary(self) -> dict[str, str]:
        """Lines for the data collection report."""
        fails = ", ".join(f"{k}={v}" for k, v in sorted(self.failures.items())) or "none"
        return {
            "account_state wallets polled (tracked now)": f"{len(self.wallets)}"
            + (f" ({len(self.refused)} refused by the exchange)" if self.refused else ""),
            "account_state polls": f"{self.polls} at ≤ {polls_per_minute(self.opts.share):.0f}/min "
            f"({self.opts.share:g} of 1200 weight/min)",
            "account_state failures": f"{fails}; {self.backoffs} backoffs, {self.backoff_s:.1f} s backing off",
        }
