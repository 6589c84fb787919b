"""The model and scoring steps: train ``wallet_model`` from the warehouse, score ``wallet_scores``.

Declarations only at import time: the run functions import :mod:`hypertrack_pipeline.ml.pipeline`
(and with it torch) when they run, so the catalog, the CLI's ``--help`` and the Dagster code
location load without torch.
"""

from __future__ import annotations

from typing import Any

import duckdb

from hypertrack_pipeline.catalog import Step, StepContext
from hypertrack_pipeline.ml.tables import SCORES_TABLE

MODEL_ASSET = "wallet_model"
_TRAINING_GROUP = "training"

def _train_config(ctx: StepContext) -> Any:
    """TrainConfig from the settings (batch size, device); run options override any field (e.g. epochs)."""
    from hypertrack_pipeline.ml.training import TrainConfig

    bs = ctx.settings.training_batch_size
    fields: dict[str, Any] = {"batch_size": bs if bs == "auto" else int(bs), "device": ctx.settings.device}
    fields.update({k: v for k, v in ctx.options.items() if k in TrainConfig.__dataclass_fields__})
    return TrainConfig(**fields)


def _run_model(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict[str, Any]:
    from hypertrack_pipeline.ml.metrics import metrics_metadata
    from hypertrack_pipeline.ml.pipeline import train_from_warehouse

    info = train_from_warehouse(con, ctx.settings.models_dir, _train_config(ctx))
    ctx.log(f"model {info['version']} saved to {info['checkpoint_path']}")
    return {
        "version": info["version"],
        "checkpoint": info["checkpoint_path"],
        "epochs": len(info.get("history") or []),
        **metrics_metadata(info["metrics"]),
    }


def _run_scores(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict[str, Any]:
    from hypertrack_pipeline.ml.pipeline import score_wallets

    return score_wallets(con, ctx.settings.models_dir)


MODEL_STEP = Step(
    name=MODEL_ASSET,
    description="Train the multi-task model on wallet_training_targets and save a new versioned checkpoint "
                "under data/models/ (metadata: version, checkpoint, held-out metrics vs baseline).",
    reads=("wallet_training_targets", "wallet_training_window"), run=_run_model, asset=MODEL_ASSET,
    kinds=("pytorch",), group=_TRAINING_GROUP, training=True,
)

SCORES_STEP = Step(
    name=SCORES_TABLE.name,
    description="The six heads for every wallet of wallet_features, from the latest model version.",
    reads=("wallet_features", MODEL_ASSET), writes=(SCORES_TABLE,), run=_run_scores,
)
