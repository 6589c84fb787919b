"""DuckDB warehouse: schema, hourly loading, fills, average-cost PnL, the 36 wallet features,
asset-check SQL and the read-only query path. No Dagster here: assets call these functions."""

from hypertrack_pipeline.warehouse.checks import (
    check_candle_coverage,
    check_features_non_constant,
    check_fills_match_trades,
    check_gaps,
    check_landing_files,
    check_no_null_keys,
    check_schema,
    check_unique_trade_ids,
)
from hypertrack_pipeline.warehouse.features import build_wallet_features
from hypertrack_pipeline.warehouse.loading import load_hours
from hypertrack_pipeline.warehouse.pnl import build_wallet_pnl
from hypertrack_pipeline.warehouse.query import (
    format_table,
    open_for_reading,
    publish_snapshot,
    query_warehouse,
    run_query,
)
from hypertrack_pipeline.warehouse.schema import ensure_schema
from hypertrack_pipeline.warehouse.window import feature_window

__all__ = [
    "feature_window",
    "format_table",
    "open_for_reading",
    "query_warehouse",
    "build_wallet_features",
    "build_wallet_pnl",
    "check_candle_coverage",
    "check_features_non_constant",
    "check_fills_match_trades",
    "check_gaps",
    "check_landing_files",
    "check_no_null_keys",
    "check_schema",
    "check_unique_trade_ids",
    "ensure_schema",
    "load_hours",
    "publish_snapshot",
    "run_query",
]
