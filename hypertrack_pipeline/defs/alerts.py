"""Alerts: the rules run as the ``alerts`` asset of the hourly chain (built from its step declaration), and
the ``alert_webhook`` sensor delivers what they stored to HYPERTRACK_ALERT_WEBHOOK.

The sensor requests no run and opens only the read-only snapshot, so a webhook outage can neither fail nor
block the pipeline; its state (what was delivered, the backoff) is the delivery log in the data directory,
so a restarted daemon resumes where it stopped. Every tick ends in a skip reason saying what it did.
"""

import dagster as dg

from hypertrack_pipeline.alerts import STEP, deliver_pending
from hypertrack_pipeline.defs.factory import step_asset
from hypertrack_pipeline.defs.resources import HypertrackSettings

alerts = step_asset(STEP)


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Delivers new rows of `alerts` (from the published snapshot) to HYPERTRACK_ALERT_WEBHOOK, "
                       "each once, with retries and backoff; never requests a run.")
def alert_webhook(context: dg.SensorEvaluationContext, hypertrack: HypertrackSettings) -> dg.SkipReason:
    try:
        report = deliver_pending(hypertrack.get(), say=context.log.warning)
    except Exception as exc:  # deliver_pending reports its own failures; a bad setting must not raise either
        return dg.SkipReason(f"alert delivery not attempted: {type(exc).__name__}: {exc}")
    if report.delivered:
        context.log.info(report.summary())
    return dg.SkipReason(report.summary())
