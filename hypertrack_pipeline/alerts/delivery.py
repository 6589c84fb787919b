"""Deliver the stored alerts to the webhook: what the published snapshot holds and the delivery log does not.

Reads only the read-only snapshot (never the live warehouse, whose single-writer lock belongs to the runs),
so delivery can neither block nor fail the pipeline. The delivery log ``<data>/state/alerts_delivered.json``
is rewritten atomically (temp file, fsync, rename) after every accepted POST, so a restart, a re-run or a
second tick never sends an alert twice; the only window is a crash between the server's 2xx and that
rename (milliseconds), and the body carries ``alert_id`` for a receiver that wants to deduplicate even then.
An exclusive lock on ``alerts_delivered.lock`` keeps two deliveries (two daemons) from racing.

A failed delivery (endpoint down, 429 with a long Retry-After, 5xx after the in-call retries) keeps the alert
pending and records a backoff in the log (60 s doubling to 15 min, jittered; at least the Retry-After): the
next ticks skip until then, and the alerts go out in order once the endpoint answers. An alert the endpoint
refuses for its content (400/413/422) is recorded as rejected and not retried, so it cannot block the ones
after it. Alerts more than a day older (data time) than the newest one are not delivered: enabling the
webhook after a week of running sends the last day, not the whole history. No Dagster here.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from hypertrack_pipeline.alerts.rules import ALERTS_TABLE, Alert
from hypertrack_pipeline.alerts.webhook import DEFAULT_POLICY, PostResult, RetryPolicy, payload, post_json
from hypertrack_pipeline.files import write_json_atomic

if TYPE_CHECKING:
    from hypertrack_pipeline.config import Settings

MAX_AGE = timedelta(hours=24)  # only alerts this close (data time) to the newest one are delivered
KEEP = MAX_AGE + timedelta(days=7)  # delivered ids older than this can never be pending again: pruned
MAX_PER_TICK = 20
TICK_BUDGET_S = 40.0  # a sensor evaluation times out after 60 s
BACKOFF_BASE_S, BACKOFF_MAX_S = 60.0, 900.0
_COLUMNS = ("alert_id", "created_at", "kind", "wallet", "coin", "category", "value", "threshold", "message")


def delivery_log_path(settings: Settings) -> Path:
    return settings.data_dir / "state" / "alerts_delivered.json"


class DeliveryLogError(Exception):
    """The delivery log cannot be read: sending anything could send an alert twice."""


@dataclass
class DeliveryLog:
    """What was delivered (alert id → its data time, for pruning), what was refused, and the backoff state."""

    path: Path
    delivered: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)  # refused by the endpoint: alert id → its data time
    failures: int = 0  # consecutive failed deliveries
    next_attempt_at: float | None = None  # epoch s: no delivery before this
    last_error: str = ""

    @classmethod
    def load(cls, path: Path) -> DeliveryLog:
        if not path.exists():
            return cls(path)
        try:
            raw = json.loads(path.read_text())
            return cls(path, dict(raw["delivered"]), dict(raw.get("rejected", {})), int(raw.get("failures", 0)),
                       raw.get("next_attempt_at"), str(raw.get("last_error", "")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DeliveryLogError(f"delivery log {path} is unreadable ({exc}); nothing is sent until it is "
                                   "fixed or removed (removing it re-sends the last day's alerts)") from exc

    def done(self, alert_id: str) -> bool:
        return alert_id in self.delivered or alert_id in self.rejected

    def save(self) -> None:
        """Atomically: a crash leaves the previous log or this one, never half of one."""
        write_json_atomic(self.path, {"delivered": self.delivered, "rejected": self.rejected,
                                      "failures": self.failures, "next_attempt_at": self.next_attempt_at,
                                      "last_error": self.last_error}, sort_keys=True)

    def prune(self, oldest: datetime) -> None:
        cut = oldest.isoformat()
        self.delivered = {k: v for k, v in self.delivered.items() if v >= cut}
        self.rejected = {k: v for k, v in self.rejected.items() if v >= cut}


@dataclass
class DeliveryReport:
    """What one delivery pass did, for the sensor's skip reason and its log."""

    delivered: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    pending: int = 0
    reason: str = ""  # why nothing (more) was sent
    error: str = ""

    def summary(self) -> str:
        parts = []
        if self.delivered:
            parts.append(f"delivered {len(self.delivered)} alert(s)")
        if self.rejected:
            parts.append(f"{len(self.rejected)} refused by the endpoint (not retried)")
        if self.pending:
            parts.append(f"{self.pending} pending")
        if self.reason:
            parts.append(self.reason)
        return "; ".join(parts) or "no new alerts"


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def stored_alerts(snapshot: Path) -> list[Alert] | None:
    """The deliverable alerts of the snapshot, oldest first (None: the snapshot has no alerts table yet)."""
    import duckdb

    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        has = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                          [ALERTS_TABLE.name]).fetchall()[0][0]
        if not has:
            return None
        rows = con.execute(f"""
            SELECT {', '.join(_COLUMNS)} FROM alerts
            WHERE created_at >= (SELECT max(created_at) FROM alerts) - INTERVAL {int(MAX_AGE.total_seconds())} SECOND
            ORDER BY created_at, kind, alert_id""").fetchall()
    finally:
        con.close()
    return [Alert(*row) for row in rows]


