"""The alert_webhook sensor, evaluated as the daemon would: it reads the snapshot of a data directory,
delivers through the webhook, requests no run, and ends every tick in a skip reason (never an error)."""

from __future__ import annotations

import dagster as dg
import pytest

from hypertrack_pipeline.config import ConfigError, load_settings
from hypertrack_pipeline.defs.alerts import alert_webhook
from hypertrack_pipeline.defs.resources import HypertrackSettings
from hypertrack_pipeline_tests.alerts.conftest import BIG, H0, hours, refresh


def tick(data) -> dg.SensorResult | dg.SkipReason:
    ctx = dg.build_sensor_context(resources={"hypertrack": HypertrackSettings(data_dir=str(data))})
    return alert_webhook.evaluate_tick(ctx)


def test_the_sensor_delivers_each_alert_once_and_never_requests_a_run(tmp_path, hook, monkeypatch):
    data = tmp_path / "data"
    settings = load_settings(data)
    refresh(settings, H0, [])
    refresh(settings, H0 + hours(1), BIG)

    result = tick(data)
    assert not result.run_requests and "HYPERTRACK_ALERT_WEBHOOK is not set" in result.skip_message
    assert not (data / "state" / "alerts_delivered.json").exists()

    monkeypatch.setenv("HYPERTRACK_ALERT_WEBHOOK", hook.url)
    hook.script = [(503, {})]
    result = tick(data)
    assert not result.run_requests and result.skip_message == "delivered 3 alert(s)"
    assert len(hook.accepted) == 3 and hook.requests == 4
    assert tick(data).skip_message == "no new alerts"
    assert hook.requests == 4


def test_the_sensor_never_raises(tmp_path, dead_url, monkeypatch):
    data = tmp_path / "data"
    refresh(load_settings(data), H0, [])
    refresh(load_settings(data), H0 + hours(1), BIG)
    monkeypatch.setenv("HYPERTRACK_ALERT_WEBHOOK", dead_url)
    result = tick(data)
    assert "3 pending" in result.skip_message and "webhook unavailable" in result.skip_message
    assert "secret-token" not in result.skip_message
    monkeypatch.setenv("HYPERTRACK_ALERT_WEBHOOK", "not a url")  # a malformed setting
    assert "must be a http/https URL" in tick(data).skip_message


def test_the_sensor_is_part_of_the_definitions_and_targets_no_job():
    from hypertrack_pipeline.definitions import build_definitions

    defs = build_definitions(load_settings("unused"))
    sensor = defs.get_sensor_def("alert_webhook")
    assert not sensor.targets and sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_alert_settings_are_read_and_checked(monkeypatch):
    settings = load_settings("d")
    assert (settings.alert_min_notional, settings.alert_liq_distance, settings.alert_webhook) == (1e6, 0.05, None)
    monkeypatch.setenv("HYPERTRACK_ALERT_MIN_NOTIONAL", "250000")
    monkeypatch.setenv("HYPERTRACK_ALERT_LIQ_DISTANCE", "0.1")
    monkeypatch.setenv("HYPERTRACK_ALERT_CATEGORIES", "Whale, Bot")
    monkeypatch.setenv("HYPERTRACK_ALERT_WEBHOOK", "https://hooks.slack.com/services/T0/B0/XYZ")
    settings = load_settings("d")
    assert settings.alert_min_notional == 250_000 and settings.alert_liq_distance == 0.1
    assert settings.alert_categories == ("Whale", "Bot") and settings.alert_webhook.endswith("/XYZ")
    assert "XYZ" not in str(settings.describe())
    monkeypatch.setenv("HYPERTRACK_ALERT_LIQ_DISTANCE", "5")
    with pytest.raises(ConfigError, match="share of the mark"):
        load_settings("d")
    monkeypatch.setenv("HYPERTRACK_ALERT_LIQ_DISTANCE", "0.05")
    monkeypatch.setenv("HYPERTRACK_ALERT_WEBHOOK", "ftp://hooks.example/secret")
    with pytest.raises(ConfigError) as err:
        load_settings("d")
    assert "secret" not in str(err.value)
