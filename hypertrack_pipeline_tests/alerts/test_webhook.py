"""The webhook POST against a real local HTTP server: retried with backoff on 5xx / 429 (Retry-After honoured),
a refused body not retried, a dead server never raising, and the URL's secret never in an error."""

from __future__ import annotations

import time
from datetime import datetime

from hypertrack_pipeline.alerts.rules import POSITION_NEW, Alert
from hypertrack_pipeline.alerts.webhook import RetryPolicy, payload, post_json

FAST = RetryPolicy(attempts=4, base_delay=0.02, max_delay=1.0, timeout=2.0, deadline=10.0)
ALERT = Alert.make(POSITION_NEW, "0x" + "1" * 40, "BTC", None, datetime(2026, 3, 2, 11), 1.5e6, 1e6,
                   "New BTC long of $1,500,000 by 0x111…")


class Sleeps:
    """time.sleep, remembering each wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)


def test_the_body_speaks_slack_and_discord_and_carries_the_alert():
    body = payload(ALERT)
    assert body["text"] == body["content"] == "[hypertrack] New BTC long of $1,500,000 by 0x111…"
    assert body["hypertrack"]["alert_id"] == ALERT.alert_id and body["hypertrack"]["kind"] == POSITION_NEW
    assert body["hypertrack"]["created_at"] == "2026-03-02T11:00:00Z"
    long = Alert.make(POSITION_NEW, "w", "BTC", None, datetime(2026, 3, 2), 1.0, 1.0, "x" * 5000)
    assert len(payload(long)["content"]) == 2000 and len(payload(long)["text"]) > 5000


def test_server_errors_and_429_are_retried_with_backoff_then_delivered_once(hook):
    hook.script = [(500, {}), (503, {}), (429, {"Retry-After": "0.3"})]
    sleeps = Sleeps()
    result = post_json(hook.url, payload(ALERT), FAST, sleep=sleeps)
    assert result.ok and result.attempts == 4 and result.status == 200
    assert hook.requests == 4 and hook.ids() == [ALERT.alert_id]  # accepted exactly once
    assert len(sleeps.waits) == 3 and sleeps.waits[2] >= 0.3  # the Retry-After is the minimum wait
    assert all(w <= FAST.max_delay for w in sleeps.waits)


def test_discord_retry_after_in_the_body_is_honoured(hook):
    hook.script = [(429, {"Content-Type": "application/json"}, b'{"message": "rate limited", "retry_after": 0.25}')]
    sleeps = Sleeps()
    assert post_json(hook.url, payload(ALERT), FAST, sleep=sleeps).ok and hook.requests == 2
    assert sleeps.waits[0] >= 0.25


def test_a_long_retry_after_is_returned_not_slept(hook):
    hook.script = [(429, {"Retry-After": "120"})]
    sleeps = Sleeps()
    result = post_json(hook.url, payload(ALERT), FAST, sleep=sleeps)
    assert not result.ok and result.retry_after == 120 and result.attempts == 1
    assert sleeps.waits == [] and hook.accepted == []


def test_a_refused_body_is_not_retried(hook):
    hook.script = [(400, {})]
    result = post_json(hook.url, payload(ALERT), FAST, sleep=Sleeps())
    assert not result.ok and result.rejected and result.attempts == 1 and hook.requests == 1
    assert "secret-token" not in result.error and "HTTP 400" in result.error


def test_persistent_failure_gives_up_after_the_policy(hook):
    hook.script = [(500, {})] * 10
    result = post_json(hook.url, payload(ALERT), FAST, sleep=Sleeps())
    assert not result.ok and not result.rejected and result.attempts == FAST.attempts == hook.requests


def test_a_dead_server_never_raises_and_the_secret_stays_masked(dead_url):
    started = time.monotonic()
    result = post_json(dead_url, payload(ALERT), FAST, sleep=Sleeps())
    assert not result.ok and result.status is None and result.attempts == FAST.attempts
    assert "secret-token" not in result.error and "127.0.0.1" in result.error
    assert time.monotonic() - started < 5
    # not even a URL urllib cannot open
    assert not post_json("http://", payload(ALERT), FAST, sleep=Sleeps()).ok
