"""Delivery from the snapshot to a real local webhook: each alert exactly once across ticks, restarts and
re-run refreshes; an outage never raises, keeps the alerts pending and backs off; a refused alert does not
block the others; nothing is recorded while no webhook is set."""

from __future__ import annotations

import json
import time

import duckdb
import pytest

from hypertrack_pipeline.alerts.delivery import _exclusive, deliver_pending, delivery_log_path
from hypertrack_pipeline.alerts.rules import ALERTS_TABLE, alert_id
from hypertrack_pipeline.alerts.webhook import RetryPolicy
from hypertrack_pipeline.config import load_settings
from hypertrack_pipeline_tests.alerts.conftest import BIG, H0, W1, fill, hours, refresh

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.5, timeout=2.0, deadline=5.0)
@pytest.fixture
def data(tmp_path):
    """A data directory whose snapshot holds three new-position alerts (after a first, priming refresh)."""
    settings = load_settings(tmp_path / "data")
    refresh(settings, H0, [])
    refresh(settings, H0 + hours(1), BIG)
    return tmp_path / "data"


def stored_ids(settings) -> list[str]:
    con = duckdb.connect(str(settings.snapshot_path), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT alert_id FROM alerts ORDER BY created_at, kind, alert_id").fetchall()]
    finally:
        con.close()


def test_each_alert_is_delivered_once_across_ticks_restarts_and_reruns(data, hook):
    settings = load_settings(data, alert_webhook=hook.url)
    hook.script = [(500, {}), (502, {})]  # the first alert needs two retries
    report = deliver_pending(settings, FAST)
    assert len(report.delivered) == 3 and report.pending == 0 and not report.error
    assert hook.requests == 5 and hook.ids() == stored_ids(settings)  # in order, each once
    assert any(b["text"].startswith("[hypertrack] New BTC long of $1,800,000") for b in hook.accepted)

    assert deliver_pending(settings, FAST).summary() == "no new alerts"  # the next tick
    restarted = load_settings(data, alert_webhook=hook.url)  # a new process: state from the delivery log only
    assert deliver_pending(restarted, FAST).delivered == []
    refresh(settings, H0 + hours(1), BIG)  # the same refresh re-run
    assert deliver_pending(restarted, FAST).delivered == []
    assert hook.requests == 5

    refresh(settings, H0 + hours(2), [*BIG, (W1, "ETH", 1_000.0, 3_000.0)])  # a new hour, one new position
    report = deliver_pending(restarted, FAST)
    assert len(report.delivered) == 1 and hook.requests == 6 and len(set(hook.ids())) == 4
    log = json.loads(delivery_log_path(settings).read_text())
    assert sorted(log["delivered"]) == sorted(hook.ids()) and log["failures"] == 0


def test_an_outage_never_raises_keeps_alerts_pending_and_backs_off(data, dead_url, hook):
    down = load_settings(data, alert_webhook=dead_url)
    report = deliver_pending(down, FAST, say=lambda _: None)
    assert report.delivered == [] and report.pending == 3 and "Connection refused" in report.error
    assert "secret-token" not in report.summary()
    log = json.loads(delivery_log_path(down).read_text())
    assert log["failures"] == 1 and log["next_attempt_at"] > time.time() + 25 and log["delivered"] == {}

    started = time.monotonic()
    report = deliver_pending(down, FAST, say=lambda _: None)  # the next tick, inside the backoff: no attempt
    assert "next attempt" in report.reason and report.pending == 3 and time.monotonic() - started < 1

    back = load_settings(data, alert_webhook=hook.url)
    assert deliver_pending(back, FAST, now=time.time).delivered == []  # still backing off
    report = deliver_pending(back, FAST, now=lambda: time.time() + 3600)  # the backoff is over
    assert len(report.delivered) == 3 and hook.ids() == stored_ids(back)
    assert json.loads(delivery_log_path(back).read_text())["failures"] == 0


def test_a_long_retry_after_becomes_the_backoff(data, hook):
    hook.script = [(429, {"Retry-After": "3000"})]
    settings = load_settings(data, alert_webhook=hook.url)
    report = deliver_pending(settings, FAST, say=lambda _: None)
    assert report.delivered == [] and hook.requests == 1
    assert json.loads(delivery_log_path(settings).read_text())["next_attempt_at"] >= time.time() + 2990


def test_a_refused_alert_is_recorded_and_does_not_block_the_others(data, hook):
    hook.script = [(400, {}, b"invalid_payload")]
    settings = load_settings(data, alert_webhook=hook.url)
    report = deliver_pending(settings, FAST, say=lambda _: None)
    assert len(report.rejected) == 1 and len(report.delivered) == 2 and report.pending == 0
    assert deliver_pending(settings, FAST).summary() == "no new alerts" and hook.requests == 3


def test_without_a_webhook_nothing_is_sent_or_recorded(data):
    settings = load_settings(data)
    report = deliver_pending(settings, FAST)
    assert "HYPERTRACK_ALERT_WEBHOOK is not set" in report.summary()
    assert not delivery_log_path(settings).exists()


def test_only_the_last_day_is_delivered_a_few_per_tick(tmp_path, hook):
    settings = load_settings(tmp_path, alert_webhook=hook.url)
    con = duckdb.connect(str(settings.snapshot_path))
    rows = [{"alert_id": alert_id("position_new", W1, str(h), H0 + hours(h), 1e6), "created_at": H0 + hours(h),
             "kind": "position_new", "wallet": W1, "coin": str(h), "message": f"hour {h}", "recorded_at": H0}
            for h in (0, 10, 30, 40, 45, 50)]  # the newest is hour 50: hours 0 and 10 are over a day older
    fill(con, ALERTS_TABLE, rows)
    con.close()
    assert deliver_pending(settings, FAST, max_alerts=2).delivered == [rows[2]["alert_id"], rows[3]["alert_id"]]
    assert len(deliver_pending(settings, FAST, max_alerts=2).delivered) == 2
    assert deliver_pending(settings, FAST).summary() == "no new alerts"
    assert [b["text"] for b in hook.accepted] == [f"[hypertrack] hour {h}" for h in (30, 40, 45, 50)]


def test_an_unreadable_log_or_a_concurrent_delivery_sends_nothing(data, hook):
    settings = load_settings(data, alert_webhook=hook.url)
    path = delivery_log_path(settings)
    with _exclusive(path.with_suffix(".lock")) as mine:
        assert mine and "in progress" in deliver_pending(settings, FAST).reason
    path.write_text("{not json")
    assert "unreadable" in deliver_pending(settings, FAST, say=lambda _: None).reason
    assert hook.requests == 0


def test_a_broken_snapshot_is_reported_not_raised(tmp_path, hook):
    settings = load_settings(tmp_path, alert_webhook=hook.url)
    assert "no warehouse snapshot yet" in deliver_pending(settings, FAST).reason
    settings.snapshot_path.write_bytes(b"this is not a DuckDB file" * 100)
    assert "delivery failed" in deliver_pending(settings, FAST, say=lambda _: None).reason
