"""Asset checks of the wallet assets: each runs one check function of the warehouse (or the model) and
reports it. The raw tables' checks run inside the load itself (defs/raw.py), on the same connection."""

from collections.abc import Callable

import dagster as dg
from dagster_duckdb import DuckDBResource

from hypertrack_pipeline.defs.metadata import to_metadata
from hypertrack_pipeline.defs.resources import WAREHOUSE_POOL, HypertrackSettings
from hypertrack_pipeline.warehouse import checks as wh
from hypertrack_pipeline.warehouse import reconcile


def _run(duckdb: DuckDBResource, check: Callable, *args) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        passed, meta = check(con, *args)
    return dg.AssetCheckResult(passed=bool(passed), metadata=to_metadata(meta))


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


@dg.asset_check(asset="pnl_reconciliation", pool=WAREHOUSE_POOL,
                description="every archive fill's startPosition equals our reconstructed position (holes in the "
                "archive and spot transfers excepted); mismatches listed")
def positions_match_exchange(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    return _run(duckdb, reconcile.check_positions)


@dg.asset_check(asset="pnl_reconciliation", pool=WAREHOUSE_POOL,
                description="our average-cost realized PnL equals the sum of the exchange's closedPnl (1e-6 "
                "relative) wherever the cost basis is known; mismatches listed")
def realized_pnl_matches_exchange(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    return _run(duckdb, reconcile.check_realized)


@dg.asset_check(asset="pnl_reconciliation", pool=WAREHOUSE_POOL,
                description="every archive fill of a trade is a side of a row in trades (what wallet_pnl reads)")
def exchange_fills_in_trades(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    return _run(duckdb, reconcile.check_fills_are_trades)
