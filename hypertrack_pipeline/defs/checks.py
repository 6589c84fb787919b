"""Asset checks: each runs one check function of the warehouse (or the model) and reports it."""

from collections.abc import Callable

import dagster as dg
from dagster_duckdb import DuckDBResource

from hypertrack_pipeline.defs.metadata import to_metadata
from hypertrack_pipeline.defs.resources import WAREHOUSE_POOL, HypertrackSettings
from hypertrack_pipeline.warehouse import checks as wh
from hypertrack_pipeline.warehouse.schema import RAW_TABLES


def _run(duckdb: DuckDBResource, check: Callable, *args) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        passed, meta = check(con, *args)
    return dg.AssetCheckResult(passed=bool(passed), metadata=to_metadata(meta))


@dg.asset_check(asset="trades", pool=WAREHOUSE_POOL, description="(coin, time_ms, tid) is unique")
def trades_unique_ids(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    return _run(duckdb, wh.check_unique_trade_ids)


@dg.asset_check(asset="trades", pool=WAREHOUSE_POOL,
                description="every raw table has the declared columns and types")
def raw_schema(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    return _run(duckdb, wh.check_schema, list(RAW_TABLES))


@dg.asset_check(asset="fills", pool=WAREHOUSE_POOL, description="count(fills) = 2 × count(trades)")
def fills_two_per_trade(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    return _run(duckdb, wh.check_fills_match_trades)


@dg.asset_check(asset="fills", pool=WAREHOUSE_POOL, description="no NULL key in any raw table")
def no_null_keys(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    return _run(duckdb, wh.check_no_null_keys)


@dg.asset_check(asset="candles", pool=WAREHOUSE_POOL,
                description="share of fills whose minute has a completed candle (≥ 90%)")
def candle_coverage(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    return _run(duckdb, wh.check_candle_coverage)


@dg.asset_check(asset="gaps", pool=WAREHOUSE_POOL,
                description="recorded gaps per stream; fails when one covers > 5% of the time span")
def gaps_reported(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    return _run(duckdb, wh.check_gaps)


@dg.asset_check(asset="wallet_features", pool=WAREHOUSE_POOL,
                description="no feature is constant over all wallets (names the constant ones)")
def features_non_constant(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    return _run(duckdb, wh.check_features_non_constant)


@dg.asset_check(asset="wallet_features", pool=WAREHOUSE_POOL,
                description="wallet_features has the 36 features and coverage columns")
def features_schema(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    return _run(duckdb, wh.check_schema, ["wallet_features"])


@dg.asset_check(asset="wallet_model", description="every head beats the predict-the-mean baseline "
                "on held-out wallets")
def model_beats_baselines(hypertrack: HypertrackSettings) -> dg.AssetCheckResult:
    from hypertrack_pipeline.ml import latest_model_info

    info = latest_model_info(hypertrack.get().models_dir) or {}
    heads = (info.get("metrics") or {}).get("heads") or {}
    losing = sorted(h for h, m in heads.items() if not m.get("beats_baseline"))
    return dg.AssetCheckResult(
        passed=bool(heads) and not losing,
        metadata={"version": str(info.get("version")), "heads_not_beating_baseline": ", ".join(losing) or "none",
                  **{f"{h}.skill": float(m.get("skill", float("nan"))) for h, m in heads.items()}},
    )
