"""Which closed hours are new: the landing sensor's bookkeeping, kept free of Dagster.

The cursor is a small JSON document ``{"floor": key | null, "recent": [keys]}``: every hour at or
before ``floor`` counts as requested, and ``recent`` holds the requested hours after it. The floor
trails the newest requested hour by ``keep_hours``, so the cursor stays small while hours that close
out of order (a restarted recorder closing yesterday's hour) are still picked up once. Hours older
than the floor are left to `hypertrack materialize` or a UI backfill.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta

from hypertrack_pipeline.landing.zone import Hour

KEEP_HOURS = 7 * 24


def plan_new_hours(
    closed: Iterable[Hour], cursor: str | None, keep_hours: int = KEEP_HOURS
) -> tuple[list[Hour], str]:
    """Return the closed hours never requested before, and the cursor that remembers them."""
    state = json.loads(cursor) if cursor else {}
    floor = Hour.from_key(state["floor"]) if state.get("floor") else None
    recent = {Hour.from_key(k) for k in state.get("recent", [])}
    new = sorted(h for h in set(closed) if (floor is None or h > floor) and h not in recent)
    recent |= set(new)
    if recent:
        newest = max(recent)
        cut = Hour(newest.start - timedelta(hours=keep_hours))
        if floor is None or cut > floor:
            floor = cut
        recent = {h for h in recent if h > floor}
    body = {"floor": floor.key if floor else None, "recent": sorted(h.key for h in recent)}
    return new, json.dumps(body, separators=(",", ":"))
