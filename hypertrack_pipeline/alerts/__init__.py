"""Alerts: rules evaluated in DuckDB after each refresh (:mod:`.rules`, the ``alerts`` step), and their
delivery to a Slack/Discord-compatible webhook (:mod:`.webhook` posts one message with retries,
:mod:`.delivery` sends what the published snapshot holds and the delivery log does not). No Dagster here:
``defs/alerts.py`` is the sensor that calls :func:`deliver_pending`.
"""

from hypertrack_pipeline.alerts.delivery import DeliveryLog, DeliveryReport, deliver_pending
from hypertrack_pipeline.alerts.rules import (
    ALERTS_TABLE,
    BASELINE_TABLE,
    STEP,
    AlertThresholds,
    evaluate_alerts,
)
from hypertrack_pipeline.alerts.webhook import PostResult, RetryPolicy, payload, post_json

__all__ = [
    "ALERTS_TABLE",
    "BASELINE_TABLE",
    "STEP",
    "AlertThresholds",
    "DeliveryLog",
    "DeliveryReport",
    "PostResult",
    "RetryPolicy",
    "deliver_pending",
    "evaluate_alerts",
    "payload",
    "post_json",
]
