"""Per wallet × coin × minute trading activity: the one pass over ``fills`` that Kirilenko classes and
size cohorts share.

Self-trades and trades inside washing pairs are left out (they move neither risk nor economic
volume). Aggregating to minutes first keeps the later window functions small: an active market
maker has many fills a minute, and the paper's inventory criteria are stated on minute-end positions.
"""

from __future__ import annotations

from hypertrack_pipeline.classification.thresholds import Thresholds
from hypertrack_pipeline.classification.wash import washing_pairs_sql

MINUTE_MS = 60_000
MINUTES_PER_DAY = 1440


def wallet_minutes_sql(wash_pairs: str) -> str:
    """SELECT producing per (wallet, coin, minute): flow_usd, vol_usd, maker_vol_usd, fills, last_px,
    cum_flow_usd (running signed notional since the first fill) and position_sz (running position).

    ``wash_pairs``: a table name or parenthesised query with columns (a, b), a < b. One window pass
    over (wallet, coin) serves both users: the inventory deviation within a day is a standard
    deviation, which the running total's offset at the day's start does not change.
    """
    return f"""
    WITH per_minute AS (
        SELECT fl.wallet, fl.coin, fl.time_ms // {MINUTE_MS} AS minute,
               sum(CAST(fl.side_sign AS DOUBLE) * abs(fl.notional)) AS flow_usd,
               sum(abs(fl.notional)) AS vol_usd,
               sum(CASE WHEN fl.is_maker THEN abs(fl.notional) ELSE 0.0 END) AS maker_vol_usd,
               count(*) AS fills,
               sum(CAST(fl.side_sign AS DOUBLE) * fl.sz) AS net_sz,
               arg_max(fl.px, (fl.time_ms, fl.tid)) AS last_px
        FROM fills fl
        ANTI JOIN (SELECT a, b FROM {wash_pairs}) wp
            ON wp.a = least(fl.wallet, fl.counterparty) AND wp.b = greatest(fl.wallet, fl.counterparty)
        WHERE fl.counterparty IS DISTINCT FROM fl.wallet
        GROUP BY ALL
    )
    SELECT wallet, coin, minute, minute // {MINUTES_PER_DAY} AS day, flow_usd, vol_usd, maker_vol_usd, fills, last_px,
           sum(flow_usd) OVER w AS cum_flow_usd,
           sum(net_sz) OVER w AS position_sz
    FROM per_minute
    WINDOW w AS (PARTITION BY wallet, coin ORDER BY minute ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    """


def minutes_source(t: Thresholds, minutes: str | None) -> str:
    """``minutes`` if given (a materialized table), else the full inline query."""
    if minutes is not None:
        return minutes
    return f"({wallet_minutes_sql(f'({washing_pairs_sql(t)})')})"
