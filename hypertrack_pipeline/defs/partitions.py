"""One partition per closed landing hour (keys like ``2026-01-05-13:00``), added as hours close.

Dynamic rather than a fixed hourly range: the UI shows exactly the hours the landing zone holds (a
demo is fully materialized, a live deployment gets a partition per closed hour from its first recorded
hour on), and new hours are always a contiguous run of keys, so every new hour loads in one run.
Keys are kept sorted: an hour that closes out of order (a backfill of older data) re-inserts the newer
keys after it (materializations are kept by key).
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from hypertrack_pipeline.landing.zone import Hour

landing_hours = dg.DynamicPartitionsDefinition(name="landing_hours")


def add_hours(instance: dg.DagsterInstance, keys: Iterable[str]) -> list[str]:
    """Add partition keys for these hours, keeping the partition list sorted; returns the new keys."""
    existing = list(instance.get_dynamic_partitions(landing_hours.name))
    new = sorted(set(keys) - set(existing))
    if not new:
        return []
    later = sorted(k for k in existing if k > new[0])
    for k in later:  # re-insert after the new keys so the list stays in time order
        instance.delete_dynamic_partition(landing_hours.name, k)
    instance.add_dynamic_partitions(landing_hours.name, sorted(set(new) | set(later)))
    return new


def key_ranges(keys: Iterable[str], ordered: list[str]) -> list[tuple[str, str]]:
    """Contiguous runs (in partition order) covering ``keys``: each run loads one range."""
    wanted = set(keys)
    ranges: list[tuple[str, str]] = []
    run: list[str] = []
    for k in ordered:
        if k in wanted:
            run.append(k)
        elif run:
            ranges.append((run[0], run[-1]))
            run = []
    if run:
        ranges.append((run[0], run[-1]))
    return ranges


def hours_of(context: dg.AssetExecutionContext) -> list[Hour]:
    """The hours of the run's partition or partition range."""
    return [Hour.from_key(k) for k in context.partition_keys]
