"""Wallet-level assets: PnL, features, training targets, the model, scores and categories.

Each asset calls one domain function with a short-lived warehouse connection and returns metadata.
"""


import dagster as dg
from dagster_duckdb import DuckDBResource

from hypertrack_pipeline.defs.metadata import preview, to_metadata
from hypertrack_pipeline.defs.resources import WAREHOUSE_POOL, HypertrackSettings

GROUP = "wallets"
RAW = ["trades", "fills", "bbo", "l2_snapshots", "candles", "evm_blocks", "evm_transactions",
       "evm_token_transfers", "gaps"]


@dg.multi_asset(
    specs=[
        dg.AssetSpec("wallet_positions", deps=["fills", "bbo", "l2_snapshots"], group_name=GROUP,
                     kinds={"duckdb"}, description="Per wallet and coin: position, average cost, PnL."),
        dg.AssetSpec("wallet_pnl", deps=["fills", "bbo", "l2_snapshots"], group_name=GROUP, kinds={"duckdb"},
                     description="Per wallet: realized/unrealized/total PnL, PnL per notional, win rate, drawdown."),
        dg.AssetSpec("wallet_pnl_hourly", deps=["fills", "bbo"], group_name=GROUP, kinds={"duckdb"},
                     description="Hourly cumulative PnL per wallet (the dashboard's PnL curves)."),
    ],
    pool=WAREHOUSE_POOL,
)
def wallet_pnl_tables(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Average-cost position accounting over every fill (SPEC §8)."""
    from hypertrack_pipeline.warehouse import build_wallet_pnl

    with duckdb.get_connection() as con:
        info = build_wallet_pnl(con)
        previews = {t: preview(con, t) for t in ("wallet_positions", "wallet_pnl", "wallet_pnl_hourly")}
    for table, pv in previews.items():
        yield dg.MaterializeResult(asset_key=table, metadata={**to_metadata(info), "preview": pv})


@dg.asset(deps=RAW + ["wallet_pnl"], group_name=GROUP, kinds={"duckdb"}, pool=WAREHOUSE_POOL)
def wallet_features(
    context: dg.AssetExecutionContext, hypertrack: HypertrackSettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """The 36 features of SPEC §7, one row per wallet, over the feature window (DuckDB SQL + vectorized numpy)."""
    from hypertrack_pipeline.warehouse import build_wallet_features, feature_window

    settings = hypertrack.get()
    with duckdb.get_connection() as con:
        start_ms, end_ms = feature_window(con, settings.feature_window_hours)
        info = build_wallet_features(con, start_ms=start_ms, end_ms=end_ms)
        pv = preview(con, "wallet_features")
    return dg.MaterializeResult(metadata={**to_metadata(info), "preview": pv})


@dg.asset(deps=["wallet_features", "wallet_pnl", "fills"], group_name=GROUP, kinds={"duckdb"},
          pool=WAREHOUSE_POOL)
def wallet_training_targets(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Targets of the six heads (SPEC §9); profitability is the next window's PnL (point-in-time)."""
    from hypertrack_pipeline.ml import build_training_targets

    with duckdb.get_connection() as con:
        info = build_training_targets(con)
        pv = preview(con, "wallet_training_targets")
    return dg.MaterializeResult(metadata={**to_metadata(info), "preview": pv})


@dg.asset(deps=["wallet_training_targets"], group_name=GROUP, kinds={"pytorch"}, pool=WAREHOUSE_POOL)
def wallet_model(
    context: dg.AssetExecutionContext, hypertrack: HypertrackSettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """Train the multi-task model and save a new versioned checkpoint under data/models/."""
    from hypertrack_pipeline.ml import TrainConfig, metrics_metadata, train_from_warehouse

    settings = hypertrack.get()
    bs = settings.training_batch_size
    config = TrainConfig(batch_size=bs if bs == "auto" else int(bs), device=settings.device)
    with duckdb.get_connection() as con:
        info = train_from_warehouse(con, settings.models_dir, config)
    context.log.info(f"model {info['version']} saved to {info['checkpoint_path']}")
    return dg.MaterializeResult(metadata={
        "version": dg.MetadataValue.text(info["version"]),
        "checkpoint": dg.MetadataValue.path(info["checkpoint_path"]),
        "epochs": dg.MetadataValue.int(len(info.get("history") or [])),
        **to_metadata(metrics_metadata(info["metrics"])),
    })


@dg.asset(deps=["wallet_model", "wallet_features"], group_name=GROUP, kinds={"duckdb"}, pool=WAREHOUSE_POOL)
def wallet_scores(hypertrack: HypertrackSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The six heads for every wallet, from the latest model version."""
    from hypertrack_pipeline.ml import score_wallets

    settings = hypertrack.get()
    with duckdb.get_connection() as con:
        info = score_wallets(con, settings.models_dir)
        pv = preview(con, "wallet_scores")
    return dg.MaterializeResult(metadata={**to_metadata(info), "preview": pv})


@dg.asset(deps=["wallet_scores", "wallet_features", "wallet_pnl", "fills", "trades"], group_name=GROUP,
          kinds={"duckdb"}, pool=WAREHOUSE_POOL)
def wallet_categories(hypertrack: HypertrackSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """SPEC §10 categories with confidences, Kirilenko classes, wash-trade flags and cohorts; on
    simulated data, also their precision / recall / F1 against the planted archetypes."""
    from hypertrack_pipeline.classification import categorize_wallets
    from hypertrack_pipeline.evaluation import category_metrics, ground_truth_archetypes, write_evaluation

    settings = hypertrack.get()
    truth = ground_truth_archetypes(settings.data_dir)
    with duckdb.get_connection() as con:
        info = categorize_wallets(con)
        pv = preview(con, "wallet_categories")
        evaluation = category_metrics(con, truth) if truth else None
    meta = {**to_metadata(info), "preview": pv}
    if evaluation:
        write_evaluation(settings, evaluation)
        meta["eval.macro_f1"] = dg.MetadataValue.float(float(evaluation["macro_f1"]))
        for archetype, m in evaluation["per_archetype"].items():
            meta[f"eval.f1.{archetype}"] = dg.MetadataValue.float(float(m["f1"]))
    return dg.MaterializeResult(metadata=meta)
