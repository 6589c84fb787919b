"""Hourly partitions over the landing zone (UTC; keys like ``2026-01-05-13:00``)."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from hypertrack_pipeline.config import load_settings
from hypertrack_pipeline.landing.zone import Hour

hourly_partitions = dg.HourlyPartitionsDefinition(
    start_date=load_settings().partitions_start, timezone="UTC"
)


def hours_in(window: dg.TimeWindow) -> list[Hour]:
    """The hours of a partition time window (one hour, or a backfill range run in one process)."""
    hours, cur = [], Hour(window.start.replace(minute=0, second=0, microsecond=0))
    while cur.start < window.end:
        hours.append(cur)
        cur = Hour(cur.start + timedelta(hours=1))
    return hours