def deliver_pending(settings: Settings, policy: RetryPolicy = DEFAULT_POLICY, say: Callable[[str], None] = print,
                    now: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                    budget_s: float = TICK_BUDGET_S, max_alerts: int = MAX_PER_TICK) -> DeliveryReport:
    """Send the snapshot's undelivered alerts (at most ``max_alerts``, within ``budget_s``), recording each
    delivery. Never raises: every failure is in the report and leaves the alerts pending."""
    try:
        return _deliver(settings, policy, say, now, sleep, budget_s, max_alerts)
    except Exception as exc:  # e.g. an unreadable snapshot: report it, the next tick tries again
        say(f"alert delivery failed: {type(exc).__name__}: {exc}")
        return DeliveryReport(reason=f"delivery failed: {type(exc).__name__}: {exc}", error=str(exc))


def _deliver(settings: Settings, policy: RetryPolicy, say: Callable[[str], None], now: Callable[[], float],
             sleep: Callable[[float], None], budget_s: float, max_alerts: int) -> DeliveryReport:
    url = settings.alert_webhook
    if not url:
        return DeliveryReport(reason="HYPERTRACK_ALERT_WEBHOOK is not set: alerts stay in the alerts table, "
                                     "nothing is delivered or recorded")
    if not settings.snapshot_path.exists():
        return DeliveryReport(reason="no warehouse snapshot yet (published at the end of the first refresh)")
    path = delivery_log_path(settings)
    with _exclusive(path.with_suffix(".lock")) as mine:
        if not mine:
            return DeliveryReport(reason="another delivery is in progress")
        try:
            log = DeliveryLog.load(path)
        except DeliveryLogError as exc:
            say(str(exc))
            return DeliveryReport(reason=str(exc), error=str(exc))
        alerts = stored_alerts(settings.snapshot_path)
        if alerts is None:
            return DeliveryReport(reason="the snapshot has no alerts table yet (the alerts step has not run)")
        pending = [a for a in alerts if not log.done(a.alert_id)]
        report = DeliveryReport(pending=len(pending))
        if not pending:
            return report
        if log.next_attempt_at is not None and now() < log.next_attempt_at:
            wait = datetime.fromtimestamp(log.next_attempt_at, UTC).strftime("%H:%M:%S UTC")
            report.reason = f"webhook failed {log.failures} time(s) in a row ({log.last_error}); next attempt {wait}"
            return report
        started = time.monotonic()
        for alert in pending[:max_alerts]:
            left = budget_s - (time.monotonic() - started)
            if left <= 0:
                report.reason = "tick time budget spent; the rest goes next tick"
                break
            result = post_json(url, payload(alert), _within(policy, left), sleep=sleep)
            if result.ok:
                log.delivered[alert.alert_id] = alert.created_at.isoformat()
                log.failures, log.next_attempt_at, log.last_error = 0, None, ""
                report.delivered.append(alert.alert_id)
            elif result.rejected:
                log.rejected[alert.alert_id] = alert.created_at.isoformat()
                report.rejected.append(alert.alert_id)
                say(f"alert {alert.alert_id} refused by the endpoint, not retried: {result.error}")
            else:
                _back_off(log, result, now())
                report.reason = f"webhook unavailable ({result.error}); retrying after backoff"
                report.error = result.error
                say(f"alert delivery failed after {result.attempts} attempt(s): {result.error}")
                log.save()
                break
            log.save()  # after every accepted alert: a restart never sends it again
        report.pending = len(pending) - len(report.delivered) - len(report.rejected)
        newest = max(a.created_at for a in alerts)
        before = len(log.delivered) + len(log.rejected)
        log.prune(newest - KEEP)
        if len(log.delivered) + len(log.rejected) != before:
            log.save()
        return report


def _within(policy: RetryPolicy, left: float) -> RetryPolicy:
    return RetryPolicy(policy.attempts, policy.base_delay, policy.max_delay, min(policy.timeout, max(left, 0.1)),
                       min(policy.deadline, left))


def _back_off(log: DeliveryLog, result: PostResult, wall: float) -> None:
    log.failures += 1
    delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (log.failures - 1)) * random.uniform(0.5, 1.0)
    log.next_attempt_at = wall + max(delay, result.retry_after or 0.0)
    log.last_error = result.error

