"""Size and PnL cohorts on the dollar ladders public Hyperliquid trackers use.

Size ladder (lower bounds, USD): Shrimp < 250 ≤ Fish < 10k ≤ Dolphin < 50k ≤ Apex Predator < 100k ≤
Small Whale < 500k ≤ Whale < 1M ≤ Tidal Whale < 5M ≤ Leviathan. Trackers rank by perp account equity,
which public trade streams do not reveal; the closest observable proxy is the wallet's peak open
position notional: max over coins and minutes of |end-of-minute position| × the minute's last fill
price, the position rebuilt from the fills from 0 (self-trades and wash-pair trades excluded: they do
not move it; moves that open and close within one minute are not seen).

PnL ladder (total PnL from ``wallet_pnl``, USD): Giga-Rekt < −1M ≤ Full Rekt < −100k ≤ Semi-Rekt <
−10k ≤ Exit Liquidity < 0 ≤ Humble Earner < 10k ≤ Grinder < 100k ≤ Smart Money < 1M ≤ Money Printer.
Both ladders are configuration (``Thresholds.SIZE_COHORTS`` / ``PNL_COHORTS``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from hypertrack_pipeline.classification.activity import minutes_source
from hypertrack_pipeline.classification.thresholds import Thresholds


def cohort_case_sql(column: str, ladder: Sequence[tuple[float, str]]) -> str:
    """SQL CASE mapping ``column`` onto ``ladder`` ((lower bound, name) ascending); NULL stays NULL."""
    if not ladder:
        raise ValueError("a cohort ladder needs at least one rung")
    parts = [f"WHEN {column} IS NULL THEN NULL"]
    for bound, name in reversed(ladder[1:]):
        parts.append(f"WHEN {column} >= {float(bound)!r} THEN '{_quote(name)}'")
    return "CASE " + " ".join(parts) + f" ELSE '{_quote(ladder[0][1])}' END"


def cohort_of(value: float, ladder: Sequence[tuple[float, str]]) -> str:
    """The rung of ``ladder`` that ``value`` falls on (Python twin of ``cohort_case_sql``)."""
    name = ladder[0][1]
    for bound, rung in ladder[1:]:
        if value >= bound and not math.isnan(value):
            name = rung
    return name


def _quote(name: str) -> str:
    return name.replace("'", "''")


def peak_position_sql(t: Thresholds, minutes: str | None = None) -> str:
    """SELECT producing (wallet, peak_position_usd) from the per-minute activity."""
    return f"""
    SELECT wallet, max(abs(position_sz) * last_px) AS peak_position_usd
    FROM {minutes_source(t, minutes)} GROUP BY wallet
    """


def size_cohort_sql(t: Thresholds, minutes: str | None = None) -> str:
    """SELECT producing (wallet, peak_position_usd, size_cohort)."""
    return f"""
    SELECT wallet, peak_position_usd, {cohort_case_sql('peak_position_usd', t.SIZE_COHORTS)} AS size_cohort
    FROM ({peak_position_sql(t, minutes)})
    """
